// Tests of dist: Gaussian and tanh-Gaussian log-densities and their reparameterised gradients
// against double-precision references and their central differences, the stable tanh
// correction, and sampling statistics.
//
// Gradient error measure as in test_nn: max |g - r| / max(max |r|, 1e-3) <= GRAD_TOL. The library
// works in double and rounds once, so its gradients are within an ulp or two of float; 1e-6 leaves
// room for the differences' own error (about 1e-9).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "gradcheck.h"
#include "rng.h"

#define GRAD_TOL 1e-6

static const double pi = 3.14159265358979323846;
static const double half_log_2pi = 0.91893853320467274178;   // 0.5 log(2 pi)

enum { B = 4, A = 3, N = B * A };

// ---- double references ----

typedef struct {
  double x[N], mu[N], ls[N], eps[N];   // ls: log_std
  double ca[N], dl[B];                 // loss weights of a and logp
} Ref;

static void ref_logprob(double *logp, const Ref *r) {
  for (int b = 0; b < B; b++) {
    logp[b] = 0;
    for (int j = 0; j < A; j++) {
      int k = b * A + j;
      double z = (r->x[k] - r->mu[k]) / exp(r->ls[k]);
      logp[b] += -0.5 * z * z - r->ls[k] - half_log_2pi;
    }
  }
}

static double logprob_loss(void *p) {
  Ref *r = p;
  double logp[B], s = 0;
  ref_logprob(logp, r);
  for (int b = 0; b < B; b++) s += r->dl[b] * logp[b];
  return s;
}

// the textbook form: log N(u; mu, std) - log(1 - tanh(u)^2), accurate in double for |u| <~ 5
static void ref_tanh_gauss(double *a, double *logp, const Ref *r) {
  for (int b = 0; b < B; b++) {
    logp[b] = 0;
    for (int j = 0; j < A; j++) {
      int k = b * A + j;
      double std = exp(r->ls[k]), u = r->mu[k] + std * r->eps[k], z = (u - r->mu[k]) / std;
      a[k] = tanh(u);
      logp[b] += -0.5 * z * z - r->ls[k] - half_log_2pi - log(1 - tanh(u) * tanh(u));
    }
  }
}

static double tanh_gauss_loss(void *p) {
  Ref *r = p;
  double a[N], logp[B], s = 0;
  ref_tanh_gauss(a, logp, r);
  for (int k = 0; k < N; k++) s += r->ca[k] * a[k];
  for (int b = 0; b < B; b++) s += r->dl[b] * logp[b];
  return s;
}

// float inputs and their double copies
typedef struct {
  float x[N], mu[N], ls[N], eps[N], ca[N], dl[B];
} In;

static void make_inputs(In *in, Ref *r, uint32_t seed) {
  fill(in->x, N, -2, 2, seed);
  fill(in->mu, N, -1, 1, seed + 1);
  fill(in->ls, N, -1.5f, 0.5f, seed + 2);
  fill(in->eps, N, -2, 2, seed + 3);
  fill(in->ca, N, -1, 1, seed + 4);
  fill(in->dl, B, -1, 1, seed + 5);
  for (int k = 0; k < N; k++) {
    r->x[k] = in->x[k], r->mu[k] = in->mu[k], r->ls[k] = in->ls[k], r->eps[k] = in->eps[k];
    r->ca[k] = in->ca[k];
  }
  for (int b = 0; b < B; b++) r->dl[b] = in->dl[b];
}

// ---- Gaussian ----

Test(dist, gauss_sample_formula) {
  In in;
  Ref r;
  make_inputs(&in, &r, 10);
  float u[N];
  dist_gauss_sample(u, in.mu, in.ls, in.eps, B, A);
  for (int k = 0; k < N; k++) {
    double want = r.mu[k] + exp(r.ls[k]) * r.eps[k];
    // one rounding of the double value: within half an ulp, 2^-24 relative
    cr_expect_leq(fabs(u[k] - want), 0x1p-24 * fabs(want), "%d: %.9g vs %.17g", k, u[k], want);
  }
}

// mean and standard deviation of 20000 draws per dimension, normals from an Rng stream: within
// 4 standard errors (sigma / sqrt(n) for the mean, about sigma / sqrt(2n) for the deviation)
Test(dist, gauss_sample_statistics) {
  enum { ROWS = 20000, D = 2 };
  static const float mu_[D] = {1.0f, -2.0f}, std_[D] = {0.5f, 2.0f};
  float *mu = malloc(ROWS * D * sizeof *mu), *ls = malloc(ROWS * D * sizeof *ls);
  float *eps = malloc(ROWS * D * sizeof *eps), *u = malloc(ROWS * D * sizeof *u);
  cr_assert(mu && ls && eps && u);
  for (int i = 0; i < ROWS * D; i++) mu[i] = mu_[i % D], ls[i] = logf(std_[i % D]);
  Rng rng;
  rng_init(&rng, 3, RNG_STREAM_DATA);
  rng_fill_normalf(&rng, eps, ROWS * D, 0.0f, 1.0f);
  dist_gauss_sample(u, mu, ls, eps, ROWS, D);
  for (int j = 0; j < D; j++) {
    double s = 0, sq = 0;
    for (int i = 0; i < ROWS; i++) s += u[i * D + j];
    double mean = s / ROWS;
    for (int i = 0; i < ROWS; i++) sq += (u[i * D + j] - mean) * (u[i * D + j] - mean);
    double sd = sqrt(sq / (ROWS - 1));
    cr_expect_leq(fabs(mean - mu_[j]), 4 * std_[j] / sqrt(ROWS), "mean %g vs %g", mean, mu_[j]);
    cr_expect_leq(fabs(sd - std_[j]), 4 * std_[j] / sqrt(2.0 * ROWS), "sd %g vs %g", sd, std_[j]);
  }
  free(mu), free(ls), free(eps), free(u);
}

