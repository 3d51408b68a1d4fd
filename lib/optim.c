// optim: the optimiser kinds and gradient-norm clipping (see optim.h).
#include "optim.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

// one bias-corrected step, w -= lr * mhat / (sqrt(vhat) + eps), mhat = m / (1 - beta1^t),
// vhat = v / (1 - beta2^t), as torch.optim.Adam / AdamW
static void adam_step(Optim *o, float *w, const float *g) {
  const OptimSpec *s = &o->s;
  // scalars in double as PyTorch computes them from Python floats; applied to float32 tensors
  double bc1 = 1.0 - pow((double)s->beta1, (double)o->t);
  double bc2 = 1.0 - pow((double)s->beta2, (double)o->t);
  float step = (float)((float)s->lr / bc1);
  float bc2_sqrt = (float)sqrt(bc2);
  float b1 = s->beta1, b2 = s->beta2, c1 = 1.0f - s->beta1, c2 = 1.0f - s->beta2, eps = s->eps;
  float wd = s->weight_decay;
  int l2 = wd != 0.0f && !s->decoupled;
  if (wd != 0.0f && s->decoupled) {
    // AdamW shrinks the weights before the Adam update, outside the moments
    float shrink = (float)(1.0 - (double)(float)s->lr * (double)wd);
    for (size_t i = 0; i < o->n; i++) w[i] *= shrink;
  }
  float *m = o->state[0], *v = o->state[1];
  for (size_t i = 0; i < o->n; i++) {
    float gi = l2 ? g[i] + wd * w[i] : g[i];
    m[i] = b1 * m[i] + c1 * gi;
    v[i] = b2 * v[i] + c2 * gi * gi;
    float denom = sqrtf(v[i]) / bc2_sqrt + eps;
    w[i] -= step * m[i] / denom;
  }
}

// w -= lr * (g + wd w), or w += lr * g when maximising (ARS's ascent)
static void sgd_step(Optim *o, float *w, const float *g) {
  float lr = (float)o->s.lr, wd = o->s.weight_decay;
  for (size_t i = 0; i < o->n; i++) {
    float gi = wd != 0.0f ? g[i] + wd * w[i] : g[i];
    if (o->s.maximize)
      w[i] += lr * gi;
    else
      w[i] -= lr * gi;
  }
}

static void sgd_step_d(Optim *o, double *w, const double *g) {
  double lr = o->s.lr, wd = o->s.weight_decay;
  for (size_t i = 0; i < o->n; i++) {
    double gi = wd != 0.0 ? g[i] + wd * w[i] : g[i];
    if (o->s.maximize)
      w[i] += lr * gi;
    else
      w[i] -= lr * gi;
  }
}

// oadam: Adam's moments of element i updated with g (L2 decay folded in), and its step
// lr * mhat / (sqrt(vhat) + eps), step = {lr / (1 - beta1^t), sqrt(1 - beta2^t)}
static float adam_moments(Optim *o, const float *g, const float *w, size_t i, float *step) {
  const OptimSpec *s = &o->s;
  float *m = o->state[0], *v = o->state[1];
  float gi = s->weight_decay != 0.0f && !s->decoupled ? g[i] + s->weight_decay * w[i] : g[i];
  m[i] = s->beta1 * m[i] + (1.0f - s->beta1) * gi;
  v[i] = s->beta2 * v[i] + (1.0f - s->beta2) * gi * gi;
  return step[0] * m[i] / (sqrtf(v[i]) / step[1] + s->eps);
}

// w -= 2 u_t - u_{t-1} (lr folded into u), plain Adam at the first step
static void oadam_step(Optim *o, float *w, const float *g) {
  const OptimSpec *s = &o->s;
  double bc1 = 1.0 - pow((double)s->beta1, (double)o->t);
  double bc2 = 1.0 - pow((double)s->beta2, (double)o->t);
  float step[2] = {(float)((float)s->lr / bc1), (float)sqrt(bc2)};
  float *prev = o->state[2];
  for (size_t i = 0; i < o->n; i++) {
    float u = adam_moments(o, g, w, i, step);
    w[i] -= o->t == 1 ? u : 2.0f * u - prev[i];
    prev[i] = u;
  }
}

// beta's hypergradient step from the ascent direction a (n) and the last two steps
static void ogd_adapt(Optim *o, double dot, double na, double nd) {
  const OptimSpec *s = &o->s;
  if (s->beta_lr == 0.0 || o->t < 3 || na == 0.0 || nd == 0.0) return;
  double b = o->beta + s->beta_lr * dot / sqrt(na * nd);
  o->beta = b < 0.0 ? 0.0 : b > s->beta_max ? s->beta_max : b;
}

// the step u + beta (u - u_prev), u = -+lr g; state: u_{t-1}, u_{t-2}
#define OGD_STEP(T, o, w, g)                                                                 \
  do {                                                                                       \
    T *p1 = (o)->state[0], *p2 = (o)->state[1];                                              \
    double sg = (o)->s.maximize ? 1.0 : -1.0, dot = 0.0, na = 0.0, nd = 0.0;                 \
    for (size_t i = 0; i < (o)->n; i++) {                                                    \
      double a = sg * (double)(g)[i], dlt = (double)p1[i] - (double)p2[i];                   \
      dot += a * dlt, na += a * a, nd += dlt * dlt;                                          \
    }                                                                                        \
    ogd_adapt((o), dot, na, nd);                                                             \
    T lr = (T)(o)->s.lr, beta = (T)(o)->beta;                                                \
    for (size_t i = 0; i < (o)->n; i++) {                                                    \
      T u = (o)->s.maximize ? lr * (g)[i] : -lr * (g)[i];                                    \
      (w)[i] += beta != 0 ? u + beta * (u - p1[i]) : u;                                      \
      p2[i] = p1[i], p1[i] = u;                                                              \
    }                                                                                        \
  } while (0)

