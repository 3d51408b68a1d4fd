// Tests of the DMD-MPC planner: the update against MPPI's weighted average, CEM's refit, the
// expected-cost step and blended step sizes (computed here from the planner's last candidates and
// returns, which are first checked against returns recomputed here); the shift; truncated
// sampling; the act rule; prior sequences, tail steps, termination masking and the terminal
// value; particles and replicas; determinism; convergence to the known optimum of a linear-
// quadratic problem; and the simulator model (rollouts equal to stepping the environment,
// determinism, checkpoints, balancing InvertedPendulum).
//
// The test model (Lin): x' = x + dt_q u (+ sigma eps when stochastic), observation x, reward
// bonus - |x' - goal|^2 - rho |u|^2, done when x'_0 > thr; replica q has its own dt_q; mode 1
// draws the replica of each row and step from the planner's Rng.
//
// Measured convergence (the linear-quadratic problem below: H = 10, A = 2, N = 100, seed 15;
// optimal cost 0.04996, zero actions 2.925), cost gap to the optimum at I = 1, 5, 20, 50:
//   elite (K = 10, gamma_mean 1, gamma_var 0.3)          0.28  0.14  0.061  0.0034
//   exp (kappa 30, gamma_mean 0.5, gamma_var 0.2)        1.1   0.34  0.054  0.026
// With the authors' exp defaults (kappa 1, gamma_var 0.9) the variance collapses first and the gap
// stalls near 0.16 (mean of 5 seeds) whatever I.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "env.h"
#include "episodes.h"
#include "mpc.h"
#include "planner.h"

static char err[4096];

static PlannerParams defaults(void) {
  Config cfg;
  PlannerParams p;
  cfg_init(&cfg);
  planner_params_register(&cfg, "planner", &p);
  cfg_free(&cfg);
  return p;
}

static void init(Planner *pl, const PlannerParams *p, int O, int A) {
  cr_assert_eq(planner_init(pl, p, O, A, err, sizeof err), 0, "%s", err);
}

// ---- the linear test model ----

enum { DMAX = 8, RMAX = 3 };

typedef struct {
  int D, R, stochastic;
  double dt[RMAX];   // step size of each replica
  double sigma;      // noise of a stochastic model
  double rho, bonus, thr;
  double x0[DMAX], goal[DMAX];
  double *x;         // (R, cap, D)
  int n, cap, mode;
  int starts, advances, last_n;   // calls seen
  long rows;                      // rows started in all (candidates x particles)
} Lin;

static void lin_init(Lin *m, int D, int R) {
  cr_assert(D <= DMAX && R <= RMAX);
  memset(m, 0, sizeof *m);
  m->D = D;
  m->R = R;
  for (int q = 0; q < R; q++) m->dt[q] = 1.0 / (1 + q);
  m->thr = INFINITY;
}

static void lin_free(Lin *m) { free(m->x); }

static double lin_reward(const Lin *m, const double *x1, const float *u) {
  double r = m->bonus;
  for (int d = 0; d < m->D; d++) {
    r -= (x1[d] - m->goal[d]) * (x1[d] - m->goal[d]);
    r -= m->rho * (double)u[d] * u[d];
  }
  return r;
}

static void lin_start(void *ctx, int n, int mode) {
  Lin *m = ctx;
  if (m->R * n > m->cap) {
    free(m->x);
    m->cap = m->R * n;
    m->x = malloc((size_t)m->cap * m->D * sizeof *m->x);
  }
  for (int k = 0; k < m->R * n; k++) memcpy(m->x + (size_t)k * m->D, m->x0, m->D * sizeof *m->x);
  m->n = n;
  m->mode = mode;
  m->starts++;
  m->last_n = n;
  m->rows += mode == 0 ? n : 0;
}

static void lin_advance(void *ctx, const float *act, Rng *r, float *rew, float *obs,
                        uint8_t *done) {
  Lin *m = ctx;
  int D = m->D, reps = m->mode == 0 ? m->R : 1;
  for (int q = 0; q < reps; q++)
    for (int k = 0; k < m->n; k++) {
      int qq = m->mode == 0 ? q : m->R > 1 ? (int)rng_below(r, (uint64_t)m->R) : 0;
      size_t row = (size_t)q * m->n + k;
      double *x = m->x + row * D;
      const float *u = act + (size_t)k * D;
      for (int d = 0; d < D; d++) {
        x[d] += m->dt[qq] * u[d];
        if (m->stochastic) x[d] += m->sigma * rng_normal(r);
        obs[row * D + d] = (float)x[d];
      }
      rew[row] = (float)lin_reward(m, x, u);
      done[row] = x[0] > m->thr;
    }
  m->advances++;
}

static PlanModel lin_model(Lin *m) {
  return (PlanModel){.obs_dim = m->D,
                     .act_dim = m->D,
                     .replicas = m->R,
                     .stochastic = m->stochastic,
                     .ctx = m,
                     .start = lin_start,
                     .advance = lin_advance};
}

// prior policy u = clamp(bias - gain x)
typedef struct {
  int D;
  double gain, bias;
  int calls;
} Pol;

static void pol_act(void *ctx, const float *obs, float *act, int n) {
  Pol *p = ctx;
  for (int k = 0; k < n * p->D; k++) {
    double u = p->bias - p->gain * obs[k];
    act[k] = (float)(u < -1 ? -1 : u > 1 ? 1 : u);
  }
  p->calls++;
}

// V = 2 + 1.5 sum obs + 0.5 sum act
typedef struct {
  int O, A;
  int calls, last_n;
} Val;

static void val_fn(void *ctx, const float *obs, const float *act, int n, float *v) {
  Val *c = ctx;
  for (int k = 0; k < n; k++) {
    double s = 2.0;
    for (int d = 0; d < c->O; d++) s += 1.5 * obs[(size_t)k * c->O + d];
    for (int d = 0; d < c->A; d++) s += 0.5 * act[(size_t)k * c->A + d];
    v[k] = (float)s;
  }
  c->calls++;
  c->last_n = n;
}

// the header's return of sequence seq (H, A) in a deterministic Lin, computed independently: H
// steps of the sequence, T of the tail policy on the replicas' mean observation, the value over
// the last step, alive masks with `terminate`, the mean over replicas
static double lin_expected(const Lin *m, const float *seq, int H, int T, Pol *tail, Val *val,
                           int terminate) {
  int D = m->D, L = H + (tail ? T : 0);
  double x[RMAX][DMAX], ret[RMAX] = {0};
  int alive[RMAX];
  float u[DMAX], ob[RMAX][DMAX];
  for (int q = 0; q < m->R; q++) {
    alive[q] = 1;
    for (int d = 0; d < D; d++) ob[q][d] = (float)(x[q][d] = m->x0[d]);
  }
  for (int h = 0; h < L; h++) {
    if (h < H) {
      memcpy(u, seq + (size_t)h * D, D * sizeof *u);
    } else {
      float mo[DMAX];
      for (int d = 0; d < D; d++) {
        float acc = 0.0f;
        for (int q = 0; q < m->R; q++) acc += ob[q][d];
        mo[d] = m->R > 1 ? acc * (1.0f / (float)m->R) : acc;
      }
      int calls = tail->calls;
      pol_act(tail, mo, u, 1);
      tail->calls = calls;
    }
    if (val && h == L - 1) {
      for (int q = 0; q < m->R; q++) {
        float v;
        int calls = val->calls, last = val->last_n;
        val_fn(val, ob[q], u, 1, &v);
        val->calls = calls, val->last_n = last;
        ret[q] += alive[q] ? v : 0.0;
      }
      break;
    }
    for (int q = 0; q < m->R; q++) {
      for (int d = 0; d < D; d++) ob[q][d] = (float)(x[q][d] += m->dt[q] * u[d]);
      float r = (float)lin_reward(m, x[q], u);
      ret[q] += alive[q] ? (double)r : 0.0;
      if (terminate && x[q][0] > m->thr) alive[q] = 0;
    }
  }
  double s = 0;
  for (int q = 0; q < m->R; q++) s += ret[q];
  return s / m->R;
}

