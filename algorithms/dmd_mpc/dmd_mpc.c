// dmd_mpc: model predictive control by dynamic mirror descent (DMD-MPC; Wagener, Cheng, Sacks and
// Boots, "An Online Learning Approach to Model Predictive Control", RSS 2019), planning with the
// true simulator (--model sim) or with a probabilistic ensemble learned online from the
// controller's own experience (--model ensemble: model-based RL from scratch, as PETS).
//
//   for each environment step:
//     put the model at the current state (the simulator: the task's full physics state; the
//       ensemble: the observation)
//     plan: one DMD-MPC control step (planner.h: shift, sample, roll through the model, weigh,
//       mirror-descent steps of the mean and variance) and act: a sequence drawn by weight while
//       training (as the DeMoRL authors' controller), the weighted mean in evaluation
//     ensemble: store the transition; every dmd.train_every steps train the ensemble on all of
//       them (warm start, early stopping; ensemble.h)
//   at step 0, every run.eval_every steps and at the end: evaluate the MPC (weighted mean) on a
//   separate copy of the task (episodes_evaluate: fixed start states), with its own planner state
//   and a planning stream of its own, so evaluations do not disturb training
//
// Defaults: the planner's table holds the DeMoRL authors' controller (paper-spec 2.1: H 3, N 100,
// P 4, I 5, exponential weights with kappa 1, gamma_mean 1, gamma_var 0.9), which leans on SAC's
// critic for everything beyond three steps. Without a critic, dmd_mpc plans further and keeps
// what it found: horizon 25, 50 samples, 3 iterations, termination masking on (sequences that
// run into a terminal state score lower), the current mean kept as a candidate (a plan that
// scored well is scored again after the shift: MJPC's predictive sampling), a zero fill when the
// mean shifts (repeating the last action keeps pushing), and no prior-policy sequences. With
// these the simulator model balances InvertedPendulum for whole episodes and swings Cartpole up
// (CartpoleSwingup wants about 0.8 s: --set planner.horizon=80). The authors' settings are one
// --config away (the planner table's defaults: --set planner.horizon=3 --set planner.samples=100
// ...).
// The ensemble's table is the authors' model (7 members, 5 elites, 4x200 Swish, retrained every
// 250 steps), with an epoch cap (ensemble.max_epochs) the authors' code does not have. The MPC
// acts from step 0, also before the first training (the authors' code does); dmd.random_steps
// gives uniform-random actions first instead.
//
// Output in --out: train.csv, eval.csv (episodes.h) and
//   algo.csv   step,best_return,mean_return,weight_entropy,solve_ms,wall_s
//              every dmd.log_every control steps: the planner's diagnostics of that step
//              (solve_ms is wall time, like wall_s: the two columns that differ between reruns)
//   model.csv  step,epochs,train_loss,holdout_mse,stopped_early,wall_s   (ensemble only)
//              one row per training of the ensemble
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ensemble.h"
#include "env.h"
#include "episodes.h"
#include "fail.h"
#include "mpc.h"
#include "planner.h"
#include "replay.h"
#include "rng.h"
#include "run.h"

#define DMD_PARAMS(X)                                                                          \
  X(CHOICE, model, "sim", "sim|ensemble", "what the planner rolls sequences through")         \
  X(INT, train_every, "250", "[1, 1e9]", "ensemble: steps between trainings of the model")     \
  X(INT, random_steps, "0", "[0, 1e12]", "uniform-random actions first (0: the MPC from step 0)") \
  X(INT, buffer_size, "1e6", "[1, 1e9]", "ensemble: transitions kept for training")            \
  X(INT, log_every, "1", "[1, 1e9]", "control steps between rows of algo.csv")
PARAMS_DEFINE(DmdParams, dmd_params_register, DMD_PARAMS)

