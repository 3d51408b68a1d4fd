// peak: timing and this machine's single-thread float32 GEMM peak, shared by the benchmarks that
// report speed as a fraction of it (bench_nn, bench_sac).
#ifndef MB_BENCH_PEAK_H
#define MB_BENCH_PEAK_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
// cblas.h pulls in <complex.h>, whose macro I would break nn.h's parameter names
#undef I

#include "fail.h"
#include "rng.h"
#include "simd.h"

enum { REPEATS = 5 };
static const double min_time = 0.3;   // seconds per timing

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*Work)(void *ctx);

// best over REPEATS of the mean time per call, each timing at least min_time long
static double best_time(Work f, void *ctx) {
  f(ctx);   // warm caches and OpenBLAS's buffers
  double best = 1e300;
  for (int r = 0; r < REPEATS; r++) {
    long calls = 0;
    double t0 = now(), t;
    do {
      f(ctx);
      calls++;
      t = now() - t0;
    } while (t < min_time);
    if (t / (double)calls < best) best = t / (double)calls;
  }
  return best;
}

typedef struct {
  int n;
  float *a, *b, *c;
} Square;

static void run_square(void *ctx) {
  Square *s = ctx;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, s->n, s->n, 1.0f, s->a, s->n,
              s->b, s->n, 0.0f, s->c, s->n);
}

// the best sgemm rate over a few large square sizes, in GFLOP/s (prints each)
static double sgemm_peak(Rng *r) {
  static const int sizes[] = {512, 1024, 2048};
  double best = 0.0;
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    Square s = {.n = sizes[k]};
    size_t nn = (size_t)s.n * s.n;
    s.a = xmalloc(nn, sizeof(float), "matrix");
    s.b = xmalloc(nn, sizeof(float), "matrix");
    s.c = xmalloc(nn, sizeof(float), "matrix");
    rng_fill_uniformf(r, s.a, nn, -1.0f, 1.0f);
    rng_fill_uniformf(r, s.b, nn, -1.0f, 1.0f);
    double t = best_time(run_square, &s);
    double gf = 2.0 * s.n * (double)s.n * s.n / t * 1e-9;
    printf("  sgemm %4d^3: %6.1f GFLOP/s\n", s.n, gf);
    if (gf > best) best = gf;
    free(s.a), free(s.b), free(s.c);
  }
  return best;
}

// A benchmark's start: its name for messages, one BLAS thread, r on (1, RNG_STREAM_DATA), and
// this machine's peak, printed with the instruction set of the elementwise kernels. Returns the
// peak in GFLOP/s.
static double bench_start(const char *argv0, Rng *r) {
  fail_set_prog(argv0);
  openblas_set_num_threads(1);
  rng_init(r, 1, RNG_STREAM_DATA);
  double peak = sgemm_peak(r);
  printf("sgemm peak 1 thread: %.1f GFLOP/s; elementwise kernels: %s\n\n", peak,
         simd_name(simd_level()));
  return peak;
}

#endif
