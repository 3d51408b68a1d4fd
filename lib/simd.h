// simd: which instruction set the elementwise kernels of nn and rng run on.
//
// Those kernels are written once in GCC vector extensions (16 float lanes) and compiled for
// SSE2 (any x86-64), AVX2 and AVX-512. They use only IEEE-exact lane operations (add, multiply,
// divide, compare, select, integer conversion; -ffp-contract=off keeps FMAs out), so every set
// gives the same bits: results do not depend on the machine's vector width. The widest set the
// CPU has is chosen at start-up.
#ifndef MIRROR_SIMD_H
#define MIRROR_SIMD_H

enum { SIMD_SSE2 = 0, SIMD_AVX2 = 1, SIMD_AVX512 = 2 };

// lanes per vector of the kernels in every set (their layout, so their results, depend on it)
enum { SIMD_LANES = 16 };

// The set in use (SIMD_*).
int simd_level(void);

// Switch to `level`, or to the widest available when level is -1 or not available; returns the
// level now in use. For tests and benchmarks: call it before any thread starts.
int simd_use(int level);

const char *simd_name(int level);   // "sse2", "avx2", "avx512"

#endif
