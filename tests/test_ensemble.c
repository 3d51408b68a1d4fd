// Tests of the probabilistic ensemble: fitting a known noisy 1-D function (mean and noise level),
// early stopping against the rule replayed from the per-epoch holdout errors, elites against
// holdout errors recomputed here, input standardisation, the log-variance soft bounds, the loss
// gradient against central differences of a double-precision reference, the sampled predictions
// and their draw order, the random-elite prediction, checkpoints, determinism, and the planning
// adapter (per-member copies, one copy, termination of a real task).
//
// The references here run in double from the ensemble's float weights. Measured: forward values
// and bounded log-variances 1.6e-7 relative, the adapter's 3-step chains 7e-8, the holdout MSEs
// 3e-8, the loss gradient 5.6e-8 (gradcheck.h's measure); the bounds below leave a margin of
// about 10 or more. Statistical checks use 4 to 4.5 standard errors. Small networks keep the
// binary fast (about 4 s, 8 s with sanitizers).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ensemble.h"
#include "env.h"
#include "gradcheck.h"
#include "mpc.h"
#include "replay.h"

static char err[4400];

static EnsembleParams defaults(void) {
  Config cfg;
  EnsembleParams p;
  cfg_init(&cfg);
  ensemble_params_register(&cfg, "ensemble", &p);
  cfg_free(&cfg);
  return p;
}

// a small ensemble: E members, L elites, `layers` hidden layers of `width`
static EnsembleParams small(int E, int L, int layers, int width, int batch) {
  EnsembleParams p = defaults();
  p.members = E;
  p.elites = L;
  p.hidden_layers = layers;
  p.hidden_size = width;
  p.batch_size = batch;
  return p;
}

static void make(Ensemble *m, const EnsembleParams *p, int O, int A, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_INIT);
  cr_assert_eq(ensemble_init(m, p, O, A, &r, err, sizeof err), 0, "%s", err);
}

// ---- double-precision references ----

static double swish(double z) { return z / (1.0 + exp(-z)); }

static double softplus(double t) { return (t > 0.0 ? t : 0.0) + log1p(exp(-fabs(t))); }

static double softbound(double x, double hi, double lo) {
  double t = hi - softplus(hi - x);
  return lo + softplus(t - lo);
}

// member e of net (Swish hidden, identity output) on double parameters w in net's layout: out
// (2D) from the standardised input x (I)
static void ref_member(double *out, const Mlp *net, int e, const double *w, const double *x) {
  double a[512], b[512];
  memcpy(a, x, (size_t)net->layer[0].in * sizeof *a);
  for (int l = 0; l < net->nlayers; l++) {
    const NnLayer *L = &net->layer[l];
    const double *W = w + L->w_off + (size_t)e * L->in * L->out, *bias = w + L->b_off + e * L->out;
    for (int o = 0; o < L->out; o++) {
      double s = bias[o];
      for (int i = 0; i < L->in; i++) s += a[i] * W[i * L->out + o];
      b[o] = L->act == NN_SWISH ? swish(s) : s;
    }
    memcpy(a, b, (size_t)L->out * sizeof *a);
  }
  memcpy(out, a, (size_t)mlp_out(net) * sizeof *out);
}

// the standardised input (I) of the row (obs, act) as the ensemble's scaler gives it
static void ref_input(double *x, const Ensemble *m, const float *obs, const float *act) {
  for (int i = 0; i < m->O; i++) x[i] = ((double)obs[i] - m->in_mean[i]) / m->in_std[i];
  for (int i = 0; i < m->A; i++)
    x[m->O + i] = ((double)act[i] - m->in_mean[m->O + i]) / m->in_std[m->O + i];
}

// mean (D) and bounded log-variance (D) of member e at (obs, act)
static void ref_gauss(double *mu, double *lv, const Ensemble *m, int e, const float *obs,
                      const float *act) {
  int D = 1 + m->O;
  double x[64], out[128], *w = to_double(m->net.p.w, m->net.p.n);
  ref_input(x, m, obs, act);
  ref_member(out, &m->net, e, w, x);
  for (int j = 0; j < D; j++) {
    mu[j] = out[j];
    lv[j] = softbound(out[D + j], m->p.max_logvar, m->p.min_logvar);
  }
  free(w);
}

// ---- data ----

// the 1-D task: next_obs - obs = sin(3x) + 0.5a + sd(x) N(0, 1), sd = 0.05 for x < 0 and 0.2
// above; reward = cos(2x) - a^2 + 0.1 N(0, 1); x ~ U(-1.5, 1.5), a ~ U(-1, 1)
static double f_delta(double x, double a) { return sin(3.0 * x) + 0.5 * a; }
static double f_rew(double x, double a) { return cos(2.0 * x) - a * a; }
static double sd_delta(double x) { return x < 0.0 ? 0.05 : 0.2; }
static const double sd_rew = 0.1;

