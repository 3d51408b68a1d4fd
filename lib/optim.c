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

// in the order of OptimKind
const OptimKindRow OPTIM_KINDS[] = {
    {"adam", 2, {"m", "v"}, adam_step, NULL},
    {"sgd", 0, {NULL}, sgd_step, sgd_step_d},
};

OptimSpec optim_adam(float lr) {
  return (OptimSpec){.kind = OPTIM_ADAM, .lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
}

OptimSpec optim_sgd(float lr) { return (OptimSpec){.kind = OPTIM_SGD, .lr = lr}; }

int optim_init(Optim *o, OptimSpec s, size_t n, int dbl, char *err, size_t errsz) {
  memset(o, 0, sizeof *o);
  const OptimKindRow *k = &OPTIM_KINDS[s.kind];
  const char *name = k->name;
  if (!(s.lr >= 0.0) || isinf(s.lr))
    return fail_msg(err, errsz, "%s: learning rate %g must be finite and non-negative", name, s.lr);
  if (dbl ? !k->step_d : !k->step)
    return fail_msg(err, errsz, "%s: no step for %s parameters", name, dbl ? "double" : "float");
  o->s = s;
  o->n = n;
  o->dbl = dbl != 0;
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
static int fields(const Optim *o, CkptField f[OPTIM_MAX_STATE + 1]) {
  const OptimKindRow *k = &OPTIM_KINDS[o->s.kind];
  size_t bytes = o->n * (o->dbl ? sizeof(double) : sizeof(float));
  int n = 0;
  for (int j = 0; j < k->nstate; j++) f[n++] = (CkptField){k->state_names[j], o->state[j], bytes};
  f[n++] = (CkptField){"t", (void *)&o->t, sizeof o->t};
  return n;
}

void optim_save(const Optim *o, CkptWriter *w, const char *prefix) {
  CkptField f[OPTIM_MAX_STATE + 1];
  ckpt_put_fields(w, prefix, f, fields(o, f));
}

int optim_load(Optim *o, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  CkptField f[OPTIM_MAX_STATE + 1];
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
