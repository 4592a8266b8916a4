/*
 * blas.h -- the right OpenBLAS kernels without the user knowing about them.
 *
 * OpenBLAS picks its kernels when the library loads, from the CPU it
 * recognises; an OpenBLAS older than the CPU falls back to slow generic
 * ones (Debian's 0.3.21 runs Prescott's SSE3 kernels on AVX-512 Xeons).
 * blas_init(), first thing in main(), compares the kernels OpenBLAS chose
 * with what the CPU can do and, when they are older and OPENBLAS_CORETYPE
 * is unset, sets OPENBLAS_CORETYPE and executes the program again (the only
 * way to reach a choice made at load time).  A value the user has set is
 * never changed.  HEADCOUNT_CORENAME stands in for OpenBLAS's answer, for
 * tests.
 */
#ifndef BLAS_H
#define BLAS_H

void		 blas_init(char *argv[]);
/* The kernels in use ("Haswell"), and why: "chosen by OpenBLAS" etc. */
const char	*blas_kernel(void);
const char	*blas_why(void);

#endif
