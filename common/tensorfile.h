/*
 * tensorfile.h -- the files that hold a checkpoint's tensors, read and
 * written: safetensors, pytorch_model.bin in the three formats torch.save
 * has written (zip, legacy, legacy tar), and sharded checkpoints named by
 * an *.index.json.
 *
 * A tensor file (struct tfile) is the named tensors of one such file as they
 * are on disk, every entry checked against the file's size before use.
 * What the tensors mean is model.h's business (a family's table); this
 * module knows names, dtypes, shapes and bytes.
 */
#ifndef TENSORFILE_H
#define TENSORFILE_H

#include <stddef.h>
#include <stdio.h>

#include "tensor.h"

struct cJSON;

/* ---- reading ---- */

struct tfentry {
	char		*name;
	int		 dtype;			/* DT_F32, DT_F16, DT_BF16 */
	int		 ndim;
	size_t		 shape[TENSOR_MAXDIM];
	size_t		 n;			/* elements */
	const void	*data;			/* n elements, little-endian */
};

struct tfile {
	char		*path;
	const char	*format;		/* "safetensors", ... */
	struct tfentry	*e;
	size_t		 n;
	void		*map;			/* the file, mmap'd */
	size_t		 maplen;
	void		*buf;			/* data not in the map */
	struct tfile	*sub;			/* shards, read as one */
	size_t		 nsub;
	void		*priv;			/* the loader's own */
	char		 fmtbuf[64];		/* format, when made up */
};

/*
 * Open a tensor file.  Return 0, or -1 with a message that names the file
 * and the tensor in err.  ptbin_open reads the three formats of
 * torch.save: zip, legacy, legacy tar.  tfile_open chooses by name, then
 * content, and reads a sharded checkpoint's index (*.index.json: a
 * weight_map from tensor name to shard file, beside it) as one file whose
 * entries point into the shards, tf->sub.
 */
int	safetensors_open(struct tfile *tf, const char *path, char *err,
	    size_t errlen);
int	ptbin_open(struct tfile *tf, const char *path, char *err,
	    size_t errlen);
int	tfile_open(struct tfile *tf, const char *path, char *err,
	    size_t errlen);

/*
 * The weights of model directory dir, the first of model.safetensors,
 * model.safetensors.index.json, pytorch_model.bin and
 * pytorch_model.bin.index.json that exists.  tf->path is the file read (the
 * index, for shards), tf->format what it holds ("safetensors", "PyTorch
 * zip", "PyTorch legacy", "PyTorch legacy tar"; "3 shards, ..." for shards).
 */
int	tfile_opendir(struct tfile *tf, const char *dir, char *err,
	    size_t errlen);

/*
 * Map path read-only into tf (zeroed first; tf->path set): "PATH: not a
 * regular file" for a directory, FIFO or device, checked before it is
 * opened (never blocks).  An empty file maps as maplen 0, map NULL.
 */
int	tfile_map(struct tfile *tf, const char *path, char *err,
	    size_t errlen);
void	tfile_release(struct tfile *tf);
const struct tfentry *tfile_find(const struct tfile *tf, const char *name);

/*
 * ptbin_open keeps the float32, float16 and bfloat16 tensors of a state
 * dict as entries.  Values of other kinds (int64 buffers such as
 * position_ids, float64 tensors, non-tensor values) are skipped, not
 * errors; ptbin_skipped lists them, in the order of the state dict (of
 * every shard, for shards), so that a missing tensor can be explained.
 * Valid until tfile_release; 0 for a file that is not a pytorch_model.bin.
 */
struct ptskip {
	const char	*name;		/* key in the state dict */
	const char	*why;		/* "int64", "not a tensor", ... */
};

size_t	ptbin_skipped(const struct tfile *tf, const struct ptskip **skip);

/*
 * A key that an object of j (j itself or, with deep, one nested in it)
 * holds twice, or NULL.  cJSON keeps both and its look-ups return the
 * first, where Python's json takes the last: a file with a key twice means
 * two things.  Every JSON file of a model is checked with it: the
 * safetensors header here, config.json and tokenizer_config.json in
 * model.c.
 */
const char *tfile_dupkey(const struct cJSON *j, int deep);

/* ---- writing ---- */

/*
 * Write the n entries of e that are F32, F16 or BF16 (others are left
 * out) as a safetensors file at path, in e's order and names, in dtype
 * (DT_*) or, when dtype is -1, each in its own.  An entry's data is
 * little-endian, as on every host this runs on: a float array in memory is
 * an F32 entry as it is.  Atomic: a temporary file beside path, flushed to
 * the disk, then renamed into place; an existing path is replaced only when
 * replace is set, and is never seen half-written.  Returns 0, or -1 with a
 * message naming the file in err.
 */
int	tfile_write(const char *path, const struct tfentry *e, size_t n,
	    int dtype, int replace, char *err, size_t errlen);

/*
 * The same atomic write for any file: tfile_create opens a new file beside
 * path under a name no other process has (path.tmp-XXXXXX, *tmp,
 * xmalloc'd), in the permissions fopen() would give, or returns NULL with
 * err set.  tfile_commit flushes fp to the disk, closes it and puts it at
 * path (replacing what is there only when replace is set); on failure the
 * temporary file is removed.  Either way it frees *tmp.  Returns 0, or -1
 * with err set.
 */
FILE	*tfile_create(const char *path, char **tmp, char *err, size_t errlen);
int	tfile_commit(FILE *fp, char **tmp, const char *path, int replace,
	    char *err, size_t errlen);

#endif