static void ogd_step(Optim *o, float *w, const float *g) { OGD_STEP(float, o, w, g); }
static void ogd_step_d(Optim *o, double *w, const double *g) { OGD_STEP(double, o, w, g); }

// in the order of OptimKind
const OptimKindRow OPTIM_KINDS[] = {
    {"adam", 2, {"m", "v"}, adam_step, NULL},
    {"sgd", 0, {NULL}, sgd_step, sgd_step_d},
    {"oadam", 3, {"m", "v", "u"}, oadam_step, NULL},
    {"ogd", 2, {"u1", "u2"}, ogd_step, ogd_step_d},
};

OptimSpec optim_adam(float lr) {
  return (OptimSpec){.kind = OPTIM_ADAM, .lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
}

OptimSpec optim_sgd(float lr) { return (OptimSpec){.kind = OPTIM_SGD, .lr = lr}; }

OptimSpec optim_oadam(float lr) {
  OptimSpec s = optim_adam(lr);
  s.kind = OPTIM_OADAM;
  return s;
}

OptimSpec optim_ogd(float lr, double beta, double beta_lr, double beta_max) {
  return (OptimSpec){.kind = OPTIM_OGD, .lr = lr, .beta = beta, .beta_lr = beta_lr,
                     .beta_max = beta_max};
}

int optim_init(Optim *o, OptimSpec s, size_t n, int dbl, char *err, size_t errsz) {
  memset(o, 0, sizeof *o);
  const OptimKindRow *k = &OPTIM_KINDS[s.kind];
  const char *name = k->name;
  if (!(s.lr >= 0.0) || isinf(s.lr))
    return fail_msg(err, errsz, "%s: learning rate %g must be finite and non-negative", name, s.lr);
  if (dbl ? !k->step_d : !k->step)
    return fail_msg(err, errsz, "%s: no step for %s parameters", name, dbl ? "double" : "float");
  if (s.kind == OPTIM_OADAM && s.decoupled)
    return fail_msg(err, errsz, "oadam: no decoupled weight decay");
  if (s.kind == OPTIM_OGD && (!(s.beta >= 0.0) || !(s.beta_max >= s.beta) || !(s.beta_lr >= 0.0) ||
                              isinf(s.beta_max)))
    return fail_msg(err, errsz, "ogd: beta %g, beta_max %g and beta_lr %g must be finite, "
                    "0 <= beta <= beta_max and beta_lr >= 0", s.beta, s.beta_max, s.beta_lr);
  o->s = s;
  o->n = n;
  o->dbl = dbl != 0;
  o->beta = s.beta;
  for (int j = 0; j < k->nstate; j++)
    o->state[j] = xcalloc(n, dbl ? sizeof(double) : sizeof(float), "optimiser state");
  return 0;
}

void optim_free(Optim *o) {
  for (int j = 0; j < OPTIM_MAX_STATE; j++) free(o->state[j]);
  memset(o, 0, sizeof *o);
}

void optim_step(Optim *o, float *w, const float *g) {
  assert(!o->dbl);
  o->t++;
  OPTIM_KINDS[o->s.kind].step(o, w, g);
}

void optim_step_d(Optim *o, double *w, const double *g) {
  assert(o->dbl);
  o->t++;
  OPTIM_KINDS[o->s.kind].step_d(o, w, g);
}

// the state arrays, then the step count
static int fields(const Optim *o, CkptField f[OPTIM_MAX_STATE + 2]) {
  const OptimKindRow *k = &OPTIM_KINDS[o->s.kind];
  size_t bytes = o->n * (o->dbl ? sizeof(double) : sizeof(float));
  int n = 0;
  for (int j = 0; j < k->nstate; j++) f[n++] = (CkptField){k->state_names[j], o->state[j], bytes};
  f[n++] = (CkptField){"t", (void *)&o->t, sizeof o->t};
  if (o->s.kind == OPTIM_OGD) f[n++] = (CkptField){"beta", (void *)&o->beta, sizeof o->beta};
  return n;
}

void optim_save(const Optim *o, CkptWriter *w, const char *prefix) {
  CkptField f[OPTIM_MAX_STATE + 2];
  ckpt_put_fields(w, prefix, f, fields(o, f));
}

int optim_load(Optim *o, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  CkptField f[OPTIM_MAX_STATE + 2];
  return ckpt_get_fields(r, prefix, f, fields(o, f), err, errsz);
}

double grad_norm(const float *g, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
  return sqrt(s);
}

double grad_clip_norm(float *g, size_t n, double max_norm) {
  double norm = grad_norm(g, n);
  if (norm > max_norm) {
    double scale = max_norm / norm;
    for (size_t i = 0; i < n; i++) g[i] = (float)(g[i] * scale);
  }
  return norm;
}
