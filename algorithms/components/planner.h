// planner: DMD-MPC, model predictive control whose sampling distribution over action sequences is
// updated by dynamic mirror descent (Wagener et al. 2019), as the DeMoRL authors' controller.
//
// Actions live in the unit box [-1, 1]^A (models map them onto the task's bounds). The decision
// is a diagonal Gaussian over H-step sequences: mean m (H, A) and variance v (H, A).
//
// One control step (planner_act):
//   shift     m <- (m_1, ..., m_{H-1}, fill) with fill = m_{H-1} (repeat) or 0 (zero); v is reset
//             to init_var unless carry_var (then shifted the same way, its new last block
//             v_{H-1} (repeat) or init_var (zero))
//   prior     M = floor(mixture N) sequences proposed by a prior policy (a callback: SAC's actor,
//             a linear policy, or none), each rolled H steps through the model, one random model
//             replica per row and step; made once per control step and kept for all iterations;
//             with prior_mean the first of them also replaces the shifted mean (the DeMo Layer:
//             the policy's plan, Phi(pi), is what the iterations sample around; needs M >= 1)
//   I times:  sample N sequences a_i = m + sqrt(c) z_i, c = min((m - lo)^2/4, (hi - m)^2/4, v)
//             (with keep_mean, a_0 = m itself, unperturbed: MJPC's predictive sampling keeps its
//             nominal, so a plan that scored well is scored again after the shift; the authors'
//             controller does not)
//             (the authors' bound-constrained variance, floored at std_min^2), z_i ~ N(0, 1)
//             truncated to [-2, 2], so a_i stays in the box; the candidates are the N samples and
//             the M prior sequences; each is rolled P times (particles; once for a
//             deterministic model) through every replica of the model; its return R_i is the mean
//             over replicas and particles of
//               sum_{h < H} alive_h r_h                              (no value callback)
//               sum_{h < H-1} alive_h r_h + alive_{H-1} V(s_{H-1}, a_{H-1})   (with one: the
//                                                      value takes over the last reward, as LOOP
//                                                      and the authors' code)
//             plus, with tail_steps T > 0 and a prior policy, the rewards of T further steps of
//             the prior policy (then H + T takes the place of H above: the value, if any, takes
//             over the last tail reward; in replicas, the policy sees the replicas' mean
//             observation, as every replica of a row takes the same action);
//             alive_h = 1 until a predicted terminal state (only when `terminate`, else 1)
//             weights   exp:   w_i = exp(kappa (R_i - max R)) / sum           (MPPI-like)
//                       elite: w_i = 1/K for the K best returns, else 0        (CEM-like)
//                       cost:  w_i = (R_i - mean R) / (N_c std R)  (the expected-cost gradient of
//                              DMD with standardised costs; sums to 0; N_c candidates)
//             mean      m <- (1 - gamma_mean) m + gamma_mean sum_i w_i a_i
//                       (cost: m <- m + gamma_mean sum_i w_i (a_i - m))
//             variance  v <- (1 - gamma_var) v + gamma_var sum_i w_i (a_i - m_new)^2
//                       (cost: v <- v + gamma_var sum_i w_i ((a_i - m_old)^2 - v), floored at 0)
//   act       training (act = sample): one candidate j ~ w of the last iteration, m <- a_j (as the
//             authors' code); otherwise the weighted mean; the action is m_0
//
// Letters: H horizon, A action and O observation dimensions, R model replicas (ensemble elites,
// 1 for the simulator), n rows.
#ifndef MB_PLANNER_H
#define MB_PLANNER_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "rng.h"

