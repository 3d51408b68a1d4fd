// ensemble: the probabilistic ensemble dynamics model (see ensemble.h).
//
// Network output rows are [mean (1 + O), raw log-variance (1 + O)]; the raw half goes through the
// soft bounds. Letters as in the header, D = 1 + O outputs of each Gaussian, I = O + A inputs.
//
// Draws from the caller's Rng, in order: a training call shuffles the positions 0..n-1 (the
// split, Fisher-Yates from the top: j = rng_below(i + 1) for i = n-1 down to 1), then every epoch
// shuffles the training split once per member, members in order, each starting from the split's
// order (or, weighted or with epoch_batches, draws each member's rows with replacement, by w or
// uniformly by rng_below). Prediction draws are described in the header.
#include "ensemble.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

typedef struct {
  // training
  size_t split_cap;       // entries m->split holds
  size_t *perm;           // (E, ntrain) each member's order of the training positions
  size_t perm_cap;
  double *cum;            // (ntrain) weighted fit: cumulative weights over the training split
  size_t cum_cap;
  float *x;               // (E, batch, I) standardised inputs
  float *y;               // (E, batch, D) targets
  float *dy;              // (E, batch, 2D) loss gradient of the network output
  float *raw;             // (E, batch, D) raw log-variance
  float *lv;              // (E, batch, D) bounded log-variance
  float *dlv;             // (E, batch, D) loss gradient of lv, then of raw
  float *mu, *dmu;        // (E, batch, D) predicted means and their loss gradient
  float *dhi, *dlo;       // (D) bound gradients (the bounds are fixed: discarded)
  float coef[NN_MAX_LAYERS];   // per-layer weight decay
  // prediction
  size_t pcap;            // rows (members x n) the prediction buffers hold
  float *px;              // (M, n, I) standardised inputs
  float *plv;             // (M, n, D) bounded log-variance
  float *peps;            // (M, n, D) noise
  float *pout;            // (n, 2D) outputs of the random-member rows, grouped by member
  size_t rcap;            // rows the random-member buffers hold
  int *pick;              // (n) member of each row
  int *pos;               // (n) each row's place in the grouped order
} Scratch;

static Scratch *scratch_of(const Ensemble *m) { return (Scratch *)m->scratch; }

static void scratch_free(Scratch *s) {
  if (!s) return;
  float *f[] = {s->x, s->y, s->dy, s->raw, s->lv, s->dlv, s->mu, s->dmu, s->dhi, s->dlo,
                s->px, s->plv, s->peps, s->pout};
  for (size_t k = 0; k < sizeof f / sizeof *f; k++) free(f[k]);
  free(s->perm);
  free(s->cum);
  free(s->pick);
  free(s->pos);
  free(s);
}

// ---- set-up ----

// copy member src of `from` into member dst of `to` (same architecture, any member counts)
static void copy_member(Mlp *to, int dst, const Mlp *from, int src) {
  for (int l = 0; l < from->nlayers; l++) {
    const NnLayer *Lf = &from->layer[l], *Lt = &to->layer[l];
    size_t nw = (size_t)Lf->in * Lf->out, nb = (size_t)Lf->out;
    memcpy(to->p.w + Lt->w_off + dst * nw, from->p.w + Lf->w_off + src * nw, nw * sizeof(float));
    memcpy(to->p.w + Lt->b_off + dst * nb, from->p.w + Lf->b_off + src * nb, nb * sizeof(float));
  }
}

static void copy_elites(Ensemble *m) {
  for (int k = 0; k < m->L; k++) copy_member(&m->elite, k, &m->net, m->elite_idx[k]);
}

int ensemble_params_check(const EnsembleParams *p, char *err, size_t errsz) {
  if (p->elites > p->members)
    return fail_msg(err, errsz, "ensemble.elites (%d) must not exceed ensemble.members (%d)",
                    (int)p->elites, (int)p->members);
  if (!(p->min_logvar < p->max_logvar))
    return fail_msg(err, errsz, "ensemble.min_logvar (%g) must be below ensemble.max_logvar (%g)",
                    p->min_logvar, p->max_logvar);
  if (p->members > 64 || p->hidden_layers + 1 > NN_MAX_LAYERS)
    return fail_msg(err, errsz, "ensemble: %d members and %d hidden layers exceed 64 and %d",
                    (int)p->members, (int)p->hidden_layers, NN_MAX_LAYERS - 1);
  return 0;
}

