// model_weights: the weightings of the ensemble's fit (see model_weights.h).
#include "model_weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

// ---- recency (PMAC) ----

static int fill_recency(ModelWeights *mw, const Replay *rb, double *w) {
  // the newest transition is generation 0; a generation is recency_every transitions
  for (size_t i = 0; i < rb->size; i++)
    w[i] = pow(mw->p.recency_decay, (double)((rb->size - 1 - i) / (size_t)mw->p.recency_every));
  return 1;
}

// ---- TOM ----

// The rows of the replay the dual reads, by position i (oldest first): the transition, the action
// a' at s' (sampled from the policy, or the one logged at the next position), and the episodes'
// first positions.
typedef struct {
  size_t n, nstart;
  size_t *slot;      // (n) replay slot of position i
  size_t *start;     // (nstart) positions that begin an episode
  float *r;          // (n) the dual's reward R
  float *term;       // (n) 1 if terminated
  float *a2;         // (n, A) a' ~ pi(.|s')
  float *e;          // (n) residuals
} TomRows;

static void tom_rows_init(TomRows *t, const Replay *rb) {
  size_t n = rb->size;
  t->n = n;
  t->slot = xmalloc(n, sizeof *t->slot, "weights");
  t->start = xmalloc(n, sizeof *t->start, "weights");
  t->r = xmalloc(n, sizeof *t->r, "weights");
  t->term = xmalloc(n, sizeof *t->term, "weights");
  t->a2 = xmalloc(n * (size_t)rb->act_dim, sizeof *t->a2, "weights");
  t->e = xmalloc(n, sizeof *t->e, "weights");
  t->nstart = 0;
  for (size_t i = 0; i < n; i++) {
    t->slot[i] = replay_slot(rb, i);
    t->term[i] = rb->term[t->slot[i]];
    // the oldest stored row stands for its episode's start when the buffer has wrapped
    if (i == 0 || rb->term[t->slot[i - 1]] || rb->trunc[t->slot[i - 1]]) t->start[t->nstart++] = i;
  }
}

static void tom_rows_free(TomRows *t) {
  free(t->slot), free(t->start), free(t->r), free(t->term), free(t->a2), free(t->e);
}

// a' for every position: the policy's samples at s', or the action logged at s' (the next
// position's, when it continues the episode; the transition's own otherwise)
static void next_actions(ModelWeights *mw, const Replay *rb, const TomRows *t) {
  int O = rb->obs_dim, A = rb->act_dim;
  enum { CHUNK = 4096 };
  if (mw->policy) {
    float *obs = xmalloc((size_t)CHUNK * O, sizeof *obs, "weights");
    for (size_t at = 0; at < t->n; at += CHUNK) {
      int k = t->n - at < CHUNK ? (int)(t->n - at) : CHUNK;
      for (int i = 0; i < k; i++)
        memcpy(obs + (size_t)i * O, rb->next_obs + t->slot[at + i] * O, (size_t)O * sizeof *obs);
      mw->policy(mw->policy_ctx, obs, t->a2 + at * A, k, &mw->rng);
    }
    free(obs);
    return;
  }
  for (size_t i = 0; i < t->n; i++) {
    size_t s = t->slot[i];
    int cont = i + 1 < t->n && !rb->term[s] && !rb->trunc[s];
    memcpy(t->a2 + i * A, rb->act + (cont ? t->slot[i + 1] : s) * A, (size_t)A * sizeof *t->a2);
  }
}

// q_steps steps of the dual on uniform draws of positions and start states
static double train_dual(ModelWeights *mw, const Replay *rb, const TomRows *t) {
  int O = rb->obs_dim, A = rb->act_dim, B = (int)mw->p.q_batch;
  if (mw->p.q_steps == 0) return NAN;
  float *s0 = xmalloc((size_t)B * O, sizeof *s0, "dual batch");
  float *a0 = xmalloc((size_t)B * A, sizeof *a0, "dual batch");
  float *s = xmalloc((size_t)B * O, sizeof *s, "dual batch");
  float *a = xmalloc((size_t)B * A, sizeof *a, "dual batch");
  float *s2 = xmalloc((size_t)B * O, sizeof *s2, "dual batch");
  float *a2 = xmalloc((size_t)B * A, sizeof *a2, "dual batch");
  float *r = xmalloc((size_t)B, sizeof *r, "dual batch");
  float *term = xmalloc((size_t)B, sizeof *term, "dual batch");
  double sum = 0.0;
  for (int64_t step = 0; step < mw->p.q_steps; step++) {
    for (int j = 0; j < B; j++) {
      size_t i = (size_t)rng_below(&mw->rng, t->n), sl = t->slot[i];
      memcpy(s + (size_t)j * O, rb->obs + sl * O, (size_t)O * sizeof *s);
      memcpy(a + (size_t)j * A, rb->act + sl * A, (size_t)A * sizeof *a);
      memcpy(s2 + (size_t)j * O, rb->next_obs + sl * O, (size_t)O * sizeof *s2);
      r[j] = t->r[i], term[j] = t->term[i];
      if (!mw->policy) memcpy(a2 + (size_t)j * A, t->a2 + i * A, (size_t)A * sizeof *a2);
      size_t st = t->slot[t->start[rng_below(&mw->rng, t->nstart)]];
      memcpy(s0 + (size_t)j * O, rb->obs + st * O, (size_t)O * sizeof *s0);
      if (!mw->policy) memcpy(a0 + (size_t)j * A, rb->act + st * A, (size_t)A * sizeof *a0);
    }
    if (mw->policy) {
      mw->policy(mw->policy_ctx, s0, a0, B, &mw->rng);
      mw->policy(mw->policy_ctx, s2, a2, B, &mw->rng);
    }
    sum += tom_dual_step(&mw->dual, s0, a0, B, s, a, r, term, s2, a2, B);
  }
  free(s0), free(a0), free(s), free(a), free(s2), free(a2), free(r), free(term);
  return sum / (double)mw->p.q_steps;
}

