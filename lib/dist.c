// dist: diagonal Gaussian and tanh-squashed Gaussian policies (see dist.h).
//
// Per-element work is done in double and rounded once: B and A are small (a minibatch of
// actions), so accuracy is worth more than speed here.
#include "dist.h"

#include <math.h>

static const double half_log_2pi = 0.91893853320467274178;   // 0.5 log(2 pi)
static const double log_2 = 0.69314718055994530942;

// log(1 + exp(t)) without overflow, and accurate for large negative t
static double softplus(double t) { return (t > 0.0 ? t : 0.0) + log1p(exp(-fabs(t))); }

// log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)): finite for every u, unlike the naive form,
// which reaches log(0) once tanh(u) rounds to +-1
double dist_log_dtanh(double u) { return 2.0 * (log_2 - u - softplus(-2.0 * u)); }

void dist_gauss_sample(float *u, const float *mu, const float *log_std, const float *eps, int B,
                       int A) {
  for (int k = 0; k < B * A; k++) u[k] = (float)(mu[k] + exp((double)log_std[k]) * eps[k]);
}

void dist_gauss_logprob(float *logp, const float *x, const float *mu, const float *log_std, int B,
                        int A) {
  for (int b = 0; b < B; b++) {
    double s = 0.0;
    for (int j = 0; j < A; j++) {
      int k = b * A + j;
      double z = ((double)x[k] - mu[k]) * exp(-(double)log_std[k]);
      s += -0.5 * z * z - log_std[k] - half_log_2pi;
    }
    logp[b] = (float)s;
  }
}

void dist_gauss_logprob_backward(float *dx, float *dmu, float *dlog_std, const float *dlogp,
                                 const float *x, const float *mu, const float *log_std, int B,
                                 int A) {
  for (int b = 0; b < B; b++)
    for (int j = 0; j < A; j++) {
      int k = b * A + j;
      double inv_std = exp(-(double)log_std[k]);
      double z = ((double)x[k] - mu[k]) * inv_std;
      // d logp / dx = -z / std, d / dmu = z / std, d / dlog_std = z^2 - 1
      if (dx) dx[k] = (float)(-dlogp[b] * z * inv_std);
      if (dmu) dmu[k] = (float)(dlogp[b] * z * inv_std);
      if (dlog_std) dlog_std[k] = (float)(dlogp[b] * (z * z - 1.0));
    }
}

void dist_gauss_entropy(float *ent, const float *log_std, int B, int A) {
  const double c = half_log_2pi + 0.5;   // 0.5 log(2 pi e)
  for (int b = 0; b < B; b++) {
    double s = 0.0;
    for (int j = 0; j < A; j++) s += log_std[b * A + j] + c;
    ent[b] = (float)s;
  }
}

void dist_tanh_gauss_sample(float *a, float *u, float *logp, const float *mu, const float *log_std,
                            const float *eps, int B, int A) {
  for (int b = 0; b < B; b++) {
    double s = 0.0;
    for (int j = 0; j < A; j++) {
      int k = b * A + j;
      double uk = mu[k] + exp((double)log_std[k]) * eps[k];
      // (u - mu) / std is eps itself: use it rather than a rounded quotient
      s += -0.5 * (double)eps[k] * eps[k] - log_std[k] - half_log_2pi - dist_log_dtanh(uk);
      a[k] = (float)tanh(uk);
      if (u) u[k] = (float)uk;
    }
    logp[b] = (float)s;
  }
}

void dist_tanh_gauss_backward(float *dmu, float *dlog_std, const float *da, const float *dlogp,
                              const float *mu, const float *log_std, const float *eps, int B,
                              int A) {
  for (int b = 0; b < B; b++)
    for (int j = 0; j < A; j++) {
      int k = b * A + j;
      double std = exp((double)log_std[k]);
      double t = tanh(mu[k] + std * eps[k]);
      // dL/du: through a = tanh(u), and through -log(1 - tanh(u)^2), whose derivative is 2 tanh(u)
      double du = da[k] * (1.0 - t * t) + dlogp[b] * 2.0 * t;
      dmu[k] = (float)du;
      // u moves with std * eps; the Gaussian term contributes -1 per dimension
      dlog_std[k] = (float)(du * std * eps[k] - dlogp[b]);
    }
}

void dist_tanh_mean(float *a, const float *mu, int B, int A) {
  // as dist_tanh_gauss_sample rounds it, so eps = 0 there gives these same bits
  for (int k = 0; k < B * A; k++) a[k] = (float)tanh((double)mu[k]);
}
