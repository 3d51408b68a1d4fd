// planner: DMD-MPC over action sequences in the unit box, and the simulator as a model (see
// planner.h).
//
// Rows. The candidates' rollouts are one start(n, 0) of n = C' P' rows, row i P' + p holding
// particle p of candidate i (C' = N, plus M with a prior policy; P' = P for a stochastic model,
// else 1); the model returns every row in each of its R replicas, (R, n). Steps that cannot
// change a return are not simulated: with a value callback the last step (its reward is replaced
// by the value at the state before it), and the prior sequences' last step (only the actions of
// H steps are needed). With tail steps (and a prior) the rollout is H + T steps long, the policy
// acting on the replicas' mean observation; the value, if any, sees (s_{H+T-1}, a_{H+T-1}), the
// start observation when H + T = 1. Prior actions are clamped to the box.
//
// Random draws, all from the Rng given to planner_act, in this order:
//   1. the prior sequences (with a prior and M > 0): for h < H - 1, the model's draws of one
//      advance of the M rows (mode 1)
//   2. for each iteration: N H A truncated normals (rng_truncnormal), sample by sample, then
//      step by step, then dimension by dimension, one per element even where the spread is 0;
//      then the model's draws of each advance, step by step
//   3. when training with act = sample: one rng_uniform choosing the candidate
// The planner draws nothing else; the callbacks get no Rng.
//
// Choices the header leaves open: the cost utility samples its training action from its positive
// weights (the better-than-average candidates, in proportion to their advantage; the mean if none);
// its weight entropy is NaN; the mean is clamped to the box after every update (a no-op up to
// rounding for the exp and elite utilities, whose means are convex combinations); the elite
// ranking breaks ties by the lower candidate index; the cost utility's std is the population std;
// a non-finite return (a diverged learned model) counts as the lowest finite one (0 if none).
#include "planner.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "episodes.h"
#include "fail.h"

static const float unit_lo = -1.0f, unit_hi = 1.0f;

// x clamped to the unit box's [unit_lo, unit_hi] (NaN stays NaN)
static inline float unit_clamp(float x) { return x < unit_lo ? unit_lo : x > unit_hi ? unit_hi : x; }
static inline double unit_clampd(double x) {
  return x < unit_lo ? unit_lo : x > unit_hi ? unit_hi : x;
}

typedef struct {
  double ret;
  int idx;
} Ranked;

typedef struct {
  int n_max;          // C P: rows of the largest rollout
  size_t cap;         // R n rows the per-replica buffers hold
  float *act;         // (n, A) every row's action of the current step
  float *mobs;        // (n, O) the replicas' mean observation (tail policy)
  float *mnew;        // (H, A) the updated mean
  float *m0, *v0;     // (H, A) extragrad: the distribution the half step started from
  double *std;        // (H, A) sampling std
  double *zlo, *zhi;  // (H, A) truncation of z, so that m + std z stays in the box
  Ranked *rank;       // (C) elite ranking
  // per replica
  float *rew;         // (R, n)
  float *obs;         // (R, n, O) the rows' current observations
  uint8_t *done;      // (R, n)
  uint8_t *alive;     // (R, n)
  double *rowret;     // (R, n) each row's return so far
  float *vact;        // (R, n, A) the value's actions
  float *vout;        // (R, n)
} Scratch;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

int planner_params_check(const PlannerParams *p, char *err, size_t errsz) {
  if (p->utility == UTILITY_ELITE && p->elites > p->samples)
    return fail_msg(err, errsz, "planner.elites (%lld) must not exceed planner.samples (%lld)",
                    (long long)p->elites, (long long)p->samples);
  if (p->split && p->optimism != OPTIMISM_EXTRAGRAD)
    return fail_msg(err, errsz, "planner.split splits the rounds of planner.optimism=extragrad; "
                    "with planner.optimism=%s there is one round",
                    p->optimism == OPTIMISM_OGD ? "ogd" : "none");
  if (p->optimism == OPTIMISM_EXTRAGRAD && p->split && p->samples < 2)
    return fail_msg(err, errsz, "planner.split halves planner.samples (%lld): at least 2 needed",
                    (long long)p->samples);
  if (p->prior_mean && floor(p->mixture * (double)p->samples) < 1)
    return fail_msg(err, errsz,
                    "planner.prior_mean needs a prior sequence: planner.mixture (%g) x "
                    "planner.samples (%lld) must be at least 1",
                    p->mixture, (long long)p->samples);
  return 0;
}

