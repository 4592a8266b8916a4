/*
 * ptbin.h -- what ptbin_open (model.h) leaves out of a pytorch_model.bin.
 *
 * ptbin_open keeps the float32, float16 and bfloat16 tensors of a state dict
 * as entries.  Values of other kinds (int64 buffers such as position_ids,
 * float64 tensors, non-tensor values) are skipped, not errors; this lists
 * them, so that a missing tensor can be explained.
 */
#ifndef PTBIN_H
#define PTBIN_H

#include <stddef.h>

#include "model.h"

struct ptskip {
	const char	*name;		/* key in the state dict */
	const char	*why;		/* "int64", "not a tensor", ... */
};

/*
 * The values skipped by ptbin_open, in the order of the state dict; valid
 * until tfile_release.  0 for a file that is not a pytorch_model.bin.
 */
size_t	ptbin_skipped(const struct tfile *tf, const struct ptskip **skip);

/*
 * The skipped values of nsub files from ptbin_open, as one block for the
 * priv of a sharded file (model.c); free(3) releases it.
 */
void	*ptbin_joinskipped(const struct tfile *sub, size_t nsub);

#endif
