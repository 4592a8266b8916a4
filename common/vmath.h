/*
 * vmath.h -- erf, exp and tanh on VL floats at once, and the element-wise
 * GELUs on them, for bert.c (VL 8: AVX2, or two SSE halves) and
 * vmath512.c (VL 16: AVX-512).  Every operation is lane by lane, so any
 * VL gives the same bits.  Defines static functions: include it once in
 * a file, VL defined first or 8.
 */
#ifndef VMATH_H
#define VMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef VL
#define VL	8	/* lanes */
#endif

/*
 * GELU and softmax need erf and exp on every element of (N, F) and
 * (T, T): libm's erff and expf, called one element at a time, were an
 * eighth of the run.  These evaluate both on VL floats at once with GCC's
 * vector extensions, branch-free (both sides of a range are computed and
 * one is kept), with coefficients fitted by test/vmfit.py, which also
 * measures their error: erf within 1.5e-7 of the true value, exp within
 * 1.3 units in the last place; libm's are within about 1.
 *
 * Every operation is a separate IEEE one (ISO C mode: gcc does not fuse
 * a * b + c), so the code compiled for AVX-512 (16 lanes), AVX2 (8)
 * and any x86-64 (two SSE halves) gives the same bits, and so do a row's
 * last elements, which go through the same code in a padded copy.
 */
typedef float	vf __attribute__((vector_size(VL * 4)));
typedef int32_t	vi __attribute__((vector_size(VL * 4)));

/* always inlined: no vector crosses a call, whatever the ABI says */
#define INLINE	static inline __attribute__((always_inline))

/* erf: x P1(x^2) below 1, 1 - P2(x - 2.46) above; odd */
static const float ERF_P1[] = {
	1.128379107e+00f, -3.761260808e-01f, 1.128344387e-01f,
	-2.684907801e-02f, 5.180591252e-03f, -7.949306746e-04f,
	7.669098704e-05f
};
static const float ERF_P2[] = {
	5.033294437e-04f, -2.656214638e-03f, 6.535657216e-03f,
	-9.832766838e-03f, 9.905497544e-03f, -6.798328832e-03f,
	2.962000435e-03f, -4.613675119e-04f, -3.896228154e-04f,
	3.012660309e-04f, -5.235275239e-05f, -2.534498162e-05f,
	9.240532563e-06f
};
/* exp(r) = 1 + r + r^2 P(r), |r| <= ln2 / 2; ln2 = LN2_HI + LN2_LO */
static const float EXP_P[] = {
	4.999999404e-01f, 1.666652411e-01f, 4.166854173e-02f,
	8.368411101e-03f, 1.380518894e-03f
};
/* LN2_HI has 12 low bits of zero: n LN2_HI is exact */
#define LN2_HI	6.931152344e-01f
#define LN2_LO	3.194618330e-05f