static void expect_returns(const Planner *pl, const Lin *m, int C, int T, Pol *tail, Val *val,
                           int terminate) {
  for (int i = 0; i < C; i++) {
    double want = lin_expected(m, pl->cand + (size_t)i * pl->H * pl->A, pl->H, T, tail, val,
                               terminate);
    cr_expect(fabs(pl->ret[i] - want) <= 1e-9 * fmax(1, fabs(want)),
              "candidate %d: return %.17g, expected %.17g", i, pl->ret[i], want);
  }
}

static double x0_2[2] = {0.3, -0.2};

// the 2-D Lin of these tests (from x0_2, rho 0.1, goal 0.5) and a planner with p for it
static void lin_2d(Planner *pl, PlannerParams *p, Lin *m) {
  lin_init(m, 2, 1);
  memcpy(m->x0, x0_2, sizeof x0_2);
  m->rho = 0.1;
  m->goal[0] = 0.5;
  init(pl, p, 2, 2);
}

// a planner on a 2-D Lin after one call from a reset, I = 1, no prior (or with one)
static void one_call(Planner *pl, PlannerParams *p, Lin *m, uint32_t seed, float *act) {
  lin_2d(pl, p, m);
  PlanModel model = lin_model(m);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_PLANNER);
  planner_act(pl, &model, m->x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
}

// ---- the update ----

Test(planner, exp_update_is_mppi) {
  PlannerParams p = defaults();
  p.samples = 60;
  p.iterations = 1;
  p.kappa = 3;
  p.gamma_var = 1;
  p.horizon = 4;
  Planner pl;
  Lin m;
  float act[2];
  one_call(&pl, &p, &m, 1, act);
  int C = pl.N, HA = pl.H * pl.A;
  expect_returns(&pl, &m, C, 0, NULL, NULL, 0);
  double mx = -INFINITY, sum = 0, w[60];
  for (int i = 0; i < C; i++) mx = fmax(mx, pl.ret[i]);
  for (int i = 0; i < C; i++) sum += w[i] = exp(3 * (pl.ret[i] - mx));
  double wmax = 0;
  for (int i = 0; i < C; i++) wmax = fmax(wmax, w[i] /= sum);
  cr_assert(wmax < 0.5 && wmax > 2.0 / C, "weights should be neither flat nor one-hot: %g", wmax);
  for (int j = 0; j < HA; j++) {
    double mean = 0, var = 0;
    for (int i = 0; i < C; i++) mean += w[i] * pl.cand[i * HA + j];
    for (int i = 0; i < C; i++) var += w[i] * pow(pl.cand[i * HA + j] - (float)mean, 2);
    cr_expect(fabs(pl.mean[j] - mean) < 1e-6, "mean %d: %g vs MPPI %g", j, pl.mean[j], mean);
    cr_expect(fabs(pl.var[j] - var) < 1e-6, "var %d: %g vs %g", j, pl.var[j], var);
  }
  for (int i = 0; i < C; i++) cr_expect(fabs(pl.w[i] - w[i]) < 1e-12);
  cr_expect_eq(act[0], pl.mean[0]);
  cr_expect_eq(act[1], pl.mean[1]);
  planner_free(&pl);
  lin_free(&m);
}

// keep_mean: candidate 0 is the mean as shifted, unperturbed; the others are samples around it;
// with the elite utility (K = 1) and gamma 1 a plan is only ever replaced by a better one
Test(planner, keep_mean) {
  PlannerParams p = defaults();
  p.samples = 20;
  p.iterations = 1;
  p.horizon = 4;
  p.keep_mean = true;
  p.shift = SHIFT_ZERO;
  Planner pl;
  Lin m;
  float act[2];
  one_call(&pl, &p, &m, 3, act);
  int HA = pl.H * pl.A;
  for (int j = 0; j < HA; j++) cr_expect_eq(pl.cand[j], 0.0f, "the mean at reset is 0");
  int differ = 0;
  for (int i = 1; i < pl.N; i++)
    for (int j = 0; j < HA; j++) differ += pl.cand[i * HA + j] != 0.0f;
  cr_expect_gt(differ, (pl.N - 1) * HA / 2, "the other candidates are sampled");
  expect_returns(&pl, &m, pl.N, 0, NULL, NULL, 0);
  planner_free(&pl);
  lin_free(&m);

  // the best plan's return never drops on a deterministic model when it is re-scored: with
  // horizon 1 and a repeat fill the shift keeps the mean, so every call from the same start
  // scores the kept plan again
  p.utility = UTILITY_ELITE;
  p.elites = 1;
  p.gamma_mean = 1;
  p.horizon = 1;
  p.shift = SHIFT_REPEAT;
  p.iterations = 1;
  lin_init(&m, 2, 1);
  memcpy(m.x0, x0_2, sizeof x0_2);
  m.rho = 0.1;
  m.goal[0] = 0.5;
  init(&pl, &p, 2, 2);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 4, RNG_STREAM_PLANNER);
  PlanStats st;
  double best = -INFINITY;
  for (int it = 0; it < 20; it++) {
    planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, &st);
    cr_expect_geq(st.best_return, best - 1e-12, "call %d: best %g after %g", it, st.best_return,
                  best);
    best = st.best_return;
  }
  planner_free(&pl);
  lin_free(&m);
}

Test(planner, elite_update_is_cem) {
  PlannerParams p = defaults();
  p.samples = 50;
  p.iterations = 1;
  p.utility = UTILITY_ELITE;
  p.elites = 7;
  p.gamma_var = 1;
  Planner pl;
  Lin m;
  float act[2];
  one_call(&pl, &p, &m, 2, act);
  int C = pl.N, HA = pl.H * pl.A, K = 7;
  expect_returns(&pl, &m, C, 0, NULL, NULL, 0);
  // the K best by a selection written here
  int best[7];
  for (int k = 0; k < K; k++) {
    int arg = -1;
    for (int i = 0; i < C; i++) {
      int used = 0;
      for (int q = 0; q < k; q++) used |= best[q] == i;
      if (!used && (arg < 0 || pl.ret[i] > pl.ret[arg])) arg = i;
    }
    best[k] = arg;
  }
  for (int j = 0; j < HA; j++) {
    double mean = 0, var = 0;
    for (int k = 0; k < K; k++) mean += pl.cand[best[k] * HA + j] / (double)K;
    for (int k = 0; k < K; k++) var += pow(pl.cand[best[k] * HA + j] - mean, 2) / K;
    cr_expect(fabs(pl.mean[j] - mean) < 1e-6, "mean %d: %g vs CEM %g", j, pl.mean[j], mean);
    cr_expect(fabs(pl.var[j] - var) < 1e-6, "var %d: %g vs CEM %g", j, pl.var[j], var);
  }
  double wsum = 0;
  for (int i = 0; i < C; i++) wsum += pl.w[i];
  cr_expect(fabs(wsum - 1) < 1e-12);
  planner_free(&pl);
  lin_free(&m);
}

