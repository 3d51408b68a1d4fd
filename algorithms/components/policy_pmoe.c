// policy_pmoe: the probabilistic mixture of experts head (Ren et al. 2021, arXiv 2104.09122;
// sac.policy = pmoe; sac_policy.h has the interface).
//
// K = sac.experts tanh-Gaussian experts and a softmax gate share the actor's trunk. An output row
// is [mu (K, A), log-std before clamping (K, A), gate logits (K)]; the logits are detached columns
// (the gate reads the trunk through a stop-gradient, as the authors' `h.detach()`), and with
// K = 1 there is no gate: the head is then the gaussian head, bit for bit.
//
// Acting draws an expert k from the gate, then a = tanh(mu_k + exp(log_std_k) eps_k); its log pi
// is the expert's own, log pi_k(a) (the authors' entropy term). The noise of a row is [eps (K, A),
// gate normals (K)]; the expert is drawn by the Gumbel-max trick, k = argmax_j logit_j + g_j with
// g_j = -log(-log Phi(z_j)), an exact draw from the gate that a Gumbel-softmax relaxation can
// reuse. Evaluation takes the mean of the gate's most probable expert (sac.eval_gate = argmax)
// or of one drawn from the gate with a uniform hashed from the row (sample: deterministic).
//
// The actor loss sees all K experts' samples as its candidates: the agent evaluates both critics
// at all of them and back-propagates only through the best one, k* (the "optimal expert"), so the
// other experts get no gradient from that row. The gate is trained from the choice by
// sac.gate_grad:
//   frequency  L = coef mean_{i,k} (alpha_k(s_i) - 1[k = k*_i])^2: the gate regresses onto the
//              frequency with which each expert is best (the paper's estimator, the default);
//   gumbel     L = -coef mean_i sum_k y_ik v_ik, y = softmax((logit + g) / sac.gumbel_temp), v
//              the candidates' min(Q1, Q2) as constants;
//   reinforce  L = -coef mean_i (v_ik~ - mean_k v_ik) log alpha_k~(s_i), k~ drawn from the gate
//              (the score-function estimator with the candidates' mean as baseline).
// sac.entropy_logp = mixture puts the whole mixture's log-density, log sum_j alpha_j pi_j(a), in
// the entropy terms instead (then every expert and the gate get its gradient).
// Diagnostics per update: the gate's mean entropy, the gate loss, the mean distance between the
// experts' mean actions tanh(mu_k), and how often each expert was k*.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "dist.h"
#include "fail.h"
#include "sac_policy.h"

enum { GRAD_FREQUENCY, GRAD_GUMBEL, GRAD_REINFORCE };
enum { EVAL_ARGMAX, EVAL_SAMPLE };
enum { LOGP_EXPERT, LOGP_MIXTURE };

typedef struct {
  int K, G;                       // experts; gate columns (K, or 0 when K = 1)
  int grad, eval, mixture;        // sac.gate_grad, sac.eval_gate, sac.entropy_logp = mixture
  double coef, temp;              // sac.gate_coef, sac.gumbel_temp
  float lo, hi;                   // log-std clamp
  float *mu, *log_std;            // (rows, K, A) of the last pass, log_std clamped
  double *prob;                   // (rows, K) the gate
  float *eps;                     // (rows, K, A) the experts' noise of the last sample_all
  const float *gate_noise;        // the last sample_all's noise rows (their last K columns)
  float *dmu, *dlog_std;          // (rows, K, A) backward scratch
  float *smu, *slog_std, *seps;   // (rows, A) the drawn expert's, one action per row
  int *pick;                      // (rows) the expert of each row
  double *resp;                   // (rows, K, K) mixture: each expert's share of a candidate
  double *dmix, *u, *own;         // (rows, K), (A), (K) mixture scratch
  float *zero;                    // (rows, K) zeros
} Pmoe;

static int gate_cols(const SacParams *p) { return p->experts > 1 ? (int)p->experts : 0; }

static int out_width(const SacParams *p, int A) {
  return 2 * (int)p->experts * A + gate_cols(p);
}