INLINE vf
vsel(vi m, vf a, vf b)		/* m ? a : b, lane by lane */
{
	return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* c[0] + c[1] x + ... + c[n - 1] x^(n - 1), by Horner's rule */
INLINE vf
vpoly(const float *c, int n, vf x)
{
	vf y = (vf){ 0 } + c[n - 1];

#pragma GCC unroll 16
	for (int i = n - 2; i >= 0; i--)
		y = y * x + c[i];
	return y;
}

INLINE vf
verf(vf x)
{
	vi sign = (vi)x & (int32_t)0x80000000;
	vf a = (vf)((vi)x & 0x7fffffff), zero = { 0 };

	/* erf(3.92) rounds to 1; a NaN becomes 3.92 too */
	a = vsel(a < 3.92f, a, zero + 3.92f);
	vf lo = a * vpoly(ERF_P1, 7, a * a);
	vf hi = 1.0f - vpoly(ERF_P2, 13, a - 2.46f);
	return (vf)((vi)vsel(a < 1.0f, lo, hi) | sign);
}

/* exp(x) for x <= 0; 0 below -87, where exp(x) nears the subnormals */
INLINE vf
vexp(vf x)
{
	const vf zero = { 0 }, magic = zero + 0x1.8p23f;	/* rounds */
	vf xc = vsel(x > -87.0f, x, zero - 87.0f);
	/* x = n ln2 + r: n = round(x / ln2), added to the exponent */
	vf k = xc * 1.44269504f + magic, n = k - magic;
	vf r = (xc - n * LN2_HI) - n * LN2_LO;
	vf y = 1.0f + (r + r * r * vpoly(EXP_P, 5, r));
	vi e = ((vi)k - (vi)magic + 127) << 23;

	return vsel(x > -87.0f, y * (vf)e, zero);
}

INLINE vf
vload(const float *p)
{
	vf v;

	memcpy(&v, p, sizeof(v));
	return v;
}

INLINE void
vstore(float *p, vf v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * y (n) = GELU(x (n)) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), as HF's
 * "gelu"; y may be x
 */
INLINE void
gelu_body(float *y, const float *x, size_t n)
{
	float buf[VL] = { 0 };
	size_t i;

	for (i = 0; i + VL <= n; i += VL) {
		vf v = vload(x + i);
		vstore(y + i, 0.5f * v * (1.0f + verf(v * 0.70710678f)));
	}
	if (i < n) {
		memcpy(buf, x + i, (n - i) * sizeof(float));
		vf v = vload(buf);
		vstore(buf, 0.5f * v * (1.0f + verf(v * 0.70710678f)));
		memcpy(y + i, buf, (n - i) * sizeof(float));
	}
}

/*
 * tanh(u) = sign(u) (1 - e) / (1 + e), e = exp(-2 |u|) (vexp's range);
 * within about 1e-7 of tanhf
 */
INLINE vf
vtanh(vf u)
{
	vi sign = (vi)u & (int32_t)0x80000000;
	vf e = vexp(-2.0f * (vf)((vi)u & 0x7fffffff));

	return (vf)((vi)((1.0f - e) / (1.0f + e)) | sign);
}

/* u = sqrt(2 / pi) (x + 0.044715 x^3), inside gelu_new */
#define GELU_TANH_U(v)	(0.7978845608f * ((v) + 0.044715f * (v) * (v) * (v)))

/*
 * y (n) = x (n) 0.5 (1 + tanh(u)), HF's "gelu_new", the tanh
 * approximation of GELU that ALBERT's checkpoints use; y may be x
 */
INLINE void
gelu_tanh_body(float *y, const float *x, size_t n)
{
	float buf[VL] = { 0 };

	for (size_t i = 0; i < n; i += VL) {
		size_t m = n - i < VL ? n - i : VL;
		memcpy(buf, x + i, m * sizeof(float));
		vf v = vload(buf);
		vstore(buf, 0.5f * v * (1.0f + vtanh(GELU_TANH_U(v))));
		memcpy(y + i, buf, m * sizeof(float));
	}
}

/*
 * d (n) *= the derivative of gelu_new at x (n): with t = tanh(u),
 * 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2 / pi) (1 + 3 0.044715 x^2)
 */
INLINE void
gelu_tanh_grad_body(float *d, const float *x, size_t n)
{
	float bx[VL] = { 0 }, bd[VL] = { 0 };

	for (size_t i = 0; i < n; i += VL) {
		size_t m = n - i < VL ? n - i : VL;
		memcpy(bx, x + i, m * sizeof(float));
		memcpy(bd, d + i, m * sizeof(float));
		vf v = vload(bx), t = vtanh(GELU_TANH_U(v));
		vf g = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) *
		    (0.7978845608f * (1.0f + 0.134145f * v * v));
		vstore(bd, vload(bd) * g);
		memcpy(d + i, bd, m * sizeof(float));
	}
}

/* y (n) = erf(x (n)), or exp(x (n)) for x <= 0 when isexp: for tests */
INLINE void
map_body(float *y, const float *x, size_t n, int isexp)
{
	float buf[VL] = { 0 };

	for (size_t i = 0; i < n; i += VL) {
		size_t m = n - i < VL ? n - i : VL;
		memcpy(buf, x + i, m * sizeof(float));
		vf v = vload(buf);
		vstore(buf, isexp ? vexp(v) : verf(v));
		memcpy(y + i, buf, m * sizeof(float));
	}
}

