// Tests of normalizer: Welford updates, Chan merges, stability, the std floor, checkpoints.
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "normalizer.h"
#include "rng.h"

static char err[1024];

// |got - want| <= rel * |want| (or <= rel when want is 0)
#define REL(got, want, rel)                                                                    \
  do {                                                                                         \
    double g_ = (got), w_ = (want);                                                            \
    double t_ = (rel) * (w_ != 0.0 ? fabs(w_) : 1.0);                                          \
    cr_assert(fabs(g_ - w_) <= t_, "%s = %.17g, expected %.17g (rel %g)", #got, g_, w_,        \
              (double)(rel));                                                                  \
  } while (0)

// n rows of dim: dimension d of each row ~ (d + 1) * (offset + scale * N(0, 1))
static double *data(int n, int dim, uint32_t seed, double offset, double scale) {
  double *x = malloc((size_t)n * (size_t)dim * sizeof *x);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  for (int i = 0; i < n; i++)
    for (int d = 0; d < dim; d++)
      x[i * dim + d] = offset * (d + 1) + scale * (d + 1) * rng_normal(&r);
  return x;
}

// textbook two-pass mean and sample variance of column d
static void two_pass(const double *x, int n, int dim, int d, double *mean, double *var) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += x[i * dim + d];
  *mean = s / n;
  double q = 0.0;
  for (int i = 0; i < n; i++) q += (x[i * dim + d] - *mean) * (x[i * dim + d] - *mean);
  *var = q / (n - 1);
}

Test(normalizer, known_answer) {
  Normalizer z;
  cr_assert_eq(norm_init(&z, 2, err, sizeof err), 0, "%s", err);
  double x[4][2] = {{1, 10}, {2, 20}, {3, 30}, {4, 40}};
  for (int i = 0; i < 4; i++) norm_update(&z, x[i]);
  // mean (2.5, 25); m2 = 2.25 + 0.25 + 0.25 + 2.25 = 5 (and 100 times that); var = m2 / 3
  double var[2];
  norm_var(&z, var);
  cr_assert_eq(z.count, 4);
  REL(z.mean[0], 2.5, 1e-15);
  REL(z.mean[1], 25.0, 1e-15);
  REL(z.m2[0], 5.0, 1e-15);
  REL(var[0], 5.0 / 3.0, 1e-15);
  REL(var[1], 500.0 / 3.0, 1e-15);
  norm_reset(&z);
  cr_assert_eq(z.count, 0);
  cr_assert(z.mean[1] == 0.0 && z.m2[1] == 0.0, "reset leaves mean %g m2 %g", z.mean[1], z.m2[1]);
  norm_free(&z);
  cr_assert_eq(norm_init(&z, 0, err, sizeof err), -1, "dim 0 accepted");
  cr_assert(strstr(err, "dimension 0"), "message '%s'", err);
}

Test(normalizer, merge_of_halves_equals_one_pass_and_two_pass) {
  enum { N = 1001, D = 3 };
  double *x = data(N, D, 1, 3.0, 2.0);
  Normalizer all, a, b, batch;
  norm_init(&all, D, err, sizeof err);
  norm_init(&a, D, err, sizeof err);
  norm_init(&b, D, err, sizeof err);
  norm_init(&batch, D, err, sizeof err);
  for (int i = 0; i < N; i++) norm_update(&all, x + i * D);
  for (int i = 0; i < 400; i++) norm_update(&a, x + i * D);   // unequal halves
  norm_update_batch(&b, x + 400 * D, N - 400);
  norm_merge(&a, &b);
  norm_update_batch(&batch, x, 300);
  norm_update_batch(&batch, x + 300 * D, N - 300);   // a batch merged into a non-empty one
  cr_assert_eq(a.count, N);
  cr_assert_eq(batch.count, N);
  double va[D], vall[D], vb[D];
  norm_var(&a, va);
  norm_var(&all, vall);
  norm_var(&batch, vb);
  for (int d = 0; d < D; d++) {
    double m, v;
    two_pass(x, N, D, d, &m, &v);
    REL(a.mean[d], m, 1e-12);
    REL(all.mean[d], m, 1e-12);
    REL(batch.mean[d], m, 1e-12);
    REL(va[d], v, 1e-12);
    REL(vall[d], v, 1e-12);
    REL(vb[d], v, 1e-12);
  }
  norm_free(&all);
  norm_free(&a);
  norm_free(&b);
  norm_free(&batch);
  free(x);
}

