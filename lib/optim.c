// optim: Adam / AdamW and gradient-norm clipping over a flat parameter arena (see optim.h).
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

int adam_init(Adam *a, size_t n, float lr, char *err, size_t errsz) {
  memset(a, 0, sizeof *a);
  if (!(lr >= 0.0f) || isinf(lr))
    return fail_msg(err, errsz, "adam: learning rate %g must be finite and non-negative",
                    (double)lr);
  a->n = n;
  a->lr = lr;
  a->beta1 = 0.9f;
  a->beta2 = 0.999f;
  a->eps = 1e-8f;
  a->m = xcalloc(n, sizeof(float), "adam moments");
  a->v = xcalloc(n, sizeof(float), "adam moments");
  return 0;
}

void adam_free(Adam *a) {
  free(a->m);
  free(a->v);
  memset(a, 0, sizeof *a);
}

void adam_step(Adam *a, float *w, const float *g) {
  a->t++;
  // scalars in double as PyTorch computes them from Python floats; applied to float32 tensors
  double bc1 = 1.0 - pow((double)a->beta1, (double)a->t);
  double bc2 = 1.0 - pow((double)a->beta2, (double)a->t);
  float step = (float)((double)a->lr / bc1);
  float bc2_sqrt = (float)sqrt(bc2);
  float b1 = a->beta1, b2 = a->beta2, c1 = 1.0f - a->beta1, c2 = 1.0f - a->beta2, eps = a->eps;
  float wd = a->weight_decay;
  int l2 = wd != 0.0f && !a->decoupled;
  if (wd != 0.0f && a->decoupled) {
    // AdamW shrinks the weights before the Adam update, outside the moments
    float shrink = (float)(1.0 - (double)a->lr * (double)wd);
    for (size_t i = 0; i < a->n; i++) w[i] *= shrink;
  }
  float *m = a->m, *v = a->v;
  for (size_t i = 0; i < a->n; i++) {
    float gi = l2 ? g[i] + wd * w[i] : g[i];
    m[i] = b1 * m[i] + c1 * gi;
    v[i] = b2 * v[i] + c2 * gi * gi;
    float denom = sqrtf(v[i]) / bc2_sqrt + eps;
    w[i] -= step * m[i] / denom;
  }
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
