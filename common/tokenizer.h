/*
 * tokenizer.h -- the tokenizers of the encoder families behind one
 * interface: BERT's WordPiece (vocab.txt), RoBERTa's byte-level BPE
 * (vocab.json, merges.txt), SentencePiece for ALBERT (spiece.model) and
 * XLM-R (sentencepiece.bpe.model), and Hugging Face's tokenizer.json.
 */
#ifndef TOKENIZER_H
#define TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Tokens of one text: ids, each one's byte span [beg, end) in the text
 * and the index of the word it belongs to.  Keep one for many calls
 * (set n to 0 in between): nothing is allocated once it has grown.
 */
struct tok_list {
	int		*id;
	uint32_t	*beg, *end, *word;
	size_t		 n, cap;
};

void	tok_list_push(struct tok_list *t, int id, size_t beg, size_t end,
	    size_t word);

enum tok_family { TOK_BERT, TOK_ROBERTA, TOK_ALBERT, TOK_XLMR, TOK_JSON };
/* (TOK_JSON only from tok_dir_family(): an open tokenizer is of the
 * family its tokenizer.json describes) */

struct wp_vocab;
struct bpe;
struct spm;

struct tokenizer {
	int		 family;	/* enum tok_family */
	const char	*path;		/* the file read, for messages */
	/* the vocabulary by id, NUL-terminated strings */
	int		 n;
	char		**word;
	size_t		*len;
	/*
	 * The template: first [a sep2] (b) last, with pairs' second text
	 * in segment segb.  sep2 is -1 when there is none.
	 */
	int		 first, last, sep2, segb;
	int		 lower;		/* BERT, ALBERT: lower-case */
	int		 keep_accents;	/* ALBERT */
	int		 fairseq;	/* XLM-R: ids shifted as fairseq's */
	struct wp_vocab	*wp;
	struct bpe	*bpe;
	struct spm	*spm;
	/* scratch: a text normalised, each byte's origin in the text */
	char		*buf;
	uint32_t	*org;
	size_t		 nbuf, bufcap;
};

/*
 * The tokenizer of a model directory, looked for in this order:
 * tokenizer.json, vocab.json with merges.txt, spiece.model,
 * sentencepiece.bpe.model, vocab.txt.  Returns 0, or -1 with the reason in
 * err (naming the file).  lower is the casing of BERT's vocabularies (-1
 * decides from the vocabulary) and of ALBERT (-1: lower-case).
 */
int	tok_open_dir(struct tokenizer *t, const char *dir, int lower,
	    char *err, size_t errlen);
/* The family tok_open_dir() would open (TOK_BERT when nothing else). */
int	tok_dir_family(const char *dir);
/* A tokenizer of a family ("bert", "roberta", "albert", "xlmr", "json")
 * from its file (for roberta: vocab.json, with merges.txt beside it). */
int	tok_open(struct tokenizer *t, const char *family, const char *file,
	    int lower, char *err, size_t errlen);
void	tok_close(struct tokenizer *t);

/*
 * Tokenize text[0..len) (UTF-8), appending to out (without the special
 * tokens).  Returns 0, or -1 for invalid UTF-8 with its byte offset in
 * *bad.
 */
int	tok_encode(struct tokenizer *t, const char *text, size_t len,
	    struct tok_list *out, size_t *bad);

/* Is c white space for Python's str.isspace()? */
int	tok_pyspace(int32_t c);

#endif
