/*
 * gemmcheck -- common/gemm.c's kernel against a scalar reference, bit for
 * bit: every output one chain, its start (the bias, or 0), an fmaf for
 * each input of a block of 256 in order, and the block's sum added to y
 * (after the first block, or with add).  Products of many shapes (rows,
 * outputs and inputs around the tile, the panel and the block), with and
 * without a bias, x read by rows or as its transpose, y written or added
 * to, in one piece or split into blocks of columns.  The AVX-512 and
 * AVX2 kernels must both pass (HEADCOUNT_GEMM=avx2 runs the second);
 * exits 77 where no kernel runs.  Where the CPU has AVX512-BF16, the
 * same for gemmbf.c's gemmbf_run, against the scalar arithmetic of
 * gemmbf_ref() with x read transposed and y added to.  With x read
 * transposed, both give its rows' sums (gemm_x's sum): each the floats
 * added in order from 0, exactly.
 *
 *	gemmcheck [seed]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "gemmbf.h"
#include "tensor.h"
#include "util.h"

static unsigned long long rng = 88172645463325252ULL;

/* a float of either sign, magnitude 2^-6 .. 2^2 */
static float
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ldexpf((float)(rng >> 40) / (1 << 24) + 0.5f,
	    (int)(rng % 9) - 6) * (rng & 1 << 20 ? -1 : 1);
}

/* x's sums (trans: sum[i] of x[k lx + i] over k, in order), or 0 */
static int
sums(const float *sum, const float *x, int lx, int n, int in,
    const char *what)
{
	for (int i = 0; sum && i < n; i++) {
		float s = 0;

		for (int k = 0; k < in; k++)
			s += x[(size_t)k * lx + i];
		if (memcmp(&s, &sum[i], sizeof(float)) != 0) {
			printf("%s n %d in %d: sum[%d] %.9g, reference %.9g\n",
			    what, n, in, i, sum[i], s);
			return 1;
		}
	}
	return 0;
}

/*
 * One product of n rows, out outputs, in inputs: x's rows (or columns,
 * with trans) lx floats apart, y's column blocks of cb (out when not
 * split) cs floats apart.
 */
static int
check(int n, int out, int in, int trans, int bias, int add, int cb)
{
	int lx = (trans ? n : in) + 3, ly = cb + 1;
	size_t cs = (size_t)n * ly + 7, ny = cs * ((out + cb - 1) / cb);
	float *x = xcalloc((size_t)lx * (trans ? in : n), sizeof(float));
	float *w = xcalloc((size_t)out * in, sizeof(float));
	float *p = xcalloc((size_t)out * in, sizeof(float));
	float *b = xcalloc(out, sizeof(float));
	float *y = xcalloc(ny, sizeof(float));
	float *r = xcalloc(ny, sizeof(float));
	int bad = 0;

	for (size_t i = 0; i < (size_t)lx * (trans ? in : n); i++)
		x[i] = rnd();
	for (size_t i = 0; i < (size_t)out * in; i++)
		p[i] = w[i] = rnd();
	for (int j = 0; j < out; j++)
		b[j] = rnd();
	for (size_t i = 0; i < ny; i++)
		r[i] = y[i] = rnd();
	float *sm = trans ? xcalloc(n, sizeof(float)) : NULL;

	gemm_pack(p, out, in);
	gemm_run(&(struct gemm_y){ y, ly, cb, cs, add },
	    &(struct gemm_x){ x, lx, trans, sm }, p, bias ? b : NULL, n, out,
	    in);
	bad = sums(sm, x, lx, n, in, "gemm_run");
	free(sm);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < out; j++) {
			float *c = r + (size_t)(j / cb) * cs + (size_t)i * ly +
			    j % cb;

			for (int k0 = 0; k0 < in; k0 += 256) {
				float s = k0 == 0 && bias ? b[j] : 0;

				for (int k = k0; k < k0 + 256 && k < in; k++)
					s = fmaf(trans ? x[(size_t)k * lx + i] :
					    x[(size_t)i * lx + k],
					    w[(size_t)j * in + k], s);
				*c = k0 == 0 && !add ? s : s + *c;
			}
		}
	for (size_t i = 0; i < ny && !bad; i++)
		if (memcmp(&y[i], &r[i], sizeof(float)) != 0) {
			printf("n %d out %d in %d trans %d bias %d add %d "
			    "cb %d: y[%zu] %.9g, reference %.9g\n", n, out, in,
			    trans, bias, add, cb, i, y[i], r[i]);
			bad = 1;
		}
	free(x);
	free(w);
	free(p);
	free(b);
	free(y);
	free(r);
	return bad;
}

