/*
 * tr8.h -- an 8 x 8 transposition of floats in AVX2 registers, for the
 * packing of gemm.c and gemmbf.c (x86 only: include after immintrin.h).
 * Its loops are unrolled: at -O2 gcc kept the vectors in arrays on the
 * stack otherwise, and every shuffle went through memory.
 */
#ifndef TR8_H
#define TR8_H

/* r[i] = element i of each of r[0..7] */
__attribute__((target("avx2"), always_inline)) static inline void
tr8(__m256 r[8])
{
	__m256 t[8], u[8];

#pragma GCC unroll 8
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
	}
#pragma GCC unroll 8
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
		u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
		u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
#pragma GCC unroll 8
	for (int i = 0; i < 4; i++) {
		r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
		r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
	}
}

#endif
