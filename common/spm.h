/*
 * spm.h -- SentencePiece models (spiece.model, sentencepiece.bpe.model)
 * through Debian's libsentencepiece, behind a C interface (spm.cc): the
 * library's normalisation and segmentation are the reference ones.
 */
#ifndef SPM_H
#define SPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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
/* The id of piece s[0..len) (the unknown id when it is none). */
int	spm_id(const struct spm *m, const char *s, size_t len);
int	spm_unk(const struct spm *m);

/*
 * Segment text[0..len).  *out points to the pieces, valid until the next
 * call with the same slot (0 or 1).  Returns their number, or -1 when the
 * library fails.
 */
long	spm_encode(struct spm *m, int slot, const char *text, size_t len,
	    const struct spm_piece **out);

#ifdef __cplusplus
}
#endif

#endif