int planner_init(Planner *pl, const PlannerParams *p, int obs_dim, int act_dim, char *err,
                 size_t errsz) {
  memset(pl, 0, sizeof *pl);
  if (obs_dim < 1 || act_dim < 1)
    return fail_msg(err, errsz, "planner: observation size %d and action size %d must be positive",
                    obs_dim, act_dim);
  if (planner_params_check(p, err, errsz)) return -1;
  int64_t N = p->samples, M = (int64_t)floor(p->mixture * (double)N), C = N + M;
  // rows and sequences are indexed by int
  double rows = (double)C * (double)p->particles;
  double seq = (double)C * (double)p->horizon * act_dim;
  double wide = rows * (obs_dim > act_dim ? obs_dim : act_dim);
  if (rows > 1 << 28 || seq > 1 << 28 || wide > 1 << 30)
    return fail_msg(err, errsz,
                    "planner: %lld candidates x %lld particles (horizon %lld, %d actions, %d "
                    "observations) are too many rows",
                    (long long)C, (long long)p->particles, (long long)p->horizon, act_dim,
                    obs_dim);
  pl->p = *p;
  pl->H = (int)p->horizon;
  pl->A = act_dim;
  pl->O = obs_dim;
  pl->N = (int)N;
  pl->M = (int)M;
  pl->C = (int)C;
  size_t HA = (size_t)pl->H * pl->A;
  pl->mean = xmalloc(HA, sizeof *pl->mean, "planner");
  pl->var = xmalloc(HA, sizeof *pl->var, "planner");
  pl->cand = xcalloc((size_t)C * HA, sizeof *pl->cand, "planner candidates");
  pl->ret = xcalloc((size_t)C, sizeof *pl->ret, "planner returns");
  pl->w = xcalloc((size_t)C, sizeof *pl->w, "planner weights");
  Scratch *s = xcalloc(1, sizeof *s, "planner");
  s->n_max = (int)rows;
  size_t n = (size_t)s->n_max;
  s->act = xmalloc(n * act_dim, sizeof *s->act, "planner rows");
  s->mobs = xmalloc(n * obs_dim, sizeof *s->mobs, "planner rows");
  s->mnew = xmalloc(HA, sizeof *s->mnew, "planner");
  s->m0 = xmalloc(HA, sizeof *s->m0, "planner");
  s->v0 = xmalloc(HA, sizeof *s->v0, "planner");
  pl->gprev = xcalloc(HA, sizeof *pl->gprev, "planner");
  s->std = xmalloc(HA, sizeof *s->std, "planner");
  s->zlo = xmalloc(HA, sizeof *s->zlo, "planner");
  s->zhi = xmalloc(HA, sizeof *s->zhi, "planner");
  s->rank = xmalloc((size_t)C, sizeof *s->rank, "planner ranking");
  pl->scratch = s;
  planner_reset(pl);
  return 0;
}

static void free_replica_buffers(Scratch *s) {
  free(s->rew), free(s->obs), free(s->done), free(s->alive), free(s->rowret), free(s->vact),
      free(s->vout);
  s->rew = s->obs = s->vact = s->vout = NULL;
  s->done = s->alive = NULL;
  s->rowret = NULL;
  s->cap = 0;
}

void planner_free(Planner *pl) {
  free(pl->gprev);
  Scratch *s = pl->scratch;
  if (s) {
    free_replica_buffers(s);
    free(s->act), free(s->mobs), free(s->mnew), free(s->m0), free(s->v0), free(s->std);
    free(s->zlo), free(s->zhi), free(s->rank);
    free(s);
  }
  free(pl->mean), free(pl->var), free(pl->cand), free(pl->ret), free(pl->w);
  memset(pl, 0, sizeof *pl);
}

void planner_reset(Planner *pl) {
  size_t HA = (size_t)pl->H * pl->A;
  for (size_t j = 0; j < HA; j++) {
    pl->mean[j] = 0.0f;
    pl->var[j] = (float)pl->p.init_var;
  }
  pl->has_prev = 0;
}

