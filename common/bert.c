/*
 * bert.c -- BERT's forward pass in float32: gemm.c's kernel for the
 * matrix products where the CPU has AVX2 and FMA, OpenBLAS elsewhere;
 * loops on 8 floats at once for LayerNorm, softmax and GELU (with an erf
 * and an exp of our own).  Letters as in llm.c: L layers, H heads, T
 * tokens of a sequence, N tokens of the batch, C hidden, D = C / H per
 * head, F the FFN width.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bert.h"
#include "gemm.h"
#include "gemmbf.h"
#include "util.h"

/*
 * A pool of threads for the dense layers, attention, LayerNorm and GELU.
 * OpenBLAS itself runs on one thread: its own threads split a product in
 * ways that change a row's last bits with the shape of the whole product,
 * ours split it where nothing changes (see bert.h).
 */
static struct {
	int		 n;		/* threads, the caller included */
	int		 unit;		/* offsets are multiples of it */
	int		 gemm;		/* dense products by gemm.c */
	int		 bf;		/* every product by gemmbf.c, in bf16 */
	pthread_mutex_t	 mu;
	pthread_cond_t	 go, done;
	unsigned	 gen;
	int		 pending;
	void		(*fn)(void *, int);
	void		*arg;
	int		 ntask;
	atomic_int	 next;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER };
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int want_bf;			/* bert_precision()'s, for pool_init */
static _Thread_local int tid;		/* 0 the caller, 1.. the workers */

/* Rows a batch rounds up to: see bert.h; its maximum. */
#define MAXUNIT	64
/*
 * Rows of every sgemm call of a dense layer with OpenBLAS: a multiple of
 * every unit probe_unit can choose
 */
#define BLASROWS	192

static void
work(void)
{
	int i;

	while ((i = atomic_fetch_add(&pool.next, 1)) < pool.ntask)
		pool.fn(pool.arg, i);
}

static void *
worker(void *arg)
{
	unsigned seen = 0;

	tid = (int)(intptr_t)arg;
	for (;;) {
		pthread_mutex_lock(&pool.mu);
		while (pool.gen == seen)
			pthread_cond_wait(&pool.go, &pool.mu);
		seen = pool.gen;
		pthread_mutex_unlock(&pool.mu);
		work();
		pthread_mutex_lock(&pool.mu);
		if (--pool.pending == 0)
			pthread_cond_signal(&pool.done);
		pthread_mutex_unlock(&pool.mu);
	}
	return NULL;
}

/* fn(arg, i) for i in 0..ntask - 1, on every thread of the pool. */
static void
parallel(int ntask, void (*fn)(void *, int), void *arg)
{
	if (pool.n <= 1 || ntask <= 1) {
		for (int i = 0; i < ntask; i++)
			fn(arg, i);
		return;
	}
	pthread_mutex_lock(&pool.mu);
	pool.fn = fn;
	pool.arg = arg;
	pool.ntask = ntask;
	atomic_store(&pool.next, 0);
	pool.pending = pool.n - 1;
	pool.gen++;
	pthread_cond_broadcast(&pool.go);
	pthread_mutex_unlock(&pool.mu);
	work();
	pthread_mutex_lock(&pool.mu);
	while (pool.pending > 0)
		pthread_cond_wait(&pool.done, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
}

/* y (M, O) = x (M, K) . w (O, K)^T, M = BLASROWS: sgemm as linear calls it */
static void
probe_product(float *y, const float *x, const float *w, int K, int O)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BLASROWS, O, K,
	    1.0f, x, K, w, K, 0.0f, y, O);
}

/*
 * 1 if the rows of ref, probe_product's of x, keep their bits when x's
 * rows move u, 2u and 3u rows down (xs and y: room for the moved rows
 * and their product).
 */
static int
probe_fits(int u, int K, int O, const float *x, const float *w,
    const float *ref, float *xs, float *y)
{
	enum { M = BLASROWS };

	for (int s = u; s <= 3 * u && s < M; s += u) {
		/* x's rows s further down, zeros before them */
		memset(xs, 0, (size_t)s * K * sizeof(float));
		memcpy(xs + (size_t)s * K, x, (size_t)(M - s) * K *
		    sizeof(float));
		probe_product(y, xs, w, K, O);
		if (memcmp(y + (size_t)s * O, ref, (size_t)(M - s) * O *
		    sizeof(float)) != 0)
			return 0;
	}
	return 1;
}

/*
 * The smallest number of rows u such that sgemm, in a product of BLASROWS
 * rows, gives a row the same bits wherever it sits, as long as it moves by
 * a multiple of u: OpenBLAS computes rows in register tiles (12 rows for
 * its Haswell and Zen kernels) and may round a row differently in one
 * part of a tile than in another.  Two shapes, a small product and a
 * larger one, since some kernels (SkylakeX's) have others for small
 * products: the unit must hold for both.
 */
static int
probe_unit(void)
{
	static const int cand[] = { 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64 };
	/* (inputs, outputs): a small product, then one of 6 MFLOP */
	static const int shape[2][2] = { { 16, 48 }, { 256, 64 } };
	enum { K = 256, O = 64, M = BLASROWS };
	float *x = xmalloc(M * K * sizeof(float));
	float *w = xmalloc(O * K * sizeof(float));
	float *xs = xmalloc(M * K * sizeof(float));
	float *ref = xmalloc(2 * M * O * sizeof(float));	/* each shape's */
	float *y = xmalloc(M * O * sizeof(float));
	unsigned r = 12345;
	int u = MAXUNIT;

	for (int i = 0; i < M * K; i++)
		x[i] = (float)((r = r * 1103515245 + 12345) >> 8) / (1 << 24) -
		    0.5f;
	for (int i = 0; i < O * K; i++)
		w[i] = (float)((r = r * 1103515245 + 12345) >> 8) / (1 << 24) -
		    0.5f;
	for (int i = 0; i < 2; i++)
		probe_product(ref + i * M * O, x, w, shape[i][0], shape[i][1]);
	for (size_t c = 0; c < sizeof(cand) / sizeof(cand[0]); c++) {
		int ok = 1;
		for (int i = 0; i < 2 && ok; i++)
			ok = probe_fits(cand[c], shape[i][0], shape[i][1], x, w,
			    ref + i * M * O, xs, y);
		if (ok) {
			u = cand[c];
			break;
		}
	}
	free(x);
	free(w);
	free(xs);
	free(ref);
	free(y);
	return u;
}

