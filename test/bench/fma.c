/*
 * fma -- one core's float32 FMA peak: 10 independent chains of 8-wide AVX2
 * FMAs (enough to cover the latency of two FMA pipes), and where the CPU
 * has AVX-512, of 16-wide AVX-512 FMAs too (on some CPUs they do twice the
 * work a cycle, on others, such as AMD's Zen 4, the same), timed by the
 * wall clock, best of 3 runs of about 0.5 s each.  Prints GFLOP/s of this
 * one thread, the faster of the two; for two cores run two copies at once
 * and add their figures.
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

#define G(x)	x = _mm512_fmadd_ps(x, b, c)

__attribute__((target("avx512f"))) static void
run512(long n)
{
	__m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
	__m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1),
	    a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
	    a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
	    a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
	    a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9);

	for (long k = 0; k < n; k++) {
		G(a0); G(a1); G(a2); G(a3); G(a4);
		G(a5); G(a6); G(a7); G(a8); G(a9);
		__asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3),
		    "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8),
		    "+v"(a9));
	}
	a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
	    _mm512_add_ps(a2, a3)), _mm512_add_ps(_mm512_add_ps(a4, a5),
	    _mm512_add_ps(a6, a7)));
	a0 = _mm512_add_ps(a0, _mm512_add_ps(a8, a9));
	sink = _mm512_reduce_add_ps(a0);
}

int
main(int argc, char *argv[])
{
	long n = argc > 1 ? atol(argv[1]) : 200000000L;
	int wide;
	double best = 0;

	if (n < 1)
		n = 1;
	__builtin_cpu_init();
	wide = __builtin_cpu_supports("avx512f");
	for (int r = 0; r < 3; r++) {
		double t0 = secs(), g;

		run(n);
		g = (double)n * NACC * 8 * 2 / (secs() - t0) / 1e9;
		if (g > best)
			best = g;
		if (!wide)
			continue;
		/* half the iterations: as many FLOPs as AVX2's */
		t0 = secs();
		run512(n / 2);
		g = (double)(n / 2) * NACC * 16 * 2 / (secs() - t0) / 1e9;
		if (g > best)
			best = g;
	}
	printf("%.1f\n", best);
	return 0;
}
