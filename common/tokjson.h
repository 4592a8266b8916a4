/*
 * tokjson.h -- Hugging Face's tokenizer.json: its model (BPE, WordPiece),
 * pre-tokenizer, normaliser and post-processor, read into the tokenizer of
 * the family it describes.
 */
#ifndef TOKJSON_H
#define TOKJSON_H

#include "tokenizer.h"

/*
 * Read path into t: its family, model (t->bpe, t->spm or t->wp) and
 * template; the caller makes the vocabulary table.  t->lower -1 takes the
 * casing from the normaliser.
 */
int	tokjson_open(struct tokenizer *t, const char *path, char *err,
	    size_t errlen);
/* Is its model WordPiece? */
int	tokjson_wordpiece(const char *path);

#endif
