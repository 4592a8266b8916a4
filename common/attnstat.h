/*
 * attnstat.h -- statistics of one head's attention map, for attend-stats
 * and attend-compare: attention received by a token, offsets, entropy,
 * similarity of two maps, and the word-level map of Clark et al. (2019).
 *
 * A map a (T, T) is row-major, row = query ("from"), column = key ("to"),
 * and each row is a probability distribution over the T keys.
 */
#ifndef ATTNSTAT_H
#define ATTNSTAT_H

#include <stddef.h>

/*
 * Attention received by key j: the mean of column j over the T query rows
 * (Kovaleva et al. 2019, section 4.4).  Uniform rows give 1/T.
 */
double	astat_received(const float *a, size_t T, size_t j);

/*
 * Attention to the token at offset k (-1 previous, 0 itself, +1 next): the
 * mean of a[i][i + k] over the rows i for which i + k is a token, so that
 * a map that always looks at the previous token scores exactly 1.  NaN when
 * no row has such a token (T <= |k|).
 */
double	astat_offset(const float *a, size_t T, long k);

/* Mean over the rows of the entropy -sum p ln p, in nats (0 ln 0 = 0). */
double	astat_entropy(const float *a, size_t T);

/* Cosine similarity of a and b as flat vectors of n; NaN if one is zero. */
double	astat_cosine(const float *a, const float *b, size_t n);

/*
 * Jensen-Shannon distance of two maps, row by row: for each row the square
 * root of the JS divergence in bits (so within [0, 1]), averaged over the
 * T rows.
 */
double	astat_js(const float *a, const float *b, size_t T);

/*
 * Words from WordPiece tokens: a token that starts with "##" continues the
 * word before it, unless that word is a special token ("[CLS]", ...).
 * Fills wordof[0..T-1] with the word index of each token and returns the
 * number of words W.
 */
size_t	astat_words(size_t *wordof, char *const *tokens, size_t T);

/*
 * The word-level map w (W, W) of a (T, T), as Clark et al. convert it:
 * attention to a word is the sum over its pieces' columns, attention from a
 * word the mean over its pieces' rows.  Rows still sum to 1.
 */
void	astat_wordmap(float *w, const float *a, const size_t *wordof,
	    size_t T, size_t W);

/* The text of word k: its tokens joined, "##" dropped (xmalloc'd). */
char	*astat_wordtext(char *const *tokens, const size_t *wordof, size_t T,
	    size_t k);

/* 1 when s is a non-empty string made only of Unicode punctuation (P*). */
int	astat_ispunct(const char *s);

/* ---- checks shared by every filter that reads maps ---- */

/*
 * The checks of a map a (T, T) that classify-pattern, attend-stats,
 * attend-compare and attend-dump make alike.  A value that is not finite
 * is an error: astat_check() returns -1 with "non-finite attention at row
 * R, column C" in err.  A negative value, or a row whose sum is off 1 by
 * more than ASTAT_ROWTOL, is counted in *c (a contribution map read with
 * -k need not be a distribution), and astat_check_report() warns about
 * them once, at the end.  Returns 0 otherwise.
 */
#define ASTAT_ROWTOL	1e-3

struct astat_check {
	size_t	maps;			/* checked */
	size_t	badrows, badmaps;	/* rows off 1, maps with one */
	size_t	neg, negmaps;		/* negative values, maps with one */
};

int	astat_check(struct astat_check *c, const float *a, size_t T,
	    char *err, size_t errlen);
void	astat_check_report(const struct astat_check *c);

/*
 * Whether a per-head table of L layers x H heads (numbered from 1, sized
 * by the largest numbers found in records) may be kept when nmaps maps
 * have been read, this record's included.  One record that names layer
 * 4096 must not cost 4096 x H cells of memory and of output: a table
 * stays under 4 nmaps + 4096 cells, which every real model's full set of
 * heads fits (144 for BERT-base, 384 for BERT-large) and which keeps it
 * proportional to the maps that are in it.
 */
int	astat_tablefits(size_t L, size_t H, size_t nmaps);

/* ---- word classes (-c NAME=FILE) ---- */

struct astat_class {
	char	 *name;
	char	**words;	/* case-folded, sorted */
	size_t	  n;
};

/*
 * Read a file of words, one a line (blank lines and lines starting with '#'
 * are ignored, surrounding white space is trimmed).  Returns 0, or -1 with
 * errno set when the file cannot be read, or with errno 0 and a message in
 * err when a line is not valid UTF-8.
 */
int	astat_class_load(struct astat_class *c, const char *name,
	    const char *path, char *err, size_t errlen);
void	astat_class_release(struct astat_class *c);
/* 1 when the token (case-folded) is one of the class's words. */
int	astat_class_has(const struct astat_class *c, const char *tok);

#endif