static int noise_width(const SacParams *p, int A) { return (int)p->experts * A + gate_cols(p); }

static int candidates(const SacParams *p) { return (int)p->experts; }

static int nstats(const SacParams *p) { return 3 + (int)p->experts; }

static void stat_names(const SacParams *p, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "gate_entropy,gate_loss,expert_spread");
  for (int k = 0; k < p->experts && used < n; k++)
    used += (size_t)snprintf(buf + used, n - used, ",usage_%d", k);
}

static int init(SacPolicy *h, const SacParams *p, char *err, size_t errsz) {
  (void)err, (void)errsz;
  Pmoe *m = xcalloc(1, sizeof *m, "pmoe head");
  m->K = (int)p->experts;
  m->G = gate_cols(p);
  m->grad = p->gate_grad;
  m->eval = p->eval_gate;
  m->mixture = p->entropy_logp == LOGP_MIXTURE;
  m->coef = p->gate_coef;
  m->temp = p->gumbel_temp;
  m->lo = (float)p->log_std_min;
  m->hi = (float)p->log_std_max;
  size_t rk = (size_t)h->rows * m->K, rka = rk * h->A, ra = (size_t)h->rows * h->A;
  m->mu = xmalloc(rka, sizeof(float), "pmoe head");
  m->log_std = xmalloc(rka, sizeof(float), "pmoe head");
  m->eps = xmalloc(rka, sizeof(float), "pmoe head");
  m->dmu = xmalloc(rka, sizeof(float), "pmoe head");
  m->dlog_std = xmalloc(rka, sizeof(float), "pmoe head");
  m->prob = xmalloc(rk, sizeof(double), "pmoe head");
  m->smu = xmalloc(ra, sizeof(float), "pmoe head");
  m->slog_std = xmalloc(ra, sizeof(float), "pmoe head");
  m->seps = xmalloc(ra, sizeof(float), "pmoe head");
  m->pick = xmalloc((size_t)h->rows, sizeof(int), "pmoe head");
  m->resp = xmalloc(rk * m->K, sizeof(double), "pmoe head");
  m->zero = xcalloc(rk, sizeof(float), "pmoe head");
  m->dmix = xmalloc(rk, sizeof(double), "pmoe head");
  m->u = xmalloc((size_t)h->A, sizeof(double), "pmoe head");
  m->own = xmalloc((size_t)m->K, sizeof(double), "pmoe head");
  h->state = m;
  return 0;
}

static void release(SacPolicy *h) {
  Pmoe *m = h->state;
  if (!m) return;
  free(m->mu), free(m->log_std), free(m->eps), free(m->dmu), free(m->dlog_std), free(m->prob);
  free(m->smu), free(m->slog_std), free(m->seps), free(m->pick), free(m->resp), free(m->zero);
  free(m->dmix), free(m->u), free(m->own);
  free(m);
}

// out (n, W) -> mu and clamped log_std (n, K, A) and the gate (n, K)
static void split(Pmoe *m, const float *out, int n, int A, int W) {
  int K = m->K, KA = K * A;
  for (int i = 0; i < n; i++) {
    const float *row = out + (size_t)i * W;
    for (int j = 0; j < KA; j++) {
      float l = row[KA + j];
      m->mu[(size_t)i * KA + j] = row[j];
      m->log_std[(size_t)i * KA + j] = l < m->lo ? m->lo : l > m->hi ? m->hi : l;
    }
    double *p = m->prob + (size_t)i * K, mx = -INFINITY, sum = 0.0;
    if (!m->G) {
      p[0] = 1.0;
      continue;
    }
    for (int k = 0; k < K; k++) mx = fmax(mx, row[2 * KA + k]);
    for (int k = 0; k < K; k++) sum += p[k] = exp((double)row[2 * KA + k] - mx);
    for (int k = 0; k < K; k++) p[k] /= sum;
  }
}

// the Gumbel noise of a standard normal draw z: -log(-log Phi(z))
static double gumbel(float z) { return -log(-log(0.5 * erfc(-(double)z / sqrt(2.0)))); }

