/* metrics.c -- GLUE metrics, McNemar's exact test, the paired bootstrap. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

/* ---- classification ---- */

double
metric_accuracy(const double *pred, const double *gold, size_t n)
{
	size_t ok = 0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		ok += lround(pred[i]) == lround(gold[i]);
	return (double)ok / n;
}

double
metric_f1(const double *pred, const double *gold, size_t n)
{
	size_t tp = 0, fp = 0, fn = 0;

	for (size_t i = 0; i < n; i++) {
		int p = lround(pred[i]) == 1, g = lround(gold[i]) == 1;

		tp += p && g;
		fp += p && !g;
		fn += !p && g;
	}
	if (tp == 0)		/* also 0/0: no positives on either side */
		return 0.0;
	return 2.0 * tp / (2.0 * tp + fp + fn);
}

/*
 * Gorodkin's R_K from the K x K confusion matrix, in the form of
 * scikit-learn: with s examples, c of them correct, p_k predicted and
 * t_k true in class k,
 *
 *	R_K = (c s - sum p_k t_k) / sqrt((s^2 - sum p_k^2) (s^2 - sum t_k^2)).
 *
 * For two classes it is (tp tn - fp fn) / sqrt of the four margins.
 */
double
metric_matthews(const double *pred, const double *gold, size_t n)
{
	long lo = 0, hi = 0, K;
	double c = 0, s = (double)n, pt = 0, pp = 0, tt = 0, den;
	size_t *cnt;

	if (n == 0)
		return NAN;
	lo = hi = lround(gold[0]);
	for (size_t i = 0; i < n; i++) {
		long p = lround(pred[i]), g = lround(gold[i]);

		lo = p < lo ? p : lo, lo = g < lo ? g : lo;
		hi = p > hi ? p : hi, hi = g > hi ? g : hi;
	}
	if (hi - lo >= 1L << 20)
		return NAN;	/* these are not class numbers */
	K = hi - lo + 1;
	cnt = xcalloc(2 * K, sizeof(*cnt));	/* predicted, then true */
	for (size_t i = 0; i < n; i++) {
		long p = lround(pred[i]), g = lround(gold[i]);

		cnt[p - lo]++;
		cnt[K + g - lo]++;
		c += p == g;
	}
	for (long k = 0; k < K; k++) {
		double pk = cnt[k], tk = cnt[K + k];

		pt += pk * tk;
		pp += pk * pk;
		tt += tk * tk;
	}
	free(cnt);
	den = (s * s - pp) * (s * s - tt);
	if (den == 0)
		return 0.0;
	return (c * s - pt) / sqrt(den);
}

/* ---- regression ---- */

/* Two passes: the means, then the centred sums, all in double. */
double
metric_pearson(const double *x, const double *y, size_t n)
{
	double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;

	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (size_t i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;

		sxy += dx * dy;
		sxx += dx * dx;
		syy += dy * dy;
	}
	if (sxx == 0 || syy == 0)
		return NAN;
	return sxy / sqrt(sxx * syy);
}

struct vi {
	double	v;
	size_t	i;
};

static int
vicmp(const void *a, const void *b)
{
	const struct vi *x = a, *y = b;

	if (x->v < y->v)
		return -1;
	if (x->v > y->v)
		return 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Sort by value; each run of equal values gets the mean of its ranks. */
void
metric_rank(double *r, const double *x, size_t n)
{
	struct vi *a = xreallocarray(NULL, n, sizeof(*a));
	size_t i, j;

	for (i = 0; i < n; i++)
		a[i].v = x[i], a[i].i = i;
	qsort(a, n, sizeof(*a), vicmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && a[j].v == a[i].v; j++)
			;
		/* ranks i+1 .. j, mean (i + 1 + j) / 2 */
		for (size_t k = i; k < j; k++)
			r[a[k].i] = (i + 1 + j) / 2.0;
	}
	free(a);
}

double
metric_spearman(const double *x, const double *y, size_t n)
{
	double *rx, *ry, rho;

	if (n < 2)
		return NAN;
	rx = xreallocarray(NULL, 2 * n, sizeof(*rx));
	ry = rx + n;
	metric_rank(rx, x, n);
	metric_rank(ry, y, n);
	rho = metric_pearson(rx, ry, n);
	free(rx);
	return rho;
}

