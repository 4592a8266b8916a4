/* tensor.c -- dtypes of record tensors and conversions to and from f32. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tensor.h"

static const char *const dtnames[] = { "f32", "f16", "bf16" };

int
tensor_dtype(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, dtnames[i]) == 0)
			return i;
	return -1;
}

const char *
tensor_dtypename(int dtype)
{
	return dtype >= 0 && dtype < 3 ? dtnames[dtype] : "?";
}

size_t
tensor_dtsize(int dtype)
{
	return dtype == DT_F32 ? 4 : 2;
}

static uint32_t
f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static float
u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

float
f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f)		/* inf, nan */
		return u2f(sign | 0x7f800000 | man << 13);
	if (exp == 0) {			/* zero, subnormal: man * 2^-24 */
		float f = (float)man * 0x1p-24f;
		return sign ? -f : f;
	}
	return u2f(sign | (exp + 112) << 23 | man << 13);
}

uint16_t
f32_to_f16(float f)
{
	uint32_t u = f2u(f), sign = (u >> 16) & 0x8000;
	uint32_t a = u & 0x7fffffff;

	if (a >= 0x7f800000)		/* inf, nan (keep it a nan) */
		return sign | 0x7c00 |
		    (a > 0x7f800000 ? 0x200 | (a >> 13 & 0x3ff) : 0);
	if (a >= 0x477ff000)		/* rounds to >= 65520: inf */
		return sign | 0x7c00;
	if (a < 0x38800000) {		/* below 2^-14: subnormal or zero */
		/* value / 2^-24, rounded to nearest even by the FPU */
		float v = u2f(a) * 0x1p24f;
		return sign | (uint16_t)nearbyintf(v);
	}
	/* normal: drop 13 bits, round to nearest even */
	uint32_t r = a + 0xfff + ((a >> 13) & 1);
	return sign | (uint16_t)((r - 0x38000000) >> 13);
}

float
bf16_to_f32(uint16_t h)
{
	return u2f((uint32_t)h << 16);
}

uint16_t
f32_to_bf16(float f)
{
	uint32_t u = f2u(f);

	if ((u & 0x7fffffff) > 0x7f800000)	/* nan stays a quiet nan */
		return (u >> 16) | 0x40;
	return (u + 0x7fff + ((u >> 16) & 1)) >> 16;
}

void
tensor_to_f32(float *dst, const void *src, int dtype, size_t n)
{
	const unsigned char *s = src;
	uint16_t h;

	if (dtype == DT_F32) {
		memcpy(dst, src, n * 4);	/* little-endian host */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(&h, s + 2 * i, 2);
		dst[i] = dtype == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
	}
}

void
tensor_from_f32(void *dst, const float *src, int dtype, size_t n)
{
	unsigned char *d = dst;
	uint16_t h;

	if (dtype == DT_F32) {
		memcpy(dst, src, n * 4);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		h = dtype == DT_F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
		memcpy(d + 2 * i, &h, 2);
	}
}

float
tensor_get(const struct tensor *t, size_t i)
{
	const unsigned char *p = t->data;
	uint16_t h;
	float f;

	if (t->dtype == DT_F32) {
		memcpy(&f, p + 4 * i, 4);
		return f;
	}
	memcpy(&h, p + 2 * i, 2);
	return t->dtype == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
}
