/*
 * gemmbf.c -- y = bf16(x) . bf16(W)^T + b, float32 sums, on vdpbf16ps.
 *
 * x's rows go into tiles of (kc / 2, 12) pairs of bf16, a pair one 32-bit
 * word that the kernel broadcasts to all 16 lanes; a panel of W is
 * (kc / 2, 32, 2) bf16, two registers a pair of inputs.  The kernel keeps
 * 24 sums of 16 floats in registers.  Rows past n are zeros that are never
 * stored, outputs past out are zero weights that are never stored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemmbf.h"
#include "tensor.h"

#define MR	GEMMBF_TILE
#define NR	GEMMBF_PANEL
#define KC	GEMMBF_KC

/* bf16 of f, to nearest, ties to even (NaN stays a NaN) */
static inline uint16_t
bf(float f)
{
	return f32_to_bf16(f);
}

#if defined(__x86_64__)
#include <immintrin.h>
#define BF16	__attribute__((target("avx512f,avx512bw,avx512bf16")))

/*
 * c (MR, NR) = (init, or 0) + a (kp, MR) . b (kp, NR, 2), then (with
 * add) + c; c's rows ldc floats apart.
 */
BF16 static void
kernel(int kp, const uint32_t *a, const uint16_t *b, float *c, int ldc,
    const float *init, int add)
{
	__m512 s0[MR], s1[MR], b0, b1;
	__m512bh w0, w1, x;

	b0 = init ? _mm512_loadu_ps(init) : _mm512_setzero_ps();
	b1 = init ? _mm512_loadu_ps(init + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++) {
		s0[r] = b0;
		s1[r] = b1;
	}
#pragma GCC unroll 2
	for (int k = 0; k < kp; k++) {
		w0 = (__m512bh)_mm512_loadu_si512(b);
		w1 = (__m512bh)_mm512_loadu_si512(b + 32);
#pragma GCC unroll 12
		for (int r = 0; r < MR; r++) {
			x = (__m512bh)_mm512_set1_epi32((int)a[r]);
			s0[r] = _mm512_dpbf16_ps(s0[r], x, w0);
			s1[r] = _mm512_dpbf16_ps(s1[r], x, w1);
		}
		a += MR;
		b += 2 * NR;
	}
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++) {
		float *p = c + r * ldc;
		if (add) {
			s0[r] = _mm512_add_ps(s0[r], _mm512_loadu_ps(p));
			s1[r] = _mm512_add_ps(s1[r], _mm512_loadu_ps(p + 16));
		}
		_mm512_storeu_ps(p, s0[r]);
		_mm512_storeu_ps(p + 16, s1[r]);
	}
}

/*
 * a[k * MR] = the bf16 pairs k of 16 floats of x as 8 words, rounded to
 * nearest even as bf() does: u + 0x7fff + (bit 16 of u), shifted down.
 */
BF16 static void
pairs16(uint32_t *a, const float *x)
{
	__m512i u = _mm512_loadu_si512(x), one = _mm512_set1_epi32(1);
	__m512i r = _mm512_add_epi32(u, _mm512_add_epi32(
	    _mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(u,
	    16), one)));
	__mmask16 nan = _mm512_cmp_ps_mask(_mm512_castsi512_ps(u),
	    _mm512_castsi512_ps(u), _CMP_UNORD_Q);
	uint16_t h[16];

	r = _mm512_srli_epi32(r, 16);
	/* a NaN keeps its sign and becomes a quiet NaN, as bf() makes it */
	r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16),
	    _mm512_set1_epi32(0x40));
	_mm256_storeu_si256((__m256i *)h, _mm512_cvtepi32_epi16(r));
	for (int k = 0; k < 8; k++)
		a[k * MR] = h[2 * k] | (uint32_t)h[2 * k + 1] << 16;
}