// m <- m + gm sum w (a - m), v <- max(0, v + gv sum w ((a - m)^2 - v)), w standardised
Test(planner, cost_update) {
  PlannerParams p = defaults();
  p.samples = 40;
  p.iterations = 1;
  p.utility = UTILITY_COST;
  p.gamma_mean = 0.5;
  p.gamma_var = 0.3;
  Planner pl;
  Lin m;
  float act[2];
  one_call(&pl, &p, &m, 3, act);
  int C = pl.N, HA = pl.H * pl.A;
  expect_returns(&pl, &m, C, 0, NULL, NULL, 0);
  double mean = 0, sd = 0, w[40], wsum = 0;
  for (int i = 0; i < C; i++) mean += pl.ret[i] / C;
  for (int i = 0; i < C; i++) sd += pow(pl.ret[i] - mean, 2) / C;
  sd = sqrt(sd);
  for (int i = 0; i < C; i++) wsum += w[i] = (pl.ret[i] - mean) / (C * sd);
  cr_expect(fabs(wsum) < 1e-12);
  // from a reset: m~ = 0, v~ = init_var
  double v0 = p.init_var;
  for (int j = 0; j < HA; j++) {
    double g = 0, gs = 0;
    for (int i = 0; i < C; i++) {
      g += w[i] * pl.cand[i * HA + j];
      gs += w[i] * (pow(pl.cand[i * HA + j], 2) - v0);
    }
    cr_expect(fabs(pl.mean[j] - 0.5 * g) < 1e-6, "mean %d: %g vs %g", j, pl.mean[j], 0.5 * g);
    cr_expect(fabs(pl.var[j] - fmax(0, v0 + 0.3 * gs)) < 1e-6);
    // the step goes uphill: towards the better candidates
  }
  double up = 0;
  for (int i = 0; i < C; i++)
    for (int j = 0; j < HA; j++) up += w[i] * pl.cand[i * HA + j] * pl.mean[j];
  cr_expect_gt(up, 0);
  planner_free(&pl);
  lin_free(&m);
}

// gamma < 1 blends with the shifted decision; the two step sizes act independently
static void check_blend(double gm, double gv) {
  PlannerParams p = defaults();
  p.samples = 30;
  p.iterations = 1;
  p.kappa = 5;
  p.gamma_mean = gm;
  p.gamma_var = gv;
  p.carry_var = true;
  Lin m;
  lin_init(&m, 2, 1);
  memcpy(m.x0, x0_2, sizeof x0_2);
  Planner pl;
  init(&pl, &p, 2, 2);
  int H = pl.H, A = pl.A, HA = H * A, C = pl.N;
  float m0[64], v0[64];
  for (int j = 0; j < HA; j++) {
    pl.mean[j] = (float)(0.1 * j - 0.2);
    pl.var[j] = (float)(0.05 + 0.01 * j);
  }
  // the shifted decision (repeat; variance carried)
  for (int h = 0; h < H; h++)
    for (int a = 0; a < A; a++) {
      int src = (h + 1 < H ? h + 1 : H - 1) * A + a;
      m0[h * A + a] = pl.mean[src];
      v0[h * A + a] = pl.var[src];
    }
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 4, RNG_STREAM_PLANNER);
  float act[2];
  planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
  expect_returns(&pl, &m, C, 0, NULL, NULL, 0);
  for (int j = 0; j < HA; j++) {
    double avg = 0, var = 0;
    for (int i = 0; i < C; i++) avg += pl.w[i] * pl.cand[i * HA + j];
    double mn = (1 - gm) * m0[j] + gm * avg;
    for (int i = 0; i < C; i++) var += pl.w[i] * pow(pl.cand[i * HA + j] - (float)mn, 2);
    cr_expect(fabs(pl.mean[j] - mn) < 1e-6, "gm %g: mean %d %g vs %g", gm, j, pl.mean[j], mn);
    double vn = (1 - gv) * v0[j] + gv * var;
    cr_expect(fabs(pl.var[j] - vn) < 1e-6, "gv %g: var %d %g vs %g", gv, j, pl.var[j], vn);
    if (gm == 0) cr_expect_eq(pl.mean[j], m0[j]);
    if (gv == 0) cr_expect_eq(pl.var[j], v0[j]);
  }
  planner_free(&pl);
  lin_free(&m);
}

Test(planner, step_sizes_blend) {
  check_blend(0.3, 0.6);
  check_blend(1.0, 0.0);
  check_blend(0.0, 1.0);
  check_blend(0.7, 0.2);
}

// ---- the shift ----

static void check_shift(int fill, int carry) {
  PlannerParams p = defaults();
  p.horizon = 4;
  p.samples = 5;
  p.iterations = 2;
  p.gamma_mean = 0;   // the decision stays what the shift made it
  p.gamma_var = 0;
  p.shift = fill;
  p.carry_var = carry;
  Lin m;
  lin_init(&m, 2, 1);
  Planner pl;
  init(&pl, &p, 2, 2);
  for (int j = 0; j < 8; j++) {
    pl.mean[j] = (float)(0.1 * (j + 1));
    pl.var[j] = (float)(0.01 * (j + 1));
  }
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 5, RNG_STREAM_PLANNER);
  float act[2];
  planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
  for (int h = 0; h < 4; h++)
    for (int a = 0; a < 2; a++) {
      int j = h * 2 + a, src = (h + 1) * 2 + a;
      float want_m = h < 3 ? (float)(0.1 * (src + 1))
                           : fill == SHIFT_REPEAT ? (float)(0.1 * (j + 1)) : 0.0f;
      float want_v = !carry ? (float)p.init_var
                     : h < 3 ? (float)(0.01 * (src + 1))
                     : fill == SHIFT_REPEAT ? (float)(0.01 * (j + 1)) : (float)p.init_var;
      cr_expect_eq(pl.mean[j], want_m, "fill %d carry %d: mean[%d][%d] = %g, want %g", fill, carry,
                   h, a, pl.mean[j], want_m);
      cr_expect_eq(pl.var[j], want_v, "fill %d carry %d: var[%d][%d] = %g, want %g", fill, carry,
                   h, a, pl.var[j], want_v);
    }
  cr_expect_eq(act[0], (float)0.3);
  planner_free(&pl);
  lin_free(&m);
}

Test(planner, shift) {
  check_shift(SHIFT_REPEAT, 0);
  check_shift(SHIFT_REPEAT, 1);
  check_shift(SHIFT_ZERO, 0);
  check_shift(SHIFT_ZERO, 1);
}

Test(planner, shift_horizon_one) {
  PlannerParams p = defaults();
  p.horizon = 1;
  p.samples = 3;
  p.iterations = 1;
  p.gamma_mean = 0;
  p.shift = SHIFT_ZERO;
  Lin m;
  lin_init(&m, 1, 1);
  Planner pl;
  init(&pl, &p, 1, 1);
  pl.mean[0] = 0.7f;
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 5, RNG_STREAM_PLANNER);
  float act[1];
  planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
  cr_expect_eq(act[0], 0.0f);
  planner_free(&pl);
  lin_free(&m);
}

// ---- sampling ----

// means (after the repeat shift) on and near the bounds; every sample stays in [-1, 1]; on a
// bound the spread is 0 (the authors) or, with std_min, one-sided
static void check_sampling(double std_min) {
  PlannerParams p = defaults();
  p.samples = 4000;
  p.iterations = 1;
  p.horizon = 2;
  p.std_min = std_min;
  enum { A = 6 };
  static const float mu[A] = {1.0f, -1.0f, 0.95f, 0.0f, -0.3f, 0.999f};
  Lin m;
  lin_init(&m, A, 1);
  Planner pl;
  init(&pl, &p, A, A);
  for (int h = 0; h < 2; h++) memcpy(pl.mean + h * A, mu, sizeof mu);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 6, RNG_STREAM_PLANNER);
  float act[A];
  planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
  int N = pl.N, HA = 2 * A;
  for (int j = 0; j < HA; j++) {
    double lo = 2, hi = -2, s = 0, ss = 0, m0 = mu[j % A];
    for (int i = 0; i < N; i++) {
      double a = pl.cand[i * HA + j];
      lo = fmin(lo, a), hi = fmax(hi, a);
      s += a - m0, ss += (a - m0) * (a - m0);
    }
    cr_expect(lo >= -1 && hi <= 1, "std_min %g dim %d: samples in [%g, %g]", std_min, j, lo, hi);
    // the std the sampler must use: min of the bounds' and the variance's, then the floor
    double dlo = m0 + 1, dhi = 1 - m0;
    double sd = sqrt(fmax(fmin(fmin(dlo * dlo / 4, dhi * dhi / 4), p.init_var), std_min * std_min));
    cr_expect(lo >= m0 - 2 * sd - 1e-6 && hi <= m0 + 2 * sd + 1e-6, "dim %d: beyond 2 std", j);
    if (sd == 0) {
      cr_expect(lo == m0 && hi == m0, "dim %d: a mean on a bound spreads: [%g, %g]", j, lo, hi);
    } else {
      cr_expect(hi > lo, "dim %d: no spread", j);
    }
    // on a bound with a floor the samples are one-sided, else centred with the truncated
    // normal's variance (1 - 4 phi(2) / (2 Phi(2) - 1)) sd^2 = 0.7737 sd^2
    if (j % A == 3) {
      double var = ss / N - (s / N) * (s / N);
      cr_expect(fabs(var / (0.25 * 0.77373) - 1) < 0.08, "dim %d: variance %g", j, var);
      cr_expect(fabs(s / N) < 0.03, "dim %d: mean offset %g", j, s / N);
    }
    // with the floor, a mean on a bound spreads to one side, truncated (not clipped: no mass
    // on the bound itself)
    if ((j % A == 0 || j % A == 1) && std_min > 0) {
      int on = 0;
      for (int i = 0; i < N; i++) on += pl.cand[i * HA + j] == (float)m0;
      cr_expect(hi > lo && on < N / 100, "dim %d: %d of %d samples on the bound", j, on, N);
    }
  }
  planner_free(&pl);
  lin_free(&m);
}

