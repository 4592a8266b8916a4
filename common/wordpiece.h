/*
 * wordpiece.h -- BERT's tokenizer: the basic tokenizer (clean-up, CJK
 * characters, lower case and accents, punctuation) and WordPiece, as
 * Google's tokenization.py and Hugging Face's BertTokenizer do it.
 */
#ifndef WORDPIECE_H
#define WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

/* A slot of the vocabulary's hash table. */
struct wp_slot {
	uint32_t tag;		/* the high half of the entry's hash */
	uint32_t at;		/* its entry: offset in ent / 4; 0 empty */
};

struct wp_vocab {
	char	**word;		/* by id, NUL-terminated, in ent */
	size_t	 *len;		/* their lengths */
	int	  n;
	unsigned char *ent;	/* the entries: id, length, word */
	struct wp_slot *tab;	/* open addressing, linear probing */
	size_t	  mask;		/* its size - 1, a power of two */
	size_t	  maxlen;	/* the longest entry, in bytes */
	int	  unk, cls, sep;
};

/*
 * Load vocab.txt (one token a line, the id is the line number from 0), a
 * regular file (a FIFO or a directory is refused by name, never waited on).
 * A token on several lines has the id of the last, as in BERT's load_vocab.
 */
int	wp_load(struct wp_vocab *v, const char *path, char *err, size_t errlen);
/*
 * The same without asking for [UNK], [CLS] and [SEP] (then -1 in unk, cls
 * and sep): a vocabulary to look tokens up in, not to tokenize with.
 */
int	wp_read(struct wp_vocab *v, const char *path, char *err, size_t errlen);
void	wp_release(struct wp_vocab *v);
/*
 * 1 when the token s[0..len) is evidence of a cased vocabulary: it has an
 * ASCII capital and is not a special token ("[CLS]", "[unused0]").
 * model_casing (model.h) decides the casing with it.
 */
int	wp_capital(const char *s, size_t len);
/* The id of s[0..len), or -1. */
int	wp_find(const struct wp_vocab *v, const char *s, size_t len);

/*
 * Token ids, appended by wp_tokenize, and its scratch space: keep one
 * wp_toks for many calls (set n to 0 in between) and nothing is allocated
 * once the buffers have grown.
 */
struct wp_toks {
	int	*id;
	size_t	 n, cap;
	char	*run;		/* scratch: non-ASCII text (UTF-8) */
	size_t	 runcap;
	int32_t	*cp;		/* scratch: its code points */
	size_t	 cpcap;
};

/*
 * Tokenize text[0..len) (UTF-8) into out.  lower: lower-case and strip
 * accents (uncased vocabularies).  Returns 0, or -1 for invalid UTF-8 with
 * the byte offset in *bad.
 */
int	wp_tokenize(const struct wp_vocab *v, const char *text, size_t len,
	    int lower, struct wp_toks *out, size_t *bad);
void	wp_toks_push(struct wp_toks *t, int id);

#endif