static void
pool_init(void)
{
	const char *s = getenv("HEADCOUNT_ROWUNIT");
	pthread_t t;
	long v;

	pool.n = openblas_get_num_threads();
	if (pool.n < 1)
		pool.n = 1;
	if (pool.n > 64)
		pool.n = 64;
	openblas_set_num_threads(1);
	/* gemm.c's rows do not depend on their neighbours: no alignment */
	pool.gemm = gemm_ok();
	pool.bf = want_bf;
	pool.unit = pool.gemm || pool.bf ? 1 : probe_unit();
	/* for tests: another unit, to see what a wrong one does */
	if (s != NULL && parse_long(s, 1, MAXUNIT, &v) == 0)
		pool.unit = (int)v;
	for (int i = 1; i < pool.n; i++)
		if (pthread_create(&t, NULL, worker, (void *)(intptr_t)i) != 0) {
			pool.n = i;
			break;
		} else
			pthread_detach(t);
}

int
bert_threads(void)
{
	pthread_once(&pool_once, pool_init);
	return pool.n;
}

int
bert_rowunit(void)
{
	pthread_once(&pool_once, pool_init);
	return pool.unit;
}

const char *
bert_dense(void)
{
	pthread_once(&pool_once, pool_init);
	if (pool.bf)
		return "headcount's AVX512-BF16 kernel (bf16 products, "
		    "float32 sums)";
	if (pool.gemm)
		return strcmp(gemm_name(), "AVX-512") == 0 ?
		    "headcount's AVX-512 kernel" : "headcount's AVX2 kernel";
	return "OpenBLAS sgemm";
}

int
bert_precision_name(const char *s)
{
	return strcmp(s, "f32") == 0 ? 0 : strcmp(s, "bf16") == 0 ? 1 : -1;
}

int
bert_precision(int bf16, char *err, size_t errlen)
{
	if (bf16 && !gemmbf_ok()) {
		snprintf(err, errlen, "--precision bf16: this processor has "
		    "no AVX512-BF16 (vdpbf16ps); use f32");
		return -1;
	}
	want_bf = bf16;
	return 0;
}

/*
 * The bf16 copy of the dense weight that w points into (at a row that
 * starts a panel), for gemmbf.c; m's weights are bf16-packed.
 */
static const uint16_t *
bfof(const struct bert *m, const float *w)
{
	const struct bert_config *c = &m->cfg;

	for (int l = 0; l < c->L; l++) {
		const struct bert_layer *y = &m->layer[l];
		const float *base[4] = { y->qkvw, y->aow, y->iw, y->ow };
		size_t n[4] = { (size_t)3 * c->C * c->C, (size_t)c->C * c->C,
		    (size_t)c->F * c->C, (size_t)c->C * c->F };
		int in[4] = { c->C, c->C, c->C, c->F };

		for (int k = 0; k < 4; k++)
			if (w >= base[k] && w < base[k] + n[k])
				return m->bfw[4 * l + k] + (size_t)(w -
				    base[k]) / in[k] * ((in[k] + 1) / 2 * 2);
	}
	abort();	/* only the layers' weights come here */
}

/*
 * y (N, out) = x (N, in) . w (out, in)^T + b (out), as nn.Linear.  With
 * gemm.c (w packed), in the tasks of gemm_tasks.  With OpenBLAS, in tasks
 * of exactly BLASROWS rows each, the last one through a copy padded
 * with zeros: sgemm chooses its kernels by the size of the product (some,
 * such as SkylakeX's, have others for small products, which round
 * differently), so every call has the same shape, and its row tiles start
 * where the sequences do (BLASROWS is a multiple of the unit).
 */
struct linear {
	float		*y;
	const float	*x, *w, *b;
	const uint16_t	*wb;		/* gemmbf.c: w in bf16 */
	int		 N, in, out;
	int		 ly, cb;	/* gemm.c: y's layout, as gemm_rows_split's */
	size_t		 cs;
	int		*start;		/* gemm.c: task t's first row */
};

/* Rows of a task at least, where there are more */
#define MINROWS	(8 * GEMM_TILE)

/*
 * The first rows of N rows' tasks for gemm.c, and their number: blocks of
 * GEMM_ROWS while the rest is large, then each a share of the rest, a
 * multiple of the tile, that shrinks as the rest does, so that the threads
 * finish together however fast each has been (guided scheduling).  A row's
 * bits do not depend on its task.
 */
static int *
gemm_tasks(int N, int *nt)
{
	/* every task but the last has MINROWS rows or more */
	int *start = xreallocarray(NULL, N / MINROWS + 2, sizeof(int));
	int n = 0;

	for (int i0 = 0, s; i0 < N; i0 += s < N - i0 ? s : N - i0) {
		s = (N - i0 + 2 * pool.n - 1) / (2 * pool.n);
		s = (s + GEMM_TILE - 1) / GEMM_TILE * GEMM_TILE;
		s = pool.n == 1 || s > GEMM_ROWS ? GEMM_ROWS :
		    s < MINROWS ? MINROWS : s;
		start[n++] = i0;
	}
	start[n] = N;
	*nt = n;
	return start;
}