Test(normalizer, merge_with_empty_is_identity) {
  enum { N = 50, D = 4 };
  double *x = data(N, D, 2, 1.0, 1.0);
  Normalizer a, e, c;
  norm_init(&a, D, err, sizeof err);
  norm_init(&e, D, err, sizeof err);
  norm_init(&c, D, err, sizeof err);
  norm_update_batch(&a, x, N);
  norm_copy(&c, &a);
  norm_merge(&a, &e);   // a + nothing
  cr_assert_eq(a.count, N);
  cr_assert(memcmp(a.mean, c.mean, D * sizeof(double)) == 0, "mean changed by an empty merge");
  cr_assert(memcmp(a.m2, c.m2, D * sizeof(double)) == 0, "m2 changed by an empty merge");
  norm_merge(&e, &a);   // nothing + a
  cr_assert_eq(e.count, N);
  cr_assert(memcmp(e.mean, a.mean, D * sizeof(double)) == 0, "empty + a differs from a");
  cr_assert(memcmp(e.m2, a.m2, D * sizeof(double)) == 0, "empty + a differs from a");
  norm_update_batch(&a, x, 0);   // an empty batch
  cr_assert_eq(a.count, N);
  cr_assert(memcmp(a.mean, c.mean, D * sizeof(double)) == 0, "an empty batch changed the mean");
  norm_free(&a);
  norm_free(&e);
  norm_free(&c);
  free(x);
}

Test(normalizer, stable_with_large_offset) {
  // 1e8 + N(0, 1): sum-of-squares formulas lose everything here (1e16 vs 1); Welford and the
  // merge must still find variance 1 within 6 standard errors (sqrt(2 / n) = 0.0045 for n = 1e5)
  enum { N = 100000 };
  double *x = data(N, 1, 3, 1e8, 1.0);
  Normalizer w, b, h;
  norm_init(&w, 1, err, sizeof err);
  norm_init(&b, 1, err, sizeof err);
  norm_init(&h, 1, err, sizeof err);
  for (int i = 0; i < N; i++) norm_update(&w, x + i);
  norm_update_batch(&b, x, N / 2);
  norm_update_batch(&h, x + N / 2, N - N / 2);
  norm_merge(&b, &h);
  double m, v, vw, vb;
  two_pass(x, N, 1, 0, &m, &v);
  norm_var(&w, &vw);
  norm_var(&b, &vb);
  cr_assert(fabs(vw - 1.0) < 6 * sqrt(2.0 / N), "Welford variance %.10g", vw);
  cr_assert(fabs(vb - 1.0) < 6 * sqrt(2.0 / N), "merged variance %.10g", vb);
  // and both agree with the two-pass value to far better than the statistical error
  REL(vw, v, 1e-6);
  REL(vb, v, 1e-6);
  // the running mean drifts by rounding (about sqrt(n) ulp(1e8)), far below its error 0.003
  REL(w.mean[0], m, 1e-12);
  norm_free(&w);
  norm_free(&b);
  norm_free(&h);
  free(x);
}