Test(planner, truncated_sampling_in_bounds) {
  check_sampling(0.0);
  check_sampling(0.05);
}

// ---- the act rule ----

// training draws candidate j with probability w_j: over many calls, the number of draws in a set
// S of candidates (the 10 heaviest of each call) matches sum_calls w(S), and E[w_J] = sum w^2
Test(planner, act_rule) {
  PlannerParams p = defaults();
  p.samples = 40;
  p.iterations = 1;
  p.kappa = 1.5;
  Lin m;
  lin_init(&m, 2, 1);
  memcpy(m.x0, x0_2, sizeof x0_2);
  m.goal[0] = 0.5;
  Planner pl;
  init(&pl, &p, 2, 2);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 7, RNG_STREAM_PLANNER);
  int calls = 600, hits = 0;
  double expect = 0, var = 0, wj = 0, w2 = 0, w2var = 0;
  int HA = pl.H * pl.A;
  float act[2];
  for (int c = 0; c < calls; c++) {
    planner_reset(&pl);
    planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 1, &r, act, NULL);
    int j = -1;
    for (int i = 0; i < pl.N && j < 0; i++)
      if (!memcmp(pl.mean, pl.cand + i * HA, HA * sizeof(float))) j = i;
    cr_assert_geq(j, 0, "the decision is not a candidate");
    cr_assert_eq(act[0], pl.cand[j * HA]);
    // the 10 heaviest candidates
    double ws = 0, sq = 0;
    int in = 0;
    for (int i = 0; i < pl.N; i++) {
      int above = 0;
      for (int k = 0; k < pl.N; k++) above += pl.w[k] > pl.w[i];
      if (above < 10) {
        ws += pl.w[i];
        in |= i == j;
      }
      sq += pl.w[i] * pl.w[i];
    }
    hits += in;
    expect += ws;
    var += ws * (1 - ws);
    wj += pl.w[j];
    w2 += sq;
    w2var += sq;   // E[w_J^2] bounds the variance of w_J
  }
  cr_expect(fabs(hits - expect) < 4 * sqrt(var), "draws in the heaviest 10: %d, expected %.1f",
            hits, expect);
  cr_expect(fabs(wj - w2) < 4 * sqrt(w2var), "sum w_J %g, expected %g", wj, w2);
  cr_expect(expect / calls < 0.9 && expect / calls > 0.3, "weights too flat or peaked: %g",
            expect / calls);
  // evaluation and act = mean return the weighted mean
  for (int mode = 0; mode < 2; mode++) {
    planner_free(&pl);
    p.act = mode == 0 ? ACT_SAMPLE : ACT_MEAN;
    init(&pl, &p, 2, 2);
    planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, mode, &r, act, NULL);
    for (int j = 0; j < HA; j++) {
      double avg = 0;
      for (int i = 0; i < pl.N; i++) avg += pl.w[i] * pl.cand[i * HA + j];
      cr_expect(fabs(pl.mean[j] - avg) < 1e-6);
    }
    cr_expect_eq(act[0], pl.mean[0]);
  }
  planner_free(&pl);
  lin_free(&m);
}

// ---- prior, tail, termination, value ----

// reward -|x'|^2 with dt = 1: the prior u = -x reaches 0 in one step, the optimum (return 0); with
// it the planner's decision after one iteration is that sequence, without it far from it
Test(planner, prior_finds_optimum) {
  PlannerParams p = defaults();
  p.samples = 100;
  p.iterations = 1;
  p.utility = UTILITY_ELITE;
  p.elites = 1;
  Lin m;
  lin_init(&m, 2, 2);
  m.dt[1] = 1.0;   // both replicas equal: the prior's random replica does not matter
  memcpy(m.x0, (double[]){0.5, -0.25}, 2 * sizeof(double));
  Pol pol = {.D = 2, .gain = 1.0};
  Planner pl;
  init(&pl, &p, 2, 2);
  cr_assert_eq(pl.M, 5);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 8, RNG_STREAM_PLANNER);
  float act[2];
  PlanStats st;
  planner_act(&pl, &model, m.x0, pol_act, &pol, NULL, NULL, 0, &r, act, &st);
  cr_expect_eq(pol.calls, 3, "one policy call per step of the prior sequences");
  expect_returns(&pl, &m, pl.C, 0, NULL, NULL, 0);
  const float want[6] = {-0.5f, 0.25f, 0, 0, 0, 0};
  for (int j = 0; j < 6; j++) {
    cr_expect_eq(pl.mean[j], want[j], "mean[%d] = %g", j, pl.mean[j]);
    for (int i = 0; i < pl.M; i++) cr_expect_eq(pl.cand[(pl.N + i) * 6 + j], want[j]);
  }
  cr_expect_eq(st.best_return, 0.0);
  cr_expect_eq(act[0], -0.5f);
  // the M equal prior sequences tie: the elite is the first of them
  for (int i = 0; i < pl.C; i++) cr_expect_eq(pl.w[i], i == pl.N ? 1.0 : 0.0, "w[%d]", i);
  // without the prior, one iteration of 100 samples is far from it
  planner_reset(&pl);
  planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, &st);
  cr_expect_lt(st.best_return, -0.01);
  planner_free(&pl);
  lin_free(&m);
}

// T tail steps of the prior policy on the replicas' mean observation are added to every return
Test(planner, tail_steps) {
  PlannerParams p = defaults();
  p.samples = 20;
  p.mixture = 0.1;
  p.iterations = 2;
  p.horizon = 2;
  p.tail_steps = 3;
  for (int R = 1; R <= 3; R += 2) {
    Lin m;
    lin_init(&m, 2, R);
    memcpy(m.x0, x0_2, sizeof x0_2);
    m.rho = 0.2;
    m.goal[1] = 0.4;
    Pol pol = {.D = 2, .gain = 0.7, .bias = 0.1};
    Planner pl;
    init(&pl, &p, 2, 2);
    PlanModel model = lin_model(&m);
    Rng r;
    rng_init(&r, 9, RNG_STREAM_PLANNER);
    float act[2];
    planner_act(&pl, &model, m.x0, pol_act, &pol, NULL, NULL, 0, &r, act, NULL);
    expect_returns(&pl, &m, pl.C, 3, &pol, NULL, 0);
    // the returns differ from the H-step ones
    double h_only = lin_expected(&m, pl.cand, 2, 0, NULL, NULL, 0);
    cr_expect(fabs(h_only - pl.ret[0]) > 1e-3);
    cr_expect_eq(m.last_n, pl.C);
    planner_free(&pl);
    lin_free(&m);
  }
}

