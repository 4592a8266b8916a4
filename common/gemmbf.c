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

/*
 * bf16 of f as vcvtneps2bf16 makes it: to nearest, ties to even, a NaN a
 * quiet NaN of its sign, and a denormal a zero of its sign (the dot
 * product would take it as a zero anyway, but for the few that round up
 * to the least normal bf16).
 */
static inline uint16_t
bf(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	if ((u & 0x7f800000) == 0)
		return u >> 16 & 0x8000;
	return f32_to_bf16(f);
}

#if defined(__x86_64__)
#include <immintrin.h>

#include "tr8.h"

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

	/* c's lines, read at the end, on their way meanwhile */
#pragma GCC unroll 12
	for (int r = 0; r < MR; r++) {
		_mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
	}
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


/* 16 floats of x times s, rounded as bf() rounds them: 16 bf16 */
BF16 static inline __m256i
round16(const float *x, float s)
{
	__m512 f = _mm512_loadu_ps(x);

	if (s != 1.0f)
		f = _mm512_mul_ps(f, _mm512_set1_ps(s));
	return (__m256i)_mm512_cvtneps_pbh(f);
}

/* a[k * MR], k < 8 = the 8 pairs of 16 floats of x, as words */
BF16 static void
pairs16(uint32_t *a, const float *x)
{
	uint32_t h[8];

	_mm256_storeu_si256((__m256i *)h, round16(x, 1.0f));
	for (int k = 0; k < 8; k++)
		a[k * MR] = h[k];
}

/* tr8.h's transposition of 32-bit words */
BF16 static inline __attribute__((always_inline)) void
tr8i(__m256i v[8])
{
	__m256 r[8];

#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		r[i] = _mm256_castsi256_ps(v[i]);
	tr8(r);
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		v[i] = _mm256_castps_si256(r[i]);
}

/*
 * pack()'s panels, the last one's rows past out zeros, the inputs of w's
 * rows 16 at a time (lk 1): each row's pairs of inputs are words, 8 rows
 * of 8 words transposed into the panel's order.  Returns the inputs done
 * in each panel (in / 16 * 16).
 */
BF16 static int
fastrows(uint16_t *p, const float *w, size_t lj, int out, int in, float s)
{
	int in2 = (in + 1) / 2 * 2, k16 = in / 16 * 16;
	__m256i v[8];

	for (int j0 = 0; j0 < out; j0 += NR) {
		uint32_t *q = (uint32_t *)(p + (size_t)j0 * in2);

		for (int k = 0; k < k16; k += 16)
			for (int jj = 0; jj < NR; jj += 8) {
				const float *src = w + (size_t)(j0 + jj) * lj;
				uint32_t *dst = q + (size_t)(k / 2) * NR + jj;

#pragma GCC unroll 8
				for (int r = 0; r < 8; r++)
					v[r] = j0 + jj + r < out ?
					    round16(src + r * lj + k, s) :
					    _mm256_setzero_si256();
				tr8i(v);
#pragma GCC unroll 8
				for (int i = 0; i < 8; i++)
					_mm256_storeu_si256((__m256i *)(dst +
					    (size_t)i * NR), v[i]);
			}
	}
	return k16;
}

/*
 * pack()'s whole panels where W's inputs are w's rows (lj 1): a pair of
 * inputs is two rows of w, their bf16 interleaved.  Returns the inputs
 * done (in / 2 * 2).
 */
BF16 static int
fastcols(uint16_t *p, const float *w, size_t lk, int full, int in, float s)
{
	int in2 = (in + 1) / 2 * 2, kp2 = in / 2 * 2;

	for (int j0 = 0; j0 < full; j0 += NR) {
		uint16_t *q = p + (size_t)j0 * in2;

		for (int k = 0; k < kp2; k += 2)
			for (int j = 0; j < NR; j += 16) {
				const float *r0 = w + (size_t)k * lk + j0 + j;
				__m256i a = round16(r0, s);
				__m256i b = round16(r0 + lk, s);
				__m256i lo = _mm256_unpacklo_epi16(a, b);
				__m256i hi = _mm256_unpackhi_epi16(a, b);
				uint16_t *d = q + ((size_t)(k / 2) * NR + j) *
				    2;

				_mm256_storeu_si256((__m256i *)d,
				    _mm256_permute2x128_si256(lo, hi, 0x20));
				_mm256_storeu_si256((__m256i *)(d + 16),
				    _mm256_permute2x128_si256(lo, hi, 0x31));
			}
	}
	return kp2;
}

/*
 * a[0..MR - 1] = the words of x's rows c and c + 1 (r1 NULL: zeros) of MR
 * columns: bf(r0[i]) | bf(r1[i]) << 16, reading 16 columns of each
 */