Test(normalizer, std_floor_and_apply) {
  Normalizer z;
  norm_init(&z, 3, err, sizeof err);
  double std[3];
  norm_std(&z, std);   // no samples: all 1
  for (int d = 0; d < 3; d++) cr_assert_eq(std[d], 1.0, "std[%d] = %g with no data", d, std[d]);
  // dim 0: 0 and 2 (mean 1, var 2); dim 1: constant 5; dim 2: deviations +-1e-9, var 2e-18 < 1e-16
  double x[2][3] = {{0, 5, 7}, {2, 5, 7 + 2e-9}};
  norm_update(&z, x[0]);
  norm_std(&z, std);   // one sample: all 1
  for (int d = 0; d < 3; d++) cr_assert_eq(std[d], 1.0, "std[%d] = %g with one sample", d, std[d]);
  norm_update(&z, x[1]);
  norm_std(&z, std);
  REL(std[0], sqrt(2.0), 1e-15);
  cr_assert_eq(std[1], 1.0, "constant dimension: std %g", std[1]);
  cr_assert_eq(std[2], 1.0, "tiny variance: std %g", std[2]);
  // y = (x - mean) / std, also in place
  double in[2][3] = {{3, 5, 8}, {-1, 4, 7}}, y[2][3];
  norm_apply(&z, &in[0][0], &y[0][0], 2);
  REL(y[0][0], 2.0 / sqrt(2.0), 1e-15);
  REL(y[1][0], -2.0 / sqrt(2.0), 1e-15);
  REL(y[0][1], 0.0, 0.0);
  REL(y[1][1], -1.0, 1e-15);
  REL(y[0][2], 1.0 - 1e-9, 1e-12);   // centred by the mean 7 + 1e-9, not scaled
  norm_apply(&z, &in[0][0], &in[0][0], 2);
  cr_assert(memcmp(in, y, sizeof y) == 0, "in-place apply differs");
  norm_free(&z);
}

Test(normalizer, copy_is_deep_and_resizes) {
  enum { D = 3 };
  double *x = data(10, D, 4, 0.0, 1.0);
  Normalizer a, c = {0}, d;
  norm_init(&a, D, err, sizeof err);
  norm_init(&d, 7, err, sizeof err);
  norm_update_batch(&a, x, 10);
  norm_copy(&c, &a);   // into a zeroed struct
  norm_copy(&d, &a);   // into another dimension
  cr_assert_eq(c.dim, D);
  cr_assert_eq(d.dim, D);
  cr_assert_eq(d.count, 10);
  cr_assert(memcmp(d.mean, a.mean, D * sizeof(double)) == 0, "copied mean differs");
  cr_assert(memcmp(c.m2, a.m2, D * sizeof(double)) == 0, "copied m2 differs");
  double keep = c.mean[0];
  norm_update(&a, x);
  cr_assert_eq(c.mean[0], keep, "the copy shares memory with the source");
  norm_free(&a);
  norm_free(&c);
  norm_free(&d);
  free(x);
}

Test(normalizer, save_load_round_trip) {
  char dir[] = "/tmp/mb_norm_XXXXXX", path[64];
  cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/ck.bin", dir);
  enum { D = 5 };
  double *x = data(77, D, 5, 2.0, 3.0);
  Normalizer a, b, wrong;
  norm_init(&a, D, err, sizeof err);
  norm_init(&b, D, err, sizeof err);
  norm_init(&wrong, D + 1, err, sizeof err);
  norm_update_batch(&a, x, 77);
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  cr_assert(w, "%s", err);
  norm_save(&a, w, "obs");
  norm_save(&a, w, "");   // no prefix: plain tags
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  CkptReader *r = ckpt_open(path, "test", err, sizeof err);
  cr_assert(r, "%s", err);
  cr_assert_eq(ckpt_field_size(r, "obs.mean"), D * 8);
  cr_assert_eq(ckpt_field_size(r, "m2"), D * 8);
  cr_assert_eq(norm_load(&b, r, "obs", err, sizeof err), 0, "%s", err);
  cr_assert_eq(b.count, 77);
  cr_assert(memcmp(a.mean, b.mean, D * sizeof(double)) == 0, "mean not bit-exact");
  cr_assert(memcmp(a.m2, b.m2, D * sizeof(double)) == 0, "m2 not bit-exact");
  // another dimension is refused and leaves the target untouched
  cr_assert_eq(norm_load(&wrong, r, "obs", err, sizeof err), -1, "dim %d loaded dim %d", D + 1, D);
  cr_assert(strstr(err, "dimension 5") && strstr(err, "6"), "message '%s'", err);
  cr_assert_eq(wrong.count, 0);
  cr_assert_eq(norm_load(&b, r, "act", err, sizeof err), -1, "a missing prefix loaded");
  cr_assert(strstr(err, "no field 'act.dim'"), "message '%s'", err);
  ckpt_close(r);
  unlink(path);
  rmdir(dir);
  norm_free(&a);
  norm_free(&b);
  norm_free(&wrong);
  free(x);
}
