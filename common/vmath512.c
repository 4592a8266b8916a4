/*
 * vmath512.c -- vmath.h's element-wise functions on 16 lanes, for
 * processors with AVX-512: the same operations lane by lane as bert.c's
 * 8-lane ones, so the same bits, in half the instructions.  bert.c
 * chooses them at run time.
 */
#define VL	16
#include "vmath.h"

#if defined(__x86_64__) || defined(__i386__)
VMATH_FUNCS(512, __attribute__((target("avx512f"))))
#endif
