// simd_build.h: compile a kernel file once per instruction set (see simd.h). No include guard:
// a .c file defines SIMD_KERNELS as the file's name in quotes, includes this, then looks its
// table up with SIMD_TABLE(name)[simd_level()].
//
// The kernel file sees the vector types below, the lane helpers of simd_lanes.inc, and K(name),
// which gives each definition its set's suffix; it ends with `static const T K(name) = {...}`.
#include <stdint.h>
#include <string.h>

#include "simd.h"

enum { VL = SIMD_LANES };   // lanes per vector
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));
typedef uint32_t vu __attribute__((vector_size(VL * sizeof(uint32_t))));
typedef uint64_t vu64 __attribute__((vector_size(VL * sizeof(uint64_t))));
// lane helpers: always inlined, so no vector crosses a call (nor any ABI) in any build, and
// GCC's note that wide vector arguments change the ABI does not apply
#define LANE static inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

#define K(name) name##_sse2
#include "simd_lanes.inc"
#include SIMD_KERNELS
#undef K

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC target("avx2")
#define K(name) name##_avx2
#include "simd_lanes.inc"
#include SIMD_KERNELS
#undef K
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
#define SIMD_NATIVE_COMPARE   // 16 lanes are one register: comparisons are single instructions
#define K(name) name##_avx512
#include "simd_lanes.inc"
#include SIMD_KERNELS
#undef K
#undef SIMD_NATIVE_COMPARE
#pragma GCC pop_options

#define SIMD_TABLE(name) ((const void *const[]){&name##_sse2, &name##_avx2, &name##_avx512})
#else
#define SIMD_TABLE(name) ((const void *const[]){&name##_sse2, &name##_sse2, &name##_sse2})
#endif
