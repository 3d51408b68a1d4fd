// rng: Philox4x32-10 streams keyed by (seed, stream id) (see rng.h).
#include "rng.h"

#include <assert.h>
#include <math.h>
#include <string.h>
#include <Random123/philox.h>

static const double two_pi = 6.283185307179586476925286766559;

void rng_init_sub(Rng *r, uint32_t seed, uint32_t stream, uint64_t sub) {
  memset(r, 0, sizeof *r);
  r->key[0] = seed;
  r->key[1] = stream;
  r->ctr[2] = (uint32_t)sub;
  r->ctr[3] = (uint32_t)(sub >> 32);
  r->pos = 4;
}

void rng_init(Rng *r, uint32_t seed, uint32_t stream) { rng_init_sub(r, seed, stream, 0); }

// compute the next block of four words and advance the block counter
static void refill(Rng *r) {
  philox4x32_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
  philox4x32_key_t k = {{r->key[0], r->key[1]}};
  philox4x32_ctr_t out = philox4x32(c, k);
  memcpy(r->buf, out.v, sizeof r->buf);
  if (++r->ctr[0] == 0) ++r->ctr[1];
  r->pos = 0;
}

uint32_t rng_u32(Rng *r) {
  if (r->pos >= 4) refill(r);
  return r->buf[r->pos++];
}

uint64_t rng_u64(Rng *r) {
  uint64_t hi = rng_u32(r);
  return hi << 32 | rng_u32(r);
}

uint64_t rng_below(Rng *r, uint64_t n) {
  assert(n >= 1);
  // reject the lowest (2^64 mod n) values so every residue is equally likely
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = rng_u64(r);
    if (x >= threshold) return x % n;
  }
}

double rng_uniform(Rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

double rng_uniform_range(Rng *r, double lo, double hi) {
  double x = lo + (hi - lo) * rng_uniform(r);
  // rounding can carry x up to hi (e.g. [1e15, 1e15 + 1)): keep the interval half open
  return x < hi ? x : nextafter(hi, lo);
}

double rng_normal(Rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  // 1 - u lies in (0, 1], so the log is finite
  double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  r->spare = rad * sin(two_pi * u2);
  r->has_spare = 1;
  return rad * cos(two_pi * u2);
}

// N(0, 1) conditioned on [a, b] with 0 <= a < b <= inf (Robert 1995)
static double truncnormal_right(Rng *r, double a, double b) {
  double w = b - a;
  if (w <= 1.0 && a * w <= 1.0) {
    // uniform proposal; the density ratio exp((a^2 - z^2) / 2) stays above exp(-1.5)
    for (;;) {
      double z = a + w * rng_uniform(r);
      if (rng_uniform(r) <= exp(0.5 * (a * a - z * z))) return z;
    }
  }
  // translated exponential proposal with the optimal rate for a
  double alpha = 0.5 * (a + sqrt(a * a + 4.0));
  for (;;) {
    double z = a - log(1.0 - rng_uniform(r)) / alpha;
    if (z > b) continue;
    double d = z - alpha;
    if (rng_uniform(r) <= exp(-0.5 * d * d)) return z;
  }
}

double rng_truncnormal(Rng *r, double lo, double hi) {
  assert(lo < hi);
  if (lo >= 0.0) return truncnormal_right(r, lo, hi);
  if (hi <= 0.0) return -truncnormal_right(r, -hi, -lo);
  // the interval contains 0
  if (hi - lo < 2.5066282746310002) {   // sqrt(2 pi): uniform proposal beats the normal one
    for (;;) {
      double z = lo + (hi - lo) * rng_uniform(r);
      if (rng_uniform(r) <= exp(-0.5 * z * z)) return z;
    }
  }
  for (;;) {
    double z = rng_normal(r);
    if (z >= lo && z <= hi) return z;
  }
}

// ---- bulk normals ----

typedef struct {
  uint64_t (*fill_normal)(float *out, size_t n, float mean, float std, const uint32_t key[2],
                          const uint32_t ctr[4], uint64_t index);
} RngKernels;

#define SIMD_KERNELS "rng_simd.inc"
#include "simd_build.h"

void rng_fill_normalf(Rng *r, float *out, size_t n, float mean, float std) {
  if (n == 0) return;
  const RngKernels *k = SIMD_TABLE(kernels)[simd_level()];
  uint64_t index = (uint64_t)r->ctr[1] << 32 | r->ctr[0];
  index += k->fill_normal(out, n, mean, std, r->key, r->ctr, index);
  r->ctr[0] = (uint32_t)index;
  r->ctr[1] = (uint32_t)(index >> 32);
  r->pos = 4;   // the rest of a half-used block is skipped
}

void rng_fill_uniformf(Rng *r, float *out, size_t n, float lo, float hi) {
  // in float, lo + (hi - lo) u rounds up to hi often enough to matter (about 2^-18 of the draws
  // for [100, 101)); those go to the largest float below hi
  float top = nextafterf(hi, lo);
  for (size_t i = 0; i < n; i++) {
    float x = lo + (hi - lo) * (float)rng_uniform(r);
    out[i] = x < hi ? x : top;
  }
}
