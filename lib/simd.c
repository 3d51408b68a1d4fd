// simd: the instruction-set choice shared by nn's and rng's kernels (see simd.h).
#include "simd.h"

static int level_in_use;

int simd_level(void) { return level_in_use; }

int simd_use(int level) {
  int best = SIMD_SSE2;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) best = SIMD_AVX2;
  if (__builtin_cpu_supports("avx512f")) best = SIMD_AVX512;
#endif
  level_in_use = level < 0 || level > best ? best : level;
  return level_in_use;
}

const char *simd_name(int level) {
  static const char *const names[] = {"sse2", "avx2", "avx512"};
  return level >= 0 && level <= SIMD_AVX512 ? names[level] : "unknown";
}

// before main, so threads only ever read the choice
__attribute__((constructor)) static void simd_choose(void) { simd_use(-1); }