Test(dist, gauss_logprob_and_gradients) {
  In in;
  Ref r;
  make_inputs(&in, &r, 20);
  float logp[B], dx[N], dmu[N], dls[N];
  double want[B], fd[N];
  dist_gauss_logprob(logp, in.x, in.mu, in.ls, B, A);
  ref_logprob(want, &r);
  for (int b = 0; b < B; b++)
    cr_expect_leq(fabs(logp[b] - want[b]), 2e-7 * fmax(1, fabs(want[b])), "%.9g vs %.17g", logp[b],
                  want[b]);
  dist_gauss_logprob_backward(dx, dmu, dls, in.dl, in.x, in.mu, in.ls, B, A);
  fd_grad(fd, r.x, N, logprob_loss, &r);
  cr_expect_leq(rel_err(dx, fd, N), GRAD_TOL, "dx %g", rel_err(dx, fd, N));
  fd_grad(fd, r.mu, N, logprob_loss, &r);
  cr_expect_leq(rel_err(dmu, fd, N), GRAD_TOL, "dmu %g", rel_err(dmu, fd, N));
  fd_grad(fd, r.ls, N, logprob_loss, &r);
  cr_expect_leq(rel_err(dls, fd, N), GRAD_TOL, "dlog_std %g", rel_err(dls, fd, N));
  // any output may be skipped; the others do not change
  float dmu2[N];
  dist_gauss_logprob_backward(NULL, dmu2, NULL, in.dl, in.x, in.mu, in.ls, B, A);
  cr_expect_arr_eq(dmu2, dmu, sizeof dmu);
}

// sum_j log_std + 0.5 log(2 pi e), and it is minus the mean log-density of samples
Test(dist, gauss_entropy) {
  In in;
  Ref r;
  make_inputs(&in, &r, 30);
  float ent[B];
  dist_gauss_entropy(ent, in.ls, B, A);
  for (int b = 0; b < B; b++) {
    double want = 0;
    for (int j = 0; j < A; j++) want += r.ls[b * A + j] + 0.5 * log(2 * pi * exp(1.0));
    cr_expect_leq(fabs(ent[b] - want), 2e-7 * fmax(1, fabs(want)), "%.9g vs %.17g", ent[b], want);
  }
  enum { ROWS = 20000 };
  float *u = malloc(ROWS * sizeof *u), *mu = calloc(ROWS, sizeof *mu);
  float *ls = malloc(ROWS * sizeof *ls);
  float *eps = malloc(ROWS * sizeof *eps), *lp = malloc(ROWS * sizeof *lp), e1;
  cr_assert(u && mu && ls && eps && lp);
  for (int i = 0; i < ROWS; i++) ls[i] = -0.7f;
  Rng rng;
  rng_init(&rng, 4, RNG_STREAM_DATA);
  rng_fill_normalf(&rng, eps, ROWS, 0.0f, 1.0f);
  dist_gauss_sample(u, mu, ls, eps, ROWS, 1);
  dist_gauss_logprob(lp, u, mu, ls, ROWS, 1);
  dist_gauss_entropy(&e1, ls, 1, 1);
  double s = 0;
  for (int i = 0; i < ROWS; i++) s -= lp[i];
  // -logp = 0.5 eps^2 + const has standard deviation sqrt(0.5)
  cr_expect_leq(fabs(s / ROWS - e1), 4 * sqrt(0.5 / ROWS), "%g vs %g", s / ROWS, e1);
  free(u), free(mu), free(ls), free(eps), free(lp);
}

// ---- tanh-squashed Gaussian ----

