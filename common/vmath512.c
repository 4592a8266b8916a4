/*
 * vmath512.c -- vmath.h's element-wise functions on 16 lanes, for
 * processors with AVX-512: the same operations lane by lane as bert.c's
 * 8-lane ones, so the same bits, in half the instructions.  bert.c
 * chooses them at run time.
 */
#define VL	16
#include "vmath.h"

#if defined(__x86_64__) || defined(__i386__)
#define AVX512	__attribute__((target("avx512f")))

AVX512 void vm512_gelu(float *y, const float *x, size_t n)
    { gelu_body(y, x, n); }
AVX512 void vm512_gelu_grad(float *d, const float *x, size_t n)
    { gelu_grad_body(d, x, n); }
AVX512 void vm512_gelu_tanh(float *y, const float *x, size_t n)
    { gelu_tanh_body(y, x, n); }
AVX512 void vm512_gelu_tanh_grad(float *d, const float *x, size_t n)
    { gelu_tanh_grad_body(d, x, n); }
AVX512 void vm512_erf(float *y, const float *x, size_t n)
    { map_body(y, x, n, 0); }
AVX512 void vm512_exp(float *y, const float *x, size_t n)
    { map_body(y, x, n, 1); }
#endif