// the per-replica buffers for R copies of the largest rollout (once per larger model)
static void ensure_replicas(Planner *pl, int R) {
  Scratch *s = pl->scratch;
  size_t rows = (size_t)R * s->n_max;
  if (rows <= s->cap) return;
  free_replica_buffers(s);
  s->rew = xmalloc(rows, sizeof *s->rew, "planner replica rows");
  s->obs = xmalloc(rows * pl->O, sizeof *s->obs, "planner replica rows");
  s->done = xmalloc(rows, sizeof *s->done, "planner replica rows");
  s->alive = xmalloc(rows, sizeof *s->alive, "planner replica rows");
  s->rowret = xmalloc(rows, sizeof *s->rowret, "planner replica rows");
  s->vact = xmalloc(rows * pl->A, sizeof *s->vact, "planner replica rows");
  s->vout = xmalloc(rows, sizeof *s->vout, "planner replica rows");
  s->cap = rows;
}

// ---- the steps of planner_act ----

// m <- (m_1, ..., m_{H-1}, fill); v reset, or shifted with the same kind of fill
static void shift(Planner *pl) {
  int H = pl->H, A = pl->A;
  size_t last = (size_t)(H - 1) * A;
  memmove(pl->mean, pl->mean + A, last * sizeof *pl->mean);
  if (pl->p.shift == SHIFT_ZERO)
    for (int j = 0; j < A; j++) pl->mean[last + j] = 0.0f;
  // ogd's hint moves with the problem: its new last step predicts nothing
  memmove(pl->gprev, pl->gprev + A, last * sizeof *pl->gprev);
  for (int j = 0; j < A; j++) pl->gprev[last + j] = 0.0f;
  // with repeat the last block already holds m_{H-1} (memmove leaves it)
  if (!pl->p.carry_var) {
    for (size_t j = 0; j < (size_t)H * A; j++) pl->var[j] = (float)pl->p.init_var;
    return;
  }
  memmove(pl->var, pl->var + A, last * sizeof *pl->var);
  if (pl->p.shift == SHIFT_ZERO)
    for (int j = 0; j < A; j++) pl->var[last + j] = (float)pl->p.init_var;
}

// n rows of the start observation into out (n, O)
static void fill_obs(float *out, const double *obs, int n, int O) {
  for (int j = 0; j < O; j++) out[j] = (float)obs[j];
  for (int k = 1; k < n; k++) memcpy(out + (size_t)k * O, out, (size_t)O * sizeof *out);
}

// the M prior sequences into cand rows N..N+M-1: the policy acts on each row's predicted
// observation, rows advancing through one random replica per row and step
static void prior_sequences(Planner *pl, PlanModel *model, const double *obs, PlanPolicyFn prior,
                            void *prior_ctx, Rng *r) {
  Scratch *s = pl->scratch;
  int H = pl->H, A = pl->A, O = pl->O, M = pl->M;
  fill_obs(s->obs, obs, M, O);
  model->start(model->ctx, M, 1);
  for (int h = 0; h < H; h++) {
    prior(prior_ctx, s->obs, s->act, M);
    for (int i = 0; i < M; i++) {
      float *dst = pl->cand + ((size_t)(pl->N + i) * H + h) * A;
      for (int j = 0; j < A; j++) {
        float a = s->act[(size_t)i * A + j];
        dst[j] = unit_clamp(a);
      }
    }
    if (h + 1 < H) model->advance(model->ctx, s->act, r, s->rew, s->obs, s->done);
  }
}

// N sequences a_i = m + std z_i, z_i truncated to [-2, 2] and to the box, into cand rows 0..N-1
// (row 0 is m itself with keep_mean)
static void sample(Planner *pl, Rng *r) {
  Scratch *s = pl->scratch;
  size_t HA = (size_t)pl->H * pl->A;
  double floor2 = pl->p.std_min * pl->p.std_min;
  for (size_t j = 0; j < HA; j++) {
    double m = pl->mean[j], lo = m - unit_lo, hi = unit_hi - m;
    double c = fmin(fmin(0.25 * lo * lo, 0.25 * hi * hi), (double)pl->var[j]);
    double sd = sqrt(fmax(c, floor2));
    s->std[j] = sd;
    s->zlo[j] = sd > 0 ? fmax(-2.0, -lo / sd) : -2.0;
    s->zhi[j] = sd > 0 ? fmin(2.0, hi / sd) : 2.0;
    // a mean on a bound with a floor: the interval is [0, 2] or [-2, 0], never empty
    if (!(s->zlo[j] < s->zhi[j])) s->zlo[j] = -2.0, s->zhi[j] = 2.0, s->std[j] = 0.0;
  }
  int first = 0;
  if (pl->p.keep_mean) {
    memcpy(pl->cand, pl->mean, HA * sizeof *pl->cand);
    first = 1;
  }
  for (int i = first; i < pl->N; i++) {
    float *a = pl->cand + (size_t)i * HA;
    for (size_t j = 0; j < HA; j++) {
      double z = rng_truncnormal(r, s->zlo[j], s->zhi[j]);
      float x = (float)((double)pl->mean[j] + s->std[j] * z);
      a[j] = unit_clamp(x);
    }
  }
}

