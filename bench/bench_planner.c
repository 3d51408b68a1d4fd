// bench_planner: one DMD-MPC control step (planner_act) at the authors' settings, as a fraction
// of its GEMM-bound limit: the call's GEMM flops at this machine's single-thread sgemm peak,
// measured in the same run.
//
// Settings: the [planner] defaults (N = 100, M = 5, P = 4, H = 3, I = 5, exp utility) on the
// [ensemble] defaults (7 members of 4 x 200 Swish, 5 elites; random weights, untrained) at
// HalfCheetah's sizes (O = 17, A = 6). The prior policy is a SAC actor (O -> 256 -> 256 -> 2A
// ReLU, tanh of the mean) and the terminal value a SAC Q1 (O + A -> 256 -> 256 -> 1 ReLU), both
// random: the authors' controller. Rows per iteration: C P = 420 in each of R = 5 elites (R = 7
// with all members planning, as the authors' code computes), 2 model steps (the value replaces
// the third step's reward, so that step is not simulated) and one value pass.
//
// GEMM flops counted (2 rows I O per layer; a row goes through one member):
//   per iteration   (H - 1) model steps of R C P rows, the value on R C P rows
//   per call        H actor passes of M rows, (H - 1) model steps of M rows (prior sequences)
// Everything else (Swish, the model's normals and sampling, input standardisation, the planner's
// own loops) counts as overhead against the limit. The split below times the callbacks inside
// the call.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ensemble.h"
#include "fail.h"
#include "nn.h"
#include "peak.h"
#include "planner.h"
#include "rng.h"
#include "simd.h"

enum { OBS = 17, ACT = 6, QROWS = 8192 };

// flops of a forward pass of one row through one member
static double row_flops(const Mlp *m) {
  double f = 0.0;
  for (int l = 0; l < m->nlayers; l++) f += 2.0 * m->layer[l].in * m->layer[l].out;
  return f;
}

// a random SAC-sized actor and critic as the planner's callbacks
typedef struct {
  Mlp actor, q;
  MlpWork aw, qw;
  float *x;        // (QROWS, O + A) critic input
  double t_prior, t_value;
} Sac;

static void prior_fn(void *ctx, const float *obs, float *act, int n) {
  Sac *s = ctx;
  double t0 = now();
  const float *out = mlp_forward(&s->actor, &s->aw, obs, n);   // (n, 2A): mean, log-std
  for (int k = 0; k < n; k++)
    for (int j = 0; j < ACT; j++) act[k * ACT + j] = tanhf(out[k * 2 * ACT + j]);
  s->t_prior += now() - t0;
}

static void value_fn(void *ctx, const float *obs, const float *act, int n, float *v) {
  Sac *s = ctx;
  double t0 = now();
  for (int k = 0; k < n; k++) {
    memcpy(s->x + (size_t)k * (OBS + ACT), obs + (size_t)k * OBS, OBS * sizeof(float));
    memcpy(s->x + (size_t)k * (OBS + ACT) + OBS, act + (size_t)k * ACT, ACT * sizeof(float));
  }
  const float *out = mlp_forward(&s->q, &s->qw, s->x, n);
  memcpy(v, out, (size_t)n * sizeof *v);
  s->t_value += now() - t0;
}

// the model behind a timer
typedef struct {
  PlanModel inner;
  double t_model;
} Timed;

static void timed_start(void *ctx, int n, int mode) {
  Timed *t = ctx;
  double t0 = now();
  t->inner.start(t->inner.ctx, n, mode);
  t->t_model += now() - t0;
}

static void timed_advance(void *ctx, const float *act, Rng *r, float *rew, float *obs,
                          uint8_t *done) {
  Timed *t = ctx;
  double t0 = now();
  t->inner.advance(t->inner.ctx, act, r, rew, obs, done);
  t->t_model += now() - t0;
}

typedef struct {
  Planner pl;
  PlanModel model;
  Timed timed;
  EnsembleModel em;
  Sac *sac;
  double obs[OBS];
  Rng r;
  int calls;
} Bench;

static void run_act(void *ctx) {
  Bench *b = ctx;
  float act[ACT];
  ensemble_model_start(&b->em, b->obs);
  planner_act(&b->pl, &b->model, b->obs, prior_fn, b->sac, value_fn, b->sac, 1, &b->r, act, NULL);
  b->calls++;
}

