// demorl: DeMoRL, soft actor-critic in the outer loop and DMD-MPC on a learned model in the inner
// loop (Samineni, "Dynamic Mirror Descent based Model Predictive Control for Accelerating Robot
// Learning", arXiv 2110.12239; Mishra, Samineni et al., ICRA 2022, arXiv 2112.02999), as the
// authors' released code runs it (a LOOP-style controller: paper-spec sections 2 and 7):
//
//   for each environment step:
//     act: the MPC (mpc.h) plans on the probabilistic ensemble from the observation: N Gaussian
//       sequences plus M = floor(planner.mixture N) sequences of SAC's actor (tanh(mu)) rolled
//       through the model, each scored by its predicted rewards with SAC's critic as terminal
//       value (Q1(s_{H-1}, a_{H-1}) as the authors' code, or min(Q1, Q2), or none), I DMD
//       iterations; the action comes from a sequence drawn by weight (uniform-random actions
//       first instead with demorl.random_actions, as LOOP)
//     step the task; every valid transition goes to the one replay buffer that SAC and the
//       model both learn from
//     every demorl.model_every steps (K): train the ensemble on the whole buffer (warm start,
//       early stopping)
//     after sac.random_steps steps, every sac.update_every steps: sac.gradient_steps SAC updates
//       on minibatches of the buffer (the authors: 50 every 50 after 1000, one update per step)
//     at step 0, every run.eval_every steps and at the end: evaluate SAC's actor (tanh(mu); the
//       headline, as the authors' code) in eval.csv and the MPC (weighted mean, on the same start
//       states) in eval_mpc.csv
//
// Presets (shipped config files, algorithms/demorl/*.ini; every difference is a parameter):
//   code.ini   what the released code does, and the program's defaults: exponential weights
//              kappa 1, gamma_mean 1, gamma_var 0.9, no planning termination, 5 actor sequences
//              of 105 candidates, H 3, P 4, I 5, the MPC acting from step 0
//   paper.ini  the method as the papers describe it: elite fractions (K = 10 of 105, the
//              repository's unused CEM configuration), gamma_mean = gamma_var = 0.9
// SAC here is the authors' Spinning-Up port: Adam 1e-3 everywhere, tau 0.005 (Polyak 0.995),
// 256x256 (paper-spec Q5; the repository's default is 32x32), batch 256.
//
// Options beyond the released code (flags, off by default):
//   planner.terminate=true  mask predicted rewards and value after a predicted terminal state
//   demorl.model_data=true  the MBPO / MoPAC reading of the papers' diagram: the H model
//                           transitions of the sequence acted on go to a second buffer, and each
//                           SAC minibatch takes demorl.real_ratio of its rows from the real one
//   demorl.random_actions   uniform-random actions before learning starts (LOOP)
//
// Differences from the released code: evaluation uses a separate copy of the task (the code
// reuses the training environment) with run.eval_episodes episodes from fixed start states; the
// SAC update rounds follow the sac program's schedule (after step t when t > sac.random_steps and
// t is a multiple of sac.update_every; the code's is after step t + 1 for t >= 1000 and t a
// multiple of 50, one step earlier); time-limit truncations bootstrap as in the code.
//
// Output in --out: train.csv, eval.csv (the actor), eval_mpc.csv (the MPC; demorl.mpc_eval_episodes
// per evaluation point, same format), algo.csv (SAC's updates, as the sac program), and
//   plan.csv   step,best_return,mean_return,weight_entropy,solve_ms,wall_s
//              every demorl.log_every control steps: the planner's diagnostics (as dmd_mpc)
//   model.csv  step,epochs,train_loss,holdout_mse,stopped_early,wall_s   one row per training
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
#include "sac_agent.h"

enum { VALUE_Q1, VALUE_MIN, VALUE_NONE };   // order of demorl.value