// rewards after a terminal state are zeroed; without `terminate` nothing is
Test(planner, termination_masking) {
  PlannerParams p = defaults();
  p.samples = 60;
  p.iterations = 1;
  p.horizon = 4;
  for (int term = 0; term < 2; term++) {
    p.terminate = term;
    Lin m;
    lin_init(&m, 2, 2);
    memcpy(m.x0, (double[]){0.1, 0.0}, 2 * sizeof(double));
    m.thr = 0.4;
    m.bonus = 1.0;
    Planner pl;
    init(&pl, &p, 2, 2);
    PlanModel model = lin_model(&m);
    Rng r;
    rng_init(&r, 10, RNG_STREAM_PLANNER);
    float act[2];
    planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
    expect_returns(&pl, &m, pl.N, 0, NULL, NULL, term);
    // some candidates do terminate, and then the masked and unmasked returns differ
    int differ = 0;
    for (int i = 0; i < pl.N; i++) {
      const float *seq = pl.cand + i * 8;
      differ += fabs(lin_expected(&m, seq, 4, 0, NULL, NULL, 1) -
                     lin_expected(&m, seq, 4, 0, NULL, NULL, 0)) > 1e-3;
    }
    cr_expect_gt(differ, 5);
    cr_expect_lt(differ, pl.N);
    planner_free(&pl);
    lin_free(&m);
  }
}

// V(s_{H-1}, a_{H-1}) replaces the last reward of every replica row, masked by alive_{H-1}; the
// last step is not simulated; with H = 1 the value sees the start observation
Test(planner, terminal_value) {
  PlannerParams p = defaults();
  p.samples = 30;
  p.iterations = 3;
  p.terminate = true;
  for (int H = 1; H <= 3; H += 2) {
    p.horizon = H;
    Lin m;
    lin_init(&m, 2, 2);
    memcpy(m.x0, (double[]){0.1, -0.3}, 2 * sizeof(double));
    m.thr = 0.3;
    Val val = {.O = 2, .A = 2};
    Planner pl;
    init(&pl, &p, 2, 2);
    PlanModel model = lin_model(&m);
    Rng r;
    rng_init(&r, 11, RNG_STREAM_PLANNER);
    float act[2];
    planner_act(&pl, &model, m.x0, NULL, NULL, val_fn, &val, 0, &r, act, NULL);
    expect_returns(&pl, &m, pl.N, 0, NULL, &val, 1);
    cr_expect_eq(val.calls, 3);
    cr_expect_eq(val.last_n, 2 * pl.N, "the value sees every replica row");
    cr_expect_eq(m.advances, 3 * (H - 1), "advances: %d", m.advances);
    // the value really replaced the last reward
    double plain = lin_expected(&m, pl.cand, H, 0, NULL, NULL, 1);
    cr_expect(fabs(plain - pl.ret[0]) > 1e-3);
    planner_free(&pl);
    lin_free(&m);
  }
}

// a stochastic model runs P particles per candidate, a deterministic one 1
Test(planner, particles) {
  PlannerParams p = defaults();
  p.samples = 10;
  p.particles = 4;
  p.iterations = 1;
  for (int sto = 0; sto < 2; sto++) {
    Lin m;
    lin_init(&m, 2, 3);
    m.stochastic = sto;
    m.sigma = 0.1;
    Planner pl;
    init(&pl, &p, 2, 2);
    PlanModel model = lin_model(&m);
    Rng r;
    rng_init(&r, 12, RNG_STREAM_PLANNER);
    float act[2];
    planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
    cr_expect_eq(m.last_n, sto ? 40 : 10);
    if (!sto) expect_returns(&pl, &m, pl.N, 0, NULL, NULL, 0);
    planner_free(&pl);
    lin_free(&m);
  }
}

// ---- determinism ----

static void run_stochastic(uint32_t seed, float *act, float *mean, double *ret) {
  PlannerParams p = defaults();
  p.samples = 30;
  p.particles = 3;
  p.tail_steps = 2;
  Lin m;
  lin_init(&m, 2, 3);
  memcpy(m.x0, x0_2, sizeof x0_2);
  m.stochastic = 1;
  m.sigma = 0.05;
  Pol pol = {.D = 2, .gain = 0.5};
  Val val = {.O = 2, .A = 2};
  Planner pl;
  init(&pl, &p, 2, 2);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_PLANNER);
  for (int t = 0; t < 3; t++)
    planner_act(&pl, &model, m.x0, pol_act, &pol, val_fn, &val, 1, &r, act + 2 * t, NULL);
  memcpy(mean, pl.mean, 6 * sizeof *mean);
  memcpy(ret, pl.ret, (size_t)pl.C * sizeof *ret);
  planner_free(&pl);
  lin_free(&m);
}

Test(planner, deterministic_for_a_seed) {
  float a1[6], a2[6], a3[6], m1[6], m2[6], m3[6];
  double r1[31], r2[31], r3[31];
  run_stochastic(13, a1, m1, r1);
  run_stochastic(13, a2, m2, r2);
  run_stochastic(14, a3, m3, r3);
  cr_expect(!memcmp(a1, a2, sizeof a1) && !memcmp(m1, m2, sizeof m1) && !memcmp(r1, r2, sizeof r1));
  cr_expect(memcmp(a1, a3, sizeof a1));
}

// ---- convergence on a linear-quadratic problem ----

enum { LQ_H = 10 };

// cost J(u) = sum_h |x_{h+1}|^2 + rho |u_h|^2 of x' = x + dt u, per dimension
static double lq_cost(const double *x0, int D, double dt, double rho, const float *u) {
  double J = 0;
  for (int d = 0; d < D; d++) {
    double x = x0[d];
    for (int h = 0; h < LQ_H; h++) {
      double a = u[h * D + d];
      x += dt * a;
      J += x * x + rho * a * a;
    }
  }
  return J;
}

// the unconstrained optimum: (dt^2 L^T L + rho I) u = -dt x0 L^T 1 with L lower-triangular ones
static void lq_optimum(const double *x0, int D, double dt, double rho, float *u) {
  for (int d = 0; d < D; d++) {
    double a[LQ_H][LQ_H + 1];
    for (int i = 0; i < LQ_H; i++) {
      for (int j = 0; j < LQ_H; j++) {
        int k = i > j ? i : j;   // (L^T L)_ij = number of rows h >= max(i, j)
        a[i][j] = dt * dt * (LQ_H - k) + (i == j ? rho : 0);
      }
      a[i][LQ_H] = -dt * x0[d] * (LQ_H - i);
    }
    for (int c = 0; c < LQ_H; c++)   // symmetric positive definite: no pivoting needed
      for (int i = c + 1; i < LQ_H; i++) {
        double f = a[i][c] / a[c][c];
        for (int j = c; j <= LQ_H; j++) a[i][j] -= f * a[c][j];
      }
    double sol[LQ_H];
    for (int i = LQ_H - 1; i >= 0; i--) {
      double s = a[i][LQ_H];
      for (int j = i + 1; j < LQ_H; j++) s -= a[i][j] * sol[j];
      sol[i] = s / a[i][i];
    }
    for (int h = 0; h < LQ_H; h++) u[h * D + d] = (float)sol[h];
  }
}