// The dual's residual of every transition, then w = min(f*'(e), clip)
static void tom_weights(ModelWeights *mw, const Replay *rb, TomRows *t, double *w) {
  int O = rb->obs_dim, A = rb->act_dim;
  // fresh a' ~ pi for the weights (the authors' get_weight); logged ones are in t->a2 already
  if (mw->policy) next_actions(mw, rb, t);
  enum { CHUNK = 4096 };
  float *s = xmalloc((size_t)CHUNK * O, sizeof *s, "weights");
  float *a = xmalloc((size_t)CHUNK * A, sizeof *a, "weights");
  float *s2 = xmalloc((size_t)CHUNK * O, sizeof *s2, "weights");
  for (size_t at = 0; at < t->n; at += CHUNK) {
    size_t k = t->n - at < CHUNK ? t->n - at : CHUNK;
    for (size_t i = 0; i < k; i++) {
      size_t sl = t->slot[at + i];
      memcpy(s + i * O, rb->obs + sl * O, (size_t)O * sizeof *s);
      memcpy(a + i * A, rb->act + sl * A, (size_t)A * sizeof *a);
      memcpy(s2 + i * O, rb->next_obs + sl * O, (size_t)O * sizeof *s2);
    }
    tom_dual_residual(&mw->dual, s, a, t->r + at, t->term + at, s2, t->a2 + at * A, k, t->e + at);
  }
  free(s), free(a), free(s2);
  for (size_t i = 0; i < t->n; i++) w[i] = tom_weight((TomF)mw->p.f, t->e[i], mw->p.clip);
}

// The dual and the weights on the reward already in t->r
static int tom_fill(ModelWeights *mw, const Replay *rb, TomRows *t, double *w) {
  if (!mw->policy) next_actions(mw, rb, t);   // the logged a' of the dual's steps
  mw->last.dual_loss = train_dual(mw, rb, t);
  tom_weights(mw, rb, t, w);
  tom_rows_free(t);
  return 1;
}

static int fill_tom_binary(ModelWeights *mw, const Replay *rb, double *w) {
  size_t n = rb->size, recent = (size_t)mw->p.recent;
  if (n <= recent) return 0;   // the authors start TOM once the recent pool is full
  TomRows t;
  tom_rows_init(&t, rb);
  for (size_t i = 0; i < n; i++) t.r[i] = i >= n - recent ? 1.0f : 0.0f;
  return tom_fill(mw, rb, &t, w);
}

// R = the logit of a fresh discriminator between the newest `recent` rows (s, a, s') and all of
// them; network and minibatches drawn from the weighting's stream (nothing to checkpoint)
static int fill_tom(ModelWeights *mw, const Replay *rb, double *w) {
  size_t n = rb->size, recent = (size_t)mw->p.recent;
  if (n <= recent) return 0;
  TomRows t;
  tom_rows_init(&t, rb);
  int O = rb->obs_dim, A = rb->act_dim;
  size_t P = 2 * (size_t)O + A;
  float *x = xmalloc(n * P, sizeof *x, "discriminator rows");   // (n, P) oldest first
  for (size_t i = 0; i < n; i++) {
    size_t sl = t.slot[i];
    float *xi = x + i * P;
    memcpy(xi, rb->obs + sl * O, (size_t)O * sizeof *x);
    memcpy(xi + O, rb->act + sl * A, (size_t)A * sizeof *x);
    memcpy(xi + O + A, rb->next_obs + sl * O, (size_t)O * sizeof *x);
  }
  TomDisc *d = mw->disc;
  double acc;
  mw->last.disc_loss = tom_disc_train(d, x + (n - recent) * P, recent, x, n, (int)mw->p.disc_epochs,
                                      (int)mw->p.disc_batch, mw->p.disc_label, mw->p.disc_gp,
                                      &mw->rng, &mw->rng, &acc);
  mw->last.disc_acc = acc;
  for (size_t i0 = 0; i0 < n; i0 += (size_t)d->rows) {
    int k = n - i0 < (size_t)d->rows ? (int)(n - i0) : d->rows;
    tom_disc_logit(d, x + i0 * P, k, t.r + i0);
  }
  free(x);
  return tom_fill(mw, rb, &t, w);
}

