/*
 * tensor.h -- the tensors of DESIGN.md section 2: dtypes and conversions.
 *
 * A tensor in a record is a map {dtype: "f32"|"f16"|"bf16", shape: [int...],
 * data: bin}, row-major little-endian, data size exactly n * dtype size.
 */
#ifndef TENSOR_H
#define TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAXDIM	8

enum { DT_F32, DT_F16, DT_BF16 };

struct tensor {
	int		 dtype;
	int		 ndim;
	size_t		 shape[TENSOR_MAXDIM];
	size_t		 n;		/* number of elements */
	const void	*data;		/* n * tensor_dtsize(dtype) bytes */
};

/* dtype by record name ("f32") or -1; record name of a dtype; its size. */
int		 tensor_dtype(const char *name);
const char	*tensor_dtypename(int dtype);
size_t		 tensor_dtsize(int dtype);

float		 f16_to_f32(uint16_t h);
uint16_t	 f32_to_f16(float f);	/* round to nearest even */
float		 bf16_to_f32(uint16_t h);
uint16_t	 f32_to_bf16(float f);	/* round to nearest even */

/* dst[n] = src[n] converted from dtype to f32, and back. */
void	tensor_to_f32(float *dst, const void *src, int dtype, size_t n);
void	tensor_from_f32(void *dst, const float *src, int dtype, size_t n);

/* Element i of t as f32. */
float	tensor_get(const struct tensor *t, size_t i);

#endif
