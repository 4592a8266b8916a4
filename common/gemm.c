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

/*
 * Lines of the next panels of W, elsewhere in memory where no prefetcher
 * looks, for a kernel to fetch into L2 while it runs: n lines of 16
 * floats from p0 and from p1 (when not NULL), one of each every 4
 * inputs.  Issued among the FMAs they cost nothing, where a loop of them
 * between two kernels stalled.  The kernels take it by pointer: passed
 * by value, it was copied by a 16-byte load of two 8-byte stores, which
 * cannot be forwarded and so waited for every older store, y's lines
 * from the last kernel among them (6% of a training step on 2 threads).
 */
struct ahead {
	const float	*p0, *p1;
	int		 n;
};

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "tr8.h"

/* struct ahead's lines, at input k of a kernel */
#define AHEAD(k, p0, p1, n) do {					\
	if ((k) % 4 == 0 && (k) / 4 < (n)) {				\
		_mm_prefetch((const char *)((p0) + (k) / 4 * 16),	\
		    _MM_HINT_T1);					\
		if ((p1) != NULL)					\
			_mm_prefetch((const char *)((p1) + (k) / 4 * 16),\
			    _MM_HINT_T1);				\
	}								\
} while (0)

#define AVX2		__attribute__((target("avx2,fma")))

/*
 * c (MR, NR) = (init, or 0) + a (kc, MR) . b (kc, NR), then (with add)
 * + c; c's rows ldc floats apart.  Each output is one chain: its start,
 * an FMA for each input in order, and c added last.
 */
AVX2 static void
kernel(int kc, const float *a, const float *b, float *c, int ldc,
    const float *init, int add, const struct ahead *nx)
{
	__m256 s0[MR], s1[MR], x, b0, b1;
	const float *p0 = nx->p0, *p1 = nx->p1;
	int np = nx->n;

	for (int r = 0; r < MR; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
	}
	b0 = init ? _mm256_loadu_ps(init) : _mm256_setzero_ps();
	b1 = init ? _mm256_loadu_ps(init + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
	for (int r = 0; r < MR; r++) {
		s0[r] = b0;
		s1[r] = b1;
	}
#pragma GCC unroll 4
	for (int k = 0; k < kc; k++) {
		AHEAD(k, p0, p1, np);
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
		if (add) {
			s0[r] = _mm256_add_ps(s0[r], _mm256_loadu_ps(p));
			s1[r] = _mm256_add_ps(s1[r], _mm256_loadu_ps(p + 8));
		}
		_mm256_storeu_ps(p, s0[r]);
		_mm256_storeu_ps(p + 8, s1[r]);
	}
}

/*
 * The same with AVX-512 on R rows (6: a0's tile; 12: a0's, then a1's)
 * and P panels (b0's outputs, then b1's): c (R, 16 P).  Every output is
 * the same chain of operations as in kernel() above, so the two give
 * the same bits; this one does twice the work an instruction, and holds
 * 24 sums in registers where the other holds 12.
 */
#define AVX512	__attribute__((target("avx512f,avx2,fma")))

AVX512 static inline __attribute__((always_inline)) void
kern512(int kc, const float *a0, const float *a1, const float *b0,
    const float *b1, float *c, int ldc, const float *init, int add,
    const struct ahead *nx, const int R, const int P)
{
	__m512 s[2 * MR][2], w0, w1 = _mm512_setzero_ps(), x;
	const float *p0 = nx->p0, *p1 = nx->p1;
	int np = nx->n;

	/*
	 * c's lines, read at the end: into L2 now, and into L1 one an input
	 * in the last R P inputs.  Fetched into L1 at the start, they would
	 * wait there for thousands of cycles, and where ldc is a multiple of
	 * 1024 floats, c's rows fall in the same sets of L1 and are evicted
	 * by a and b before they are read.
	 */
#pragma GCC unroll 12
	for (int r = 0; r < R; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T1);
		if (P == 2)
			_mm_prefetch((const char *)(c + r * ldc + NR),
			    _MM_HINT_T1);
	}
	w0 = init ? _mm512_loadu_ps(init) : _mm512_setzero_ps();
	if (P == 2)
		w1 = init ? _mm512_loadu_ps(init + NR) : _mm512_setzero_ps();
#pragma GCC unroll 12
	for (int r = 0; r < R; r++) {
		s[r][0] = w0;
		s[r][1] = w1;
	}
	int late = kc > R * P ? kc - R * P : 0;
#pragma GCC unroll 2
	for (int k = 0; k < kc; k++) {
		AHEAD(k, p0, p1, np);
		if (k >= late) {
			int i = k - late;
			_mm_prefetch((const char *)(c + i / P * ldc +
			    i % P * NR), _MM_HINT_T0);
		}
		w0 = _mm512_loadu_ps(b0);
		if (P == 2)
			w1 = _mm512_loadu_ps(b1);
#pragma GCC unroll 12
		for (int r = 0; r < R; r++) {
			x = _mm512_set1_ps(r < MR ? a0[r] : a1[r - MR]);
			s[r][0] = _mm512_fmadd_ps(x, w0, s[r][0]);
			if (P == 2)
				s[r][1] = _mm512_fmadd_ps(x, w1, s[r][1]);
		}
		a0 += MR;
		b0 += NR;
		if (R > MR)	/* a1 and b1 may be NULL when not used */
			a1 += MR;
		if (P == 2)
			b1 += NR;
	}
#pragma GCC unroll 12
	for (int r = 0; r < R; r++) {
		float *p = c + r * ldc;
		if (add)
			s[r][0] = _mm512_add_ps(s[r][0], _mm512_loadu_ps(p));
		_mm512_storeu_ps(p, s[r][0]);
		if (P == 1)
			continue;
		if (add)
			s[r][1] = _mm512_add_ps(s[r][1],
			    _mm512_loadu_ps(p + NR));
		_mm512_storeu_ps(p + NR, s[r][1]);
	}
}

