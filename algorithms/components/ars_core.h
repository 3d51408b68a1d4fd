// ars_core: augmented random search (Mania, Guy & Recht 2018, Algorithm 2) for linear policies,
// the reusable trainer (the ars program and the DeMo Layer link it).
//
// Iteration j, with policy M_j (A x O) and observation statistics (mu_j, Sigma_j):
//   1. draw N directions delta_k (A x O, i.i.d. N(0, 1)) from the explore stream (main thread);
//   2. run 2N rollouts of pi_{k,+-}(x) = (M_j +- nu delta_k) diag(Sigma_j)^(-1/2) (x - mu_j) to
//      the task's time limit, each on the pool, recording the return with the per-step reward
//      shift subtracted (training only) and, for V2, the statistics of the states it acted on;
//   3. rank directions by max(r+, r-) (ties: lower k first) and keep the top b;
//   4. M_{j+1} = M_j + alpha / (b sigma_R) sum_{top b} (r+_k - r-_k) delta_k, sigma_R the
//      population standard deviation of those 2b returns (no step when sigma_R = 0: then every
//      difference is 0 as well);
//   5. V2: merge the 2N rollouts' statistics into (mu, Sigma) in rollout order (k, + before -).
// Variants: V1 normalize = false (statistics never updated: mu = 0, Sigma = I), V2 true; "-t"
// when top b < N.
//
// Determinism: rollout (k, s) (s = 0 for +, 1 for -) is job 2k + s; both signs of direction k
// start from the same state, drawn from substream 1 + j * N + k of (seed, RNG_STREAM_RESET)
// (common random numbers; substream 0 is a TrainEnv's, episodes.h); every job writes only its own
// slots, and all reductions run on the main thread in job order, so the result does not depend on
// the number of threads.
#ifndef MB_ARS_CORE_H
#define MB_ARS_CORE_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "csvlog.h"
#include "env.h"
#include "linpolicy.h"
#include "optim.h"
#include "rng.h"

// Defaults: the official code's (modestyachts/ARS code/ars.py and its README's HalfCheetah
// command: 8 directions, all used, step 0.02, noise 0.03, MeanStdFilter, i.e. V2).
#define ARS_PARAMS(X)                                                                              \
  X(INT, directions, "8", "[1, 100000]", "directions N per iteration (2N rollouts)")               \
  X(INT, top, "0", "[0, 100000]", "top directions b in the update (0: all N; b < N: V1-t/V2-t)")   \
  X(REAL, step_size, "0.02", "(0, inf)", "step size alpha")                                        \
  X(REAL, noise, "0.03", "(0, inf)", "exploration noise nu (scale of the perturbations)")          \
  X(BOOL, normalize, "true", "", "V2: normalise states by the running mean/std (false: V1)")       \
  X(STR, shift, "auto", "nonempty",                                                                \
    "reward subtracted per training step: auto (env.healthy_reward or 0) or a number")             \
  X(BOOL, clip, "false", "", "clip actions to the task's bounds (ARS does not)")                \
  X(CHOICE, optimism, "none", "none|ogd|extragrad",                                                \
    "acceleration: none; ogd, the step alpha (g + beta (g - g_prev)); extragrad, a second "        \
    "direction at the half step theta + alpha g (2N more rollouts)")                               \
  X(REAL, beta, "1", "[0, 10]", "ogd: weight beta of the hint (0: plain ARS, to the bit)")          \
  X(BOOL, adapt_beta, "false", "", "ogd: adapt beta by its hypergradient (optim.h: optim_ogd)")    \
  X(REAL, beta_lr, "0.1", "(0, 10]", "ogd: the hypergradient's rate, per unit of cosine")          \
  X(REAL, beta_max, "2", "[0, 10]", "ogd: beta stays in [0, beta_max] as it adapts")
PARAMS_DEFINE(ArsParams, ars_params_register, ARS_PARAMS)

// [exec]: recorded in the manifest, not compared on resume (results do not depend on it); the
// program replaces the default by the number of online cores.
#define ARS_EXEC_PARAMS(X) \
  X(INT, threads, "1", "[1, 1024]", "rollout threads (results do not depend on it)")
PARAMS_DEFINE(ArsExecParams, ars_exec_register, ARS_EXEC_PARAMS)

// Register [exec] under "exec" with the number of online cores as the threads default.
void ars_exec_register_cores(Config *cfg, ArsExecParams *ex);

// The checks of the table's values against each other (ars.top <= ars.directions; ars.beta <=
// ars.beta_max when beta adapts). Returns 0, or -1 with err (a usage error).
int ars_params_check(const ArsParams *p, char *err, size_t errsz);