static void bench_case(const char *name, Ensemble *ens, int all, Sac *sac, const PlannerParams *pp,
                       double peak) {
  Bench b;
  char err[256];
  memset(&b, 0, sizeof b);
  if (planner_init(&b.pl, pp, OBS, ACT, err, sizeof err)) fail_run("%s", err);
  ensemble_model_init(&b.em, ens, NULL, all, &b.timed.inner);
  b.model = b.timed.inner;
  b.model.ctx = &b.timed;
  b.model.start = timed_start;
  b.model.advance = timed_advance;
  b.sac = sac;
  Rng ro;
  rng_init(&ro, 3, RNG_STREAM_DATA);
  for (int j = 0; j < OBS; j++) b.obs[j] = rng_uniform_range(&ro, -1, 1);
  rng_init(&b.r, 1, RNG_STREAM_PLANNER);

  int R = b.model.replicas, H = b.pl.H, I = (int)pp->iterations, M = b.pl.M;
  double rows = (double)R * b.pl.C * (double)pp->particles;
  double model_f = row_flops(all ? &ens->net : &ens->elite), q_f = row_flops(&sac->q);
  double plan_f = I * ((H - 1) * rows * model_f + rows * q_f);
  double prior_f = H * M * row_flops(&sac->actor) + (H - 1) * M * model_f;
  double flops = plan_f + prior_f;
  double t = best_time(run_act, &b), limit = flops / (peak * 1e9);

  // the split of a few calls
  b.timed.t_model = sac->t_prior = sac->t_value = 0;
  int n = 10;
  double t0 = now();
  for (int k = 0; k < n; k++) run_act(&b);
  double tt = (now() - t0) / n, tm = b.timed.t_model / n, tv = sac->t_value / n,
         tp = sac->t_prior / n;
  double model_gemm = (I * (H - 1) * rows + (H - 1) * M) * model_f / (peak * 1e9);
  double value_gemm = I * rows * q_f / (peak * 1e9);
  printf("%s: R = %d replicas, %.0f rows per iteration, %.1f MFLOP of GEMMs\n", name, R,
         rows, flops * 1e-6);
  printf("  %-34s %8.2f ms\n", "planner_act", t * 1e3);
  printf("  %-34s %8.2f ms   (%.1f%% of the call's time)\n", "GEMM-bound limit", limit * 1e3,
         100.0 * limit / t);
  printf("  split of %d calls (%.2f ms each):\n", n, tt * 1e3);
  printf("    %-32s %8.2f ms   (its GEMMs %.2f ms: %.1f%%)\n", "model (start + advance)", tm * 1e3,
         model_gemm * 1e3, 100.0 * model_gemm / tm);
  printf("    %-32s %8.2f ms   (its GEMMs %.2f ms: %.1f%%)\n", "value (Q1)", tv * 1e3,
         value_gemm * 1e3, 100.0 * value_gemm / tv);
  printf("    %-32s %8.2f ms\n", "prior policy", tp * 1e3);
  printf("    %-32s %8.2f ms\n", "planner itself", (tt - tm - tv - tp) * 1e3);
  printf("  target: 50%% of the GEMM-bound limit, measured %.1f%% (%.1f GFLOP/s)%s\n\n",
         100.0 * limit / t, flops / t * 1e-9, limit / t >= 0.5 ? "" : " (below target)");
  ensemble_model_free(&b.em);
  planner_free(&b.pl);
}

// the GEMMs alone at the shapes of one iteration (elites): every layer of each member on the
// iteration's rows, then the value's layers on every replica row; what OpenBLAS reaches there
typedef struct {
  const Mlp *model, *q;
  int R, rows, steps;   // members, rows per member, model steps per iteration
  float *x, *y;         // scratch wide enough for any layer
} Shapes;

static void run_shapes(void *ctx) {
  Shapes *s = ctx;
  for (int h = 0; h < s->steps; h++)
    for (int e = 0; e < s->R; e++)
      for (int l = 0; l < s->model->nlayers; l++) {
        const NnLayer *L = &s->model->layer[l];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->rows, L->out, L->in, 1.0f, s->x,
                    L->in, s->model->p.w + L->w_off + (size_t)e * L->in * L->out, L->out, 0.0f,
                    s->y, L->out);
      }
  for (int l = 0; l < s->q->nlayers; l++) {
    const NnLayer *L = &s->q->layer[l];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->R * s->rows, L->out, L->in, 1.0f,
                s->x, L->in, s->q->p.w + L->w_off, L->out, 0.0f, s->y, L->out);
  }
}

// the Swish kernel alone on one model step's hidden activations, for the split's context
typedef struct {
  float *z, *h;
  size_t n;
} Act;

