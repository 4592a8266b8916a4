/*
 * bert.c -- BERT's forward pass in float32: gemm.c's kernel for the
 * matrix products where the CPU has AVX2 and FMA, OpenBLAS elsewhere;
 * loops on 8 floats at once for LayerNorm, softmax and GELU (with an erf
 * and an exp of our own).  Letters as in llm.c: L layers, H heads, T
 * tokens of a sequence, N tokens of the batch, C hidden, D = C / H per
 * head, F the FFN width.
 */
#include <err.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <cblas.h>

#include "bert.h"
#include "gemm.h"
#include "gemmbf.h"
#include "train.h"
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

static void train_reserve(struct bert_run *r);
static void droprows(struct bert_run *r, float *x, int N, const int *urow,
    int C, uint64_t key);
static void sublayers_keep(struct bert_run *r, int l, float *y,
    const float *ctx, const float *x, int N, const int *urow);

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

void
bert_parallel(int n, void (*fn)(void *, int), void *arg)
{
	pthread_once(&pool_once, pool_init);
	parallel(n, fn, arg);
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

/* The dense weight k of layer l (0 qkv, 1 attention out, 2 FFN in, 3 out) */
static float *
dense_of(const struct bert *m, int l, int k)
{
	const struct bert_layer *w = &m->layer[l];

	return k == 0 ? w->qkvw : k == 1 ? w->aow : k == 2 ? w->iw : w->ow;
}

/* Outputs and inputs of dense weight k */
static void
dense_shape(const struct bert_config *c, int k, int *out, int *in)
{
	*out = k == 0 ? 3 * c->C : k == 2 ? c->F : c->C;
	*in = k == 3 ? c->F : c->C;
}

/*
 * The bf16 copy of the dense weight that w points into (at a row that
 * starts a panel), for gemmbf.c; m's weights are bf16-packed.
 */
static const uint16_t *
bfof(const struct bert *m, const float *w)
{
	for (int t = 0; t < 4 * m->cfg.L; t++) {
		const float *base = dense_of(m, t / 4, t % 4);
		int out, in;

		dense_shape(&m->cfg, t % 4, &out, &in);
		if (w >= base && w < base + (size_t)out * in)
			return m->bfw[t] + (size_t)(w - base) / in *
			    ((in + 1) / 2 * 2);
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
	float		*pre, *mr;	/* kept: sums, (mean, rstd) */
};

#define ROWS	32	/* rows of a LayerNorm or GELU task */

/* ---- vector math: GELU (erf), softmax (exp), LayerNorm ---- */

/*
 * vmath.h: erf, exp, tanh, the element-wise GELUs, softmax and LayerNorm
 * on VL (8) lanes; vmath512.c has them on 16 lanes, the same bits.
 * Below, the backward bodies whose sums run in VL lanes, which only 8
 * keeps.
 */
#include "vmath.h"

/*
 * LayerNorm's backward for one row, from its input x (C), mean m and rstd
 * s: with xh = (x - m) s and u = g dy, dx (C) = s (u - mean(u) - xh
 * mean(u xh)); dg (C) += dy xh and db (C) += dy.  The means in float, in
 * VL running sums.
 */
INLINE void
lnback_body(float *dx, float *dg, float *db, const float *dy,
    const float *x, float m, float s, const float *g, int C)
{
	vf su = { 0 }, sx = { 0 };
	float mu = 0, mx = 0;
	int j;

	/* pass 1: the two means */
	for (j = 0; j + VL <= C; j += VL) {
		vf u = vload(g + j) * vload(dy + j);
		su += u;
		sx += u * ((vload(x + j) - m) * s);
	}
	for (int k = 0; k < VL; k++) {
		mu += su[k];
		mx += sx[k];
	}
	for (; j < C; j++) {
		float u = g[j] * dy[j];
		mu += u;
		mx += u * ((x[j] - m) * s);
	}
	mu /= C;
	mx /= C;
	/* pass 2: dx, and the sums of dg and db */
	for (j = 0; j + VL <= C; j += VL) {
		vf xh = (vload(x + j) - m) * s, d = vload(dy + j);
		vstore(dx + j, s * (vload(g + j) * d - mu - xh * mx));
		vstore(dg + j, vload(dg + j) + d * xh);
		vstore(db + j, vload(db + j) + d);
	}
	for (; j < C; j++) {
		float xh = (x[j] - m) * s;
		dx[j] = s * (g[j] * dy[j] - mu - xh * mx);
		dg[j] += dy[j] * xh;
		db[j] += dy[j];
	}
}

/*
 * Softmax's backward for n rows of T: with p the probabilities and d the
 * gradient of them, d_ij = scale p_ij (d_ij - sum_k p_ik d_ik), in place.
 */
INLINE void
softback_body(float *d, const float *p, int n, int T, float scale)
{
	for (int i = 0; i < n; i++) {
		const float *pi = p + (size_t)i * T;
		float *di = d + (size_t)i * T, dot = 0;
		vf vs = { 0 };
		int j;

		for (j = 0; j + VL <= T; j += VL)
			vs += vload(pi + j) * vload(di + j);
		for (int k = 0; k < VL; k++)
			dot += vs[k];
		for (; j < T; j++)
			dot += pi[j] * di[j];
		for (j = 0; j + VL <= T; j += VL)
			vstore(di + j, scale * vload(pi + j) *
			    (vload(di + j) - dot));
		for (; j < T; j++)
			di[j] = scale * pi[j] * (di[j] - dot);
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

VMATH_FUNCS(any, static)
static void lnback_any(float *dx, float *dg, float *db, const float *dy,
    const float *x, float m, float s, const float *g, int C)
    { lnback_body(dx, dg, db, dy, x, m, s, g, C); }
static void softback_any(float *d, const float *p, int n, int T, float sc)
    { softback_body(d, p, n, T, sc); }
#ifdef HAVE_AVX2
VMATH_FUNCS(avx2, AVX2 static)
AVX2 static void lnback_avx2(float *dx, float *dg, float *db, const float *dy,
    const float *x, float m, float s, const float *g, int C)
    { lnback_body(dx, dg, db, dy, x, m, s, g, C); }
AVX2 static void softback_avx2(float *d, const float *p, int n, int T,
    float sc)
    { softback_body(d, p, n, T, sc); }
#endif

static struct {
	void	(*gelu)(float *, const float *, size_t);
	void	(*gelu_grad)(float *, const float *, size_t);
	void	(*softmax)(float *, int, int);
	void	(*lnorm)(float *, float *, const float *, const float *,
	    const float *, const float *, int, float, float *);
	void	(*lnback)(float *, float *, float *, const float *,
	    const float *, float, float, const float *, int);
	void	(*softback)(float *, const float *, int, int, float);
	void	(*erf)(float *, const float *, size_t);
	void	(*exp)(float *, const float *, size_t);
	const char *name;
	void	(*gelu_tanh)(float *, const float *, size_t);
	void	(*gelu_tanh_grad)(float *, const float *, size_t);
} vm = { gelu_any, gelu_grad_any, softmax_any, lnorm_any, lnback_any,
    softback_any, erf_any, exp_any, "x86-64", gelu_tanh_any,
    gelu_tanh_grad_any };
static pthread_once_t vm_once = PTHREAD_ONCE_INIT;

static void
vm_init(void)
{
#ifdef HAVE_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") &&
	    getenv("HEADCOUNT_NOAVX2") == NULL) {
		/* with AVX-512, the element-wise ones on 16 lanes */
		int w = __builtin_cpu_supports("avx512f");

		vm.gelu = w ? gelu_512 : gelu_avx2;
		vm.gelu_grad = w ? gelu_grad_512 : gelu_grad_avx2;
		vm.softmax = w ? softmax_512 : softmax_avx2;
		vm.lnorm = w ? lnorm_512 : lnorm_avx2;
		vm.lnback = lnback_avx2;
		vm.softback = softback_avx2;
		vm.erf = w ? erf_512 : erf_avx2;
		vm.exp = w ? exp_512 : exp_avx2;
		vm.name = w ? "AVX-512" : "AVX2";
		vm.gelu_tanh = w ? gelu_tanh_512 : gelu_tanh_avx2;
		vm.gelu_tanh_grad = w ? gelu_tanh_grad_512 :
		    gelu_tanh_grad_avx2;
	}
#endif
}

void
bert_gelu(float *x, size_t n)
{
	pthread_once(&vm_once, vm_init);
	vm.gelu(x, x, n);
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

void
bert_softmax(float *p, int n, int T)
{
	pthread_once(&vm_once, vm_init);
	vm.softmax(p, n, T);
}

void
bert_layernorm(float *y, const float *x, const float *g, const float *b,
    int C, float eps)
{
	pthread_once(&vm_once, vm_init);
	vm.lnorm(y, NULL, x, NULL, g, b, C, eps, NULL);
}

const char *
bert_simd(void)
{
	pthread_once(&vm_once, vm_init);
	return vm.name;
}

/*
 * y (N, F) = GELU(x (N, F)), ROWS rows a task; y may be x.  With d, the
 * backward instead: d (N, F) *= GELU'(x).  GELU is the activation act
 * (ACT_*): the FFN's.
 */
struct gelu {
	float		*y, *d;
	const float	*x;
	int		 N, F, act;
};

/* y (n) = act(x (n)); y may be x.  With d: d (n) *= act'(x (n)). */
static void
act_row(int act, float *y, float *d, const float *x, size_t n)
{
	switch (act) {
	case ACT_GELU:
		d ? vm.gelu_grad(d, x, n) : vm.gelu(y, x, n);
		break;
	case ACT_GELU_TANH:
		d ? vm.gelu_tanh_grad(d, x, n) : vm.gelu_tanh(y, x, n);
		break;
	case ACT_RELU:
		for (size_t j = 0; j < n; j++)
			if (d)
				d[j] = x[j] > 0 ? d[j] : 0.0f;
			else
				y[j] = x[j] > 0 ? x[j] : 0.0f;
		break;
	case ACT_TANH:
		for (size_t j = 0; j < n; j++)
			if (d)
				d[j] *= 1.0f - tanhf(x[j]) * tanhf(x[j]);
			else
				y[j] = tanhf(x[j]);
		break;
	}
}

static void
gelu_task(void *arg, int t)
{
	const struct gelu *a = arg;
	int end = (t + 1) * ROWS < a->N ? (t + 1) * ROWS : a->N;

	/* row by row, so that a row's elements take the same lanes */
	for (int i = t * ROWS; i < end; i++)
		if (a->act != ACT_GELU)
			act_row(a->act, a->y ? a->y + (size_t)i * a->F : NULL,
			    a->d ? a->d + (size_t)i * a->F : NULL, a->x +
			    (size_t)i * a->F, a->F);
		else if (a->d)
			vm.gelu_grad(a->d + (size_t)i * a->F, a->x +
			    (size_t)i * a->F, a->F);
		else
			vm.gelu(a->y + (size_t)i * a->F, a->x +
			    (size_t)i * a->F, a->F);
}

static void
gelu(int act, float *y, const float *x, int N, int F)
{
	struct gelu a = { y, NULL, x, N, F, act };

	parallel((N + ROWS - 1) / ROWS, gelu_task, &a);
}

static void
gelu_back(int act, float *d, const float *x, int N, int F)
{
	struct gelu a = { NULL, d, x, N, F, act };

	parallel((N + ROWS - 1) / ROWS, gelu_task, &a);
}

static void
lnorm_task(void *arg, int t)
{
	const struct lnorm *a = arg;
	int C = a->C, end = (t + 1) * ROWS < a->N ? (t + 1) * ROWS : a->N;
	float mr[2];

	for (int i = t * ROWS; i < end; i++) {
		vm.lnorm(a->y + (size_t)i * C, a->pre ? a->pre + (size_t)i * C :
		    NULL, a->x + (size_t)i * C, a->r ? a->r + (size_t)i * C :
		    NULL, a->g, a->b, C, a->eps, a->mr ? mr : NULL);
		if (a->mr) {
			a->mr[i] = mr[0];
			a->mr[a->N + i] = mr[1];
		}
	}
}

static void
add_layernorm(float *y, const float *x, const float *r, const float *g,
    const float *b, int N, int C, float eps)
{
	struct lnorm a = { y, x, r, g, b, N, C, eps, NULL, NULL };

	parallel((N + ROWS - 1) / ROWS, lnorm_task, &a);
}

/*
 * The same for training: the sum x + r to pre (which may be x), each
 * row's mean and rstd to mr (2, N).
 */
static void
add_layernorm_keep(float *y, float *pre, float *mr, const float *x,
    const float *r, const float *g, const float *b, int N, int C, float eps)
{
	struct lnorm a = { y, x, r, g, b, N, C, eps, pre, mr };

	parallel((N + ROWS - 1) / ROWS, lnorm_task, &a);
}

/* The dense weights of layer t / 4 packed for gemm.c, a task of the pool */
static void
pack_task(void *arg, int t)
{
	struct bert *m = arg;
	struct bert_layer *w = &m->layer[t / 4];
	float *src = dense_of(m, t / 4, t % 4);
	int out, in;

	/* ALBERT: a group's weights are packed once, by its first layer */
	if (t / 4 > 0 && w->qkvw == w[-1].qkvw)
		return;
	dense_shape(&m->cfg, t % 4, &out, &in);
	if (pool.bf) {
		m->bfw[t] = xscratch(NULL, gemmbf_size(out, in),
		    sizeof(uint16_t));
		gemmbf_pack(m->bfw[t], src, out, in);
	} else
		gemm_pack(src, out, in);
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
	free(r->pos);
	free(r->emb);
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

void
bert_drop_dense(struct bert *m)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);

	for (int t = 0; m->bfw != NULL && t < 4 * m->cfg.L; t++) {
		float *w = dense_of(m, t / 4, t % 4);
		int out, in;

		dense_shape(&m->cfg, t % 4, &out, &in);
		/* the whole pages inside the weight: none is shared */
		uintptr_t a = ((uintptr_t)w + pg - 1) & ~(pg - 1);
		uintptr_t b = (uintptr_t)(w + (size_t)out * in) & ~(pg - 1);

		if (b > a && (madvise((void *)a, b - a, MADV_DONTNEED) == -1 ||
		    mprotect((void *)a, b - a, PROT_NONE) == -1))
			err(1, "bert_drop_dense");
	}
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
		r->qkv = xscratch(r->qkv, Np * 3 * C, sizeof(float));
		r->ctx = xscratch(r->ctx, Np * C, sizeof(float));
		r->h1 = xscratch(r->h1, Np * C, sizeof(float));
		r->ff = xscratch(r->ff, (size_t)Np * c->F, sizeof(float));
		r->ids = xreallocarray(r->ids, Np, sizeof(int));
		r->seg = xreallocarray(r->seg, Np, sizeof(int));
		r->pos = xreallocarray(r->pos, Np, sizeof(int));
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
		*p = xscratch(*p, r->capN * C, sizeof(float));
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
		if (T[b] > model_maxlen(c) && c->pos0 == 0) {
			snprintf(err, errlen, "%d tokens, over the model's "
			    "max_position_embeddings %d", T[b], c->P);
			return -1;
		}
		if (T[b] > model_maxlen(c)) {
			snprintf(err, errlen, "%d tokens, over the model's %d "
			    "(max_position_embeddings %d less pad_token_id "
			    "+ 1)", T[b], model_maxlen(c), c->P);
			return -1;
		}
		for (int i = 0; i < T[b]; i++) {
			if (ids[b][i] < 0 || ids[b][i] >= c->V) {
				snprintf(err, errlen, "'ids'[%d] is %d, outside "
				    "the vocabulary of %d", i, ids[b][i], c->V);
				return -1;
			}
			if (c->S > 0 && seg && seg[b] && (seg[b][i] < 0 ||
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
		for (int i = 0, k = 0; i < T[b]; i++) {
			r->ids[r->off[b] + i] = ids[b][i];
			r->seg[r->off[b] + i] = c->S > 0 && seg && seg[b] ?
			    seg[b][i] : 0;
			/*
			 * RoBERTa: pad + 1 + i, counting the tokens that are
			 * not padding; padding at pad
			 */
			k += ids[b][i] != c->pad;
			r->pos[r->off[b] + i] = c->pos0 == 0 ? i :
			    ids[b][i] != c->pad ? c->pad + k : c->pad;
		}
	}
	r->Np = r->off[B];
	if (r->m->epw != NULL && (size_t)r->Np > r->capE) {
		r->emb = xreallocarray(r->emb, (size_t)r->Np,
		    model_emb(c) * sizeof(float));
		r->capE = r->Np;
	}
	if (r->want_attn && r->aoff[B] > r->capA) {
		r->attn = xreallocarray(r->attn, r->aoff[B], sizeof(float));
		r->capA = r->aoff[B];
	}
	if (r->tr)
		train_reserve(r);
	return 0;
}

/*
 * x (Np, C) = o (Np, E) . epw^T + epb, the embeddings' projection, a row a
 * product (sgemv): a row's bits do not depend on its neighbours.  ROWS
 * rows a task; the padding's rows of x are zeroed.
 */
struct proj {
	struct bert_run	*r;
	float		*x;
	const float	*o;
};

static void
proj_task(void *arg, int t)
{
	const struct proj *a = arg;
	const struct bert *m = a->r->m;
	int C = m->cfg.C, E = model_emb(&m->cfg);
	int end = (t + 1) * ROWS < a->r->Np ? (t + 1) * ROWS : a->r->Np;

	for (int n = t * ROWS; n < end; n++) {
		float *y = a->x + (size_t)n * C;

		memcpy(y, m->epb, C * sizeof(float));
		cblas_sgemv(CblasRowMajor, CblasNoTrans, C, E, 1.0f, m->epw, E,
		    a->o + (size_t)n * E, 1, 1.0f, y, 1);
	}
}

static void
project(struct bert_run *r, float *x, const float *o)
{
	struct proj a = { r, x, o };

	parallel((r->Np + ROWS - 1) / ROWS, proj_task, &a);
	pad_zero(r, x, r->m->cfg.C);
}

void
bert_embed(struct bert_run *r, float *x)
{
	const struct bert *m = r->m;
	struct bert_train *tr = r->tr;
	int C = model_emb(&m->cfg);	/* E: C but in ELECTRA and ALBERT */
	/* with a projection, rows of E of their own, then mapped to x */
	float *o = m->epw == NULL ? x : tr ? tr->eo : r->emb;
	float *e = tr ? tr->emb : o;	/* training keeps the sum */

	/* word + position + token type, then LayerNorm */
	for (int b = 0; b < r->B; b++)
		for (int i = 0; i < r->T[b]; i++) {
			int n = r->off[b] + i;
			const float *w = m->wte + (size_t)r->ids[n] * C;
			const float *p = m->wpe + (size_t)r->pos[n] * C, *t;
			if (m->tte == NULL) {	/* DistilBERT */
				for (int j = 0; j < C; j++)
					e[(size_t)n * C + j] = w[j] + p[j];
				continue;
			}
			t = m->tte + (size_t)r->seg[n] * C;
			for (int j = 0; j < C; j++)
				e[(size_t)n * C + j] = w[j] + p[j] + t[j];
		}
	pad_zero(r, e, C);
	if (tr == NULL) {
		add_layernorm(o, o, NULL, m->elng, m->elnb, r->Np, C,
		    m->cfg.eps);
		if (m->epw != NULL)
			project(r, x, o);
		return;
	}
	add_layernorm_keep(o, NULL, tr->eln, e, NULL, m->elng, m->elnb, r->Np,
	    C, m->cfg.eps);
	if (tr->p > 0)
		droprows(r, o, r->Np, tr->urow, C, train_key(tr->seed,
		    tr->step, 0, TRAIN_DROP_EMB));
	if (m->epw != NULL) {
		pad_zero(r, o, C);	/* no share of the projection's dW */
		project(r, x, o);
	}
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

/* Layer l's queries, keys and values: the run's scratch, or kept */
static float *
qkv_of(struct bert_run *r, int l)
{
	return r->tr ? r->tr->a[l - 1].qkv : r->qkv;
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
	const float *q = qkv_of(r, a->l) + (size_t)r->off[b] * rs + h * hs;
	const float *k = q + H * hs, *v = k + H * hs;
	/* the queries: nq rows lq floats apart */
	const float *qr = a->cls ? r->cls + ((size_t)r->B + b) * C + h * D : q;
	size_t lq = a->cls ? (size_t)C : rs;
	int nq = a->cls ? 1 : T;
	float *ctx = a->ctx + (size_t)r->off[b] * C;
	struct bert_train *tr = r->tr;
	float *scratch = r->probs + (size_t)tid * r->capT * r->capT;
	float *p = tr ? tr->a[a->l - 1].att + tr->poff[b] + (size_t)h * T * T :
	    r->want_attn ? r->attn + r->aoff[b] +
	    ((size_t)(a->l - 1) * H + h) * T * T : scratch;
	const float *pv = p;		/* what multiplies the values */
	float *kv = r->kv + (size_t)tid * r->capT * D;	/* k_h, then v_h */
	float scale = 1.0f / sqrtf((float)D), gate;

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
	/* attribution: layer al's probabilities scaled, per sequence */
	if (tr && tr->ascale && a->l == tr->al)
		for (size_t i = 0; i < (size_t)nq * T; i++)
			p[i] *= tr->ascale[b];
	/* training: dropout on the probabilities, to the values only */
	if (tr && tr->p > 0) {
		train_drop(scratch, p, (size_t)nq * T, train_key(tr->seed,
		    tr->step, a->l - 1, TRAIN_DROP_ATT), tr->poff[b] +
		    (size_t)h * T * T, tr->p);
		pv = scratch;
	}
	/* ctx_h (nq, D) = p (nq, T) . v_h (T, D) */
	if (pool.bf) {
		uint16_t *vb = bfbuf(gemmbf_size(D, T));

		gemmbf_pack_cols(vb, v, rs, D, T);
		gemmbf_any(ctx + h * D, C, pv, T, vb, nq, D, T);
	} else if (pool.gemm) {
		gemm_pack_cols(kv, v, rs, D, T);
		gemm_any(ctx + h * D, C, pv, T, kv, nq, D, T);
	} else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D,
		    T, 1.0f, pv, T, v, rs, 0.0f, ctx + h * D, C);
	/* training: the head's gate, as HF's head_mask */
	if (tr && tr->gate && (gate = tr->gate[(a->l - 1) * H + h]) != 1.0f)
		for (int i = 0; i < nq; i++)
			for (int j = 0; j < D; j++)
				ctx[(size_t)i * C + h * D + j] *= gate;
}

void
bert_qkv(struct bert_run *r, int l, const float *x)
{
	const struct bert_config *c = &r->m->cfg;
	const struct bert_layer *w = &r->m->layer[l - 1];
	int C = c->C, D = C / c->H, split;
	struct attend a;

	split = qkv_layout(r, l, &a);
	float *qkv = qkv_of(r, l);
	if (a.cls) {
		linear_split(r->m, qkv + c->H * a.hs, a.rs, split ? D :
		    2 * C, split ? a.hs : 0, x, w->qkvw + (size_t)C * C,
		    w->qkvb + C, r->Np, C, 2 * C);
		for (int b = 0; b < r->B; b++)
			memcpy(r->cls + (size_t)b * C, x + (size_t)r->off[b] *
			    C, C * sizeof(float));
		linear(r->m, r->cls + (size_t)r->B * C, r->cls, w->qkvw,
		    w->qkvb, r->B, C, C);
	} else if (split)
		linear_split(r->m, qkv, D, D, a.hs, x, w->qkvw, w->qkvb,
		    r->Np, C, 3 * C);
	else
		linear(r->m, qkv, x, w->qkvw, w->qkvb, r->Np, C, 3 * C);
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
	gelu(c->act, r->ff, r->ff, N, c->F);
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
cls_rows(struct bert_run *r, int l, float *y, float *ctx, const float *x)
{
	const struct bert_layer *w = &r->m->layer[l - 1];
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
	if (r->tr)	/* training: kept, in these rows */
		sublayers_keep(r, l, yc, ctx, xc, Nc, r->tr->curow);
	else
		sublayers(r, w, yc, ctx, xc, Nc);
	memset(y, 0, (size_t)r->Np * C * sizeof(float));
	for (int b = 0; b < B; b++)
		memcpy(y + (size_t)r->off[b] * C, yc + b * u * C,
		    C * sizeof(float));
}

/*
 * sublayers() for training, on N rows (urow: each one's row in the
 * batch without padding, for the dropout masks; -1 for none): h1 =
 * LayerNorm(dropout(ctx . Wo^T + bo) + x), y = LayerNorm(dropout(gelu(h1 .
 * Wi^T + bi) . Wo2^T + bo2) + h1), what the backward pass needs kept in
 * layer l's acts, in the same rows.  The same operations as sublayers()'s
 * on the same numbers: with no dropout, the same bits.
 */
static void
sublayers_keep(struct bert_run *r, int l, float *y, const float *ctx,
    const float *x, int N, const int *urow)
{
	const struct bert_config *c = &r->m->cfg;
	const struct bert_layer *w = &r->m->layer[l - 1];
	struct bert_train *tr = r->tr;
	struct bert_acts *A = &tr->a[l - 1];
	int C = c->C;

	linear(r->m, A->r1, ctx, w->aow, w->aob, N, C, C);
	if (tr->p > 0)
		droprows(r, A->r1, N, urow, C, train_key(tr->seed, tr->step,
		    l - 1, TRAIN_DROP_AO));
	add_layernorm_keep(A->x1, A->r1, A->ln, A->r1, x, w->ln1g, w->ln1b, N,
	    C, c->eps);
	linear(r->m, A->fc, A->x1, w->iw, w->ib, N, C, c->F);
	gelu(c->act, A->ge, A->fc, N, c->F);
	linear(r->m, y, A->ge, w->ow, w->ob, N, c->F, C);
	if (tr->p > 0)
		droprows(r, y, N, urow, C, train_key(tr->seed, tr->step, l - 1,
		    TRAIN_DROP_FO));
	add_layernorm_keep(y, A->r2, A->ln + 2 * (size_t)N, y, A->x1, w->ln2g,
	    w->ln2b, N, C, c->eps);
}

void
bert_out(struct bert_run *r, int l, float *y, float *ctx, const float *x)
{
	const struct bert_layer *w = &r->m->layer[l - 1];

	if (l == r->m->cfg.L && r->cls_only)
		cls_rows(r, l, y, ctx, x);
	else if (r->tr)
		sublayers_keep(r, l, y, ctx, x, r->Np, r->tr->urow);
	else
		sublayers(r, w, y, ctx, x, r->Np);
}

void
bert_layer(struct bert_run *r, int l, float *y, const float *x,
    const struct headset *const *off, int mode)
{
	float *ctx = r->tr ? r->tr->a[l - 1].ctx : r->ctx;

	bert_qkv(r, l, x);
	bert_attend(r, l, ctx, off, mode);
	bert_out(r, l, y, ctx, x);
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
	const struct model_family *f = model_family(&m->cfg);
	int C = m->cfg.C, nl = m->cfg.nlabels;

	if (m->pw == NULL)
		return;
	/* per sequence, so that packing changes nothing */
	for (int b = 0; b < r->B; b++) {
		/* pooled (C) = tanh([CLS] . Wp^T + bp), [CLS] the first token */
		float *p = pooled + (size_t)b * C;
		const float *cls = x + (size_t)r->off[b] * C;
		if (r->tr && (f->flags & MF_CLSDROP)) {
			/* training, RoBERTa's head: dropout on [CLS] first */
			struct bert_train *tr = r->tr;
			float *cd = tr->clsd + (size_t)b * C;
			if (tr->p > 0)
				train_drop(cd, cls, C, train_key(tr->seed,
				    tr->step, 0, TRAIN_DROP_CLS), (size_t)b * C,
				    tr->p);
			else
				memcpy(cd, cls, C * sizeof(float));
			cls = cd;
		}
		memcpy(p, m->pb, C * sizeof(float));
		cblas_sgemv(CblasRowMajor, CblasNoTrans, C, C, 1.0f, m->pw, C,
		    cls, 1, 1.0f, p, 1);
		if (r->tr)
			memcpy(r->tr->hpre + (size_t)b * C, p,
			    C * sizeof(float));
		if (f->headact == ACT_TANH)
			for (int j = 0; j < C; j++)
				p[j] = tanhf(p[j]);
		else	/* ELECTRA's GELU, DistilBERT's ReLU */
			act_row(f->headact, p, NULL, p, C);
		if (r->tr) {
			/* training: kept, and dropout before the classifier */
			struct bert_train *tr = r->tr;
			memcpy(tr->pooled + (size_t)b * C, p,
			    C * sizeof(float));
			p = tr->poold + (size_t)b * C;
			if (tr->p > 0)
				train_drop(p, tr->pooled + (size_t)b * C, C,
				    train_key(tr->seed, tr->step, 0,
				    TRAIN_DROP_POOL), (size_t)b * C, tr->p);
			else
				memcpy(p, tr->pooled + (size_t)b * C,
				    C * sizeof(float));
		}
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

/* ---- training: dropout, the kept activations, the backward pass ---- */

/*
 * Dropout on x (N, C) in place, ROWS rows a task: row n's element j is
 * element urow[n] * C + j of the mask, the row counted in the batch
 * without padding (tr->urow, or tr->curow for the last layer's [CLS]
 * rows), so that the masks do not depend on the padding or on which rows
 * are computed.  Rows of urow -1 stay as they are.
 */
struct droprows {
	struct bert_run	*r;
	float		*x;
	const int	*urow;
	int		 N, C;
	uint64_t	 key;
};

static void
droprows_task(void *arg, int t)
{
	const struct droprows *a = arg;
	int end = (t + 1) * ROWS < a->N ? (t + 1) * ROWS : a->N;

	for (int n = t * ROWS; n < end; n++)
		if (a->urow[n] >= 0)
			train_drop(a->x + (size_t)n * a->C, a->x +
			    (size_t)n * a->C, a->C, a->key,
			    (size_t)a->urow[n] * a->C, a->r->tr->p);
}

static void
droprows(struct bert_run *r, float *x, int N, const int *urow, int C,
    uint64_t key)
{
	struct droprows a = { r, x, urow, N, C, key };

	parallel((N + ROWS - 1) / ROWS, droprows_task, &a);
}

/* Room in r->tr for the batch that bert_run_pack has just set. */
static void
train_reserve(struct bert_run *r)
{
	const struct bert_config *c = &r->m->cfg;
	struct bert_train *tr = r->tr;
	size_t C = c->C, F = c->F, H = c->H, Np = r->Np, B = r->B, P = 0;
	size_t maxT = 0, u = 0, E = model_emb(c), CE = C > E ? C : E;

	for (int b = 0; b < r->B; b++) {
		P += H * r->T[b] * r->T[b];
		if ((size_t)r->T[b] > maxT)
			maxT = r->T[b];
	}
	if (tr->a == NULL)
		tr->a = xcalloc(c->L, sizeof(*tr->a));
	if (Np > tr->capN) {
		size_t big = C > F ? C : F, nt = (Np + ROWS - 1) / ROWS;

		tr->emb = xscratch(tr->emb, Np * E, sizeof(float));
		if (r->m->epw != NULL) {
			tr->eo = xscratch(tr->eo, Np * E, sizeof(float));
			tr->de = xscratch(tr->de, 2 * Np * E,
			    sizeof(float));
		}
		tr->eln = xscratch(tr->eln, 2 * Np, sizeof(float));
		tr->urow = xscratch(tr->urow, Np, sizeof(int));
		tr->d1 = xscratch(tr->d1, Np * C, sizeof(float));
		tr->dt = xscratch(tr->dt, Np * C, sizeof(float));
		tr->dh = xscratch(tr->dh, Np * F, sizeof(float));
		tr->dq = xscratch(tr->dq, Np * 3 * C, sizeof(float));
		tr->xp = xscratch(tr->xp, Np * big, sizeof(float));
		if (pool.bf)
			tr->xpb = xscratch(tr->xpb, gemmbf_size(big, Np),
			    sizeof(uint16_t));
		tr->part = xscratch(tr->part, nt * 2 * CE, sizeof(float));
		for (int l = 0; l < c->L; l++) {
			struct bert_acts *A = &tr->a[l];
			A->qkv = xscratch(A->qkv, Np * 3 * C,
			    sizeof(float));
			A->ctx = xscratch(A->ctx, Np * C, sizeof(float));
			A->r1 = xscratch(A->r1, Np * C, sizeof(float));
			A->x1 = xscratch(A->x1, Np * C, sizeof(float));
			A->r2 = xscratch(A->r2, Np * C, sizeof(float));
			A->fc = xscratch(A->fc, Np * F, sizeof(float));
			A->ge = xscratch(A->ge, Np * F, sizeof(float));
			A->ln = xscratch(A->ln, 4 * Np, sizeof(float));
		}
		tr->capN = Np;
	}
	if (P > tr->capP) {
		for (int l = 0; l < c->L; l++)
			tr->a[l].att = xscratch(tr->a[l].att, P,
			    sizeof(float));
		tr->capP = P;
	}
	if (B > tr->capB) {
		tr->curow = xreallocarray(tr->curow, B * pool.unit,
		    sizeof(int));
		tr->cb = xreallocarray(tr->cb, 3 * B * pool.unit * C,
		    sizeof(float));
		tr->pooled = xreallocarray(tr->pooled, B * C, sizeof(float));
		tr->poold = xreallocarray(tr->poold, B * C, sizeof(float));
		tr->hpre = xreallocarray(tr->hpre, B * C, sizeof(float));
		tr->clsd = xreallocarray(tr->clsd, B * C, sizeof(float));
		tr->poff = xreallocarray(tr->poff, B + 1, sizeof(size_t));
		tr->dgate = xreallocarray(tr->dgate, B * H, sizeof(double));
		tr->capB = B;
	}
	if (maxT > tr->capT) {
		/* per thread: two (T, T) */
		tr->sc = xreallocarray(tr->sc, (size_t)pool.n * 2 * maxT * maxT,
		    sizeof(float));
		tr->capT = maxT;
	}
	tr->poff[0] = 0;
	for (size_t n = 0; n < Np; n++)
		tr->urow[n] = -1;
	for (int b = 0; b < r->B; b++) {
		tr->poff[b + 1] = tr->poff[b] + H * r->T[b] * r->T[b];
		for (int i = 0; i < r->T[b]; i++)
			tr->urow[r->off[b] + i] = (int)u++;
		/* cls_rows's: [CLS] at row b * unit */
		for (int i = 0; i < pool.unit; i++)
			tr->curow[b * pool.unit + i] = i ? -1 :
			    tr->urow[r->off[b]];
	}
}

/*
 * bert_train_pack's tasks: rows j0..j0 + PACKROWS - 1 of a dense weight
 * W (out, in), packed in one pass for the forward pass (panels of W's
 * rows, as gemm_pack) and the backward (panels of its columns, as
 * gemm_pack_cols(W^T): dX = dY . W), a block of 16 rows at a time while
 * it is in the cache.
 */
#define PACKROWS	256

struct trainpack {
	struct bert_train	*tr;
	int			*w;		/* (ntask) 4 l + k */
	int			*j0;		/* (ntask) first row */
};

static void
trainpack_task(void *arg, int t)
{
	const struct trainpack *a = arg;
	struct bert_train *tr = a->tr;
	int l = a->w[t] / 4, k = a->w[t] % 4, out, in;
	const float *w = dense_of(tr->src, l, k);
	float *f = dense_of(&tr->pm, l, k), *bw = tr->wt[a->w[t]];

	dense_shape(&tr->src->cfg, k, &out, &in);
	for (int j0 = a->j0[t]; j0 < a->j0[t] + PACKROWS && j0 < out;
	    j0 += GEMM_PANEL) {
		int nr = out - j0 < GEMM_PANEL ? out - j0 : GEMM_PANEL;

		gemm_pack_rows(f + (size_t)j0 * in, w + (size_t)j0 * in, in,
		    nr, in, 1.0f);
		/*
		 * W^T's panel c0 holds W's row j at j * nc, nc its width; a
		 * whole panel's piece is copied by a size the compiler knows,
		 * in a few moves rather than a call
		 */
		for (int c0 = 0; c0 < in; c0 += GEMM_PANEL) {
			int nc = in - c0 < GEMM_PANEL ? in - c0 : GEMM_PANEL;
			float *q = bw + (size_t)c0 * out + (size_t)j0 * nc;
			const float *s = w + (size_t)j0 * in + c0;

			for (int j = 0; j < nr; j++, q += nc, s += in)
				if (nc == GEMM_PANEL)
					memcpy(q, s, sizeof(float[GEMM_PANEL]));
				else
					memcpy(q, s, nc * sizeof(float));
		}
	}
}

/*
 * bert_train_pack in bf16: m's weights rounded and packed for gemmbf.c,
 * W (pm's bfw, which bfof() finds from m's pointers) and W^T (tr->wtb),
 * a weight a task
 */
static void
bfpack_task(void *arg, int t)
{
	struct bert_train *tr = arg;
	int i = t / 2, out, in;
	const float *w = dense_of(tr->src, i / 4, i % 4);

	dense_shape(&tr->src->cfg, i % 4, &out, &in);
	if (t % 2 == 0)
		gemmbf_pack(tr->pm.bfw[i], w, out, in);
	else
		gemmbf_pack_cols(tr->wtb[i], w, in, in, out);
}

static void
bfpack(struct bert_train *tr, const struct bert *m)
{
	const struct bert_config *c = &m->cfg;
	struct bert *pm = &tr->pm;
	uint16_t **bfw = pm->bfw;
	struct bert_layer *layer = pm->layer;

	if (layer == NULL) {
		layer = xcalloc(c->L, sizeof(*layer));
		bfw = xcalloc(4 * (size_t)c->L, sizeof(*bfw));
		tr->wtb = xcalloc(4 * (size_t)c->L, sizeof(*tr->wtb));
		for (int i = 0; i < 4 * c->L; i++) {
			int out, in;

			dense_shape(c, i % 4, &out, &in);
			bfw[i] = xscratch(NULL, gemmbf_size(out, in),
			    sizeof(uint16_t));
			tr->wtb[i] = xscratch(NULL, gemmbf_size(in, out),
			    sizeof(uint16_t));
		}
	}
	/* m's own weights, read through their bf16 copies */
	*pm = *m;
	pm->layer = layer;
	pm->dir = NULL;
	pm->bfw = bfw;
	pm->packed = 0;
	memcpy(pm->layer, m->layer, c->L * sizeof(*layer));
	parallel(8 * c->L, bfpack_task, tr);
}

void
bert_train_pack(struct bert_train *tr, const struct bert *m)
{
	const struct bert_config *c = &m->cfg;
	struct bert *pm = &tr->pm;
	size_t per = 4 * (size_t)c->C * c->C + 2 * (size_t)c->F * c->C;

	pthread_once(&pool_once, pool_init);
	pthread_once(&vm_once, vm_init);
	tr->src = m;
	if (pool.bf) {
		bfpack(tr, m);
		return;
	}
	if (pm->layer == NULL) {
		pm->layer = xcalloc(c->L, sizeof(*pm->layer));
		if (pool.gemm) {
			tr->fw = xscratch(NULL, per * c->L, sizeof(float));
			tr->bw = xscratch(NULL, per * c->L, sizeof(float));
			tr->wt = xcalloc(4 * (size_t)c->L, sizeof(float *));
		}
	}
	/* everything m's, but the dense weights */
	struct bert_layer *layer = pm->layer;
	*pm = *m;
	pm->layer = layer;
	pm->dir = NULL;
	pm->bfw = NULL;
	pm->packed = pool.gemm;
	for (int l = 0; l < c->L; l++) {
		pm->layer[l] = m->layer[l];
		if (!pool.gemm)
			continue;
		if (l > 0 && m->layer[l].qkvw == m->layer[l - 1].qkvw) {
			/* ALBERT: the group's packed weights, once */
			pm->layer[l] = pm->layer[l - 1];
			for (int k = 0; k < 4; k++)
				tr->wt[4 * l + k] = tr->wt[4 * (l - 1) + k];
			continue;
		}
		float *f = tr->fw + per * l, *b = tr->bw + per * l;
		for (int k = 0; k < 4; k++) {
			int out, in;
			float **fp = k == 0 ? &pm->layer[l].qkvw : k == 1 ?
			    &pm->layer[l].aow : k == 2 ? &pm->layer[l].iw :
			    &pm->layer[l].ow;

			dense_shape(c, k, &out, &in);
			*fp = f;
			tr->wt[4 * l + k] = b;
			f += (size_t)out * in;
			b += (size_t)out * in;
		}
	}
	if (!pool.gemm)
		return;
	struct trainpack a = { tr, NULL, NULL };
	int n = 0;
	for (int i = 0; i < 4 * c->L; i++) {
		int out, in, l = i / 4;

		if (l > 0 && m->layer[l].qkvw == m->layer[l - 1].qkvw)
			continue;	/* ALBERT: packed for the group's first */
		dense_shape(c, i % 4, &out, &in);
		for (int j0 = 0; j0 < out; j0 += PACKROWS) {
			a.w = xreallocarray(a.w, n + 1, sizeof(int));
			a.j0 = xreallocarray(a.j0, n + 1, sizeof(int));
			a.w[n] = i;
			a.j0[n++] = j0;
		}
	}
	parallel(n, trainpack_task, &a);
	free(a.w);
	free(a.j0);
}

void
bert_train_release(struct bert_train *tr)
{
	if (tr->a != NULL)
		for (int l = 0; l < tr->pm.cfg.L; l++) {
			struct bert_acts *A = &tr->a[l];
			free(A->qkv);
			free(A->att);
			free(A->ctx);
			free(A->r1);
			free(A->x1);
			free(A->fc);
			free(A->ge);
			free(A->r2);
			free(A->ln);
		}
	free(tr->a);
	free(tr->emb);
	free(tr->eln);
	free(tr->pooled);
	free(tr->poold);
	free(tr->hpre);
	free(tr->clsd);
	free(tr->eo);
	free(tr->de);
	free(tr->urow);
	free(tr->curow);
	free(tr->cb);
	free(tr->poff);
	if (tr->pm.bfw != NULL)
		for (int i = 0; i < 4 * tr->pm.cfg.L; i++) {
			free(tr->pm.bfw[i]);
			free(tr->wtb[i]);
		}
	free(tr->pm.bfw);
	free(tr->wtb);
	free(tr->xpb);
	free(tr->pm.layer);
	free(tr->fw);
	free(tr->bw);
	free(tr->wt);
	free(tr->d1);
	free(tr->dt);
	free(tr->dh);
	free(tr->dq);
	free(tr->xp);
	free(tr->part);
	free(tr->sc);
	free(tr->dgate);
	free(tr->zids);
	memset(tr, 0, sizeof(*tr));
}

/*
 * y (n, out) = x (n, in) . w^T (w packed), or added to y; x's rows lx
 * apart, or with trans x given as its transpose (in, n), rows lx apart;
 * any n.
 */
static void
prod(float *y, int ly, const float *x, int lx, int trans, const float *w,
    int n, int out, int in, int add)
{
	for (int i = 0; i < n; i += GEMM_ROWS)
		gemm_run(&(struct gemm_y){ y + (size_t)i * ly, ly, out, 0,
		    add }, &(struct gemm_x){ trans ? x + i : x + (size_t)i * lx,
		    lx, trans, NULL }, w, NULL, n - i < GEMM_ROWS ? n - i :
		    GEMM_ROWS, out, in);
}

/* The same on gemmbf.c, w packed for it */
static void
prodbf(float *y, int ly, const float *x, int lx, int trans,
    const uint16_t *w, int n, int out, int in, int add)
{
	for (int i = 0; i < n; i += GEMMBF_ROWS)
		gemmbf_run(&(struct gemm_y){ y + (size_t)i * ly, ly, out, 0,
		    add }, &(struct gemm_x){ trans ? x + i : x + (size_t)i * lx,
		    lx, trans, NULL }, w, NULL, n - i < GEMMBF_ROWS ? n - i :
		    GEMMBF_ROWS, out, in);
}

/*
 * The backward of y (N, out) = x (N, in) . W^T + b, as tasks of the pool:
 * from dy, dW (out, in) = dy^T . x and db (out), dy's column sums,
 * written; dx (N, in) = dy . W, written or, with add, added to.  W is
 * w (out, in) as it is (OpenBLAS), wt its transpose packed for gemm.c,
 * wtb for gemmbf.c.
 */
struct lback {
	float		*dx, *dw, *db;
	const float	*dy, *x, *w, *wt, *xp;
	const uint16_t	*wtb;
	uint16_t	*xpb;
	int		 N, in, out, add;
	int		*start;		/* gemm.c: task t's first row */
	int		 acc;		/* dW, db added to (tr->acc) */
	float		*sums;		/* kernels: dy's column sums (out) */
};

#define COLS	64	/* columns of a task of column sums or packing */

static void
lback_dx_task(void *arg, int t)
{
	const struct lback *a = arg;
	int i0, n;

	if (pool.bf || pool.gemm) {
		struct gemm_y y;
		struct gemm_x x;

		i0 = a->start[t];
		n = a->start[t + 1] - i0;
		y = (struct gemm_y){ a->dx + (size_t)i0 * a->in, a->in, a->in,
		    0, a->add };
		x = (struct gemm_x){ a->dy + (size_t)i0 * a->out, a->out, 0,
		    NULL };
		if (pool.bf)
			gemmbf_run(&y, &x, a->wtb, NULL, n, a->in, a->out);
		else
			gemm_run(&y, &x, a->wt, NULL, n, a->in, a->out);
		return;
	}
	i0 = t * BLASROWS;
	n = a->N - i0 < BLASROWS ? a->N - i0 : BLASROWS;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, a->in,
	    a->out, 1.0f, a->dy + (size_t)i0 * a->out, a->out, a->w, a->in,
	    a->add ? 1.0f : 0.0f, a->dx + (size_t)i0 * a->in, a->in);
}

/* x's columns j0..j0 + COLS - 1 packed, as panels of gemm_pack_cols */
static void
lback_pack_task(void *arg, int t)
{
	const struct lback *a = arg;
	int j0 = t * COLS, nc = a->in - j0 < COLS ? a->in - j0 : COLS;

	if (pool.bf)	/* COLS is whole panels of 32 */
		gemmbf_pack_cols(a->xpb + gemmbf_size(j0, a->N), a->x + j0,
		    a->in, nc, a->N);
	else
		gemm_pack_cols((float *)a->xp + (size_t)j0 * a->N, a->x + j0,
		    a->in, nc, a->N);
}

static void
lback_dw_task(void *arg, int t)
{
	const struct lback *a = arg;
	int o0, n;

	if (pool.bf || pool.gemm) {
		struct gemm_y y;
		struct gemm_x x;

		o0 = a->start[t];
		n = a->start[t + 1] - o0;
		y = (struct gemm_y){ a->dw + (size_t)o0 * a->in, a->in, a->in,
		    0, a->acc };
		x = (struct gemm_x){ a->dy + o0, a->out, 1, a->sums ?
		    a->sums + o0 : NULL };
		if (pool.bf)
			gemmbf_run(&y, &x, a->xpb, NULL, n, a->in, a->N);
		else
			gemm_run(&y, &x, a->xp, NULL, n, a->in, a->N);
		return;
	}
	o0 = t * COLS;
	n = a->out - o0 < COLS ? a->out - o0 : COLS;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, a->in, a->N,
	    1.0f, a->dy + o0, a->out, a->x, a->in, a->acc ? 1.0f : 0.0f,
	    a->dw + (size_t)o0 * a->in, a->in);
}

/*
 * db's columns j0..j0 + COLS - 1: sums over the rows, in their order (on
 * OpenBLAS; the kernels' dW products give the same sums as they pack dy)
 */
static void
lback_db_task(void *arg, int t)
{
	const struct lback *a = arg;
	int j0 = t * COLS, nc = a->out - j0 < COLS ? a->out - j0 : COLS;
	vf s[COLS / VL] = { 0 };
	float buf[COLS] = { 0 };

	for (int n = 0; n < a->N; n++) {
		const float *d = a->dy + (size_t)n * a->out + j0;
		if (nc == COLS)
			for (int j = 0; j < COLS / VL; j++)
				s[j] += vload(d + j * VL);
		else
			for (int j = 0; j < nc; j++)
				buf[j] += d[j];
	}
	if (nc == COLS)
		for (int j = 0; j < COLS / VL; j++)
			vstore(buf + j * VL, s[j]);
	for (int j = 0; a->acc && j < nc; j++)
		buf[j] += a->db[j0 + j];
	memcpy(a->db + j0, buf, nc * sizeof(float));
}

/* ... of dense weight i (4 (l - 1) + k, as dense_of) */
static void
linear_back(struct bert_run *r, float *dx, int add, float *dw, float *db,
    const float *dy, const float *x, int i, int N, int in, int out)
{
	struct bert_train *tr = r->tr;
	struct lback a = { dx, dw, db, dy, x, dense_of(tr->src, i / 4, i % 4),
	    pool.gemm && !pool.bf ? tr->wt[i] : NULL, tr->xp,
	    pool.bf ? tr->wtb[i] : NULL, tr->xpb, N, in, out, add, NULL,
	    tr->acc, NULL };
	int nt;

	if (dx != NULL) {
		if (pool.bf || pool.gemm) {
			a.start = gemm_tasks(N, &nt);
			parallel(nt, lback_dx_task, &a);
			free(a.start);
		} else
			parallel((N + BLASROWS - 1) / BLASROWS, lback_dx_task,
			    &a);
	}
	if (pool.bf || pool.gemm) {
		/* db from dW's product, as it packs dy: then added to */
		a.sums = db == NULL ? NULL : tr->acc ? xmalloc(out *
		    sizeof(float)) : db;
		parallel((in + COLS - 1) / COLS, lback_pack_task, &a);
		a.start = gemm_tasks(out, &nt);
		parallel(nt, lback_dw_task, &a);
		free(a.start);
		if (db != NULL && tr->acc) {
			for (int j = 0; j < out; j++)
				db[j] = a.sums[j] + db[j];
			free(a.sums);
		}
	} else {
		parallel((out + COLS - 1) / COLS, lback_dw_task, &a);
		parallel((out + COLS - 1) / COLS, lback_db_task, &a);
	}
}

/*
 * LayerNorm's backward over the run's rows: dx (Np, C) from dy and the
 * input x, mean and rstd mr (2, Np); dg and db (C) written, summed by
 * task in tr->part, then over the tasks in their order.
 */
struct lnback {
	float		*dx, *part;
	const float	*dy, *x, *mr, *g;
	int		 N, C;
};

static void
lnback_task(void *arg, int t)
{
	const struct lnback *a = arg;
	int C = a->C, end = (t + 1) * ROWS < a->N ? (t + 1) * ROWS : a->N;
	float *dg = a->part + (size_t)t * 2 * C, *db = dg + C;

	memset(dg, 0, 2 * C * sizeof(float));
	for (int i = t * ROWS; i < end; i++)
		vm.lnback(a->dx + (size_t)i * C, dg, db, a->dy + (size_t)i * C,
		    a->x + (size_t)i * C, a->mr[i], a->mr[a->N + i], a->g, C);
}

static void
ln_back_w(struct bert_run *r, int N, int C, float *dx, float *dg, float *db,
    const float *dy, const float *x, const float *mr, const float *g)
{
	int nt = (N + ROWS - 1) / ROWS;
	struct lnback a = { dx, r->tr->part, dy, x, mr, g, N, C };

	parallel(nt, lnback_task, &a);
	for (int j = 0; j < C; j++) {
		float sg = 0, sb = 0;

		for (int t = 0; t < nt; t++) {
			sg += a.part[(size_t)t * 2 * C + j];
			sb += a.part[(size_t)t * 2 * C + C + j];
		}
		/* ALBERT: added to a later application's (tr->acc) */
		dg[j] = r->tr->acc ? dg[j] + sg : sg;
		db[j] = r->tr->acc ? db[j] + sb : sb;
	}
}

/* The same over rows of C, the hidden size. */
static void
ln_back(struct bert_run *r, int N, float *dx, float *dg, float *db,
    const float *dy, const float *x, const float *mr, const float *g)
{
	ln_back_w(r, N, r->m->cfg.C, dx, dg, db, dy, x, mr, g);
}

/*
 * Whether layer l's weights are a later layer's too (ALBERT's groups):
 * that layer's backward, which runs first, has written their gradients.
 */
static int
shared_later(const struct bert *m, int l)
{
	return l < m->cfg.L && m->layer[l].qkvw == m->layer[l - 1].qkvw;
}

void
bert_out_backward(struct bert_run *r, int l, struct bert *g, float *d,
    float *dctx)
{
	const struct bert_config *c = &r->m->cfg;
	struct bert_train *tr = r->tr;
	const struct bert_acts *A = &tr->a[l - 1];
	const struct bert_layer *w = &tr->src->layer[l - 1];
	struct bert_layer *gw = &g->layer[l - 1];
	int wi = 4 * (l - 1);
	int C = c->C, F = c->F, N = r->Np, cls = l == c->L && r->cls_only;
	size_t u = pool.unit;
	const int *urow = tr->urow;
	float *dy = d, *dr = d, *dc = dctx, *dfo = tr->d1, *dao;

	/*
	 * The last layer, when only [CLS] goes on (cls_rows): its sublayers
	 * ran on sequence b's [CLS] row alone, at row b * unit: so does
	 * their backward, and the two gradients go back to the batch's rows
	 * at the end, zeros in every other row.
	 */
	if (cls) {
		N = r->B * u;
		urow = tr->curow;
		dy = tr->cb;
		dr = dy + (size_t)N * C;
		dc = dr + (size_t)N * C;
		memset(dy, 0, (size_t)N * C * sizeof(float));
		for (int b = 0; b < r->B; b++)
			memcpy(dy + b * u * C, d + (size_t)r->off[b] * C,
			    C * sizeof(float));
	}
	dao = dr;
	tr->acc = shared_later(tr->src, l);
	/* LayerNorm 2: d1 = d r2, the gradient of x1 + dropout(FFN out) */
	ln_back(r, N, tr->d1, gw->ln2g, gw->ln2b, dy, A->r2,
	    A->ln + 2 * (size_t)N, w->ln2g);
	if (tr->p > 0) {
		memcpy(tr->dt, tr->d1, (size_t)N * C * sizeof(float));
		droprows(r, tr->dt, N, urow, C, train_key(tr->seed, tr->step,
		    l - 1, TRAIN_DROP_FO));
		dfo = tr->dt;
	}
	/* the FFN: out, GELU, in; d1 += its share: d x1 */
	linear_back(r, tr->dh, 0, gw->ow, gw->ob, dfo, A->ge, wi + 3, N, F, C);
	gelu_back(c->act, tr->dh, A->fc, N, F);
	linear_back(r, tr->d1, 1, gw->iw, gw->ib, tr->dh, A->x1, wi + 2, N, C,
	    F);
	/* LayerNorm 1: d = d r1, the gradient of x + dropout(attn out) */
	ln_back(r, N, dr, gw->ln1g, gw->ln1b, tr->d1, A->r1, A->ln, w->ln1g);
	if (tr->p > 0) {
		memcpy(tr->dt, dr, (size_t)N * C * sizeof(float));
		droprows(r, tr->dt, N, urow, C, train_key(tr->seed, tr->step,
		    l - 1, TRAIN_DROP_AO));
		dao = tr->dt;
	}
	/* the attention's output projection: dctx */
	linear_back(r, dc, 0, gw->aow, gw->aob, dao, A->ctx, wi + 1, N, C, C);
	if (cls) {
		memset(d, 0, (size_t)r->Np * C * sizeof(float));
		memset(dctx, 0, (size_t)r->Np * C * sizeof(float));
		for (int b = 0; b < r->B; b++) {
			memcpy(d + (size_t)r->off[b] * C, dr + b * u * C,
			    C * sizeof(float));
			memcpy(dctx + (size_t)r->off[b] * C, dc + b * u * C,
			    C * sizeof(float));
		}
	}
	tr->acc = 0;
}

/*
 * The backward of one sequence's and head's attention, a task of the
 * pool.  With pd the probabilities p after dropout, g the gate and
 * s the scale 1 / sqrt(D): ctx_h = g pd v, so
 * A (T, T) = dctx_h . v^T, d gate = <pd, A>, dv = g pd^T . dctx_h,
 * dpd = g A, dp = dpd kept / (1 - p), then softmax's backward,
 * dsc = s p (dp - rowsum(p dp)), and dq = dsc . k, dk = dsc^T . q.
 */
struct attback {
	struct bert_run	*r;
	int		 l;
	float		*dqkv;
	const float	*dctx;
	size_t		 rs, hs;	/* qkv_layout's */
	int		 cls;		/* [CLS]'s query: r->cls */
};

static void
attback_task(void *arg, int t)
{
	const struct attback *a = arg;
	struct bert_run *r = a->r;
	struct bert_train *tr = r->tr;
	const struct bert_config *c = &r->m->cfg;
	int C = c->C, H = c->H, D = C / H, b = t / H, h = t % H, T = r->T[b];
	size_t rs = a->rs, hs = a->hs, TT = (size_t)T * T;
	const float *q = qkv_of(r, a->l) + (size_t)r->off[b] * rs + h * hs;
	const float *k = q + H * hs, *v = k + H * hs;
	/* the queries, nq rows lq floats apart (bert_attend's) */
	const float *qr = a->cls ? r->cls + ((size_t)r->B + b) * C + h * D : q;
	size_t lq = a->cls ? (size_t)C : rs, nT;
	int nq = a->cls ? 1 : T;
	const float *p = tr->a[a->l - 1].att + tr->poff[b] + h * TT;
	const float *dc = a->dctx + (size_t)r->off[b] * C + h * D;
	float *dq = a->dqkv + (size_t)r->off[b] * 3 * C + h * D;
	float *dk = dq + C, *dv = dq + 2 * C;
	float *pd = tr->sc + (size_t)tid * 2 * tr->capT * tr->capT;
	float *A = pd + tr->capT * tr->capT;
	float *kv = r->kv + (size_t)tid * r->capT * D;
	float g = tr->gate ? tr->gate[(a->l - 1) * H + h] : 1.0f;
	float scale = 1.0f / sqrtf((float)D), s = 1.0f / (1.0f - tr->p);
	double dg = 0;

	/* the nq rows of probabilities that attention computed */
	nT = (size_t)nq * T;
	if (tr->p > 0)
		train_drop(pd, p, nT, train_key(tr->seed, tr->step, a->l - 1,
		    TRAIN_DROP_ATT), tr->poff[b] + h * TT, tr->p);
	else
		memcpy(pd, p, nT * sizeof(float));
	/* A (nq, T) = dc (nq, D) . v (T, D)^T */
	if (pool.bf) {
		uint16_t *vb = bfbuf(gemmbf_size(T, D));

		gemmbf_pack_rows(vb, v, rs, T, D, 1.0f);
		prodbf(A, T, dc, C, 0, vb, nq, T, D, 0);
	} else if (pool.gemm) {
		gemm_pack_rows(kv, v, rs, T, D, 1.0f);
		prod(A, T, dc, C, 0, kv, nq, T, D, 0);
	} else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, T, D,
		    1.0f, dc, C, v, rs, 0.0f, A, T);
	/* dL/dgate, for head importance alone: a sum in order, slow */
	for (size_t i = 0; tr->imp != NULL && i < nT; i++)
		dg += (double)pd[i] * A[i];
	tr->dgate[t] = dg;
	/* attribution: the gradient by the probabilities as applied */
	if (tr->dprob && a->l == tr->al)
		for (size_t i = 0; i < TT; i++)
			tr->dprob[tr->poff[b] + h * TT + i] = g * A[i];
	/* dv (T, D) = g pd^T . dc */
	if (pool.bf || pool.gemm) {
		if (pool.bf) {
			uint16_t *vb = bfbuf(gemmbf_size(D, nq));

			gemmbf_pack_cols(vb, dc, C, D, nq);
			prodbf(dv, 3 * C, pd, T, 1, vb, T, D, nq, 0);
		} else {
			gemm_pack_cols(kv, dc, C, D, nq);
			prod(dv, 3 * C, pd, T, 1, kv, T, D, nq, 0);
		}
		if (g != 1.0f)
			for (int i = 0; i < T; i++)
				for (int j = 0; j < D; j++)
					dv[(size_t)i * 3 * C + j] *= g;
	} else
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, nq,
		    g, pd, T, dc, C, 0.0f, dv, 3 * C);
	/*
	 * dp = g A where the mask kept the element (pd is 0 where it did
	 * not, or where p is 0, whose dsc is 0 either way), then softmax's
	 * backward, in A
	 */
	for (size_t i = 0; i < nT; i++)
		A[i] = pd[i] != 0.0f ? g * A[i] * (tr->p > 0 ? s : 1.0f) : 0.0f;
	vm.softback(A, p, nq, T, scale);
	/* dq (nq, D) = dsc . k; dk (T, D) = dsc^T . q */
	if (pool.bf) {
		uint16_t *vb = bfbuf(gemmbf_size(D, T));

		gemmbf_pack_cols(vb, k, rs, D, T);
		prodbf(dq, 3 * C, A, T, 0, vb, nq, D, T, 0);
		gemmbf_pack_cols(vb, qr, lq, D, nq);
		prodbf(dk, 3 * C, A, T, 1, vb, T, D, nq, 0);
	} else if (pool.gemm) {
		gemm_pack_cols(kv, k, rs, D, T);
		prod(dq, 3 * C, A, T, 0, kv, nq, D, T, 0);
		gemm_pack_cols(kv, qr, lq, D, nq);
		prod(dk, 3 * C, A, T, 1, kv, T, D, nq, 0);
	} else {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, T,
		    1.0f, A, T, k, rs, 0.0f, dq, 3 * C);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, nq,
		    1.0f, A, T, qr, lq, 0.0f, dk, 3 * C);
	}
	/* the other queries had no gradient */
	for (int i = nq; i < T; i++)
		memset(dq + (size_t)i * 3 * C, 0, D * sizeof(float));
}

void
bert_attend_backward(struct bert_run *r, int l, float *dqkv,
    const float *dctx)
{
	struct bert_train *tr = r->tr;
	int H = r->m->cfg.H;
	struct attend lay;
	struct attback a;

	qkv_layout(r, l, &lay);
	a = (struct attback){ r, l, dqkv, dctx, lay.rs, lay.hs, lay.cls };
	parallel(r->B * H, attback_task, &a);
	pad_zero(r, dqkv, 3 * r->m->cfg.C);
	if (tr->imp != NULL)
		for (int b = 0; b < r->B; b++)
			for (int h = 0; h < H; h++)
				tr->imp[(l - 1) * H + h] += fabs(tr->impscale *
				    tr->dgate[b * H + h]);
}

void
bert_qkv_backward(struct bert_run *r, int l, struct bert *g, float *d,
    const float *dqkv)
{
	struct bert_train *tr = r->tr;
	struct bert_layer *gw = &g->layer[l - 1];
	int C = r->m->cfg.C;

	tr->acc = shared_later(tr->src, l);
	linear_back(r, d, 1, gw->qkvw, gw->qkvb, dqkv, r->xs[l - 1],
	    4 * (l - 1), r->Np, C, 3 * C);
	tr->acc = 0;
}

void
bert_layer_backward(struct bert_run *r, int l, struct bert *g, float *d)
{
	struct bert_train *tr = r->tr;

	bert_out_backward(r, l, g, d, tr->d1);
	bert_attend_backward(r, l, tr->dq, tr->d1);
	bert_qkv_backward(r, l, g, d, tr->dq);
}

void
bert_head_backward(struct bert_run *r, struct bert *g, float *d,
    const float *dz)
{
	const struct bert *m = r->m;
	const struct model_family *f = model_family(&m->cfg);
	struct bert_train *tr = r->tr;
	int B = r->B, C = m->cfg.C, nl = m->cfg.nlabels;
	float *dp = tr->dt, *cls = tr->dt + (size_t)B * C;

	/* the classifier: dWc = dz^T . pooled after dropout; dpooled */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nl, C, B, 1.0f,
	    dz, nl, tr->poold, C, 0.0f, g->cw, C);
	for (int j = 0; j < nl; j++) {
		float s = 0;
		for (int b = 0; b < B; b++)
			s += dz[b * nl + j];
		g->cb[j] = s;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, nl, 1.0f,
	    dz, nl, m->cw, C, 0.0f, dp, C);
	/* dropout, tanh' = 1 - tanh^2 */
	for (int b = 0; b < B; b++) {
		float *x = dp + (size_t)b * C;
		const float *y = tr->pooled + (size_t)b * C;

		if (tr->p > 0)
			train_drop(x, x, C, train_key(tr->seed, tr->step, 0,
			    TRAIN_DROP_POOL), (size_t)b * C, tr->p);
		if (f->headact == ACT_TANH)
			for (int j = 0; j < C; j++)
				x[j] *= 1.0f - y[j] * y[j];
		else	/* GELU', ReLU' at the dense layer's output */
			act_row(f->headact, NULL, x, tr->hpre + (size_t)b * C,
			    C);
		memcpy(cls + (size_t)b * C, f->flags & MF_CLSDROP ? tr->clsd +
		    (size_t)b * C : r->xs[m->cfg.L] + (size_t)r->off[b] * C,
		    C * sizeof(float));
	}
	/* the pooler: dWp = dp^T . [CLS]; d[CLS] = dp . Wp */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, C, B, 1.0f,
	    dp, C, cls, C, 0.0f, g->pw, C);
	for (int j = 0; j < C; j++) {
		float s = 0;
		for (int b = 0; b < B; b++)
			s += dp[(size_t)b * C + j];
		g->pb[j] = s;
	}
	memset(d, 0, (size_t)r->Np * C * sizeof(float));
	for (int b = 0; b < B; b++) {
		float *dc = d + (size_t)r->off[b] * C;

		cblas_sgemv(CblasRowMajor, CblasTrans, C, C, 1.0f, m->pw, C,
		    dp + (size_t)b * C, 1, 0.0f, dc, 1);
		/* RoBERTa's head: through the dropout on [CLS] */
		if ((f->flags & MF_CLSDROP) && tr->p > 0)
			train_drop(dc, dc, C, train_key(tr->seed, tr->step, 0,
			    TRAIN_DROP_CLS), (size_t)b * C, tr->p);
	}
}

