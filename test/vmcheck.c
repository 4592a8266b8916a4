/*
 * vmcheck -- the vector erf and exp of common/bert.c against libm's in
 * double: erf on a dense sweep of [-6, 6] and on floats from 0 to 2^-10,
 * exp on [-100, 0].  Prints the largest errors, and a checksum of every
 * value, so that two builds or code paths can be compared bit for bit.
 * The checksum takes in softmax and LayerNorm on rows of every length
 * from 1 to 70.  Exits 1 when erf is off by more than 2e-7, exp by more
 * than 2 units in the last place (relative 1.2e-7), GELU's derivative by
 * more than 1e-6 of a central difference of GELU in double, or a row of
 * softmax sums to 1 by more than 1e-5 off.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"

#define N	(1 << 22)

static uint32_t
sum(uint32_t h, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &y[i], 4);
		h = (h ^ u) * 16777619u;
	}
	return h;
}

/* y (n) = floats in -8..8 from the generator r */
static void
fill(float *y, int n, uint32_t *r)
{
	for (int i = 0; i < n; i++) {
		*r = *r * 1664525u + 1013904223u;
		y[i] = (float)(*r >> 8) / (1 << 24) * 16 - 8;
	}
}

int
main(void)
{
	float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
	float *d = malloc(N * sizeof(float));
	double eerf = 0, eexp = 0, egrad = 0, esoft = 0, w;
	uint32_t h = 2166136261u;
	size_t n;

	if (x == NULL || y == NULL || d == NULL)
		return 2;
	/* erf: [-6, 6] in N steps (n not a multiple of 8: the tail too) */
	n = N - 3;
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(-6.0 + 12.0 * i / (n - 1));
	bert_erf(y, x, n);
	for (size_t i = 0; i < n; i++)
		if ((w = fabs(y[i] - erf(x[i]))) > eerf || isnan(w))
			eerf = isnan(w) ? INFINITY : w;
	h = sum(h, y, n);
	/* erf: every 241st float from 0 up to 2^-10, subnormals included */
	n = 0;
	for (uint32_t u = 0; u < 0x3a800000; u += 241)
		memcpy(&x[n++], &u, 4);
	bert_erf(y, x, n);
	for (size_t i = 0; i < n; i++)
		if ((w = fabs(y[i] - erf(x[i]))) > eerf || isnan(w))
			eerf = isnan(w) ? INFINITY : w;
	h = sum(h, y, n);
	/* exp: [-100, 0]; 0 below -87 (where expf is under 1.7e-38) */
	n = N - 5;
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(-100.0 * i / (n - 1));
	bert_exp(y, x, n);
	for (size_t i = 0; i < n; i++) {
		double e = exp(x[i]);
		w = x[i] > -87 ? fabs(y[i] / e - 1) : y[i] <= e ? 0 : 1;
		if (w > eexp || isnan(w))
			eexp = isnan(w) ? INFINITY : w;
	}
	h = sum(h, y, n);
	/* GELU's derivative on [-10, 10] against GELU in double */
	n = N - 1;
	for (size_t i = 0; i < n; i++) {
		x[i] = (float)(-10.0 + 20.0 * i / (n - 1));
		d[i] = 1;
	}
	bert_gelu_grad(d, x, n);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], g = 0.5 * (1 + erf(v / sqrt(2))) +
		    v * exp(-0.5 * v * v) / sqrt(2 * M_PI);
		if ((w = fabs(d[i] - g)) > egrad || isnan(w))
			egrad = isnan(w) ? INFINITY : w;
	}
	h = sum(h, d, n);
	memcpy(y, x, n * sizeof(float));
	bert_gelu(y, n);
	h = sum(h, y, n);
	/* softmax: 3 rows of each T, of floats in -8..8, a sum to 1 */
	uint32_t r = 1;
	for (int T = 1; T <= 70; T++) {
		fill(y, 3 * T, &r);
		bert_softmax(y, 3, T);
		for (int i = 0; i < 3; i++) {
			double t = 0;
			for (int j = 0; j < T; j++)
				t += y[i * T + j];
			if (fabs(t - 1) > 1e-5)
				esoft = fabs(t - 1);
		}
		h = sum(h, y, 3 * T);
		/* LayerNorm of a row of T, gain and bias the next 2T */
		fill(y, 3 * T, &r);
		bert_layernorm(d, y, y + T, y + 2 * T, T, 1e-12f);
		h = sum(h, d, T);
	}
	printf("%s: erf max abs error %.3g, exp max rel error %.3g, "
	    "GELU' max abs error %.3g, checksum %08x\n", bert_simd(), eerf,
	    eexp, egrad, (unsigned)h);
	free(x);
	free(y);
	free(d);
	if (esoft > 0)
		printf("softmax: a row sums to 1 + %.3g\n", esoft);
	return eerf > 2e-7 || eexp > 1.2e-7 || egrad > 1e-6 || esoft > 0;
}
