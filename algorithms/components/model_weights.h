// model_weights: per-transition weights for the ensemble's fit, the seam of policy-aware model
// learning: TOM (Ma et al., arXiv 2305.12663: weights from an occupancy ratio) and PMAC's recency
// (the baseline of TOM's code).
//
// A weighting sees the transitions (a replay, positions 0 .. size-1 in replay_slot order, oldest
// first), the program's current policy when it has one, and a stream of its own, and writes one
// weight w_i >= 0 per transition. The ensemble then fits by a weighted bootstrap: each member's
// epoch draws its minibatch rows from the training split with probability proportional to w (the
// importance resampling of TOM's code), and the holdout error is weighted by w. `uniform` writes
// nothing and keeps the unweighted fit: every member a permutation of the split.
//
// The weightings (ensemble.weights; their parameters in the [weights] table):
//   uniform     every transition alike (today's fit, bit for bit)
//   recency     PMAC: w = decay^g, g the transition's age in generations of `recency_every`
//               transitions (the authors decay by 0.9 at every round of policy updates, which in
//               their MBPO is every 4 steps: 20 updates per round, at most 5 per step)
//   tom-binary  TOM without a discriminator: the dual below with R = 1 on the `recent` newest
//               transitions and 0 elsewhere (the authors' --no_disc)
//   tom         TOM: R = the logit of a discriminator between the `recent` newest transitions
//               (label 1) and the whole replay (label 0.1), trained afresh at every fit (tom_disc.h)
// The two TOM weightings then minimise the chi^2 dual of tom_dual.h for `q_steps` steps (the dual
// network persists between fits; start states are the first observations of the stored episodes)
// and weigh each transition by min(max(0, e + 1), clip) with a fresh a' ~ pi(.|s'). Until more
// than `recent` transitions are stored they fall back to the unweighted fit (the authors' code
// starts TOM when its recent pool is full).
//
// Which pi. TOM's dual needs a' ~ pi(.|s') and a0 ~ pi(.|s0): SAC's actor (sampled), the linear
// policy; a program without a parametric policy (dmd_mpc) passes none, and the dual then uses the
// logged actions (a' = the action taken at s', a0 = the first action of the episode): the
// behaviour of the recent MPC, which is what the binary reward picks out. `tom` needs a policy;
// `tom-binary` and `recency` work without one.
//
// Adding a weighting:
//   1. write its fill function (model_weights.c, or a file of its own declared here);
//   2. add a row to MODEL_WEIGHTINGS (ensemble.weights' values are the table's names): what it
//      needs (a policy, the dual, the discriminator), its parameters into WEIGHTS_PARAMS;
//   3. copy the weighted-bootstrap tests of tests/test_ensemble.c and test_model_weights.c.
#ifndef MB_MODEL_WEIGHTS_H
#define MB_MODEL_WEIGHTS_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "replay.h"
#include "rng.h"
#include "tom_disc.h"
#include "tom_dual.h"

// ensemble.weights: the names of MODEL_WEIGHTINGS' rows, "a|b|...", in order
const char *model_weighting_names(void);
#define MODEL_WEIGHTING_NAMES model_weighting_names()