int ensemble_init(Ensemble *m, const EnsembleParams *p, int obs_dim, int act_dim, Rng *init,
                  char *err, size_t errsz) {
  memset(m, 0, sizeof *m);
  if (obs_dim < 1 || act_dim < 1)
    return fail_msg(err, errsz,
                    "ensemble: observation size %d and action size %d must be positive", obs_dim,
                    act_dim);
  if (ensemble_params_check(p, err, errsz)) return -1;
  int E = (int)p->members, L = (int)p->elites, O = obs_dim, A = act_dim, D = 1 + O;
  int nl = (int)p->hidden_layers + 1, B = (int)p->batch_size;
  m->E = E;
  m->L = L;
  m->O = O;
  m->A = A;
  m->p = *p;
  int sizes[NN_MAX_LAYERS + 1];
  sizes[0] = O + A;
  for (int l = 1; l < nl; l++) sizes[l] = (int)p->hidden_size;
  sizes[nl] = 2 * D;
  Scratch *s = xcalloc(1, sizeof *s, "ensemble");
  m->scratch = s;
  if (mlp_init(&m->net, E, nl, sizes, NN_SWISH, NN_IDENTITY, err, errsz) ||
      mlp_init(&m->elite, L, nl, sizes, NN_SWISH, NN_IDENTITY, err, errsz) ||
      mlp_work_init(&m->work, &m->net, B, err, errsz) ||
      optim_init(&m->opt, optim_adam((float)p->lr), m->net.p.n, 0, err, errsz)) {
    ensemble_free(m);
    return -1;
  }
  mlp_init_weights(&m->net, NN_INIT_TRUNCNORM, init);

  m->in_mean = xcalloc((size_t)(O + A), sizeof(double), "ensemble");
  m->in_std = xmalloc((size_t)(O + A), sizeof(double), "ensemble");
  for (int i = 0; i < O + A; i++) m->in_std[i] = 1.0;
  m->hi = xmalloc((size_t)D, sizeof(float), "ensemble");
  m->lo = xmalloc((size_t)D, sizeof(float), "ensemble");
  for (int j = 0; j < D; j++) {
    m->hi[j] = (float)p->max_logvar;
    m->lo[j] = (float)p->min_logvar;
  }
  // 1 and 2 on the first two layers, 3 on the other hidden ones, 4 on the output layer (PETS'
  // five layers: 1, 2, 3, 3, 4)
  for (int l = 0; l < nl; l++) {
    int k = l == nl - 1 ? 4 : l < 2 ? l + 1 : 3;
    s->coef[l] = (float)(p->weight_decay * k);
  }
  size_t eb = (size_t)E * B;
  s->x = xmalloc(eb * (size_t)(O + A), sizeof(float), "ensemble training");
  s->y = xmalloc(eb * (size_t)D, sizeof(float), "ensemble training");
  s->dy = xmalloc(eb * 2 * (size_t)D, sizeof(float), "ensemble training");
  s->raw = xmalloc(eb * (size_t)D, sizeof(float), "ensemble training");
  s->lv = xmalloc(eb * (size_t)D, sizeof(float), "ensemble training");
  s->dlv = xmalloc(eb * (size_t)D, sizeof(float), "ensemble training");
  s->mu = xmalloc(eb * (size_t)D, sizeof(float), "ensemble training");
  s->dmu = xmalloc(eb * (size_t)D, sizeof(float), "ensemble training");
  s->dhi = xcalloc((size_t)D, sizeof(float), "ensemble training");
  s->dlo = xcalloc((size_t)D, sizeof(float), "ensemble training");

  // before any training the first L members plan
  for (int k = 0; k < L; k++) m->elite_idx[k] = k;
  for (int e = 0; e < E; e++) m->mse[e] = NAN;
  copy_elites(m);
  return 0;
}

void ensemble_free(Ensemble *m) {
  mlp_free(&m->net);
  mlp_free(&m->elite);
  mlp_work_free(&m->work);
  mlp_work_free(&m->pwork);
  mlp_work_free(&m->awork);
  optim_free(&m->opt);
  free(m->in_mean);
  free(m->in_std);
  free(m->hi);
  free(m->lo);
  free(m->split);
  scratch_free(scratch_of(m));
  memset(m, 0, sizeof *m);
}

