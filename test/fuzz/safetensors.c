/*
 * safetensors.c -- libFuzzer target: safetensors_open on arbitrary bytes,
 * then every entry looked up by its name (which no other entry has),
 * checked to have as many elements as its shape says, to lie inside the
 * file and to overlap no other (the first 256), and converted to f32 when
 * its dtype is one we load.  Seeds: the
 * model.safetensors of samples/ and test/golden/encode-model, cut short
 * after their headers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "memfile.h"
#include "model.h"
#include "tensor.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	const char *path;
	struct tfile tf;
	char err[512];
	volatile float sum = 0;
	float *f;
	size_t i, nb, prod;
	int k;

	if ((path = memfile(&fd, "safetensors", data, size)) == NULL)
		return 0;
	if (safetensors_open(&tf, path, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			__builtin_trap();	/* an error without a message */
		return 0;
	}
	for (i = 0; i < tf.n; i++) {
		const struct tfentry *e = &tf.e[i];
		const unsigned char *p = e->data;

		if (tfile_find(&tf, e->name) != e)
			__builtin_trap();	/* a name twice */
		/* n is the product of the shape, which did not overflow */
		for (k = 0, prod = 1; k < e->ndim; k++)
			if (__builtin_mul_overflow(prod, e->shape[k], &prod))
				__builtin_trap();
		if (prod != e->n)
			__builtin_trap();
		if (e->dtype == -1)
			continue;
		nb = e->n * tensor_dtsize(e->dtype);
		if (p < (const unsigned char *)tf.map || nb > tf.maplen ||
		    p + nb > (const unsigned char *)tf.map + tf.maplen)
			__builtin_trap();	/* outside the file */
		for (size_t j = 0; j < i && i < 256; j++) {
			const struct tfentry *o = &tf.e[j];
			const unsigned char *q = o->data;
			size_t ob = o->dtype == -1 ? 0 : o->n *
			    tensor_dtsize(o->dtype);
			if (nb > 0 && ob > 0 && p < q + ob && q < p + nb)
				__builtin_trap();	/* two overlap */
		}
		if (e->n == 0)
			continue;
		if ((f = malloc(e->n * sizeof(float))) == NULL)
			continue;
		tensor_to_f32(f, e->data, e->dtype, e->n);
		sum += f[0] + f[e->n - 1];
		free(f);
	}
	tfile_release(&tf);
	return 0;
}