static void
linear_task(void *arg, int t)
{
	const struct linear *a = arg;
	int m = BLASROWS, i0, n;
	const float *x;
	float *y, *buf = NULL;

	if (pool.bf) {
		i0 = a->start[t];
		gemmbf_rows_split(a->y + (size_t)i0 * a->ly, a->ly, a->cb,
		    a->cs, a->x + (size_t)i0 * a->in, a->in, a->wb, a->b,
		    a->start[t + 1] - i0, a->out, a->in);
		return;
	}
	if (pool.gemm) {
		i0 = a->start[t];
		gemm_rows_split(a->y + (size_t)i0 * a->ly, a->ly, a->cb, a->cs,
		    a->x + (size_t)i0 * a->in, a->in, a->w, a->b,
		    a->start[t + 1] - i0, a->out, a->in);
		return;
	}
	i0 = t * m;
	n = a->N - i0 < m ? a->N - i0 : m;
	x = a->x + (size_t)i0 * a->in;
	y = a->y + (size_t)i0 * a->out;
	if (n < m) {
		/* the last rows, then zeros, in a copy of a whole call's shape */
		buf = xcalloc((size_t)m * (a->in + a->out), sizeof(float));
		memcpy(buf, x, (size_t)n * a->in * sizeof(float));
		x = buf;
		y = buf + (size_t)m * a->in;
	}
	for (int i = 0; i < m; i++)
		memcpy(y + (size_t)i * a->out, a->b, a->out * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, a->out, a->in,
	    1.0f, x, a->in, a->w, a->in, 1.0f, y, a->out);
	if (buf != NULL) {
		memcpy(a->y + (size_t)i0 * a->out, y,
		    (size_t)n * a->out * sizeof(float));
		free(buf);
	}
}

/*
 * The same with y laid out as gemm_rows_split's: gemm.c and gemmbf.c
 * only.  w is one of m's layers' weights.
 */
static void
linear_split(const struct bert *m, float *y, int ly, int cb, size_t cs,
    const float *x, const float *w, const float *b, int N, int in, int out)
{
	struct linear a = { y, x, w, b, NULL, N, in, out, ly, cb, cs, NULL };
	int nt;

	if (N == 0)
		return;
	if (pool.bf)
		a.wb = bfof(m, w);
	if (pool.gemm || pool.bf) {
		a.start = gemm_tasks(N, &nt);
		parallel(nt, linear_task, &a);
		free(a.start);
		return;
	}
	parallel((N + BLASROWS - 1) / BLASROWS, linear_task, &a);
}

static void
linear(const struct bert *m, float *y, const float *x, const float *w,
    const float *b, int N, int in, int out)
{
	linear_split(m, y, out, out, 0, x, w, b, N, in, out);
}

/*
 * y (N, C) = LayerNorm(x + r) with gain g and bias b, as nn.LayerNorm:
 * biased variance, eps inside the square root.  y may be x.
 */
struct lnorm {
	float		*y;
	const float	*x, *r, *g, *b;
	int		 N, C;
	float		 eps;
};

#define ROWS	32	/* rows of a LayerNorm or GELU task */

/* ---- vector math: GELU (erf), softmax (exp), LayerNorm ---- */

/*
 * GELU and softmax need erf and exp on every element of (N, F) and
 * (T, T): libm's erff and expf, called one element at a time, were an
 * eighth of the run.  These evaluate both on 8 floats at once with GCC's
 * vector extensions, branch-free (both sides of a range are computed and
 * one is kept), with coefficients fitted by test/vmfit.py, which also
 * measures their error: erf within 1.5e-7 of the true value, exp within
 * 1.3 units in the last place; libm's are within about 1.
 *
 * Every operation is a separate IEEE one (ISO C mode: gcc does not fuse
 * a * b + c), so the code compiled for AVX2 (8 lanes) and for any x86-64
 * (two SSE halves) gives the same bits, and so do a row's last elements,
 * which go through the same code in a padded copy.
 */
typedef float	vf __attribute__((vector_size(32)));
typedef int32_t	vi __attribute__((vector_size(32)));

/* always inlined: no vector crosses a call, whatever the ABI says */
#pragma GCC diagnostic ignored "-Wpsabi"
#define INLINE	static inline __attribute__((always_inline))
#define VL	8	/* lanes */

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