#define K512(R, P)							\
AVX512 static void							\
k512_##R##x##P(int kc, const float *a0, const float *a1,		\
    const float *b0, const float *b1, float *c, int ldc,		\
    const float *init, int add, const struct ahead *nx)		\
{									\
	kern512(kc, a0, a1, b0, b1, c, ldc, init, add, nx, R, P);	\
}
K512(12, 2)
K512(12, 1)
K512(6, 2)
K512(6, 1)

/*
 * p (in8, NR) = s . w (NR, in8)^T, in8 a multiple of 8, w's rows lw floats
 * apart: two 8 x 8 transpositions for every 8 inputs.
 */
AVX2 static void
panel8(float *p, const float *w, size_t lw, int in8, float s)
{
	__m256 r[8], sv = _mm256_set1_ps(s);

	for (int k = 0; k < in8; k += 8)
#pragma GCC unroll 8
		for (int g = 0; g < NR; g += 8) {
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				r[i] = _mm256_mul_ps(sv, _mm256_loadu_ps(w +
				    (g + i) * lw + k));
			tr8(r);
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				_mm256_storeu_ps(p + (k + i) * NR + g, r[i]);
		}
}

/*
 * a (kc, MR) = the first kc inputs of MR rows of x, lx floats apart, 8
 * inputs at a time by an 8 x 8 transposition (two rows of zeros); each
 * store of 8 floats writes 2 past its input, which the next store (or
 * the next tile, or the slack after the last) takes.  The next tile's
 * rows (nx, NULL for none) are fetched meanwhile: rows lx apart are
 * streams no prefetcher has met yet.
 */