// returns ret (C') of the candidates: rollouts of every particle in every replica
static void score(Planner *pl, PlanModel *model, const double *obs, PlanPolicyFn prior,
                  void *prior_ctx, PlanValueFn value, void *value_ctx, int C, int P, int L,
                  Rng *r) {
  Scratch *s = pl->scratch;
  int H = pl->H, A = pl->A, O = pl->O, R = model->replicas;
  int n = C * P;
  size_t rn = (size_t)R * n;
  for (size_t k = 0; k < rn; k++) {
    s->alive[k] = 1;
    s->rowret[k] = 0.0;
  }
  model->start(model->ctx, n, 0);
  for (int h = 0; h < L; h++) {
    // the step's action of every row: the candidate's, or the tail policy's
    if (h < H) {
      for (int i = 0; i < C; i++) {
        const float *src = pl->cand + ((size_t)i * H + h) * A;
        for (int p = 0; p < P; p++) memcpy(s->act + ((size_t)i * P + p) * A, src, A * sizeof *src);
      }
    } else {
      const float *src = s->obs;
      if (R > 1) {
        float inv = 1.0f / (float)R;
        size_t nO = (size_t)n * O;
        for (size_t k = 0; k < nO; k++) {
          float acc = 0.0f;
          for (int q = 0; q < R; q++) acc += s->obs[q * nO + k];
          s->mobs[k] = acc * inv;
        }
        src = s->mobs;
      }
      prior(prior_ctx, src, s->act, n);
      for (size_t k = 0; k < (size_t)n * A; k++)
        s->act[k] = unit_clamp(s->act[k]);
    }
    if (value && h == L - 1) {
      // the value at (s_{L-1}, a_{L-1}) takes over the last reward
      if (h == 0) fill_obs(s->obs, obs, (int)rn, O);
      for (int q = 0; q < R; q++)
        memcpy(s->vact + (size_t)q * n * A, s->act, (size_t)n * A * sizeof *s->act);
      value(value_ctx, s->obs, s->vact, (int)rn, s->vout);
      for (size_t k = 0; k < rn; k++) s->rowret[k] += s->alive[k] ? (double)s->vout[k] : 0.0;
      break;
    }
    model->advance(model->ctx, s->act, r, s->rew, s->obs, s->done);
    for (size_t k = 0; k < rn; k++) s->rowret[k] += s->alive[k] ? (double)s->rew[k] : 0.0;
    if (pl->p.terminate)
      for (size_t k = 0; k < rn; k++) s->alive[k] &= (uint8_t)!s->done[k];
  }
  // mean over replicas and particles
  double inv = 1.0 / ((double)R * P), lowest = HUGE_VAL;
  for (int i = 0; i < C; i++) {
    double acc = 0.0;
    for (int q = 0; q < R; q++)
      for (int p = 0; p < P; p++) acc += s->rowret[(size_t)q * n + (size_t)i * P + p];
    pl->ret[i] = acc * inv;
    if (isfinite(pl->ret[i]) && pl->ret[i] < lowest) lowest = pl->ret[i];
  }
  // a learned model that blows up on some candidates must not turn every weight into NaN: they
  // count as the worst; on every candidate, the model has diverged and no plan is a result
  if (!isfinite(lowest))
    fail_diverged("planner: the return of every one of the %d candidates is not finite (the "
                  "model diverged)", C);
  for (int i = 0; i < C; i++)
    if (!isfinite(pl->ret[i])) pl->ret[i] = lowest;
}

