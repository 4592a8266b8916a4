/*
 * bpe.h -- byte-level BPE as GPT-2 and RoBERTa have it: the text split by
 * GPT-2's pattern over Unicode categories, each piece's bytes mapped to
 * printable characters, merged by the ranks of merges.txt, and the pieces
 * looked up in vocab.json; what RobertaTokenizer of Hugging Face does.
 */
#ifndef BPE_H
#define BPE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "tokenizer.h"

struct bpe;

/*
 * Load vocab.json (an object of token to id) and merges.txt (a pair of
 * tokens a line, the first line "#version" skipped).  NULL with the reason
 * in err, naming the file.
 */
struct bpe *bpe_load(const char *vocab, const char *merges, char *err,
	    size_t errlen);
/*
 * The same from parsed JSON (tokenizer.json's model): vocab an object,
 * merges an array of "a b" strings (or of [a, b] pairs); what names them
 * in messages.
 */
struct bpe *bpe_from_json(const cJSON *vocab, const cJSON *merges,
	    const char *what, char *err, size_t errlen);
void	bpe_free(struct bpe *b);

/* The vocabulary by id ("" where an id has no token); its size. */
int	bpe_size(const struct bpe *b);
char  **bpe_words(const struct bpe *b, size_t **len);
/* The id of token s, or -1. */
int	bpe_id(const struct bpe *b, const char *s);
/* The id given to pieces not in the vocabulary (-1: they are dropped). */
void	bpe_set_unk(struct bpe *b, int unk);

/*
 * The tokens of text[0..len), appended to out; words are GPT-2's pieces,
 * numbered from word0.  Returns the next word number, or -1 for invalid
 * UTF-8 with its offset in *bad.
 */
long	bpe_encode(struct bpe *b, const char *text, size_t len,
	    struct tok_list *out, size_t word0, size_t *bad);

#endif
