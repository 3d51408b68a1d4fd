// pmd_core: policy mirror descent and its accelerated variants on a tabular MDP (see
// pmd_core.h).
#include "pmd_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

static double *table(const Pmd *x) {
  return xcalloc((size_t)x->S * x->A, sizeof(double), "pmd tables");
}

// logp (S, A) = log softmax of the logits theta (-inf stays -inf)
static void log_softmax(const double *theta, double *logp, int S, int A) {
  for (int s = 0; s < S; s++) {
    const double *t = theta + (size_t)s * A;
    double mx = -INFINITY, z = 0.0;
    for (int a = 0; a < A; a++) mx = t[a] > mx ? t[a] : mx;
    for (int a = 0; a < A; a++) z += exp(t[a] - mx);
    for (int a = 0; a < A; a++) logp[s * A + a] = t[a] - mx - log(z);
  }
}

int pmd_init(Pmd *x, TabMdp *m, const PmdParams *p, uint32_t seed, char *err, size_t errsz) {
  memset(x, 0, sizeof *x);
  if (!(m->gamma >= 0.0 && m->gamma < 1.0))
    return fail_msg(err, errsz, "pmd: discount %g, must be in [0, 1)", m->gamma);
  x->m = m, x->p = *p, x->S = m->S, x->A = m->A;
  double **t[] = {&x->theta, &x->q_prev, &x->pi, &x->q, &x->q2, &x->qg, &x->th2, &x->pi2, &x->lp,
                  &x->lpa, &x->g};
  for (size_t k = 0; k < sizeof t / sizeof *t; k++) *t[k] = table(x);
  x->d = xcalloc((size_t)x->S, sizeof *x->d, "pmd tables");
  x->ie = xcalloc((size_t)x->S, sizeof *x->ie, "pmd tables");
  x->ie2 = xcalloc((size_t)x->S, sizeof *x->ie2, "pmd tables");
  x->act = xcalloc((size_t)x->S, sizeof *x->act, "pmd tables");
  Rng init;
  rng_init(&init, seed, RNG_STREAM_INIT);
  for (size_t i = 0; i < (size_t)x->S * x->A; i++)
    x->theta[i] = p->init == 0 ? 0.0 : p->init == 1 ? rng_uniform(&init) : rng_normal(&init);
  rng_init(&x->noise, seed, RNG_STREAM_EXPLORE);
  // Q_{-1}: the exact Q of pi_0, as the follow-up's code (not counted: no method reads it then
  // but momentum, whose first step is then PMD's)
  pmd_policy(x, x->pi);
  tab_evaluate(m, x->pi, NULL, x->q_prev, NULL);
  return 0;
}

void pmd_free(Pmd *x) {
  double *t[] = {x->theta, x->q_prev, x->pi, x->q, x->q2, x->qg, x->th2, x->pi2, x->lp, x->lpa,
                 x->g, x->d, x->ie, x->ie2};
  for (size_t k = 0; k < sizeof t / sizeof *t; k++) free(t[k]);
  free(x->act);
  memset(x, 0, sizeof *x);
}

void pmd_policy(const Pmd *x, double *pi) { tab_softmax(x->theta, pi, x->S, x->A); }

void pmd_estimate(Pmd *x, const double *pi, double *q) {
  tab_evaluate(x->m, pi, NULL, q, NULL);
  if (x->p.noise_std > 0.0 || x->p.noise_mean != 0.0)
    for (size_t i = 0; i < (size_t)x->S * x->A; i++)
      q[i] += x->p.noise_mean + x->p.noise_std * rng_normal(&x->noise);
  x->qevals++;
}

void pmd_inv_eta(const Pmd *x, int64_t t, const double *q, const double *pi_ref, double *ie) {
  double eps = pow(x->m->gamma, 2.0 * (double)t + 1.0) * x->p.eps0;
  int A = x->A;
  int *act = x->act;
  tab_greedy(q, x->S, A, act);
  for (int s = 0; s < x->S; s++) {
    double kl = -log(pi_ref[s * A + act[s]]);
    ie[s] = kl > 0.0 ? eps / kl : INFINITY;
  }
}

void pmd_pass(Pmd *x, const double *theta0, const double *anchor, const double *d,
              const double *G, const double *ie, int64_t K, double *theta) {
  int S = x->S, A = x->A;
  double lr = x->p.inner_lr, c = 1.0 / (1.0 - x->m->gamma);
  if (theta != theta0) memcpy(theta, theta0, (size_t)S * A * sizeof *theta);
  log_softmax(anchor, x->lpa, S, A);
  for (int64_t j = 0; j < K; j++) {
    log_softmax(theta, x->lp, S, A);
    for (int s = 0; s < S; s++) {
      const double *lp = x->lp + (size_t)s * A, *la = x->lpa + (size_t)s * A;
      const double *g = G + (size_t)s * A;
      double *gr = x->g + (size_t)s * A;
      if (isinf(ie[s])) {   // already greedy: eta 0, the state stays
        for (int a = 0; a < A; a++) gr[a] = 0.0;
        continue;
      }
      double mean = 0.0, kl = 0.0;
      for (int a = 0; a < A; a++) {
        double p = exp(lp[a]);
        if (p == 0.0) continue;
        mean += p * g[a];
        kl += p * (lp[a] - la[a]);
      }
      for (int a = 0; a < A; a++) {
        double p = exp(lp[a]);
        gr[a] = p == 0.0 ? 0.0 : d[s] * c * p * (-(g[a] - mean) + ie[s] * (lp[a] - la[a] - kl));
      }
    }
    for (size_t i = 0; i < (size_t)S * A; i++) theta[i] -= lr * x->g[i];
  }
  x->inner += K;
}