static void run_swish(void *ctx) {
  Act *a = ctx;
  nn_act_forward(a->h, a->z, a->n, NN_SWISH);
}

int main(int argc, char **argv) {
  (void)argc;
  Rng r;
  double peak = bench_start(argv[0], &r);

  Config cfg;
  PlannerParams pp;
  EnsembleParams ep;
  cfg_init(&cfg);
  planner_params_register(&cfg, "planner", &pp);
  ensemble_params_register(&cfg, "ensemble", &ep);
  cfg_free(&cfg);
  char err[256];
  Rng init;
  rng_init(&init, 1, RNG_STREAM_INIT);
  Ensemble ens;
  if (ensemble_init(&ens, &ep, OBS, ACT, &init, err, sizeof err)) fail_run("%s", err);

  Sac sac;
  memset(&sac, 0, sizeof sac);
  int as[] = {OBS, 256, 256, 2 * ACT}, qs[] = {OBS + ACT, 256, 256, 1};
  if (mlp_init(&sac.actor, 1, 3, as, NN_RELU, NN_IDENTITY, err, sizeof err) ||
      mlp_init(&sac.q, 1, 3, qs, NN_RELU, NN_IDENTITY, err, sizeof err) ||
      mlp_work_init(&sac.aw, &sac.actor, QROWS, err, sizeof err) ||
      mlp_work_init(&sac.qw, &sac.q, QROWS, err, sizeof err))
    fail_run("%s", err);
  mlp_init_weights(&sac.actor, NN_INIT_TORCH, &init);
  mlp_init_weights(&sac.q, NN_INIT_TORCH, &init);
  sac.x = xmalloc((size_t)QROWS * (OBS + ACT), sizeof(float), "critic input");

  printf("DMD-MPC control step: N %lld, M %d, P %lld, H %lld, I %lld; ensemble %lld x %lldx%lld "
         "Swish, %lld elites; obs %d act %d; SAC actor prior and Q1 value 256x256 ReLU\n\n",
         (long long)pp.samples, (int)(pp.mixture * pp.samples), (long long)pp.particles,
         (long long)pp.horizon, (long long)pp.iterations, (long long)ep.members,
         (long long)ep.hidden_layers, (long long)ep.hidden_size, (long long)ep.elites, OBS, ACT);
  bench_case("elites planning", &ens, 0, &sac, &pp, peak);
  bench_case("all members planning (the authors' code)", &ens, 1, &sac, &pp, peak);

  // the iteration's GEMMs alone
  Shapes sh = {.model = &ens.elite, .q = &sac.q, .R = (int)ep.elites, .steps = (int)pp.horizon - 1};
  sh.rows = (int)((pp.samples + (int)(pp.mixture * pp.samples)) * pp.particles);
  size_t wide = (size_t)sh.R * sh.rows * 256;
  sh.x = xmalloc(wide, sizeof(float), "gemm input");
  sh.y = xmalloc(wide, sizeof(float), "gemm output");
  rng_fill_uniformf(&r, sh.x, wide, -1.0f, 1.0f);
  double tg = best_time(run_shapes, &sh);
  double fg = sh.steps * sh.R * (double)sh.rows * row_flops(&ens.elite) +
              sh.R * (double)sh.rows * row_flops(&sac.q);
  printf("GEMMs alone at one iteration's shapes (elites, %d rows per member): %.2f ms, %.1f "
         "GFLOP/s = %.1f%% of the peak\n", sh.rows, tg * 1e3, fg / tg * 1e-9,
         100.0 * fg / tg * 1e-9 / peak);
  free(sh.x), free(sh.y);

  // Swish at one elite model step's size: 5 members x 420 rows x 4 hidden layers x 200
  Act a;
  a.n = (size_t)ep.elites * 420 * ep.hidden_layers * ep.hidden_size;
  a.z = xmalloc(a.n, sizeof(float), "swish");
  a.h = xmalloc(a.n, sizeof(float), "swish");
  rng_fill_uniformf(&r, a.z, a.n, -4.0f, 4.0f);
  double ts = best_time(run_swish, &a);
  printf("Swish alone on one elite model step (%zu values): %.3f ms, %.2f ns per value\n", a.n,
         ts * 1e3, ts / (double)a.n * 1e9);
  free(a.z), free(a.h);

  free(sac.x);
  mlp_work_free(&sac.aw), mlp_work_free(&sac.qw);
  mlp_free(&sac.actor), mlp_free(&sac.q);
  ensemble_free(&ens);
  return EXIT_OK;
}
