/*
 * finetune-step -- time training steps of common/train.c (forward,
 * backward, clipping, AdamW) on a randomly initialised BERT of the given
 * shape, then the bare sgemm calls of the same shapes in the same run, and
 * print examples/s and the FLOP efficiency of the step against sgemm.
 * Built and run by test/bench/finetune.sh.
 *
 *	usage: finetune-step [-B batch] [-T tokens] [-L layers] [-C hidden]
 *	    [-H heads] [-F ffn] [-V vocab] [-n steps]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "model.h"
#include "train.h"
#include "util.h"

static size_t
gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, size_t M, size_t N, size_t K,
    const float *a, const float *b, float *c)
{
	cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a,
	    ta == CblasNoTrans ? K : M, b, tb == CblasNoTrans ? N : K, 0.0f,
	    c, N);
	return 2 * M * N * K;
}

/*
 * The matrix products of one training step, as train.c does them: per
 * layer, four dense layers forward (x W^T), backward for the weights
 * (dy^T x) and for the input (dy W); per example and head, two products
 * forward and four backward.  Returns the FLOPs.
 */
static double
products(size_t L, size_t B, size_t T, size_t C, size_t H, size_t F,
    float *x, float *w, float *y)
{
	size_t N = B * T, D = C / H, sh[4][2] = { { 3 * C, C }, { C, C },
	    { F, C }, { C, F } };
	double fl = 0;

	for (size_t l = 0; l < L; l++) {
		for (int j = 0; j < 4; j++) {
			size_t o = sh[j][0], in = sh[j][1];

			fl += gemm(CblasNoTrans, CblasTrans, N, o, in, x, w, y);
			fl += gemm(CblasTrans, CblasNoTrans, o, in, N, y, x, w);
			fl += gemm(CblasNoTrans, CblasNoTrans, N, in, o, y, w,
			    x);
		}
		for (size_t b = 0; b < B * H; b++) {
			fl += gemm(CblasNoTrans, CblasTrans, T, T, D, x, x, y);
			fl += gemm(CblasNoTrans, CblasNoTrans, T, D, T, y, x,
			    w);
			fl += gemm(CblasNoTrans, CblasTrans, T, T, D, x, x, y);
			fl += gemm(CblasTrans, CblasNoTrans, T, D, T, y, x, w);
			fl += gemm(CblasNoTrans, CblasNoTrans, T, D, T, y, x,
			    w);
			fl += gemm(CblasTrans, CblasNoTrans, T, D, T, y, x, w);
		}
	}
	return fl;
}

int
main(int argc, char *argv[])
{
	struct bert src;
	struct train t;
	struct train_batch bt;
	int B = 8, T = 128, L = 12, C = 768, H = 12, F = 3072, V = 30522;
	int n = 2, ch;
	uint64_t rng = 1;

	while ((ch = getopt(argc, argv, "B:C:F:H:L:T:V:n:")) != -1) {
		switch (ch) {
		case 'B': B = atoi(optarg); break;
		case 'C': C = atoi(optarg); break;
		case 'F': F = atoi(optarg); break;
		case 'H': H = atoi(optarg); break;
		case 'L': L = atoi(optarg); break;
		case 'T': T = atoi(optarg); break;
		case 'V': V = atoi(optarg); break;
		case 'n': n = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: finetune-step [-B batch] "
			    "[-T tokens] [-L layers] [-C hidden] [-H heads] "
			    "[-F ffn] [-V vocab] [-n steps]\n");
			return 2;
		}
	}
	memset(&src, 0, sizeof(src));
	src.cfg = (struct bert_config){ .L = L, .H = H, .C = C, .F = F,
	    .V = V, .P = 512, .S = 2, .eps = 1e-12f };
	train_init(&t, &src, 2, 1, 0.1f, 1);

	int *Ts = xmalloc(B * sizeof(int)), *ids = xmalloc(B * T * sizeof(int));
	int *seg = xcalloc(B * T, sizeof(int));
	float *lab = xmalloc(B * sizeof(float));
	for (int b = 0; b < B; b++) {
		Ts[b] = T;
		lab[b] = b % 2;
	}
	for (int i = 0; i < B * T; i++)
		ids[i] = train_rand(&rng) % V;
	bt = (struct train_batch){ B, Ts, ids, seg, lab };

	/* One step to warm up (allocations, page faults), then n timed. */
	double tf = 0, tb = 0, to = 0, t0, t1, t2, t3;
	for (int s = 0; s <= n; s++) {
		t0 = now();
		train_forward(&t, &bt, 1);
		t1 = now();
		train_backward(&t);
		t2 = now();
		train_clip(&t, 1.0);
		train_adamw(&t, 2e-5f, 0.01f);
		t3 = now();
		if (s > 0) {
			tf += t1 - t0;
			tb += t2 - t1;
			to += t3 - t2;
		}
	}
	double step = (tf + tb + to) / n;

	size_t N = (size_t)B * T, big = N * (size_t)(F > 3 * C ? F : 3 * C);
	if ((size_t)F * C > big)
		big = (size_t)F * C;
	float *x = xcalloc(big, sizeof(float)), *w = xcalloc(big, sizeof(float));
	float *y = xcalloc(big, sizeof(float));
	double fl = products(L, B, T, C, H, F, x, w, y);	/* warm up */
	t0 = now();
	for (int s = 0; s < n; s++)
		products(L, B, T, C, H, F, x, w, y);
	double gt = (now() - t0) / n;

	printf("shape\tL=%d C=%d H=%d F=%d V=%d, batch %d x T=%d, "
	    "OPENBLAS_NUM_THREADS=%s\n", L, C, H, F, V, B, T,
	    getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") :
	    "(default)");
	printf("step\t%.3f s (forward %.3f, backward %.3f, clip+adamw %.3f)\n",
	    step, tf / n, tb / n, to / n);
	printf("examples/s\t%.2f\n", B / step);
	printf("step GFLOP\t%.1f (matrix products; 3x forward)\n", fl / 1e9);
	printf("step GFLOP/s\t%.1f\n", fl / step / 1e9);
	printf("sgemm alone\t%.3f s, %.1f GFLOP/s (same shapes)\n", gt,
	    fl / gt / 1e9);
	printf("efficiency\t%.0f%% of sgemm\n", 100 * gt / step);
	train_release(&t);
	return 0;
}