// ---- rows ----

// dst (O + A) = the standardised [obs, act], computed in double
static void std_row(const Ensemble *m, float *dst, const float *obs, const float *act) {
  const double *mu = m->in_mean, *sd = m->in_std;
  int O = m->O, A = m->A;
  for (int i = 0; i < O; i++) dst[i] = (float)(((double)obs[i] - mu[i]) / sd[i]);
  for (int i = 0; i < A; i++) dst[O + i] = (float)(((double)act[i] - mu[O + i]) / sd[O + i]);
}

// input x (I) and target y (D) of the stored row at position i (replay_slot order)
static void replay_row(const Ensemble *m, const Replay *rb, size_t i, float *x, float *y) {
  int O = m->O, A = m->A;
  size_t slot = replay_slot(rb, i);
  const float *o = rb->obs + slot * O, *o2 = rb->next_obs + slot * O;
  if (x) std_row(m, x, o, rb->act + slot * A);
  y[0] = rb->rew[slot];
  for (int j = 0; j < O; j++) y[1 + j] = o2[j] - o[j];
}

// Fisher-Yates from the top: j = rng_below(i + 1) for i = n-1 down to 1
static void shuffle(size_t *a, size_t n, Rng *r) {
  for (size_t i = n; i-- > 1;) {
    size_t j = (size_t)rng_below(r, (uint64_t)i + 1);
    size_t t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

// ---- training ----

double ensemble_batch_loss(Ensemble *m, const float *x, const float *y, int B, double *decay) {
  Scratch *s = scratch_of(m);
  int E = m->E, D = 1 + m->O;
  assert(B >= 1 && B <= m->work.B);
  size_t rows = (size_t)E * B;
  nn_zero_grad(&m->net.p);
  const float *out = mlp_forward(&m->net, &m->work, x, B);   // (E, B, 2D)
  for (size_t k = 0; k < rows; k++)
    memcpy(s->raw + k * D, out + k * 2 * D + D, (size_t)D * sizeof(float));
  nn_softbound_forward(s->lv, s->raw, rows, D, m->hi, m->lo);

  // per member: mean over the B rows and D outputs of (mu - y)^2 exp(-lv) + lv, twice the
  // Gaussian NLL of nn_gauss_nll (the factor 2 is exact in floating point: the same bits as the
  // PETS loss written out)
  for (size_t k = 0; k < rows; k++)
    memcpy(s->mu + k * D, out + k * 2 * D, (size_t)D * sizeof(float));
  double total = 0.0;
  size_t bd = (size_t)B * D;
  for (int e = 0; e < E; e++)
    total += 2.0 * nn_gauss_nll(s->dmu + e * bd, s->dlv + e * bd, s->mu + e * bd, s->lv + e * bd,
                                y + e * bd, bd);
  for (size_t k = 0; k < rows; k++)
    for (int j = 0; j < D; j++) {
      s->dy[k * 2 * D + j] = 2.0f * s->dmu[k * D + j];
      s->dlv[k * D + j] *= 2.0f;
    }
  // through the soft bounds (in place: each element is read before it is written)
  memset(s->dhi, 0, (size_t)D * sizeof(float));
  memset(s->dlo, 0, (size_t)D * sizeof(float));
  nn_softbound_backward(s->dlv, s->dhi, s->dlo, s->dlv, s->raw, rows, D, m->hi, m->lo);
  for (size_t k = 0; k < rows; k++)
    memcpy(s->dy + k * 2 * D + D, s->dlv + k * D, (size_t)D * sizeof(float));
  mlp_backward(&m->net, &m->work, s->dy, NULL);
  double dec = mlp_weight_decay(&m->net, s->coef);
  if (decay) *decay = dec;
  return total;
}

// holdout MSE of each member's mean over the rows at positions pos (n), in chunks of the
// training workspace; every member sees the same rows; with weights w (by position, not all 0 on
// these rows) the mean is weighted
static void holdout_mse(Ensemble *m, const Replay *rb, const size_t *pos, size_t n,
                        const double *w, double *mse) {
  Scratch *s = scratch_of(m);
  int E = m->E, D = 1 + m->O, I = m->O + m->A, B = m->work.B;
  double sum[64] = {0};
  for (size_t c = 0; c < n; c += (size_t)B) {
    int b = n - c < (size_t)B ? (int)(n - c) : B;
    for (int i = 0; i < b; i++)
      replay_row(m, rb, pos[c + i], s->x + (size_t)i * I, s->y + (size_t)i * D);
    for (int e = 1; e < E; e++)
      memcpy(s->x + (size_t)e * b * I, s->x, (size_t)b * I * sizeof(float));
    const float *out = mlp_forward(&m->net, &m->work, s->x, b);   // (E, b, 2D)
    for (int e = 0; e < E; e++) {
      double acc = 0.0;
      for (int i = 0; i < b; i++)
        for (int j = 0; j < D; j++) {
          double r = (double)out[((size_t)e * b + i) * 2 * D + j] - s->y[(size_t)i * D + j];
          acc += w ? w[pos[c + i]] * (r * r) : r * r;
        }
      sum[e] += acc;
    }
  }
  double total = (double)n;
  if (w) {
    total = 0.0;
    for (size_t i = 0; i < n; i++) total += w[pos[i]];
  }
  for (int e = 0; e < E; e++) mse[e] = sum[e] / (total * D);
}

size_t ensemble_draw_weighted(const double *cum, size_t n, Rng *r) {
  double u = rng_uniform(r) * cum[n - 1];
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cum[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// input mean and std (population) of the training rows, in double; std < 1e-12 counts as 1
static void fit_scaler(Ensemble *m, const Replay *rb, const size_t *pos, size_t n) {
  int O = m->O, A = m->A, I = O + A;
  double *mu = m->in_mean, *sd = m->in_std;
  for (int j = 0; j < I; j++) mu[j] = sd[j] = 0.0;
  for (size_t i = 0; i < n; i++) {
    size_t slot = replay_slot(rb, pos[i]);
    for (int j = 0; j < O; j++) mu[j] += rb->obs[slot * O + j];
    for (int j = 0; j < A; j++) mu[O + j] += rb->act[slot * A + j];
  }
  for (int j = 0; j < I; j++) mu[j] /= (double)n;
  for (size_t i = 0; i < n; i++) {
    size_t slot = replay_slot(rb, pos[i]);
    for (int j = 0; j < I; j++) {
      double v = j < O ? rb->obs[slot * O + j] : rb->act[slot * A + j - O];
      sd[j] += (v - mu[j]) * (v - mu[j]);
    }
  }
  for (int j = 0; j < I; j++) {
    sd[j] = sqrt(sd[j] / (double)n);
    if (sd[j] < 1e-12) sd[j] = 1.0;
  }
}

// a member improves on its best holdout MSE by more than the relative threshold (the first
// finite value always does; NaN never does)
static int improves(double best, double now, double threshold) {
  if (!(now < best)) return 0;
  if (isinf(best)) return 1;
  return (best - now) / best > threshold;
}

EnsembleStats ensemble_train(Ensemble *m, const Replay *rb, Rng *r) {
  return ensemble_train_weighted(m, rb, NULL, r);
}

EnsembleStats ensemble_train_weighted(Ensemble *m, const Replay *rb, const double *w, Rng *r) {
  Scratch *s = scratch_of(m);
  EnsembleStats st = {0};
  size_t n = rb->size;
  assert(rb->obs_dim == m->O && rb->act_dim == m->A);
  if (n == 0) return st;
  int E = m->E, D = 1 + m->O, I = m->O + m->A, B = (int)m->p.batch_size;

  // the split: a random order of the positions, the first nhold held out
  if (n > s->split_cap) {
    free(m->split);
    m->split = xmalloc(n, sizeof(size_t), "ensemble split");
    s->split_cap = n;
  }
  for (size_t i = 0; i < n; i++) m->split[i] = i;
  shuffle(m->split, n, r);
  size_t nhold = (size_t)((double)n * m->p.holdout), ntrain = n - nhold;
  m->nhold = nhold;
  m->ntrain = ntrain;
  const size_t *train = m->split + nhold;
  const size_t *eval = nhold ? m->split : train;
  size_t neval = nhold ? nhold : ntrain;
  fit_scaler(m, rb, train, ntrain);
  // the weighted bootstrap's cumulative weights; all 0 on the split: unweighted
  const double *wfit = NULL, *whold = NULL;
  if (w && ntrain > 0) {
    if (ntrain > s->cum_cap) {
      free(s->cum);
      s->cum = xmalloc(ntrain, sizeof *s->cum, "ensemble weights");
      s->cum_cap = ntrain;
    }
    double acc = 0.0;
    for (size_t i = 0; i < ntrain; i++) s->cum[i] = acc += w[train[i]];
    if (acc > 0.0) wfit = w;
    double hold = 0.0;
    for (size_t i = 0; i < neval; i++) hold += w[eval[i]];
    if (hold > 0.0) whold = w;
  }

  // rows per epoch: a pass over the split, or epoch_batches minibatches drawn with replacement
  // (uniformly or by w), the TOM code's importance resampling
  size_t eb = (size_t)m->p.epoch_batches, rows = eb ? eb * (size_t)B : ntrain;
  if ((size_t)E * rows > s->perm_cap) {
    free(s->perm);
    s->perm = xmalloc((size_t)E * rows, sizeof(size_t), "ensemble permutations");
    s->perm_cap = (size_t)E * rows;
  }
  double best[64];
  for (int e = 0; e < E; e++) best[e] = HUGE_VAL;
  int since = 0;   // epochs since any member improved
  for (int epoch = 1; epoch <= (int)m->p.max_epochs; epoch++) {
    for (int e = 0; e < E; e++) {
      size_t *pe = s->perm + (size_t)e * rows;
      for (size_t i = 0; (wfit || eb) && i < rows; i++)
        pe[i] = train[wfit ? ensemble_draw_weighted(s->cum, ntrain, r) : rng_below(r, ntrain)];
      if (!wfit && !eb) {
        memcpy(pe, train, ntrain * sizeof *pe);
        shuffle(pe, ntrain, r);
      }
    }
    double loss_sum = 0.0;
    for (size_t c = 0; c < rows; c += (size_t)B) {
      int b = rows - c < (size_t)B ? (int)(rows - c) : B;
      for (int e = 0; e < E; e++) {
        const size_t *pe = s->perm + (size_t)e * rows + c;
        float *xe = s->x + (size_t)e * b * I, *ye = s->y + (size_t)e * b * D;
        for (int i = 0; i < b; i++)
          replay_row(m, rb, pe[i], xe + (size_t)i * I, ye + (size_t)i * D);
      }
      loss_sum += ensemble_batch_loss(m, s->x, s->y, b, NULL) * b;
      optim_step(&m->opt, m->net.p.w, m->net.p.g);
    }
    st.train_loss = loss_sum / (double)rows / E;
    st.epochs = epoch;
    if (!isfinite(st.train_loss)) fail_diverged("ensemble: training loss %g", st.train_loss);

    holdout_mse(m, rb, eval, neval, whold, m->mse);
    int improved = 0;
    for (int e = 0; e < E; e++)
      if (improves(best[e], m->mse[e], m->p.improvement)) {
        best[e] = m->mse[e];
        improved = 1;
      }
    since = improved ? 0 : since + 1;
    if (since > (int)m->p.patience) {
      st.stopped_early = 1;
      break;
    }
  }

  // elites: the L lowest holdout errors of the last epoch, ties to the lower index, NaN last
  int order[64];
  for (int e = 0; e < E; e++) {
    int k = e;
    while (k > 0 && ((isnan(m->mse[order[k - 1]]) && !isnan(m->mse[e])) ||
                     m->mse[e] < m->mse[order[k - 1]])) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = e;
  }
  double sum = 0.0;
  for (int k = 0; k < m->L; k++) {
    m->elite_idx[k] = order[k];
    sum += m->mse[order[k]];
  }
  st.holdout_mse = sum / m->L;
  copy_elites(m);
  m->trained = 1;
  return st;
}

// ---- prediction ----

// make workspace w of net hold at least n rows per member
static void reserve_work(MlpWork *w, int *rows, const Mlp *net, int n) {
  if (n <= *rows) return;
  char err[256];
  mlp_work_free(w);
  if (mlp_work_init(w, net, n, err, sizeof err)) fail_run("ensemble: %s", err);
  *rows = n;
}

static void reserve_pred(Scratch *s, size_t rows, int I, int D) {
  if (rows <= s->pcap) return;
  free(s->px);
  free(s->plv);
  free(s->peps);
  s->px = xmalloc(rows * I, sizeof(float), "ensemble prediction");
  s->plv = xmalloc(rows * D, sizeof(float), "ensemble prediction");
  s->peps = xmalloc(rows * D, sizeof(float), "ensemble prediction");
  s->pcap = rows;
}

// one ensemble pass of the elites (all members when all) on rows (M, n): returns the output
// (M, n, 2D); the bounded log-variance goes to s->plv (M, n, D)
static const float *forward_rows(Ensemble *m, const float *obs, const float *act, int n, int all,
                                 int *M_out) {
  Scratch *s = scratch_of(m);
  int M = all ? m->E : m->L, O = m->O, A = m->A, I = O + A, D = 1 + O;
  const Mlp *net = all ? &m->net : &m->elite;
  MlpWork *w = all ? &m->awork : &m->pwork;
  reserve_work(w, all ? &m->arows : &m->prows, net, n);
  size_t rows = (size_t)M * n;
  reserve_pred(s, rows, I, D);
  for (size_t k = 0; k < rows; k++) std_row(m, s->px + k * I, obs + k * O, act + k * A);
  const float *out = mlp_forward(net, w, s->px, n);
  for (size_t k = 0; k < rows; k++)
    memcpy(s->plv + k * D, out + k * 2 * D + D, (size_t)D * sizeof(float));
  nn_softbound_forward(s->plv, s->plv, rows, D, m->hi, m->lo);
  *M_out = M;
  return out;
}

// y = mean + exp(lv / 2) eps of `rows` rows: next_obs = obs + y[1:], rew = y[0]; eps NULL: means
static void sample_rows(const float *out, const float *lv, const float *eps, const float *obs,
                        size_t rows, int O, float *next_obs, float *rew) {
  int D = 1 + O;
  for (size_t k = 0; k < rows; k++) {
    const float *mu = out + k * 2 * D, *l = lv + k * D;
    const float *z = eps ? eps + k * D : NULL;
    rew[k] = z ? mu[0] + expf(0.5f * l[0]) * z[0] : mu[0];
    for (int j = 0; j < O; j++) {
      float d = z ? mu[1 + j] + expf(0.5f * l[1 + j]) * z[1 + j] : mu[1 + j];
      next_obs[k * O + j] = obs[k * O + j] + d;
    }
  }
}

int ensemble_predict(Ensemble *m, const float *obs, const float *act, int n, int all, Rng *r,
                     float *next_obs, float *rew) {
  Scratch *s = scratch_of(m);
  int M;
  const float *out = forward_rows(m, obs, act, n, all, &M);
  size_t rows = (size_t)M * n;
  if (r) rng_fill_normalf(r, s->peps, rows * (1 + m->O), 0.0f, 1.0f);
  sample_rows(out, s->plv, r ? s->peps : NULL, obs, rows, m->O, next_obs, rew);
  return M;
}

int ensemble_gaussian(Ensemble *m, const float *obs, const float *act, int n, int all,
                      float *mean, float *logvar) {
  Scratch *s = scratch_of(m);
  int M, D = 1 + m->O;
  const float *out = forward_rows(m, obs, act, n, all, &M);
  size_t rows = (size_t)M * n;
  for (size_t k = 0; k < rows; k++)
    memcpy(mean + k * D, out + k * 2 * D, (size_t)D * sizeof(float));
  memcpy(logvar, s->plv, rows * D * sizeof(float));
  return M;
}

// each row through one of the elites (all members when all) drawn from r: the rows are grouped
// by member and each group runs through its member alone
void ensemble_predict_random(Ensemble *m, const float *obs, const float *act, int n, int all,
                             Rng *r, float *next_obs, float *rew) {
  Scratch *s = scratch_of(m);
  assert(r);
  int M = all ? m->E : m->L, O = m->O, A = m->A, I = O + A, D = 1 + O;
  const Mlp *net = all ? &m->net : &m->elite;
  MlpWork *w = all ? &m->awork : &m->pwork;
  reserve_work(w, all ? &m->arows : &m->prows, net, n);
  reserve_pred(s, (size_t)n, I, D);
  if ((size_t)n > s->rcap) {
    free(s->pout);
    free(s->pick);
    free(s->pos);
    s->pout = xmalloc((size_t)n * 2 * D, sizeof(float), "ensemble prediction");
    s->pick = xmalloc((size_t)n, sizeof(int), "ensemble prediction");
    s->pos = xmalloc((size_t)n, sizeof(int), "ensemble prediction");
    s->rcap = (size_t)n;
  }
  for (int i = 0; i < n; i++) s->pick[i] = (int)rng_below(r, (uint64_t)M);
  rng_fill_normalf(r, s->peps, (size_t)n * D, 0.0f, 1.0f);

  // counting sort of the rows by member: row i goes to place pos[i]
  int start[65] = {0};
  for (int i = 0; i < n; i++) start[s->pick[i] + 1]++;
  for (int k = 0; k < M; k++) start[k + 1] += start[k];
  int fill[64];
  memcpy(fill, start, sizeof fill);
  for (int i = 0; i < n; i++) {
    s->pos[i] = fill[s->pick[i]]++;
    std_row(m, s->px + (size_t)s->pos[i] * I, obs + (size_t)i * O, act + (size_t)i * A);
  }
  for (int k = 0; k < M; k++) {
    int cnt = start[k + 1] - start[k];
    if (!cnt) continue;
    const float *out = mlp_member_forward(net, k, w, s->px + (size_t)start[k] * I, cnt);
    memcpy(s->pout + (size_t)start[k] * 2 * D, out, (size_t)cnt * 2 * D * sizeof(float));
  }
  for (int i = 0; i < n; i++) {
    const float *row = s->pout + (size_t)s->pos[i] * 2 * D;
    nn_softbound_forward(s->plv + (size_t)i * D, row + D, 1, D, m->hi, m->lo);
    sample_rows(row, s->plv + (size_t)i * D, s->peps + (size_t)i * D, obs + (size_t)i * O, 1, O,
                next_obs + (size_t)i * O, rew + i);
  }
}

// ---- checkpoints ----

// everything that outlives a training call but the optimiser (saved as `prefix.opt`); the
// elites' indices go through idx (int32) and `trained` through *trained
static int fields(const Ensemble *m, int32_t *idx, int64_t *trained, CkptField f[7]) {
  size_t I = (size_t)(m->O + m->A);
  int k = 0;
  f[k++] = (CkptField){"net", m->net.p.w, m->net.p.n * sizeof(float)};
  f[k++] = (CkptField){"in_mean", m->in_mean, I * sizeof(double)};
  f[k++] = (CkptField){"in_std", m->in_std, I * sizeof(double)};
  f[k++] = (CkptField){"elite_idx", idx, (size_t)m->L * sizeof(int32_t)};
  f[k++] = (CkptField){"mse", (void *)m->mse, (size_t)m->E * sizeof(double)};
  f[k++] = (CkptField){"trained", trained, sizeof *trained};
  return k;
}

void ensemble_save(const Ensemble *m, CkptWriter *w, const char *prefix) {
  char tag[128];
  int32_t idx[64];
  int64_t trained = m->trained;
  CkptField f[7];
  for (int k = 0; k < m->L; k++) idx[k] = m->elite_idx[k];
  ckpt_put_fields(w, prefix, f, fields(m, idx, &trained, f));
  ckpt_tag(tag, sizeof tag, prefix, "opt");
  optim_save(&m->opt, w, tag);
}

int ensemble_load(Ensemble *m, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  char tag[128];
  int32_t idx[64];
  int64_t trained;
  CkptField f[7];
  ckpt_tag(tag, sizeof tag, prefix, "opt");
  if (ckpt_get_fields(r, prefix, f, fields(m, idx, &trained, f), err, errsz) ||
      optim_load(&m->opt, r, tag, err, errsz))
    return -1;
  for (int k = 0; k < m->L; k++) {
    if (idx[k] < 0 || idx[k] >= m->E)
      return fail_msg(err, errsz, "%s.elite_idx: elite %d is member %d of %d", prefix, k,
                      (int)idx[k], m->E);
    m->elite_idx[k] = idx[k];
  }
  m->trained = trained != 0;
  copy_elites(m);
  return 0;
}