#define PLANNER_PARAMS(X)                                                                         \
  X(INT, horizon, "3", "[1, 1000]", "H: steps of each action sequence")                          \
  X(INT, samples, "100", "[1, 100000]", "N: Gaussian sequences per iteration")                   \
  X(REAL, mixture, "0.05", "[0, 100]", "M = floor(mixture N) sequences from the prior policy")  \
  X(INT, particles, "4", "[1, 1000]", "P: rollouts of each sequence per model replica")          \
  X(INT, iterations, "5", "[1, 1000]", "I: DMD iterations per control step")                     \
  X(CHOICE, utility, "exp", "exp|elite|cost", "weights: exponential, top-K elites, expected cost") \
  X(REAL, kappa, "1", "(0, 1e9]", "inverse temperature of the exponential utility")              \
  X(INT, elites, "10", "[1, 100000]", "K of the elite utility")                                  \
  X(REAL, gamma_mean, "1", "[0, 1]", "DMD step size of the mean")                                \
  X(REAL, gamma_var, "0.9", "[0, 1]", "DMD step size of the variance")                           \
  X(REAL, init_var, "0.25", "(0, 100]", "variance at reset: (hi - lo)^2 / 16 in the unit box")   \
  X(REAL, std_min, "0", "[0, 10]", "floor of the sampling std (0: the authors' behaviour)")     \
  X(CHOICE, shift, "repeat", "repeat|zero", "fill of the last step when the mean shifts")       \
  X(BOOL, carry_var, "false", "", "keep the variance between control steps instead of resetting it") \
  X(BOOL, terminate, "false", "", "mask rewards after a predicted terminal state")                   \
  X(BOOL, keep_mean, "false", "", "candidate 0 is the mean itself, unperturbed (predictive sampling)") \
  X(CHOICE, act, "sample", "sample|mean", "action while training: drawn by weight, or the mean") \
  X(INT, tail_steps, "0", "[0, 10000]", "prior-policy steps after H whose rewards are added") \
  X(BOOL, prior_mean, "false", "", "the first prior sequence becomes the mean each control step") \
  X(CHOICE, optimism, "none", "none|ogd|extragrad",                                               \
    "acceleration of the mean's step (planner.h): none, ogd (the last step's direction as a hint) " \
    "or extragrad (a second sampling round at the half step)")                                    \
  X(REAL, beta, "1", "[0, 10]", "ogd: weight of the hint (0: no optimism, to the bit)")           \
  X(BOOL, split, "false", "", "extragrad: N/2 samples in each round, the base's rollouts in all")
PARAMS_DEFINE(PlannerParams, planner_params_register, PLANNER_PARAMS)

enum { UTILITY_EXP, UTILITY_ELITE, UTILITY_COST };   // order of the utility choice
enum { SHIFT_REPEAT, SHIFT_ZERO };
enum { ACT_SAMPLE, ACT_MEAN };
enum { OPTIMISM_NONE, OPTIMISM_OGD, OPTIMISM_EXTRAGRAD };

// A model the planner rolls action sequences through. The caller puts the model at the current
// state first (sim_model_start / the ensemble's start), then the planner asks for rows.
typedef struct {
  int obs_dim, act_dim;   // O, A
  int replicas;           // R: copies each row is simulated in (elites; 1 for the simulator)
  int stochastic;         // 0: rollouts are deterministic, so the planner runs one particle
  void *ctx;
  // Start n rows at the model's current state. mode 0: each row in every replica; mode 1: one
  // row each, through one replica drawn per row and step (the prior policy's rollouts).
  void (*start)(void *ctx, int n, int mode);
  // Advance every row one step with act (n, A) (unit box). Writes, for R' = R (mode 0) or 1
  // (mode 1) copies of the rows: rew (R', n), obs (R', n, O) after the step, done (R', n) 1 where
  // the task's termination holds after the step. Draws model noise from r.
  void (*advance)(void *ctx, const float *act, Rng *r, float *rew, float *obs, uint8_t *done);
} PlanModel;

// Unit-box actions act (n, A) of a prior policy for observations obs (n, O).
typedef void (*PlanPolicyFn)(void *ctx, const float *obs, float *act, int n);

// Terminal value v (n) of (obs (n, O), act (n, A)), e.g. SAC's Q1.
typedef void (*PlanValueFn)(void *ctx, const float *obs, const float *act, int n, float *v);

