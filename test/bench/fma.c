/*
 * fma -- one core's float32 FMA peak: 10 independent chains of 8-wide AVX2
 * FMAs (enough to cover the latency of two FMA pipes), timed by the wall
 * clock, best of 3 runs of about 0.5 s.  Prints GFLOP/s of this one thread;
 * for two cores run two copies at once and add their figures.
 * build: cc -O2 -mavx2 -mfma -o fma fma.c
 * usage: fma [iterations]
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NACC	10
#define F(x)	x = _mm256_fmadd_ps(x, b, c)

static volatile float sink;

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void
run(long n)
{
	__m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
	__m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1),
	    a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
	    a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
	    a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
	    a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9);
	float o[8];

	for (long k = 0; k < n; k++) {
		F(a0); F(a1); F(a2); F(a3); F(a4);
		F(a5); F(a6); F(a7); F(a8); F(a9);
		__asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3),
		    "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8),
		    "+x"(a9));
	}
	a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1),
	    _mm256_add_ps(a2, a3)), _mm256_add_ps(_mm256_add_ps(a4, a5),
	    _mm256_add_ps(a6, a7)));
	a0 = _mm256_add_ps(a0, _mm256_add_ps(a8, a9));
	_mm256_storeu_ps(o, a0);
	sink = o[0];
}

int
main(int argc, char *argv[])
{
	long n = argc > 1 ? atol(argv[1]) : 200000000L;
	double best = 0;

	if (n < 1)
		n = 1;
	for (int r = 0; r < 3; r++) {
		double t0 = secs(), g;

		run(n);
		g = (double)n * NACC * 8 * 2 / (secs() - t0) / 1e9;
		if (g > best)
			best = g;
	}
	printf("%.1f\n", best);
	return 0;
}
