/*
 * metrics.h -- the GLUE metrics and the paired tests that say whether a
 * difference between two systems on the same examples is more than noise.
 *
 * Every metric has the same signature: predictions and gold values of n
 * examples, both as doubles.  Classification metrics read them as class
 * numbers (0, 1, 2, ...; a value is rounded to the nearest integer), the
 * regression ones as real values.  An undefined value (Pearson of a
 * constant) is NaN; the classification metrics follow scikit-learn where
 * a denominator is zero and return 0.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef double	metric_fn(const double *pred, const double *gold, size_t n);

/* Share of examples with pred == gold; NaN when n is 0. */
double	metric_accuracy(const double *pred, const double *gold, size_t n);
/* F1 of class 1 (MRPC, QQP): 2 tp / (2 tp + fp + fn); 0 when that is 0/0. */
double	metric_f1(const double *pred, const double *gold, size_t n);
/*
 * Matthews correlation (CoLA); for K classes Gorodkin's R_K, which is the
 * usual phi coefficient when K is 2.  0 when a side is constant.
 */
double	metric_matthews(const double *pred, const double *gold, size_t n);
/* Pearson's r; NaN when either side is constant or n < 2. */
double	metric_pearson(const double *pred, const double *gold, size_t n);
/* Spearman's rho: Pearson's r of the ranks, ties given their mean rank. */
double	metric_spearman(const double *pred, const double *gold, size_t n);

/* A metric by name ("acc", "f1", "mcc", "pearson", "spearman") or NULL. */
metric_fn	*metric_byname(const char *name);
const char	*metric_name(metric_fn *f);

/*
 * Ranks of x[0..n-1] into r, from 1, ties given the mean of their ranks
 * (R's rank(ties.method = "average")).
 */
void	metric_rank(double *r, const double *x, size_t n);

/*
 * McNemar's exact test on the discordant pairs of two classifiers on the
 * same examples: b examples only the first gets right, c only the second.
 * Two-sided p = min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2);
 * 1 when b + c is 0.
 */
double	metric_mcnemar(size_t b, size_t c);

/*
 * Paired bootstrap of d = f(a, gold) - f(b, gold) over n paired examples:
 * `resamples' times, draw n example indices with replacement (the same
 * draw for both systems), and compute d on the draw.  The random numbers
 * come from xoshiro256** seeded with splitmix64(seed), so a seed gives the
 * same draws on every machine.
 *
 * lo, hi: the 2.5% and 97.5% percentiles of the resampled d (linear
 * interpolation between order statistics), a 95% interval.
 * p: two-sided, min(1, 2 (k + 1) / (resamples + 1)), where k is the number
 * of resampled d on the far side of 0 from the observed d (d <= 0 when
 * d > 0, d >= 0 when d < 0; the larger count when d is 0).  Draws where d is
 * NaN are left out.
 */
struct metric_boot {
	double	 d;		/* observed difference */
	double	 lo, hi;	/* 95% percentile interval */
	double	 p;
	size_t	 used;		/* resamples with a defined d */
};

void	metric_bootstrap(struct metric_boot *out, metric_fn *f,
	    const double *a, const double *b, const double *gold, size_t n,
	    uint64_t seed, size_t resamples);

/*
 * The seed of a named comparison's bootstrap: seed XOR the 64-bit FNV-1a
 * hash of name's bytes.  Each group draws from its own stream, whatever
 * other groups there are and in whatever order they come.
 */
uint64_t	metric_seed(uint64_t seed, const char *name);

/* A small reproducible generator, also for callers that need one. */
struct metric_rng {
	uint64_t	s[4];
};

void		metric_rng_seed(struct metric_rng *r, uint64_t seed);
uint64_t	metric_rng_next(struct metric_rng *r);
/* Uniform in [0, n), without modulo bias; n > 0. */
uint64_t	metric_rng_below(struct metric_rng *r, uint64_t n);

#endif
