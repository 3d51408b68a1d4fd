// demo_layer: the DeMo Layer, a linear policy trained by augmented random search (ARS) that acts
// through a DMD-MPC layer which adapts it online (Samineni, arXiv 2110.12239; the thesis's design
// is not public, so this follows paper-spec section 3's reading, an inference):
//
//   the policy pi: a linear policy file written by `ars` (layer.policy), or, without one, ARS
//     trained here first on the nominal task for layer.ars_steps steps (the [ars] table;
//     ars.csv logs its iterations; the result is kept as policy.txt)
//   for each environment step on the real system (the task with its --set env.* changes):
//     the layer (mpc.h, planner.h): roll pi through the model from the current state for H steps
//       (its plan, Phi(pi)) and make that the mean (planner.prior_mean); keep it as a candidate
//       (planner.keep_mean) and sample N sequences around it; score each by the task's reward
//       over H steps plus planner.tail_steps further steps of pi (ARS has no critic: the tail is
//       the terminal value); I DMD iterations; act with the first action of the weighted mean
//     the model: the simulator of the nominal task (layer.model=sim: the layer knows the robot
//       as designed, not as it is), or a probabilistic ensemble learned online from the layer's
//       own transitions on the real system, retrained every layer.train_every steps (the layer
//       adapts to the real dynamics; until its first training, pi acts alone)
//   at step 0, every run.eval_every steps and at the end: the same policy with the layer
//     (eval.csv) and without it (eval_policy.csv), on the same start states of the real system
//
// Defaults (the thesis's settings are unknown): H 15, N 20 (plus the policy's plan, M 1), I 2,
// elite utility with K 5, gamma_mean = gamma_var = 0.9, a tail of 50 policy steps (0.5 s on
// Cartpole and the quadruped: a falling pole shows in the reward only that late), termination
// masking, the weighted mean as the action. The layer corrects a policy that is roughly right
// (its plan is what the samples explore around); it does not replace a missing one.
//
// Output in --out: train.csv (the layer's episodes on the real system), eval.csv, eval_policy.csv
// (episodes.h format), speed.csv (step,eval,episode,layer_speed,policy_speed,wall_s: the episodes'
// mean velocity of the first coordinate, the forward speed on the quadruped), plan.csv (the
// planner's diagnostics, as dmd_mpc's algo.csv), model.csv (ensemble only), ars.csv and
// policy.txt (ARS trained in the run only).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ars_core.h"
#include "cli.h"
#include "ensemble.h"
#include "env.h"
#include "episodes.h"
#include "fail.h"
#include "linpolicy.h"
#include "mpc.h"
#include "planner.h"
#include "replay.h"
#include "rng.h"
#include "run.h"

#define LAYER_PARAMS(X)                                                                          \
  X(STR, policy, "", "", "linear policy file from ars (empty: train one here first)")            \
  X(INT, ars_steps, "1e6", "[1, 1e12]", "no policy file: ARS steps on the nominal task first")  \
  X(REAL, policy_scale, "1", "[0, 100]", "factor on the policy's matrix M (below 1: weakened)") \
  X(CHOICE, model, "sim", "sim|ensemble", "the layer's model: nominal simulator or learned")    \
  X(INT, train_every, "250", "[1, 1e9]", "ensemble: steps between trainings of the model")      \
  X(INT, buffer_size, "1e6", "[1, 1e9]", "ensemble: transitions kept for training")             \
  X(INT, log_every, "1", "[1, 1e9]", "control steps between rows of plan.csv")
PARAMS_DEFINE(LayerParams, layer_params_register, LAYER_PARAMS)

// demo_layer's defaults for the tables it shares (the thesis's settings are unknown; see the top)
static const CfgDefault LAYER_DEFAULTS[] = {
    {"run.env", "CartpoleBalance"},   // the adaptation study's task (paper-spec section 3)
    {"run.steps", "5000"},
    {"run.eval_every", "5000"},
    {"run.eval_episodes", "3"},
    {"run.checkpoint_every", "1000"},
    {"planner.horizon", "15"},       // H: 0.15 s of lookahead on Cartpole, with the tail below
    {"planner.samples", "20"},       // N: few samples around the policy's plan
    {"planner.iterations", "2"},     // I
    {"planner.mixture", "0.05"},     // M = 1: the policy's rolled plan, Phi(pi)
    {"planner.utility", "elite"},    // the thesis's method of elite fractions (paper-spec Q2)
    {"planner.elites", "5"},         // K
    {"planner.gamma_mean", "0.9"},   // one DMD step size for both moments (paper-spec Q3)
    {"planner.gamma_var", "0.9"},
    {"planner.tail_steps", "50"},    // ARS has no critic: 0.5 s of the policy as terminal value
    {"planner.terminate", "true"},   // a falling pole ends the rewards of its sequence
    {"planner.keep_mean", "true"},   // the policy's plan is itself a candidate
    {"planner.prior_mean", "true"},  // the samples explore around Phi(pi)
    {"planner.act", "mean"},         // the layer acts with the weighted mean
};