// a before b: the higher return, ties to the lower index (a total order, so the result does not
// depend on the algorithm)
static int ranks_before(const Ranked *a, const Ranked *b) {
  return a->ret > b->ret || (a->ret == b->ret && a->idx < b->idx);
}

static void sift_down(Ranked *h, int i, int n) {
  for (;;) {
    int best = i, l = 2 * i + 1, r = l + 1;
    if (l < n && ranks_before(&h[l], &h[best])) best = l;
    if (r < n && ranks_before(&h[r], &h[best])) best = r;
    if (best == i) return;
    Ranked t = h[i];
    h[i] = h[best];
    h[best] = t;
    i = best;
  }
}

// the K best of rk (n) into rk[n - K .. n - 1], best last: a heap, without allocation (glibc's
// qsort may allocate)
static void select_best(Ranked *rk, int n, int K) {
  for (int i = n / 2 - 1; i >= 0; i--) sift_down(rk, i, n);
  for (int k = 0; k < K; k++) {
    int last = n - 1 - k;
    Ranked t = rk[0];
    rk[0] = rk[last];
    rk[last] = t;
    sift_down(rk, 0, last);
  }
}

// w (C) from ret (C) by the utility
static void weights(Planner *pl, int C) {
  double *w = pl->w, *ret = pl->ret;
  switch (pl->p.utility) {
  case UTILITY_EXP: {
    double mx = ret[0], sum = 0.0;
    for (int i = 1; i < C; i++) mx = ret[i] > mx ? ret[i] : mx;
    for (int i = 0; i < C; i++) sum += w[i] = exp(pl->p.kappa * (ret[i] - mx));
    for (int i = 0; i < C; i++) w[i] /= sum;
    break;
  }
  case UTILITY_ELITE: {
    Ranked *rk = ((Scratch *)pl->scratch)->rank;
    int K = (int)pl->p.elites;
    for (int i = 0; i < C; i++) rk[i] = (Ranked){ret[i], i};
    select_best(rk, C, K);
    for (int i = 0; i < C; i++) w[i] = 0.0;
    for (int k = 0; k < K; k++) w[rk[C - 1 - k].idx] = 1.0 / K;
    break;
  }
  default: {
    double mean = 0.0, ss = 0.0;
    for (int i = 0; i < C; i++) mean += ret[i];
    mean /= C;
    for (int i = 0; i < C; i++) ss += (ret[i] - mean) * (ret[i] - mean);
    double sd = sqrt(ss / C);
    for (int i = 0; i < C; i++) w[i] = sd > 0 ? (ret[i] - mean) / (C * sd) : 0.0;
    break;
  }
  }
}

// The DMD steps of the mean and the variance from the weighted candidates sampled around
// pl->mean. from (H, A): NULL for the plain step (ogd's hint added when it is on), or the mean
// the direction is applied from (extragrad's second round; the variance is then updated from
// s->v0, the half step's start).
static void update(Planner *pl, int C, const float *from) {
  Scratch *s = pl->scratch;
  size_t HA = (size_t)pl->H * pl->A;
  double gm = pl->p.gamma_mean, gv = pl->p.gamma_var;
  const double *w = pl->w;
  const float *cand = pl->cand;
  int ogd = !from && pl->p.optimism == OPTIMISM_OGD;
  double beta = ogd && pl->has_prev ? pl->p.beta : 0.0;
  const float *vsrc = from ? s->v0 : pl->var;
  if (pl->p.utility == UTILITY_COST) {
    for (size_t j = 0; j < HA; j++) {
      double m = pl->mean[j], v = pl->var[j], g = 0.0, gs = 0.0;
      for (int i = 0; i < C; i++) {
        double d = (double)cand[(size_t)i * HA + j] - m;
        g += w[i] * d;
        gs += w[i] * (d * d - v);
      }
      double mn = from ? (double)from[j] + gm * g : m + gm * g, vn = (double)vsrc[j] + gv * gs;
      if (beta != 0.0) mn -= gm * beta * (-g - (double)pl->gprev[j]);
      if (ogd) pl->gprev[j] = (float)-g;
      s->mnew[j] = (float)unit_clampd(mn);
      pl->var[j] = (float)(vn > 0.0 ? vn : 0.0);
    }
  } else {
    for (size_t j = 0; j < HA; j++) {
      double acc = 0.0;
      for (int i = 0; i < C; i++) acc += w[i] * cand[(size_t)i * HA + j];
      double g = (double)pl->mean[j] - acc;   // the direction: m' = m - gm g
      double mn = from ? (double)from[j] - gm * g : (1.0 - gm) * pl->mean[j] + gm * acc;
      if (beta != 0.0) mn -= gm * beta * (g - (double)pl->gprev[j]);
      if (ogd) pl->gprev[j] = (float)g;
      mn = unit_clampd(mn);
      double sv = 0.0;
      for (int i = 0; i < C; i++) {
        double d = (double)cand[(size_t)i * HA + j] - mn;
        sv += w[i] * d * d;
      }
      s->mnew[j] = (float)mn;
      pl->var[j] = (float)((1.0 - gv) * vsrc[j] + gv * sv);
    }
  }
  if (ogd) pl->has_prev = 1;
  memcpy(pl->mean, s->mnew, HA * sizeof *pl->mean);
}