Test(planner, converges_to_lq_optimum) {
  enum { D = 2 };
  double x0[D] = {0.45, -0.3}, dt = 0.5, rho = 0.05;
  float ustar[LQ_H * D];
  lq_optimum(x0, D, dt, rho, ustar);
  for (int j = 0; j < LQ_H * D; j++)
    cr_assert(fabs(ustar[j]) < 1, "optimum outside the box: u[%d] = %g", j, ustar[j]);
  double Jstar = lq_cost(x0, D, dt, rho, ustar);
  // the optimum is stationary: a small perturbation costs more
  for (int j = 0; j < LQ_H * D; j++) {
    float u2[LQ_H * D];
    memcpy(u2, ustar, sizeof u2);
    u2[j] += 1e-3f;
    cr_assert_gt(lq_cost(x0, D, dt, rho, u2), Jstar);
  }
  // CEM-like (10 elites of 100) and MPPI-like (kappa 30) with DMD steps below 1: the variance
  // must shrink slowly enough not to freeze the mean early (the defaults' gamma_var 0.9 stalls
  // near a gap of 0.1 on this 20-dimensional problem)
  static const int iters[] = {1, 5, 20, 50};
  for (int u = 0; u < 2; u++) {
    double gap[4];
    for (int k = 0; k < 4; k++) {
      PlannerParams p = defaults();
      p.horizon = LQ_H;
      p.iterations = iters[k];
      p.utility = u == 0 ? UTILITY_ELITE : UTILITY_EXP;
      p.kappa = 30;
      p.gamma_mean = u == 0 ? 1.0 : 0.5;
      p.gamma_var = u == 0 ? 0.3 : 0.2;
      Lin m;
      lin_init(&m, D, 1);
      memcpy(m.x0, x0, sizeof x0);
      m.dt[0] = dt;
      m.rho = rho;
      Planner pl;
      init(&pl, &p, D, D);
      PlanModel model = lin_model(&m);
      Rng r;
      rng_init(&r, 15, RNG_STREAM_PLANNER);
      float act[D];
      planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
      gap[k] = lq_cost(x0, D, dt, rho, pl.mean) - Jstar;
      cr_expect_geq(gap[k], -1e-9);
      planner_free(&pl);
      lin_free(&m);
    }
    fprintf(stderr, "LQ %s: optimal cost %.4g (zero actions %.4g); gaps at I = 1, 5, 20, 50: "
            "%.2g %.2g %.2g %.2g\n", u == 0 ? "elite" : "exp", Jstar,
            lq_cost(x0, D, dt, rho, (float[LQ_H * D]){0}), gap[0], gap[1], gap[2], gap[3]);
    cr_expect(gap[1] < 0.7 * gap[0] && gap[2] < 0.7 * gap[1] && gap[3] < 0.7 * gap[2],
              "gaps %g %g %g %g", gap[0], gap[1], gap[2], gap[3]);
    cr_expect_lt(gap[3], 0.05 * gap[0]);
  }
}

// ---- acceleration (planner.optimism) ----

// a few control steps of a planner with p on the 2-D linear model from x0_2, writing the
// actions (steps x 2) and leaving the planner's state in pl (and the rows rolled in m)
static void control_steps(Planner *pl, PlannerParams *p, Lin *m, int steps, float *acts) {
  lin_2d(pl, p, m);
  PlanModel model = lin_model(m);
  Rng r;
  rng_init(&r, 21, RNG_STREAM_PLANNER);
  for (int t = 0; t < steps; t++) {
    planner_act(pl, &model, m->x0, NULL, NULL, NULL, NULL, 1, &r, acts + 2 * t, NULL);
    m->x0[0] += 0.5 * acts[2 * t], m->x0[1] += 0.5 * acts[2 * t + 1];
  }
}

// ogd at beta 0 is the plain planner to the bit, for every utility (over control steps, so the
// shifted hint is exercised); ogd at beta 1 and extragrad are other planners
Test(planner, optimism_at_beta_zero_is_the_base) {
  enum { T = 4 };
  for (int u = 0; u < 3; u++) {
    PlannerParams p = defaults();
    p.samples = 30, p.iterations = 3, p.horizon = 4, p.utility = u, p.elites = 5;
    p.gamma_mean = 0.7;
    Planner a, b, c, d;
    Lin ma, mb, mc, md;
    float xa[2 * T], xb[2 * T], xc[2 * T], xd[2 * T];
    control_steps(&a, &p, &ma, T, xa);
    PlannerParams q = p;
    q.optimism = OPTIMISM_OGD, q.beta = 0.0;
    control_steps(&b, &q, &mb, T, xb);
    cr_expect_arr_eq(xa, xb, sizeof xa, "utility %d: ogd at beta 0 acts otherwise", u);
    cr_expect_arr_eq(a.mean, b.mean, sizeof(float) * 8, "utility %d: means differ", u);
    cr_expect_arr_eq(a.var, b.var, sizeof(float) * 8, "utility %d: variances differ", u);
    q.beta = 1.0;
    control_steps(&c, &q, &mc, T, xc);
    cr_expect_neq(memcmp(a.mean, c.mean, sizeof(float) * 8), 0, "utility %d: ogd changed nothing", u);
    q.optimism = OPTIMISM_EXTRAGRAD;
    control_steps(&d, &q, &md, T, xd);
    cr_expect_neq(memcmp(a.mean, d.mean, sizeof(float) * 8), 0, "utility %d: extragrad is the base", u);
    planner_free(&a), planner_free(&b), planner_free(&c), planner_free(&d);
    lin_free(&ma), lin_free(&mb), lin_free(&mc), lin_free(&md);
  }
}

// extragrad rolls twice the base's sequences, with split as many (N/2 in each of two rounds);
// the means stay in the box
Test(planner, extragrad_rollout_budget) {
  enum { T = 3 };
  PlannerParams p = defaults();
  p.samples = 40, p.iterations = 2, p.horizon = 3;
  long rows[3];
  for (int k = 0; k < 3; k++) {
    PlannerParams q = p;
    if (k) q.optimism = OPTIMISM_EXTRAGRAD, q.split = k == 2;
    Planner pl;
    Lin m;
    float acts[2 * T];
    control_steps(&pl, &q, &m, T, acts);
    rows[k] = m.rows;
    for (int j = 0; j < 6; j++) cr_expect(fabsf(pl.mean[j]) <= 1.0f, "mean %g outside", pl.mean[j]);
    planner_free(&pl);
    lin_free(&m);
  }
  printf("planner rows over %d control steps: base %ld, extragrad %ld, split %ld\n", T, rows[0],
         rows[1], rows[2]);
  cr_expect_eq(rows[1], 2 * rows[0]);
  cr_expect_eq(rows[2], rows[0]);
  PlannerParams bad = p;
  bad.optimism = OPTIMISM_EXTRAGRAD, bad.split = 1, bad.samples = 1, bad.utility = UTILITY_EXP;
  cr_expect_eq(planner_params_check(&bad, err, sizeof err), -1);
  cr_expect(strstr(err, "planner.split"), "message '%s'", err);
}

// ogd's hint is part of the state a control step leaves: saved and loaded, the next steps equal
// the uninterrupted planner's
Test(planner, ogd_hint_in_the_checkpoint) {
  PlannerParams p = defaults();
  p.samples = 30, p.iterations = 2, p.horizon = 4, p.optimism = OPTIMISM_OGD;
  Planner a, b;
  Lin ma, mb;
  float xa[6], xb[6];
  control_steps(&a, &p, &ma, 3, xa);
  cr_assert(a.has_prev);
  char path[64];
  snprintf(path, sizeof path, "/tmp/mb_planner_%d.ckpt", (int)getpid());
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  cr_assert(w, "%s", err);
  planner_save(&a, w, "planner");
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  control_steps(&b, &p, &mb, 1, xb);   // another state, then the loaded one
  CkptReader *r = ckpt_open(path, "test", err, sizeof err);
  cr_assert(r, "%s", err);
  cr_assert_eq(planner_load(&b, r, "planner", err, sizeof err), 0, "%s", err);
  cr_expect_eq(ckpt_field_size(r, "planner.gprev"), (int64_t)(sizeof(float) * 8));
  ckpt_close(r);
  unlink(path);
  cr_expect_arr_eq(a.gprev, b.gprev, sizeof(float) * 8);
  cr_expect_eq(a.has_prev, b.has_prev);
  PlanModel mda = lin_model(&ma), mdb = lin_model(&mb);
  memcpy(mb.x0, ma.x0, sizeof ma.x0);
  Rng ra, rb;
  rng_init(&ra, 5, RNG_STREAM_PLANNER), rng_init(&rb, 5, RNG_STREAM_PLANNER);
  planner_act(&a, &mda, ma.x0, NULL, NULL, NULL, NULL, 0, &ra, xa, NULL);
  planner_act(&b, &mdb, mb.x0, NULL, NULL, NULL, NULL, 0, &rb, xb, NULL);
  cr_expect_arr_eq(a.mean, b.mean, sizeof(float) * 8, "the loaded planner went elsewhere");
  planner_free(&a), planner_free(&b);
  lin_free(&ma), lin_free(&mb);
}