AVX2 static int
tile8(float *a, const float *x, size_t lx, int kc, const float *nx)
{
	__m256 r[8];
	int k;

	for (k = 0; k + 8 <= kc; k += 8) {
		if (nx != NULL && k % 16 == 0)
#pragma GCC unroll 8
			for (int i = 0; i < MR; i++)
				_mm_prefetch((const char *)(nx + i * lx + k),
				    _MM_HINT_T0);
#pragma GCC unroll 8
		for (int i = 0; i < MR; i++)
			r[i] = _mm256_loadu_ps(x + i * lx + k);
		r[6] = r[7] = _mm256_setzero_ps();
		tr8(r);
#pragma GCC unroll 8
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

/*
 * pack_tiles from x's transpose for 8 whole tiles, 48 rows of x: tile i
 * at a + i MR kc.  An input at a time, the 48 floats of its row (s, then
 * lx floats apart) are loaded once, in three vectors, and each tile's 6
 * stored under a mask, where a tile at a time read each line three
 * times, 256 rows apart.  With sum, sum (48) += the 48 rows' inputs, in
 * their order, as pack_tiles adds them.  The row 4 inputs ahead is
 * fetched meanwhile: rows lx floats apart are streams no prefetcher has
 * met.
 */
AVX512 static void
ttile48(float *a, const float *s, size_t lx, int kc, float *sum)
{
	/* tile i's floats: 6 i.. of the 48, from vectors 6 i / 16 and next */
	static const int lane[8][16] = {
		{ 0, 1, 2, 3, 4, 5 }, { 6, 7, 8, 9, 10, 11 },
		{ 12, 13, 14, 15, 16, 17 }, { 2, 3, 4, 5, 6, 7 },
		{ 8, 9, 10, 11, 12, 13 }, { 14, 15, 16, 17, 18, 19 },
		{ 4, 5, 6, 7, 8, 9 }, { 10, 11, 12, 13, 14, 15 }
	};
	__m512i ix[8];
	__m512 v[4], acc[3];

#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		ix[i] = _mm512_loadu_si512(lane[i]);
#pragma GCC unroll 8
	for (int j = 0; j < 3; j++)
		acc[j] = sum ? _mm512_loadu_ps(sum + 16 * j) :
		    _mm512_setzero_ps();
	for (int k = 0; k < kc; k++) {
		const float *r = s + (size_t)k * lx;

		/* the 48 floats 4 inputs ahead: 4 lines at most */
		if (k + 4 < kc)
#pragma GCC unroll 8
			for (int j = 0; j < 4; j++)
				_mm_prefetch((const char *)(r + 4 * lx +
				    (j < 3 ? 16 * j : 47)), _MM_HINT_T0);
#pragma GCC unroll 8
		for (int j = 0; j < 3; j++)
			v[j] = _mm512_loadu_ps(r + 16 * j);
		v[3] = v[2];
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			int q = 6 * i / 16;
			_mm512_mask_storeu_ps(a + (size_t)i * MR * kc + k * MR,
			    0x3f, _mm512_permutex2var_ps(v[q], ix[i],
			    v[q + 1]));
		}
		if (sum)
#pragma GCC unroll 8
			for (int j = 0; j < 3; j++)
				acc[j] = _mm512_add_ps(acc[j], v[j]);
	}
	if (sum)
#pragma GCC unroll 8
		for (int j = 0; j < 3; j++)
			_mm512_storeu_ps(sum + 16 * j, acc[j]);
}

/*
 * 0: no kernel (OpenBLAS); 1: AVX2; 2: AVX-512 where the CPU has it
 * (HEADCOUNT_GEMM=avx2 keeps AVX2, for tests: the same bits)
 */
static int
level(void)
{
	static int lv = -1;
	const char *g;

	if (lv == -1) {
		g = getenv("HEADCOUNT_GEMM");
		__builtin_cpu_init();
		lv = __builtin_cpu_supports("avx2") &&
		    __builtin_cpu_supports("fma") &&
		    getenv("HEADCOUNT_NOAVX2") == NULL &&
		    (g == NULL || strcmp(g, "openblas") != 0);
		if (lv && __builtin_cpu_supports("avx512f") &&
		    (g == NULL || strcmp(g, "avx2") != 0))
			lv = 2;
	}
	return lv;
}
#else
static void
cols16(float *p, const float *wt, size_t lw, int full, int in)
{
	abort();	/* gemm_ok() is 0: never called */
}

static int
tile8(float *a, const float *x, size_t lx, int kc, const float *nx)
{
	abort();	/* gemm_ok() is 0: never called */
}

static void
panel8(float *p, const float *w, size_t lw, int in8, float s)
{
	abort();	/* gemm_ok() is 0: never called */
}

static void
ttile48(float *a, const float *s, size_t lx, int kc, float *sum)
{
	abort();	/* gemm_ok() is 0: never called */
}

static void
kernel(int kc, const float *a, const float *b, float *c, int ldc,
    const float *init, int add, const struct ahead *nx)
{
	abort();	/* gemm_ok() is 0: never called */
}

#define K512(R, P)							\
static void								\
k512_##R##x##P(int kc, const float *a0, const float *a1,		\
    const float *b0, const float *b1, float *c, int ldc,		\
    const float *init, int add, const struct ahead *nx)		\
{									\
	abort();	/* gemm_ok() is 0: never called */		\
}
K512(12, 2)
K512(12, 1)
K512(6, 2)
K512(6, 1)

static int
level(void)
{
	return 0;
}
#endif

int
gemm_ok(void)
{
	return level() > 0;
}

