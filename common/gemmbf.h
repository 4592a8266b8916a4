/*
 * gemmbf.h -- y = x . W^T + b with x and W rounded to bfloat16 and the
 * products summed in float32, on the AVX512-BF16 dot product (vdpbf16ps:
 * in each of 16 lanes, two bf16 products added to a float32 sum), which
 * does twice the work of an FP32 FMA an instruction.
 *
 * gemm.c's blocks (256 inputs, x's rows in tiles that stay in L2, a
 * panel of W in L1), around a kernel of 12 rows x 32 outputs; where x
 * packed whole fits in L2, each panel of W goes through all its blocks
 * at once, so that y's columns stay in cache.  A row's result depends
 * only on that row of x, on W and on b, so packing records together
 * changes no bit; and it is exactly what gemmbf_ref() computes, one
 * scalar operation at a time.
 */
#ifndef GEMMBF_H
#define GEMMBF_H

#include <stddef.h>
#include <stdint.h>

#include "gemm.h"

/* Rows of x a call takes at most. */
#define GEMMBF_ROWS	264
/* Rows and outputs of the kernel; inputs of a block. */
#define GEMMBF_TILE	12
#define GEMMBF_PANEL	32
#define GEMMBF_KC	256

/*
 * 1 where the kernel runs: the CPU has AVX512F, AVX512BW and AVX512-BF16
 * and the system saves their registers.
 */
int	gemmbf_ok(void);	/* HEADCOUNT_NOBF16 set: 0, for tests */

/* The bf16 elements that a packed W (out, in) takes. */
size_t	gemmbf_size(int out, int in);

/*
 * p = w (out, in), row-major as nn.Linear's weight, rounded to bf16 as
 * the processor's conversion rounds (to nearest, ties to even; denormals,
 * which the dot product takes as zeros, to zeros) and rearranged for the
 * kernel: panels of 32
 * outputs, each (in / 2, 32, 2), outputs past out and the input past an
 * odd in as zeros.
 */
void	gemmbf_pack(uint16_t *p, const float *w, int out, int in);

/*
 * The same into p from elsewhere: gemmbf_pack_rows from s . w, w (out,
 * in) with rows lw floats apart (attention's keys, scaled);
 * gemmbf_pack_cols from wt (in, out), w's transpose, rows lw floats apart
 * (attention's values).
 */
void	gemmbf_pack_rows(uint16_t *p, const float *w, size_t lw, int out,
	    int in, float s);
void	gemmbf_pack_cols(uint16_t *p, const float *wt, size_t lw, int out,
	    int in);

/*
 * y (n, out) = bf16(x) (n, in) . w^T + b (out), w packed, b NULL for
 * none, n <= GEMMBF_ROWS; rows of x and y lx and ly floats apart; x
 * rounded as gemmbf_pack() rounds W.  Only
 * where gemmbf_ok().
 */
void	gemmbf_rows(float *y, int ly, const float *x, int lx,
	    const uint16_t *w, const float *b, int n, int out, int in);

/*
 * The same with y's columns in blocks of cb, a multiple of GEMMBF_PANEL:
 * output j goes to column j % cb of the block at y + j / cb * cs (as
 * gemm_rows_split()).
 */
void	gemmbf_rows_split(float *y, int ly, int cb, size_t cs, const float *x,
	    int lx, const uint16_t *w, const float *b, int n, int out, int in);

/*
 * The general form, for training's products, as gemm_run(): x read by
 * rows or as its transpose, y written or added to (gemm.h's structs).
 */
void	gemmbf_run(const struct gemm_y *y, const struct gemm_x *x,
	    const uint16_t *w, const float *b, int n, int out, int in);

/* y (n, out) = bf16(x) . w^T, w packed, for any n: GEMMBF_ROWS at a time. */
void	gemmbf_any(float *y, int ly, const float *x, int lx,
	    const uint16_t *w, int n, int out, int in);

/*
 * The same computed one scalar operation at a time, for tests: for each
 * block of 256 inputs a sum that starts at the bias (first block) or 0,
 * then for each pair of inputs k, k + 1, the product of k + 1 added and
 * rounded, then the product of k; a later block's sum is added to y.
 * w is W unpacked (out, in), already bf16.
 */
void	gemmbf_ref(float *y, int ly, const float *x, int lx, const uint16_t *w,
	    const float *b, int n, int out, int in);

#endif