/*
 * The embeddings' tables' gradients from de (Np, C), columns j0..j0 +
 * COLS - 1 a task: every row in order, so that rows that share a word,
 * a position or a token type add up the same way every time.
 */
struct scatter {
	struct bert_run	*r;
	struct bert	*g;
	const float	*de;
};

static void
scatter_task(void *arg, int t)
{
	const struct scatter *a = arg;
	const struct bert_run *r = a->r;
	int C = model_emb(&r->m->cfg), j0 = t * COLS;	/* E */
	int nc = C - j0 < COLS ? C - j0 : COLS;

	for (int b = 0; b < r->B; b++)
		for (int i = 0; i < r->T[b]; i++) {
			int n = r->off[b] + i;
			const float *e = a->de + (size_t)n * C + j0;
			float *we = a->g->wte + (size_t)r->ids[n] * C + j0;
			float *pe = a->g->wpe + (size_t)r->pos[n] * C + j0, *te;

			for (int j = 0; j < nc; j++) {
				we[j] += e[j];
				pe[j] += e[j];
			}
			if (a->g->tte == NULL)	/* DistilBERT's */
				continue;
			te = a->g->tte + (size_t)r->seg[n] * C + j0;
			for (int j = 0; j < nc; j++)
				te[j] += e[j];
		}
}