int
gemmbf_ok(void)
{
	static int ok = -1;

	if (ok == -1) {
		__builtin_cpu_init();
		ok = __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512bf16") &&
		    getenv("HEADCOUNT_NOBF16") == NULL;
	}
	return ok;
}
#else
static void
kernel(int kp, const uint32_t *a, const uint16_t *b, float *c, int ldc,
    const float *init, int add)
{
	abort();	/* gemmbf_ok() is 0: never called */
}

static void
pairs16(uint32_t *a, const float *x)
{
	abort();	/* gemmbf_ok() is 0: never called */
}

int
gemmbf_ok(void)
{
	return 0;
}
#endif

size_t
gemmbf_size(int out, int in)
{
	return (size_t)(out + NR - 1) / NR * NR * (size_t)((in + 1) / 2 * 2);
}

/* p = W packed, W[j][k] = s . w[j * lj + k * lk], rounded to bf16 */
static void
pack(uint16_t *p, const float *w, size_t lj, size_t lk, int out, int in,
    float s)
{
	int in2 = (in + 1) / 2 * 2;

	for (int j0 = 0; j0 < out; j0 += NR)
		for (int k = 0; k < in2; k++)
			for (int j = 0; j < NR; j++) {
				size_t at = (size_t)j0 * in2 +
				    ((size_t)(k / 2) * NR + j) * 2 + k % 2;

				p[at] = j0 + j < out && k < in ? bf(s *
				    w[(size_t)(j0 + j) * lj + (size_t)k * lk]) :
				    0;
			}
}

void
gemmbf_pack(uint16_t *p, const float *w, int out, int in)
{
	pack(p, w, in, 1, out, in, 1.0f);
}

void
gemmbf_pack_rows(uint16_t *p, const float *w, size_t lw, int out, int in,
    float s)
{
	pack(p, w, lw, 1, out, in, s);
}

void
gemmbf_pack_cols(uint16_t *p, const float *wt, size_t lw, int out, int in)
{
	pack(p, wt, 1, lw, out, in, 1.0f);
}

/* One tile of the first MR of m rows and nc <= NR outputs. */
static void
tile(float *y, int ly, const uint32_t *a, const uint16_t *b, int kp, int m,
    int nc, const float *init, int add)
{
	float c[MR * NR], bb[NR];

	if (m > MR)
		m = MR;
	if (m == MR && nc == NR) {
		kernel(kp, a, b, y, ly, init, add);
		return;
	}
	memset(c, 0, sizeof(c));
	if (add)
		for (int r = 0; r < m; r++)
			memcpy(c + r * NR, y + (size_t)r * ly, nc * sizeof(float));
	if (init != NULL && nc < NR) {
		memset(bb, 0, sizeof(bb));
		memcpy(bb, init, nc * sizeof(float));
		init = bb;
	}
	kernel(kp, a, b, c, NR, init, add);
	for (int r = 0; r < m; r++)
		memcpy(y + (size_t)r * ly, c + r * NR, nc * sizeof(float));
}

void
gemmbf_rows(float *y, int ly, const float *x, int lx, const uint16_t *w,
    const float *b, int n, int out, int in)
{
	gemmbf_rows_split(y, ly, out, 0, x, lx, w, b, n, out, in);
}

void
gemmbf_any(float *y, int ly, const float *x, int lx, const uint16_t *w,
    int n, int out, int in)
{
	for (int i = 0; i < n; i += GEMMBF_ROWS)
		gemmbf_rows(y + (size_t)i * ly, ly, x + (size_t)i * lx, lx, w,
		    NULL, n - i < GEMMBF_ROWS ? n - i : GEMMBF_ROWS, out, in);
}

void
gemmbf_rows_split(float *y, int ly, int cb, size_t cs, const float *x,
    int lx, const uint16_t *w, const float *b, int n, int out, int in)
{
	gemmbf_run(&(struct gemm_y){ y, ly, cb, cs, 0 },
	    &(struct gemm_x){ x, lx, 0 }, w, b, n, out, in);
}