// the expert drawn from the gate of row i with its gate normals z (K): argmax log p_k + g_k
static int draw(const Pmoe *m, int i, const float *z) {
  if (!m->G) return 0;
  const double *p = m->prob + (size_t)i * m->K;
  int best = 0;
  double top = -INFINITY;
  for (int k = 0; k < m->K; k++) {
    double v = log(p[k]) + gumbel(z[k]);
    if (v > top) top = v, best = k;
  }
  return best;
}

// expert k of each row into smu, slog_std (and its noise into seps when eps is given)
static void gather(Pmoe *m, const int *k, int n, int A, const float *eps, int Z) {
  for (int i = 0; i < n; i++) {
    size_t src = ((size_t)i * m->K + k[i]) * A, dst = (size_t)i * A;
    memcpy(m->smu + dst, m->mu + src, (size_t)A * sizeof *m->smu);
    memcpy(m->slog_std + dst, m->log_std + src, (size_t)A * sizeof *m->slog_std);
    if (eps)
      memcpy(m->seps + dst, eps + (size_t)i * Z + (size_t)k[i] * A, (size_t)A * sizeof *m->seps);
  }
}

// log of the mixture's density, log sum_j alpha_j pi_j(a), at the action a = tanh(u) of row i
// (u (A) its pre-tanh value); each expert's share of it into resp (K)
static double mixture_logp(const Pmoe *m, int i, const double *u, int A, double *resp) {
  int K = m->K;
  const double *p = m->prob + (size_t)i * K;
  double mx = -INFINITY, sum = 0.0, corr = 0.0;
  for (int j = 0; j < K; j++) {
    const float *mu = m->mu + ((size_t)i * K + j) * A, *ls = m->log_std + ((size_t)i * K + j) * A;
    double l = log(p[j]);
    for (int d = 0; d < A; d++) {
      double z = (u[d] - mu[d]) / exp((double)ls[d]);
      l += -0.5 * z * z - ls[d] - 0.91893853320467274178;   // log N(u_d; mu, std)
    }
    resp[j] = l;
    mx = fmax(mx, l);
  }
  for (int j = 0; j < K; j++) sum += resp[j] = exp(resp[j] - mx);
  for (int j = 0; j < K; j++) resp[j] /= sum;
  for (int d = 0; d < A; d++) corr += dist_log_dtanh(u[d]);
  return mx + log(sum) - corr;
}

// mixture: replace the experts' own log pi of n candidate rows (expert[r] drew candidate r of
// `per` per row) by the mixture's, keeping each expert's shares when resp is given
static void mixture_logps(Pmoe *m, int n, int per, const float *mu, const float *ls,
                          const float *eps, int A, float *logp, double *resp) {
  for (int r = 0; r < n * per; r++) {
    for (int d = 0; d < A; d++) {
      size_t q = (size_t)r * A + d;
      m->u[d] = mu[q] + exp((double)ls[q]) * eps[q];
    }
    logp[r] = (float)mixture_logp(m, r / per, m->u, A, resp ? resp + (size_t)r * m->K : m->own);
  }
}

static void sample(SacPolicy *h, const float *out, const float *eps, int n, float *act,
                   float *logp) {
  Pmoe *m = h->state;
  int A = h->A, Z = h->Z, KA = m->K * A;
  split(m, out, n, A, h->W);
  for (int i = 0; i < n; i++) m->pick[i] = draw(m, i, eps + (size_t)i * Z + KA);
  gather(m, m->pick, n, A, eps, Z);
  dist_tanh_gauss_sample(act, NULL, logp, m->smu, m->slog_std, m->seps, n, A);
  if (m->mixture) mixture_logps(m, n, 1, m->smu, m->slog_std, m->seps, A, logp, NULL);
}