/* x (n) = GELU(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), as HF's "gelu" */
INLINE void
gelu_body(float *x, size_t n)
{
	float buf[VL] = { 0 };
	size_t i;

	for (i = 0; i + VL <= n; i += VL) {
		vf v = vload(x + i);
		vstore(x + i, 0.5f * v * (1.0f + verf(v * 0.70710678f)));
	}
	if (i < n) {
		memcpy(buf, x + i, (n - i) * sizeof(float));
		vf v = vload(buf);
		vstore(buf, 0.5f * v * (1.0f + verf(v * 0.70710678f)));
		memcpy(x + i, buf, (n - i) * sizeof(float));
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

/*
 * One row of LayerNorm: y (C) = LayerNorm(x + r), r NULL for none; y may
 * be x.  The mean and the variance are summed in double, in VL running
 * sums (one long chain of additions was most of its time).
 */
INLINE void
lnorm_body(float *y, const float *x, const float *r, const float *g,
    const float *b, int C, float eps)
{
	double s[VL] = { 0 }, mean = 0, var = 0;
	int j;

	/* pass 1: the sum (into y) and its mean */
	for (j = 0; j + VL <= C; j += VL) {
		vf v = r ? vload(x + j) + vload(r + j) : vload(x + j);
		vstore(y + j, v);
		for (int k = 0; k < VL; k++)
			s[k] += v[k];
	}
	for (; j < C; j++)
		s[0] += y[j] = r ? x[j] + r[j] : x[j];
	for (int k = 0; k < VL; k++) {
		mean += s[k];
		s[k] = 0;
	}
	mean /= C;
	/* pass 2: the variance about the mean */
	for (j = 0; j + VL <= C; j += VL)
		for (int k = 0; k < VL; k++) {
			double d = y[j + k] - mean;
			s[k] += d * d;
		}
	for (; j < C; j++)
		s[0] += (y[j] - mean) * (y[j] - mean);
	for (int k = 0; k < VL; k++)
		var += s[k];
	var /= C;
	/* pass 3: normalise, scale, shift */
	float rstd = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
	for (j = 0; j + VL <= C; j += VL)
		vstore(y + j, (vload(y + j) - m) * rstd * vload(g + j) +
		    vload(b + j));
	for (; j < C; j++)
		y[j] = (y[j] - m) * rstd * g[j] + b[j];
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

/* Row-wise softmax of p (n, T), the row max subtracted first. */
INLINE void
softmax_body(float *p, int n, int T)
{
	float buf[VL];

	for (int i = 0; i < n; i++) {
		float *row = p + (size_t)i * T, max = row[0], sum = 0;
		vf vs = { 0 };
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
		/* pass 2: exp and the sum, in VL running sums */
		for (j = 0; j + VL <= T; j += VL) {
			vf e = vexp(vload(row + j) - max);
			vstore(row + j, e);
			vs += e;
		}
		if (j < T) {
			for (int k = 0; k < VL; k++)
				buf[k] = j + k < T ? row[j + k] - max : -1e30f;
			vf e = vexp(vload(buf));
			vstore(buf, e);
			memcpy(row + j, buf, (T - j) * sizeof(float));
			vs += e;	/* exp(-1e30) is 0 */
		}
		for (int k = 0; k < VL; k++)
			sum += vs[k];
		/* pass 3: normalise */
		vf vsum = vs - vs + sum;
		for (j = 0; j + VL <= T; j += VL)
			vstore(row + j, vload(row + j) / vsum);
		for (; j < T; j++)
			row[j] /= sum;
	}
}

/*
 * One copy of each for any x86-64 and one for AVX2, chosen once at run
 * time (HEADCOUNT_NOAVX2 set: the first, for tests); elsewhere the first.
 */
#if defined(__x86_64__) || defined(__i386__)
#define HAVE_AVX2	1
#define AVX2		__attribute__((target("avx2")))
#endif

static void gelu_any(float *x, size_t n) { gelu_body(x, n); }
static void gelu_grad_any(float *d, const float *x, size_t n)
    { gelu_grad_body(d, x, n); }
static void softmax_any(float *p, int n, int T) { softmax_body(p, n, T); }
static void lnorm_any(float *y, const float *x, const float *r,
    const float *g, const float *b, int C, float eps)
    { lnorm_body(y, x, r, g, b, C, eps); }
static void erf_any(float *y, const float *x, size_t n) { map_body(y, x, n, 0); }
static void exp_any(float *y, const float *x, size_t n) { map_body(y, x, n, 1); }
#ifdef HAVE_AVX2
AVX2 static void gelu_avx2(float *x, size_t n) { gelu_body(x, n); }
AVX2 static void gelu_grad_avx2(float *d, const float *x, size_t n)
    { gelu_grad_body(d, x, n); }
AVX2 static void softmax_avx2(float *p, int n, int T)
    { softmax_body(p, n, T); }
AVX2 static void lnorm_avx2(float *y, const float *x, const float *r,
    const float *g, const float *b, int C, float eps)
    { lnorm_body(y, x, r, g, b, C, eps); }
AVX2 static void erf_avx2(float *y, const float *x, size_t n)
    { map_body(y, x, n, 0); }
AVX2 static void exp_avx2(float *y, const float *x, size_t n)
    { map_body(y, x, n, 1); }
#endif

static struct {
	void	(*gelu)(float *, size_t);
	void	(*gelu_grad)(float *, const float *, size_t);
	void	(*softmax)(float *, int, int);
	void	(*lnorm)(float *, const float *, const float *, const float *,
	    const float *, int, float);
	void	(*erf)(float *, const float *, size_t);
	void	(*exp)(float *, const float *, size_t);
	const char *name;
} vm = { gelu_any, gelu_grad_any, softmax_any, lnorm_any, erf_any, exp_any,
    "x86-64" };
static pthread_once_t vm_once = PTHREAD_ONCE_INIT;

static void
vm_init(void)
{
#ifdef HAVE_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") &&
	    getenv("HEADCOUNT_NOAVX2") == NULL) {
		vm.gelu = gelu_avx2;
		vm.gelu_grad = gelu_grad_avx2;
		vm.softmax = softmax_avx2;
		vm.lnorm = lnorm_avx2;
		vm.erf = erf_avx2;
		vm.exp = exp_avx2;
		vm.name = "AVX2";
	}
#endif
}

void
bert_gelu(float *x, size_t n)
{
	pthread_once(&vm_once, vm_init);
	vm.gelu(x, n);
}

void
bert_gelu_grad(float *d, const float *x, size_t n)
{
	pthread_once(&vm_once, vm_init);
	vm.gelu_grad(d, x, n);
}

void
bert_erf(float *y, const float *x, size_t n)
{
	pthread_once(&vm_once, vm_init);
	vm.erf(y, x, n);
}

void
bert_exp(float *y, const float *x, size_t n)
{
	pthread_once(&vm_once, vm_init);
	vm.exp(y, x, n);
}

const char *
bert_simd(void)
{
	pthread_once(&vm_once, vm_init);
	return vm.name;
}

/* x (N, F) = GELU(x), ROWS rows a task */
struct gelu {
	float	*x;
	int	 N, F;
};

static void
gelu_task(void *arg, int t)
{
	const struct gelu *a = arg;
	int end = (t + 1) * ROWS < a->N ? (t + 1) * ROWS : a->N;

	/* row by row, so that a row's elements take the same lanes */
	for (int i = t * ROWS; i < end; i++)
		vm.gelu(a->x + (size_t)i * a->F, a->F);
}

static void
gelu(float *x, int N, int F)
{
	struct gelu a = { x, N, F };

	parallel((N + ROWS - 1) / ROWS, gelu_task, &a);
}

static void
lnorm_task(void *arg, int t)
{
	const struct lnorm *a = arg;
	int C = a->C, end = (t + 1) * ROWS < a->N ? (t + 1) * ROWS : a->N;

	for (int i = t * ROWS; i < end; i++)
		vm.lnorm(a->y + (size_t)i * C, a->x + (size_t)i * C,
		    a->r ? a->r + (size_t)i * C : NULL, a->g, a->b, C, a->eps);
}

static void
add_layernorm(float *y, const float *x, const float *r, const float *g,
    const float *b, int N, int C, float eps)
{
	struct lnorm a = { y, x, r, g, b, N, C, eps };

	parallel((N + ROWS - 1) / ROWS, lnorm_task, &a);
}

/* The dense weights of layer t / 4 packed for gemm.c, a task of the pool */
static void
pack_task(void *arg, int t)
{
	struct bert *m = arg;
	struct bert_layer *w = &m->layer[t / 4];
	int C = m->cfg.C, F = m->cfg.F;

	if (pool.bf) {
		const float *src[4] = { w->qkvw, w->aow, w->iw, w->ow };
		int out[4] = { 3 * C, C, F, C }, in[4] = { C, C, C, F };
		int k = t % 4;

		m->bfw[t] = xreallocarray(NULL, gemmbf_size(out[k], in[k]),
		    sizeof(uint16_t));
		gemmbf_pack(m->bfw[t], src[k], out[k], in[k]);
		return;
	}
	switch (t % 4) {
	case 0: gemm_pack(w->qkvw, 3 * C, C); break;
	case 1: gemm_pack(w->aow, C, C); break;
	case 2: gemm_pack(w->iw, F, C); break;
	case 3: gemm_pack(w->ow, C, F); break;
	}
}

void
bert_run_init(struct bert_run *r, struct bert *m)
{
	pthread_once(&pool_once, pool_init);
	pthread_once(&vm_once, vm_init);
	if (pool.bf && m->bfw == NULL) {
		m->bfw = xcalloc(4 * m->cfg.L, sizeof(*m->bfw));
		parallel(4 * m->cfg.L, pack_task, m);
	} else if (!pool.bf && pool.gemm && !m->packed) {
		parallel(4 * m->cfg.L, pack_task, m);
		m->packed = 1;
	}
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->xs = xcalloc(m->cfg.L + 1, sizeof(float *));
	r->xcap = xcalloc(m->cfg.L + 1, sizeof(size_t));
}

void
bert_run_release(struct bert_run *r)
{
	if (r->xs != NULL)
		for (int l = 0; l <= r->m->cfg.L; l++)
			free(r->xs[l]);
	free(r->xs);
	free(r->xcap);
	free(r->T);
	free(r->off);
	free(r->aoff);
	free(r->ids);
	free(r->seg);
	free(r->offs);
	free(r->qkv);
	free(r->ctx);
	free(r->h1);
	free(r->ff);
	free(r->y[0]);
	free(r->y[1]);
	free(r->probs);
	free(r->kv);
	free(r->cls);
	free(r->attn);
	free(r->pooled);
	free(r->logits);
	memset(r, 0, sizeof(*r));
}

/*
 * Make room for B sequences of Np rows (padding included), the longest
 * maxT.  The layers' inputs xs are allocated as they are first written
 * (xs_at): a run whose activations are the caller's needs none of them.
 */
static void
reserve(struct bert_run *r, int B, int Np, int maxT)
{
	const struct bert_config *c = &r->m->cfg;
	size_t C = c->C;

	if ((size_t)Np > r->capN) {
		r->qkv = xreallocarray(r->qkv, Np * 3 * C, sizeof(float));
		r->ctx = xreallocarray(r->ctx, Np * C, sizeof(float));
		r->h1 = xreallocarray(r->h1, Np * C, sizeof(float));
		r->ff = xreallocarray(r->ff, (size_t)Np * c->F, sizeof(float));
		r->ids = xreallocarray(r->ids, Np, sizeof(int));
		r->seg = xreallocarray(r->seg, Np, sizeof(int));
		r->capN = Np;
	}
	if ((size_t)B > r->capB) {
		r->T = xreallocarray(r->T, B, sizeof(int));
		r->off = xreallocarray(r->off, B + 1, sizeof(int));
		r->aoff = xreallocarray(r->aoff, B + 1, sizeof(size_t));
		r->offs = xreallocarray(r->offs, B, sizeof(*r->offs));
		r->pooled = xreallocarray(r->pooled, B * C, sizeof(float));
		r->cls = xreallocarray(r->cls, 2 * B * C, sizeof(float));
		r->logits = xreallocarray(r->logits, (size_t)B *
		    (c->nlabels ? c->nlabels : 1), sizeof(float));
		r->capB = B;
	}
	if ((size_t)maxT > r->capT) {
		/* one sequence's (T, T) per thread */
		r->probs = xreallocarray(r->probs, (size_t)pool.n * maxT *
		    maxT, sizeof(float));
		r->kv = xreallocarray(r->kv, (size_t)pool.n * maxT,
		    c->C / c->H * sizeof(float));
		r->capT = maxT;
	}
}

/* xs[l], with room for the batch; y[0] and y[1] as xs[-1] and xs[-2] */
static float *
xs_at(struct bert_run *r, int l)
{
	size_t C = r->m->cfg.C, *cap = l >= 0 ? &r->xcap[l] : &r->ycap[-l - 1];
	float **p = l >= 0 ? &r->xs[l] : &r->y[-l - 1];

	if (*cap < r->capN) {
		*p = xreallocarray(*p, r->capN * C, sizeof(float));
		*cap = r->capN;
	}
	return *p;
}

/* Zero the rows of y (Np, C) between sequences: never read back. */
static void
pad_zero(struct bert_run *r, float *y, int C)
{
	for (int b = 0; b < r->B; b++) {
		int end = r->off[b] + r->T[b];
		memset(y + (size_t)end * C, 0, (size_t)(r->off[b + 1] - end) *
		    C * sizeof(float));
	}
}

int
bert_run_pack(struct bert_run *r, int B, const int *const *ids,
    const int *const *seg, const int *T, char *err, size_t errlen)
{
	const struct bert_config *c = &r->m->cfg;
	int N = 0, maxT = 0;

	for (int b = 0; b < B; b++) {
		if (T[b] < 1) {
			snprintf(err, errlen, "no tokens");
			return -1;
		}
		if (T[b] > c->P) {
			snprintf(err, errlen, "%d tokens, over the model's "
			    "max_position_embeddings %d", T[b], c->P);
			return -1;
		}
		for (int i = 0; i < T[b]; i++) {
			if (ids[b][i] < 0 || ids[b][i] >= c->V) {
				snprintf(err, errlen, "'ids'[%d] is %d, outside "
				    "the vocabulary of %d", i, ids[b][i], c->V);
				return -1;
			}
			if (seg && seg[b] && (seg[b][i] < 0 ||
			    seg[b][i] >= c->S)) {
				snprintf(err, errlen, "'seg'[%d] is %d, outside "
				    "the %d token types", i, seg[b][i], c->S);
				return -1;
			}
		}
		if (N > INT32_MAX / 2 - MAXUNIT - T[b] || b > INT32_MAX /
		    2 / MAXUNIT) {
			snprintf(err, errlen, "too many tokens in one batch");
			return -1;
		}
		N += T[b];
		if (T[b] > maxT)
			maxT = T[b];
	}
	/* each sequence starts on a tile: up to unit - 1 rows between */
	reserve(r, B, N + B * (pool.unit - 1), maxT);
	r->B = B;
	r->N = N;
	r->off[0] = 0;
	r->aoff[0] = 0;
	for (int b = 0; b < B; b++) {
		r->T[b] = T[b];
		r->off[b + 1] = (r->off[b] + T[b] + pool.unit - 1) /
		    pool.unit * pool.unit;
		r->aoff[b + 1] = r->aoff[b] +
		    (size_t)c->L * c->H * T[b] * T[b];
		for (int i = 0; i < T[b]; i++) {
			r->ids[r->off[b] + i] = ids[b][i];
			r->seg[r->off[b] + i] = seg && seg[b] ? seg[b][i] : 0;
		}
	}
	r->Np = r->off[B];
	if (r->want_attn && r->aoff[B] > r->capA) {
		r->attn = xreallocarray(r->attn, r->aoff[B], sizeof(float));
		r->capA = r->aoff[B];
	}
	return 0;
}

void
bert_embed(struct bert_run *r, float *x)
{
	const struct bert *m = r->m;
	int C = m->cfg.C;

	/* word + position + token type, then LayerNorm */
	for (int b = 0; b < r->B; b++)
		for (int i = 0; i < r->T[b]; i++) {
			int n = r->off[b] + i;
			const float *w = m->wte + (size_t)r->ids[n] * C;
			const float *p = m->wpe + (size_t)i * C;
			const float *t = m->tte + (size_t)r->seg[n] * C;
			for (int j = 0; j < C; j++)
				x[(size_t)n * C + j] = w[j] + p[j] + t[j];
		}
	pad_zero(r, x, C);
	add_layernorm(x, x, NULL, m->elng, m->elnb, r->Np, C, m->cfg.eps);
}

int
bert_run_batch(struct bert_run *r, int B, const int *const *ids,
    const int *const *seg, const int *T, char *err, size_t errlen)
{
	if (bert_run_pack(r, B, ids, seg, T, err, errlen) == -1)
		return -1;
	bert_embed(r, xs_at(r, 0));
	return 0;
}

int
bert_run_input(struct bert_run *r, const int *ids, const int *seg, size_t T,
    char *err, size_t errlen)
{
	if (T > (size_t)r->m->cfg.P) {
		snprintf(err, errlen, "%zu tokens, over the model's "
		    "max_position_embeddings %d", T, r->m->cfg.P);
		return -1;
	}
	int t = (int)T;
	return bert_run_batch(r, 1, &ids, &seg, &t, err, errlen);
}

/*
 * Attention of one sequence and head, a task of the pool.  Head h's
 * queries of the batch's row i are at qkv + i * rs + h * hs, its keys
 * H * hs and its values 2 * H * hs further.
 */
struct attend {
	struct bert_run		*r;
	float			*ctx;
	int			 l, mode;
	const struct headset	*const *off;
	size_t			 rs, hs;
	int			 cls;	/* [CLS]'s query alone, from r->cls */
};

/*
 * Where layer l's queries, keys and values are (a's rs, hs and cls) and
 * whether a head's are in one piece (returned): see bert_qkv.
 */
static int
qkv_layout(struct bert_run *r, int l, struct attend *a)
{
	const struct bert_config *c = &r->m->cfg;
	int C = c->C, D = C / c->H, split;

	/*
	 * qkv = x . [Wq; Wk; Wv]^T + b: (Np, 3C), or with gemm.c, where a
	 * head is whole panels, (3H, Np, D), so that attention reads each
	 * head's queries, keys and values in one piece each
	 */
	a->rs = 3 * C;
	a->hs = D;
	if ((split = pool.bf ? D % GEMMBF_PANEL == 0 :
	    pool.gemm && D % GEMM_PANEL == 0)) {
		a->rs = D;
		a->hs = (size_t)r->Np * D;
	}
	/*
	 * Where only [CLS] goes on and its attention is not kept, the other
	 * rows' queries are not needed: keys and values of every row, the
	 * query of [CLS] alone (in r->cls, after the [CLS] rows of x).  With
	 * gemm.c, whose outputs' bits do not depend on the others' (bert.h),
	 * and the queries' panels apart from the keys'.
	 */
	a->cls = l == c->L && r->cls_only && !r->want_attn && (pool.bf ?
	    C % GEMMBF_PANEL == 0 : pool.gemm && C % GEMM_PANEL == 0);
	return split;
}

/* A thread's buffer for a head's keys or values in bf16, n at least. */
static uint16_t *
bfbuf(size_t n)
{
	static _Thread_local uint16_t *b;
	static _Thread_local size_t cap;

	if (n > cap) {
		free(b);
		b = xreallocarray(NULL, n, sizeof(uint16_t));
		cap = n;
	}
	return b;
}

static void
attend_task(void *arg, int t)
{
	const struct attend *a = arg;
	struct bert_run *r = a->r;
	const struct bert_config *c = &r->m->cfg;
	int C = c->C, H = c->H, D = C / H, b = t / H, h = t % H, T = r->T[b];
	size_t rs = a->rs, hs = a->hs;
	const float *q = r->qkv + (size_t)r->off[b] * rs + h * hs;
	const float *k = q + H * hs, *v = k + H * hs;
	/* the queries: nq rows lq floats apart */
	const float *qr = a->cls ? r->cls + ((size_t)r->B + b) * C + h * D : q;
	size_t lq = a->cls ? (size_t)C : rs;
	int nq = a->cls ? 1 : T;
	float *ctx = a->ctx + (size_t)r->off[b] * C;
	float *p = r->want_attn ? r->attn + r->aoff[b] +
	    ((size_t)(a->l - 1) * H + h) * T * T :
	    r->probs + (size_t)tid * r->capT * r->capT;
	float *kv = r->kv + (size_t)tid * r->capT * D;	/* k_h, then v_h */
	float scale = 1.0f / sqrtf((float)D);

	if (a->off == NULL || a->off[b] == NULL ||
	    !headset_has(a->off[b], a->l, h + 1)) {
		/* p (nq, T) = softmax(q_h (nq, D) . k_h (T, D)^T / sqrt(D)) */
		if (pool.bf) {
			uint16_t *kb = bfbuf(gemmbf_size(T, D));

			gemmbf_pack_rows(kb, k, rs, T, D, scale);
			gemmbf_any(p, T, qr, lq, kb, nq, T, D);
		} else if (pool.gemm) {
			gemm_pack_rows(kv, k, rs, T, D, scale);
			gemm_any(p, T, qr, lq, kv, nq, T, D);
		} else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
			    nq, T, D, scale, qr, lq, k, rs, 0.0f, p, T);
		vm.softmax(p, nq, T);
	} else {
		float v = a->mode == BERT_UNIFORM ? 1.0f / T : 0;
		for (size_t i = 0; i < (size_t)nq * T; i++)
			p[i] = v;
	}
	/* ctx_h (nq, D) = p (nq, T) . v_h (T, D) */
	if (pool.bf) {
		uint16_t *vb = bfbuf(gemmbf_size(D, T));

		gemmbf_pack_cols(vb, v, rs, D, T);
		gemmbf_any(ctx + h * D, C, p, T, vb, nq, D, T);
	} else if (pool.gemm) {
		gemm_pack_cols(kv, v, rs, D, T);
		gemm_any(ctx + h * D, C, p, T, kv, nq, D, T);
	} else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D,
		    T, 1.0f, p, T, v, rs, 0.0f, ctx + h * D, C);
}

