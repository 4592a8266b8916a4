/*
 * wordpiece.h -- BERT's tokenizer: the basic tokenizer (clean-up, CJK
 * characters, lower case and accents, punctuation) and WordPiece, as
 * Google's tokenization.py and Hugging Face's BertTokenizer do it.
 */
#ifndef WORDPIECE_H
#define WORDPIECE_H

#include <stddef.h>

struct wp_vocab {
	char	**word;		/* by id */
	size_t	 *len;		/* their lengths */
	int	  n;
	int	 *tab;		/* open addressing: id + 1, 0 empty */
	unsigned *tag;		/* the high half of each entry's hash */
	size_t	  tabsize;
	int	  unk, cls, sep;
};

/* Load vocab.txt (one token a line, the id is the line number from 0). */
int	wp_load(struct wp_vocab *v, const char *path, char *err, size_t errlen);
void	wp_release(struct wp_vocab *v);
/* The id of s[0..len), or -1. */
int	wp_find(const struct wp_vocab *v, const char *s, size_t len);

/* Token ids and their strings, appended by wp_tokenize. */
struct wp_toks {
	int	*id;
	size_t	 n, cap;
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
