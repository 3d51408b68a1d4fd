// mbenv: list, describe and roll out the suite's tasks.
//
//   mbenv list
//   mbenv info TASK [--set env.KEY=VALUE]...
//   mbenv rollout TASK [--policy zero|random|FILE] [--episodes N] [--seed S] [--csv FILE]
//                      [--set env.KEY=VALUE]... [--config FILE]
//
// A policy FILE is either a linear policy (first line `mirrorbench-linear-policy 1`, as the ars
// program saves it; format in lib/linpolicy.h), which acts on every observation and must have
// been trained on this task with these dimensions, or an action file: one action vector per line
// (numbers separated by spaces or commas; '#' starts a comment), replayed by every episode from a
// reset drawn with the given seed, ending early (truncated) when the file runs out. Episode j
// starts where the programs' evaluation episode j starts (substream j of the seed's evaluation
// stream); its random actions come from substream j of the exploration stream, so any single
// episode can be reproduced alone.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "csvlog.h"
#include "env.h"
#include "fail.h"
#include "infile.h"
#include "linpolicy.h"
#include "rng.h"
#include "stats.h"

#define ROLLOUT_PARAMS(X)                                                                   \
  X(STR, policy, "random", "nonempty",                                                      \
    "zero, random (uniform in the bounds), or a FILE (linear policy or actions)")           \
  X(INT, episodes, "10", "[1, 1000000]", "episodes to run")                                 \
  X(INT, seed, "1", "[0, 4294967295]", "seed of the reset noise and random actions")        \
  X(STR, csv, "", "", "write one row per step to this file")
PARAMS_DEFINE(RolloutParams, rollout_register, ROLLOUT_PARAMS)

