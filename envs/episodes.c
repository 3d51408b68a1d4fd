// episodes: training-episode bookkeeping and the evaluation protocol (see episodes.h).
#include "episodes.h"

#include <stdlib.h>
#include <string.h>

#include "fail.h"

Episode episode_run(Env *e, Rng *reset, PolicyFn pi, void *ctx) {
  double *obs = xmalloc((size_t)e->obs_dim, sizeof *obs, "observation");   // (O)
  double *act = xmalloc((size_t)e->act_dim, sizeof *act, "action");        // (A)
  Episode ep = {0};
  EnvStep st = {0};
  env_reset(e, reset, obs);
  double x0 = e->m->nq > 0 ? e->d->qpos[0] : 0.0;
  while (!st.terminated && !st.truncated) {
    pi(ctx, obs, act);
    env_step(e, act, obs, &st);
    ep.ret += st.reward;
    ep.len++;
  }
  ep.terminated = st.terminated;
  ep.truncated = st.truncated;
  ep.diverged = st.diverged;
  ep.speed = e->m->nq > 0 ? (e->d->qpos[0] - x0) / (ep.len * e->dt) : 0.0;
  free(obs);
  free(act);
  return ep;
}

void episodes_log(Run *run, CsvLog *log, int64_t index, int64_t episode, const Episode *ep) {
  csv_i(log, run->step);
  csv_i(log, index);
  csv_i(log, episode);
  csv_d(log, ep->ret);
  csv_i(log, ep->len);
  csv_d(log, run_wall(run));
  csv_end(log);
}

double episodes_evaluate_at(Run *run, CsvLog *log, int64_t index, int64_t episodes, Env *env,
                            PolicyFn pi, void *ctx) {
  double total = 0;
  for (int64_t j = 0; j < episodes; j++) {
    // the same start states for every algorithm and every evaluation point
    Rng reset;
    rng_init_sub(&reset, (uint32_t)run->cli->run.seed, RNG_STREAM_EVAL, (uint64_t)j);
    Episode ep = episode_run(env, &reset, pi, ctx);
    episodes_log(run, log, index, j, &ep);
    total += ep.ret;
  }
  return total / (double)episodes;
}

double episodes_evaluate(Run *run, CsvLog *log, Env *env, PolicyFn pi, void *ctx) {
  double mean = episodes_evaluate_at(run, log, run->eval_index, run->cli->run.eval_episodes, env,
                                     pi, ctx);
  run->eval_index++;
  progress_eval(&run->progress, mean);
  return mean;
}

void action_from_unit(const Env *e, const double *unit, double *act) {
  for (int i = 0; i < e->act_dim; i++)
    act[i] = e->act_lo[i] + 0.5 * (unit[i] + 1.0) * (e->act_hi[i] - e->act_lo[i]);
}

Env *env_make_for_run(Cli *cli, const EnvOptions *eo) {
  char err[4400], use[4200];
  Env *e = env_make(eo, err, sizeof err);
  if (!e && *eo->model) fail_usage("%s", err);   // the user's model file: a configuration error
  if (!e) fail_run("%s", err);
  cli_input(cli, "env.model", e->model_path, false, use, sizeof use);
  return e;
}

void action_to_unit(const Env *e, const double *act, double *unit, int clamp) {
  for (int i = 0; i < e->act_dim; i++) {
    double a = act[i], lo = e->act_lo[i], hi = e->act_hi[i];
    if (clamp) a = a < lo ? lo : a > hi ? hi : a;
    unit[i] = 2.0 * (a - lo) / (hi - lo) - 1.0;
  }
}

void train_env_init(TrainEnv *t, Env *env, uint32_t seed) {
  memset(t, 0, sizeof *t);
  t->env = env;
  rng_init(&t->reset, seed, RNG_STREAM_RESET);
  size_t O = (size_t)env->obs_dim;
  t->obs = xcalloc(O, sizeof *t->obs, "observation");
  t->prev_obs = xcalloc(O, sizeof *t->prev_obs, "observation");
  t->next_obs = xcalloc(O, sizeof *t->next_obs, "observation");
  env_reset(env, &t->reset, t->obs);
}

void train_env_free(TrainEnv *t) {
  free(t->obs);
  free(t->prev_obs);
  free(t->next_obs);
  memset(t, 0, sizeof *t);
}

int train_env_step(TrainEnv *t, Run *run, const double *act, EnvStep *st) {
  size_t O = (size_t)t->env->obs_dim;
  memcpy(t->prev_obs, t->obs, O * sizeof *t->obs);
  env_step(t->env, act, t->next_obs, st);
  t->ret += st->reward;
  t->len++;
  run->step++;
  if (!st->terminated && !st->truncated) {
    memcpy(t->obs, t->next_obs, O * sizeof *t->obs);
    return 0;
  }
  CsvLog *log = &run->train;
  csv_i(log, run->step);
  csv_i(log, t->episode);
  csv_d(log, t->ret);
  csv_i(log, t->len);
  csv_i(log, st->terminated);
  csv_i(log, st->truncated);
  csv_i(log, st->diverged);
  csv_d(log, run_wall(run));
  csv_end(log);
  if (st->diverged)
    fail_warn("training episode %lld diverged at step %lld: %s", (long long)t->episode,
              (long long)run->step, t->env->divergence);
  t->episode++;
  t->ret = 0;
  t->len = 0;
  env_reset(t->env, &t->reset, t->obs);
  return 1;
}

// the task's physics state s (ns) and episode length go through the given places
static int fields(const TrainEnv *t, double *s, size_t ns, int64_t *len, CkptField f[6]) {
  size_t O = (size_t)t->env->obs_dim;
  f[0] = (CkptField){"state", s, ns * sizeof *s};
  f[1] = (CkptField){"obs", t->obs, O * sizeof *t->obs};
  f[2] = (CkptField){"reset", (void *)&t->reset, sizeof t->reset};
  f[3] = (CkptField){"episode", (void *)&t->episode, sizeof t->episode};
  f[4] = (CkptField){"ret", (void *)&t->ret, sizeof t->ret};
  f[5] = (CkptField){"len", len, sizeof *len};
  return 6;
}

void train_env_save(const TrainEnv *t, CkptWriter *w) {
  size_t ns = env_state_size(t->env);
  double *s = xmalloc(ns, sizeof *s, "environment state");
  int64_t len = t->len;
  CkptField f[6];
  env_get_state(t->env, s);
  ckpt_put_fields(w, "train_env", f, fields(t, s, ns, &len, f));
  free(s);
}

int train_env_load(TrainEnv *t, CkptReader *r, char *err, size_t errsz) {
  size_t ns = env_state_size(t->env);
  double *s = xmalloc(ns, sizeof *s, "environment state");
  int64_t len;
  CkptField f[6];
  int rc = ckpt_get_fields(r, "train_env", f, fields(t, s, ns, &len, f), err, errsz);
  if (rc == 0) {
    // the saved observation is the one the run acted on; the state reproduces the physics
    env_set_state(t->env, s, NULL);
    t->len = (int)len;
  }
  free(s);
  return rc ? -1 : 0;
}