// ---- parameters ----

// with prior_mean the prior's sequence is the mean the iterations start from: with gamma_mean = 0
// the decision stays exactly that sequence, whatever the samples score; without it, the shifted
// mean (zero after a reset) stays
Test(planner, prior_mean) {
  PlannerParams p = defaults();
  p.iterations = 2;
  p.gamma_mean = 0;
  p.act = ACT_MEAN;
  p.prior_mean = true;
  Lin m;
  lin_init(&m, 2, 2);
  m.dt[1] = 1.0;
  memcpy(m.x0, (double[]){0.5, -0.25}, 2 * sizeof(double));
  Pol pol = {.D = 2, .gain = 0.5, .bias = 0.125};
  Planner pl;
  init(&pl, &p, 2, 2);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 9, RNG_STREAM_PLANNER);
  float act[2];
  planner_act(&pl, &model, m.x0, pol_act, &pol, NULL, NULL, 1, &r, act, NULL);
  for (int j = 0; j < 6; j++)
    cr_expect_eq(pl.mean[j], pl.cand[pl.N * 6 + j], "mean[%d] = %g", j, pl.mean[j]);
  // u_0 = 0.125 - 0.5 x_0
  cr_expect_eq(act[0], (float)(0.125 - 0.5 * 0.5));
  cr_expect_eq(act[1], (float)(0.125 + 0.5 * 0.25));
  planner_free(&pl);
  p.prior_mean = false;
  init(&pl, &p, 2, 2);
  planner_act(&pl, &model, m.x0, pol_act, &pol, NULL, NULL, 1, &r, act, NULL);
  cr_expect(act[0] == 0 && act[1] == 0, "%g %g", act[0], act[1]);
  planner_free(&pl);
  // it needs a prior sequence
  p.prior_mean = true;
  p.mixture = 0;
  cr_expect_eq(planner_init(&pl, &p, 2, 2, err, sizeof err), -1);
  cr_expect(strstr(err, "planner.prior_mean"), "%s", err);
  lin_free(&m);
}

Test(planner, bad_params) {
  PlannerParams p = defaults();
  Planner pl;
  p.utility = UTILITY_ELITE;
  p.samples = 5;
  cr_expect_eq(planner_init(&pl, &p, 3, 2, err, sizeof err), -1);
  cr_expect(strstr(err, "planner.elites"), "%s", err);
  p = defaults();
  cr_expect_eq(planner_init(&pl, &p, 0, 2, err, sizeof err), -1);
  p.samples = 100000;
  p.mixture = 100;
  p.particles = 1000;
  cr_expect_eq(planner_init(&pl, &p, 3, 2, err, sizeof err), -1);
  cr_expect(strstr(err, "too many"), "%s", err);
  p = defaults();
  init(&pl, &p, 17, 6);
  cr_expect_eq(pl.N, 100);
  cr_expect_eq(pl.M, 5);
  cr_expect_eq(pl.C, 105);
  for (int j = 0; j < 18; j++) cr_expect(pl.mean[j] == 0 && pl.var[j] == 0.25f);
  planner_free(&pl);
}

// ---- the simulator model ----