/* ---- names ---- */

static const struct {
	const char	*name;
	metric_fn	*f;
} metrics[] = {
	{ "acc", metric_accuracy },
	{ "f1", metric_f1 },
	{ "mcc", metric_matthews },
	{ "pearson", metric_pearson },
	{ "spearman", metric_spearman },
};

metric_fn *
metric_byname(const char *name)
{
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (strcmp(metrics[i].name, name) == 0)
			return metrics[i].f;
	return NULL;
}

const char *
metric_name(metric_fn *f)
{
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (metrics[i].f == f)
			return metrics[i].name;
	return "?";
}

/* ---- McNemar ---- */

/*
 * Under the null hypothesis each of the N = b + c discordant examples
 * goes either way with probability 1/2.  The lower tail
 * P(X <= m) = sum_{k <= m} C(N, k) / 2^N is summed in log space through
 * lgamma, which stays finite for any N.
 */
double
metric_mcnemar(size_t b, size_t c)
{
	size_t N = b + c, m = b < c ? b : c;
	double tail = 0, lnN;

	if (N == 0)
		return 1.0;
	lnN = lgamma((double)N + 1) - N * log(2.0);
	for (size_t k = 0; k <= m; k++)
		tail += exp(lnN - lgamma((double)k + 1) -
		    lgamma((double)(N - k) + 1));
	tail *= 2;
	return tail < 1 ? tail : 1.0;
}

/* ---- random numbers: splitmix64 seeding xoshiro256** ---- */

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
metric_rng_seed(struct metric_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t
metric_rng_next(struct metric_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Reject the top partial copy of [0, n) so that every value is as likely. */
uint64_t
metric_rng_below(struct metric_rng *r, uint64_t n)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;

	do
		x = metric_rng_next(r);
	while (x >= lim);
	return x % n;
}

/* ---- paired bootstrap ---- */

uint64_t
metric_seed(uint64_t seed, const char *name)
{
	return seed ^ fnv1a_str(name);
}

static int
dblcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile q of sorted x[0..n-1], linear between order statistics. */
static double
quantile(const double *x, size_t n, double q)
{
	double h = (n - 1) * q;
	size_t i = (size_t)h;

	if (i + 1 >= n)
		return x[n - 1];
	return x[i] + (h - i) * (x[i + 1] - x[i]);
}

void
metric_bootstrap(struct metric_boot *out, metric_fn *f, const double *a,
    const double *b, const double *gold, size_t n, uint64_t seed,
    size_t resamples)
{
	struct metric_rng rng;
	double *ra, *rb, *rg, *d;
	size_t used = 0, le = 0, ge = 0, k;

	memset(out, 0, sizeof(*out));
	out->d = f(a, gold, n) - f(b, gold, n);
	out->lo = out->hi = out->p = NAN;
	if (n == 0 || resamples == 0)
		return;
	ra = xreallocarray(NULL, 3 * n, sizeof(*ra));
	rb = ra + n;
	rg = rb + n;
	d = xreallocarray(NULL, resamples, sizeof(*d));
	metric_rng_seed(&rng, seed);
	for (size_t r = 0; r < resamples; r++) {
		double x;

		for (size_t i = 0; i < n; i++) {
			size_t j = metric_rng_below(&rng, n);

			ra[i] = a[j];
			rb[i] = b[j];
			rg[i] = gold[j];
		}
		x = f(ra, rg, n) - f(rb, rg, n);
		if (isnan(x))
			continue;
		d[used++] = x;
		le += x <= 0;
		ge += x >= 0;
	}
	out->used = used;
	if (used > 0) {
		qsort(d, used, sizeof(*d), dblcmp);
		out->lo = quantile(d, used, 0.025);
		out->hi = quantile(d, used, 0.975);
		if (isnan(out->d))
			k = used;
		else if (out->d > 0)
			k = le;
		else if (out->d < 0)
			k = ge;
		else
			k = le > ge ? le : ge;
		out->p = 2.0 * (k + 1) / (used + 1);
		if (out->p > 1)
			out->p = 1;
	}
	free(ra);
	free(d);
}