// dmd_mpc's defaults for the tables it shares: planning without a critic (see the top; the
// planner's table holds the DeMoRL authors' controller, the ensemble's their model)
static const CfgDefault DMD_DEFAULTS[] = {
    {"run.env", "InvertedPendulum"},
    {"run.steps", "5000"},
    {"run.eval_every", "5000"},
    {"run.eval_episodes", "2"},
    {"run.checkpoint_every", "1000"},
    {"planner.horizon", "25"},      // H: no critic, so plan further than the authors' 3
    {"planner.samples", "50"},      // N
    {"planner.iterations", "3"},    // I
    {"planner.terminate", "true"},  // sequences into a terminal state score lower
    {"planner.keep_mean", "true"},  // the shifted mean is scored again (MJPC's predictive sampling)
    {"planner.shift", "zero"},      // repeating the last action keeps pushing
    {"planner.mixture", "0"},       // no prior policy
};


// ---- HARNESS ----

static void save(const Mpc *c, const Replay *data, const TrainEnv *te, const Rng *explore,
                 CkptWriter *w) {
  mpc_save(c, w);
  ckpt_put(w, "rng.explore", explore, sizeof *explore);
  train_env_save(te, w);
  mpc_model_save(c->model, w);
  if (c->model->kind == MPC_MODEL_ENSEMBLE) replay_save(data, w, "replay");
}

static void load(Mpc *c, Replay *data, TrainEnv *te, Rng *explore, CkptReader *r) {
  char err[4400];
  int bad = mpc_load(c, r, err, sizeof err) ||
            ckpt_get(r, "rng.explore", explore, sizeof *explore, err, sizeof err) ||
            train_env_load(te, r, err, sizeof err) ||
            mpc_model_load(c->model, r, err, sizeof err);
  if (!bad && c->model->kind == MPC_MODEL_ENSEMBLE)
    bad = replay_load(data, r, "replay", err, sizeof err);
  if (bad) fail_run("cannot resume: %s", err);
}

