// sac_policy: the SAC actor's head, the seam where a policy family plugs into the learner.
//
// The actor network maps an observation to one output row of out_width columns; the head turns
// rows into actions in [-1, 1]^A. It samples with log-probabilities from noise the caller draws
// (noise_width normals per row, so every draw comes from the caller's stream), back-propagates
// dL/dact and dL/dlogp of its last sample into dL/d(output row), and gives the deterministic
// action that evaluation and the planner's prior policy use. A head keeps what its backward
// needs (the last sample's intermediates) in its own state, one instance per pass size: the
// agent has one for its updates (B rows) and one for its queries (SAC_QUERY_ROWS rows).
//
// Adding a head (e.g. a mixture of experts):
//   1. write algorithms/components/policy_NAME.c defining `const SacPolicyOps sac_policy_NAME`
//      (copy policy_gaussian.c); its parameters, if any, go into SAC_PARAMS (sac_params.h);
//   2. add &sac_policy_NAME to SAC_POLICIES in sac_policy.c (sac.policy's values are the table's
//      names) and the file to algorithms/local.mk;
//   3. tests/test_policy.c checks every head of the table (gradients, deterministic act).
//
// Letters: n rows, A action dimensions, W = out_width, Z = noise_width.
#ifndef MB_SAC_POLICY_H
#define MB_SAC_POLICY_H

#include <stddef.h>

#include "sac_params.h"

typedef struct SacPolicy SacPolicy;

typedef struct {
  const char *name;
  int (*out_width)(const SacParams *p, int A);     // W
  int (*noise_width)(const SacParams *p, int A);   // Z
  // state for passes of up to h->rows rows (h->A, h->W, h->Z set); 0, or -1 with err
  int (*init)(SacPolicy *h, const SacParams *p, char *err, size_t errsz);
  void (*free)(SacPolicy *h);
  // act (n, A) and logp (n) of out (n, W) with noise eps (n, Z); kept for the backward
  void (*sample)(SacPolicy *h, const float *out, const float *eps, int n, float *act, float *logp);
  // dout (n, W) = dL/d(out) of the last sample given da (n, A) and dlogp (n); dout is written
  void (*backward)(SacPolicy *h, const float *out, const float *da, const float *dlogp, int n,
                   float *dout);
  // the deterministic action act (n, A) of out (n, W)
  void (*act)(SacPolicy *h, const float *out, int n, float *act);
} SacPolicyOps;

struct SacPolicy {
  const SacPolicyOps *ops;
  int A, W, Z;   // actions, output columns, normals per row
  int rows;      // rows per pass the state holds
  void *state;   // the head's own
};

// The heads, in the order of SAC_POLICY_NAMES, and their count.
extern const SacPolicyOps *const SAC_POLICIES[];
extern const int SAC_NPOLICIES;

// Output and noise widths of p's head for A actions.
int sac_policy_out_width(const SacParams *p, int A);
int sac_policy_noise_width(const SacParams *p, int A);

// The head p->policy for A actions and passes of up to `rows` rows. Returns 0 or -1 with err.
int sac_policy_init(SacPolicy *h, const SacParams *p, int A, int rows, char *err, size_t errsz);
void sac_policy_free(SacPolicy *h);

// The gaussian head's clamped log-std (rows, A) of its last sample (for tests).
const float *sac_policy_gaussian_log_std(const SacPolicy *h);

#endif