/* the instruction's arithmetic: denormals in and out are zeros */
static float
flush(float f)
{
	return fpclassify(f) == FP_SUBNORMAL ? copysignf(0, f) : f;
}

/* check() for gemmbf_run: x and w rounded to bf16, pairs of inputs */
static int
checkbf(int n, int out, int in, int trans, int bias, int add, int cb)
{
	int lx = (trans ? n : in) + 3, ly = cb + 1, in2 = (in + 1) / 2 * 2;
	size_t cs = (size_t)n * ly + 7, ny = cs * ((out + cb - 1) / cb);
	float *x = xcalloc((size_t)lx * (trans ? in : n), sizeof(float));
	float *w = xcalloc((size_t)out * in, sizeof(float));
	uint16_t *p = xcalloc(gemmbf_size(out, in), sizeof(uint16_t));
	float *b = xcalloc(out, sizeof(float));
	float *y = xcalloc(ny, sizeof(float));
	float *r = xcalloc(ny, sizeof(float));
	int bad = 0;

	for (size_t i = 0; i < (size_t)lx * (trans ? in : n); i++)
		x[i] = rnd();
	for (size_t i = 0; i < (size_t)out * in; i++)
		w[i] = rnd();
	for (int j = 0; j < out; j++)
		b[j] = rnd();
	for (size_t i = 0; i < ny; i++)
		r[i] = y[i] = rnd();
	float *sm = trans ? xcalloc(n, sizeof(float)) : NULL;

	gemmbf_pack(p, w, out, in);
	gemmbf_run(&(struct gemm_y){ y, ly, cb, cs, add },
	    &(struct gemm_x){ x, lx, trans, sm }, p, bias ? b : NULL, n, out,
	    in);
	bad = sums(sm, x, lx, n, in, "gemmbf_run");
	free(sm);
#define XB(i, k)	((k) < in ? bf16_to_f32(f32_to_bf16(trans ? \
	    x[(size_t)(k) * lx + (i)] : x[(size_t)(i) * lx + (k)])) : 0)
#define WB(j, k)	((k) < in ? bf16_to_f32(f32_to_bf16( \
	    w[(size_t)(j) * in + (k)])) : 0)
	for (int i = 0; i < n; i++)
		for (int j = 0; j < out; j++) {
			float *c = r + (size_t)(j / cb) * cs + (size_t)i * ly +
			    j % cb;

			for (int k0 = 0; k0 < in2; k0 += 256) {
				float s = k0 == 0 && bias ? b[j] : 0;

				for (int k = k0; k < k0 + 256 && k < in2; k += 2) {
					s = flush(fmaf(flush(XB(i, k + 1)),
					    flush(WB(j, k + 1)), flush(s)));
					s = flush(fmaf(flush(XB(i, k)),
					    flush(WB(j, k)), s));
				}
				*c = k0 == 0 && !add ? s : s + *c;
			}
		}
#undef XB
#undef WB
	for (size_t i = 0; i < ny && !bad; i++)
		if (memcmp(&y[i], &r[i], sizeof(float)) != 0) {
			printf("bf16: n %d out %d in %d trans %d bias %d add %d "
			    "cb %d: y[%zu] %.9g, reference %.9g\n", n, out, in,
			    trans, bias, add, cb, i, y[i], r[i]);
			bad = 1;
		}
	free(x);
	free(w);
	free(p);
	free(b);
	free(y);
	free(r);
	return bad;
}