const char *
gemm_name(void)
{
	return level() == 2 ? "AVX-512" : level() == 1 ? "AVX2" : "none";
}

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
    int nc, const float *init, int add, const struct ahead *nx)
{
	float c[MR * NR];

	if (m > MR)
		m = MR;
	if (m == MR && nc == NR) {
		kernel(kc, a, b, y, ly, init, add, nx);
		return;
	}
	memset(c, 0, sizeof(c));
	if (add)
		for (int r = 0; r < m; r++)
			memcpy(c + r * NR, y + (size_t)r * ly, nc * sizeof(float));
	kernel(kc, a, b, c, NR, init, add, nx);
	for (int r = 0; r < m; r++)
		memcpy(y + (size_t)r * ly, c + r * NR, nc * sizeof(float));
}

/*
 * The same with AVX-512 for up to two tiles (a1 NULL: a0's alone) and two
 * panels (b1 NULL: b0's alone), m rows and nc <= 32 outputs.
 */
static void
tile2(float *y, int ly, const float *a0, const float *a1, const float *b0,
    const float *b1, int kc, int m, int nc, const float *init, int add,
    const struct ahead *nx)
{
	float c[2 * MR * 2 * NR];
	int R, P = b1 ? 2 : 1;
	void (*k)(int, const float *, const float *, const float *,
	    const float *, float *, int, const float *, int,
	    const struct ahead *);

	if (m > (a1 ? 2 * MR : MR))
		m = a1 ? 2 * MR : MR;
	R = m > MR ? 2 * MR : MR;
	k = R == MR ? (P == 1 ? k512_6x1 : k512_6x2) :
	    (P == 1 ? k512_12x1 : k512_12x2);
	if (m == R && nc == P * NR) {
		k(kc, a0, a1, b0, b1, y, ly, init, add, nx);
		return;
	}
	memset(c, 0, sizeof(c));
	if (add)
		for (int r = 0; r < m; r++)
			memcpy(c + r * 2 * NR, y + (size_t)r * ly,
			    nc * sizeof(float));
	k(kc, a0, a1, b0, b1, c, 2 * NR, init, add, nx);
	for (int r = 0; r < m; r++)
		memcpy(y + (size_t)r * ly, c + r * 2 * NR, nc * sizeof(float));
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
	struct gemm_x gx = { x, lx, 0, NULL };
	struct gemm_y gy = { y, ly, cb, cs, 0 };

	gemm_run(&gy, &gx, w, b, n, out, in);
}

/*
 * Rows i0.. of x, inputs k0..k0 + kc - 1, as (kc, MR) tiles, zeros past
 * row n: from x's rows, 8 inputs at a time where a tile is whole, or
 * from its transpose, MR floats in a row an input.
 */
static void
pack_tiles(float *a, const struct gemm_x *x, int n, int k0, int kc)
{
	int tiles = (n + MR - 1) / MR, full = n / MR;

	if (x->trans) {
		/*
		 * input k is a row of x's transpose: a tile's MR floats of
		 * each, tile by tile, so that a tile is written in order and
		 * the lines its reads share with the next stay in L1
		 */
		int t = 0;

		/* 8 whole tiles at a time, where the CPU has AVX-512 */
		for (; level() == 2 && t + 8 <= full; t += 8) {
			float *sum = NULL;

			if (x->sum != NULL) {
				sum = x->sum + t * MR;
				if (k0 == 0)
					memset(sum, 0, 8 * MR * sizeof(float));
			}
			ttile48(a + (size_t)t * MR * kc, x->x + (size_t)k0 *
			    x->lx + t * MR, x->lx, kc, sum);
		}
		for (; t < tiles; t++) {
			const float *s = x->x + (size_t)k0 * x->lx + t * MR;
			float *p = a + (size_t)t * MR * kc, sum[MR] = { 0 };
			int m = n - t * MR < MR ? n - t * MR : MR;

			if (m < MR)
				memset(p, 0, (size_t)MR * kc * sizeof(float));
			for (int k = 0; m == MR && k < kc; k++) {
				/* a later tile's line: no stream to see */
				__builtin_prefetch(s + (size_t)k * x->lx + 16,
				    0, 3);
				memcpy(p + k * MR, s + (size_t)k * x->lx,
				    MR * sizeof(float));
			}
			for (int k = 0; m < MR && k < kc; k++)
				memcpy(p + k * MR, s + (size_t)k * x->lx,
				    m * sizeof(float));
			if (x->sum == NULL)
				continue;
			/* the sums in the inputs' order, MR at once */
			if (k0 > 0)
				memcpy(sum, x->sum + t * MR, m * sizeof(float));
			for (int k = 0; k < kc; k++)
#pragma GCC unroll 6
				for (int r = 0; r < MR; r++)
					sum[r] += p[k * MR + r];
			memcpy(x->sum + t * MR, sum, m * sizeof(float));
		}
		return;
	}
	for (int t = 0; t < tiles; t++) {
		float *p = a + (size_t)t * MR * kc;
		int m = n - t * MR < MR ? n - t * MR : MR, k = 0;
		const float *s[MR];
		for (int r = 0; r < MR; r++)
			s[r] = r < m ? x->x + (size_t)(t * MR + r) * x->lx +
			    k0 : NULL;
		if (m == MR && level() > 0)
			k = tile8(p, s[0], x->lx, kc, t + 1 < full ?
			    s[0] + (size_t)MR * x->lx : NULL);
		for (p += k * MR; k < kc; k++, p += MR)
#pragma GCC unroll 6
			for (int r = 0; r < MR; r++)
				p[r] = s[r] ? s[r][k] : 0;
	}
}

