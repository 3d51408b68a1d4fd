// mpc: a DMD-MPC controller acting on a task through a model, the control step that dmd_mpc,
// demorl and demo_layer share.
//
// The model is the task's own simulator (a planning copy of the task; rollouts start from the
// acting task's full physics state) or a learned ensemble (rollouts start from the observation;
// trained by the caller's data through mpc_model_train). The controller adds the planner, its
// stream, an optional prior policy and terminal value (planner.h's callbacks), and the act rule.
#ifndef MIRROR_MPC_H
#define MIRROR_MPC_H

#include <stdint.h>

#include "checkpoint.h"
#include "ensemble.h"
#include "env.h"
#include "planner.h"
#include "replay.h"
#include "rng.h"
#include "run.h"

typedef enum { MPC_MODEL_SIM, MPC_MODEL_ENSEMBLE } MpcModelKind;   // a parameter's choice order

typedef struct {
  MpcModelKind kind;
  PlanModel pm;             // what the planner rolls through
  Env *sim_env;             // sim: a copy of the task used only for planning
  SimModel sim;
  double *state;            // (S) sim: the state planning starts from
  Ensemble ens;             // ensemble: the learned model and its training stream
  EnsembleModel em;
  Rng fit;
  ModelWeights weights;     // ensemble: the fit's weighting (uniform unless mpc_model_weights)
  double *w;                // (wcap) the last fit's weights by position, valid when weighted
  size_t wcap;
  int weighted;
} MpcModel;

// The simulator built from eo, or an ensemble of parameters ep for `task`'s sizes (initialised
// from (seed, RNG_STREAM_INIT), trained from (seed, RNG_STREAM_MODEL)). Returns 0, or -1 with err.
int mpc_model_init(MpcModel *m, MpcModelKind kind, const EnvOptions *eo, const Env *task,
                   const EnsembleParams *ep, uint32_t seed, char *err, size_t errsz);
void mpc_model_free(MpcModel *m);

// ensemble: weigh the fit by weighting `which` of model_weights.h (ensemble.weights) with its
// parameters wp, for a buffer of capacity cap; policy (may be NULL, see model_weights.h: why_none
// says why) is the program's current policy. Returns 0, or -1 with err (a usage error: a
// weighting the program cannot support, a recent pool as large as the buffer).
int mpc_model_weights(MpcModel *m, int which, const WeightsParams *wp, size_t cap,
                      ModelPolicyFn policy, void *policy_ctx, const char *why_none,
                      uint32_t seed, char *err, size_t errsz);

// ensemble: train on all of data (actions in the unit box), weighted by the model's weighting;
// the simulator has nothing to learn
EnsembleStats mpc_model_train(MpcModel *m, const Replay *data);

// How the fit went, after mpc_model_train: the weighting's statistics (old_weight, cur_weight of
// model_weights.h; the dual's loss and the discriminator's accuracy, empty without them) and the
// model's one-step error on the newest and on the oldest `weights.recent` (1000) transitions:
// the elites' Gaussian negative log-likelihood per output (with log 2 pi) and the squared error
// of their means, averaged over elites, rows and the 1 + O outputs.
typedef struct {
  ModelWeightStats w;
  double nll_new, nll_old, mse_new, mse_old;
} MpcFitStats;
MpcFitStats mpc_model_fit_stats(MpcModel *m, const Replay *data);

// mpc_model_train, then one row of MPC_MODEL_HEADER in log and, when fit_log is not NULL, one of
// MPC_FIT_HEADER (mpc_model_fit_stats) in it (step = run->step, wall_s after it)
#define MPC_MODEL_HEADER "step,epochs,train_loss,holdout_mse,stopped_early,wall_s"
#define MPC_FIT_HEADER                                                                          \
  "step,old_weight,cur_weight,nll_new,nll_old,mse_new,mse_old,dual_loss,disc_acc,disc_loss,wall_s"
void mpc_model_train_logged(MpcModel *m, const Replay *data, Run *run, CsvLog *log,
                            CsvLog *fit_log);

// the ensemble and its training stream, and the weighting's state unless it is uniform (nothing
// for the simulator)
void mpc_model_save(const MpcModel *m, CkptWriter *w);
int mpc_model_load(MpcModel *m, CkptReader *r, char *err, size_t errsz);

typedef struct {
  Planner planner;
  MpcModel *model;
  Env *env;                 // the task it acts on (its state starts the simulator's rollouts)
  Rng rng;                  // planning draws
  int training;             // act rule: a sequence drawn by weight (training) or the weighted mean
  PlanPolicyFn prior;       // optional prior policy (NULL: none) and terminal value (NULL: none)
  void *prior_ctx;
  PlanValueFn value;
  void *value_ctx;
  float *unit;              // (A) the last action in the unit box
  double *unitd;            // (A) the same in double, for action_from_unit
  PlanStats stats;          // of the last control step
} Mpc;

// A controller of planner parameters pp on env through m; prior, value and training are set by
// the caller afterwards. Returns 0, or -1 with err (the parameters are checked by the caller).
int mpc_init(Mpc *c, const PlannerParams *pp, MpcModel *m, Env *env, char *err, size_t errsz);
void mpc_free(Mpc *c);

// The programs' two controllers on m: the acting one on env (training = 1: its act rule is
// planner.act) and the evaluating one on eval_env (the weighted mean), each with its own planner
// state; the run fails (exit 1) on error.
void mpc_init_pair(Mpc *act, Mpc *eval, const PlannerParams *pp, MpcModel *m, Env *env,
                   Env *eval_env);

// The planner's carried distribution (planner.*) and its stream (rng.planner); not the model.
void mpc_save(const Mpc *c, CkptWriter *w);
int mpc_load(Mpc *c, CkptReader *r, char *err, size_t errsz);

// One control step at observation obs (env's current state): act (A) in the task's bounds, the
// same action in the unit box in c->unit, diagnostics in c->stats.
void mpc_act(Mpc *c, const double *obs, double *act);

// One row of MPC_PLAN_HEADER in log: the diagnostics of the last control step (solve_ms is wall
// time, like wall_s: the two columns that differ between reruns).
#define MPC_PLAN_HEADER "step,best_return,mean_return,weight_entropy,solve_ms,wall_s"
void mpc_log_plan(const Mpc *c, Run *run, CsvLog *log);

// Imagined data (the MBPO / MoPAC reading of DeMoRL): right after mpc_act at obs (the model still
// at obs), roll the plan just chosen (the planner's mean: the sequence acted on) once through the
// model, one random replica per step, and add its H predicted transitions (s_h, a_h, r_h,
// s_{h+1}, done_h) to out; a predicted terminal state ends them. Draws from c->rng.
void mpc_imagine(Mpc *c, const double *obs, Replay *out);

// The controller as an evaluation policy (episodes.h PolicyFn): the planner is reset at each
// episode's start.
void mpc_policy(void *ctx, const double *obs, double *act);

#endif