#define WEIGHTS_PARAMS(X)                                                                        \
  X(INT, recent, "1000", "[1, 1e9]", "tom: the newest transitions, the current policy's sample") \
  X(INT, q_steps, "1000", "[0, 1e9]", "tom: Adam steps of the dual per fit")                     \
  X(INT, q_batch, "256", "[1, 65536]", "tom: transitions (and start states) per dual step")      \
  X(INT, q_hidden, "256", "[1, 4096]", "tom: units per hidden layer of the dual (2 layers)")     \
  X(REAL, q_lr, "3e-4", "(0, 1]", "tom: Adam learning rate of the dual")                         \
  X(REAL, q_l2, "1e-4", "[0, 1]", "tom: L2 weight decay of the dual (Adam's, coupled)")           \
  X(REAL, gamma, "0.99", "[0, 1)", "tom: discount of the occupancies")                           \
  X(CHOICE, f, "chi", "chi|kl", "tom: the f-divergence of the dual")                             \
  X(REAL, clip, "10", "(0, inf]", "tom: weights above it are cut to it")                         \
  X(INT, disc_epochs, "100", "[0, 1e6]", "tom: passes over the recent transitions per fit")      \
  X(INT, disc_batch, "256", "[1, 65536]", "tom: rows per discriminator step (of each kind)")     \
  X(INT, disc_hidden, "256", "[2, 4096]", "tom: discriminator width (even; branches of half)")   \
  X(REAL, disc_lr, "3e-4", "(0, 1]", "tom: Adam learning rate of the discriminator")             \
  X(REAL, disc_label, "0.1", "[0, 1]", "tom: the label of the replay's rows (the recent's is 1)") \
  X(REAL, disc_gp, "10", "[0, 1e6]", "tom: weight of the gradient penalty")                      \
  X(REAL, recency_decay, "0.9", "(0, 1]", "recency: weight factor per generation of age")         \
  X(INT, recency_every, "4", "[1, 1e9]", "recency: transitions per generation")
PARAMS_DEFINE(WeightsParams, weights_params_register, WEIGHTS_PARAMS)

// A policy for the weightings: sampled actions act (n, A) in the unit box for obs (n, O), draws
// from r (a deterministic policy ignores it)
typedef void (*ModelPolicyFn)(void *ctx, const float *obs, float *act, int n, Rng *r);

typedef struct {
  double old_weight, cur_weight;   // mean w of the oldest and of the newest `recent` transitions
  double dual_loss;                // mean objective over the fit's dual steps (NaN: none)
  double disc_acc;                 // the discriminator's accuracy after its round (NaN: none)
  double disc_loss;                // its mean loss over the last epoch (NaN: none)
} ModelWeightStats;

typedef struct ModelWeights ModelWeights;

typedef struct {
  const char *name;
  int needs_policy;   // refuses a program without one
  int dual, disc;     // builds the dual network, the discriminator
  // w (rb->size) >= 0, not all 0; returns 1, or 0 for the unweighted fit (w untouched)
  int (*fill)(ModelWeights *mw, const Replay *rb, double *w);
} ModelWeighting;

extern const ModelWeighting MODEL_WEIGHTINGS[];
extern const int MODEL_NWEIGHTINGS;

struct ModelWeights {
  const ModelWeighting *row;
  WeightsParams p;
  int O, A;
  ModelPolicyFn policy;   // set by the program (NULL: none; see above)
  void *policy_ctx;
  Rng rng;                // (seed, RNG_STREAM_WEIGHTS): every draw of the weighting
  TomDual dual;           // row->dual
  void *disc;             // row->disc: the discriminator (TomDisc)
  ModelWeightStats last;  // of the last fill
};

// The weighting `which` (an index of MODEL_WEIGHTINGS) with parameters p for a replay of O, A and
// capacity cap; networks from (seed, RNG_STREAM_INIT) substreams of their own, draws from (seed,
// RNG_STREAM_WEIGHTS). has_policy: whether the program will set one (else `tom` is refused with
// why_none, e.g. "dmd_mpc has no parametric policy"). Returns 0, or -1 with err (a usage error).
int model_weights_init(ModelWeights *mw, int which, const WeightsParams *p, int O, int A,
                       size_t cap, int has_policy, const char *why_none, uint32_t seed,
                       char *err, size_t errsz);
void model_weights_free(ModelWeights *mw);

// The weights of rb's transitions into w (rb->size); returns 1, or 0 for the unweighted fit.
// Sets mw->last. Checks every weight (finite, >= 0; the run stops otherwise).
int model_weights_fill(ModelWeights *mw, const Replay *rb, double *w);

// the weighting's state: its stream, the dual (network and optimiser); nothing for uniform
void model_weights_save(const ModelWeights *mw, CkptWriter *w);
int model_weights_load(ModelWeights *mw, CkptReader *r, char *err, size_t errsz);

#endif