/* x's element (row i, input c): 0 past in */
static inline uint32_t
xin(const struct gemm_x *x, int i, int c, int in)
{
	if (c >= in)
		return 0;
	return bf(x->trans ? x->x[(size_t)c * x->lx + i] :
	    x->x[(size_t)i * x->lx + c]);
}

void
gemmbf_run(const struct gemm_y *y, const struct gemm_x *x,
    const uint16_t *w, const float *b, int n, int out, int in)
{
	enum { TILES = (GEMMBF_ROWS + MR - 1) / MR };
	uint32_t a[TILES * MR * (KC / 2)] __attribute__((aligned(64)));
	int in2 = (in + 1) / 2 * 2, tiles = (n + MR - 1) / MR, cb = y->cb;

	for (int k0 = 0; k0 < in2; k0 += KC) {
		int kc = in2 - k0 < KC ? in2 - k0 : KC, kp = kc / 2;
		int add = k0 > 0 || y->add;

		/* x's inputs k0.. as tiles of (kp, MR) pairs, zeros past n */
		for (int t = 0; t < tiles; t++) {
			uint32_t *p = a + (size_t)t * MR * kp;

			for (int r = 0; r < MR; r++) {
				int i = t * MR + r, k = 0;
				const float *s = x->x + (size_t)i * x->lx + k0;

				if (i >= n) {
					for (; k < kp; k++)
						p[k * MR + r] = 0;
					continue;
				}
				for (; !x->trans && k0 + 2 * k + 16 <= in &&
				    k + 8 <= kp; k += 8)
					pairs16(p + k * MR + r, s + 2 * k);
				for (; k < kp; k++) {
					int c = k0 + 2 * k;

					p[k * MR + r] = xin(x, i, c, in) |
					    xin(x, i, c + 1, in) << 16;
				}
			}
		}
		for (int j0 = 0; j0 < out; j0 += NR) {
			const uint16_t *pw = w + (size_t)j0 * in2 +
			    (size_t)k0 * NR;
			int nc = out - j0 < NR ? out - j0 : NR;
			float *yj = y->y + (size_t)(j0 / cb) * y->cs + j0 % cb;

			for (int t = 0; t < tiles; t++)
				tile(yj + (size_t)t * MR * y->ly, y->ly,
				    a + (size_t)t * MR * kp, pw, kp,
				    n - t * MR, nc, k0 == 0 && b ? b + j0 : NULL,
				    add);
		}
	}
}

/* the instruction's arithmetic: denormals in and out are zeros */
static float
flush(float f)
{
	return fpclassify(f) == FP_SUBNORMAL ? copysignf(0, f) : f;
}

void
gemmbf_ref(float *y, int ly, const float *x, int lx, const uint16_t *w,
    const float *b, int n, int out, int in)
{
	int in2 = (in + 1) / 2 * 2;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < out; j++) {
			float *c = y + (size_t)i * ly + j;

			for (int k0 = 0; k0 < in2; k0 += KC) {
				float s = k0 == 0 && b ? b[j] : 0;

				for (int k = k0; k < k0 + KC && k < in2;
				    k += 2) {
					float x0, x1, w0, w1;

					x0 = bf16_to_f32(bf(x[(size_t)i * lx +
					    k]));
					w0 = bf16_to_f32(w[(size_t)j * in + k]);
					x1 = k + 1 < in ? bf16_to_f32(bf(
					    x[(size_t)i * lx + k + 1])) : 0;
					w1 = k + 1 < in ? bf16_to_f32(
					    w[(size_t)j * in + k + 1]) : 0;
					s = flush(fmaf(flush(x1), flush(w1),
					    flush(s)));
					s = flush(fmaf(flush(x0), flush(w0),
					    s));
				}
				*c = k0 == 0 ? s : s + *c;
			}
		}
}
