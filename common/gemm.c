/*
 * gemm.c -- y = x . W^T + b for the encoder's dense layers and attention,
 * the loop of BLIS and GotoBLAS around a kernel of 6 rows x 16 outputs:
 * for each block of 256 inputs, x's rows are copied into (256, 6) tiles
 * that stay in L2, and each (256, 16) panel of W, packed beforehand (a
 * dense layer's once, when the first run starts), stays in L1 while it
 * meets every tile; the next panel comes into L2 meanwhile.  The kernel
 * keeps 12 sums of 8 floats in registers and adds each block's sums to y
 * after the block, as sgemm does.
 *
 * Every row goes through the same operations in the same order wherever it
 * is: rows past n in the last tile are zeros that are never stored, and
 * the outputs past the last full panel go through the same kernel in a
 * copy padded to 16.
 */
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "util.h"

#define MR	GEMM_TILE	/* rows of x in the kernel */
#define NR	GEMM_PANEL	/* outputs of the kernel */
#define KC	256	/* inputs of a block */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AVX2		__attribute__((target("avx2,fma")))

/*
 * c (MR, NR) = (first ? bias, or 0 : 0) + a (kc, MR) . b (kc, NR), then
 * (unless first) + c; c's rows ldc floats apart.
 */
AVX2 static void
kernel(int kc, const float *a, const float *b, float *c, int ldc, int first,
    const float *bias)
{
	__m256 s0[MR], s1[MR], x, b0, b1;

	for (int r = 0; r < MR; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
	}
	b0 = first && bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
	b1 = first && bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
	for (int r = 0; r < MR; r++) {
		s0[r] = b0;
		s1[r] = b1;
	}
#pragma GCC unroll 4
	for (int k = 0; k < kc; k++) {
		b0 = _mm256_loadu_ps(b);
		b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
		for (int r = 0; r < MR; r++) {
			x = _mm256_broadcast_ss(a + r);
			s0[r] = _mm256_fmadd_ps(x, b0, s0[r]);
			s1[r] = _mm256_fmadd_ps(x, b1, s1[r]);
		}
		a += MR;
		b += NR;
	}
#pragma GCC unroll 6
	for (int r = 0; r < MR; r++) {
		float *p = c + r * ldc;
		if (!first) {
			s0[r] = _mm256_add_ps(s0[r], _mm256_loadu_ps(p));
			s1[r] = _mm256_add_ps(s1[r], _mm256_loadu_ps(p + 8));
		}
		_mm256_storeu_ps(p, s0[r]);
		_mm256_storeu_ps(p + 8, s1[r]);
	}
}

/* r[i] = element i of each of r[0..7]: an 8 x 8 transposition */
AVX2 static inline void
tr8(__m256 r[8])
{
	__m256 t[8], u[8];

	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
		u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
		u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
	for (int i = 0; i < 4; i++) {
		r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
		r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
	}
}

/*
 * p (in8, NR) = s . w (NR, in8)^T, in8 a multiple of 8, w's rows lw floats
 * apart: two 8 x 8 transpositions for every 8 inputs.
 */
AVX2 static void
panel8(float *p, const float *w, size_t lw, int in8, float s)
{
	__m256 r[8], sv = _mm256_set1_ps(s);

	for (int k = 0; k < in8; k += 8)
		for (int g = 0; g < NR; g += 8) {
			for (int i = 0; i < 8; i++)
				r[i] = _mm256_mul_ps(sv, _mm256_loadu_ps(w +
				    (g + i) * lw + k));
			tr8(r);
			for (int i = 0; i < 8; i++)
				_mm256_storeu_ps(p + (k + i) * NR + g, r[i]);
		}
}

/*
 * a (kc, MR) = the first kc inputs of MR rows of x, lx floats apart, 8
 * inputs at a time by an 8 x 8 transposition (two rows of zeros); each
 * store of 8 floats writes 2 past its input, which the next store (or
 * the next tile, or the slack after the last) takes.
 */
AVX2 static int
tile8(float *a, const float *x, size_t lx, int kc)
{
	__m256 r[8];
	int k;

	for (k = 0; k + 8 <= kc; k += 8) {
		for (int i = 0; i < MR; i++)
			r[i] = _mm256_loadu_ps(x + i * lx + k);
		r[6] = r[7] = _mm256_setzero_ps();
		tr8(r);
		for (int i = 0; i < 8; i++)
			_mm256_storeu_ps(a + (k + i) * MR, r[i]);
	}
	return k;
}

