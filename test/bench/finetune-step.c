/*
 * finetune-step -- time training steps of common/train.c (packing the
 * weights, forward, backward, clipping, AdamW) on the model of -m (else
 * a randomly initialised BERT of the shape given), batch B of sequences
 * of T tokens, and print examples/s, each part's seconds and the GFLOP/s
 * of the step's matrix products (those it computes: see below).
 * Threads: OPENBLAS_NUM_THREADS, as finetune.  Built and run by
 * test/bench/finetune.sh.
 *
 * The batch is torch_train.py's: token b, i = 1000 + (131 b + 197 i +
 * (b i) % 89) % (V - 1000), token type 0, labels b % 2.  With -m, first
 * "check loss L gradnorm G": dropout off, no step, as torch_train.py.
 *
 *	usage: finetune-step [-m model] [-B batch] [-T tokens] [-L layers]
 *	    [-C hidden] [-H heads] [-F ffn] [-V vocab] [-d dropout]
 *	    [-n steps] [-p f32 | bf16]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bert.h"
#include "model.h"
#include "train.h"
#include "util.h"

int
main(int argc, char *argv[])
{
	struct bert src;
	struct train t;
	struct train_batch bt;
	int B = 8, T = 128, L = 12, C = 768, H = 12, F = 3072, V = 30522;
	int n = 3, ch;
	double p = 0.1;
	const char *mdir = NULL;
	char err[512];
	int bf = 0;

	while ((ch = getopt(argc, argv, "B:C:F:H:L:T:V:d:m:n:p:")) != -1) {
		switch (ch) {
		case 'p': bf = bert_precision_name(optarg); break;
		case 'm': mdir = optarg; break;
		case 'B': B = atoi(optarg); break;
		case 'C': C = atoi(optarg); break;
		case 'F': F = atoi(optarg); break;
		case 'H': H = atoi(optarg); break;
		case 'L': L = atoi(optarg); break;
		case 'T': T = atoi(optarg); break;
		case 'V': V = atoi(optarg); break;
		case 'd': p = atof(optarg); break;
		case 'n': n = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: finetune-step [-m model] "
			    "[-B batch] [-T tokens] [-L layers] [-C hidden] "
			    "[-H heads] [-F ffn] [-V vocab] [-d dropout] "
			    "[-n steps] [-p f32 | bf16]\n");
			return 2;
		}
	}
	if (bf == -1 || bert_precision(bf, err, sizeof(err)) == -1) {
		fprintf(stderr, "finetune-step: -p: %s\n", bf == -1 ?
		    "f32 or bf16" : err);
		return bf == -1 ? 2 : 1;
	}
	if (n < 1)
		n = 1;
	memset(&src, 0, sizeof(src));
	src.cfg = (struct bert_config){ .L = L, .H = H, .C = C, .F = F,
	    .V = V, .P = 512, .S = 2, .eps = 1e-12f };
	if (mdir != NULL) {
		if (model_load(&src, mdir, err, sizeof(err)) == -1) {
			fprintf(stderr, "finetune-step: %s\n", err);
			return 1;
		}
		L = src.cfg.L, C = src.cfg.C, H = src.cfg.H, F = src.cfg.F;
		V = src.cfg.V;
	}
	train_init(&t, &src, 2, mdir == NULL, (float)p, 1);
	if (mdir != NULL)
		model_release(&src);

	int *Ts = xmalloc(B * sizeof(int)), *ids = xmalloc(B * T * sizeof(int));
	int *seg = xcalloc(B * T, sizeof(int));
	float *lab = xmalloc(B * sizeof(float));
	for (int b = 0; b < B; b++) {
		Ts[b] = T;
		lab[b] = b % 2;
	}
	for (int b = 0; b < B; b++)
		for (int i = 0; i < T; i++)
			ids[b * T + i] = 1000 + (131 * b + 197 * i +
			    b * i % 89) % (V - 1000);
	bt = (struct train_batch){ B, Ts, ids, seg, lab };
	if (mdir != NULL) {
		float loss = train_forward(&t, &bt, 0);

		train_backward(&t);
		printf("check loss %.7g gradnorm %.7g\n", loss,
		    train_clip(&t, 0));
		fflush(stdout);
	}

	/* One step to warm up (allocations, page faults), then n timed. */
	double tp = 0, tf = 0, tb = 0, to = 0, t0, t1, t2, t3, t4;
	clock_t c0 = 0;
	for (int s = 0; s <= n; s++) {
		if (s == 1)
			c0 = clock();
		t0 = now();
		train_pack(&t);
		t1 = now();
		train_forward(&t, &bt, 1);
		t2 = now();
		train_backward(&t);
		t3 = now();
		train_clip(&t, 1.0);
		train_adamw(&t, 2e-5f, 0.01f);
		t4 = now();
		if (s > 0) {
			tp += t1 - t0;
			tf += t2 - t1;
			tb += t3 - t2;
			to += t4 - t3;
		}
	}
	double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC / n;
	double step = (tp + tf + tb + to) / n, N = (double)B * T;
	double dense = 2 * N * C * (3.0 * C + C + 2.0 * F);
	double att = 2 * 2 * (double)B * T * T * C;
	/*
	 * The products the step computes.  Forward: every layer, the last
	 * one's keys and values for every row, but its queries, attention
	 * and sublayers for [CLS] alone (what the loss reads, as encode);
	 * the pooler and the classifier.  Backward: dW and dX for each dense
	 * product (the last layer's queries, keys and values over every
	 * row), four products for each head's two.
	 */
	double fw = (L - 1) * (dense + att) + 2 * N * C * 2.0 * C +
	    2.0 * B * C * C + 2 * 2 * (double)B * T * C +
	    2.0 * B * C * (C + 2.0 * F) + 2.0 * B * C * (C + 2);
	double bw = 2 * ((L - 1) * (dense + att) + 2.0 * B * C * (C + 2.0 * F) +
	    2 * 2 * (double)B * T * C + 2.0 * B * C * (C + 2)) +
	    4 * N * C * 3.0 * C;
	double fl = fw + bw;

	printf("shape\tL=%d C=%d H=%d F=%d V=%d, batch %d x T=%d, dropout "
	    "%g, %d threads, %s\n", L, C, H, F, V, B, T, p, bert_threads(),
	    bert_dense());
	printf("step\t%.3f s (pack %.3f, forward %.3f, backward %.3f, "
	    "clip+adamw %.3f), mean of %d\n", step, tp / n, tf / n, tb / n,
	    to / n, n);
	printf("examples/s\t%.2f\n", B / step);
	printf("cpu\t%.3f s a step (every thread's processor time)\n", cpu);
	printf("step GFLOP\t%.1f (matrix products: forward %.1f, backward "
	    "%.1f)\n", fl / 1e9, fw / 1e9, bw / 1e9);
	printf("step GFLOP/s\t%.1f\n", fl / step / 1e9);
	train_release(&t);
	return 0;
}