void
bert_embed_backward(struct bert_run *r, struct bert *g, float *d)
{
	const struct bert_config *c = &r->m->cfg;
	struct bert_train *tr = r->tr;
	struct scatter a = { r, g, tr->d1 };
	size_t C = model_emb(c);	/* E: C but in ELECTRA and ALBERT */
	if (r->m->epw != NULL) {
		/*
		 * The projection x = o . epw^T + epb: dW (C, E) = d^T . o,
		 * db = d's column sums, do = d . epw (Np, E), over the rows
		 * with the padding's zeroed (so are o's)
		 */
		int N = r->Np, H = c->C;

		pad_zero(r, d, H);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, N,
		    1.0f, d, H, tr->eo, C, 0.0f, g->epw, C);
		for (int j = 0; j < H; j++) {
			float sb = 0;
			for (int n = 0; n < N; n++)
				sb += d[(size_t)n * H + j];
			g->epb[j] = sb;
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, H,
		    1.0f, d, H, r->m->epw, C, 0.0f, tr->de, C);
		d = tr->de;
		a.de = tr->de + (size_t)r->Np * C;
	}
	if (tr->p > 0)
		droprows(r, d, r->Np, tr->urow, C, train_key(tr->seed, tr->step,
		    0, TRAIN_DROP_EMB));
	ln_back_w(r, r->Np, C, (float *)a.de, g->elng, g->elnb, d, tr->emb,
	    tr->eln, r->m->elng);
	/*
	 * The word embeddings' gradient (V, C) is 0 but in the rows of the
	 * last batch's words: those rows zeroed, when this g had them, rather
	 * than the whole table (94 MB for BERT-base).
	 */
	if (tr->zg == g)
		for (int i = 0; i < tr->nz; i++)
			memset(g->wte + (size_t)tr->zids[i] * C, 0,
			    C * sizeof(float));
	else
		memset(g->wte, 0, (size_t)c->V * C * sizeof(float));
	memset(g->wpe, 0, (size_t)c->P * C * sizeof(float));
	if (g->tte != NULL)
		memset(g->tte, 0, (size_t)c->S * C * sizeof(float));
	parallel((C + COLS - 1) / COLS, scatter_task, &a);
	if ((size_t)r->N > tr->capz) {
		tr->zids = xreallocarray(tr->zids, r->N, sizeof(int));
		tr->capz = r->N;
	}
	tr->nz = 0;
	for (int b = 0; b < r->B; b++)
		for (int i = 0; i < r->T[b]; i++)
			tr->zids[tr->nz++] = r->ids[r->off[b] + i];
	tr->zg = g;
}