static void sample_all(SacPolicy *h, const float *out, const float *eps, int n, float *act,
                       float *logp) {
  Pmoe *m = h->state;
  int A = h->A, Z = h->Z, KA = m->K * A;
  split(m, out, n, A, h->W);
  for (int i = 0; i < n; i++)
    memcpy(m->eps + (size_t)i * KA, eps + (size_t)i * Z, (size_t)KA * sizeof *m->eps);
  m->gate_noise = eps;
  dist_tanh_gauss_sample(act, NULL, logp, m->mu, m->log_std, m->eps, n * m->K, A);
  if (m->mixture) mixture_logps(m, n, m->K, m->mu, m->log_std, m->eps, A, logp, m->resp);
}

// mixture: dL/dlogp (n, K) of the candidates into every expert's dmu and dlog_std (added) and
// the gate's dlogit (n, K) (written): log sum_j alpha_j N(u; mu_j, std_j) - sum log(1 - a^2),
// with u = mu_k + std_k eps the candidate's own path
static void mixture_backward(Pmoe *m, const float *dlogp, int n, int A, double *dlogit) {
  int K = m->K;
  for (size_t q = 0; q < (size_t)n * K; q++) dlogit[q] = 0.0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < K; k++) {
      size_t r = (size_t)i * K + k;
      double g = dlogp[r];
      if (g == 0.0) continue;
      const double *w = m->resp + r * K, *p = m->prob + (size_t)i * K;
      for (int l = 0; l < K; l++) dlogit[(size_t)i * K + l] += g * (w[l] - p[l]);
      for (int d = 0; d < A; d++) {
        size_t own = r * A + d;
        double sk = exp((double)m->log_std[own]);
        double u = m->mu[own] + sk * m->eps[own], du = 2.0 * tanh(u);
        for (int j = 0; j < K; j++) {
          size_t q = ((size_t)i * K + j) * A + d;
          double sj = exp((double)m->log_std[q]), z = (u - m->mu[q]) / sj;
          m->dmu[q] += (float)(g * w[j] * z / sj);
          m->dlog_std[q] += (float)(g * w[j] * (z * z - 1.0));
          du -= w[j] * z / sj;
        }
        m->dmu[own] += (float)(g * du);
        m->dlog_std[own] += (float)(g * du * sk * m->eps[own]);
      }
    }
}

// dL/d(logits) of row i's gate into dlogit (K); returns the row's gate loss
static double gate_grad(const Pmoe *m, int i, int chosen, const float *v, const float *z, int n,
                        double *dlogit) {
  int K = m->K;
  const double *p = m->prob + (size_t)i * K;
  double loss = 0.0, dp[64], y[64], dot = 0.0;
  switch (m->grad) {
  case GRAD_FREQUENCY:   // softmax backward of dL/dp
    for (int k = 0; k < K; k++) {
      double diff = p[k] - (k == chosen);
      loss += m->coef * diff * diff / ((double)n * K);
      dp[k] = m->coef * 2.0 * diff / ((double)n * K);
      dot += p[k] * dp[k];
    }
    for (int k = 0; k < K; k++) dlogit[k] = p[k] * (dp[k] - dot);
    break;
  case GRAD_GUMBEL: {   // the relaxed choice y weighs the candidates' values
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < K; k++) y[k] = (log(p[k]) + gumbel(z[k])) / m->temp, mx = fmax(mx, y[k]);
    for (int k = 0; k < K; k++) sum += y[k] = exp(y[k] - mx);
    for (int k = 0; k < K; k++) {
      y[k] /= sum;
      loss -= m->coef * y[k] * v[k] / n;
      dp[k] = -m->coef * v[k] / n;   // dL/dy
      dot += y[k] * dp[k];
    }
    for (int k = 0; k < K; k++) dlogit[k] = y[k] * (dp[k] - dot) / m->temp;
    break;
  }
  default: {   // score function at a draw from the gate, the candidates' mean as baseline
    int d = draw(m, i, z);
    double base = 0.0;
    for (int k = 0; k < K; k++) base += v[k] / K;
    double adv = v[d] - base;
    loss = -m->coef * adv * log(p[d]) / n;
    for (int k = 0; k < K; k++) dlogit[k] = -m->coef * adv * ((k == d) - p[k]) / n;
  }
  }
  return loss;
}