// the training action's candidate: j ~ w (the cost utility: its positive weights); -1 for none
static int draw_candidate(const Planner *pl, int C, Rng *r) {
  double total = 0.0;
  for (int i = 0; i < C; i++) total += pl->w[i] > 0 ? pl->w[i] : 0.0;
  double u = rng_uniform(r) * total, acc = 0.0;
  int last = -1;
  for (int i = 0; i < C; i++) {
    if (!(pl->w[i] > 0)) continue;
    acc += pl->w[i];
    last = i;
    if (u < acc) return i;
  }
  return last;
}

void planner_act(Planner *pl, PlanModel *model, const double *obs, PlanPolicyFn prior,
                 void *prior_ctx, PlanValueFn value, void *value_ctx, int training, Rng *r,
                 float *act, PlanStats *st) {
  double t0 = now_ms();
  assert(model->obs_dim == pl->O && model->act_dim == pl->A && model->replicas >= 1);
  ensure_replicas(pl, model->replicas);
  int H = pl->H, A = pl->A;
  int use_prior = prior != NULL && pl->M > 0;
  int C = pl->N + (use_prior ? pl->M : 0);
  int P = model->stochastic ? (int)pl->p.particles : 1;
  int L = H + (prior ? (int)pl->p.tail_steps : 0);
  assert(obs || (!use_prior && !(value && L == 1)));

  // extragrad with split: each round samples N/2 (the prior sequences follow them)
  int N_full = pl->N, extra = pl->p.optimism == OPTIMISM_EXTRAGRAD;
  if (extra && pl->p.split) pl->N = N_full / 2, C = pl->N + (use_prior ? pl->M : 0);
  shift(pl);
  if (use_prior) {
    prior_sequences(pl, model, obs, prior, prior_ctx, r);
    if (pl->p.prior_mean)
      memcpy(pl->mean, pl->cand + (size_t)pl->N * H * A, (size_t)H * A * sizeof *pl->mean);
  }
  Scratch *s = pl->scratch;
  size_t HA = (size_t)H * A;
  for (int it = 0; it < pl->p.iterations; it++) {
    if (extra) {
      memcpy(s->m0, pl->mean, HA * sizeof *s->m0);
      memcpy(s->v0, pl->var, HA * sizeof *s->v0);
    }
    sample(pl, r);
    score(pl, model, obs, prior, prior_ctx, value, value_ctx, C, P, L, r);
    weights(pl, C);
    update(pl, C, NULL);
    if (!extra) continue;
    // the second round at the half step m^ = pl->mean, with the variance it started from
    memcpy(pl->var, s->v0, HA * sizeof *pl->var);
    sample(pl, r);
    score(pl, model, obs, prior, prior_ctx, value, value_ctx, C, P, L, r);
    weights(pl, C);
    update(pl, C, s->m0);
  }
  pl->N = N_full;
  for (int i = 0; i < H * A; i++)
    if (!isfinite(pl->mean[i]) || !isfinite(pl->var[i]))
      fail_diverged("planner: the sampling distribution is not finite (mean %g, variance %g at "
                    "step %d of the horizon)", pl->mean[i], pl->var[i], i / A);

  if (training && pl->p.act == ACT_SAMPLE) {
    int j = draw_candidate(pl, C, r);
    if (j >= 0) memcpy(pl->mean, pl->cand + (size_t)j * H * A, (size_t)H * A * sizeof *pl->mean);
  }
  memcpy(act, pl->mean, (size_t)A * sizeof *act);

  if (st) {
    double best = pl->ret[0], sum = 0.0, ent = 0.0;
    for (int i = 0; i < C; i++) {
      best = pl->ret[i] > best ? pl->ret[i] : best;
      sum += pl->ret[i];
      if (pl->w[i] > 0) ent -= pl->w[i] * log(pl->w[i]);
    }
    st->best_return = best;
    st->mean_return = sum / C;
    st->weight_entropy = pl->p.utility == UTILITY_COST ? NAN : ent;
    st->solve_ms = now_ms() - t0;
  }
}

