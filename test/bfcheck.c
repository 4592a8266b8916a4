/*
 * bfcheck -- common/gemmbf.c's kernel against gemmbf_ref(), bit for bit,
 * on products of many shapes (rows, outputs and inputs that are and are
 * not multiples of the tile, the panel, the block and 2), with and
 * without a bias, and rows placed anywhere in x; exits 77 where the CPU
 * has no AVX512-BF16.
 *
 *	bfcheck [seed]
 *	bfcheck -t n out in reps	time one product: GFLOP/s
 */
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemmbf.h"
#include "tensor.h"
#include "util.h"

static unsigned long long rng = 88172645463325252ULL;

/* a float of either sign, magnitude 2^-6 .. 2^2, never denormal */
static float
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ldexpf((float)(rng >> 40) / (1 << 24) + 0.5f,
	    (int)(rng % 9) - 6) * (rng & 1 << 20 ? -1 : 1);
}

/*
 * With den, x's elements are zeros and denormals of either sign that
 * round up to the least normal bf16 unless flushed: the rows' sums are
 * then zeros only if the kernel's rounding flushes them as bf() does.
 */
static int
check(int n, int out, int in, int lx, int bias, int den)
{
	float *x = xcalloc((size_t)n * lx, sizeof(float));
	float *w = xcalloc((size_t)out * in, sizeof(float));
	float *b = xcalloc(out, sizeof(float));
	float *y = xcalloc((size_t)n * (out + 3), sizeof(float));
	float *r = xcalloc((size_t)n * (out + 3), sizeof(float));
	uint16_t *p = xcalloc(gemmbf_size(out, in), sizeof(uint16_t));
	uint16_t *wb = xcalloc((size_t)out * in, sizeof(uint16_t));
	int bad = 0;

	for (size_t i = 0; i < (size_t)n * lx; i++) {
		uint32_t u = 0x007f8000 | (uint32_t)(rng >> 33 & 0x7fff) |
		    (uint32_t)(rng & 1) << 31;

		x[i] = rnd();
		if (den && i % 2)
			x[i] = 0;
		else if (den)
			memcpy(&x[i], &u, sizeof(u));
	}
	for (size_t i = 0; i < (size_t)out * in; i++)
		wb[i] = f32_to_bf16(w[i] = rnd());
	for (int j = 0; j < out; j++)
		b[j] = rnd();
	gemmbf_pack(p, w, out, in);
	gemmbf_rows(y, out + 3, x, lx, p, bias ? b : NULL, n, out, in);
	gemmbf_ref(r, out + 3, x, lx, wb, bias ? b : NULL, n, out, in);
	for (int i = 0; i < n && !bad; i++)
		for (int j = 0; j < out; j++)
			if (memcmp(&y[i * (out + 3) + j], &r[i * (out + 3) +
			    j], 4) != 0) {
				printf("n %d out %d in %d bias %d den %d: "
				    "y[%d][%d] %.9g, reference %.9g\n", n, out,
				    in, bias, den, i, j, y[i * (out + 3) + j],
				    r[i * (out + 3) + j]);
				bad = 1;
				break;
			}
	free(x);
	free(w);
	free(b);
	free(y);
	free(r);
	free(p);
	free(wb);
	return bad;
}

int
main(int argc, char *argv[])
{
	static const int ns[] = { 1, 5, 12, 13, 100, 264 };
	static const int outs[] = { 1, 31, 32, 33, 64, 100 };
	static const int ins[] = { 1, 2, 15, 16, 17, 64, 255, 256, 257, 768,
	    1001 };
	int bad = 0, cases = 0;

	if (!gemmbf_ok()) {
		printf("no AVX512-BF16 here\n");
		return 77;
	}
	if (argc == 6 && strcmp(argv[1], "-t") == 0) {
		int n = atoi(argv[2]), out = atoi(argv[3]), in = atoi(argv[4]);
		int reps = atoi(argv[5]);
		float *x = xcalloc((size_t)n * in, sizeof(float));
		float *w = xcalloc((size_t)out * in, sizeof(float));
		float *y = xcalloc((size_t)n * out, sizeof(float));
		uint16_t *p = xcalloc(gemmbf_size(out, in), 2);
		double t;

		for (size_t i = 0; i < (size_t)n * in; i++)
			x[i] = rnd();
		for (size_t i = 0; i < (size_t)out * in; i++)
			w[i] = rnd();
		gemmbf_pack(p, w, out, in);
		t = now();
		for (int k = 0; k < reps; k++)
			for (int i = 0; i < n; i += GEMMBF_ROWS)
				gemmbf_rows(y + (size_t)i * out, out,
				    x + (size_t)i * in, in, p, NULL,
				    n - i < GEMMBF_ROWS ? n - i : GEMMBF_ROWS,
				    out, in);
		t = now() - t;
		printf("%.1f GFLOP/s\n", 2.0 * n * out * in * reps / t / 1e9);
		return 0;
	}
	if (argc > 1)
		rng += strtoull(argv[1], NULL, 10);
	for (size_t a = 0; a < sizeof(ns) / sizeof(*ns); a++)
		for (size_t c = 0; c < sizeof(outs) / sizeof(*outs); c++)
			for (size_t d = 0; d < sizeof(ins) / sizeof(*ins); d++) {
				int in = ins[d];

				bad += check(ns[a], outs[c], in, in, 1, 0);
				bad += check(ns[a], outs[c], in, in + 5, 0, 0);
				if (in <= 64) {
					bad += check(ns[a], outs[c], in, in, 0,
					    1);
					cases++;
				}
				cases += 2;
			}
	printf("%d products, %d differ\n", cases, bad);
	return bad != 0;
}