/*
 * gemmbf_pack_rows (scaled, rows lw apart) and gemmbf_pack_cols (from the
 * transpose) against gemmbf_pack of the same matrix: the same bits.
 */
static int
checkpack(int out, int in)
{
	int lw = in + 5, lt = out + 3;
	float *w = xcalloc((size_t)out * lw, sizeof(float));
	float *ws = xcalloc((size_t)out * in, sizeof(float));
	float *wt = xcalloc((size_t)in * lt, sizeof(float));
	size_t n = gemmbf_size(out, in);
	uint16_t *a = xcalloc(n, 2), *b = xcalloc(n, 2), *c = xcalloc(n, 2);
	uint16_t *d = xcalloc(n, 2);
	int bad;

	for (int j = 0; j < out; j++)
		for (int k = 0; k < in; k++) {
			float v = rnd();

			w[(size_t)j * lw + k] = wt[(size_t)k * lt + j] = v;
			ws[(size_t)j * in + k] = 0.125f * v;
		}
	gemmbf_pack(a, ws, out, in);
	gemmbf_pack_rows(b, w, lw, out, in, 0.125f);
	for (int j = 0; j < out; j++)
		memcpy(ws + (size_t)j * in, w + (size_t)j * lw, in * 4);
	gemmbf_pack(c, ws, out, in);
	gemmbf_pack_cols(d, wt, lt, out, in);
	bad = memcmp(a, b, n * 2) != 0 || memcmp(c, d, n * 2) != 0;
	if (bad)
		printf("bf16 packing: out %d in %d differs\n", out, in);
	free(w);
	free(ws);
	free(wt);
	free(a);
	free(b);
	free(c);
	free(d);
	return bad;
}

int
main(int argc, char *argv[])
{
	static const int ns[] = { 1, 5, 6, 7, 12, 13, 100, 264 };
	static const int outs[] = { 1, 15, 16, 17, 32, 48, 64, 100 };
	static const int ins[] = { 1, 7, 8, 17, 64, 255, 256, 257, 600 };
	int bad = 0, cases = 0;

	if (!gemm_ok()) {
		printf("no kernel here\n");
		return 77;
	}
	if (argc > 1)
		rng += strtoull(argv[1], NULL, 10);
	for (size_t a = 0; a < sizeof(ns) / sizeof(*ns); a++)
		for (size_t c = 0; c < sizeof(outs) / sizeof(*outs); c++)
			for (size_t d = 0; d < sizeof(ins) / sizeof(*ins); d++) {
				int n = ns[a], out = outs[c], in = ins[d];
				int v = (int)(a + c + d);

				bad += check(n, out, in, 0, 1, 0, out);
				bad += check(n, out, in, 1, v & 1, v >> 1 & 1,
				    out);
				bad += check(n, out, in, v & 1, 0, 1, out);
				cases += 3;
				if (out % 16 == 0 && out > 16) {
					bad += check(n, out, in, v & 1, 1,
					    v >> 1 & 1, 16);
					cases++;
				}
			}
	printf("%s: %d products, %d differ\n", gemm_name(), cases, bad);
	if (gemmbf_ok()) {
		int bcases = 0, bbad = 0;

		for (size_t a = 0; a < sizeof(ns) / sizeof(*ns); a += 2)
			for (size_t c = 0; c < sizeof(outs) / sizeof(*outs); c++)
				for (size_t d = 0; d < sizeof(ins) / sizeof(*ins);
				    d++) {
					int n = ns[a], out = outs[c], in = ins[d];
					int v = (int)(a + c + d);

					bbad += checkbf(n, out, in, v & 1, 1,
					    v >> 1 & 1, out);
					bbad += checkbf(n, out, in, 1, 0, 1, out);
					bcases += 2;
				}
		for (size_t c = 0; c < sizeof(outs) / sizeof(*outs); c++)
			for (size_t d = 0; d < sizeof(ins) / sizeof(*ins); d++)
				bbad += checkpack(outs[c], ins[d]);
		printf("AVX512-BF16: %d products, %d differ\n", bcases, bbad);
		bad += bbad;
	}
	return bad != 0;
}