// ---- checkpoints ----

// the sampling distribution carried between control steps
// (and ogd's hint: the plain planner's checkpoints stay as they were)
static int fields(const Planner *pl, CkptField f[4]) {
  size_t HA = (size_t)pl->H * pl->A;
  f[0] = (CkptField){"mean", pl->mean, HA * sizeof *pl->mean};
  f[1] = (CkptField){"var", pl->var, HA * sizeof *pl->var};
  if (pl->p.optimism != OPTIMISM_OGD) return 2;
  f[2] = (CkptField){"gprev", pl->gprev, HA * sizeof *pl->gprev};
  f[3] = (CkptField){"has_prev", (void *)&pl->has_prev, sizeof pl->has_prev};
  return 4;
}

void planner_save(const Planner *pl, CkptWriter *w, const char *prefix) {
  CkptField f[4];
  ckpt_put_fields(w, prefix, f, fields(pl, f));
}

int planner_load(Planner *pl, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  CkptField f[4];
  return ckpt_get_fields(r, prefix, f, fields(pl, f), err, errsz);
}

// ---- the simulator as a model ----

static void sim_start(void *ctx, int n, int mode) {
  (void)mode;   // one replica: both modes are the same
  SimModel *s = ctx;
  size_t S = env_state_size(s->env);
  if (n > s->cap) {
    free(s->rows);
    s->rows = xmalloc((size_t)n * S, sizeof *s->rows, "simulator rows");
    s->cap = n;
  }
  for (int k = 0; k < n; k++) memcpy(s->rows + (size_t)k * S, s->start, S * sizeof *s->start);
  s->n = n;
}

// each row: restore, step with the mapped action, keep the state; a diverged row gets reward 0
// and done (its later steps diverge again, or at least stay masked with `terminate`)
static void sim_advance(void *ctx, const float *act, Rng *r, float *rew, float *obs,
                        uint8_t *done) {
  (void)r;   // deterministic
  SimModel *s = ctx;
  Env *e = s->env;
  int A = e->act_dim, O = e->obs_dim;
  size_t S = env_state_size(e);
  double *unit = s->buf, *a = s->buf + A, *o = s->buf + 2 * A;
  for (int k = 0; k < s->n; k++) {
    double *row = s->rows + (size_t)k * S;
    for (int j = 0; j < A; j++) unit[j] = act[(size_t)k * A + j];
    action_from_unit(e, unit, a);
    EnvStep step;
    env_restore(e, row);
    env_step(e, a, o, &step);
    env_get_state(e, row);
    rew[k] = step.diverged ? 0.0f : (float)step.reward;
    done[k] = (uint8_t)(step.diverged || step.terminated);
    for (int j = 0; j < O; j++) obs[(size_t)k * O + j] = (float)o[j];
  }
}

void sim_model_init(SimModel *s, Env *env, PlanModel *out) {
  memset(s, 0, sizeof *s);
  s->env = env;
  s->start = xcalloc(env_state_size(env), sizeof *s->start, "simulator state");
  s->buf = xmalloc(2 * (size_t)env->act_dim + env->obs_dim, sizeof *s->buf, "simulator");
  *out = (PlanModel){.obs_dim = env->obs_dim,
                     .act_dim = env->act_dim,
                     .replicas = 1,
                     .stochastic = 0,
                     .ctx = s,
                     .start = sim_start,
                     .advance = sim_advance};
}

void sim_model_free(SimModel *s) {
  free(s->start), free(s->rows), free(s->buf);
  memset(s, 0, sizeof *s);
}

void sim_model_start(SimModel *s, const double *state) {
  memcpy(s->start, state, env_state_size(s->env) * sizeof *state);
}
