// model_weights: per-transition weights for the ensemble's fit, the seam of policy-aware model
// learning (TOM: weights from an occupancy ratio; PMAC: recency).
//
// A weighting sees the transitions (a replay, positions 0 .. size-1 in replay_slot order), the
// program's current policy when it has one, and a stream of its own, and writes one weight
// w_i >= 0 per transition. The ensemble then fits by a weighted bootstrap: each member's epoch
// draws its minibatch rows from the training split with probability proportional to w (the
// importance resampling of TOM's code), and the holdout error is weighted by w. `uniform`
// writes nothing and keeps the unweighted fit: every member a permutation of the split.
//
// Adding a weighting (e.g. recency):
//   1. write its fill function (in this folder, e.g. weights_recency.c) and declare it here;
//   2. add a row {name, fill} to MODEL_WEIGHTINGS in model_weights.c (ensemble.weights' values
//      are the table's names); its parameters go into ENSEMBLE_PARAMS;
//   3. copy the weighted-bootstrap tests of tests/test_ensemble.c.
#ifndef MB_MODEL_WEIGHTS_H
#define MB_MODEL_WEIGHTS_H

#include "planner.h"
#include "replay.h"
#include "rng.h"

// ensemble.weights: the names of MODEL_WEIGHTINGS' rows, "a|b|...", in order
const char *model_weighting_names(void);
#define MODEL_WEIGHTING_NAMES model_weighting_names()

typedef struct {
  const Replay *rb;      // the transitions to weight (actions in the unit box)
  PlanPolicyFn policy;   // the program's current policy (obs (n, O) -> act (n, A)), or NULL
  void *policy_ctx;
  Rng *rng;   // the weighting's own stream (seed, RNG_STREAM_WEIGHTS)
} ModelWeightInput;

typedef struct {
  const char *name;
  // w (in->rb->size) >= 0, not all 0; NULL: uniform (no weights, the unweighted fit)
  void (*fill)(const ModelWeightInput *in, double *w);
} ModelWeighting;

extern const ModelWeighting MODEL_WEIGHTINGS[];
extern const int MODEL_NWEIGHTINGS;

#endif
