// tom_dual: TOM's dual network ("TOM-Q") and the f-divergence dual whose optimum is the ratio of
// the current policy's transition occupancy to the replay's (Ma et al., arXiv 2305.12663; the
// authors' smodice_pytorch.py, a fork of SMODICE's dual with V(s) replaced by Q(s, a)).
//
// For transitions (s, a, r, s', done) of the replay D, start states s0, and actions a0 ~ pi(.|s0),
// a' ~ pi(.|s') of the current policy:
//   e(s, a, s') = R(s, a, s') + gamma (1 - done) Q(s', a') - Q(s, a)
//   chi^2:  L(Q) = (1 - gamma) E[Q(s0, a0)] + E_D[f*(e)],  f*(e) = e^2 / 2 + e,  w = max(0, e + 1)
//   KL:     L(Q) = (1 - gamma) E[Q(s0, a0)] + log E_D[exp e],                     w = exp(e)
// With exact expectations and an exact (tabular) Q the minimiser gives d^D w = d^pi whatever the
// reward R is (chi^2; KL up to a constant factor): the flow constraint of a fixed policy has one
// solution. R (a discriminator's logit, or 1 on the newest transitions) matters only under
// function approximation and few steps. The weights are clipped at `clip` (10) by the caller.
//
// The network: (O + A) -> hidden -> hidden -> 1, ReLU, xavier-uniform weights and zero biases,
// Adam (lr 3e-4) with L2 weight decay 1e-4 (torch's coupled weight_decay), no target network; it
// persists across fitting rounds. Gradients flow through all three Q terms.
//
// Letters: n0 start rows, n transition rows, O observation and A action dimensions.
#ifndef MB_TOM_DUAL_H
#define MB_TOM_DUAL_H

#include <stddef.h>

#include "checkpoint.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"

typedef enum { TOM_F_CHI, TOM_F_KL } TomF;   // the order of weights.f's choices

// The dual objective for any Q, from its values: q0 (n0) = Q(s0, a0), q (n) = Q(s, a), qn (n) =
// Q(s', a'), rewards r (n) and nd (n) = gamma (1 - done). Row masses m0 (n0) and m (n) weigh the
// means (NULL: 1 / n0 and 1 / n; masses give exact expectations, e.g. a tabular problem's
// occupancies). Returns L; writes dL/dq0 (n0), dL/dq (n), dL/dqn (n), and e (n) when e != NULL.
double tom_dual_objective(TomF f, double gamma, const float *q0, const double *m0, int n0,
                          const float *q, const float *qn, const float *r, const float *nd,
                          const double *m, int n, float *dq0, float *dq, float *dqn, float *e);

// The importance weight of residual e: chi^2 max(0, e + 1), KL exp(e) (the authors' get_weight),
// then at most clip.
double tom_weight(TomF f, double e, double clip);

typedef struct {
  int O, A, B;             // dimensions; rows per step of each kind (the batch)
  TomF f;
  double gamma;
  Mlp q;                   // (O + A) -> hidden -> hidden -> 1
  Optim opt;               // adam with L2 decay
  MlpWork work;            // one pass over n0 + 2 n <= 3 B rows: [s0 a0], [s a], [s' a']
  float *x;                // (3 B, O + A) its input
  float *dy;               // (3 B) dL/dQ of those rows
  float *nd;               // (B) gamma (1 - done)
} TomDual;

// A dual for O, A with `hidden` units per layer, B rows per step, Adam (lr, L2 decay l2),
// weights from init. Returns 0, or -1 with err.
int tom_dual_init(TomDual *d, int O, int A, int hidden, int B, double lr, double l2,
                  double gamma, TomF f, Rng *init, char *err, size_t errsz);
void tom_dual_free(TomDual *d);

// One Adam step on the objective: start rows s0 (n0, O), a0 (n0, A); transitions s (n, O),
// a (n, A), r (n), term (n, 1 = terminated), s2 (n, O), a2 (n, A) = a' ~ pi(.|s'); n0, n <= B.
// Returns the objective before the step.
double tom_dual_step(TomDual *d, const float *s0, const float *a0, int n0, const float *s,
                     const float *a, const float *r, const float *term, const float *s2,
                     const float *a2, int n);

// The residuals e (n) of n transitions (any n; in passes of B rows).
void tom_dual_residual(TomDual *d, const float *s, const float *a, const float *r,
                       const float *term, const float *s2, const float *a2, size_t n, float *e);

// the network and its optimiser under prefix
void tom_dual_save(const TomDual *d, CkptWriter *w, const char *prefix);
int tom_dual_load(TomDual *d, CkptReader *r, const char *prefix, char *err, size_t errsz);

#endif
