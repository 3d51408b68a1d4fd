// Tests of TOM's discriminator (tom_disc.h): its logit and input gradient against a double
// reference, the loss's trunk gradient (BCE rows and the gradient penalty, double
// back-propagation) against central differences, that the branches never move, the schedule of a
// round, and seed-variants 1.6's sanity test: trained on N(1, 1) (label 1) against N(0, 1)
// (label 0), the logit is the log ratio x - 1/2.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "tom_disc.h"

static char err[512];

enum { TO = 2, TA = 1, TH = 6, TK = TH / 2, TP = 2 * TO + TA, TN = 5 };

// ---- a double reference ----

typedef struct {
  const TomDisc *d;
  double *trunk;   // (d->trunk.n) the trunk's parameters in double: W1 (3K, H), b1, w2, b2
  const float *cur, *dat, *u;   // (TN, TP) each, u (TN)
  double label, lambda;
} RefCase;

// D(x) in double, and its input gradient gx (TP) when gx != NULL
static double ref_logit(const TomDisc *d, const double *trunk, const double *x, double *gx) {
  const float *bw = d->branch.w;
  const int off[3] = {0, TO, TO + TA}, nin[3] = {TO, TA, TO};
  double z[3 * TK];
  for (int b = 0, base = 0; b < 3; b++) {   // branch b: W (nin, K) then bias (K)
    for (int k = 0; k < TK; k++) {
      double s = bw[base + nin[b] * TK + k];
      for (int i = 0; i < nin[b]; i++) s += x[off[b] + i] * bw[base + i * TK + k];
      z[b * TK + k] = tanh(s);
    }
    base += nin[b] * TK + TK;
  }
  const double *W1 = trunk, *b1 = trunk + 3 * TK * TH, *w2 = b1 + TH, b2 = w2[TH];
  double h[TH], D = b2;
  for (int k = 0; k < TH; k++) {
    double s = b1[k];
    for (int j = 0; j < 3 * TK; j++) s += z[j] * W1[j * TH + k];
    h[k] = tanh(s);
    D += h[k] * w2[k];
  }
  if (gx) {
    double gz[3 * TK];
    for (int j = 0; j < 3 * TK; j++) {
      double s = 0.0;
      for (int k = 0; k < TH; k++) s += W1[j * TH + k] * w2[k] * (1.0 - h[k] * h[k]);
      gz[j] = s * (1.0 - z[j] * z[j]);
    }
    for (int b = 0, base = 0; b < 3; b++) {
      for (int i = 0; i < nin[b]; i++) {
        double s = 0.0;
        for (int k = 0; k < TK; k++) s += bw[base + i * TK + k] * gz[b * TK + k];
        gx[off[b] + i] = s;
      }
      base += nin[b] * TK + TK;
    }
  }
  return D;
}

static double ref_bce(double l, double y) { return log1p(exp(-l)) + (1.0 - y) * l; }

static double ref_loss(void *ctx) {
  const RefCase *c = ctx;
  double L = 0.0, x[TP], xt[TP], g[TP];
  for (int i = 0; i < TN; i++) {
    for (int j = 0; j < TP; j++) x[j] = c->cur[i * TP + j];
    L += ref_bce(ref_logit(c->d, c->trunk, x, NULL), 1.0) / TN;
    for (int j = 0; j < TP; j++) x[j] = c->dat[i * TP + j];
    L += ref_bce(ref_logit(c->d, c->trunk, x, NULL), c->label) / TN;
    if (c->lambda == 0.0) continue;
    for (int j = 0; j < TP; j++)
      xt[j] = (double)c->u[i] * c->cur[i * TP + j] + (1.0 - (double)c->u[i]) * c->dat[i * TP + j];
    ref_logit(c->d, c->trunk, xt, g);
    double s = 0.0;
    for (int j = 0; j < TP; j++) s += g[j] * g[j];
    L += c->lambda * (sqrt(s) - 1.0) * (sqrt(s) - 1.0) / TN;
  }
  return L;
}