/*
 * The whole panels of gemm_pack_cols, full outputs of in rows of wt: a row
 * at a time, its 16-float pieces to their panels, the row 8 ahead fetched
 * meanwhile (rows far apart, as a head's values are, come from L3).
 */
AVX2 static void
cols16(float *p, const float *wt, size_t lw, int full, int in)
{
	for (int k = 0; k < in; k++) {
		const float *s = wt + k * lw;
		for (int j = 0; k + 8 < in && j < full; j += NR)
			_mm_prefetch((const char *)(s + 8 * lw + j),
			    _MM_HINT_T0);
		for (int j0 = 0; j0 < full; j0 += NR) {
			float *q = p + (size_t)j0 * in + (size_t)k * NR;
			_mm256_storeu_ps(q, _mm256_loadu_ps(s + j0));
			_mm256_storeu_ps(q + 8, _mm256_loadu_ps(s + j0 + 8));
		}
	}
}

int
gemm_ok(void)
{
	static int ok = -1;
	const char *g;

	if (ok == -1) {
		g = getenv("HEADCOUNT_GEMM");
		__builtin_cpu_init();
		ok = __builtin_cpu_supports("avx2") &&
		    __builtin_cpu_supports("fma") &&
		    getenv("HEADCOUNT_NOAVX2") == NULL &&
		    (g == NULL || strcmp(g, "openblas") != 0);
	}
	return ok;
}
#else
static void
cols16(float *p, const float *wt, size_t lw, int full, int in)
{
	abort();	/* gemm_ok() is 0: never called */
}

static int
tile8(float *a, const float *x, size_t lx, int kc)
{
	abort();	/* gemm_ok() is 0: never called */
}

static void
panel8(float *p, const float *w, size_t lw, int in8, float s)
{
	abort();	/* gemm_ok() is 0: never called */
}

static void
kernel(int kc, const float *a, const float *b, float *c, int ldc, int first,
    const float *bias)
{
	abort();	/* gemm_ok() is 0: never called */
}

int
gemm_ok(void)
{
	return 0;
}
#endif

/*
 * One panel: p (in, nr) = s . w (nr, in)^T, w's rows lw floats apart.
 * s is exact where it is a power of 2 (attention's 1 / sqrt(64)).
 */
static void
panel(float *p, const float *w, size_t lw, int nr, int in, float s)
{
	int k = 0;

	if (nr == NR && gemm_ok()) {
		k = in / 8 * 8;
		panel8(p, w, lw, k, s);
	}
	for (; k < in; k++)
		for (int j = 0; j < nr; j++)
			p[(size_t)k * nr + j] = s * w[j * lw + k];
}

void
gemm_pack(float *w, int out, int in)
{
	float *t = xreallocarray(NULL, (size_t)NR * in, sizeof(float));

	/* panel j0 takes the place of its own rows, the same floats */
	for (int j0 = 0; j0 < out; j0 += NR) {
		int nr = out - j0 < NR ? out - j0 : NR;
		float *p = w + (size_t)j0 * in;

		memcpy(t, p, (size_t)nr * in * sizeof(float));
		panel(p, t, in, nr, in, 1.0f);
	}
	free(t);
}

void
gemm_pack_rows(float *p, const float *w, size_t lw, int out, int in,
    float s)
{
	for (int j0 = 0; j0 < out; j0 += NR)
		panel(p + (size_t)j0 * in, w + j0 * lw, lw,
		    out - j0 < NR ? out - j0 : NR, in, s);
}

void
gemm_pack_cols(float *p, const float *wt, size_t lw, int out, int in)
{
	int full = gemm_ok() ? out / NR * NR : 0;

	if (full > 0)
		cols16(p, wt, lw, full, in);
	for (int j0 = full; j0 < out; j0 += NR) {
		int nr = out - j0 < NR ? out - j0 : NR;
		float *q = p + (size_t)j0 * in;
		for (int k = 0; k < in; k++)
			memcpy(q + (size_t)k * nr, wt + k * lw + j0,
			    nr * sizeof(float));
	}
}

/*
 * One tile of the first MR of m rows and nc <= NR outputs: straight into
 * y when it is whole, else through a copy.
 */
