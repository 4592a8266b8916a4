/*
 * fma -- the CPU's float32 FMA peak: 12 independent chains of 8-wide AVX2
 * FMAs per thread (AVX-512 when the CPU has it), timed.
 * usage: fma [threads]; prints GFLOP/s of all threads together.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITER	100000000L
#define F(x)	x = _mm256_fmadd_ps(x, b, c)
#define G(x)	x = _mm512_fmadd_ps(x, b, c)

static int wide;

__attribute__((target("avx2,fma"))) static float
run256(long n)
{
	__m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
	__m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1),
	    a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
	    a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
	    a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
	    a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9),
	    a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
	float o[8];

	for (long k = 0; k < n; k++) {
		F(a0); F(a1); F(a2); F(a3); F(a4); F(a5);
		F(a6); F(a7); F(a8); F(a9); F(a10); F(a11);
	}
	a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1),
	    _mm256_add_ps(a2, a3)), _mm256_add_ps(_mm256_add_ps(a4, a5),
	    _mm256_add_ps(a6, a7)));
	a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9),
	    _mm256_add_ps(a10, a11)));
	_mm256_storeu_ps(o, a0);
	return o[0];
}

__attribute__((target("avx512f"))) static float
run512(long n)
{
	__m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
	__m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1),
	    a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
	    a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
	    a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
	    a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9),
	    a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);

	for (long k = 0; k < n; k++) {
		G(a0); G(a1); G(a2); G(a3); G(a4); G(a5);
		G(a6); G(a7); G(a8); G(a9); G(a10); G(a11);
	}
	a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
	    _mm512_add_ps(a2, a3)), _mm512_add_ps(_mm512_add_ps(a4, a5),
	    _mm512_add_ps(a6, a7)));
	a0 = _mm512_add_ps(a0, _mm512_add_ps(_mm512_add_ps(a8, a9),
	    _mm512_add_ps(a10, a11)));
	return _mm512_reduce_add_ps(a0);
}

static void *
thread(void *arg)
{
	static volatile float sink;

	sink = wide ? run512(ITER / 2) : run256(ITER);
	return arg;
}

int
main(int argc, char *argv[])
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t t[64];
	struct timespec t0, t1;
	double s;

	if (n < 1 || n > 64)
		n = 1;
	__builtin_cpu_init();
	wide = __builtin_cpu_supports("avx512f");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, thread, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
	/* 12 chains x 8 lanes x 2 flops, or half the iterations of 16 */
	printf("%.1f\n", n * (double)ITER * 12 * 8 * 2 / s / 1e9);
	return 0;
}
