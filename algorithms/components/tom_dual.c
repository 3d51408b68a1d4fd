// tom_dual: TOM's dual network and objective (see tom_dual.h).
#include "tom_dual.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

double tom_dual_objective(TomF f, double gamma, const float *q0, const double *m0, int n0,
                          const float *q, const float *qn, const float *r, const float *nd,
                          const double *m, int n, float *dq0, float *dq, float *dqn, float *e) {
  double L = 0.0;
  for (int i = 0; i < n0; i++) {
    double mass = m0 ? m0[i] : 1.0 / n0;
    L += (1.0 - gamma) * mass * q0[i];
    dq0[i] = (float)((1.0 - gamma) * mass);
  }
  // chi^2: mean of f*(e) and f*'(e) = e + 1; KL: log sum m exp(e), its gradient the softmax
  double emax = -INFINITY, z = 0.0;
  for (int i = 0; i < n; i++) {
    double ei = r[i] + (double)nd[i] * qn[i] - q[i];
    if (e) e[i] = (float)ei;
    if (ei > emax) emax = ei;
  }
  if (f == TOM_F_KL)
    for (int i = 0; i < n; i++)
      z += (m ? m[i] : 1.0 / n) * exp(r[i] + (double)nd[i] * qn[i] - q[i] - emax);
  for (int i = 0; i < n; i++) {
    double mass = m ? m[i] : 1.0 / n, ei = r[i] + (double)nd[i] * qn[i] - q[i], g;
    if (f == TOM_F_CHI) {
      L += mass * (0.5 * ei * ei + ei);
      g = mass * (ei + 1.0);
    } else {
      g = mass * exp(ei - emax) / z;
    }
    dq[i] = (float)-g;   // de/dq = -1, de/dqn = nd
    dqn[i] = (float)(g * nd[i]);
  }
  if (f == TOM_F_KL && n > 0) L += emax + log(z);
  return L;
}

double tom_weight(TomF f, double e, double clip) {
  double w = f == TOM_F_CHI ? (e + 1.0 > 0.0 ? e + 1.0 : 0.0) : exp(e);
  return w < clip ? w : clip;
}

int tom_dual_init(TomDual *d, int O, int A, int hidden, int B, double lr, double l2,
                  double gamma, TomF f, Rng *init, char *err, size_t errsz) {
  memset(d, 0, sizeof *d);
  d->O = O, d->A = A, d->B = B, d->f = f, d->gamma = gamma;
  int sizes[4] = {O + A, hidden, hidden, 1};
  OptimSpec s = optim_adam((float)lr);
  s.weight_decay = (float)l2;   // torch's Adam weight_decay: g + l2 w enters the moments
  if (mlp_init(&d->q, 1, 3, sizes, NN_RELU, NN_IDENTITY, err, errsz) ||
      mlp_work_init(&d->work, &d->q, 3 * B, err, errsz) ||
      optim_init(&d->opt, s, d->q.p.n, 0, err, errsz))
    return -1;
  mlp_init_weights(&d->q, NN_INIT_XAVIER, init);
  d->x = xmalloc((size_t)3 * B * (O + A), sizeof *d->x, "dual input");
  d->dy = xmalloc((size_t)3 * B, sizeof *d->dy, "dual gradient");
  d->nd = xmalloc((size_t)B, sizeof *d->nd, "dual discount");
  return 0;
}

void tom_dual_free(TomDual *d) {
  mlp_free(&d->q);
  mlp_work_free(&d->work);
  optim_free(&d->opt);
  free(d->x), free(d->dy), free(d->nd);
  memset(d, 0, sizeof *d);
}

// rows (s, a) of n into d->x from row `at` on
static void put_rows(TomDual *d, int at, const float *s, const float *a, int n) {
  int O = d->O, A = d->A;
  for (int i = 0; i < n; i++) {
    float *x = d->x + (size_t)(at + i) * (O + A);
    memcpy(x, s + (size_t)i * O, (size_t)O * sizeof *x);
    memcpy(x + O, a + (size_t)i * A, (size_t)A * sizeof *x);
  }
}

double tom_dual_step(TomDual *d, const float *s0, const float *a0, int n0, const float *s,
                     const float *a, const float *r, const float *term, const float *s2,
                     const float *a2, int n) {
  put_rows(d, 0, s0, a0, n0);
  put_rows(d, n0, s, a, n);
  put_rows(d, n0 + n, s2, a2, n);
  for (int i = 0; i < n; i++) d->nd[i] = (float)(d->gamma * (1.0 - term[i]));
  const float *q = mlp_forward(&d->q, &d->work, d->x, n0 + 2 * n);   // (n0 + 2 n)
  double L = tom_dual_objective(d->f, d->gamma, q, NULL, n0, q + n0, q + n0 + n, r, d->nd, NULL,
                                n, d->dy, d->dy + n0, d->dy + n0 + n, NULL);
  nn_zero_grad(&d->q.p);
  mlp_backward(&d->q, &d->work, d->dy, NULL);
  optim_step(&d->opt, d->q.p.w, d->q.p.g);
  return L;
}

void tom_dual_residual(TomDual *d, const float *s, const float *a, const float *r,
                       const float *term, const float *s2, const float *a2, size_t n, float *e) {
  int O = d->O, A = d->A;
  for (size_t at = 0; at < n; at += (size_t)d->B) {
    int k = n - at < (size_t)d->B ? (int)(n - at) : d->B;
    put_rows(d, 0, s + at * O, a + at * A, k);
    put_rows(d, k, s2 + at * O, a2 + at * A, k);
    const float *q = mlp_forward(&d->q, &d->work, d->x, 2 * k);   // (2 k): Q(s, a), Q(s', a')
    for (int i = 0; i < k; i++)
      e[at + i] = (float)(r[at + i] + d->gamma * (1.0 - term[at + i]) * q[k + i] - q[i]);
  }
}

void tom_dual_save(const TomDual *d, CkptWriter *w, const char *prefix) {
  char tag[128];
  ckpt_tag(tag, sizeof tag, prefix, "q");
  ckpt_put(w, tag, d->q.p.w, d->q.p.n * sizeof *d->q.p.w);
  ckpt_tag(tag, sizeof tag, prefix, "opt");
  optim_save(&d->opt, w, tag);
}

int tom_dual_load(TomDual *d, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  char tag[128], otag[128];
  ckpt_tag(tag, sizeof tag, prefix, "q");
  ckpt_tag(otag, sizeof otag, prefix, "opt");
  return ckpt_get(r, tag, d->q.p.w, d->q.p.n * sizeof *d->q.p.w, err, errsz) ||
                 optim_load(&d->opt, r, otag, err, errsz)
             ? -1
             : 0;
}