static void
tile(float *y, int ly, const float *a, const float *b, int kc, int m,
    int nc, int first, const float *bias)
{
	float c[MR * NR];

	if (m > MR)
		m = MR;
	if (m == MR && nc == NR) {
		kernel(kc, a, b, y, ly, first, bias);
		return;
	}
	memset(c, 0, sizeof(c));
	if (!first)
		for (int r = 0; r < m; r++)
			memcpy(c + r * NR, y + (size_t)r * ly, nc * sizeof(float));
	kernel(kc, a, b, c, NR, first, bias);
	for (int r = 0; r < m; r++)
		memcpy(y + (size_t)r * ly, c + r * NR, nc * sizeof(float));
}

void
gemm_any(float *y, int ly, const float *x, int lx, const float *w, int n,
    int out, int in)
{
	for (int i = 0; i < n; i += GEMM_ROWS)
		gemm_rows(y + (size_t)i * ly, ly, x + (size_t)i * lx, lx, w,
		    NULL, n - i < GEMM_ROWS ? n - i : GEMM_ROWS, out, in);
}

void
gemm_rows(float *y, int ly, const float *x, int lx, const float *w,
    const float *b, int n, int out, int in)
{
	gemm_rows_split(y, ly, out, 0, x, lx, w, b, n, out, in);
}

void
gemm_rows_split(float *y, int ly, int cb, size_t cs, const float *x,
    int lx, const float *w, const float *b, int n, int out, int in)
{
	enum { TILES = (GEMM_ROWS + MR - 1) / MR };
	float a[TILES * MR * KC + 2] __attribute__((aligned(64)));
	float bp[KC * NR] __attribute__((aligned(64))), bb[NR];
	int full = out / NR * NR, rem = out - full, tiles = (n + MR - 1) / MR;

	for (int k0 = 0; k0 < in; k0 += KC) {
		int kc = in - k0 < KC ? in - k0 : KC, first = k0 == 0;

		/* x's rows k0.. as tiles of (kc, MR), zeros past row n */
		for (int t = 0; t < tiles; t++) {
			const float *s[MR];
			float *p = a + (size_t)t * MR * kc;
			int k = 0;
			for (int r = 0; r < MR; r++)
				s[r] = t * MR + r < n ?
				    x + (size_t)(t * MR + r) * lx + k0 : NULL;
			if (t * MR + MR <= n)
				k = tile8(p, s[0], lx, kc);
			for (p += k * MR; k < kc; k++, p += MR)
#pragma GCC unroll 6
				for (int r = 0; r < MR; r++)
					p[r] = s[r] ? s[r][k] : 0;
		}
		for (int j0 = 0; j0 < full; j0 += NR) {
			const float *pw = w + (size_t)j0 * in + (size_t)k0 * NR;
			float *yj = y + (size_t)(j0 / cb) * cs + j0 % cb;
			/*
			 * The next panel into L2, a few lines a tile: it is
			 * elsewhere in memory, where no prefetcher looks.
			 */
			const float *nx = NULL;
			int lines = 0;	/* of 16 floats: one a k */
			if (j0 + NR < full)
				nx = pw + (size_t)NR * in, lines = kc;
			else if (k0 + KC < in)
				nx = w + (size_t)(k0 + KC) * NR,
				lines = in - k0 - KC < KC ? in - k0 - KC : KC;
			int per = (lines + tiles - 1) / tiles;
			for (int t = 0; t < tiles; t++) {
				for (int i = t * per; i < (t + 1) * per &&
				    i < lines; i++)
					__builtin_prefetch(nx + i * 16, 0, 2);
				tile(yj + (size_t)t * MR * ly, ly,
				    a + (size_t)t * MR * kc, pw, kc, n - t * MR,
				    NR, first, b ? b + j0 : NULL);
			}
		}
		if (rem == 0)
			continue;
		/* the last outputs, padded to a whole panel */
		const float *pw = w + (size_t)full * in + (size_t)k0 * rem;
		memset(bp, 0, sizeof(bp));
		memset(bb, 0, sizeof(bb));
		for (int k = 0; k < kc; k++)
			memcpy(bp + k * NR, pw + (size_t)k * rem,
			    rem * sizeof(float));
		if (b)
			memcpy(bb, b + full, rem * sizeof(float));
		float *yj = y + (size_t)(full / cb) * cs + full % cb;
		for (int t = 0; t < tiles; t++)
			tile(yj + (size_t)t * MR * ly, ly,
			    a + (size_t)t * MR * kc, bp, kc, n - t * MR, rem,
			    first, bb);
	}
}
