/*
 * tokjson.h -- Hugging Face's tokenizer.json: its model (BPE, WordPiece),
 * pre-tokenizer, normaliser and post-processor, read into the tokenizer of
 * the family it describes.
 */
#ifndef TOKJSON_H
#define TOKJSON_H

#include "tokenizer.h"

int	tokjson_open(struct tokenizer *t, const char *path, char *err,
	    size_t errlen);
int	tokjson_encode(struct tokenizer *t, const char *text, size_t len,
	    struct tok_list *out, size_t *bad);
void	tokjson_close(struct tokenizer *t);

#endif
