// Tests of the environment library over every registered task: making, determinism, state
// replay, time limit, divergence, the planning hooks, and bad input.
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "env.h"
#include "rng.h"
#include "task.h"

static char err[4096];

typedef struct {
  int task;   // index in the registry (parameters must not hold pointers)
} TaskCase;

// one case per registered task
static struct criterion_test_params every_task(void) {
  static TaskCase cases[32];
  int n = env_task_count();
  for (int i = 0; i < n; i++) cases[i].task = i;
  return cr_make_param_array(TaskCase, cases, (size_t)n);
}

ParameterizedTestParameters(env, make) { return every_task(); }

// make task i at its defaults; the options live as long as the test
static Env *make(int i, EnvOptions *eo) {
  const char *name = env_task_name(env_task_at(i));
  cr_assert_eq(env_options_default(name, eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s: %s", name, err);
  return e;
}

static void random_action(const Env *e, Rng *r, double *a) {
  for (int i = 0; i < e->act_dim; i++) {
    // tasks with unbounded actions get actions of unit scale
    double lo = isfinite(e->act_lo[i]) ? e->act_lo[i] : -1,
           hi = isfinite(e->act_hi[i]) ? e->act_hi[i] : 1;
    a[i] = rng_uniform_range(r, lo, hi);
  }
}

ParameterizedTest(TaskCase *c, env, make) {
  EnvOptions eo;
  Env *e = make(c->task, &eo);
  cr_expect_gt(e->obs_dim, 0);
  cr_expect_gt(e->act_dim, 0);
  cr_expect_gt(e->dt, 0);
  cr_expect_gt(e->max_steps, 0);
  for (int i = 0; i < e->act_dim; i++)
    cr_expect(e->act_lo[i] < e->act_hi[i], "%s: bound %d", env_task_name(e->task), i);
  cr_expect_gt(env_total_mass(e), 0);
  cr_expect_eq(e->max_steps, (int)eo.max_steps);
  env_free(e);
  env_options_free(&eo);
}

// one episode segment of n random steps from a reset with `seed`; obs and rewards recorded
static void run(Env *e, uint32_t seed, int n, double *obs_log, double *rew_log) {
  Rng reset, act;
  rng_init(&reset, seed, RNG_STREAM_RESET);
  rng_init(&act, seed, RNG_STREAM_EXPLORE);
  double a[64];
  env_reset(e, &reset, obs_log);
  for (int t = 0; t < n; t++) {
    EnvStep st;
    random_action(e, &act, a);
    env_step(e, a, obs_log + (size_t)(t + 1) * e->obs_dim, &st);
    rew_log[t] = st.reward;
    if (st.terminated || st.truncated) {
      // keep going from a fresh episode so the segment has n steps
      env_reset(e, &reset, obs_log + (size_t)(t + 1) * e->obs_dim);
    }
  }
}

ParameterizedTestParameters(env, deterministic) { return every_task(); }

// the same seed gives the same trajectory in two separate environments; another seed differs
ParameterizedTest(TaskCase *c, env, deterministic) {
  EnvOptions eo;
  Env *a = make(c->task, &eo), *b = make(c->task, &eo);
  int n = 60, O = a->obs_dim;
  double *oa = calloc((size_t)(n + 1) * O, sizeof *oa),
         *ob = calloc((size_t)(n + 1) * O, sizeof *ob);
  double ra[60], rb[60];
  run(a, 7, n, oa, ra);
  run(b, 7, n, ob, rb);
  cr_expect_eq(memcmp(oa, ob, (size_t)(n + 1) * O * sizeof *oa), 0, "%s: observations differ",
               env_task_name(a->task));
  cr_expect_eq(memcmp(ra, rb, sizeof ra), 0, "%s: rewards differ", env_task_name(a->task));
  run(b, 8, n, ob, rb);
  cr_expect_neq(memcmp(oa, ob, (size_t)O * sizeof *oa), 0, "%s: seed 8 starts where seed 7 does",
                env_task_name(a->task));
  free(oa), free(ob);
  env_free(a), env_free(b);
  env_options_free(&eo);
}

ParameterizedTestParameters(env, state_replay) { return every_task(); }

// a state taken mid-episode, restored (in the same and in another environment, and by the fast
// restore of planners), replays the same actions into the same observations and rewards, bit for
// bit
ParameterizedTest(TaskCase *c, env, state_replay) {
  EnvOptions eo;
  Env *e = make(c->task, &eo), *f = make(c->task, &eo);
  int O = e->obs_dim, A = e->act_dim, n = 40;
  Rng reset, act;
  rng_init(&reset, 3, RNG_STREAM_RESET);
  rng_init(&act, 3, RNG_STREAM_EXPLORE);
  double *obs = calloc((size_t)O, sizeof *obs), *o1 = calloc((size_t)n * O, sizeof *o1);
  double *o2 = calloc((size_t)n * O, sizeof *o2), *acts = calloc((size_t)n * A, sizeof *acts);
  double r1[40], r2[40];
  double *s = calloc(env_state_size(e), sizeof *s);
  env_reset(e, &reset, obs);
  // advance a little, so the state is not the reset state
  EnvStep st;
  for (int t = 0; t < 5; t++) {
    random_action(e, &act, acts);
    env_step(e, acts, obs, &st);
  }
  env_get_state(e, s);
  for (int t = 0; t < n; t++) random_action(e, &act, acts + (size_t)t * A);
  int len = n;
  for (int t = 0; t < n; t++) {
    env_step(e, acts + (size_t)t * A, o1 + (size_t)t * O, &st);
    r1[t] = st.reward;
    if (st.terminated || st.truncated) {
      len = t + 1;
      break;
    }
  }
  // replays: set_state in the same env, set_state in another, restore (no recomputation) in it
  Env *targets[3] = {e, f, f};
  for (int k = 0; k < 3; k++) {
    if (k < 2) env_set_state(targets[k], s, obs);
    else env_restore(targets[k], s);
    for (int t = 0; t < len; t++) {
      env_step(targets[k], acts + (size_t)t * A, o2 + (size_t)t * O, &st);
      r2[t] = st.reward;
    }
    cr_expect_eq(memcmp(o1, o2, (size_t)len * O * sizeof *o1), 0,
                 "%s: replay %d: observations differ", env_task_name(e->task), k);
    cr_expect_eq(memcmp(r1, r2, (size_t)len * sizeof *r1), 0, "%s: replay %d: rewards differ",
                 env_task_name(e->task), k);
  }
  free(obs), free(o1), free(o2), free(acts), free(s);
  env_free(e), env_free(f);
  env_options_free(&eo);
}

ParameterizedTestParameters(env, time_limit) { return every_task(); }

// env.max_steps cuts the episode as truncated, exactly at the limit
ParameterizedTest(TaskCase *c, env, time_limit) {
  EnvOptions eo;
  const char *name = env_task_name(env_task_at(c->task));
  const char *sets[] = {"max_steps=7", NULL};
  cr_assert_eq(env_options_set(name, sets, &eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(&eo, err, sizeof err);
  cr_assert_not_null(e, "%s", err);
  double obs[512] = {0}, a[64] = {0};
  Rng r;
  rng_init(&r, 1, RNG_STREAM_RESET);
  env_reset(e, &r, obs);
  EnvStep st = {0};
  int t = 0;
  // the zero action keeps every task alive for a few steps
  while (!st.truncated && !st.terminated && t < 100) env_step(e, a, obs, &st), t++;
  cr_expect(st.terminated || (st.truncated && t == 7), "%s: ended at step %d", name, t);
  env_free(e);
  env_options_free(&eo);
}

ParameterizedTestParameters(env, divergence) { return every_task(); }

// an absurd velocity makes MuJoCo reset its state; the step reports it and writes no log file
ParameterizedTest(TaskCase *c, env, divergence) {
  char dir[] = "/tmp/mb_env_XXXXXX", cwd[4096];
  cr_assert(mkdtemp(dir));
  cr_assert(getcwd(cwd, sizeof cwd));
  cr_assert_eq(chdir(dir), 0);
  EnvOptions eo;
  Env *e = make(c->task, &eo);
  double obs[512], a[64] = {0};
  Rng r;
  rng_init(&r, 1, RNG_STREAM_RESET);
  env_reset(e, &r, obs);
  double *s = calloc(env_state_size(e), sizeof *s);
  env_get_state(e, s);
  s[1 + e->m->nq] = 1e20;   // qvel[0]
  env_set_state(e, s, obs);
  EnvStep st;
  env_step(e, a, obs, &st);
  cr_expect(st.diverged, "%s: divergence not reported", env_task_name(e->task));
  cr_expect(st.truncated && !st.terminated && st.reward == 0, "%s", env_task_name(e->task));
  cr_expect_neq(e->divergence[0], 0, "a reason is given");
  cr_expect_neq(access("MUJOCO_LOG.TXT", F_OK), 0, "MuJoCo wrote its log file");
  // a reset starts cleanly again
  env_reset(e, &r, obs);
  env_step(e, a, obs, &st);
  cr_expect(!st.diverged);
  free(s);
  env_free(e);
  env_options_free(&eo);
  cr_assert_eq(chdir(cwd), 0);
  rmdir(dir);
}

ParameterizedTestParameters(env, planning_hooks) { return every_task(); }

// where a task offers them, is_terminal and reward agree with env_step along random episodes
ParameterizedTest(TaskCase *c, env, planning_hooks) {
  EnvOptions eo;
  Env *e = make(c->task, &eo);
  int O = e->obs_dim;
  double *obs = calloc((size_t)O, sizeof *obs), *next = calloc((size_t)O, sizeof *next), a[64];
  Rng reset, act;
  rng_init(&reset, 5, RNG_STREAM_RESET);
  rng_init(&act, 5, RNG_STREAM_EXPLORE);
  int checked = 0;
  for (int ep = 0; ep < 5; ep++) {
    env_reset(e, &reset, obs);
    cr_expect(!env_is_terminal(e, obs), "%s: a reset state is terminal", env_task_name(e->task));
    for (int t = 0; t < 300; t++) {
      EnvStep st;
      random_action(e, &act, a);
      env_step(e, a, next, &st);
      if (st.diverged) break;
      cr_expect_eq(env_is_terminal(e, next), st.terminated, "%s: step %d", env_task_name(e->task),
                   t);
      if (env_has_reward(e)) {
        double r = env_reward(e, obs, a, next);
        cr_expect(fabs(r - st.reward) <= 1e-9 * fmax(1, fabs(st.reward)),
                  "%s: reward %.17g vs %.17g", env_task_name(e->task), r, st.reward);
      }
      checked++;
      memcpy(obs, next, (size_t)O * sizeof *obs);
      if (st.terminated || st.truncated) break;
    }
  }
  cr_expect_gt(checked, 0);
  free(obs), free(next);
  env_free(e);
  env_options_free(&eo);
}

// ---- bad input ----

#define HAS(s) cr_assert(strstr(err, s), "message '%s' lacks '%s'", err, s)

Test(env, unknown_task) {
  EnvOptions eo;
  cr_assert_eq(env_options_default("Hoper", &eo, err, sizeof err), -1);
  HAS("unknown task 'Hoper' (did you mean Hopper?)");
  HAS("tasks: HalfCheetah, Hopper");
  cr_assert_eq(env_options_default("halfcheetah", &eo, err, sizeof err), -1);
  HAS("did you mean HalfCheetah?");
}

Test(env, bad_options) {
  Config cfg;
  EnvOptions eo;
  cfg_init(&cfg);
  cr_assert_eq(env_options_register(&cfg, "InvertedPendulum", &eo, err, sizeof err), 0);
  cr_assert_eq(cfg_push(&cfg, "env.max_steps", "0", CFG_SET, "--set", err, sizeof err), 0);
  cr_assert_eq(cfg_apply(&cfg, 1, err, sizeof err), -1);
  HAS("--set: env.max_steps: expected an integer in [1, 1e9], got '0'");
  cr_assert_eq(cfg_push(&cfg, "env.no_such_option", "1", CFG_SET, "--set", err, sizeof err), 0);
  cr_assert_eq(cfg_apply(&cfg, 1, err, sizeof err), -1);
  HAS("unknown key 'no_such_option' in [env]");
  env_options_free(&eo);
  cfg_free(&cfg);
}

static Env *make_with_model(const char *task, const char *model) {
  static EnvOptions eo;
  char set[256];
  snprintf(set, sizeof set, "env.model=%s", model);
  const char *sets[] = {set, NULL};
  cr_assert_eq(env_options_set(task, sets, &eo, err, sizeof err), 0, "%s", err);
  return env_make(&eo, err, sizeof err);
}

// settings that are not options are refused with the key and the range
Test(env, options_set_checks_settings) {
  EnvOptions eo;
  const char *bad[] = {"max_steps=0", NULL};
  cr_assert_eq(env_options_set("Hopper", bad, &eo, err, sizeof err), -1);
  HAS("env.max_steps: expected an integer in [1, 1e9], got '0'");
  const char *nokey[] = {"=3", NULL};
  cr_assert_eq(env_options_set("Hopper", nokey, &eo, err, sizeof err), -1);
  HAS("expected KEY=VALUE");
  const char *good[] = {"env.max_steps=5", "ctrl_cost_weight=0.5", NULL};
  cr_assert_eq(env_options_set("Hopper", good, &eo, err, sizeof err), 0, "%s", err);
  cr_assert_eq(eo.max_steps, 5);
  env_options_free(&eo);
}

Test(env, bad_model_files) {
  cr_assert_null(make_with_model("Hopper", "/nonexistent/hopper.xml"));
  HAS("env.model /nonexistent/hopper.xml: cannot read: No such file or directory");

  char path[] = "/tmp/mb_model_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  const char *bad = "<mujoco>\n  <worldbody>\n    <body>\n</mujoco>\n";
  cr_assert_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
  close(fd);
  cr_assert_null(make_with_model("Hopper", path));
  HAS(path);
  HAS("cannot load model");

  // a valid model that is not the task's
  FILE *f = fopen(path, "w");
  fputs("<mujoco><worldbody><body><joint name='j' type='hinge'/><geom size='0.1'/></body>"
        "</worldbody><actuator><motor joint='j' ctrlrange='-1 1'/></actuator></mujoco>", f);
  fclose(f);
  Env *e = make_with_model("Hopper", path);
  cr_assert_null(e, "a one-joint model was accepted for Hopper");
  HAS(path);
  unlink(path);
}
