// Tests of episodes: whole episodes, the evaluation protocol, the training environment's
// bookkeeping and its resume mid-episode.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"
#include "episodes.h"
#include "run.h"

static char dir[64], err[4096];
static Cli cli;
static Run run;

static void cleanup(void) {
  char cmd[128];
  if (!dir[0] || chdir("/")) return;
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
  dir[0] = 0;
}

// a run directory with the harness of a program `prog --env TASK --eval-episodes 3`
static void start(const char *task) {
  strcpy(dir, "/tmp/mb_ep_XXXXXX");
  cr_assert(mkdtemp(dir));
  cr_assert_eq(chdir(dir), 0);
  char env[64], *argv[] = {"prog", "--env", env, "--eval-episodes", "3", "--out", "r", "--quiet", NULL};
  snprintf(env, sizeof env, "%s", task);
  cli_init(&cli, argv[0], "test", CLI_ENV);
  cli_parse(&cli, 8, argv);
  cli_finish(&cli);
  cr_assert_null(run_start(&run, &cli, TRAIN_CSV_HEADER, EVAL_CSV_HEADER, NULL));
}

static Env *make(const char *task, EnvOptions *eo) {
  cr_assert_eq(env_options_default(task, eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s", err);
  return e;
}

static void zero_policy(void *ctx, const double *obs, double *act) {
  const Env *e = ctx;
  (void)obs;
  memset(act, 0, (size_t)e->act_dim * sizeof *act);
}

// a deterministic policy that depends on the observation
static void linear_policy(void *ctx, const double *obs, double *act) {
  const Env *e = ctx;
  for (int i = 0; i < e->act_dim; i++) act[i] = 0.3 * sin(obs[i % e->obs_dim] + i);
}

TestSuite(episodes, .fini = cleanup);

Test(episodes, whole_episode) {
  EnvOptions eo;
  Env *e = make("HalfCheetah", &eo);
  Rng r;
  rng_init(&r, 1, RNG_STREAM_RESET);
  Episode ep = episode_run(e, &r, zero_policy, e);
  cr_assert_eq(ep.len, 1000);
  cr_assert(ep.truncated && !ep.terminated && !ep.diverged);
  // InvertedPendulum with zero force falls: terminated before the limit
  Env *p = make("InvertedPendulum", &eo);
  ep = episode_run(p, &r, zero_policy, p);
  cr_assert(ep.terminated && ep.len < 1000, "length %d", ep.len);
  cr_assert_eq(ep.ret, ep.len, "reward 1 per step");
  env_free(e), env_free(p);
}

// every evaluation sees the same start states: episode j from substream j of the eval stream
Test(episodes, evaluation_protocol) {
  start("Hopper");
  EnvOptions eo;
  Env *e = make("Hopper", &eo);
  double m1 = episodes_evaluate(&run, &run.eval, e, linear_policy, e);
  run.step = 10;
  double m2 = episodes_evaluate(&run, &run.eval, e, linear_policy, e);
  cr_assert_eq(m1, m2, "the same policy scores the same at every evaluation");
  cr_assert_eq(run.eval_index, 2);
  cr_assert_eq(run.eval.rows, 6);
  // episode 1 alone, from its substream
  Rng r;
  rng_init_sub(&r, 1, RNG_STREAM_EVAL, 1);
  Episode ep1 = episode_run(e, &r, linear_policy, e);
  run_finish(&run);
  FILE *f = fopen("r/eval.csv", "r");
  char line[256];
  cr_assert(fgets(line, sizeof line, f));
  cr_assert_str_eq(line, EVAL_CSV_HEADER "\n");
  long long step, eval, episode;
  double ret, total = 0;
  int len, rows = 0;
  while (fscanf(f, "%lld,%lld,%lld,%lf,%d,%*f\n", &step, &eval, &episode, &ret, &len) == 5) {
    cr_assert_eq(episode, rows % 3);
    cr_assert_eq(eval, rows / 3);
    cr_assert_eq(step, rows < 3 ? 0 : 10);
    if (episode == 1) cr_assert(ret == ep1.ret && len == ep1.len, "episode 1: %g vs %g", ret, ep1.ret);
    if (rows < 3) total += ret;
    rows++;
  }
  fclose(f);
  cr_assert_eq(rows, 6);
  cr_assert(fabs(total / 3 - m1) < 1e-9 * fabs(m1));
  env_free(e);
}

Test(episodes, action_from_unit) {
  EnvOptions eo;
  Env *e = make("Humanoid", &eo);   // bounds +-0.4
  double u[17], a[17];
  for (int i = 0; i < 17; i++) u[i] = i % 3 - 1.0;   // -1, 0, 1, ...
  action_from_unit(e, u, a);
  for (int i = 0; i < 17; i++) {
    double want = i % 3 == 0 ? e->act_lo[i] : i % 3 == 1 ? 0.5 * (e->act_lo[i] + e->act_hi[i])
                                                          : e->act_hi[i];
    cr_assert(fabs(a[i] - want) < 1e-15, "%d: %g vs %g", i, a[i], want);
  }
  env_free(e);
}

// steps, rows of train.csv, resets, and the transition buffers
Test(episodes, training_bookkeeping) {
  start("InvertedPendulum");
  EnvOptions eo;
  Env *e = make("InvertedPendulum", &eo);
  TrainEnv t;
  train_env_init(&t, e, 1);
  double act[1] = {0}, before[4], sum = 0;
  EnvStep st;
  int steps = 0, ended = 0;
  while (!ended) {
    memcpy(before, t.obs, sizeof before);
    ended = train_env_step(&t, &run, act, &st);
    steps++;
    sum += st.reward;
    cr_assert_eq(memcmp(t.prev_obs, before, sizeof before), 0, "prev_obs is what the action saw");
    if (!ended) cr_assert_eq(memcmp(t.obs, t.next_obs, sizeof before), 0);
  }
  cr_assert(st.terminated, "zero force lets the pole fall");
  cr_assert_eq(run.step, steps);
  cr_assert_eq(t.episode, 1);
  cr_assert(t.ret == 0 && t.len == 0, "a new episode began");
  cr_assert_neq(memcmp(t.obs, t.next_obs, sizeof before), 0, "obs is the new episode's start");
  cr_assert_eq(run.train.rows, 1);
  run_finish(&run);
  FILE *f = fopen("r/train.csv", "r");
  char line[256];
  cr_assert(fgets(line, sizeof line, f) && fgets(line, sizeof line, f));
  fclose(f);
  long long step, episode;
  double ret;
  int len, term, trunc, div;
  cr_assert_eq(sscanf(line, "%lld,%lld,%lf,%d,%d,%d,%d", &step, &episode, &ret, &len, &term,
                      &trunc, &div), 7);
  cr_assert(step == steps && episode == 0 && ret == sum && len == steps && term && !trunc && !div);
  train_env_free(&t);
  env_free(e);
}

// a training episode saved mid-way continues bit for bit in a new environment
Test(episodes, resume_mid_episode) {
  start("Hopper");
  EnvOptions eo;
  Env *e = make("Hopper", &eo), *f = make("Hopper", &eo);
  TrainEnv t, u;
  train_env_init(&t, e, 9);
  double act[3];
  EnvStep st;
  for (int i = 0; i < 7; i++) {
    for (int k = 0; k < 3; k++) act[k] = 0.2 * sin(i + k);
    train_env_step(&t, &run, act, &st);
  }
  CkptWriter *w = ckpt_begin("ck.bin", "prog", err, sizeof err);
  cr_assert_not_null(w, "%s", err);
  train_env_save(&t, w);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  // the original goes on for 300 steps (through episode ends)
  double obs1[300][11], rew1[300];
  for (int i = 0; i < 300; i++) {
    for (int k = 0; k < 3; k++) act[k] = 0.5 * sin(0.1 * i + k);
    train_env_step(&t, &run, act, &st);
    memcpy(obs1[i], t.next_obs, sizeof obs1[i]);
    rew1[i] = st.reward;
  }
  // a copy from the checkpoint, in another environment, does the same
  train_env_init(&u, f, 12345);
  CkptReader *r = ckpt_open("ck.bin", "prog", err, sizeof err);
  cr_assert_not_null(r, "%s", err);
  cr_assert_eq(train_env_load(&u, r, err, sizeof err), 0, "%s", err);
  ckpt_close(r);
  cr_assert_eq(u.episode, 0);
  cr_assert_eq(u.len, 7);
  for (int i = 0; i < 300; i++) {
    for (int k = 0; k < 3; k++) act[k] = 0.5 * sin(0.1 * i + k);
    train_env_step(&u, &run, act, &st);
    cr_assert_eq(memcmp(obs1[i], u.next_obs, sizeof obs1[i]), 0, "step %d differs", i);
    cr_assert_eq(rew1[i], st.reward);
  }
  cr_assert_eq(t.episode, u.episode);
  train_env_free(&t), train_env_free(&u);
  env_free(e), env_free(f);
  run_finish(&run);
}
