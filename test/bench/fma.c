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

static volatile float sink;

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

/*
 * NAME(n): n rounds of one FMA on each of NACC chains of the vector type
 * V (SET1 and FMADD its intrinsics), under the target attribute ATTR; the
 * empty asm keeps the chains in registers and the loop from being folded.
 */
#define RUN(NAME, ATTR, V, SET1, FMADD)					\
ATTR static void							\
NAME(long n)								\
{									\
	V b = SET1(0.999999f), c = SET1(1e-7f), a[NACC];		\
									\
	_Pragma("GCC unroll 10")					\
	for (int i = 0; i < NACC; i++)					\
		a[i] = SET1((float)i);					\
	for (long k = 0; k < n; k++) {					\
		_Pragma("GCC unroll 10")				\
		for (int i = 0; i < NACC; i++)				\
			a[i] = FMADD(a[i], b, c);			\
		__asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]),	\
		    "+v"(a[3]), "+v"(a[4]), "+v"(a[5]), "+v"(a[6]),	\
		    "+v"(a[7]), "+v"(a[8]), "+v"(a[9]));		\
	}								\
	_Pragma("GCC unroll 10")					\
	for (int i = 1; i < NACC; i++)					\
		a[0] += a[i];						\
	sink = a[0][0];							\
}

RUN(run, , __m256, _mm256_set1_ps, _mm256_fmadd_ps)
RUN(run512, __attribute__((target("avx512f"))), __m512, _mm512_set1_ps,
    _mm512_fmadd_ps)

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