#define SPEED_HEADER "step,eval,episode,layer_speed,policy_speed,wall_s"

// The policy as the planner's prior (PlanPolicyFn): its actions mapped into the unit box.
typedef struct {
  const LinPolicy *pi;
  const Env *env;             // for the action bounds
  double *x, *a;              // (O), (A) scratch
} Prior;

// The layer as an evaluation policy: the controller while the model is usable, else pi alone.
typedef struct {
  Mpc *mpc;
  const LinPolicy *pi;
  int active;
} Layer;

// ---- ALGO LOGIC ----

static void prior_fn(void *ctx, const float *obs, float *act, int n) {
  Prior *p = ctx;
  int O = p->env->obs_dim, A = p->env->act_dim;
  for (int r = 0; r < n; r++) {
    for (int j = 0; j < O; j++) p->x[j] = obs[(size_t)r * O + j];
    linpolicy_act(p->pi, p->x, p->a);
    action_to_unit(p->env, p->a, p->a, 0);   // unclamped: the planner clamps prior actions
    for (int i = 0; i < A; i++) act[(size_t)r * A + i] = (float)p->a[i];
  }
}

// The policy for a weighting of the model's fit (ModelPolicyFn): deterministic, so r is unused;
// clamped into the unit box, where the replay's actions live.
static void weights_policy(void *ctx, const float *obs, float *act, int n, Rng *r) {
  (void)r;
  prior_fn(ctx, obs, act, n);
  int A = ((Prior *)ctx)->env->act_dim;
  for (size_t k = 0; k < (size_t)n * A; k++) act[k] = fminf(1.0f, fmaxf(-1.0f, act[k]));
}

static void layer_policy(void *ctx, const double *obs, double *act) {
  Layer *l = ctx;
  if (l->active)
    mpc_policy(l->mpc, obs, act);
  else
    linpolicy_act(l->pi, obs, act);
}

// ARS on the nominal task for `steps` environment steps; its iterations go to log
static void train_policy(Run *run, CsvLog *log, Ars *ars, ArsPool *pool, int64_t steps) {
  int64_t done = 0;
  while (done < steps) {
    ArsIterLog lg = ars_iterate(ars, pool);
    done += lg.steps;
    ars_log_row(log, done, ars, &lg, run_wall(run));
  }
}

// ---- HARNESS ----

// the policy with and without the layer, episode j of both from the same start state; returns
// the mean return with the layer, and without it in *plain_mean
static double evaluate(Run *run, Env *env, Layer *l, uint32_t seed, CsvLog *plain, CsvLog *speed,
                       double *plain_mean) {
  double total = 0, total_plain = 0;
  int64_t n = run->cli->run.eval_episodes;
  rng_init_sub(&l->mpc->rng, seed, RNG_STREAM_PLANNER, 1 + (uint64_t)run->eval_index);
  for (int64_t j = 0; j < n; j++) {
    Rng reset, again;
    rng_init_sub(&reset, seed, RNG_STREAM_EVAL, (uint64_t)j);
    again = reset;
    Episode with = episode_run(env, &reset, layer_policy, l);
    Episode without = episode_run(env, &again, linpolicy_fn, (void *)l->pi);
    episodes_log(run, &run->eval, run->eval_index, j, &with);
    episodes_log(run, plain, run->eval_index, j, &without);
    csv_i(speed, run->step);
    csv_i(speed, run->eval_index);
    csv_i(speed, j);
    csv_d(speed, with.speed);
    csv_d(speed, without.speed);
    csv_d(speed, run_wall(run));
    csv_end(speed);
    total += with.ret;
    total_plain += without.ret;
  }
  run->eval_index++;
  progress_eval(&run->progress, total / (double)n);
  *plain_mean = total_plain / (double)n;
  return total / (double)n;
}

static void save(const Mpc *c, const Layer *l, const Replay *data, const TrainEnv *te,
                 CkptWriter *w) {
  mpc_save(c, w);
  ckpt_put_i64(w, "layer.active", l->active);
  train_env_save(te, w);
  mpc_model_save(c->model, w);
  if (c->model->kind == MPC_MODEL_ENSEMBLE) replay_save(data, w, "replay");
}

static void load(Mpc *c, Layer *l, Replay *data, TrainEnv *te, CkptReader *r) {
  char err[4400];
  int64_t active;
  int bad = mpc_load(c, r, err, sizeof err) ||
            ckpt_get_i64(r, "layer.active", &active, err, sizeof err) ||
            train_env_load(te, r, err, sizeof err) ||
            mpc_model_load(c->model, r, err, sizeof err);
  if (!bad && c->model->kind == MPC_MODEL_ENSEMBLE)
    bad = replay_load(data, r, "replay", err, sizeof err);
  if (bad) fail_run("cannot resume: %s", err);
  l->active = (int)active;
}

