/*
 * spm.h -- SentencePiece models (spiece.model, sentencepiece.bpe.model),
 * read and applied here (spm.c) as libsentencepiece 0.1.97 applies them:
 * the ModelProto file, its normaliser (the precompiled character map,
 * the dummy prefix, extra white space, U+2581 for a space), and the
 * segmentation of its model type: unigram (Viterbi), BPE (merges by
 * score), word or character.  The ids are the library's, piece for piece;
 * test/tokenize-families.bats holds them to it.
 */
#ifndef SPM_H
#define SPM_H

#include <stddef.h>
#include <stdint.h>

struct spm;

/* A piece of a segmentation: id, text, byte span in the input. */
struct spm_piece {
	int		 id;
	const char	*s;		/* the piece (the text, when unknown) */
	size_t		 len;
	uint32_t	 beg, end;
};

/* Load a model; NULL with the reason in err, naming the file. */
struct spm *spm_load(const char *path, char *err, size_t errlen);
/* The same from a serialised ModelProto, what naming it. */
struct spm *spm_load_proto(const void *buf, size_t len, const char *what,
	    char *err, size_t errlen);
void	spm_free(struct spm *m);
int	spm_size(const struct spm *m);
/* The piece of id (NUL-terminated). */
const char *spm_piece(const struct spm *m, int id, size_t *len);
/*
 * The id of piece s[0..len) (the unknown id when it is none): control,
 * unknown and byte pieces first, then the others, as the library's
 * PieceToId.
 */
int	spm_id(const struct spm *m, const char *s, size_t len);
int	spm_unk(const struct spm *m);

/*
 * Segment text[0..len), valid UTF-8 (the caller checks).  *out points to
 * the pieces, valid until the next call with the same slot (0 or 1).
 * Returns their number (never -1, which callers may still test for).
 * As the library's: runs of unknown characters are one piece (or byte
 * pieces, with byte fallback), and a control piece that a BPE, word or
 * character model finds spelled in the text is an empty span that the
 * spans after it do not count.
 */
long	spm_encode(struct spm *m, int slot, const char *text, size_t len,
	    const struct spm_piece **out);

#endif
