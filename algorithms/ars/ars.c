// ars: augmented random search for linear policies (Mania, Guy & Recht 2018, "Simple random
// search provides a competitive approach to reinforcement learning", Algorithm 2).
//
// Each iteration perturbs the linear policy M in N random directions, runs the 2N perturbed
// policies for one episode each (on --threads workers), and steps M along the return differences
// of the best b directions; V2 also normalises observations by the running mean and std of every
// state the training rollouts acted on. The algorithm itself is ars_core.c (the DeMo Layer links
// it); this file is its loop on the harness.
//
// Variants: V2 is the default; V1 is --set ars.normalize=false; the "-t" variants add
// --set ars.top=B with B < ars.directions. The defaults are the official code's (8 directions,
// all used, alpha 0.02, nu 0.03); per-task settings of the paper are in the experiments.
//
// Choices where the paper or the official code (modestyachts/ARS) leaves room, or that differ:
//   - the statistics are frozen during an iteration and updated after it from every state its 2N
//     rollouts acted on, never from evaluation episodes (as the paper and the official filter);
//     a dimension whose variance is below 1e-16 is centred, not scaled (norm_std; the official
//     filter zeroes dimensions with std < 1e-7 and divides by std + 1e-8);
//   - both rollouts of a direction start from the same state (common random numbers; the
//     official code resets every rollout independently);
//   - exactly the top b directions, ties to the lower index (the official code keeps all at or
//     above a percentile, which can be more than b when returns tie); no step when sigma_R = 0;
//   - the reward shift (ars.shift, default the task's env.healthy_reward: 1 on Hopper, Walker2d
//     and Ant, 5 on Humanoid, 0 elsewhere, as the official runs) applies to training rollouts
//     only; train.csv and evaluations report the task's returns;
//   - rollouts run to the task's time limit (env.max_steps); evaluation is the harness protocol
//     (run.eval_episodes fixed start states every run.eval_every steps; the official code uses
//     100 rollouts every 10 iterations);
//   - actions are not clipped unless ars.clip (as the official code: MuJoCo clamps ctrl-limited
//     actuators, and control costs see the action as computed).
// `step` counts environment steps of training rollouts; the last iteration may pass run.steps.
//
// Output in --out: train.csv  step,iteration,return_mean,return_max,return_std,length_mean,
//                             sigma_r[,beta],wall_s
//                             one row per iteration: task returns (no shift) of its 2N rollouts
//                             (std over them, population), mean length, and sigma_R of its update
//                             (and with ars.optimism=ogd the beta of its step)
//                  eval.csv   step,eval,episode,return,length,wall_s (episodes.h)
//                  policy.txt the final policy (format in linpolicy.h), for
//                             `mbenv rollout TASK --policy policy.txt` and the DeMo Layer
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ars_core.h"
#include "cli.h"
#include "env.h"
#include "episodes.h"
#include "fail.h"
#include "run.h"

// ars's defaults for the harness: the budgets of Mania et al.'s smaller tasks (the [ars] table in
// ars_core.h holds the method's)
static const CfgDefault ARS_DEFAULTS[] = {
    {"run.steps", "1000000"},
    {"run.eval_every", "50000"},
    {"run.checkpoint_every", "100000"},
};

// ---- HARNESS ----

// the unperturbed policy with the current statistics; evaluation never updates them
static double log_eval(Run *run, Env *env, Ars *a) {
  return episodes_evaluate(run, &run->eval, env, linpolicy_fn, &a->policy);
}

int main(int argc, char **argv) {
  Cli cli;
  ArsParams p;
  ArsExecParams ex;
  char err[4400], buf[64];
  cli_init(&cli, argv[0], "Augmented random search: linear policies (Mania et al. 2018)",
           CLI_ENV);
  ars_params_register(&cli.cfg, "ars", &p);
  ars_exec_register_cores(&cli.cfg, &ex);
  CFG_SET_DEFAULTS(&cli.cfg, ARS_DEFAULTS);
  cli_flag(&cli, "--threads", "exec.threads", "N");
  cli_parse(&cli, argc, argv);

  // the task's options, and what the parameter tables cannot check by themselves, before
  // anything is written; the resolved shift goes into the manifest's [meta]
  EnvOptions eo;
  double shift;
  if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err) ||
      cfg_apply(&cli.cfg, 0, err, sizeof err) ||
      ars_shift_value(p.shift, &cli.cfg, &shift, err, sizeof err) ||
      ars_params_check(&p, err, sizeof err))
    fail_usage("%s", err);
  snprintf(buf, sizeof buf, "%.17g", shift);
  cli_meta(&cli, "ars_shift", buf);
  cli_meta(&cli, "mujoco", env_mujoco_version());
  cli_finish(&cli);

  // the evaluation environment, the rollout workers and the trainer, all from run.seed
  Env *env = env_make_for_run(&cli, &eo);
  ArsPool *pool = ars_pool_make(&eo, (int)ex.threads, err, sizeof err);
  if (!pool) fail_run("%s", err);
  Ars ars;
  if (ars_make(&ars, &p, shift, env_task_name(env->task), env->obs_dim, env->act_dim,
               env->act_lo, env->act_hi, (uint32_t)cli.run.seed, err, sizeof err))
    fail_run("%s", err);

  Run run;
  double ret = NAN;
  CkptReader *ck = run_start(&run, &cli, ars_log_header(&p), EVAL_CSV_HEADER, NULL);
  if (ck) {
    if (ars_load(&ars, ck, err, sizeof err)) fail_run("cannot resume: %s", err);
    ckpt_close(ck);
  } else if (run_eval_due(&run)) {
    ret = log_eval(&run, env, &ars);   // step 0: M = 0
  }

  while (run.step < cli.run.steps) {
    ArsIterLog lg = ars_iterate(&ars, pool);
    run.step += lg.steps;
    ars_log_row(&run.train, run.step, &ars, &lg, run_wall(&run));
    if (lg.diverged)
      fail_warn("iteration %lld: %d of %lld rollouts diverged (their returns count as they are)",
                (long long)ars.iteration - 1, lg.diverged, (long long)(2 * ars.n));
    if (run_eval_due(&run)) ret = log_eval(&run, env, &ars);
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      ars_save(&ars, w);
      run_checkpoint_commit(&run, w);
    }
    run_progress(&run);
  }

  char path[4200];
  cli_path(&cli, "policy.txt", path, sizeof path);
  if (linpolicy_save(ars_policy(&ars), path, err, sizeof err)) fail_run("%s", err);
  printf("%s: final evaluation return %.6g after %lld steps, %lld iterations (%s)\n", cli.prog,
         ret, (long long)run.step, (long long)ars.iteration, cli.out);
  run_finish(&run);
  ars_free(&ars);
  ars_pool_free(pool);
  env_free(env);
  env_options_free(&eo);
  cli_free(&cli);
  return EXIT_OK;
}
