/*
 * ptbin.c -- pytorch_model.bin (torch.save's zip archive) as a tensor file.
 * Work in progress: not yet implemented.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

int
ptbin_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	memset(tf, 0, sizeof(*tf));
	snprintf(err, errlen, "%s: pytorch_model.bin is not yet supported",
	    path);
	return -1;
}
