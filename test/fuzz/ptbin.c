/*
 * ptbin.c -- libFuzzer target: ptbin_open on arbitrary bytes, then every
 * tensor's first and last byte read.  Seeds: test/golden/ptbin-*.bin.
 */
#include <stdint.h>
#include <stdio.h>

#include "memfile.h"
#include "tensorfile.h"
#include "tensor.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	const char *path;
	struct tfile tf;
	char err[512];
	volatile unsigned sum = 0;
	size_t i, nb;

	if ((path = memfile(&fd, "ptbin", data, size)) == NULL)
		return 0;
	if (ptbin_open(&tf, path, err, sizeof(err)) == -1)
		return 0;
	for (i = 0; i < tf.n; i++) {
		const unsigned char *p = tf.e[i].data;

		nb = tf.e[i].n * tensor_dtsize(tf.e[i].dtype);
		if (nb > 0)
			sum += p[0] + p[nb - 1];
	}
	tfile_release(&tf);
	return 0;
}
