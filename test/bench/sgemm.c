/*
 * sgemm -- OpenBLAS's sgemm on encode's dense shapes, the same calls that
 * encode makes for one batch of N token rows, layer by layer: y = x W^T + y
 * for the query-key-value projection (N x 3C x C), the attention output
 * (N x C x C), the FFN up (N x F x C) and down (N x C x F).  One set of
 * weights serves every layer.  Best of 3 passes; prints GFLOP/s.
 * Threads: OPENBLAS_NUM_THREADS.  With -k, the same products through
 * headcount's own kernel instead (common/gemm.c: the weights packed
 * before the timing, as encode packs them at its start; y = x W^T, by
 * gemm_any), on one thread; exit 1 where the kernel does not
 * run (no AVX2 and FMA).
 * build: cc -O2 -Icommon -o sgemm sgemm.c common/libcommon.a -lopenblas
 * usage: sgemm [-k] N C F LAYERS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "gemm.h"

static int kern;	/* -k: headcount's kernel */

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *
alloc(size_t n, int seed)
{
	float *p = malloc(n * sizeof(float));

	if (p == NULL) {
		perror("sgemm");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		p[i] = 1e-3f * (float)((i * 7 + seed) % 11) - 5e-3f;
	return p;
}

/* y (M, O) += x (M, K) . w (O, K)^T, as encode's dense layers (-k: =) */
static void
dense(int M, int O, int K, const float *x, const float *w, float *y)
{
	if (kern)
		gemm_any(y, O, x, K, w, M, O, K);
	else
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, O, K,
		    1.0f, x, K, w, K, 1.0f, y, O);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sgemm [-k] N C F LAYERS\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	int N, C, F, L;
	float *x, *qkv, *h, *f, *wqkv, *wo, *wu, *wd;
	double fl, best = 0;

	if (argc == 6 && strcmp(argv[1], "-k") == 0) {
		kern = 1;
		argc--;
		argv++;
	}
	if (argc != 5)
		usage();
	N = atoi(argv[1]);
	C = atoi(argv[2]);
	F = atoi(argv[3]);
	L = atoi(argv[4]);
	if (N < 1 || C < 1 || F < 1 || L < 1)
		usage();
	if (kern && !gemm_ok()) {
		fprintf(stderr, "sgemm: -k: headcount's kernel does not run "
		    "here (it needs AVX2 and FMA)\n");
		return 1;
	}
	x = alloc((size_t)N * C, 1);
	qkv = alloc((size_t)N * 3 * C, 2);
	h = alloc((size_t)N * C, 3);
	f = alloc((size_t)N * F, 4);
	wqkv = alloc((size_t)3 * C * C, 5);
	wo = alloc((size_t)C * C, 6);
	wu = alloc((size_t)F * C, 7);
	wd = alloc((size_t)C * F, 8);
	if (kern) {
		gemm_pack(wqkv, 3 * C, C);
		gemm_pack(wo, C, C);
		gemm_pack(wu, F, C);
		gemm_pack(wd, C, F);
	}
	fl = (double)L * 2.0 * N * C * (3.0 * C + C + F + F);
	for (int rep = 0; rep < 3; rep++) {
		double t0 = secs(), s;

		for (int l = 0; l < L; l++) {
			dense(N, 3 * C, C, x, wqkv, qkv);
			dense(N, C, C, x, wo, h);
			dense(N, F, C, h, wu, f);
			dense(N, C, F, f, wd, x);
		}
		s = secs() - t0;
		if (fl / s > best)
			best = fl / s;
	}
	printf("%.1f\n", best / 1e9);
	return 0;
}