void
gemm_run(const struct gemm_y *y, const struct gemm_x *x, const float *w,
    const float *b, int n, int out, int in)
{
	enum { TILES = (GEMM_ROWS + MR - 1) / MR };
	float a[TILES * MR * KC + 2] __attribute__((aligned(64)));
	float bp[KC * NR] __attribute__((aligned(64))), bb[NR];
	int full = out / NR * NR, rem = out - full, tiles = (n + MR - 1) / MR;
	int wide = level() == 2, cb = y->cb;

	for (int k0 = 0; k0 < in; k0 += KC) {
		int kc = in - k0 < KC ? in - k0 : KC, first = k0 == 0;
		int add = !first || y->add;
		const float *init;

		/* x's rows k0.. as tiles of (kc, MR), zeros past row n */
		pack_tiles(a, x, n, k0, kc);
		for (int j0 = 0, step; j0 < full; j0 += step) {
			const float *pw = w + (size_t)j0 * in + (size_t)k0 * NR;
			/* two panels at once where both go to one block of y */
			const float *pw1 = wide && j0 + NR < full &&
			    j0 % cb + 2 * NR <= cb ? pw + (size_t)NR * in :
			    NULL;
			step = pw1 ? 2 * NR : NR;
			float *yj = y->y + (size_t)(j0 / cb) * y->cs + j0 % cb;
			/* the next panels into L2, a few lines a kernel */
			const float *nx = NULL, *nx1 = NULL;
			int lines = 0;	/* of 16 floats: one a k */
			if (j0 + step < full)
				nx = pw + (size_t)step * in, lines = kc;
			else if (k0 + KC < in)
				nx = w + (size_t)(k0 + KC) * NR,
				lines = in - k0 - KC < KC ? in - k0 - KC : KC;
			if (wide && nx != NULL && nx + (size_t)NR * in <
			    w + (size_t)full * in)
				nx1 = nx + (size_t)NR * in;
			int per = (lines + tiles - 1) / tiles;

			init = first && b ? b + j0 : NULL;
			for (int t = 0; t < tiles; t += wide ? 2 : 1) {
				int i0 = t * per < lines ? t * per : lines;
				int i1 = (t + wide + 1) * per;
				struct ahead ah = { nx ? nx + i0 * 16 : NULL,
				    nx1 ? nx1 + i0 * 16 : NULL, (i1 < lines ?
				    i1 : lines) - i0 };
				float *yt = yj + (size_t)t * MR * y->ly;
				const float *at = a + (size_t)t * MR * kc;

				if (wide)
					tile2(yt, y->ly, at, t + 1 < tiles ?
					    at + (size_t)MR * kc : NULL, pw,
					    pw1, kc, n - t * MR, pw1 ? 2 * NR :
					    NR, init, add, &ah);
				else
					tile(yt, y->ly, at, pw, kc, n - t * MR,
					    NR, init, add, &ah);
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
		init = first && b ? bb : NULL;
		float *yj = y->y + (size_t)(full / cb) * y->cs + full % cb;
		struct ahead none = { NULL, NULL, 0 };
		for (int t = 0; t < tiles; t += wide ? 2 : 1)
			if (wide)
				tile2(yj + (size_t)t * MR * y->ly, y->ly,
				    a + (size_t)t * MR * kc, t + 1 < tiles ?
				    a + (size_t)(t + 1) * MR * kc : NULL, bp,
				    NULL, kc, n - t * MR, rem, init, add,
				    &none);
			else
				tile(yj + (size_t)t * MR * y->ly, y->ly,
				    a + (size_t)t * MR * kc, bp, kc, n - t * MR,
				    rem, init, add, &none);
	}
}