// ars.shift as a number: "auto" is the task's env.healthy_reward if the configuration has one
// (cfg may be NULL), else 0. Returns 0, or -1 with err if the text is neither.
int ars_shift_value(const char *text, const Config *cfg, double *shift, char *err, size_t errsz);

typedef struct {
  ArsParams p;           // as given; p.top resolved (1 <= b <= N)
  int obs_dim, act_dim;  // O, A
  int64_t n, b;          // N, b
  double shift;          // per-step reward shift of training rollouts
  uint32_t seed;
  int64_t iteration;     // j: iterations done
  LinPolicy policy;      // M_j and the statistics (mu_j, Sigma_j)
  Rng explore;           // (seed, RNG_STREAM_EXPLORE): the directions
  // the current iteration (kept after it for inspection)
  double *delta;         // (N, A*O) directions
  double *ret;           // (2N) returns with the shift: ret[2k] = r+_k, ret[2k + 1] = r-_k
  double *ret_task;      // (2N) the same rollouts' task returns (no shift)
  int *len;              // (2N) rollout lengths
  int *diverged;         // (2N) rollouts the simulator gave up on
  Normalizer *seen;      // (2N) statistics of the states each rollout acted on (V2)
  int64_t *rank;         // (N) directions by max(r+, r-), best first
  double *g;             // (A*O) the update's weighted sum
  Optim opt;             // the step on M (sgd, or ogd with ars.optimism=ogd; ascending)
  double *m0;            // (A*O) extragrad: M_j while the half step's rollouts run
  double sigma_r;        // sigma_R of the last update
} Ars;

// What one iteration did (task returns, without the shift, over its 2N rollouts).
typedef struct {
  int64_t steps;          // environment steps of the 2N rollouts
  double return_mean, return_max, return_std;   // population std
  double length_mean;
  double sigma_r;         // sigma_R of the update (shifted returns of the top b directions)
  int diverged;           // rollouts that diverged
} ArsIterLog;

// The iterations' log (ars's train.csv, demo_layer's ars.csv): the header for these parameters,
// step,iteration,return_mean,return_max,return_std,length_mean,sigma_r[,beta],wall_s, with beta
// (the ogd beta used at the iteration's step, adapted or not) only when ars.optimism=ogd; and one
// row of it, `step` environment steps done, wall seconds since the run began.
const char *ars_log_header(const ArsParams *p);
void ars_log_row(CsvLog *c, int64_t step, const Ars *a, const ArsIterLog *lg, double wall);

// The trainer for a task with observation O and action A (bounds lo, hi (A), recorded in the
// policy for clipping), M_0 = 0, empty statistics, streams from seed. -1 with err when b > N or
// the dimensions are bad.
int ars_make(Ars *a, const ArsParams *p, double shift, const char *task, int obs_dim,
             int act_dim, const double *lo, const double *hi, uint32_t seed, char *err,
             size_t errsz);
void ars_free(Ars *a);

// Rollout workers, each with its own environment made from eo (which must outlive the pool).
// threads = 1 runs rollouts on the calling thread.
typedef struct ArsPool ArsPool;
ArsPool *ars_pool_make(const EnvOptions *eo, int threads, char *err, size_t errsz);
void ars_pool_free(ArsPool *pool);
int ars_pool_threads(const ArsPool *pool);

// One whole iteration (steps 1 to 5) on the pool; with ars.optimism=extragrad two rounds: the
// first direction g at M_j gives the half step M^ = M_j + alpha g / (b sigma_R), a second draw
// and 2N rollouts at M^ give g^, and M_{j+1} = M_j + alpha g^ / (b sigma_R^) (the log then
// counts both rounds' steps and reports the second's returns).
ArsIterLog ars_iterate(Ars *a, ArsPool *pool);

// The steps of an iteration, for callers that assemble their own (and for tests):
void ars_draw(Ars *a);                    // 1: a->delta from the explore stream
void ars_rollouts(Ars *a, ArsPool *pool); // 2: a->ret, ret_task, len, diverged, seen
void ars_update(Ars *a);                  // 3-4: a->rank, a->sigma_r, M from a->delta and a->ret
void ars_merge_stats(Ars *a);             // 5: fold a->seen into the policy (V2 only)

// The current policy (M_j with its statistics): act with linpolicy_act, save with
// linpolicy_save.
const LinPolicy *ars_policy(const Ars *a);

// Checkpoint fields ars.* (M, statistics, explore stream, iteration) / restore them.
void ars_save(const Ars *a, CkptWriter *w);
int ars_load(Ars *a, CkptReader *r, char *err, size_t errsz);

#endif