#define DEMORL_PARAMS(X)                                                                          \
  X(INT, model_every, "250", "[1, 1e9]", "K: environment steps between trainings of the model")  \
  X(CHOICE, value, "q1", "q1|min|none", "terminal value of the plans: SAC's Q1, min(Q1, Q2), none") \
  X(BOOL, random_actions, "false", "", "uniform-random actions until sac.random_steps (LOOP)")   \
  X(BOOL, model_data, "false", "", "the acted sequence's model transitions also train SAC (MBPO)") \
  X(REAL, real_ratio, "0.1", "[0, 1]", "model_data: share of each SAC minibatch from real data") \
  X(INT, model_buffer_size, "1e5", "[1, 1e9]", "model_data: model transitions kept")             \
  X(INT, mpc_eval_episodes, "1", "[0, 10000]", "MPC episodes per evaluation point (0: none)")   \
  X(INT, log_every, "1", "[1, 1e9]", "control steps between rows of plan.csv")
PARAMS_DEFINE(DemorlParams, demorl_params_register, DEMORL_PARAMS)

// demorl's defaults for the tables it shares: the authors' released code (UtkarshMishra04/
// DMD-MPC-RL at bbc2744; paper-spec 2.3). The planner's table already holds their controller
// (H 3, N 100, M = 0.05 N = 5 actor sequences, P 4, I 5, exponential weights with kappa 1,
// gamma_mean 1, gamma_var 0.9, variance reset every step, no termination: their termination
// function is constant False, a sequence drawn by weight) and the ensemble's table their model
// (7 members, 5 elites, 4 x 200 Swish, Adam 1e-3); SAC is their Spinning-Up port:
static const CfgDefault DEMORL_DEFAULTS[] = {
    {"run.env", "HalfCheetah"},
    {"sac.actor_lr", "1e-3"},     // Adam 1e-3 everywhere
    {"sac.critic_lr", "1e-3"},
    {"sac.alpha_lr", "1e-3"},
    {"sac.random_steps", "1000"}, // SAC updates start after 1000 steps (the MPC acts from 0)
    {"sac.update_every", "50"},   // 50 updates every 50 steps: one per step
    {"sac.gradient_steps", "50"},
    {"sac.log_every", "50"},      // one algo.csv row per round
};
// (The rest of [sac] is SB3's and theirs alike: 256 x 256 as LOOP (their repository's default
// is 32 x 32; paper-spec Q5), tau 0.005 (Polyak 0.995), gamma 0.99, batch 256, replay 1e6.)


typedef struct {
  SacLearner sac;           // SAC with the one replay buffer: SAC and the model learn from it
  Replay imagined;          // demorl.model_data: the model's transitions of the acted sequences
} Demorl;

// ---- ALGO LOGIC ----

// one SAC update; with model data, real_ratio of the rows come from the real buffer
static SacStats learn(Demorl *d, const SacParams *sp, const DemorlParams *p) {
  SacLearner *s = &d->sac;
  int B = (int)sp->batch_size, real = B;
  if (p->model_data && d->imagined.size > 0) real = (int)lround(p->real_ratio * B);
  if (real > 0) replay_sample(&s->replay, &s->update, real, &s->batch);
  if (real < B) {
    ReplayBatch rest = replay_batch_tail(&s->batch, real, s->agent.obs_dim, s->agent.act_dim);
    replay_sample(&d->imagined, &s->update, B - real, &rest);
  }
  SacStats st;
  sac_agent_update(&s->agent, &s->batch, &s->update, &st);
  return st;
}

// ---- HARNESS ----

static void save(const Demorl *d, const Mpc *c, const TrainEnv *te, CkptWriter *w) {
  sac_learner_save(&d->sac, w);
  if (d->imagined.cap) replay_save(&d->imagined, w, "imagined");
  mpc_save(c, w);
  mpc_model_save(c->model, w);
  train_env_save(te, w);
}