void
bert_qkv(struct bert_run *r, int l, const float *x)
{
	const struct bert_config *c = &r->m->cfg;
	const struct bert_layer *w = &r->m->layer[l - 1];
	int C = c->C, D = C / c->H, split;
	struct attend a;

	split = qkv_layout(r, l, &a);
	if (a.cls) {
		linear_split(r->m, r->qkv + c->H * a.hs, a.rs, split ? D :
		    2 * C, split ? a.hs : 0, x, w->qkvw + (size_t)C * C,
		    w->qkvb + C, r->Np, C, 2 * C);
		for (int b = 0; b < r->B; b++)
			memcpy(r->cls + (size_t)b * C, x + (size_t)r->off[b] *
			    C, C * sizeof(float));
		linear(r->m, r->cls + (size_t)r->B * C, r->cls, w->qkvw,
		    w->qkvb, r->B, C, C);
	} else if (split)
		linear_split(r->m, r->qkv, D, D, a.hs, x, w->qkvw, w->qkvb,
		    r->Np, C, 3 * C);
	else
		linear(r->m, r->qkv, x, w->qkvw, w->qkvb, r->Np, C, 3 * C);
}

void
bert_attend(struct bert_run *r, int l, float *ctx,
    const struct headset *const *off, int mode)
{
	struct attend a;

	qkv_layout(r, l, &a);
	a.r = r;
	a.ctx = ctx;
	a.l = l;
	a.mode = mode;
	a.off = off;
	/* ctx (N, C): every sequence and head on its own */
	parallel(r->B * r->m->cfg.H, attend_task, &a);
	pad_zero(r, ctx, r->m->cfg.C);
}