// the policy file of layer.policy (read from path, named `shown`), checked against the task (a
// usage error if it does not fit)
static void load_policy(LinPolicy *pi, const char *path, const char *shown, const Env *env) {
  char err[4400];
  if (linpolicy_load(pi, path, err, sizeof err)) fail_usage("layer.policy: %s", err);
  if (!pi->checksum)
    fail_warn("layer.policy: %s has no checksum line (hand-written, or from an earlier build): "
              "a damaged file would go unnoticed", shown);
  if (pi->obs_dim != env->obs_dim || pi->act_dim != env->act_dim)
    fail_usage("layer.policy: %s has %d observations and %d actions; %s has %d and %d", shown,
               pi->obs_dim, pi->act_dim, env_task_name(env->task), env->obs_dim, env->act_dim);
}

int main(int argc, char **argv) {
  Cli cli;
  LayerParams p;
  ArsParams ap;
  ArsExecParams ex;
  PlannerParams pp;
  EnsembleParams ep;
  WeightsParams wp;
  EnvOptions eo, nominal;
  char err[4400];
  cli_init(&cli, argv[0], "DeMo Layer: a linear policy guided online by DMD-MPC", CLI_ENV);
  layer_params_register(&cli.cfg, "layer", &p);
  ars_params_register(&cli.cfg, "ars", &ap);
  planner_params_register(&cli.cfg, "planner", &pp);
  ensemble_params_register(&cli.cfg, "ensemble", &ep);
  weights_params_register(&cli.cfg, "weights", &wp);
  ars_exec_register_cores(&cli.cfg, &ex);
  CFG_SET_DEFAULTS(&cli.cfg, LAYER_DEFAULTS);
  cli_flag(&cli, "--policy", "layer.policy", "FILE");
  cli_flag(&cli, "--model", "layer.model", "sim|ensemble");
  cli_flag(&cli, "--threads", "exec.threads", "N");
  cli_parse(&cli, argc, argv);
  double shift;
  if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err) ||
      env_options_default(cli.run.env, &nominal, err, sizeof err) ||
      cfg_apply(&cli.cfg, 0, err, sizeof err) ||
      planner_params_check(&pp, err, sizeof err) || ensemble_params_check(&ep, err, sizeof err) ||
      ars_shift_value(ap.shift, &cli.cfg, &shift, err, sizeof err) ||
      ars_params_check(&ap, err, sizeof err))
    fail_usage("%s", err);
  if (!pp.prior_mean)
    fail_warn("planner.prior_mean is off: the layer samples around its own shifted plan, and the "
              "policy's plan is only one candidate");
  cli_meta(&cli, "mujoco", env_mujoco_version());
  cli_finish(&cli);
  // the real system (perturbed by --set env.*), its evaluation copy, and the policy, of which the
  // run keeps its own copy (inputs/layer.policy)
  Env *env = env_make_for_run(&cli, &eo), *eval_env = env_make_for_run(&cli, &eo);
  int O = env->obs_dim, A = env->act_dim;
  LinPolicy pi;
  int train_here = p.policy[0] == '\0';
  if (!train_here) {
    char use[4200];
    cli_input(&cli, "layer.policy", p.policy, true, use, sizeof use);
    load_policy(&pi, use, p.policy, env);
  }
  uint32_t seed = (uint32_t)cli.run.seed;
  char policy_path[4200];
  cli_path(&cli, "policy.txt", policy_path, sizeof policy_path);

  // the layer's model (the nominal simulator or the ensemble) and the controllers on it
  MpcModel m;
  Replay data = {0};   // ensemble: the real system's transitions
  if (mpc_model_init(&m, (MpcModelKind)p.model, &nominal, env, &ep, seed, err, sizeof err) ||
      (m.kind == MPC_MODEL_ENSEMBLE &&
       replay_init(&data, (size_t)p.buffer_size, O, A, err, sizeof err)))
    fail_run("%s", err);
  Mpc mpc, eval_mpc;
  mpc_init_pair(&mpc, &eval_mpc, &pp, &m, env, eval_env);
  Prior prior = {&pi, env, xmalloc((size_t)O, sizeof(double), "observation"),
                 xmalloc((size_t)A, sizeof(double), "action")};
  mpc.prior = eval_mpc.prior = prior_fn;
  mpc.prior_ctx = eval_mpc.prior_ctx = &prior;
  // the linear policy is what a weighting of the model's fit reads
  if (mpc_model_weights(&m, (int)ep.weights, &wp, (size_t)p.buffer_size, weights_policy, &prior,
                        "", seed, err, sizeof err))
    fail_usage("%s", err);
  rng_init(&mpc.rng, seed, RNG_STREAM_PLANNER);
  Layer layer = {&mpc, &pi, m.kind == MPC_MODEL_SIM};
  Layer eval_layer = {&eval_mpc, &pi, 0};
  TrainEnv te;
  train_env_init(&te, env, seed);
  double *act = xmalloc((size_t)A, sizeof *act, "action");    // (A) in the task's bounds
  double *unit = xmalloc((size_t)A, sizeof *unit, "action");  // (A) the same in the unit box
  double ret = NAN, ret_plain = NAN;

  Run run;
  CkptReader *ck = run_start(&run, &cli, TRAIN_CSV_HEADER, EVAL_CSV_HEADER, NULL);
  CsvLog *plain_log = run_open_log(&run, ck, "eval_policy.csv", EVAL_CSV_HEADER);
  CsvLog *speed_log = run_open_log(&run, ck, "speed.csv", SPEED_HEADER);
  CsvLog *plan_log = run_open_log(&run, ck, "plan.csv", MPC_PLAN_HEADER);
  CsvLog *model_log = m.kind == MPC_MODEL_ENSEMBLE
                          ? run_open_log(&run, ck, "model.csv", MPC_MODEL_HEADER)
                          : NULL;
  CsvLog *fit_log =
      m.kind == MPC_MODEL_ENSEMBLE ? run_open_log(&run, ck, "fit.csv", MPC_FIT_HEADER) : NULL;
  if (train_here && ck) {
    load_policy(&pi, policy_path, policy_path, env);   // trained before the first checkpoint
  } else if (train_here) {
    // ARS on the nominal task; the policy is kept in the run directory
    CsvLog *ars_log = run_open_log(&run, NULL, "ars.csv", ars_log_header(&ap));
    Ars ars;
    ArsPool *pool = ars_pool_make(&nominal, (int)ex.threads, err, sizeof err);
    if (!pool || ars_make(&ars, &ap, shift, env_task_name(env->task), O, A, env->act_lo,
                          env->act_hi, seed, err, sizeof err))
      fail_run("%s", err);
    train_policy(&run, ars_log, &ars, pool, p.ars_steps);
    if (linpolicy_save(ars_policy(&ars), policy_path, err, sizeof err)) fail_run("%s", err);
    if (linpolicy_init(&pi, env_task_name(env->task), O, A, err, sizeof err)) fail_run("%s", err);
    linpolicy_copy(&pi, ars_policy(&ars));
    ars_free(&ars);
    ars_pool_free(pool);
  }
  for (size_t k = 0; k < (size_t)A * O; k++) pi.m[k] *= p.policy_scale;
  if (ck) {
    load(&mpc, &layer, &data, &te, ck);
    ckpt_close(ck);
  } else {
    planner_reset(&mpc.planner);
  }

  for (;;) {
    if (run_eval_due(&run)) {
      eval_layer.active = layer.active;
      ret = evaluate(&run, eval_env, &eval_layer, seed, plain_log, speed_log, &ret_plain);
    }
    if (run.step >= cli.run.steps) break;
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      save(&mpc, &layer, &data, &te, w);
      run_checkpoint_commit(&run, w);
    }

    // act through the layer (pi alone until a learned model has been trained)
    if (layer.active) {
      mpc_act(&mpc, te.obs, act);
      if (run.step % p.log_every == 0) mpc_log_plan(&mpc, &run, plan_log);
    } else {
      linpolicy_act(&pi, te.obs, act);
    }
    EnvStep st;
    if (train_env_step(&te, &run, act, &st)) planner_reset(&mpc.planner);

    // the ensemble learns the real system from the layer's own transitions
    if (m.kind == MPC_MODEL_ENSEMBLE) {
      if (!st.diverged) {
        action_to_unit(env, act, unit, 1);
        replay_add(&data, te.prev_obs, unit, st.reward, te.next_obs, st.terminated,
                   st.truncated);
      }
      if (run.step % p.train_every == 0 && data.size > 1) {
        mpc_model_train_logged(&m, &data, &run, model_log, fit_log);
        layer.active = 1;
      }
    }
    run_progress(&run);
  }

  printf("%s: evaluation return %.6g with the layer, %.6g without, after %lld steps (%s)\n",
         cli.prog, ret, ret_plain, (long long)run.step, cli.out);
  run_finish(&run);
  free(act), free(unit), free(prior.x), free(prior.a);
  mpc_free(&mpc);
  mpc_free(&eval_mpc);
  mpc_model_free(&m);
  replay_free(&data);
  train_env_free(&te);
  linpolicy_free(&pi);
  env_free(env);
  env_free(eval_env);
  env_options_free(&eo);
  env_options_free(&nominal);
  cli_free(&cli);
  return EXIT_OK;
}