// logits of the greedy policy of q: 0 on the argmax, -inf elsewhere
static void greedy_logits(Pmd *x, const double *q, double *theta) {
  tab_greedy(q, x->S, x->A, x->act);
  for (int s = 0; s < x->S; s++)
    for (int a = 0; a < x->A; a++) theta[s * x->A + a] = a == x->act[s] ? 0.0 : -INFINITY;
}

void pmd_iterate(Pmd *x) {
  int S = x->S, A = x->A;
  size_t SA = (size_t)S * A;
  int64_t t = x->t, k = x->p.k, n = x->p.n ? x->p.n : x->p.k;
  double *th = x->theta, *pi = x->pi, *q = x->q;
  pmd_policy(x, pi);
  pmd_estimate(x, pi, q);                     // Q_t
  tab_evaluate(x->m, pi, NULL, NULL, x->d);   // d_t
  switch ((int)x->p.method) {
    case PMD_PMD:
      pmd_inv_eta(x, t, q, pi, x->ie);
      pmd_pass(x, th, th, x->d, q, x->ie, k, th);
      break;
    case PMD_LOOKAHEAD:
      greedy_logits(x, q, x->th2);
      tab_softmax(x->th2, x->pi2, S, A);
      pmd_estimate(x, x->pi2, x->q2);   // Q' of the greedy proposal
      pmd_inv_eta(x, t, x->q2, pi, x->ie2);
      pmd_pass(x, th, th, x->d, x->q2, x->ie2, n, th);
      break;
    case PMD_EXTRAGRADIENT:
    case PMD_CORRECTION:
      pmd_inv_eta(x, t, q, pi, x->ie);
      pmd_pass(x, th, th, x->d, q, x->ie, k, x->th2);   // the proposal pi~
      if (x->p.method == PMD_CORRECTION && x->p.correction_target == 1) {
        pmd_pass(x, x->th2, x->th2, x->d, q, x->ie, n, th);
        break;
      }
      tab_softmax(x->th2, x->pi2, S, A);
      pmd_estimate(x, x->pi2, x->q2);
      pmd_inv_eta(x, t, x->q2, pi, x->ie2);
      if (x->p.method == PMD_EXTRAGRADIENT) {
        pmd_pass(x, th, th, x->d, x->q2, x->ie2, n, th);
        break;
      }
      // delta = decay (Q' - (eta_t / eta') Q_t); eta_t / eta' = ie' / ie (a greedy state: 1)
      for (int s = 0; s < S; s++) {
        double ratio = isinf(x->ie[s]) || isinf(x->ie2[s]) ? 1.0 : x->ie2[s] / x->ie[s];
        for (int a = 0; a < A; a++)
          x->qg[s * A + a] = x->p.decay * (x->q2[s * A + a] - ratio * q[s * A + a]);
      }
      pmd_pass(x, x->th2, x->th2, x->d, x->qg, x->ie2, n, th);
      break;
    case PMD_MOMENTUM:
      pmd_inv_eta(x, t, q, pi, x->ie);
      for (size_t i = 0; i < SA; i++) x->qg[i] = q[i] + x->p.decay * (q[i] - x->q_prev[i]);
      pmd_pass(x, th, th, x->d, x->qg, x->ie, k, th);
      break;
    default:   // PMD_PI
      greedy_logits(x, q, th);
      break;
  }
  memcpy(x->q_prev, q, SA * sizeof *q);
  x->t++;
}

void pmd_save(const Pmd *x, CkptWriter *w) {
  size_t SA = (size_t)x->S * x->A;
  ckpt_put(w, "pmd.theta", x->theta, SA * sizeof *x->theta);
  ckpt_put(w, "pmd.q_prev", x->q_prev, SA * sizeof *x->q_prev);
  int64_t c[3] = {x->t, x->qevals, x->inner};
  ckpt_put(w, "pmd.counts", c, sizeof c);
  ckpt_put(w, "pmd.rng.noise", &x->noise, sizeof x->noise);
}

int pmd_load(Pmd *x, CkptReader *r, char *err, size_t errsz) {
  size_t SA = (size_t)x->S * x->A;
  int64_t c[3];
  if (ckpt_get(r, "pmd.theta", x->theta, SA * sizeof *x->theta, err, errsz) ||
      ckpt_get(r, "pmd.q_prev", x->q_prev, SA * sizeof *x->q_prev, err, errsz) ||
      ckpt_get(r, "pmd.counts", c, sizeof c, err, errsz) ||
      ckpt_get(r, "pmd.rng.noise", &x->noise, sizeof x->noise, err, errsz))
    return -1;
  x->t = c[0], x->qevals = c[1], x->inner = c[2];
  return 0;
}