BF16 static void
words12(uint32_t *a, const float *r0, const float *r1)
{
	__m256i lo = round16(r0, 1.0f);
	__m256i hi = r1 ? round16(r1, 1.0f) : _mm256_setzero_si256();
	__m256i w0 = _mm256_unpacklo_epi16(lo, hi);
	__m256i w1 = _mm256_unpackhi_epi16(lo, hi);
	__m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(
	    _mm256_permute2x128_si256(w0, w1, 0x20)),
	    _mm256_permute2x128_si256(w0, w1, 0x31), 1);

	_mm512_mask_storeu_epi32(a, (1 << MR) - 1, w);
}

/*
 * A whole tile's 8 pairs from 16 floats of each of x's MR rows (lx
 * apart): a[k * MR + r] = the words of row r, as pairs16() makes them,
 * by a transposition of rows 0-7 and one of rows 8-11 and four of zeros
 * (where pairs16() stores word by word); the next tile's rows (nx, NULL
 * for none) fetched meanwhile.
 */
BF16 static void
tile16(uint32_t *a, const float *x, size_t lx, const float *nx)
{
	__m256i v[8], u[8];

#pragma GCC unroll 8
	for (int r = 0; r < 8; r++) {
		v[r] = round16(x + r * lx, 1.0f);
		u[r] = r < MR - 8 ? round16(x + (8 + r) * lx, 1.0f) :
		    _mm256_setzero_si256();
	}
	if (nx != NULL)
#pragma GCC unroll 8
		for (int r = 0; r < MR; r++)
			_mm_prefetch((const char *)(nx + r * lx), _MM_HINT_T0);
	tr8i(v);
	tr8i(u);
#pragma GCC unroll 8
	for (int k = 0; k < 8; k++) {
		_mm256_storeu_si256((__m256i *)(a + k * MR), v[k]);
		_mm_storeu_si128((__m128i *)(a + k * MR + 8),
		    _mm256_castsi256_si128(u[k]));
	}
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

static int
fastrows(uint16_t *p, const float *w, size_t lj, int out, int in, float s)
{
	return 0;
}

static void
words12(uint32_t *a, const float *r0, const float *r1)
{
	abort();	/* gemmbf_ok() is 0: never called */
}

static void
tile16(uint32_t *a, const float *x, size_t lx, const float *nx)
{
	abort();	/* gemmbf_ok() is 0: never called */
}

static int
fastcols(uint16_t *p, const float *w, size_t lk, int full, int in, float s)
{
	return 0;
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

/*
 * p = W packed, W[j][k] = s . w[j * lj + k * lk], rounded to bf16: the
 * first inputs in vectors, of every panel where w's rows are W's (lk 1),
 * of the whole panels where they are W's inputs (lj 1); the rest one at
 * a time.
 */
static void
pack(uint16_t *p, const float *w, size_t lj, size_t lk, int out, int in,
    float s)
{
	int in2 = (in + 1) / 2 * 2, full = out / NR * NR, done = 0;

	if (gemmbf_ok() && lk == 1)
		done = fastrows(p, w, lj, out, in, s), full = out;
	else if (gemmbf_ok() && lj == 1 && full > 0)
		done = fastcols(p, w, lk, full, in, s);
	for (int j0 = 0; j0 < out; j0 += NR)
		for (int k = j0 < full ? done : 0; k < in2; k++)
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
	    &(struct gemm_x){ x, lx, 0, NULL }, w, b, n, out, in);
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

/*
 * a = x's inputs k0 .. k0 + 2 kp as tiles of (kp, MR) pairs, zeros past
 * n and past in; and x's sums, where it asks for them.
 */
static void
pack_x(uint32_t *a, const struct gemm_x *x, int n, int in, int k0, int kp)
{
	int tiles = (n + MR - 1) / MR;

	for (int t = 0; t < tiles; t++) {
		uint32_t *p = a + (size_t)t * MR * kp;

		/* transposed: a pair of rows of x's, 16 columns read */
		if (x->trans && t * MR + 16 <= n) {
			for (int k = 0; k < kp; k++) {
				int c = k0 + 2 * k;
				const float *s = x->x + (size_t)c * x->lx +
				    t * MR;

				/* c < in: in2 - in is 0 or 1 */
				words12(p + k * MR, s, c + 1 < in ? s + x->lx :
				    NULL);
			}
			continue;
		}
		/* a whole tile: its rows' pairs 8 at a time */
		int k1 = 0;
		if (!x->trans && t * MR + MR <= n) {
			const float *xt = x->x + (size_t)t * MR * x->lx + k0;
			const float *nt = t * MR + 2 * MR <= n ?
			    xt + (size_t)MR * x->lx : NULL;

			for (; k0 + 2 * k1 + 16 <= in && k1 + 8 <= kp; k1 += 8)
				tile16(p + k1 * MR, xt + 2 * k1, x->lx,
				    nt ? nt + 2 * k1 : NULL);
		}
		for (int r = 0; r < MR; r++) {
			int i = t * MR + r, k = k1;
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
	/* the sums from the floats, each input's row again from L2 */
	for (int c = k0; x->trans && x->sum && c < k0 + 2 * kp && c < in;
	    c++) {
		const float *s = x->x + (size_t)c * x->lx;

		if (c == 0)
			memset(x->sum, 0, n * sizeof(float));
		for (int i = 0; i < n; i++)
			x->sum[i] += s[i];
	}
}

/*
 * Block k0 (kp pairs, x packed as ak) of the panel of W at pw, outputs j..,
 * into y, tile by tile; the lines of the panel that runs next, nx (NULL
 * for none), fetched into L2 a few a tile meanwhile.
 */
static void
panel(const struct gemm_y *y, const uint32_t *ak, const uint16_t *pw,
    const uint16_t *nx, const float *b, int n, int out, int j, int k0,
    int kp)
{
	int tiles = (n + MR - 1) / MR, lines = nx ? 2 * kp : 0;
	int per = (lines + tiles - 1) / tiles, nc = out - j < NR ? out - j : NR;
	float *yj = y->y + (size_t)(j / y->cb) * y->cs + j % y->cb;

	for (int t = 0; t < tiles; t++) {
		for (int i = t * per; i < (t + 1) * per && i < lines; i++)
			__builtin_prefetch(nx + i * 32, 0, 2);
		tile(yj + (size_t)t * MR * y->ly, y->ly,
		    ak + (size_t)t * MR * kp, pw, kp, n - t * MR, nc,
		    k0 == 0 && b ? b + j : NULL, k0 > 0 || y->add);
	}
}

/*
 * x packed whole, its blocks one after another, where it takes this many
 * bytes or fewer: then each panel of W meets every block of x while the
 * panel's columns of y stay in L1 and L2, and y goes to L3 once, not
 * once a block.  A larger x goes a block at a time.
 */
#define WHOLE	(512 << 10)

void
gemmbf_run(const struct gemm_y *y, const struct gemm_x *x,
    const uint16_t *w, const float *b, int n, int out, int in)
{
	enum { TILES = (GEMMBF_ROWS + MR - 1) / MR };
	static __thread uint32_t *whole;
	uint32_t blk[TILES * MR * (KC / 2)] __attribute__((aligned(64)));
	int in2 = (in + 1) / 2 * 2, tiles = (n + MR - 1) / MR;
	size_t bytes = (size_t)tiles * MR * in2 * 2;
	uint32_t *a = blk;

	if (bytes > sizeof(blk) && bytes <= WHOLE && whole == NULL)
		whole = aligned_alloc(64, WHOLE);
	if (bytes > sizeof(blk) && (bytes > WHOLE || whole == NULL)) {
		/* a block of x at a time, through every panel */
		for (int k0 = 0; k0 < in2; k0 += KC) {
			int kp = (in2 - k0 < KC ? in2 - k0 : KC) / 2;

			pack_x(blk, x, n, in, k0, kp);
			for (int j = 0; j < out; j += NR) {
				/* the next panel is in2 x NR bf16 away */
				const uint16_t *pw = w + (size_t)j * in2 +
				    (size_t)k0 * NR;
				const uint16_t *nx = j + NR < out ? pw +
				    (size_t)NR * in2 : k0 + KC < in2 ? w +
				    (size_t)(k0 + KC) * NR : NULL;

				panel(y, blk, pw, nx, b, n, out, j, k0, kp);
			}
		}
		return;
	}
	if (bytes > sizeof(blk))
		a = whole;
	for (int k0 = 0; k0 < in2; k0 += KC)
		pack_x(a + (size_t)tiles * MR * k0 / 2, x, n, in, k0,
		    (in2 - k0 < KC ? in2 - k0 : KC) / 2);
	/* x whole: each panel through every block, the next in memory next */
	for (int j = 0; j < out; j += NR)
		for (int k0 = 0; k0 < in2; k0 += KC) {
			int kp = (in2 - k0 < KC ? in2 - k0 : KC) / 2;
			const uint16_t *pw = w + (size_t)j * in2 +
			    (size_t)k0 * NR;

			panel(y, a + (size_t)tiles * MR * k0 / 2, pw,
			    j + NR < out || k0 + KC < in2 ? pw + 2 * kp * NR :
			    NULL, b, n, out, j, k0, kp);
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
