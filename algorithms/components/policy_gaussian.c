// policy_gaussian: the tanh-squashed diagonal Gaussian head, SAC's standard actor (sac.policy =
// gaussian; sac_policy.h has the interface).
//
// An output row is [mu (A), log-std before clamping (A)]; the log-std is clamped to
// [sac.log_std_min, sac.log_std_max] with no gradient outside (as torch.clamp). A sample is
// a = tanh(mu + exp(log_std) eps) with eps ~ N(0, I) (A normals per row) and log pi from dist.h;
// the deterministic action is tanh(mu).
#include <stdlib.h>

#include "dist.h"
#include "fail.h"
#include "sac_policy.h"

typedef struct {
  float lo, hi;            // log-std clamp
  float *mu, *log_std;     // (rows, A) of the last sample, log_std clamped
  const float *eps;        // (rows, A) the last sample's noise (the caller's array)
  float *dmu, *dlog_std;   // (rows, A) backward scratch
} Gauss;

static int out_width(const SacParams *p, int A) {
  (void)p;
  return 2 * A;
}

static int noise_width(const SacParams *p, int A) {
  (void)p;
  return A;
}

static int one(const SacParams *p) {
  (void)p;
  return 1;
}

static int none(const SacParams *p) {
  (void)p;
  return 0;
}

static void no_names(const SacParams *p, char *buf, size_t n) {
  (void)p;
  if (n) buf[0] = 0;
}

static int init(SacPolicy *h, const SacParams *p, char *err, size_t errsz) {
  (void)err, (void)errsz;
  Gauss *g = xcalloc(1, sizeof *g, "sac policy");
  size_t n = (size_t)h->rows * h->A;
  g->lo = (float)p->log_std_min;
  g->hi = (float)p->log_std_max;
  g->mu = xmalloc(n, sizeof(float), "sac policy");
  g->log_std = xmalloc(n, sizeof(float), "sac policy");
  g->dmu = xmalloc(n, sizeof(float), "sac policy");
  g->dlog_std = xmalloc(n, sizeof(float), "sac policy");
  h->state = g;
  return 0;
}

static void release(SacPolicy *h) {
  Gauss *g = h->state;
  if (!g) return;
  free(g->mu), free(g->log_std), free(g->dmu), free(g->dlog_std);
  free(g);
}

// out (n, 2A) -> g->mu (n, A) and g->log_std (n, A) clamped to the bounds
static void split(Gauss *g, const float *out, int n, int A) {
  for (int b = 0; b < n; b++)
    for (int j = 0; j < A; j++) {
      float l = out[(size_t)b * 2 * A + A + j];
      g->mu[(size_t)b * A + j] = out[(size_t)b * 2 * A + j];
      g->log_std[(size_t)b * A + j] = l < g->lo ? g->lo : l > g->hi ? g->hi : l;
    }
}

static void sample(SacPolicy *h, const float *out, const float *eps, int n, float *act,
                   float *logp) {
  Gauss *g = h->state;
  split(g, out, n, h->A);
  g->eps = eps;
  dist_tanh_gauss_sample(act, NULL, logp, g->mu, g->log_std, eps, n, h->A);
}

// one candidate per row (C = 1): the loss goes through it, and there is nothing else to train
static void backward(SacPolicy *h, const float *out, const float *da, const float *dlogp,
                     const int *chosen, const float *value, int n, float *dout, double *stats) {
  (void)chosen, (void)value, (void)stats;
  Gauss *g = h->state;
  int A = h->A;
  // through the reparameterised sample, then the clamp (no gradient outside the bounds)
  dist_tanh_gauss_backward(g->dmu, g->dlog_std, da, dlogp, g->mu, g->log_std, g->eps, n, A);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < A; j++) {
      size_t k = (size_t)i * 2 * A + j;
      float l = out[k + A];
      dout[k] = g->dmu[i * A + j];
      dout[k + A] = l >= g->lo && l <= g->hi ? g->dlog_std[i * A + j] : 0.0f;
    }
}

static void act(SacPolicy *h, const float *out, int n, float *a) {
  Gauss *g = h->state;
  split(g, out, n, h->A);
  dist_tanh_mean(a, g->mu, n, h->A);
}

const float *sac_policy_gaussian_log_std(const SacPolicy *h) {
  return ((const Gauss *)h->state)->log_std;
}

const SacPolicyOps sac_policy_gaussian = {.name = "gaussian",
                                          .out_width = out_width,
                                          .noise_width = noise_width,
                                          .candidates = one,
                                          .detached = none,
                                          .nstats = none,
                                          .stat_names = no_names,
                                          .init = init,
                                          .free = release,
                                          .sample = sample,
                                          .sample_all = sample,
                                          .backward = backward,
                                          .act = act};