static void usage(FILE *f) {
  fprintf(f,
          "Usage: mbenv list\n"
          "       mbenv info TASK [--set env.KEY=VALUE]...\n"
          "       mbenv rollout TASK [--policy zero|random|FILE] [--episodes N] [--seed S]\n"
          "                          [--csv FILE] [--set env.KEY=VALUE]... [--config FILE]\n"
          "List, describe and roll out the tasks of mirrorbench.\n\n"
          "A policy FILE is a linear policy saved by ars (it acts on each observation), or holds\n"
          "one action vector per line, which every episode replays from a reset with the given\n"
          "seed. With --csv, one row per step: episode, t, actions, reward, terminated,\n"
          "truncated, observations. `mbenv info TASK` lists the task's options.\n"
          "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

// ---- the action file ----

typedef struct {
  double *a;   // (n, A)
  int n;
} ActionFile;

static void read_actions(const char *path, int A, ActionFile *af) {
  char err[4400];
  FILE *f = infile_open(path, NULL, err, sizeof err);   // a regular file: a FIFO has no end
  if (!f) fail_usage("--policy %s (expected zero, random or a file)", err);
  char *line = NULL;
  size_t cap = 0;
  int lineno = 0, rows = 0;
  af->a = NULL;
  while (getline(&line, &cap, f) > 0) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    double v[64];
    int k = 0;
    char *s = line, *end;
    for (;;) {
      while (*s && (isspace((unsigned char)*s) || *s == ',')) s++;
      if (!*s) break;
      errno = 0;
      double x = strtod(s, &end);
      if (end == s || errno || !isfinite(x))
        fail_usage("%s:%d: not a number: '%.20s'", path, lineno, s);
      if (k == 64) fail_usage("%s:%d: more than 64 values", path, lineno);
      v[k++] = x;
      s = end;
    }
    if (k == 0) continue;
    if (k != A) fail_usage("%s:%d: %d values; the task's action has %d", path, lineno, k, A);
    af->a = realloc(af->a, (size_t)(rows + 1) * A * sizeof *af->a);
    if (!af->a) fail_run("out of memory reading %s", path);
    memcpy(af->a + (size_t)rows * A, v, (size_t)A * sizeof *v);
    rows++;
  }
  free(line);
  fclose(f);
  if (rows == 0) fail_usage("%s: no actions in the file", path);
  af->n = rows;
}

// ---- commands ----

static void cmd_list(void) {
  for (int i = 0; i < env_task_count(); i++) {
    const EnvTask *t = env_task_at(i);
    printf("%-24s %s\n", env_task_name(t), env_task_summary(t));
  }
}

static void print_bounds(const char *label, const double *x, int n) {
  printf("%-14s", label);
  for (int i = 0; i < n; i++) printf(" %g", x[i]);
  printf("\n");
}

static void cmd_info(const Env *e, const Config *cfg) {
  const mjModel *m = e->m;
  printf("task           %s: %s\n", env_task_name(e->task), env_task_summary(e->task));
  printf("model          %s\n", e->model_path);
  printf("observation    %d\naction         %d\n", e->obs_dim, e->act_dim);
  print_bounds("action low", e->act_lo, e->act_dim);
  print_bounds("action high", e->act_hi, e->act_dim);
  printf("dt             %g s (timestep %g s x frame skip %d)\n", e->dt, m->opt.timestep,
         e->frame_skip);
  printf("time limit     %d steps\n", e->max_steps);
  printf("nq nv nu       %d %d %d\n", m->nq, m->nv, m->nu);
  printf("total mass     %.6g kg\n", env_total_mass(e));
  printf("terminates     %s\n", env_can_terminate(e) ? "yes" : "no (time limit only)");
  printf("reward(obs)    %s\n", env_has_reward(e) ? "yes" : "no");
  printf("MuJoCo         %s\n\noptions (--set env.KEY=VALUE):", env_mujoco_version());
  cfg_print_help(cfg, stdout);
}

static void cmd_rollout(Env *e, const RolloutParams *p) {
  int O = e->obs_dim, A = e->act_dim;
  ActionFile af = {NULL, 0};
  LinPolicy lin;
  // zero, random, an action file, or a linear policy (recognised by its first line)
  int mode = strcmp(p->policy, "zero") == 0 ? 0 : strcmp(p->policy, "random") == 0 ? 1 : 2;
  if (mode == 2 && linpolicy_sniff(p->policy)) {
    char err[4400];
    if (linpolicy_load(&lin, p->policy, err, sizeof err)) fail_usage("--policy %s", err);
    if (!lin.checksum)
      fail_warn("--policy %s has no checksum line (hand-written, or from an earlier build): "
                "a damaged file would go unnoticed", p->policy);
    if (linpolicy_check(&lin, env_task_name(e->task), O, A, err, sizeof err))
      fail_usage("--policy %s: %s", p->policy, err);
    mode = 3;
  }
  if (mode == 2) read_actions(p->policy, A, &af);
  double *obs = xcalloc((size_t)O, sizeof *obs, "observation");
  double *act = xcalloc((size_t)A, sizeof *act, "action");
  double *ret = xcalloc((size_t)p->episodes, sizeof *ret, "returns");
  double *len = xcalloc((size_t)p->episodes, sizeof *len, "lengths");

  CsvLog csv;
  int use_csv = *p->csv != 0;
  if (use_csv) {
    // header: episode,t,a0..,reward,terminated,truncated,o0..
    size_t cap = 64 + 16 * (size_t)(O + A), used = 0;
    char *h = xmalloc(cap, 1, "csv header");
    used += snprintf(h + used, cap - used, "episode,t");
    for (int i = 0; i < A; i++) used += snprintf(h + used, cap - used, ",a%d", i);
    used += snprintf(h + used, cap - used, ",reward,terminated,truncated");
    for (int i = 0; i < O; i++) used += snprintf(h + used, cap - used, ",o%d", i);
    char err[4400];
    if (csv_open(&csv, p->csv, h, -1, err, sizeof err)) fail_run("%s", err);
    free(h);
  }

  printf("%8s %16s %8s %s\n", "episode", "return", "length", "end");
  int diverged = 0;
  for (int64_t ep = 0; ep < p->episodes; ep++) {
    Rng reset, explore;
    // the evaluation protocol's start states (episodes.h): a program's evaluation episode j
    // with seed S is mbenv's episode j with --seed S
    rng_init_sub(&reset, (uint32_t)p->seed, RNG_STREAM_EVAL, (uint64_t)ep);
    rng_init_sub(&explore, (uint32_t)p->seed, RNG_STREAM_EXPLORE, (uint64_t)ep);
    env_reset(e, &reset, obs);
    EnvStep st = {0};
    double total = 0;
    int t = 0;
    const char *end = "time limit";
    for (;;) {
      if (mode == 2 && t == af.n) {
        end = "end of file";
        break;
      }
      if (mode == 3) linpolicy_act(&lin, obs, act);
      else
        for (int i = 0; i < A; i++)
          act[i] = mode == 0 ? 0.0
                   : mode == 1 ? rng_uniform_range(&explore, e->act_lo[i], e->act_hi[i])
                               : af.a[(size_t)t * A + i];
      env_step(e, act, obs, &st);
      total += st.reward;
      t++;
      if (use_csv) {
        csv_i(&csv, ep), csv_i(&csv, t - 1);
        for (int i = 0; i < A; i++) csv_d(&csv, act[i]);
        csv_d(&csv, st.reward), csv_i(&csv, st.terminated), csv_i(&csv, st.truncated);
        for (int i = 0; i < O; i++) csv_d(&csv, obs[i]);
        csv_end(&csv);
      }
      if (st.diverged) {
        end = "diverged";
        fprintf(stderr, "mbenv: episode %lld diverged at step %d: %s\n", (long long)ep, t,
                e->divergence);
        diverged++;
        break;
      }
      if (st.terminated) end = "terminated";
      if (st.terminated || st.truncated) break;
    }
    ret[ep] = total;
    len[ep] = t;
    printf("%8lld %16.6f %8d %s\n", (long long)ep, total, t, end);
  }
  printf("return %.6g +- %.6g (mean +- std over %lld episodes); length %.6g",
         stats_mean(ret, (size_t)p->episodes), stats_std(ret, (size_t)p->episodes),
         (long long)p->episodes, stats_mean(len, (size_t)p->episodes));
  if (diverged) printf("; %d diverged", diverged);
  printf("\n");
  if (use_csv) csv_close(&csv);
  free(obs), free(act), free(ret), free(len), free(af.a);
  if (mode == 3) linpolicy_free(&lin);
}

int main(int argc, char **argv) {
  fail_set_prog(argv[0]);
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("mbenv (mirrorbench) %s\nMuJoCo %s\n", MB_VERSION, env_mujoco_version());
    return EXIT_OK;
  }
  if (strcmp(cmd, "list") == 0) {
    if (argc > 2) fail_usage("list takes no arguments");
    cmd_list();
    return EXIT_OK;
  }
  int info = strcmp(cmd, "info") == 0;
  if (!info && strcmp(cmd, "rollout") != 0)
    fail_usage("unknown command '%s' (commands: list, info, rollout)", cmd);
  if (argc < 3 || argv[2][0] == '-') fail_usage("%s needs a TASK (mbenv list shows them)", cmd);

  // options: the rollout table, the task's [env] table, flags, --set and --config
  char err[4096];
  Config cfg;
  RolloutParams rp;
  EnvOptions eo;
  cfg_init(&cfg);
  if (env_options_register(&cfg, argv[2], &eo, err, sizeof err)) fail_usage("%s", err);
  if (!info) rollout_register(&cfg, "rollout", &rp);
  static const char *flags[] = {"--policy", "--episodes", "--seed", "--csv"};
  for (int i = 3; i < argc; i++) {
    char name[64];
    const char *arg = argv[i], *eq = strchr(arg, '='), *value = NULL;
    snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
    if (eq) value = eq + 1;
    else if (i + 1 < argc) value = argv[++i];
    else fail_usage("%s needs a value", name);
    if (strcmp(name, "--set") == 0) {
      const char *e = strchr(value, '=');
      char key[256];
      if (!e || e == value) fail_usage("--set: expected KEY=VALUE, got '%s'", value);
      snprintf(key, sizeof key, "%.*s", (int)(e - value), value);
      if (cfg_push(&cfg, key, e + 1, CFG_SET, "--set", err, sizeof err)) fail_usage("%s", err);
      continue;
    }
    if (strcmp(name, "--config") == 0) {
      if (cfg_read_file(&cfg, value, CFG_FILE, err, sizeof err)) fail_usage("%s", err);
      continue;
    }
    int known = 0;
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
      if (!info && strcmp(name, flags[k]) == 0) {
        char key[64];
        snprintf(key, sizeof key, "rollout.%s", flags[k] + 2);
        if (cfg_push(&cfg, key, value, CFG_FLAG, name, err, sizeof err)) fail_usage("%s", err);
        known = 1;
      }
    if (!known) fail_usage("%s: unknown option '%s'", cmd, name);
  }
  if (cfg_apply(&cfg, 1, err, sizeof err)) fail_usage("%s", err);

  Env *e = env_make(&eo, err, sizeof err);
  if (!e) {
    // a model file the user named is a usage error; a broken installation is a failure
    if (*eo.model) fail_usage("%s", err);
    fail_run("%s", err);
  }
  if (info) cmd_info(e, &cfg);
  else cmd_rollout(e, &rp);
  env_free(e);
  env_options_free(&eo);
  cfg_free(&cfg);
  return EXIT_OK;
}