Test(dist, tanh_gauss_sample_matches_naive_formula) {
  In in;
  Ref r;
  make_inputs(&in, &r, 40);
  float a[N], u[N], logp[B], a2[N], logp2[B];
  double wa[N], wl[B];
  dist_tanh_gauss_sample(a, u, logp, in.mu, in.ls, in.eps, B, A);
  ref_tanh_gauss(wa, wl, &r);
  for (int k = 0; k < N; k++) {
    double wu = r.mu[k] + exp(r.ls[k]) * r.eps[k];
    cr_expect_leq(fabs(u[k] - wu), 4e-7 * fmax(1, fabs(wu)), "u[%d]", k);
    cr_expect_leq(fabs(a[k] - wa[k]), 1.2e-7, "a[%d] %.9g vs %.17g", k, a[k], wa[k]);
  }
  for (int b = 0; b < B; b++)
    cr_expect_leq(fabs(logp[b] - wl[b]), 4e-7 * fmax(1, fabs(wl[b])), "logp[%d] %.9g vs %.17g", b,
                  logp[b], wl[b]);
  // u is optional
  dist_tanh_gauss_sample(a2, NULL, logp2, in.mu, in.ls, in.eps, B, A);
  cr_expect_arr_eq(a2, a, sizeof a);
  cr_expect_arr_eq(logp2, logp, sizeof logp);
}

// log(1 - tanh(u)^2) ~ 2 log 2 - 2|u| for large |u|, where tanh rounds to +-1 and the naive form
// is log(0); here u = mu (eps = 0), so logp = -log_std - 0.5 log(2 pi) - correction
Test(dist, tanh_correction_is_finite_far_out) {
  static const float us[] = {20, -20, 50, -50, 100, -1e4f};
  enum { K = sizeof us / sizeof *us };
  float mu[K], ls[K] = {0}, eps[K] = {0}, a[K], logp[K];
  for (int k = 0; k < K; k++) mu[k] = us[k];
  // where the naive form is accurate (double, |u| <= 8) the two agree
  for (float u = -8; u <= 8; u += 0.25f) {
    float ls0 = 0, eps0 = 0, a0, lp;
    dist_tanh_gauss_sample(&a0, NULL, &lp, &u, &ls0, &eps0, 1, 1);
    double want = -half_log_2pi - log(1 - tanh(u) * tanh(u));
    cr_expect_leq(fabs(lp - want), 2e-7 * fmax(1, fabs(want)), "u %g: %.9g vs %.17g", u, lp, want);
  }
  // the premise: in float the naive correction is already log(0) at |u| = 20
  volatile float t = tanhf(20.0f);
  cr_expect(isinf(logf(1.0f - t * t)));
  dist_tanh_gauss_sample(a, NULL, logp, mu, ls, eps, K, 1);
  for (int k = 0; k < K; k++) {
    double au = fabs(us[k]);
    double corr = 2 * (log(2.0) - au - log1p(exp(-2 * au)));
    double want = -half_log_2pi - corr;
    cr_expect(isfinite(logp[k]), "u %g: logp %g", us[k], logp[k]);
    cr_expect_leq(fabs(logp[k] - want), 2e-7 * fabs(want), "u %g: %.9g vs %.17g", us[k], logp[k],
                  want);
    cr_expect_eq(a[k], us[k] > 0 ? 1.0f : -1.0f);
  }
  // gradients stay finite too: d logp / du = 2 tanh(u), da/du = 0
  float da[K], dl[K], dmu[K], dls[K];
  for (int k = 0; k < K; k++) da[k] = 1, dl[k] = 1;
  dist_tanh_gauss_backward(dmu, dls, da, dl, mu, ls, eps, K, 1);
  for (int k = 0; k < K; k++) {
    cr_expect_float_eq(dmu[k], us[k] > 0 ? 2.0f : -2.0f, 1e-6f, "u %g: %g", us[k], dmu[k]);
    cr_expect_float_eq(dls[k], -1.0f, 1e-6f, "u %g: %g", us[k], dls[k]);
  }
}

// L = sum c a + sum d logp with eps fixed: gradients through a = tanh(mu + exp(log_std) eps)
Test(dist, tanh_gauss_gradients) {
  for (uint32_t seed = 50; seed < 53; seed++) {
    In in;
    Ref r;
    make_inputs(&in, &r, seed);
    float dmu[N], dls[N];
    double fd[N];
    dist_tanh_gauss_backward(dmu, dls, in.ca, in.dl, in.mu, in.ls, in.eps, B, A);
    fd_grad(fd, r.mu, N, tanh_gauss_loss, &r);
    cr_expect_leq(rel_err(dmu, fd, N), GRAD_TOL, "dmu %g", rel_err(dmu, fd, N));
    fd_grad(fd, r.ls, N, tanh_gauss_loss, &r);
    cr_expect_leq(rel_err(dls, fd, N), GRAD_TOL, "dlog_std %g", rel_err(dls, fd, N));
  }
}

// tanh(mu), the same bits as a sample with eps = 0
Test(dist, tanh_mean) {
  float mu[] = {-3, -0.5f, 0, 0.25f, 40}, ls[5] = {0.3f, -1, 0, 2, -0.5f}, eps[5] = {0};
  float a[5], a0[5], logp[1];
  dist_tanh_mean(a, mu, 1, 5);
  for (int k = 0; k < 5; k++) cr_expect_leq(fabs(a[k] - tanh(mu[k])), 6e-8, "%d", k);
  dist_tanh_gauss_sample(a0, NULL, logp, mu, ls, eps, 1, 5);
  cr_expect_arr_eq(a0, a, sizeof a);
}