static Env *make(const char *task, EnvOptions *eo) {
  cr_assert_eq(env_options_default(task, eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s", err);
  return e;
}

// rows rolled through the SimModel equal stepping the environment itself, bit for bit, with done
// = terminated (Hopper falls under large random actions)
static void check_sim_rollout(const char *task) {
  EnvOptions eo, eo2;
  Env *real = make(task, &eo), *plan = make(task, &eo2);
  int O = real->obs_dim, A = real->act_dim;
  enum { ROWS = 3, STEPS = 40 };
  size_t S = env_state_size(real);
  double *state = malloc(S * sizeof *state), *obs = malloc(O * sizeof *obs), a[16], u[16];
  Rng reset, rr;
  rng_init(&reset, 3, RNG_STREAM_RESET);
  rng_init(&rr, 3, RNG_STREAM_DATA);
  env_reset(real, &reset, obs);
  env_get_state(real, state);
  SimModel sm;
  PlanModel model;
  sim_model_init(&sm, plan, &model);
  cr_expect_eq(model.replicas, 1);
  cr_expect_eq(model.stochastic, 0);
  sim_model_start(&sm, state);
  float *act = malloc(ROWS * STEPS * A * sizeof *act), rew[ROWS], sobs[ROWS * 64];
  uint8_t done[ROWS];
  for (int k = 0; k < ROWS * STEPS * A; k++) act[k] = (float)rng_uniform_range(&rr, -1, 1);
  float want_rew[ROWS][STEPS], want_obs[ROWS][STEPS][64];
  uint8_t want_done[ROWS][STEPS];
  int terminated = 0;
  for (int k = 0; k < ROWS; k++) {
    env_set_state(real, state, NULL);
    for (int h = 0; h < STEPS; h++) {
      for (int j = 0; j < A; j++) u[j] = act[(h * ROWS + k) * A + j];
      action_from_unit(real, u, a);
      EnvStep st;
      env_step(real, a, obs, &st);
      cr_assert(!st.diverged);
      want_rew[k][h] = (float)st.reward;
      want_done[k][h] = (uint8_t)st.terminated;
      terminated += st.terminated;
      for (int j = 0; j < O; j++) want_obs[k][h][j] = (float)obs[j];
    }
  }
  model.start(model.ctx, ROWS, 0);
  for (int h = 0; h < STEPS; h++) {
    model.advance(model.ctx, act + h * ROWS * A, NULL, rew, sobs, done);
    for (int k = 0; k < ROWS; k++) {
      cr_expect(!memcmp(&rew[k], &want_rew[k][h], sizeof(float)), "%s row %d step %d: %.9g vs %.9g",
                task, k, h, rew[k], want_rew[k][h]);
      cr_expect_eq(done[k], want_done[k][h]);
      cr_expect(!memcmp(sobs + k * O, want_obs[k][h], O * sizeof(float)), "%s row %d step %d obs",
                task, k, h);
    }
  }
  if (!strcmp(task, "Hopper")) cr_expect_gt(terminated, 0, "no termination was tested");
  // the start state is kept: starting again replays the first step
  double *again = malloc(S * sizeof *again);
  memcpy(again, sm.start, S * sizeof *again);
  cr_expect(!memcmp(again, state, S * sizeof *again));
  model.start(model.ctx, 1, 0);
  model.advance(model.ctx, act, NULL, rew, sobs, done);
  cr_expect(!memcmp(&rew[0], &want_rew[0][0], sizeof(float)));
  sim_model_free(&sm);
  free(state), free(obs), free(act), free(again);
  env_free(real), env_free(plan);
  env_options_free(&eo), env_options_free(&eo2);
}

Test(sim_model, rollout_equals_env) {
  check_sim_rollout("HalfCheetah");
  check_sim_rollout("Hopper");
}

// a planning episode on the simulator: the real environment, the planner and its model
typedef struct {
  EnvOptions eo, eo2;
  Env *real, *plan;
  double *obs, *state, *state2;
  size_t S;
  Planner pl;
  SimModel sm;
  PlanModel model;
  Rng r;
} SimCase;

static void sim_open(SimCase *c, const char *task, uint32_t seed) {
  c->real = make(task, &c->eo);
  c->plan = make(task, &c->eo2);
  c->S = env_state_size(c->real);
  c->obs = malloc(c->real->obs_dim * sizeof *c->obs);
  c->state = malloc(c->S * sizeof *c->state);
  c->state2 = malloc(c->S * sizeof *c->state2);
  Rng reset;
  rng_init(&reset, 1, RNG_STREAM_RESET);
  rng_init(&c->r, seed, RNG_STREAM_PLANNER);
  env_reset(c->real, &reset, c->obs);
  PlannerParams p = defaults();
  p.samples = 16;
  p.horizon = 4;
  p.iterations = 2;
  p.carry_var = true;
  init(&c->pl, &p, c->real->obs_dim, c->real->act_dim);
  sim_model_init(&c->sm, c->plan, &c->model);
}

// one control step (training), the action into act (A)
static void sim_step(SimCase *c, float *act) {
  int A = c->real->act_dim;
  double a[16], u[16];
  env_get_state(c->real, c->state);
  sim_model_start(&c->sm, c->state);
  planner_act(&c->pl, &c->model, c->obs, NULL, NULL, NULL, NULL, 1, &c->r, act, NULL);
  // planning touched neither the real environment nor the start state
  env_get_state(c->real, c->state2);
  cr_expect(!memcmp(c->state, c->state2, c->S * sizeof *c->state));
  cr_expect(!memcmp(c->sm.start, c->state, c->S * sizeof *c->state));
  for (int j = 0; j < A; j++) u[j] = act[j];
  action_from_unit(c->real, u, a);
  EnvStep st;
  env_step(c->real, a, c->obs, &st);
}

static void sim_close(SimCase *c) {
  planner_free(&c->pl);
  sim_model_free(&c->sm);
  free(c->obs), free(c->state), free(c->state2);
  env_free(c->real), env_free(c->plan);
  env_options_free(&c->eo), env_options_free(&c->eo2);
}

static void sim_actions(const char *task, uint32_t seed, float act[3][8]) {
  SimCase c;
  sim_open(&c, task, seed);
  for (int t = 0; t < 3; t++) sim_step(&c, act[t]);
  sim_close(&c);
}

Test(sim_model, deterministic_for_a_seed) {
  float a[3][8], b[3][8], c[3][8];
  sim_actions("HalfCheetah", 21, a);
  sim_actions("HalfCheetah", 21, b);
  sim_actions("HalfCheetah", 22, c);
  for (int t = 0; t < 3; t++) cr_expect(!memcmp(a[t], b[t], 6 * sizeof(float)), "step %d", t);
  cr_expect(memcmp(a[0], c[0], 6 * sizeof(float)));
}

// the decision saved after two steps is loaded exactly, and a planner loaded from it (with the
// environment's state and the planner's Rng) makes the same third decision as the one that kept
// it; a planner of another horizon refuses the checkpoint
Test(sim_model, save_load_decision) {
  char dir[] = "/tmp/mb_plan_XXXXXX", path[64];
  cr_assert(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/ck", dir);
  SimCase a, b;
  float act[8], act2[8];
  sim_open(&a, "HalfCheetah", 23);
  sim_step(&a, act);
  sim_step(&a, act);
  CkptWriter *w = ckpt_begin(path, "test_planner", err, sizeof err);
  cr_assert_not_null(w, "%s", err);
  planner_save(&a.pl, w, "planner");
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  double *state = malloc(a.S * sizeof *state);
  env_get_state(a.real, state);
  Rng saved = a.r;
  sim_step(&a, act);

  PlannerParams p = defaults();
  p.horizon = 5;
  Planner pl;
  init(&pl, &p, 17, 6);
  CkptReader *rd = ckpt_open(path, "test_planner", err, sizeof err);
  cr_assert_not_null(rd, "%s", err);
  cr_expect_eq(planner_load(&pl, rd, "planner", err, sizeof err), -1);
  cr_expect(strstr(err, "planner.mean"), "%s", err);
  ckpt_close(rd);
  planner_free(&pl);

  sim_open(&b, "HalfCheetah", 99);
  rd = ckpt_open(path, "test_planner", err, sizeof err);
  cr_assert_not_null(rd, "%s", err);
  cr_assert_eq(planner_load(&b.pl, rd, "planner", err, sizeof err), 0, "%s", err);
  ckpt_close(rd);
  env_set_state(b.real, state, b.obs);
  b.r = saved;
  sim_step(&b, act2);
  cr_expect(!memcmp(act, act2, 6 * sizeof(float)), "%g vs %g", act[0], act2[0]);
  cr_expect(!memcmp(a.pl.mean, b.pl.mean, 24 * sizeof(float)));
  cr_expect(!memcmp(a.pl.var, b.pl.var, 24 * sizeof(float)));
  sim_close(&a), sim_close(&b);
  free(state);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

// mpc_imagine adds the transitions of the plan just acted on, as the model predicts them: with the
// simulator as the model they equal stepping a copy of the task with the plan's actions from the
// acting state (rewards, observations, terminations), chained row to row, H of them
Test(mpc, imagine_follows_the_plan) {
  EnvOptions eo;
  Env *real = make("HalfCheetah", &eo);
  int O = real->obs_dim, A = real->act_dim;
  PlannerParams p = defaults();
  p.horizon = 5;
  p.samples = 8;
  p.iterations = 2;
  MpcModel m;
  Mpc c;
  cr_assert_eq(mpc_model_init(&m, MPC_MODEL_SIM, &eo, real, NULL, 1, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mpc_init(&c, &p, &m, real, err, sizeof err), 0, "%s", err);
  c.training = 1;
  rng_init(&c.rng, 3, RNG_STREAM_PLANNER);
  planner_reset(&c.planner);
  Rng reset;
  rng_init(&reset, 2, RNG_STREAM_RESET);
  double obs[64], act[16], next[64], u[16], state[256];
  env_reset(real, &reset, obs);
  cr_assert_leq(env_state_size(real), 256);
  mpc_act(&c, obs, act);
  Replay out;
  cr_assert_eq(replay_init(&out, 100, O, A, err, sizeof err), 0, "%s", err);
  env_get_state(real, state);
  float plan[5 * 16];   // (H, A) the plan acted on
  memcpy(plan, c.planner.mean, sizeof(float) * 5 * A);
  mpc_imagine(&c, obs, &out);
  cr_assert_eq(out.size, 5);
  for (int h = 0; h < 5; h++) {
    for (int j = 0; j < A; j++) u[j] = plan[h * A + j];
    cr_expect(!memcmp(out.act + (size_t)h * A, plan + h * A, A * sizeof(float)), "step %d action", h);
    double a[16];
    action_from_unit(real, u, a);
    EnvStep st;
    double *from = h == 0 ? obs : next;
    for (int j = 0; j < O; j++)
      cr_expect_eq(out.obs[(size_t)h * O + j], (float)from[j], "step %d obs %d", h, j);
    env_step(real, a, next, &st);
    cr_expect_eq(out.rew[h], (float)st.reward, "step %d reward", h);
    cr_expect_eq(out.term[h], st.terminated);
    for (int j = 0; j < O; j++)
      cr_expect_eq(out.next_obs[(size_t)h * O + j], (float)next[j], "step %d next obs %d", h, j);
  }
  // the first imagined action is the one acted on
  for (int j = 0; j < A; j++) cr_expect_eq(c.unit[j], plan[j]);
  replay_free(&out);
  mpc_free(&c);
  mpc_model_free(&m);
  env_free(real);
  env_options_free(&eo);
}

// returns that are not numbers leave no finite sampling distribution: the planner ends the
// program as diverged (exit 1) instead of acting on NaN
Test(planner, nan_returns_are_divergence, .exit_code = 1) {
  PlannerParams p = defaults();
  Planner pl;
  Lin m;
  lin_init(&m, 2, 1);
  memcpy(m.x0, x0_2, sizeof x0_2);
  m.bonus = NAN;
  init(&pl, &p, 2, 2);
  PlanModel model = lin_model(&m);
  Rng r;
  rng_init(&r, 1, RNG_STREAM_PLANNER);
  float act[2];
  planner_act(&pl, &model, m.x0, NULL, NULL, NULL, NULL, 0, &r, act, NULL);
  cr_assert_fail("the planner acted (%g, %g) on NaN returns", act[0], act[1]);
}