static void fill_1d(Replay *rb, size_t n, uint32_t seed) {
  cr_assert_eq(replay_init(rb, n, 1, 1, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  for (size_t i = 0; i < n; i++) {
    double x = rng_uniform_range(&r, -1.5, 1.5), a = rng_uniform_range(&r, -1.0, 1.0);
    double x2 = x + f_delta(x, a) + sd_delta(x) * rng_normal(&r);
    double rew = f_rew(x, a) + sd_rew * rng_normal(&r);
    replay_add(rb, &x, &a, rew, &x2, 0, 0);
  }
}

// a saturating problem with O observation and A action dimensions: next_obs = 0.9 obs + 0.3 act
// (first A entries) + 0.1 N(0, 1), reward = obs_0 + 0.1 N(0, 1); obs ~ U(-1, 1)^O, with obs entry
// `constant` (when >= 0) fixed at 3
static void fill_linear(Replay *rb, size_t n, int O, int A, int constant, uint32_t seed) {
  cr_assert_eq(replay_init(rb, n, O, A, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  double o[8], a[8], o2[8];
  for (size_t i = 0; i < n; i++) {
    for (int j = 0; j < O; j++) o[j] = j == constant ? 3.0 : rng_uniform_range(&r, -1, 1);
    for (int j = 0; j < A; j++) a[j] = rng_uniform_range(&r, -1, 1);
    for (int j = 0; j < O; j++) o2[j] = 0.9 * o[j] + (j < A ? 0.3 * a[j] : 0.0) +
                                        0.1 * rng_normal(&r);
    replay_add(rb, o, a, o[0] + 0.1 * rng_normal(&r), o2, 0, 0);
  }
}

// ---- fitting ----

// 4000 transitions of the 1-D task, 5 members of 2 x 64. Measured (elites on a 57 x 7 grid):
// mean |error| 0.020 (state change) and 0.018 (reward), max 0.068; predicted std 0.051, 0.208
// and 0.101 against 0.05, 0.2 and 0.1; 163 epochs
Test(ensemble, fits_noisy_function) {
  EnsembleParams p = small(5, 3, 2, 64, 64);
  p.max_epochs = 400;
  p.patience = 20;
  Ensemble m;
  make(&m, &p, 1, 1, 1);
  Replay rb;
  fill_1d(&rb, 4000, 2);
  Rng r;
  rng_init(&r, 3, RNG_STREAM_MODEL);
  EnsembleStats st = ensemble_train(&m, &rb, &r);
  cr_log_info("1-D fit: %d epochs (early stop %d), train loss %.4f, elite holdout MSE %.5f",
              st.epochs, st.stopped_early, st.train_loss, st.holdout_mse);

  // a grid inside the data: x in [-1.4, 1.4], a in [-0.9, 0.9]; every elite judged
  enum { NX = 57, NA = 7, N = NX * NA, L = 3 };
  float obs[L * N], act[L * N], mean[L * N * 2], lv[L * N * 2];
  for (int k = 0; k < L; k++)
    for (int i = 0; i < NX; i++)
      for (int j = 0; j < NA; j++) {
        obs[k * N + i * NA + j] = (float)(-1.4 + 0.05 * i);
        act[k * N + i * NA + j] = (float)(-0.9 + 0.3 * j);
      }
  cr_assert_eq(ensemble_gaussian(&m, obs, act, N, 0, mean, lv), L);
  double err_d = 0.0, err_r = 0.0, max_d = 0.0;
  double var_lo = 0.0, var_hi = 0.0, var_r = 0.0;
  int n_lo = 0, n_hi = 0;
  for (int k = 0; k < L * N; k++) {
    double x = obs[k], a = act[k];
    double ed = fabs(mean[2 * k + 1] - f_delta(x, a)), er = fabs(mean[2 * k] - f_rew(x, a));
    err_d += ed;
    err_r += er;
    max_d = fmax(max_d, ed);
    var_r += exp(lv[2 * k]);
    // the noise steps at x = 0: judge it away from the step
    if (x < -0.3) var_lo += exp(lv[2 * k + 1]), n_lo++;
    if (x > 0.3) var_hi += exp(lv[2 * k + 1]), n_hi++;
  }
  err_d /= L * N;
  err_r /= L * N;
  double sd_lo = sqrt(var_lo / n_lo), sd_hi = sqrt(var_hi / n_hi), sd_r = sqrt(var_r / (L * N));
  cr_log_info("1-D fit: mean |error| delta %.4f (max %.4f), reward %.4f; predicted std %.4f "
              "(true 0.05), %.4f (true 0.2), reward %.4f (true 0.1)",
              err_d, max_d, err_r, sd_lo, sd_hi, sd_r);
  cr_expect_lt(err_d, 0.03, "mean |error| of the state change %g", err_d);
  cr_expect_lt(max_d, 0.15, "max |error| of the state change %g", max_d);
  cr_expect_lt(err_r, 0.03, "mean |error| of the reward %g", err_r);
  cr_expect_lt(fabs(sd_lo / 0.05 - 1.0), 0.3, "std where the noise is 0.05: %g", sd_lo);
  cr_expect_lt(fabs(sd_hi / 0.2 - 1.0), 0.3, "std where the noise is 0.2: %g", sd_hi);
  cr_expect_lt(fabs(sd_r / sd_rew - 1.0), 0.3, "reward std %g (0.1)", sd_r);
  replay_free(&rb);
  ensemble_free(&m);
}

// ---- early stopping ----

// the holdout MSE of every member after each of the first K epochs, by training fresh copies
// for 1, 2, ..., K epochs (training is deterministic, so epoch k of a longer call is the same)
static void epoch_history(const EnsembleParams *p, const Replay *rb, int K, double *hist) {
  for (int k = 1; k <= K; k++) {
    EnsembleParams q = *p;
    q.max_epochs = k;
    Ensemble m;
    make(&m, &q, rb->obs_dim, rb->act_dim, 4);
    Rng r;
    rng_init(&r, 5, RNG_STREAM_MODEL);
    EnsembleStats st = ensemble_train(&m, rb, &r);
    cr_assert_eq(st.epochs, k);
    memcpy(hist + (size_t)(k - 1) * p->members, m.mse, (size_t)p->members * sizeof *hist);
    ensemble_free(&m);
  }
}

Test(ensemble, early_stopping) {
  EnsembleParams p = small(3, 2, 1, 16, 32);
  p.patience = 2;
  p.max_epochs = 200;
  Replay rb;
  fill_linear(&rb, 400, 2, 1, -1, 6);
  Ensemble m;
  make(&m, &p, 2, 1, 4);
  Rng r;
  rng_init(&r, 5, RNG_STREAM_MODEL);
  EnsembleStats st = ensemble_train(&m, &rb, &r);
  cr_log_info("patience 2: stopped after %d epochs (early %d), holdout MSE %.5f", st.epochs,
              st.stopped_early, st.holdout_mse);
  cr_assert_eq(st.stopped_early, 1);
  cr_assert_lt(st.epochs, 200);
  ensemble_free(&m);

  // the rule replayed on the per-epoch errors: improvement (best - now) / best > 0.01, stop once
  // no member improved for more than 2 epochs
  int K = st.epochs;
  double *hist = dalloc((size_t)K * 3);
  epoch_history(&p, &rb, K, hist);
  double best[3] = {INFINITY, INFINITY, INFINITY};
  int since = 0, stop = 0;
  for (int k = 0; k < K && !stop; k++) {
    int imp = 0;
    for (int e = 0; e < 3; e++) {
      double now = hist[k * 3 + e];
      if (isinf(best[e]) || (best[e] - now) / best[e] > p.improvement) best[e] = now, imp = 1;
    }
    since = imp ? 0 : since + 1;
    if (since > 2) stop = k + 1;
  }
  cr_expect_eq(stop, K, "the rule stops at epoch %d, training at %d", stop, K);
  free(hist);

  // the cap: three epochs, not an early stop
  p.max_epochs = 3;
  make(&m, &p, 2, 1, 4);
  rng_init(&r, 5, RNG_STREAM_MODEL);
  st = ensemble_train(&m, &rb, &r);
  cr_expect_eq(st.epochs, 3);
  cr_expect_eq(st.stopped_early, 0);
  ensemble_free(&m);
  replay_free(&rb);
}

// ---- elites, standardisation ----

Test(ensemble, elites_are_lowest_holdout_errors) {
  EnsembleParams p = small(6, 3, 2, 16, 32);
  p.max_epochs = 8;
  Replay rb;
  fill_linear(&rb, 500, 3, 2, -1, 7);
  Ensemble m;
  make(&m, &p, 3, 2, 8);
  Rng r;
  rng_init(&r, 9, RNG_STREAM_MODEL);
  EnsembleStats st = ensemble_train(&m, &rb, &r);
  cr_assert_eq(m.nhold, 100);
  cr_assert_eq(m.ntrain, 400);

  // each member's MSE over the held-out rows, recomputed in double
  double mse[6] = {0}, *w = to_double(m.net.p.w, m.net.p.n);
  for (size_t i = 0; i < m.nhold; i++) {
    size_t s = replay_slot(&rb, m.split[i]);
    double x[8], out[8];
    ref_input(x, &m, rb.obs + s * 3, rb.act + s * 2);
    double y[4] = {rb.rew[s]};
    for (int j = 0; j < 3; j++) y[1 + j] = (double)rb.next_obs[s * 3 + j] - rb.obs[s * 3 + j];
    for (int e = 0; e < 6; e++) {
      ref_member(out, &m.net, e, w, x);
      for (int j = 0; j < 4; j++) mse[e] += (out[j] - y[j]) * (out[j] - y[j]) / (m.nhold * 4.0);
    }
  }
  free(w);
  double worst = 0.0;
  for (int e = 0; e < 6; e++) {
    worst = fmax(worst, fabs(m.mse[e] / mse[e] - 1.0));
    cr_expect_lt(fabs(m.mse[e] / mse[e] - 1.0), 1e-5, "member %d: %.9g vs %.9g", e, m.mse[e],
                 mse[e]);
  }
  // the elites: the three lowest, best first, and the rest above them
  int seen[6] = {0};
  double sum = 0.0;
  for (int k = 0; k < 3; k++) {
    int e = m.elite_idx[k];
    seen[e] = 1;
    sum += mse[e];
    if (k > 0) cr_expect_leq(mse[m.elite_idx[k - 1]], mse[e], "elite order at %d", k);
  }
  for (int e = 0; e < 6; e++)
    if (!seen[e]) cr_expect_geq(mse[e], mse[m.elite_idx[2]], "member %d is not an elite", e);
  cr_expect_lt(fabs(st.holdout_mse / (sum / 3) - 1.0), 1e-5);
  cr_log_info("holdout MSE per member: %.5f %.5f %.5f %.5f %.5f %.5f (relative difference %.2g);"
              " elites %d %d %d", mse[0], mse[1], mse[2], mse[3], mse[4], mse[5], worst,
              m.elite_idx[0], m.elite_idx[1], m.elite_idx[2]);

  // the planning copies are exactly those members
  for (int k = 0; k < 3; k++)
    for (int l = 0; l < m.net.nlayers; l++) {
      const NnLayer *L = &m.net.layer[l];
      size_t nw = (size_t)L->in * L->out;
      cr_expect_arr_eq(m.elite.p.w + m.elite.layer[l].w_off + k * nw,
                       m.net.p.w + L->w_off + m.elite_idx[k] * nw, nw * sizeof(float));
      cr_expect_arr_eq(m.elite.p.w + m.elite.layer[l].b_off + k * L->out,
                       m.net.p.w + L->b_off + m.elite_idx[k] * L->out, L->out * sizeof(float));
    }
  // the split is a permutation of the positions
  int *hit = calloc(500, sizeof *hit);
  for (size_t i = 0; i < 500; i++) hit[m.split[i]]++;
  for (size_t i = 0; i < 500; i++) cr_expect_eq(hit[i], 1);
  free(hit);
  ensemble_free(&m);
  replay_free(&rb);
}

Test(ensemble, input_standardisation) {
  EnsembleParams p = small(2, 1, 1, 8, 32);
  p.max_epochs = 1;
  Replay rb;
  fill_linear(&rb, 300, 3, 2, 1, 10);   // obs entry 1 is constant
  Ensemble m;
  make(&m, &p, 3, 2, 11);
  for (int j = 0; j < 5; j++) cr_expect(m.in_mean[j] == 0.0 && m.in_std[j] == 1.0);
  Rng r;
  rng_init(&r, 12, RNG_STREAM_MODEL);
  ensemble_train(&m, &rb, &r);
  // mean and population std of the training split's inputs
  double mu[5] = {0}, sd[5] = {0};
  for (size_t i = m.nhold; i < 300; i++) {
    size_t s = replay_slot(&rb, m.split[i]);
    for (int j = 0; j < 5; j++) mu[j] += j < 3 ? rb.obs[s * 3 + j] : rb.act[s * 2 + j - 3];
  }
  for (int j = 0; j < 5; j++) mu[j] /= (double)m.ntrain;
  for (size_t i = m.nhold; i < 300; i++) {
    size_t s = replay_slot(&rb, m.split[i]);
    for (int j = 0; j < 5; j++) {
      double v = j < 3 ? rb.obs[s * 3 + j] : rb.act[s * 2 + j - 3];
      sd[j] += (v - mu[j]) * (v - mu[j]) / (double)m.ntrain;
    }
  }
  for (int j = 0; j < 5; j++) {
    cr_expect_lt(fabs(m.in_mean[j] - mu[j]), 1e-12, "mean %d: %.17g vs %.17g", j, m.in_mean[j],
                 mu[j]);
    double want = j == 1 ? 1.0 : sqrt(sd[j]);
    cr_expect_lt(fabs(m.in_std[j] / want - 1.0), 1e-12, "std %d: %.17g vs %.17g", j, m.in_std[j],
                 want);
  }
  cr_expect_eq(m.in_mean[1], 3.0, "the constant column's mean");
  // the holdout rows are not in the statistics: the whole buffer's mean differs
  double all = 0.0;
  for (size_t i = 0; i < 300; i++) all += rb.obs[i * 3];
  cr_expect_gt(fabs(all / 300 - m.in_mean[0]), 1e-6);
  ensemble_free(&m);
  replay_free(&rb);
}

// ---- the Gaussian head ----

// the forward values and the soft bounds against the reference, on ordinary and extreme inputs
Test(ensemble, logvar_soft_bounds) {
  EnsembleParams p = small(3, 2, 2, 12, 16);
  p.max_logvar = 0.25;
  p.min_logvar = -1.5;
  Ensemble m;
  make(&m, &p, 2, 1, 13);
  // a scaler as if trained, so standardisation takes part
  m.in_mean[0] = 0.5, m.in_mean[1] = -0.25, m.in_mean[2] = 0.1;
  m.in_std[0] = 2.0, m.in_std[1] = 0.5, m.in_std[2] = 0.3;
  enum { N = 40, E = 3, D = 3 };
  float obs[E * N * 2], act[E * N], mean[E * N * D], lv[E * N * D];
  fill(obs, E * N * 2, -3, 3, 14);
  fill(act, E * N, -1, 1, 15);
  for (int i = 0; i < 10; i++) obs[i * 2] = (i % 2 ? 1 : -1) * 1e3f * (i + 1);   // extremes
  cr_assert_eq(ensemble_gaussian(&m, obs, act, N, 1, mean, lv), E);
  // the range of the two soft bounds: (lo, lo + softplus(hi - lo)), a little above hi when the
  // bounds are close (here 0.4102; 0.50003 at the defaults)
  double lo = -1.5, hi = lo + softplus(0.25 - lo);
  double worst = 0.0, top = -INFINITY, bottom = INFINITY;
  for (int e = 0; e < E; e++)
    for (int i = 0; i < N; i++) {
      int k = e * N + i;
      double mu[D], l[D];
      ref_gauss(mu, l, &m, e, obs + k * 2, act + k);
      for (int j = 0; j < D; j++) {
        // (the float kernel may pass the top by a few ulp of |lo| + |hi|)
        cr_expect(lv[k * D + j] >= lo && lv[k * D + j] <= hi + 1e-6, "logvar %.9g", lv[k * D + j]);
        // the extreme rows (i < 10) reach 1e4 inside the network: only their bounded
        // log-variance is compared
        double dl = fabs(lv[k * D + j] - l[j]);
        double dm = fabs(mean[k * D + j] - mu[j]) / fmax(1, fabs(mu[j]));
        worst = fmax(worst, i < 10 ? dl : fmax(dl, dm));
        top = fmax(top, lv[k * D + j]);
        bottom = fmin(bottom, lv[k * D + j]);
      }
    }
  cr_log_info("soft bounds: largest relative difference to the reference %.3g; logvar in "
              "[%.6f, %.6f]", worst, bottom, top);
  cr_expect_lt(worst, 1e-5);
  // extreme inputs push the log-variance onto both bounds
  cr_expect_gt(top, hi - 1e-3);
  cr_expect_lt(bottom, lo + 1e-3);
  ensemble_free(&m);
}

typedef struct {
  const Ensemble *m;
  double *w;            // parameters in double
  const float *x, *y;   // the batch (E, B, I), (E, B, D)
  int B;
} LossRef;

// sum over members of the mean over rows and outputs of (mu - y)^2 exp(-lv) + lv, plus
// 0.5 wd k_l ||W_l||^2 with k = 1, 2, 3, 3, 4 (five layers)
static double ref_loss(void *ctx) {
  LossRef *c = ctx;
  const Ensemble *m = c->m;
  int E = m->E, D = 1 + m->O, I = m->O + m->A;
  double total = 0.0, x[16], out[16];
  for (int e = 0; e < E; e++) {
    double s = 0.0;
    for (int i = 0; i < c->B; i++) {
      for (int j = 0; j < I; j++) x[j] = c->x[((size_t)e * c->B + i) * I + j];
      ref_member(out, &m->net, e, c->w, x);
      for (int j = 0; j < D; j++) {
        double lv = softbound(out[D + j], m->p.max_logvar, m->p.min_logvar);
        double r = out[j] - c->y[((size_t)e * c->B + i) * D + j];
        s += r * r * exp(-lv) + lv;
      }
    }
    total += s / (c->B * D);
  }
  static const int k[5] = {1, 2, 3, 3, 4};
  for (int l = 0; l < m->net.nlayers; l++) {
    const NnLayer *L = &m->net.layer[l];
    double sq = 0.0;
    const double *W = c->w + L->w_off;
    for (size_t i = 0; i < (size_t)E * L->in * L->out; i++) sq += W[i] * W[i];
    total += 0.5 * m->p.weight_decay * k[l] * sq;
  }
  return total;
}

Test(ensemble, loss_gradient) {
  enum { E = 2, B = 3, O = 2, A = 1, D = 3, I = 3 };
  EnsembleParams p = small(E, 1, 4, 4, B);
  p.weight_decay = 0.02;
  p.max_logvar = 0.3;
  p.min_logvar = -0.6;
  Ensemble m;
  make(&m, &p, O, A, 16);
  fill(m.net.p.w, m.net.p.n, -0.9f, 0.9f, 17);   // larger than the init: outputs reach the bounds
  float x[E * B * I], y[E * B * D];
  fill(x, E * B * I, -1.5f, 1.5f, 18);
  fill(y, E * B * D, -1, 1, 19);
  double decay;
  double loss = ensemble_batch_loss(&m, x, y, B, &decay);

  LossRef c = {&m, to_double(m.net.p.w, m.net.p.n), x, y, B};
  double total = ref_loss(&c), *fd = dalloc(m.net.p.n);
  fd_grad(fd, c.w, m.net.p.n, ref_loss, &c);
  double e = rel_err(m.net.p.g, fd, m.net.p.n);
  cr_log_info("loss gradient: relative error %.3g over %zu parameters; loss %.6f + decay %.6f",
              e, m.net.p.n, loss, decay);
  cr_expect_lt(e, 1e-5);
  cr_expect_lt(fabs(loss + decay - total) / fabs(total), 1e-6, "%.9g + %.9g vs %.9g", loss, decay,
               total);
  // the bounds are active in this batch: some raw log-variances lie outside them
  double *wd = to_double(m.net.p.w, m.net.p.n), out[8];
  int outside = 0;
  for (int k = 0; k < E * B; k++) {
    double xx[I];
    for (int j = 0; j < I; j++) xx[j] = x[k * I + j];
    ref_member(out, &m.net, k / B, wd, xx);
    for (int j = 0; j < D; j++) outside += out[D + j] > 0.3 || out[D + j] < -0.6;
  }
  cr_expect_gt(outside, 0);
  // a second call gives the same gradient (it is written, not accumulated)
  float *g1 = falloc(m.net.p.n);
  memcpy(g1, m.net.p.g, m.net.p.n * sizeof *g1);
  ensemble_batch_loss(&m, x, y, B, NULL);
  cr_expect_arr_eq(g1, m.net.p.g, m.net.p.n * sizeof *g1);
  free(g1), free(wd), free(fd), free(c.w);
  ensemble_free(&m);
}

// ---- sampled predictions ----

Test(ensemble, sampled_prediction_statistics) {
  enum { L = 3, N = 2, O = 2, A = 1, D = 3, K = 20000 };
  EnsembleParams p = small(4, L, 2, 16, 16);
  Ensemble m;
  make(&m, &p, O, A, 20);
  float obs[L * N * O], act[L * N * A], mean[L * N * D], lv[L * N * D];
  fill(obs, L * N * O, -1, 1, 21);
  fill(act, L * N * A, -1, 1, 22);
  cr_assert_eq(ensemble_gaussian(&m, obs, act, N, 0, mean, lv), L);

  // the documented order: (L, N, 1 + O) normals, reward first; with r == NULL the means
  Rng r, copy;
  rng_init(&r, 23, RNG_STREAM_PLANNER);
  copy = r;
  float next[L * N * O], rew[L * N], eps[L * N * D];
  cr_assert_eq(ensemble_predict(&m, obs, act, N, 0, &r, next, rew), L);
  rng_fill_normalf(&copy, eps, L * N * D, 0.0f, 1.0f);
  cr_expect_eq(memcmp(&r, &copy, sizeof r), 0, "the draws stop where the copy's do");
  for (int k = 0; k < L * N; k++) {
    double want = mean[k * D] + exp(0.5 * lv[k * D]) * eps[k * D];
    cr_expect_lt(fabs(rew[k] - want), 1e-5 * fmax(1, fabs(want)));
    for (int j = 0; j < O; j++) {
      int i = k * D + 1 + j;
      want = obs[k * O + j] + mean[i] + exp(0.5 * lv[i]) * eps[i];
      cr_expect_lt(fabs(next[k * O + j] - want), 1e-5 * fmax(1, fabs(want)));
    }
  }
  ensemble_predict(&m, obs, act, N, 0, NULL, next, rew);
  for (int k = 0; k < L * N; k++) {
    cr_expect_eq(rew[k], mean[k * D]);
    for (int j = 0; j < O; j++) cr_expect_eq(next[k * O + j], obs[k * O + j] + mean[k * D + 1 + j]);
  }

  // mean and std over many draws
  double s1[L * N * D] = {0}, s2[L * N * D] = {0};
  for (int t = 0; t < K; t++) {
    ensemble_predict(&m, obs, act, N, 0, &r, next, rew);
    for (int k = 0; k < L * N; k++)
      for (int j = 0; j < D; j++) {
        double v = j == 0 ? rew[k] : (double)next[k * O + j - 1] - obs[k * O + j - 1];
        s1[k * D + j] += v;
        s2[k * D + j] += v * v;
      }
  }
  double zm = 0.0, zs = 0.0;
  for (int i = 0; i < L * N * D; i++) {
    double mu = s1[i] / K, sd = sqrt(s2[i] / K - mu * mu), want = exp(0.5 * lv[i]);
    zm = fmax(zm, fabs(mu - mean[i]) / (want / sqrt(K)));
    zs = fmax(zs, fabs(sd / want - 1.0) * sqrt(2.0 * K));
  }
  cr_log_info("sampled predictions, %d draws: largest z of the mean %.2f, of the std %.2f", K, zm,
              zs);
  cr_expect_lt(zm, 4.5);
  cr_expect_lt(zs, 4.5);
  ensemble_free(&m);
}

// which elite produced row i: the one whose mean + std eps is nearest
static int nearest(const float *mean, const float *lv, const float *eps, const float *obs,
                   const float *next, float rew, int L, int n, int i, int O) {
  int best = -1, D = 1 + O;
  double bd = INFINITY;
  for (int k = 0; k < L; k++) {
    const float *mu = mean + ((size_t)k * n + i) * D, *l = lv + ((size_t)k * n + i) * D;
    double d = fabs(mu[0] + exp(0.5 * l[0]) * eps[i * D] - rew);
    for (int j = 0; j < O; j++)
      d += fabs(obs[i * O + j] + mu[1 + j] + exp(0.5 * l[1 + j]) * eps[i * D + 1 + j] -
                next[i * O + j]);
    if (d < bd) bd = d, best = k;
  }
  return bd < 1e-4 ? best : -1;
}

Test(ensemble, random_elite_prediction) {
  enum { L = 4, N = 8000, O = 2, A = 1, D = 3 };
  EnsembleParams p = small(5, L, 1, 8, 16);
  Ensemble m;
  make(&m, &p, O, A, 24);
  m.elite_idx[0] = 4, m.elite_idx[1] = 2, m.elite_idx[2] = 0, m.elite_idx[3] = 3;
  float *obs = falloc(N * O), *act = falloc(N * A), *next = falloc(N * O), *rew = falloc(N);
  fill(obs, N * O, -1, 1, 25);
  fill(act, N * A, -1, 1, 26);
  // the elite copies as training leaves them (the first L members before any training)
  char dir[] = "/tmp/mb_ens_XXXXXX", path[64];
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/ck.bin", dir);
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  cr_assert(w, "%s", err);
  ensemble_save(&m, w, "m");
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  CkptReader *ck = ckpt_open(path, "test", err, sizeof err);
  cr_assert(ck, "%s", err);
  cr_assert_eq(ensemble_load(&m, ck, "m", err, sizeof err), 0, "%s", err);   // rebuilds elite
  ckpt_close(ck);
  unlink(path);
  rmdir(dir);

  // every elite's Gaussian for every row, then one random prediction
  float *obsL = falloc(L * N * O), *actL = falloc(L * N * A);
  float *mean = falloc(L * N * D), *lv = falloc(L * N * D);
  for (int k = 0; k < L; k++) {
    memcpy(obsL + k * N * O, obs, N * O * sizeof *obs);
    memcpy(actL + k * N * A, act, N * A * sizeof *act);
  }
  ensemble_gaussian(&m, obsL, actL, N, 0, mean, lv);
  Rng r, copy;
  rng_init(&r, 27, RNG_STREAM_PLANNER);
  copy = r;
  ensemble_predict_random(&m, obs, act, N, 0, &r, next, rew);

  // the documented draws: N elites, then N (1 + O) normals
  int *pick = calloc(N, sizeof *pick), count[L] = {0};
  float *eps = falloc(N * D);
  for (int i = 0; i < N; i++) pick[i] = (int)rng_below(&copy, L);
  rng_fill_normalf(&copy, eps, N * D, 0.0f, 1.0f);
  cr_expect_eq(memcmp(&r, &copy, sizeof r), 0);
  int wrong = 0;
  for (int i = 0; i < N; i++) {
    int k = nearest(mean, lv, eps, obs, next, rew[i], L, N, i, O);
    wrong += k != pick[i];
    if (k >= 0) count[k]++;
  }
  cr_expect_eq(wrong, 0, "%d rows not from their drawn elite", wrong);
  // binomial(N, 1/4): sd 38.7
  cr_log_info("random elite: rows per elite %d %d %d %d (expected %d)", count[0], count[1],
              count[2], count[3], N / L);
  for (int k = 0; k < L; k++) cr_expect_lt(abs(count[k] - N / L), 4 * 39, "elite %d", k);
  free(pick), free(eps), free(obs), free(act), free(next), free(rew);
  free(obsL), free(actL), free(mean), free(lv);
  ensemble_free(&m);
}

// ---- checkpoints, determinism ----

static void ckpt_path(char *dir, char *path, size_t n) {
  cr_assert(mkdtemp(dir));
  snprintf(path, n, "%s/ck.bin", dir);
}

Test(ensemble, save_load_continues_identically) {
  EnsembleParams p = small(3, 2, 2, 12, 32);
  p.max_epochs = 4;
  Replay rb;
  fill_linear(&rb, 300, 2, 1, -1, 30);
  Ensemble a, b;
  make(&a, &p, 2, 1, 31);
  make(&b, &p, 2, 1, 99);   // other weights, overwritten by the load
  Rng r;
  rng_init(&r, 32, RNG_STREAM_MODEL);
  ensemble_train(&a, &rb, &r);

  char dir[] = "/tmp/mb_ens_XXXXXX", path[64];
  ckpt_path(dir, path, sizeof path);
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  cr_assert(w, "%s", err);
  ensemble_save(&a, w, "model");
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  CkptReader *ck = ckpt_open(path, "test", err, sizeof err);
  cr_assert(ck, "%s", err);
  cr_assert_eq(ensemble_load(&b, ck, "model", err, sizeof err), 0, "%s", err);
  ckpt_close(ck);
  cr_expect_eq(b.trained, 1);
  cr_expect_arr_eq(a.elite_idx, b.elite_idx, 2 * sizeof(int));

  // predictions, then one more training call on more data, then predictions again
  enum { N = 5 };
  float obs[2 * N * 2], act[2 * N], n1[2 * N * 2], n2[2 * N * 2], r1[2 * N], r2[2 * N];
  fill(obs, 2 * N * 2, -1, 1, 33);
  fill(act, 2 * N, -1, 1, 34);
  Rng pa, pb;
  rng_init(&pa, 35, RNG_STREAM_PLANNER);
  pb = pa;
  ensemble_predict(&a, obs, act, N, 0, &pa, n1, r1);
  ensemble_predict(&b, obs, act, N, 0, &pb, n2, r2);
  cr_expect_arr_eq(n1, n2, sizeof n1);
  cr_expect_arr_eq(r1, r2, sizeof r1);
  Replay more;
  fill_linear(&more, 400, 2, 1, -1, 36);
  Rng rb2 = r;
  EnsembleStats s1 = ensemble_train(&a, &more, &r), s2 = ensemble_train(&b, &more, &rb2);
  cr_expect_eq(memcmp(&s1, &s2, sizeof s1), 0);
  cr_expect_arr_eq(a.net.p.w, b.net.p.w, a.net.p.n * sizeof(float));
  cr_expect_arr_eq(a.opt.state[0], b.opt.state[0], a.net.p.n * sizeof(float));
  cr_expect_arr_eq(a.elite.p.w, b.elite.p.w, a.elite.p.n * sizeof(float));
  ensemble_predict_random(&a, obs, act, N, 0, &pa, n1, r1);
  ensemble_predict_random(&b, obs, act, N, 0, &pb, n2, r2);
  cr_expect_arr_eq(n1, n2, sizeof n1);
  cr_expect_arr_eq(r1, r2, sizeof r1);

  // another architecture is refused with the field named
  EnsembleParams q = p;
  q.hidden_size = 13;
  Ensemble c;
  make(&c, &q, 2, 1, 1);
  ck = ckpt_open(path, "test", err, sizeof err);
  cr_assert(ck, "%s", err);
  cr_expect_eq(ensemble_load(&c, ck, "model", err, sizeof err), -1);
  cr_expect(strstr(err, "model.net"), "message '%s'", err);
  ckpt_close(ck);
  unlink(path);
  rmdir(dir);
  ensemble_free(&a);
  ensemble_free(&b);
  ensemble_free(&c);
  replay_free(&rb);
  replay_free(&more);
}

Test(ensemble, training_is_deterministic) {
  EnsembleParams p = small(3, 2, 2, 12, 32);
  p.max_epochs = 5;
  Replay rb;
  fill_linear(&rb, 250, 2, 1, -1, 40);
  Ensemble a, b;
  make(&a, &p, 2, 1, 41);
  make(&b, &p, 2, 1, 41);
  Rng ra, rb_;
  rng_init(&ra, 42, RNG_STREAM_MODEL);
  rng_init(&rb_, 42, RNG_STREAM_MODEL);
  EnsembleStats s1 = ensemble_train(&a, &rb, &ra);
  // b's prediction buffers are in use before its training: nothing carries over
  float obs[3 * 7 * 2] = {0}, act[3 * 7] = {0}, nx[3 * 7 * 2], rw[3 * 7];
  ensemble_predict(&b, obs, act, 7, 1, NULL, nx, rw);
  EnsembleStats s2 = ensemble_train(&b, &rb, &rb_);
  cr_expect_eq(memcmp(&s1, &s2, sizeof s1), 0);
  cr_expect_arr_eq(a.net.p.w, b.net.p.w, a.net.p.n * sizeof(float));
  // another training stream gives other weights
  Ensemble c;
  make(&c, &p, 2, 1, 41);
  rng_init(&ra, 43, RNG_STREAM_MODEL);
  ensemble_train(&c, &rb, &ra);
  cr_expect_neq(memcmp(a.net.p.w, c.net.p.w, a.net.p.n * sizeof(float)), 0);
  ensemble_free(&a);
  ensemble_free(&b);
  ensemble_free(&c);
  replay_free(&rb);
}

Test(ensemble, init_errors) {
  Ensemble m;
  Rng r;
  rng_init(&r, 1, RNG_STREAM_INIT);
  EnsembleParams p = small(3, 4, 1, 8, 8);
  cr_expect_eq(ensemble_init(&m, &p, 2, 1, &r, err, sizeof err), -1);
  cr_expect(strstr(err, "ensemble.elites"), "%s", err);
  p = small(3, 2, 1, 8, 8);
  p.min_logvar = 1.0;
  cr_expect_eq(ensemble_init(&m, &p, 2, 1, &r, err, sizeof err), -1);
  cr_expect(strstr(err, "min_logvar"), "%s", err);
  p = small(3, 2, 1, 8, 8);
  cr_expect_eq(ensemble_init(&m, &p, 0, 1, &r, err, sizeof err), -1);
}

// ---- the planning adapter ----

static Env *hopper(EnvOptions *eo) {
  cr_assert_eq(env_options_default("Hopper", eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s", err);
  return e;
}

// mode 0: each copy follows its own elite (means against a double chain); mode 1: one copy
Test(ensemble, adapter_copies) {
  enum { O = 11, A = 3, E = 4, L = 3, N = 5, H = 3, D = 12 };
  EnsembleParams p = small(E, L, 2, 16, 16);
  Ensemble m;
  make(&m, &p, O, A, 50);
  m.elite_idx[0] = 3, m.elite_idx[1] = 0, m.elite_idx[2] = 2;
  for (int k = 0; k < L; k++)
    for (int l = 0; l < m.net.nlayers; l++) {   // as training would copy them
      const NnLayer *Ly = &m.net.layer[l];
      size_t nw = (size_t)Ly->in * Ly->out;
      memcpy(m.elite.p.w + m.elite.layer[l].w_off + k * nw,
             m.net.p.w + Ly->w_off + m.elite_idx[k] * nw, nw * sizeof(float));
      memcpy(m.elite.p.w + m.elite.layer[l].b_off + k * Ly->out,
             m.net.p.w + Ly->b_off + m.elite_idx[k] * Ly->out, Ly->out * sizeof(float));
    }
  EnsembleModel em;
  PlanModel pm;
  ensemble_model_init(&em, &m, NULL, 0, &pm);
  cr_expect_eq(pm.replicas, L);
  cr_expect_eq(pm.stochastic, 1);
  cr_expect_eq(pm.obs_dim, O);
  cr_expect_eq(pm.act_dim, A);
  double s0[O];
  for (int j = 0; j < O; j++) s0[j] = 0.1 * j - 0.3;
  ensemble_model_start(&em, s0);

  // the means (r == NULL) over H steps against a double-precision chain per elite
  float act[H][N * A], rew[L * N], obs[L * N * O];
  uint8_t done[L * N];
  for (int h = 0; h < H; h++) fill(act[h], N * A, -1, 1, 51 + h);
  pm.start(pm.ctx, N, 0);
  double worst = 0.0, *w = to_double(m.net.p.w, m.net.p.n);
  double ref[L][N][O];
  for (int k = 0; k < L; k++)
    for (int i = 0; i < N; i++) memcpy(ref[k][i], s0, sizeof s0);
  for (int h = 0; h < H; h++) {
    pm.advance(pm.ctx, act[h], NULL, rew, obs, done);
    for (int k = 0; k < L; k++)
      for (int i = 0; i < N; i++) {
        double x[O + A], out[2 * D];
        for (int j = 0; j < O; j++) x[j] = ref[k][i][j];   // scaler 0 / 1 before training
        for (int j = 0; j < A; j++) x[O + j] = act[h][i * A + j];
        ref_member(out, &m.net, m.elite_idx[k], w, x);
        worst = fmax(worst, fabs(rew[k * N + i] - out[0]) / fmax(1, fabs(out[0])));
        for (int j = 0; j < O; j++) {
          ref[k][i][j] += out[1 + j];
          double got = obs[(k * N + i) * O + j];
          worst = fmax(worst, fabs(got - ref[k][i][j]) / fmax(1, fabs(ref[k][i][j])));
        }
        cr_expect_eq(done[k * N + i], 0, "no task: never done");
      }
  }
  cr_log_info("adapter mode 0: largest relative difference to the per-elite chains %.3g", worst);
  cr_expect_lt(worst, 1e-5);
  // copies of different elites differ
  cr_expect_gt(fabs(obs[0] - obs[N * O]), 1e-3);

  // with noise: a step is ensemble_predict on the copies' current rows
  Rng r, copy;
  rng_init(&r, 60, RNG_STREAM_PLANNER);
  copy = r;
  float prev[L * N * O], acts[L * N * A], want[L * N * O], wrew[L * N];
  memcpy(prev, obs, sizeof prev);
  for (int k = 0; k < L; k++) memcpy(acts + k * N * A, act[0], sizeof act[0]);
  pm.advance(pm.ctx, act[0], &r, rew, obs, done);
  ensemble_predict(&m, prev, acts, N, 0, &copy, want, wrew);
  cr_expect_arr_eq(obs, want, sizeof want);
  cr_expect_arr_eq(rew, wrew, sizeof wrew);

  // mode 1: one copy of n rows, each through an elite drawn per row and step
  pm.start(pm.ctx, N, 1);
  copy = r;
  float o1[N * O], r1[N], start[N * O];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < O; j++) start[i * O + j] = (float)s0[j];
  pm.advance(pm.ctx, act[1], &r, r1, o1, done);
  ensemble_predict_random(&m, start, act[1], N, 0, &copy, want, wrew);
  cr_expect_arr_eq(o1, want, sizeof o1);
  cr_expect_arr_eq(r1, wrew, sizeof r1);
  pm.advance(pm.ctx, act[2], &r, r1, o1, done);   // from the rows just predicted
  ensemble_predict_random(&m, want, act[2], N, 0, &copy, want + N * O, wrew);
  cr_expect_arr_eq(o1, want + N * O, sizeof o1);
  ensemble_model_free(&em);

  // all members: E copies
  ensemble_model_init(&em, &m, NULL, 1, &pm);
  cr_expect_eq(pm.replicas, E);
  ensemble_model_start(&em, s0);
  pm.start(pm.ctx, N, 0);
  float oe[E * N * O], re[E * N];
  uint8_t de[E * N];
  pm.advance(pm.ctx, act[0], NULL, re, oe, de);
  for (int e = 0; e < E; e++) {
    double x[O + A], out[2 * D];
    for (int j = 0; j < O; j++) x[j] = s0[j];
    for (int j = 0; j < A; j++) x[O + j] = act[0][j];
    ref_member(out, &m.net, e, w, x);
    cr_expect_lt(fabs(oe[e * N * O + 2] - (s0[2] + out[3])), 1e-5, "member %d", e);
  }
  free(w);
  ensemble_model_free(&em);
  ensemble_free(&m);
}

// done is Hopper's termination rule on each predicted observation
Test(ensemble, adapter_done_follows_task) {
  enum { O = 11, A = 3, L = 2, N = 60 };
  EnvOptions eo;
  Env *task = hopper(&eo);
  cr_assert_eq(task->obs_dim, O);
  EnsembleParams p = small(3, L, 1, 8, 8);
  Ensemble m;
  make(&m, &p, O, A, 70);
  EnsembleModel em;
  PlanModel pm;
  ensemble_model_init(&em, &m, task, 0, &pm);
  // z = 0.75 (just healthy) and angle 0: the predicted noise (std near 0.8) crosses both rules
  double s0[O] = {0.75};
  ensemble_model_start(&em, s0);
  pm.start(pm.ctx, N, 0);
  Rng r;
  rng_init(&r, 71, RNG_STREAM_PLANNER);
  float act[N * A], rew[L * N], obs[L * N * O];
  uint8_t done[L * N];
  fill(act, N * A, -1, 1, 72);
  int ones = 0, zeros = 0;
  for (int h = 0; h < 2; h++) {
    pm.advance(pm.ctx, act, &r, rew, obs, done);
    for (int k = 0; k < L * N; k++) {
      double o[O];
      for (int j = 0; j < O; j++) o[j] = obs[k * O + j];
      cr_expect_eq(done[k], env_is_terminal(task, o), "row %d", k);
      done[k] ? ones++ : zeros++;
    }
  }
  // one copy (mode 1) too
  pm.start(pm.ctx, N, 1);
  pm.advance(pm.ctx, act, &r, rew, obs, done);
  for (int k = 0; k < N; k++) {
    double o[O];
    for (int j = 0; j < O; j++) o[j] = obs[k * O + j];
    cr_expect_eq(done[k], env_is_terminal(task, o), "mode 1 row %d", k);
    done[k] ? ones++ : zeros++;
  }
  cr_log_info("adapter done: %d terminal, %d alive", ones, zeros);
  cr_expect_gt(ones, 0);
  cr_expect_gt(zeros, 0);
  ensemble_model_free(&em);
  ensemble_free(&m);
  env_free(task);
  env_options_free(&eo);
}

// ---- weighted fits (model_weights.h) ----

// the weighted bootstrap draws row k with probability w_k / sum w, and never a row of weight 0
Test(ensemble, weighted_draws_follow_the_weights) {
  const double w[6] = {1, 0, 2, 3, 0, 4};
  double cum[6], acc = 0.0;
  for (int k = 0; k < 6; k++) cum[k] = acc += w[k];
  Rng r;
  rng_init(&r, 5, RNG_STREAM_MODEL);
  enum { DRAWS = 100000 };
  long count[6] = {0};
  for (int i = 0; i < DRAWS; i++) count[ensemble_draw_weighted(cum, 6, &r)]++;
  for (int k = 0; k < 6; k++) {
    double p = w[k] / acc, se = sqrt(p * (1 - p) / DRAWS);
    if (w[k] == 0) cr_expect_eq(count[k], 0, "row %d of weight 0 drawn %ld times", k, count[k]);
    else
      cr_expect_leq(fabs((double)count[k] / DRAWS - p), 4 * se, "row %d: %ld of %d, want p %g", k,
                    count[k], DRAWS, p);
  }
}

// old transitions (s' = s + a) and recent ones (s' = s - a) on the same states: the uniform fit
// averages them, the fit weighted onto the recent ones learns their rule (seed-variants 1.6, the
// capacity test)
Test(ensemble, weighted_fit_follows_the_weights) {
  enum { N = 1200 };
  Replay rb;
  cr_assert_eq(replay_init(&rb, N, 1, 1, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 8, RNG_STREAM_DATA);
  double *w = calloc(N, sizeof *w);
  for (int i = 0; i < N; i++) {
    double o = rng_uniform_range(&r, -1, 1), a = rng_uniform_range(&r, -1, 1);
    double o2 = i < N / 2 ? o + a : o - a;
    replay_add(&rb, &o, &a, 0.0, &o2, 0, 0);
    w[i] = i < N / 2 ? 0.0 : 1.0;   // position i is the i-th oldest row
  }
  EnsembleParams p = small(3, 2, 2, 32, 64);
  p.max_epochs = 60;
  double err_recent[2], err_old[2];
  for (int k = 0; k < 2; k++) {
    Ensemble m;
    make(&m, &p, 1, 1, 2);
    Rng fit;
    rng_init(&fit, 9, RNG_STREAM_MODEL);
    ensemble_train_weighted(&m, &rb, k ? w : NULL, &fit);
    double er = 0, eo = 0;
    int n = 0;
    for (double o = -0.8; o <= 0.8; o += 0.2)
      for (double a = -0.8; a <= 0.8; a += 0.2, n++) {
        float of = (float)o, af = (float)a, next[2], rew[2];
        ensemble_predict(&m, (float[]){of, of}, (float[]){af, af}, 1, 0, NULL, next, rew);
        er += fabs(next[0] - (o - a));
        eo += fabs(next[0] - (o + a));
      }
    err_recent[k] = er / n;
    err_old[k] = eo / n;
    ensemble_free(&m);
  }
  printf("weighted fit: error on the recent rule %.3g uniform, %.3g weighted; on the old rule "
         "%.3g, %.3g\n", err_recent[0], err_recent[1], err_old[0], err_old[1]);
  cr_expect_lt(err_recent[1], 0.1, "weighted: error %g on the rule it was weighted onto",
               err_recent[1]);
  cr_expect_gt(err_recent[0], 2 * err_recent[1] + 0.1, "uniform %g vs weighted %g",
               err_recent[0], err_recent[1]);
  cr_expect_gt(err_old[1], err_old[0], "the weighted fit should trade the old rule away");
  free(w);
  replay_free(&rb);
}

// ensemble.epoch_batches = k: every epoch takes k Adam steps (k minibatches drawn with
// replacement), whatever the data's size, uniformly or by the weights; the capped fit still
// learns the weighted rule (the TOM code's budget: 100 minibatches an epoch)
Test(ensemble, epoch_batches_caps_the_epoch) {
  enum { N = 1200, K = 3 };
  Replay rb;
  cr_assert_eq(replay_init(&rb, N, 1, 1, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 8, RNG_STREAM_DATA);
  double *w = calloc(N, sizeof *w);
  for (int i = 0; i < N; i++) {
    double o = rng_uniform_range(&r, -1, 1), a = rng_uniform_range(&r, -1, 1);
    double o2 = i < N / 2 ? o + a : o - a;
    replay_add(&rb, &o, &a, 0.0, &o2, 0, 0);
    w[i] = i < N / 2 ? 0.0 : 1.0;
  }
  for (int weighted = 0; weighted < 2; weighted++) {
    EnsembleParams p = small(3, 2, 2, 32, 64);
    p.max_epochs = 7;
    p.patience = 1000;   // all 7 epochs
    p.epoch_batches = K;
    Ensemble m;
    make(&m, &p, 1, 1, 2);
    Rng fit;
    rng_init(&fit, 9, RNG_STREAM_MODEL);
    EnsembleStats st = ensemble_train_weighted(&m, &rb, weighted ? w : NULL, &fit);
    cr_expect_eq(st.epochs, 7);
    cr_expect_eq(m.opt.t, 7 * K, "%s: %ld Adam steps, want %d", weighted ? "weighted" : "uniform",
                 (long)m.opt.t, 7 * K);
    ensemble_free(&m);
  }
  // enough capped epochs to learn: the weighted fit finds the recent rule
  EnsembleParams p = small(3, 2, 2, 32, 64);
  p.max_epochs = 200;
  p.epoch_batches = 10;
  Ensemble m;
  make(&m, &p, 1, 1, 2);
  Rng fit;
  rng_init(&fit, 9, RNG_STREAM_MODEL);
  EnsembleStats st = ensemble_train_weighted(&m, &rb, w, &fit);
  double er = 0;
  int n = 0;
  for (double o = -0.8; o <= 0.8; o += 0.2)
    for (double a = -0.8; a <= 0.8; a += 0.2, n++) {
      float of = (float)o, af = (float)a, next[2], rew[2];
      ensemble_predict(&m, (float[]){of, of}, (float[]){af, af}, 1, 0, NULL, next, rew);
      er += fabs(next[0] - (o - a));
    }
  printf("epoch_batches 10: %d epochs, error %.3g on the weighted rule\n", st.epochs, er / n);
  cr_expect_lt(er / n, 0.1, "error %g", er / n);
  ensemble_free(&m);
  free(w);
  replay_free(&rb);
}

// ensemble.weights = uniform, through the controller's model, is the unweighted fit to the bit
Test(ensemble, uniform_weighting_is_the_unweighted_fit) {
  cr_assert_str_eq(MODEL_WEIGHTINGS[0].name, "uniform");
  cr_assert_null(MODEL_WEIGHTINGS[0].fill);
  EnvOptions eo;
  cr_assert_eq(env_options_default("InvertedPendulum", &eo, err, sizeof err), 0, "%s", err);
  Env *task = env_make(&eo, err, sizeof err);
  cr_assert_not_null(task, "%s", err);
  Replay rb;
  fill_linear(&rb, 300, task->obs_dim, task->act_dim, -1, 41);
  EnsembleParams p = small(3, 2, 2, 16, 32);
  p.max_epochs = 4;
  MpcModel mm;
  cr_assert_eq(mpc_model_init(&mm, MPC_MODEL_ENSEMBLE, &eo, task, &p, 3, err, sizeof err), 0,
               "%s", err);
  Ensemble e;
  Rng init, fit;
  rng_init(&init, 3, RNG_STREAM_INIT);
  cr_assert_eq(ensemble_init(&e, &p, task->obs_dim, task->act_dim, &init, err, sizeof err), 0);
  rng_init(&fit, 3, RNG_STREAM_MODEL);
  EnsembleStats s1 = mpc_model_train(&mm, &rb), s2 = ensemble_train(&e, &rb, &fit);
  // field by field: the structs' padding is not part of the result
  cr_expect_eq(s1.epochs, s2.epochs);
  cr_expect_eq(s1.stopped_early, s2.stopped_early);
  cr_expect_eq(memcmp(&s1.train_loss, &s2.train_loss, sizeof s1.train_loss), 0);
  cr_expect_eq(memcmp(&s1.holdout_mse, &s2.holdout_mse, sizeof s1.holdout_mse), 0);
  cr_expect_arr_eq(mm.ens.net.p.w, e.net.p.w, e.net.p.n * sizeof(float));
  ensemble_free(&e);
  mpc_model_free(&mm);
  replay_free(&rb);
  env_free(task);
  env_options_free(&eo);
}

// a transition that is not a number makes the training loss NaN: the fit ends the program as
// diverged (exit 1) instead of choosing elites among NaN members
Test(ensemble, a_nan_loss_is_divergence, .exit_code = 1) {
  EnsembleParams p = small(2, 1, 1, 8, 32);
  Ensemble m;
  make(&m, &p, 1, 1, 1);
  Replay rb;
  fill_1d(&rb, 200, 2);
  for (size_t i = 0; i < rb.size; i += 7) rb.rew[i] = NAN;   // in the training and the holdout
  Rng r;
  rng_init(&r, 3, RNG_STREAM_MODEL);
  ensemble_train(&m, &rb, &r);
  cr_assert_fail("the fit returned after a NaN transition");
}