/*
 * A layer after its attention, on N rows of ctx and of the layer's input x:
 * h1 = LayerNorm(ctx . Wo^T + bo + x),
 * y = LayerNorm(gelu(h1 . Wi^T + bi) . Wo2^T + bo2 + h1).
 */
static void
sublayers(struct bert_run *r, const struct bert_layer *w, float *y,
    const float *ctx, const float *x, int N)
{
	const struct bert_config *c = &r->m->cfg;
	int C = c->C;

	linear(r->m, r->h1, ctx, w->aow, w->aob, N, C, C);
	add_layernorm(r->h1, r->h1, x, w->ln1g, w->ln1b, N, C, c->eps);
	linear(r->m, r->ff, r->h1, w->iw, w->ib, N, C, c->F);
	gelu(r->ff, N, c->F);
	linear(r->m, y, r->ff, w->ow, w->ob, N, c->F, C);
	add_layernorm(y, y, r->h1, w->ln2g, w->ln2b, N, C, c->eps);
}

/*
 * The rest of the last layer for the [CLS] rows alone, when nothing else of
 * it is wanted: sequence b's [CLS] row moves to row b * unit of a batch of
 * B tiles, zeros around it, and goes through the output projection and the
 * FFN there.  A row's bits do not depend on the tile it is in (bert.h), so
 * [CLS] comes out as in the whole batch, for a tile instead of T rows.
 * y's other rows are set to 0.
 */
