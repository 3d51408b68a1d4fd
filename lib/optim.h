// optim: the optimiser kinds behind one table, over a flat parameter arena, and gradient-norm
// clipping.
//
// An optimiser is built from a spec (kind, learning rate, betas, epsilon, weight decay) for n
// parameters, in float (networks) or double (ARS's linear policies); it keeps its kind's state
// arrays (n each) and a step count, and saves and loads them under one prefix for every owner.
//
// Adding a kind (e.g. optimistic Adam):
//   1. add OPTIM_NAME to OptimKind and a row to OPTIM_KINDS in optim.c (same order): its name,
//      its state arrays' names (the checkpoint tags prefix.NAME), and its step function(s);
//   2. write the step: state arrays are o->state[k] (n floats, or doubles for double steps);
//      o->t counts steps, incremented before the step runs;
//   3. copy the kind tests of tests/test_optim.c (save/load continuation runs over every kind).
#ifndef MB_OPTIM_H
#define MB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

typedef enum { OPTIM_ADAM, OPTIM_SGD, OPTIM_OADAM, OPTIM_OGD } OptimKind;   // the rows of OPTIM_KINDS

typedef struct {
  OptimKind kind;
  double lr;                 // float steps round it to float, as a float learning rate
  float beta1, beta2, eps;   // adam
  float weight_decay;        // 0 for none
  int decoupled;             // adam: 1 AdamW, w -= lr * wd * w; 0 L2, g + wd * w enters the moments
  int maximize;              // sgd, ogd: ascend, w += lr * g (as torch's maximize)
  double beta;               // ogd: the optimism beta (the hint's weight), at the start
  double beta_lr;            // ogd: hypergradient rate of beta (0: beta fixed)
  double beta_max;           // ogd: beta is kept in [0, beta_max] when it adapts
} OptimSpec;

// Adam with PyTorch's defaults (beta1 0.9, beta2 0.999, eps 1e-8, no decay); plain SGD.
OptimSpec optim_adam(float lr);
OptimSpec optim_sgd(float lr);
// Optimistic Adam (Daskalakis et al. 2018, Algorithm 1): with Adam's bias-corrected step
// u_t = mhat_t / (sqrt(vhat_t) + eps), w -= lr (2 u_t - u_{t-1}), and plain Adam at t = 1.
// Adam's defaults otherwise (L2 weight decay only).
OptimSpec optim_oadam(float lr);
// Optimistic gradient steps on SGD's step u_t = -lr g_t (or +lr g_t when maximising): the step
// taken is u_t + beta (u_t - u_{t-1}) (beta 1: optimistic gradient, the last step as the hint;
// beta 0: SGD, to the bit). With beta_lr > 0 beta adapts by a normalised hypergradient before
// each step from the third on: beta += beta_lr * cos(+-g_t, u_{t-1} - u_{t-2}) (the sign of the
// ascent direction), clipped to [0, beta_max]: it rises while the last change of step still
// points the way the objective improves and falls after an overshoot.
OptimSpec optim_ogd(float lr, double beta, double beta_lr, double beta_max);

enum { OPTIM_MAX_STATE = 4 };

typedef struct Optim Optim;
typedef struct {
  const char *name;
  int nstate;                                             // state arrays
  const char *state_names[OPTIM_MAX_STATE];               // their checkpoint names
  void (*step)(Optim *o, float *w, const float *g);       // NULL: no float parameters
  void (*step_d)(Optim *o, double *w, const double *g);   // NULL: no double parameters
} OptimKindRow;

extern const OptimKindRow OPTIM_KINDS[];

struct Optim {
  OptimSpec s;   // the learning rate may change between steps (a schedule; ARS's scale)
  size_t n;
  int dbl;                        // parameters in double
  int64_t t;                      // steps taken
  void *state[OPTIM_MAX_STATE];   // the kind's arrays (n), zero at the start
  double beta;                    // ogd: the current beta (saved with the state)
};

// n parameters in float (dbl 0) or double (dbl 1). Returns 0, or -1 with err for a learning
// rate that is negative or not finite, or a kind without a step for that precision.
int optim_init(Optim *o, OptimSpec s, size_t n, int dbl, char *err, size_t errsz);
void optim_free(Optim *o);

// One step on w (n) with gradient g (n).
void optim_step(Optim *o, float *w, const float *g);
void optim_step_d(Optim *o, double *w, const double *g);

// The state as checkpoint fields under prefix: NAME for each state array, then t (and ogd's
// beta).
void optim_save(const Optim *o, CkptWriter *w, const char *prefix);
int optim_load(Optim *o, CkptReader *r, const char *prefix, char *err, size_t errsz);

// Euclidean norm of g (accumulated in double).
double grad_norm(const float *g, size_t n);

// Rescale g to norm max_norm when its norm exceeds it; returns the norm before clipping.
double grad_clip_norm(float *g, size_t n, double max_norm);

#endif