static void backward(SacPolicy *h, const float *out, const float *da, const float *dlogp,
                     const int *chosen, const float *value, int n, float *dout, double *stats) {
  Pmoe *m = h->state;
  int A = h->A, W = h->W, K = m->K, KA = K * A;
  // every expert through its reparameterised sample (zero where the loss gave zero), then the
  // clamp (no gradient outside the bounds); the mixture's log pi reaches every expert and the gate
  double gate_loss = 0.0, entropy = 0.0, spread = 0.0, dlogit[64], *dmix = NULL;
  if (m->mixture) {
    dist_tanh_gauss_backward(m->dmu, m->dlog_std, da, m->zero, m->mu, m->log_std, m->eps, n * K,
                             A);
    dmix = m->dmix;
    mixture_backward(m, dlogp, n, A, dmix);
  } else {
    dist_tanh_gauss_backward(m->dmu, m->dlog_std, da, dlogp, m->mu, m->log_std, m->eps, n * K, A);
  }
  for (int i = 0; i < n; i++) {
    float *row = dout + (size_t)i * W;
    const float *o = out + (size_t)i * W;
    for (int j = 0; j < KA; j++) {
      float l = o[KA + j];
      row[j] = m->dmu[(size_t)i * KA + j];
      row[KA + j] = l >= m->lo && l <= m->hi ? m->dlog_std[(size_t)i * KA + j] : 0.0f;
    }
    const double *p = m->prob + (size_t)i * K;
    for (int k = 0; k < K; k++) entropy -= p[k] > 0 ? p[k] * log(p[k]) / n : 0.0;
    if (m->G) {
      gate_loss += gate_grad(m, i, chosen[i], value + (size_t)i * K,
                             m->gate_noise + (size_t)i * h->Z + KA, n, dlogit);
      for (int k = 0; k < K; k++)
        row[2 * KA + k] = (float)(dlogit[k] + (dmix ? dmix[(size_t)i * K + k] : 0.0));
    }
    // the mean distance between the experts' mean actions
    for (int k = 0; k < K; k++)
      for (int l = k + 1; l < K; l++) {
        double d2 = 0.0;
        for (int j = 0; j < A; j++) {
          double d = tanh((double)m->mu[(size_t)i * KA + k * A + j]) -
                     tanh((double)m->mu[(size_t)i * KA + l * A + j]);
          d2 += d * d;
        }
        spread += sqrt(d2) / (n * (K * (K - 1) / 2.0));
      }
  }
  stats[0] = entropy;
  stats[1] = gate_loss;
  stats[2] = spread;
  for (int k = 0; k < K; k++) stats[3 + k] = 0.0;
  for (int i = 0; i < n; i++) stats[3 + chosen[i]] += 1.0 / n;
}

static void act(SacPolicy *h, const float *out, int n, float *a) {
  Pmoe *m = h->state;
  int A = h->A, K = m->K;
  split(m, out, n, A, h->W);
  int *k = m->pick;
  for (int i = 0; i < n; i++) {
    const double *p = m->prob + (size_t)i * K;
    k[i] = 0;
    if (m->eval == EVAL_ARGMAX) {
      for (int j = 1; j < K; j++) k[i] = p[j] > p[k[i]] ? j : k[i];
    } else {   // a uniform from the row itself, so that evaluation stays a function of the state
      double u = (double)(digest_bytes(out + (size_t)i * h->W, (size_t)h->W * sizeof *out) >> 11) *
                 0x1p-53, c = p[0];
      while (k[i] < K - 1 && u >= c) c += p[++k[i]];
    }
  }
  gather(m, k, n, A, NULL, 0);
  dist_tanh_mean(a, m->smu, n, A);
}

const SacPolicyOps sac_policy_pmoe = {.name = "pmoe",
                                      .out_width = out_width,
                                      .noise_width = noise_width,
                                      .candidates = candidates,
                                      .detached = gate_cols,
                                      .nstats = nstats,
                                      .stat_names = stat_names,
                                      .init = init,
                                      .free = release,
                                      .sample = sample,
                                      .sample_all = sample_all,
                                      .backward = backward,
                                      .act = act};