static void
cls_rows(struct bert_run *r, const struct bert_layer *w, float *y,
    float *ctx, const float *x)
{
	const struct bert_config *c = &r->m->cfg;
	size_t C = c->C, u = pool.unit;
	int B = r->B, Nc = B * pool.unit;
	float *xc = r->qkv, *yc = r->qkv + (size_t)Nc * C;

	/* ctx in place (row b * u <= off[b]: no row is overwritten unread) */
	memset(xc, 0, (size_t)Nc * C * sizeof(float));
	for (int b = 0; b < B; b++) {
		float *d = ctx + b * u * C;
		memmove(d, ctx + (size_t)r->off[b] * C, C * sizeof(float));
		memset(d + C, 0, (u - 1) * C * sizeof(float));
		memcpy(xc + b * u * C, x + (size_t)r->off[b] * C,
		    C * sizeof(float));
	}
	sublayers(r, w, yc, ctx, xc, Nc);
	memset(y, 0, (size_t)r->Np * C * sizeof(float));
	for (int b = 0; b < B; b++)
		memcpy(y + (size_t)r->off[b] * C, yc + b * u * C,
		    C * sizeof(float));
}

void
bert_out(struct bert_run *r, int l, float *y, float *ctx, const float *x)
{
	const struct bert_layer *w = &r->m->layer[l - 1];

	if (l == r->m->cfg.L && r->cls_only)
		cls_rows(r, w, y, ctx, x);
	else
		sublayers(r, w, y, ctx, x, r->Np);
}

