/*
 * gemm.h -- the encoder's and the trainer's matrix products, y = x . W^T
 * + b, with W packed into panels of 16 outputs (a dense layer's weights
 * once, attention's keys and values a head at a time) and a kernel of 6
 * rows x 16 outputs in AVX2, or of 12 rows x 32 outputs in AVX-512 where
 * the CPU has it (chosen at run time), which gives the same bits: every
 * output is one chain of FMAs in the same order.  A row's result depends
 * only on that row of x, on W and on b: not on the other rows, on where
 * the row sits in x, or on the thread, so packing records together
 * changes no bit.  For x86-64 CPUs with AVX2 and FMA; elsewhere gemm_ok()
 * is 0 and the caller uses OpenBLAS.
 */
#ifndef GEMM_H
#define GEMM_H

#include <stddef.h>

/* Rows of x a call takes at most (one block of the kernel's loop). */
#define GEMM_ROWS	264
/* Rows of the kernel: a call of a multiple of them has no partial tile. */
#define GEMM_TILE	6
/* Outputs of the kernel, and of a panel of packed weights */
#define GEMM_PANEL	16

/*
 * 1 where the kernel runs: the CPU has AVX2 and FMA, and neither
 * HEADCOUNT_NOAVX2 nor HEADCOUNT_GEMM=openblas is set (for tests).
 * gemm_name() says which: "AVX-512" (the CPU has AVX-512F, and
 * HEADCOUNT_GEMM=avx2 is not set), "AVX2", or "none".
 */
int	gemm_ok(void);
const char *gemm_name(void);

/*
 * w (out, in), row-major as nn.Linear's weight, rearranged in place for
 * the kernel: the first out / 16 * 16 outputs as panels of (in, 16), the
 * rest as one panel of (in, out % 16).  Read it through gemm_rows only.
 */
void	gemm_pack(float *w, int out, int in);

/*
 * The same into p (out * in floats) from elsewhere: gemm_pack_rows from
 * s . w, w (out, in) with rows lw floats apart (attention's keys, scaled);
 * gemm_pack_cols from wt (in, out), w's transpose, rows lw floats apart
 * (attention's values).
 */
void	gemm_pack_rows(float *p, const float *w, size_t lw, int out, int in,
	    float s);
void	gemm_pack_cols(float *p, const float *wt, size_t lw, int out, int in);

/*
 * y (n, out) = x (n, in) . w^T + b (out), w packed, b NULL for none,
 * n <= GEMM_ROWS; rows of x and y lx and ly floats apart.
 */
void	gemm_rows(float *y, int ly, const float *x, int lx, const float *w,
	    const float *b, int n, int out, int in);

/*
 * The same with y's columns in blocks of cb, a multiple of GEMM_PANEL:
 * output j goes to column j % cb of the block at y + j / cb * cs, rows
 * of a block ly floats apart (attention's heads each in a block of
 * their own).
 */
void	gemm_rows_split(float *y, int ly, int cb, size_t cs, const float *x,
	    int lx, const float *w, const float *b, int n, int out, int in);

/* y (n, out) = x (n, in) . w^T, w packed, for any n: GEMM_ROWS at a time. */
void	gemm_any(float *y, int ly, const float *x, int lx, const float *w,
	    int n, int out, int in);

/*
 * The general form, for training's products.  x (n, in): row i's input k
 * at x[i * lx + k], or with trans at x[k * lx + i] (x given as its
 * transpose (in, n): dW = dY^T . X reads dY so).  y as gemm_rows_split's;
 * with add, y += x . w^T + b instead of y =.  n <= GEMM_ROWS.  With
 * trans and sum not NULL, sum (n) = x's rows summed over the inputs, in
 * their order, from the floats x holds (dW's product gives db so, from
 * the reads its packing makes).
 */
struct gemm_x {
	const float	*x;
	int		 lx;
	int		 trans;
	float		*sum;
};
struct gemm_y {
	float	*y;
	int	 ly, cb;
	size_t	 cs;
	int	 add;
};
void	gemm_run(const struct gemm_y *y, const struct gemm_x *x,
	    const float *w, const float *b, int n, int out, int in);

#endif
