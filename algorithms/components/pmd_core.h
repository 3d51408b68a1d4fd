// pmd_core: policy mirror descent on a tabular MDP with exact (or noisy) Q, and its accelerated
// variants (Chelu et al., arXiv 2306.10587; the update rules of the follow-up's code,
// veronicachelu/functional-acceleration-for-pmd, src/landscape.py; seed-variants.md 3.2).
//
// The policy is a softmax of logits theta (S, A). One PMD pass of K inner steps from logits
// theta_0, anchored at a policy pbar, on a target G (S, A) with a state weighting d (S) and
// inverse step sizes ie (S) = 1 / eta(s), takes K gradient steps theta -= lr grad on the surrogate
//   L(theta) = sum_s d(s) [ -<G(s, .), pi_theta(.|s)> + ie(s) KL(pi_theta(.|s) || pbar(.|s)) ]
// divided by (1 - gamma):
//   grad[s][a] = d(s) / (1 - gamma) p_a [ -(G[s][a] - <p, G[s]>) + ie(s) (log p_a - log pbar_a - KL_s) ]
// (p = pi_theta(.|s)). Warm started: theta is never re-initialised. The step size adapts as the
// follow-up's optimal_step_size: eta_t(s) = KL(greedy(Q) || pi_ref)(s) / eps_t, eps_t =
// gamma^(2t+1) eps0, i.e. ie(s) = eps_t / (-log pi_ref(a*(s)|s)). Where pi_ref is already greedy
// (the KL is 0, the code divides by 0) the state is left where it is (its gradient is 0).
//
// One outer iteration t of each method (Q_t = Q^{pi_t} plus the noise, d_t = d^{pi_t}, K = k):
//   pmd            pi_{t+1} = pass(pi_t; anchor pi_t, Q_t, eta_t, k)                      1 Q
//   lookahead      pi~ = greedy(Q_t); Q' = Q^{pi~}; eta' = eta(t, Q', pi_t);
//                  pi_{t+1} = pass(pi_t; anchor pi_t, Q', eta', n)     (forward search)    2 Q
//   extragradient  pi~ = pass(pi_t; pi_t, Q_t, eta_t, k); Q' = Q^{pi~}; eta' = eta(t, Q', pi_t);
//                  pi_{t+1} = pass(pi_t; anchor pi_t, Q', eta', n)     (restart at pi_t)   2 Q
//   correction     pi~, Q', eta' as extragradient; delta = decay (Q' - (eta_t / eta') Q_t);
//                  pi_{t+1} = pass(pi~; anchor pi~, delta, eta', n)                        2 Q
//                  correction_target=current: delta = Q_t and eta' = eta_t, no second Q (an
//                  uninformative prediction: two consecutive PMD passes on Q_t)            1 Q
//   momentum       (lazy momentum) G = Q_t + decay (Q_t - Q_{t-1}); pass(pi_t; pi_t, G, eta_t, k)
//                  Q_{-1} = Q^{pi_0} exact                                                 1 Q
//   pi             policy iteration: pi_{t+1} = greedy(Q_t) (logits -inf off the argmax)   1 Q
// d is always d_t, from the start distribution. n = 0 means n = k.
#ifndef MB_PMD_CORE_H
#define MB_PMD_CORE_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "rng.h"
#include "tabular.h"

#define PMD_PARAMS(X)                                                                            \
  X(CHOICE, method, "pmd", "pmd|lookahead|extragradient|correction|momentum|pi",                \
    "the update rule (pmd_core.h)")                                                             \
  X(INT, k, "10", "[0, 1e6]", "inner gradient steps of the first (or only) pass")               \
  X(INT, n, "0", "[0, 1e6]", "inner steps of the second pass (lookahead, extragradient, correction); 0: k") \
  X(REAL, inner_lr, "0.5", "(0, 1e3]", "learning rate of the inner steps")                       \
  X(REAL, eps0, "1e-4", "(0, 1]", "eps0 of the adaptive step eta_t = KL(greedy(Q) || pi) / (gamma^(2t+1) eps0)") \
  X(REAL, decay, "1", "[0, 10]", "weight of the correction and momentum terms (optimism_decay)") \
  X(CHOICE, correction_target, "corrected", "corrected|current",                                 \
    "correction: Q' - (eta_t / eta') Q_t, or Q_t itself with eta_t (an uninformative prediction)") \
  X(REAL, noise_mean, "0", "[-1e6, 1e6]", "mean of the Gaussian noise added to every Q estimate") \
  X(REAL, noise_std, "0", "[0, 1e6]", "its standard deviation (0: exact Q)")                     \
  X(CHOICE, init, "zeros", "zeros|uniform|normal", "initial logits: 0 (the uniform policy), U[0, 1) or N(0, 1)")
PARAMS_DEFINE(PmdParams, pmd_params_register, PMD_PARAMS)

enum { PMD_PMD, PMD_LOOKAHEAD, PMD_EXTRAGRADIENT, PMD_CORRECTION, PMD_MOMENTUM, PMD_PI };

typedef struct {
  TabMdp *m;
  PmdParams p;
  int S, A;
  double *theta;          // (S, A) pi_t's logits
  double *q_prev;         // (S, A) the last iteration's Q estimate (momentum)
  int64_t t;              // outer iterations done
  int64_t qevals;         // Q evaluations done
  int64_t inner;          // inner gradient steps done
  Rng noise;              // (seed, RNG_STREAM_EXPLORE): the Q estimates' noise
  // scratch (pmd_core.c), (S, A) unless noted
  double *pi, *q, *q2, *qg, *th2, *pi2, *lp, *lpa, *g, *d, *ie, *ie2;   // d, ie, ie2: (S)
  int *act;               // (S)
} Pmd;

// A run of method p->method on m from the initial logits of p->init (drawn from (seed,
// RNG_STREAM_INIT)); noise from (seed, RNG_STREAM_EXPLORE). Returns 0 or -1 with err.
int pmd_init(Pmd *x, TabMdp *m, const PmdParams *p, uint32_t seed, char *err, size_t errsz);
void pmd_free(Pmd *x);

// One outer iteration: theta becomes pi_{t+1}'s logits; t, qevals and inner advance.
void pmd_iterate(Pmd *x);

// the current policy (S, A)
void pmd_policy(const Pmd *x, double *pi);

// ---- the building blocks (exposed for tests) ----

// Q estimate of pi (S, A) into q: exact Q^pi plus the noise; counts one Q evaluation
void pmd_estimate(Pmd *x, const double *pi, double *q);
// ie (S) = 1 / eta(t, q, pi_ref) (INFINITY where pi_ref is greedy for q already)
void pmd_inv_eta(const Pmd *x, int64_t t, const double *q, const double *pi_ref, double *ie);
// K inner steps from logits theta0 (S, A) into theta (may equal theta0), anchored at the logits
// anchor (S, A), on target G with weighting d and inverse step sizes ie
void pmd_pass(Pmd *x, const double *theta0, const double *anchor, const double *d,
              const double *G, const double *ie, int64_t K, double *theta);

// the run's state (logits, Q_{t-1}, counters, noise stream) under tags "pmd.*"
void pmd_save(const Pmd *x, CkptWriter *w);
int pmd_load(Pmd *x, CkptReader *r, char *err, size_t errsz);

#endif
