// sac: soft actor-critic on one task.
//
// Haarnoja et al., "Soft Actor-Critic Algorithms and Applications" (arXiv 1812.05905): a
// tanh-squashed Gaussian actor, twin Q critics with Polyak-averaged targets and a clipped double-Q
// target, and an entropy temperature alpha tuned towards the target entropy -|A|. The update
// follows Stable-Baselines3's SAC, the common reference (sac_agent.h has the equations):
//
//   for each environment step:
//     a = U[-1, 1]^A for the first sac.random_steps steps, else a ~ pi(.|s)
//     step the task with a mapped onto its bounds; store (s, a, r, s', terminated, truncated)
//       unless the step diverged (a truncated transition bootstraps, a terminated one does not)
//     after the random steps, every sac.update_every steps: sac.gradient_steps updates, each on
//       sac.batch_size transitions drawn uniformly from the replay
//     at step 0, every run.eval_every steps and at the end: evaluate tanh(mu) on a separate copy
//       of the task (episodes_evaluate: fixed start states)
//
// Defaults are SB3's (256x256 ReLU, Adam 3e-4 for actor, critics and alpha, batch 256, replay 1e6,
// gamma 0.99, tau 0.005, one update per step, alpha starting at 1, log-std in [-20, 2]) except
// 5000 uniform-random steps before learning (CleanRL's learning_starts; SB3's default is 100).
// As in SB3 the first update follows step random_steps + 1, and the replay holds the [-1, 1]
// action. Deviations, all small:
//   - the log-prob's tanh correction is the exact stable form 2 (log 2 - u - softplus(-2u))
//     (Spinning Up's), not SB3's log(1 - tanh(u)^2 + 1e-6);
//   - the actor's mean and log-std come from one output layer of 2A units (two heads on the same
//     last hidden layer, as in SB3, compute the same function with the same initialisation);
//   - each update's policy noise comes from the replay stream, after the minibatch indices;
//   - diverged transitions (simulation failure) are not stored.
//
// Output in --out: train.csv, eval.csv (see episodes.h) and
//   algo.csv  step,update,q_loss,pi_loss,alpha,entropy,q_mean,wall_s
//             every sac.log_every updates: the means over those updates (update = updates done)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "env.h"
#include "episodes.h"
#include "fail.h"
#include "replay.h"
#include "rng.h"
#include "run.h"
#include "sac_agent.h"

// sac's default task (the [sac] table in sac_params.h holds SB3's defaults, see above)
static const CfgDefault SAC_DEFAULTS[] = {
    {"run.env", "HalfCheetah"},
};

// ---- ALGO LOGIC ----

// the action for obs in [-1, 1]^A: uniform during the random steps, then a sample of the policy
static void explore_action(SacLearner *s, const SacParams *p, int64_t step, const double *obs,
                           double *unit) {
  if (step < p->random_steps) {
    // rounded to float first, so the replay holds exactly the action taken
    for (int j = 0; j < s->agent.act_dim; j++)
      unit[j] = (float)rng_uniform_range(&s->explore, -1.0, 1.0);
  } else {
    sac_agent_act1(&s->agent, obs, unit, &s->explore);
  }
}

// one update on a fresh minibatch; returns its statistics
static SacStats learn(SacLearner *s, const SacParams *p) {
  SacStats st;
  replay_sample(&s->replay, &s->update, (int)p->batch_size, &s->batch);
  sac_agent_update(&s->agent, &s->batch, &s->update, &st);
  return st;
}

// ---- HARNESS ----

static void save(const SacLearner *s, const TrainEnv *te, CkptWriter *w) {
  sac_learner_save(s, w);
  train_env_save(te, w);
}

static void load(SacLearner *s, TrainEnv *te, CkptReader *r) {
  char err[4400];
  if (sac_learner_load(s, r, err, sizeof err) || train_env_load(te, r, err, sizeof err))
    fail_run("cannot resume: %s", err);
}

int main(int argc, char **argv) {
  Cli cli;
  SacParams p;
  EnvOptions eo;
  char err[4400];
  cli_init(&cli, argv[0], "Soft actor-critic (SAC) on one task", CLI_ENV);
  sac_params_register(&cli.cfg, "sac", &p);
  CFG_SET_DEFAULTS(&cli.cfg, SAC_DEFAULTS);
  cli_parse(&cli, argc, argv);
  if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err)) fail_usage("%s", err);
  if (sac_params_check(&p, err, sizeof err)) fail_usage("%s", err);
  cli_meta(&cli, "mujoco", env_mujoco_version());
  cli_finish(&cli);

  // the training task and a separate copy for evaluation
  Env *env = env_make_for_run(&cli, &eo), *eval_env = env_make_for_run(&cli, &eo);
  int O = env->obs_dim, A = env->act_dim;
  uint32_t seed = (uint32_t)cli.run.seed;

  // the agent, its replay and its streams, all from run.seed
  SacLearner s;
  if (sac_learner_init(&s, &p, O, A, seed, err, sizeof err)) fail_run("%s", err);
  TrainEnv te;
  train_env_init(&te, env, seed);
  double *unit = xmalloc((size_t)A, sizeof *unit, "action");   // (A) in [-1, 1]
  double *act = xmalloc((size_t)A, sizeof *act, "action");     // (A) in the task's bounds
  SacGreedy greedy = {&s.agent, eval_env};

  Run run;
  double ret = NAN;
  char algo_header[1600];
  sac_algo_header(&p, algo_header, sizeof algo_header);
  CkptReader *ck = run_start(&run, &cli, TRAIN_CSV_HEADER, EVAL_CSV_HEADER, algo_header);
  if (ck) {
    load(&s, &te, ck);
    ckpt_close(ck);
  } else if (run_eval_due(&run)) {
    ret = episodes_evaluate(&run, &run.eval, eval_env, sac_greedy_policy, &greedy);   // step 0
  }

  while (run.step < cli.run.steps) {
    explore_action(&s, &p, run.step, te.obs, unit);
    action_from_unit(env, unit, act);
    EnvStep st;
    train_env_step(&te, &run, act, &st);   // advances run.step
    // a diverged step is not valid physics: keep it out of the replay
    if (!st.diverged)
      replay_add(&s.replay, te.prev_obs, unit, st.reward, te.next_obs, st.terminated,
                 st.truncated);
    if (run.step > p.random_steps && run.step % p.update_every == 0 && s.replay.size > 0)
      for (int64_t k = 0; k < p.gradient_steps; k++) {
        SacStats stats = learn(&s, &p);
        sac_log_update(&s.log, &run.algo, &s.agent, &stats, p.log_every, run.step, run_wall(&run));
      }
    if (run_eval_due(&run))
      ret = episodes_evaluate(&run, &run.eval, eval_env, sac_greedy_policy, &greedy);
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      save(&s, &te, w);
      run_checkpoint_commit(&run, w);
    }
    run_progress(&run);
  }

  printf("%s: evaluation return %.6g after %lld steps (%s)\n", cli.prog, ret,
         (long long)run.step, cli.out);
  run_finish(&run);
  free(unit), free(act);
  train_env_free(&te);
  sac_learner_free(&s);
  env_free(env);
  env_free(eval_env);
  env_options_free(&eo);
  cli_free(&cli);
  return EXIT_OK;
}