int main(int argc, char **argv) {
  Cli cli;
  DmdParams p;
  PlannerParams pp;
  EnsembleParams ep;
  WeightsParams wp;
  EnvOptions eo;
  char err[4400];
  cli_init(&cli, argv[0],
           "DMD-MPC: model predictive control by dynamic mirror descent.\n"
           "With --model ensemble, ensemble.weights is uniform, recency or tom-binary; not tom,\n"
           "whose dual samples a' ~ pi(.|s') from a parametric policy, which DMD-MPC has not\n"
           "(tom-binary's dual reads the logged actions instead)",
           CLI_ENV);
  dmd_params_register(&cli.cfg, "dmd", &p);
  planner_params_register(&cli.cfg, "planner", &pp);
  ensemble_params_register(&cli.cfg, "ensemble", &ep);
  weights_params_register(&cli.cfg, "weights", &wp);
  cli_flag(&cli, "--model", "dmd.model", "sim|ensemble");
  CFG_SET_DEFAULTS(&cli.cfg, DMD_DEFAULTS);
  cli_parse(&cli, argc, argv);
  if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err)) fail_usage("%s", err);
  if (planner_params_check(&pp, err, sizeof err) || ensemble_params_check(&ep, err, sizeof err))
    fail_usage("%s", err);
  cli_meta(&cli, "mujoco", env_mujoco_version());
  cli_finish(&cli);

  // the task, its evaluation copy, and the model: a planning copy of the task, or the ensemble
  Env *env = env_make_for_run(&cli, &eo), *eval_env = env_make_for_run(&cli, &eo);
  int O = env->obs_dim, A = env->act_dim;
  uint32_t seed = (uint32_t)cli.run.seed;
  MpcModel m;
  Replay data = {0};   // ensemble: every transition, to train the model on
  if (mpc_model_init(&m, (MpcModelKind)p.model, &eo, env, &ep, seed, err, sizeof err) ||
      (m.kind == MPC_MODEL_ENSEMBLE &&
       replay_init(&data, (size_t)p.buffer_size, O, A, err, sizeof err)))
    fail_run("%s", err);
  // no parametric policy: the weightings' dual reads the logged actions (model_weights.h)
  if (mpc_model_weights(&m, (int)ep.weights, &wp, (size_t)p.buffer_size, NULL, NULL,
                        "dmd_mpc has no parametric policy to sample a' ~ pi(.|s') from (running "
                        "the planner at every replay state is too costly)",
                        seed, err, sizeof err))
    fail_usage("%s", err);

  // the acting controller and the evaluating one
  Mpc mpc, eval_mpc;
  mpc_init_pair(&mpc, &eval_mpc, &pp, &m, env, eval_env);
  rng_init(&mpc.rng, seed, RNG_STREAM_PLANNER);
  Rng explore;
  rng_init(&explore, seed, RNG_STREAM_EXPLORE);
  TrainEnv te;
  train_env_init(&te, env, seed);
  double *act = xmalloc((size_t)A, sizeof *act, "action");   // (A) in the task's bounds
  double *unit = xmalloc((size_t)A, sizeof *unit, "action");  // (A) in [-1, 1]

  Run run;
  double ret = NAN;
  CkptReader *ck = run_start(&run, &cli, TRAIN_CSV_HEADER, EVAL_CSV_HEADER, MPC_PLAN_HEADER);
  CsvLog *model_log =
      m.kind == MPC_MODEL_ENSEMBLE ? run_open_log(&run, ck, "model.csv", MPC_MODEL_HEADER) : NULL;
  CsvLog *fit_log =
      m.kind == MPC_MODEL_ENSEMBLE ? run_open_log(&run, ck, "fit.csv", MPC_FIT_HEADER) : NULL;
  if (ck) {
    load(&mpc, &data, &te, &explore, ck);
    ckpt_close(ck);
  } else {
    planner_reset(&mpc.planner);
  }

  for (;;) {
    if (run_eval_due(&run)) {
      // a planning stream of each evaluation's own: evaluations leave training untouched
      rng_init_sub(&eval_mpc.rng, seed, RNG_STREAM_PLANNER, 1 + (uint64_t)run.eval_index);
      ret = episodes_evaluate(&run, &run.eval, eval_env, mpc_policy, &eval_mpc);
    }
    if (run.step >= cli.run.steps) break;
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      save(&mpc, &data, &te, &explore, w);
      run_checkpoint_commit(&run, w);
    }

    // act: uniform-random first if asked, then the MPC
    if (run.step < p.random_steps) {
      for (int i = 0; i < A; i++) unit[i] = (float)rng_uniform_range(&explore, -1.0, 1.0);
      action_from_unit(env, unit, act);
    } else {
      mpc_act(&mpc, te.obs, act);
      for (int i = 0; i < A; i++) unit[i] = mpc.unit[i];
      if (run.step % p.log_every == 0) mpc_log_plan(&mpc, &run, &run.algo);
    }
    EnvStep st;
    if (train_env_step(&te, &run, act, &st)) planner_reset(&mpc.planner);

    // the ensemble learns from every valid transition (actions stored in the unit box)
    if (m.kind == MPC_MODEL_ENSEMBLE) {
      if (!st.diverged)
        replay_add(&data, te.prev_obs, unit, st.reward, te.next_obs, st.terminated, st.truncated);
      if (run.step % p.train_every == 0 && data.size > 1) mpc_model_train_logged(&m, &data, &run, model_log, fit_log);
    }
    run_progress(&run);
  }

  printf("%s: evaluation return %.6g after %lld steps (%s)\n", cli.prog, ret,
         (long long)run.step, cli.out);
  run_finish(&run);
  free(act), free(unit);
  mpc_free(&mpc);
  mpc_free(&eval_mpc);
  mpc_model_free(&m);
  replay_free(&data);
  train_env_free(&te);
  env_free(env);
  env_free(eval_env);
  env_options_free(&eo);
  cli_free(&cli);
  return EXIT_OK;
}