typedef struct {
  const TomDisc *d;
  const double *trunk;
  double *x;
} XCase;

static double ref_logit_of_x(void *ctx) {
  XCase *c = ctx;
  return ref_logit(c->d, c->trunk, c->x, NULL);
}

// A discriminator of the test's sizes with weights from `seed` (biases included: the torch
// default draws them)
static void small_disc(TomDisc *d, uint32_t seed) {
  Rng init;
  rng_init(&init, seed, RNG_STREAM_INIT);
  cr_assert_eq(tom_disc_init(d, TO, TA, TH, 1e-3, 3 * TN, &init, err, sizeof err), 0, "%s", err);
  // larger trunk weights than the default, so the penalty's term is far from 0 and tanh bends
  for (size_t i = 0; i < d->trunk.n; i++) d->trunk.w[i] *= 3.0f;
}

// logit and input gradient of the code against the double reference; the reference's input
// gradient against central differences of its logit
Test(tom_disc, logit_and_input_gradient) {
  TomDisc d;
  small_disc(&d, 1);
  float x[TN * TP], lg[TN], gx[TN * TP];
  fill(x, TN * TP, -1.5f, 1.5f, 2);
  tom_disc_logit(&d, x, TN, lg);
  tom_disc_input_grad(&d, x, TN, gx);
  double *trunk = to_double(d.trunk.w, d.trunk.n), worst_l = 0.0, worst_g = 0.0, worst_fd = 0.0;
  for (int i = 0; i < TN; i++) {
    double xd[TP], g[TP], fd[TP];
    for (int j = 0; j < TP; j++) xd[j] = x[i * TP + j];
    double D = ref_logit(&d, trunk, xd, g);
    worst_l = fmax(worst_l, fabs(D - lg[i]));
    worst_g = fmax(worst_g, rel_err(gx + i * TP, g, TP));
    XCase c = {&d, trunk, xd};
    fd_grad(fd, xd, TP, ref_logit_of_x, &c);
    float gf[TP];
    for (int j = 0; j < TP; j++) gf[j] = (float)g[j];
    worst_fd = fmax(worst_fd, rel_err(gf, fd, TP));
  }
  printf("discriminator: logit off by %.2g, input gradient error %.2g (reference vs central "
         "differences %.2g)\n", worst_l, worst_g, worst_fd);
  cr_expect_lt(worst_l, 1e-5);
  cr_expect_lt(worst_g, 1e-5);
  cr_expect_lt(worst_fd, 1e-5);
  free(trunk);
  tom_disc_free(&d);
}

// the loss and its trunk gradient, with and without the penalty and at either label, against
// the reference and its central differences
Test(tom_disc, loss_gradient) {
  const double lambdas[2] = {0.0, 10.0}, labels[2] = {0.1, 0.0};
  for (int c = 0; c < 2; c++) {
    TomDisc d;
    small_disc(&d, 3 + c);
    float cur[TN * TP], dat[TN * TP], u[TN];
    fill(cur, TN * TP, -1.0f, 1.0f, 10 + c);
    fill(dat, TN * TP, -1.0f, 1.0f, 20 + c);
    fill(u, TN, 0.0f, 1.0f, 30 + c);
    for (int l = 0; l < 2; l++) {
      double gp = -1.0;
      double L = tom_disc_loss(&d, cur, dat, u, TN, labels[c], lambdas[l], &gp);
      RefCase rc = {&d, to_double(d.trunk.w, d.trunk.n), cur, dat, u, labels[c], lambdas[l]};
      double Lref = ref_loss(&rc), *fd = dalloc(d.trunk.n);
      RefCase nopen = rc;
      nopen.lambda = 0.0;
      double gpref = Lref - ref_loss(&nopen);
      fd_grad(fd, rc.trunk, d.trunk.n, ref_loss, &rc);
      double ge = rel_err(d.trunk.g, fd, d.trunk.n), gmax = 0.0;
      for (size_t i = 0; i < d.trunk.n; i++) gmax = fmax(gmax, fabs(fd[i]));
      printf("discriminator loss (label %.1f, lambda %g): L %.6f (reference %.2g off), penalty "
             "%.4f, trunk gradient error %.2g (largest |g| %.3g)\n", labels[c], lambdas[l], L,
             fabs(L - Lref), gp, ge, gmax);
      cr_expect_lt(fabs(L - Lref), 1e-5 * fmax(1.0, fabs(Lref)));
      cr_expect_lt(fabs(gp - gpref), 1e-5 * fmax(1.0, gpref), "penalty %g vs %g", gp, gpref);
      if (lambdas[l] > 0.0) cr_expect_gt(gp, 0.1, "the penalty term is not exercised");
      cr_expect_lt(ge, 1e-4, "trunk gradient error %g", ge);
      free(rc.trunk), free(fd);
    }
    tom_disc_free(&d);
  }
}