typedef struct {
  double best_return;     // max_i R_i of the last iteration
  double mean_return;     // mean_i R_i of the last iteration
  double weight_entropy;  // -sum_i w_i log w_i of the last iteration (exp and elite utilities)
  double solve_ms;        // wall time of the control step
} PlanStats;

typedef struct {
  PlannerParams p;
  int H, A, O, N, M, C;   // horizon, dims, samples, prior sequences, candidates C = N + M
  float *mean, *var;      // (H, A) the decision
  float *gprev;           // (H, A) ogd: the last update's direction g (mean - new mean) / gamma
  int has_prev;           // ogd: gprev holds one (not at an episode's start)
  // scratch (allocated at init for the largest sizes; the buffers per model replica at the first
  // call with a model of more replicas)
  float *cand;            // (C, H, A) candidate sequences
  double *ret;            // (C) returns
  double *w;              // (C) weights
  void *scratch;          // rows, rewards, observations, masks (planner.c)
} Planner;

// Acceleration of DMD's mean step (Chelu et al. 2023; seed-variants.md 3.2). Written as a
// gradient step, the mean's update is m' = m - gamma_mean g with g = m - sum_i w_i u_i (exp,
// elite) or g = -sum_i w_i (u_i - m) (cost). optimism=ogd steps along g + beta (g - g_prev),
// g_prev the previous iteration's direction (at a control step's first iteration the previous
// control step's last one, shifted one step in time like the mean, its new last step 0; none at
// an episode's start): m' = m_base - gamma_mean beta (g - g_prev), m_base the plain update, so
// beta 0 is the plain planner to the bit. optimism=extragrad takes the plain update as a half
// step m^, samples and scores a second round at m^ (with the same variance), and applies that
// round's direction from m: m' = m - gamma_mean g(m^), the variance updated from the second
// round; with split each round samples N/2 (rounded down) sequences, so that the model rollouts
// are the base's (the M prior sequences are scored in both rounds).
//
// Check the table's cross-field rules (elites <= samples). Returns 0 or -1 with err.
int planner_params_check(const PlannerParams *p, char *err, size_t errsz);

int planner_init(Planner *pl, const PlannerParams *p, int obs_dim, int act_dim, char *err,
                 size_t errsz);
void planner_free(Planner *pl);

// Episode start: mean 0, variance init_var.
void planner_reset(Planner *pl);

// One control step from the model's current state: writes the action act (A) in the unit box.
// obs (O) is the observation the model was started at (the prior's and the value's first rows);
// it may be NULL when prior and value are. prior / value may be NULL. training selects the `act`
// rule (sample) or the weighted mean. Every draw comes from r.
void planner_act(Planner *pl, PlanModel *model, const double *obs, PlanPolicyFn prior,
                 void *prior_ctx, PlanValueFn value, void *value_ctx, int training, Rng *r,
                 float *act, PlanStats *st);

// The decision (mean and variance) outlives a control step: save it with a run's checkpoint.
void planner_save(const Planner *pl, CkptWriter *w, const char *prefix);
int planner_load(Planner *pl, CkptReader *r, const char *prefix, char *err, size_t errsz);

// ---- the true simulator as a model ----

// Rows are copies of an environment's full state (env_get_state / env_set_state); reward and
// termination come from the task; deterministic, so R = 1 and particles repeat the same rollout.
typedef struct {
  Env *env;               // an environment of the task used only for planning
  double *start;          // (S) the state rows start from
  double *rows;           // (n, S) each row's current state
  int n, cap;
  double *buf;            // (2 A + O) scratch: unit action, task action, observation
} SimModel;

void sim_model_init(SimModel *s, Env *env, PlanModel *out);
void sim_model_free(SimModel *s);

// Put the model at the physics state `state` (env_get_state of the real environment).
void sim_model_start(SimModel *s, const double *state);

#endif