/* d (n) *= GELU'(x (n)) = Phi(x) + x phi(x), with the erf above */
INLINE void
gelu_grad_body(float *d, const float *x, size_t n)
{
	float bx[VL] = { 0 }, bd[VL] = { 0 };
	size_t i;

	for (i = 0; i < n; i += VL) {
		const float *xi = x + i;
		float *di = d + i;
		if (i + VL > n) {
			memcpy(bx, x + i, (n - i) * sizeof(float));
			memcpy(bd, d + i, (n - i) * sizeof(float));
			xi = bx;
			di = bd;
		}
		vf v = vload(xi);
		vf g = 0.5f * (1.0f + verf(v * 0.70710678f)) +
		    v * 0.39894228f * vexp(-0.5f * v * v);
		vstore(di, vload(di) * g);
		if (di == bd)
			memcpy(d + i, bd, (n - i) * sizeof(float));
	}
}

/*
 * softmax's and LayerNorm's running sums: 8 lanes whatever VL is, vf8 of
 * floats, vd8 of doubles; lanes8(v, h) is lanes h..h + 7 of v.
 */
typedef float	vf8 __attribute__((vector_size(32)));
typedef double	vd8 __attribute__((vector_size(64)));

INLINE vf8
lanes8(vf v, int h)
{
	vf8 r;

	memcpy(&r, (const float *)&v + h, sizeof(r));
	return r;
}

/*
 * Row-wise softmax of p (n, T), the row max subtracted first.  The
 * exponentials on VL lanes; the sum in 8 running sums whatever VL is
 * (VL a multiple of 8), element j into sum j % 8 in order, so that every
 * VL gives the same bits.
 */
INLINE void
softmax_body(float *p, int n, int T)
{
	float buf[VL];

	for (int i = 0; i < n; i++) {
		float *row = p + (size_t)i * T, max = row[0], sum = 0;
		vf8 vs = { 0 };
		int j;

		/* pass 1: the max (its order does not matter) */
		vf vm = (vf){ 0 } + max;
		for (j = 0; j + VL <= T; j += VL) {
			vf v = vload(row + j);
			vm = vsel(v > vm, v, vm);
		}
		for (int k = 0; k < VL; k++)
			max = vm[k] > max ? vm[k] : max;
		for (; j < T; j++)
			max = row[j] > max ? row[j] : max;
		/* pass 2: exp and the sums */
		for (j = 0; j + VL <= T; j += VL) {
			vf e = vexp(vload(row + j) - max);
			vstore(row + j, e);
			for (int h = 0; h < VL; h += 8)
				vs += lanes8(e, h);
		}
		if (j < T) {
			for (int k = 0; k < VL; k++)
				buf[k] = j + k < T ? row[j + k] - max : -1e30f;
			vf e = vexp(vload(buf));
			vstore(buf, e);
			memcpy(row + j, buf, (T - j) * sizeof(float));
			for (int h = 0; h < T - j; h += 8)
				vs += lanes8(e, h);	/* exp(-1e30) is 0 */
		}
		for (int k = 0; k < 8; k++)
			sum += vs[k];
		/* pass 3: normalise */
		vf vsum = (vf){ 0 } + sum;
		for (j = 0; j + VL <= T; j += VL)
			vstore(row + j, vload(row + j) / vsum);
		for (; j < T; j++)
			row[j] /= sum;
	}
}

/*
 * One row of LayerNorm: y (C) = LayerNorm(x + r), r NULL for none; y may
 * be x.  The mean and the variance are summed in double, in 8 running
 * sums whatever VL is, element j into sum j % 8 in order (one long chain
 * of additions was most of its time).  For training, the sum x + r goes
 * to pre (y when NULL; pre may be x), and the mean and 1 / sqrt(var +
 * eps) as rounded to float, the numbers that normalise, to mr[0] and
 * mr[1] (mr NULL: not kept).
 */
