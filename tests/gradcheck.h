// Helpers shared by the tests that check float32 gradients against central differences of
// double-precision references (test_nn, test_dist, and the algorithms' update tests).
//
// Error measure of a gradient g against its reference r (n values):
//   max_i |g_i - r_i| / max(max_i |r_i|, 1e-3)
// so a wrong term fails whatever the scale of the rest, and tiny gradients are judged absolutely.
#ifndef MB_TEST_GRADCHECK_H
#define MB_TEST_GRADCHECK_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "rng.h"

// x[i] ~ U[lo, hi) from a fixed stream of `seed`
static inline void fill(float *x, size_t n, float lo, float hi, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  rng_fill_uniformf(&r, x, n, lo, hi);
}

static inline float *falloc(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  cr_assert(p);
  return p;
}

static inline double *dalloc(size_t n) {
  double *p = calloc(n ? n : 1, sizeof *p);
  cr_assert(p);
  return p;
}

static inline double *to_double(const float *x, size_t n) {
  double *d = dalloc(n);
  for (size_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}

// the error measure above, with g offset by `base` (gradients accumulated onto base)
static inline double rel_err_off(const float *g, float base, const double *r, size_t n) {
  double num = 0.0, den = 1e-3;
  for (size_t i = 0; i < n; i++) {
    double d = fabs(((double)g[i] - base) - r[i]);
    if (!(d <= num)) num = d;   // NaN propagates as a failure
    if (fabs(r[i]) > den) den = fabs(r[i]);
  }
  return num / den;
}

static inline double rel_err(const float *g, const double *r, size_t n) {
  return rel_err_off(g, 0.0f, r, n);
}

typedef double (*LossFn)(void *ctx);

// central differences of f with respect to p[0..n), h = 1e-6 scaled by |p_i|
static inline void fd_grad(double *fd, double *p, size_t n, LossFn f, void *ctx) {
  for (size_t i = 0; i < n; i++) {
    double save = p[i], h = 1e-6 * fmax(1.0, fabs(save));
    p[i] = save + h;
    double up = f(ctx);
    p[i] = save - h;
    double down = f(ctx);
    p[i] = save;
    fd[i] = (up - down) / (2.0 * h);
  }
}

#endif