// A round trains the trunk only (the branches keep their initial weights), starts from fresh
// weights each time (the same draws give the same network), and runs
// epochs * min(ceil(R / batch), ceil(N / batch)) Adam steps
Test(tom_disc, round_trains_the_trunk_afresh) {
  enum { R = 37, N = 90, B = 16, E = 30 };
  TomDisc d;
  Rng init;
  rng_init(&init, 5, RNG_STREAM_INIT);
  cr_assert_eq(tom_disc_init(&d, TO, TA, TH, 1e-2, B, &init, err, sizeof err), 0, "%s", err);
  float cur[R * TP], dat[N * TP];
  fill(cur, R * TP, 0.0f, 1.0f, 6);
  fill(dat, N * TP, -1.0f, 0.0f, 7);
  float first_trunk[512], first_branch[512];
  cr_assert_leq(d.trunk.n, 512);
  cr_assert_leq(d.branch.n, 512);
  double acc[2], loss[2];
  for (int k = 0; k < 2; k++) {
    Rng a, r;
    rng_init(&a, 8, RNG_STREAM_INIT);
    rng_init(&r, 9, RNG_STREAM_WEIGHTS);
    // scribble on the network: a round must not read what the last one left
    for (size_t i = 0; i < d.trunk.n; i++) d.trunk.w[i] += 0.5f;
    loss[k] = tom_disc_train(&d, cur, R, dat, N, E, B, 0.1, 10.0, &a, &r, &acc[k]);
    cr_expect_eq(d.opt.t, (long)E * 3, "Adam steps %ld, want %d", (long)d.opt.t, E * 3);
    if (k == 0) {
      memcpy(first_trunk, d.trunk.w, d.trunk.n * sizeof(float));
      memcpy(first_branch, d.branch.w, d.branch.n * sizeof(float));
      // the branches are the fresh draws of `a`: a reset from the same stream gives them again
      Rng a2;
      rng_init(&a2, 8, RNG_STREAM_INIT);
      tom_disc_reset(&d, &a2);
      cr_expect_arr_eq(d.branch.w, first_branch, d.branch.n * sizeof(float),
                       "training moved the branches");
      cr_expect_neq(memcmp(d.trunk.w, first_trunk, d.trunk.n * sizeof(float)), 0,
                    "training did not move the trunk");
    }
  }
  cr_expect_arr_eq(d.trunk.w, first_trunk, d.trunk.n * sizeof(float), "rounds differ");
  cr_expect_eq(loss[0], loss[1]);
  cr_expect_eq(acc[0], acc[1]);
  printf("discriminator round: %d steps, last epoch's loss %.4f, accuracy %.3f\n", E * 3,
         loss[0], acc[0]);
  cr_expect_gt(acc[0], 0.9, "two separated boxes are not told apart (accuracy %g)", acc[0]);
  // zero epochs: the fresh network, no step, loss NaN
  Rng a, r;
  rng_init(&a, 8, RNG_STREAM_INIT);
  rng_init(&r, 9, RNG_STREAM_WEIGHTS);
  cr_expect(isnan(tom_disc_train(&d, cur, R, dat, N, 0, B, 0.1, 10.0, &a, &r, NULL)));
  cr_expect_eq(d.opt.t, 0);
  tom_disc_free(&d);
}