INLINE void
lnorm_body(float *y, float *pre, const float *x, const float *r,
    const float *g, const float *b, int C, float eps, float *mr)
{
	vd8 s = { 0 };
	double mean = 0, var = 0;
	float *u = pre ? pre : y;
	int j;

	/* pass 1: the sum (into u) and its mean */
	for (j = 0; j + VL <= C; j += VL) {
		vf v = r ? vload(x + j) + vload(r + j) : vload(x + j);
		vstore(u + j, v);
		for (int h = 0; h < VL; h += 8)
			s += __builtin_convertvector(lanes8(v, h), vd8);
	}
	for (; j + 8 <= C; j += 8)
		for (int k = 0; k < 8; k++)
			s[k] += u[j + k] = r ? x[j + k] + r[j + k] : x[j + k];
	for (; j < C; j++)
		s[0] += u[j] = r ? x[j] + r[j] : x[j];
	for (int k = 0; k < 8; k++)
		mean += s[k];
	mean /= C;
	/* pass 2: the variance about the mean */
	s = (vd8){ 0 };
	for (j = 0; j + VL <= C; j += VL) {
		vf v = vload(u + j);
		for (int h = 0; h < VL; h += 8) {
			vd8 d = __builtin_convertvector(lanes8(v, h), vd8) -
			    mean;
			s += d * d;
		}
	}
	for (; j + 8 <= C; j += 8)
		for (int k = 0; k < 8; k++) {
			double d = u[j + k] - mean;
			s[k] += d * d;
		}
	for (; j < C; j++)
		s[0] += (u[j] - mean) * (u[j] - mean);
	for (int k = 0; k < 8; k++)
		var += s[k];
	var /= C;
	/* pass 3: normalise, scale, shift */
	float rstd = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
	for (j = 0; j + VL <= C; j += VL)
		vstore(y + j, (vload(u + j) - m) * rstd * vload(g + j) +
		    vload(b + j));
	for (; j < C; j++)
		y[j] = (u[j] - m) * rstd * g[j] + b[j];
	if (mr) {
		mr[0] = m;
		mr[1] = rstd;
	}
}

/*
 * The element-wise bodies, softmax and LayerNorm as functions named with
 * suffix S (gelu_S, gelu_grad_S, gelu_tanh_S, gelu_tanh_grad_S, erf_S,
 * exp_S, softmax_S, lnorm_S), each declared with what follows S (storage
 * class, target) before its type.
 */
#define VMATH_FUNCS(S, ...)						\
__VA_ARGS__ void gelu_##S(float *y, const float *x, size_t n)		\
    { gelu_body(y, x, n); }						\
__VA_ARGS__ void gelu_grad_##S(float *d, const float *x, size_t n)	\
    { gelu_grad_body(d, x, n); }					\
__VA_ARGS__ void gelu_tanh_##S(float *y, const float *x, size_t n)	\
    { gelu_tanh_body(y, x, n); }					\
__VA_ARGS__ void gelu_tanh_grad_##S(float *d, const float *x, size_t n) \
    { gelu_tanh_grad_body(d, x, n); }					\
__VA_ARGS__ void erf_##S(float *y, const float *x, size_t n)		\
    { map_body(y, x, n, 0); }						\
__VA_ARGS__ void exp_##S(float *y, const float *x, size_t n)		\
    { map_body(y, x, n, 1); }						\
__VA_ARGS__ void softmax_##S(float *p, int n, int T)			\
    { softmax_body(p, n, T); }						\
__VA_ARGS__ void lnorm_##S(float *y, float *pre, const float *x,	\
    const float *r, const float *g, const float *b, int C, float eps,	\
    float *mr)								\
    { lnorm_body(y, pre, x, r, g, b, C, eps, mr); }

/* vmath512.c's: the element-wise ones, softmax and LayerNorm on 16 lanes */
void	gelu_512(float *, const float *, size_t);
void	gelu_grad_512(float *, const float *, size_t);
void	gelu_tanh_512(float *, const float *, size_t);
void	gelu_tanh_grad_512(float *, const float *, size_t);
void	erf_512(float *, const float *, size_t);
void	exp_512(float *, const float *, size_t);
void	softmax_512(float *, int, int);
void	lnorm_512(float *, float *, const float *, const float *,
	    const float *, const float *, int, float, float *);

#endif
