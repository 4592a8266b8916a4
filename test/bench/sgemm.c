/*
 * sgemm -- OpenBLAS's sgemm on encode's dense shapes: N rows through
 * BERT's layer (qkv, attention output, FFN up, FFN down; y = x W^T), and
 * the attention products of B sequences of T tokens, H heads of D.
 * usage: sgemm N C F T H; prints GFLOP/s over one layer's products.
 * Threads: OPENBLAS_NUM_THREADS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

static double
secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void
mm(int M, int N, int K, const float *a, const float *w, float *y)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f,
	    a, K, w, K, 1.0f, y, N);
}

int
main(int argc, char *argv[])
{
	if (argc != 6) {
		fprintf(stderr, "usage: sgemm N C F T H\n");
		return 2;
	}
	int N = atoi(argv[1]), C = atoi(argv[2]), F = atoi(argv[3]),
	    T = atoi(argv[4]), H = atoi(argv[5]), D = C / H, B = N / T;
	size_t big = (size_t)N * (F > 3 * C ? F : 3 * C);
	float *x = calloc(big, 4), *w = calloc((size_t)F * C * 3, 4),
	    *y = calloc(big, 4), *p = calloc((size_t)T * T, 4);
	double fl = 2.0 * N * C * (3.0 * C + C + 2.0 * F) +
	    2.0 * B * H * 2.0 * T * T * D, best = 0;

	for (size_t i = 0; i < big; i++)
		x[i] = 1e-3f * (i % 7);
	for (size_t i = 0; i < (size_t)F * C * 3; i++)
		w[i] = 1e-3f * (i % 5);
	for (int rep = 0; rep < 4; rep++) {
		double t0 = secs();
		mm(N, 3 * C, C, x, w, y);
		for (int b = 0; b < B; b++)
			for (int h = 0; h < H; h++) {
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasTrans, T, T, D, 1.0f, y + b * T * 3 * C +
				    h * D, 3 * C, y + b * T * 3 * C + C + h * D,
				    3 * C, 0.0f, p, T);
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasNoTrans, T, D, T, 1.0f, p, T,
				    y + b * T * 3 * C + 2 * C + h * D, 3 * C, 0.0f,
				    x + b * T * C + h * D, C);
			}
		mm(N, C, C, x, w, y);
		mm(N, F, C, x, w, y);
		mm(N, C, F, y, w, x);
		double s = secs() - t0;
		if (fl / s > best)
			best = fl / s;
	}
	printf("%.1f\n", best / 1e9);
	return 0;
}