// seed-variants 1.6, test 4: x ~ N(1, 1) labelled 1 against x ~ N(0, 1) labelled 0 (x in s; a
// and s' are 0). The Bayes logit is log N(x; 1, 1) / N(x; 0, 1) = x - 1/2, whose gradient norm
// is 1, so the penalty agrees with it. Least squares of the trained logit on x over a grid of
// [-1, 2] (where both densities have mass), averaged over seeds: slope 1 and intercept -1/2
// within 10%.
Test(tom_disc, logit_is_the_log_ratio_of_two_gaussians, .timeout = 120) {
  enum { O = 1, A = 1, P = 3, M = 4096, SEEDS = 4, G = 61 };
  float *cur = falloc((size_t)M * P), *dat = falloc((size_t)M * P), grid[G * P], lg[G];
  double slope_sum = 0.0, icpt_sum = 0.0;
  for (int seed = 1; seed <= SEEDS; seed++) {
    Rng r, init;
    rng_init(&r, seed, RNG_STREAM_DATA);
    for (int i = 0; i < M; i++) {
      cur[i * P] = (float)(1.0 + rng_normal(&r));
      dat[i * P] = (float)rng_normal(&r);
    }
    rng_init(&init, seed, RNG_STREAM_INIT);
    TomDisc d;
    cr_assert_eq(tom_disc_init(&d, O, A, 256, 1e-3, 256, &init, err, sizeof err), 0, "%s", err);
    double acc;
    tom_disc_train(&d, cur, M, dat, M, 20, 256, 0.0, 10.0, &init, &r, &acc);
    memset(grid, 0, sizeof grid);
    for (int g = 0; g < G; g++) grid[g * P] = (float)(-1.0 + 3.0 * g / (G - 1));
    tom_disc_logit(&d, grid, G, lg);
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (int g = 0; g < G; g++) mx += grid[g * P] / G, my += lg[g] / G;
    for (int g = 0; g < G; g++) {
      sxx += (grid[g * P] - mx) * (grid[g * P] - mx);
      sxy += (grid[g * P] - mx) * (lg[g] - my);
    }
    double slope = sxy / sxx, icpt = my - slope * mx;
    printf("gaussians, seed %d: logit = %.3f x %+.3f (accuracy %.3f; Bayes 0.691)\n", seed, slope,
           icpt, acc);
    slope_sum += slope, icpt_sum += icpt;
    tom_disc_free(&d);
  }
  double slope = slope_sum / SEEDS, icpt = icpt_sum / SEEDS;
  printf("gaussians: mean logit = %.3f x %+.3f over %d seeds (want x - 0.5)\n", slope, icpt, SEEDS);
  cr_expect(fabs(slope - 1.0) < 0.1, "slope %g", slope);
  cr_expect(fabs(icpt + 0.5) < 0.05, "intercept %g", icpt);
  free(cur), free(dat);
}

Test(tom_disc, refused_sizes) {
  TomDisc d;
  Rng init;
  rng_init(&init, 1, RNG_STREAM_INIT);
  cr_expect_eq(tom_disc_init(&d, 2, 1, 7, 1e-3, 8, &init, err, sizeof err), -1);
  cr_expect(strstr(err, "even"), "message '%s'", err);
  cr_expect_eq(tom_disc_init(&d, 0, 1, 8, 1e-3, 8, &init, err, sizeof err), -1);
  cr_expect_eq(tom_disc_init(&d, 2, 1, 8, -1.0, 8, &init, err, sizeof err), -1);
  cr_expect_eq(tom_disc_init(&d, 2, 1, 8, 1e-3, 0, &init, err, sizeof err), -1);
}