// in the order of MODEL_WEIGHTING_NAMES: ensemble.weights is an index into it
const ModelWeighting MODEL_WEIGHTINGS[] = {
    {"uniform", 0, 0, 0, NULL},
    {"recency", 0, 0, 0, fill_recency},
    {"tom-binary", 0, 1, 0, fill_tom_binary},
    {"tom", 1, 1, 1, fill_tom},
};
const int MODEL_NWEIGHTINGS = (int)(sizeof MODEL_WEIGHTINGS / sizeof *MODEL_WEIGHTINGS);

const char *model_weighting_names(void) {
  static char names[256];
  if (!names[0])
    for (int k = 0; k < MODEL_NWEIGHTINGS; k++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "|" : "",
               MODEL_WEIGHTINGS[k].name);
  return names;
}

// ---- the weighting's life ----

int model_weights_init(ModelWeights *mw, int which, const WeightsParams *p, int O, int A,
                       size_t cap, int has_policy, const char *why_none, uint32_t seed,
                       char *err, size_t errsz) {
  memset(mw, 0, sizeof *mw);
  mw->row = &MODEL_WEIGHTINGS[which];
  mw->p = *p;
  mw->O = O, mw->A = A;
  rng_init(&mw->rng, seed, RNG_STREAM_WEIGHTS);
  if (mw->row->needs_policy && !has_policy)
    return fail_msg(err, errsz, "ensemble.weights=%s needs the program's policy, and %s (use %s)",
                    mw->row->name, why_none, "tom-binary or recency");
  if ((mw->row->dual || mw->row->disc) && (size_t)p->recent >= cap)
    return fail_msg(err, errsz,
                    "weights.recent = %lld: the recent transitions must be fewer than the %zu the "
                    "buffer keeps", (long long)p->recent, cap);
  if (mw->row->disc && p->disc_hidden % 2)
    return fail_msg(err, errsz, "weights.disc_hidden = %lld: must be even (two halves of branches)",
                    (long long)p->disc_hidden);
  if (mw->row->dual) {
    Rng init;
    rng_init_sub(&init, seed, RNG_STREAM_INIT, 0x70d0a1);   // the dual's own substream
    if (tom_dual_init(&mw->dual, O, A, (int)p->q_hidden, (int)p->q_batch, p->q_lr, p->q_l2,
                      p->gamma, (TomF)p->f, &init, err, errsz))
      return -1;
  }
  if (mw->row->disc) {
    // rows: a minibatch, or a chunk of the logits pass
    int rows = p->disc_batch > 1024 ? (int)p->disc_batch : 1024;
    mw->disc = xmalloc(1, sizeof(TomDisc), "discriminator");
    if (tom_disc_init(mw->disc, O, A, (int)p->disc_hidden, p->disc_lr, rows, &mw->rng, err,
                      errsz)) {
      free(mw->disc);
      mw->disc = NULL;
      return -1;
    }
  }
  return 0;
}

void model_weights_free(ModelWeights *mw) {
  if (mw->row && mw->row->dual) tom_dual_free(&mw->dual);
  if (mw->disc) tom_disc_free(mw->disc), free(mw->disc);
  memset(mw, 0, sizeof *mw);
}

// mean of w over positions [lo, hi)
static double mean_of(const double *w, size_t lo, size_t hi) {
  double s = 0.0;
  for (size_t i = lo; i < hi; i++) s += w[i];
  return hi > lo ? s / (double)(hi - lo) : NAN;
}

int model_weights_fill(ModelWeights *mw, const Replay *rb, double *w) {
  size_t n = rb->size, k = (size_t)mw->p.recent < n ? (size_t)mw->p.recent : n;
  mw->last = (ModelWeightStats){1.0, 1.0, NAN, NAN, NAN};
  if (!mw->row->fill || n == 0 || !mw->row->fill(mw, rb, w)) return 0;
  int any = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(w[i] >= 0.0) || isinf(w[i]))
      fail_run("ensemble.weights=%s: weight %g of transition %zu (weights must be finite and >= 0)",
               mw->row->name, w[i], i);
    any |= w[i] > 0.0;
  }
  if (!any) return 0;   // nothing to resample from: the unweighted fit
  // the authors' old_weight / cur_weight, on weights normalised to mean 1
  double mean = mean_of(w, 0, n);
  mw->last.old_weight = mean_of(w, 0, k) / mean;
  mw->last.cur_weight = mean_of(w, n - k, n) / mean;
  return 1;
}

void model_weights_save(const ModelWeights *mw, CkptWriter *w) {
  if (!mw->row->fill) return;
  ckpt_put(w, "rng.weights", &mw->rng, sizeof mw->rng);
  if (mw->row->dual) tom_dual_save(&mw->dual, w, "weights.dual");
}

int model_weights_load(ModelWeights *mw, CkptReader *r, char *err, size_t errsz) {
  if (!mw->row->fill) return 0;
  if (ckpt_get(r, "rng.weights", &mw->rng, sizeof mw->rng, err, errsz)) return -1;
  return mw->row->dual ? tom_dual_load(&mw->dual, r, "weights.dual", err, errsz) : 0;
}