static void load(Demorl *d, Mpc *c, TrainEnv *te, CkptReader *r) {
  char err[4400];
  if (sac_learner_load(&d->sac, r, err, sizeof err) ||
      (d->imagined.cap && replay_load(&d->imagined, r, "imagined", err, sizeof err)) ||
      mpc_load(c, r, err, sizeof err) ||
      mpc_model_load(c->model, r, err, sizeof err) || train_env_load(te, r, err, sizeof err))
    fail_run("cannot resume: %s", err);
}

// the actor as the planner's prior and the critic as its terminal value
static void wire(Mpc *c, SacAgent *agent, int value) {
  c->prior = sac_prior_fn;
  c->prior_ctx = agent;
  c->value = value == VALUE_Q1 ? sac_q1_fn : value == VALUE_MIN ? sac_qmin_fn : NULL;
  c->value_ctx = agent;
}

int main(int argc, char **argv) {
  Cli cli;
  DemorlParams p;
  SacParams sp;
  PlannerParams pp;
  EnsembleParams ep;
  WeightsParams wp;
  EnvOptions eo;
  char err[4400];
  cli_init(&cli, argv[0], "DeMoRL: SAC with DMD-MPC on a learned model acting", CLI_ENV);
  demorl_params_register(&cli.cfg, "demorl", &p);
  sac_params_register(&cli.cfg, "sac", &sp);
  planner_params_register(&cli.cfg, "planner", &pp);
  ensemble_params_register(&cli.cfg, "ensemble", &ep);
  weights_params_register(&cli.cfg, "weights", &wp);
  CFG_SET_DEFAULTS(&cli.cfg, DEMORL_DEFAULTS);
  cli_parse(&cli, argc, argv);
  if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err)) fail_usage("%s", err);
  if (sac_params_check(&sp, err, sizeof err) || planner_params_check(&pp, err, sizeof err) ||
      ensemble_params_check(&ep, err, sizeof err))
    fail_usage("%s", err);
  if (pp.prior_mean) fail_usage("planner.prior_mean: DeMoRL's actor sequences are candidates only");
  cli_meta(&cli, "mujoco", env_mujoco_version());
  cli_finish(&cli);

  // the task and its evaluation copy
  Env *env = env_make_for_run(&cli, &eo), *eval_env = env_make_for_run(&cli, &eo);
  int O = env->obs_dim, A = env->act_dim;
  uint32_t seed = (uint32_t)cli.run.seed;

  // SAC, the buffers and the streams, all from run.seed
  Demorl d = {0};
  if (sac_learner_init(&d.sac, &sp, O, A, seed, err, sizeof err) ||
      (p.model_data &&
       replay_init(&d.imagined, (size_t)p.model_buffer_size, O, A, err, sizeof err)))
    fail_run("%s", err);

  // the learned model and the controllers on it: the acting one and the evaluated one
  MpcModel m;
  Mpc mpc, eval_mpc;
  if (mpc_model_init(&m, MPC_MODEL_ENSEMBLE, &eo, env, &ep, seed, err, sizeof err))
    fail_run("%s", err);
  // the actor (sampled) is the policy a weighting of the model's fit reads
  if (mpc_model_weights(&m, (int)ep.weights, &wp, (size_t)sp.buffer_size, sac_sample_fn,
                        &d.sac.agent, "", seed, err, sizeof err))
    fail_usage("%s", err);
  mpc_init_pair(&mpc, &eval_mpc, &pp, &m, env, eval_env);
  wire(&mpc, &d.sac.agent, (int)p.value);
  wire(&eval_mpc, &d.sac.agent, (int)p.value);
  rng_init(&mpc.rng, seed, RNG_STREAM_PLANNER);
  SacGreedy actor = {&d.sac.agent, eval_env};
  TrainEnv te;
  train_env_init(&te, env, seed);
  double *unit = xmalloc((size_t)A, sizeof *unit, "action");   // (A) in [-1, 1]
  double *act = xmalloc((size_t)A, sizeof *act, "action");     // (A) in the task's bounds

  Run run;
  double ret = NAN;
  char algo_header[1600];
  sac_algo_header(&sp, algo_header, sizeof algo_header);
  CkptReader *ck = run_start(&run, &cli, TRAIN_CSV_HEADER, EVAL_CSV_HEADER, algo_header);
  CsvLog *eval_log = run_open_log(&run, ck, "eval_mpc.csv", EVAL_CSV_HEADER);
  CsvLog *plan_log = run_open_log(&run, ck, "plan.csv", MPC_PLAN_HEADER);
  CsvLog *model_log = run_open_log(&run, ck, "model.csv", MPC_MODEL_HEADER);
  CsvLog *fit_log = run_open_log(&run, ck, "fit.csv", MPC_FIT_HEADER);
  if (ck) {
    load(&d, &mpc, &te, ck);
    ckpt_close(ck);
  } else {
    planner_reset(&mpc.planner);
  }

  for (;;) {
    if (run_eval_due(&run)) {
      ret = episodes_evaluate(&run, &run.eval, eval_env, sac_greedy_policy, &actor);
      // the MPC on the same start states, with a planning stream of this evaluation's own
      rng_init_sub(&eval_mpc.rng, seed, RNG_STREAM_PLANNER, (uint64_t)run.eval_index);
      if (p.mpc_eval_episodes > 0)
        episodes_evaluate_at(&run, eval_log, run.eval_index - 1, p.mpc_eval_episodes, eval_env,
                             mpc_policy, &eval_mpc);
    }
    if (run.step >= cli.run.steps) break;
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      save(&d, &mpc, &te, w);
      run_checkpoint_commit(&run, w);
    }

    // act: the MPC (uniform-random first if asked)
    if (p.random_actions && run.step < sp.random_steps) {
      for (int i = 0; i < A; i++) unit[i] = (float)rng_uniform_range(&d.sac.explore, -1.0, 1.0);
    } else {
      mpc_act(&mpc, te.obs, act);
      for (int i = 0; i < A; i++) unit[i] = mpc.unit[i];
      if (run.step % p.log_every == 0) mpc_log_plan(&mpc, &run, plan_log);
      if (p.model_data) mpc_imagine(&mpc, te.obs, &d.imagined);
    }
    action_from_unit(env, unit, act);
    EnvStep st;
    if (train_env_step(&te, &run, act, &st)) planner_reset(&mpc.planner);
    if (!st.diverged)   // not valid physics: neither SAC nor the model learns from it
      replay_add(&d.sac.replay, te.prev_obs, unit, st.reward, te.next_obs, st.terminated,
                 st.truncated);

    // learn: the model every K steps, SAC on its schedule
    if (run.step % p.model_every == 0 && d.sac.replay.size > 1)
      mpc_model_train_logged(&m, &d.sac.replay, &run, model_log, fit_log);
    if (run.step > sp.random_steps && run.step % sp.update_every == 0 && d.sac.replay.size > 0)
      for (int64_t k = 0; k < sp.gradient_steps; k++) {
        SacStats stats = learn(&d, &sp, &p);
        sac_log_update(&d.sac.log, &run.algo, &d.sac.agent, &stats, sp.log_every, run.step,
                       run_wall(&run));
      }
    run_progress(&run);
  }

  printf("%s: actor evaluation return %.6g after %lld steps (%s)\n", cli.prog, ret,
         (long long)run.step, cli.out);
  run_finish(&run);
  free(unit), free(act);
  train_env_free(&te);
  mpc_free(&mpc);
  mpc_free(&eval_mpc);
  mpc_model_free(&m);
  sac_learner_free(&d.sac);
  replay_free(&d.imagined);
  env_free(env);
  env_free(eval_env);
  env_options_free(&eo);
  cli_free(&cli);
  return EXIT_OK;
}