void
bert_layer(struct bert_run *r, int l, float *y, const float *x,
    const struct headset *const *off, int mode)
{
	bert_qkv(r, l, x);
	bert_attend(r, l, r->ctx, off, mode);
	bert_out(r, l, y, r->ctx, x);
}

void
bert_run_layers(struct bert_run *r, int from, const struct headset *off,
    int mode, int keep)
{
	int L = r->m->cfg.L;
	const float *x = r->xs[from - 1];

	for (int b = 0; b < r->B; b++)
		r->offs[b] = off;
	for (int l = from; l <= L; l++) {
		float *y = xs_at(r, keep || l == L ? l : -1 - (l & 1));
		bert_layer(r, l, y, x, off ? r->offs : NULL, mode);
		x = y;
	}
}

void
bert_head(struct bert_run *r, const float *x, float *pooled, float *logits)
{
	const struct bert *m = r->m;
	int C = m->cfg.C, nl = m->cfg.nlabels;

	if (m->pw == NULL)
		return;
	/* per sequence, so that packing changes nothing */
	for (int b = 0; b < r->B; b++) {
		/* pooled (C) = tanh([CLS] . Wp^T + bp), [CLS] the first token */
		float *p = pooled + (size_t)b * C;
		const float *cls = x + (size_t)r->off[b] * C;
		memcpy(p, m->pb, C * sizeof(float));
		cblas_sgemv(CblasRowMajor, CblasNoTrans, C, C, 1.0f, m->pw, C,
		    cls, 1, 1.0f, p, 1);
		for (int j = 0; j < C; j++)
			p[j] = tanhf(p[j]);
		if (nl == 0)
			continue;
		/* logits (nl) = pooled . Wc^T + bc */
		float *lg = logits + (size_t)b * nl;
		memcpy(lg, m->cb, nl * sizeof(float));
		cblas_sgemv(CblasRowMajor, CblasNoTrans, nl, C, 1.0f, m->cw, C,
		    p, 1, 1.0f, lg, 1);
	}
}

void
bert_run_head(struct bert_run *r, float *logits)
{
	int nl = r->m->cfg.nlabels;

	bert_head(r, r->xs[r->m->cfg.L], r->pooled, r->logits);
	if (r->m->pw != NULL && nl > 0 && logits != NULL)
		memcpy(logits, r->logits, (size_t)r->B * nl * sizeof(float));
}

const float *
bert_run_attn(const struct bert_run *r, int b)
{
	return r->attn + r->aoff[b];
}

double
bert_flops(const struct bert_config *c, int T)
{
	double C = c->C, F = c->F;

	/* per layer: qkv, scores, context, out, FFN up and down; 2 per FMA */
	return c->L * (2.0 * T * C * 3 * C + 2.0 * T * T * C * 2 +
	    2.0 * T * C * C + 2.0 * 2 * T * C * F);
}
