// sac_policy: the SAC actor's head, the seam where a policy family plugs into the learner.
//
// The actor network maps an observation to one output row of out_width columns; the head turns
// rows into actions in [-1, 1]^A. It samples with log-probabilities from noise the caller draws
// (noise_width normals per row, so every draw comes from the caller's stream), back-propagates
// the actor loss into dL/d(output row), and gives the deterministic action that evaluation and
// the planner's prior policy use. A head keeps what its backward needs (the last sample's
// intermediates) in its own state, one instance per pass size: the agent has one for its updates
// (B rows) and one for its queries (SAC_QUERY_ROWS rows).
//
// For the actor loss a head proposes C candidate actions per row (sample_all; C = 1 but for a
// mixture, whose candidates are its experts' samples). The agent evaluates min(Q1, Q2) at every
// candidate, chooses per row the candidate the loss goes through (the highest value; the only one
// when C = 1), and hands the loss's gradient at the candidates (zero at the others), the choice
// and the values back to backward, which adds whatever the head trains from them (a mixture's
// gate). The last `detached` output columns read the trunk through a stop-gradient: their
// gradient trains the last layer only (mlp_last_columns_backward).
//
// Adding a head (e.g. a mixture of experts):
//   1. write algorithms/components/policy_NAME.c defining `const SacPolicyOps sac_policy_NAME`
//      (copy policy_gaussian.c); its parameters, if any, go into SAC_PARAMS (sac_params.h);
//   2. add &sac_policy_NAME to SAC_POLICIES in sac_policy.c (sac.policy's values are the table's
//      names) and the file to algorithms/local.mk;
//   3. tests/test_policy.c checks every head of the table (gradients, deterministic act).
//
// Letters: n rows, A action dimensions, W = out_width, Z = noise_width, C = candidates,
// D = detached, S = nstats.
#ifndef MB_SAC_POLICY_H
#define MB_SAC_POLICY_H

#include <stddef.h>

#include "sac_params.h"

typedef struct SacPolicy SacPolicy;

typedef struct {
  const char *name;
  int (*out_width)(const SacParams *p, int A);     // W
  int (*noise_width)(const SacParams *p, int A);   // Z
  int (*candidates)(const SacParams *p);           // C
  int (*detached)(const SacParams *p);             // D
  int (*nstats)(const SacParams *p);               // S: per-update diagnostics for algo.csv
  // the S column names, comma-separated, into buf
  void (*stat_names)(const SacParams *p, char *buf, size_t n);
  // state for passes of up to h->rows rows (h->A, h->W, h->Z, h->C set); 0, or -1 with err
  int (*init)(SacPolicy *h, const SacParams *p, char *err, size_t errsz);
  void (*free)(SacPolicy *h);
  // one action per row: act (n, A) and logp (n) of out (n, W) with noise eps (n, Z)
  void (*sample)(SacPolicy *h, const float *out, const float *eps, int n, float *act, float *logp);
  // the C candidates of each row, act (n, C, A) and logp (n, C); kept for the backward
  void (*sample_all)(SacPolicy *h, const float *out, const float *eps, int n, float *act,
                     float *logp);
  // dout (n, W) = dL/d(out) of the last sample_all given the loss's da (n, C, A) and dlogp
  // (n, C), the chosen candidate of each row (n) and every candidate's value (n, C); also fills
  // the S diagnostics of this pass into stats
  void (*backward)(SacPolicy *h, const float *out, const float *da, const float *dlogp,
                   const int *chosen, const float *value, int n, float *dout, double *stats);
  // the deterministic action act (n, A) of out (n, W)
  void (*act)(SacPolicy *h, const float *out, int n, float *act);
} SacPolicyOps;

struct SacPolicy {
  const SacPolicyOps *ops;
  int A, W, Z;   // actions, output columns, normals per row
  int C, D, S;   // candidates per row, detached columns, diagnostics
  int rows;      // rows per pass the state holds
  void *state;   // the head's own
};

// The heads, in the order of SAC_POLICY_NAMES, and their count.
extern const SacPolicyOps *const SAC_POLICIES[];
extern const int SAC_NPOLICIES;

// Output and noise widths of p's head for A actions, and its candidates per row.
int sac_policy_out_width(const SacParams *p, int A);
int sac_policy_noise_width(const SacParams *p, int A);
int sac_policy_candidates(const SacParams *p);

// The head's diagnostic column names, comma-separated ("" for none), into buf (n bytes).
void sac_policy_stat_names(const SacParams *p, char *buf, size_t n);

// The head p->policy for A actions and passes of up to `rows` rows. Returns 0 or -1 with err.
int sac_policy_init(SacPolicy *h, const SacParams *p, int A, int rows, char *err, size_t errsz);
void sac_policy_free(SacPolicy *h);

// The gaussian head's clamped log-std (rows, A) of its last sample (for tests).
const float *sac_policy_gaussian_log_std(const SacPolicy *h);

#endif
