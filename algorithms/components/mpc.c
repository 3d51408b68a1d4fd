// mpc: a DMD-MPC controller acting on a task through a model (see mpc.h).
#include "mpc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "episodes.h"
#include "fail.h"

int mpc_model_init(MpcModel *m, MpcModelKind kind, const EnvOptions *eo, const Env *task,
                   const EnsembleParams *ep, uint32_t seed, char *err, size_t errsz) {
  memset(m, 0, sizeof *m);
  m->kind = kind;
  if (kind == MPC_MODEL_SIM) {
    if (!(m->sim_env = env_make(eo, err, errsz))) return -1;
    sim_model_init(&m->sim, m->sim_env, &m->pm);
    m->state = xmalloc(env_state_size(m->sim_env), sizeof *m->state, "state");
    return 0;
  }
  Rng init;
  rng_init(&init, seed, RNG_STREAM_INIT);
  if (ensemble_init(&m->ens, ep, task->obs_dim, task->act_dim, &init, err, errsz)) return -1;
  ensemble_model_init(&m->em, &m->ens, task, 0, &m->pm);
  rng_init(&m->fit, seed, RNG_STREAM_MODEL);
  m->weighting = &MODEL_WEIGHTINGS[ep->weights];
  rng_init(&m->weights_rng, seed, RNG_STREAM_WEIGHTS);
  return 0;
}

void mpc_model_free(MpcModel *m) {
  if (m->kind == MPC_MODEL_SIM) {
    if (m->sim_env) sim_model_free(&m->sim);
    env_free(m->sim_env);
    free(m->state);
  } else {
    ensemble_model_free(&m->em);
    ensemble_free(&m->ens);
  }
  memset(m, 0, sizeof *m);
}

EnsembleStats mpc_model_train(MpcModel *m, const Replay *data) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return (EnsembleStats){0};
  if (!m->weighting->fill || data->size == 0) return ensemble_train(&m->ens, data, &m->fit);
  double *w = xmalloc(data->size, sizeof *w, "model weights");   // (n) by position
  ModelWeightInput in = {data, m->policy, m->policy_ctx, &m->weights_rng};
  m->weighting->fill(&in, w);
  for (size_t i = 0; i < data->size; i++)
    if (!(w[i] >= 0.0) || isinf(w[i]))
      fail_run("ensemble.weights=%s: weight %g of transition %zu (weights must be finite and >= 0)",
               m->weighting->name, w[i], i);
  EnsembleStats st = ensemble_train_weighted(&m->ens, data, w, &m->fit);
  free(w);
  return st;
}

void mpc_model_train_logged(MpcModel *m, const Replay *data, Run *run, CsvLog *log) {
  EnsembleStats st = mpc_model_train(m, data);
  csv_i(log, run->step);
  csv_i(log, st.epochs);
  csv_d(log, st.train_loss);
  csv_d(log, st.holdout_mse);
  csv_i(log, st.stopped_early);
  csv_d(log, run_wall(run));
  csv_end(log);
}

void mpc_model_save(const MpcModel *m, CkptWriter *w) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return;
  ensemble_save(&m->ens, w, "ensemble");
  ckpt_put(w, "rng.fit", &m->fit, sizeof m->fit);
  if (m->weighting->fill) ckpt_put(w, "rng.weights", &m->weights_rng, sizeof m->weights_rng);
}

int mpc_model_load(MpcModel *m, CkptReader *r, char *err, size_t errsz) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return 0;
  if (ensemble_load(&m->ens, r, "ensemble", err, errsz) ||
      ckpt_get(r, "rng.fit", &m->fit, sizeof m->fit, err, errsz) ||
      (m->weighting->fill &&
       ckpt_get(r, "rng.weights", &m->weights_rng, sizeof m->weights_rng, err, errsz)))
    return -1;
  return 0;
}

void mpc_init_pair(Mpc *act, Mpc *eval, const PlannerParams *pp, MpcModel *m, Env *env,
                   Env *eval_env) {
  char err[4400];
  if (mpc_init(act, pp, m, env, err, sizeof err) ||
      mpc_init(eval, pp, m, eval_env, err, sizeof err))
    fail_run("%s", err);
  act->training = 1;
}

void mpc_save(const Mpc *c, CkptWriter *w) {
  planner_save(&c->planner, w, "planner");
  ckpt_put(w, "rng.planner", &c->rng, sizeof c->rng);
}

int mpc_load(Mpc *c, CkptReader *r, char *err, size_t errsz) {
  return planner_load(&c->planner, r, "planner", err, errsz) ||
                 ckpt_get(r, "rng.planner", &c->rng, sizeof c->rng, err, errsz)
             ? -1
             : 0;
}

int mpc_init(Mpc *c, const PlannerParams *pp, MpcModel *m, Env *env, char *err, size_t errsz) {
  memset(c, 0, sizeof *c);
  if (planner_init(&c->planner, pp, env->obs_dim, env->act_dim, err, errsz)) return -1;
  c->model = m;
  c->env = env;
  c->unit = xcalloc((size_t)env->act_dim, sizeof *c->unit, "action");
  c->unitd = xcalloc((size_t)env->act_dim, sizeof *c->unitd, "action");
  return 0;
}

void mpc_free(Mpc *c) {
  planner_free(&c->planner);
  free(c->unit);
  free(c->unitd);
  memset(c, 0, sizeof *c);
}

void mpc_act(Mpc *c, const double *obs, double *act) {
  MpcModel *m = c->model;
  if (m->kind == MPC_MODEL_SIM) {
    env_get_state(c->env, m->state);
    sim_model_start(&m->sim, m->state);
  } else {
    ensemble_model_start(&m->em, obs);
  }
  planner_act(&c->planner, &m->pm, obs, c->prior, c->prior_ctx, c->value, c->value_ctx, c->training,
              &c->rng, c->unit, &c->stats);
  for (int i = 0; i < c->env->act_dim; i++) c->unitd[i] = c->unit[i];
  action_from_unit(c->env, c->unitd, act);
}

void mpc_log_plan(const Mpc *c, Run *run, CsvLog *log) {
  csv_i(log, run->step);
  csv_d(log, c->stats.best_return);
  csv_d(log, c->stats.mean_return);
  csv_d(log, c->stats.weight_entropy);
  csv_d(log, c->stats.solve_ms);
  csv_d(log, run_wall(run));
  csv_end(log);
}

void mpc_imagine(Mpc *c, const double *obs, Replay *out) {
  PlanModel *pm = &c->model->pm;
  int H = c->planner.H, A = c->planner.A, O = c->planner.O;
  float rew, *next = xmalloc((size_t)O, sizeof *next, "observation");   // (O)
  double *s = xmalloc((size_t)(2 * O + A), sizeof *s, "transition");    // s (O), s' (O), a (A)
  double *s1 = s + O, *a = s + 2 * O;
  uint8_t done = 0;
  memcpy(s, obs, (size_t)O * sizeof *s);
  pm->start(pm->ctx, 1, 1);
  for (int h = 0; h < H && !done; h++) {
    const float *ah = c->planner.mean + (size_t)h * A;
    pm->advance(pm->ctx, ah, &c->rng, &rew, next, &done);
    for (int j = 0; j < A; j++) a[j] = ah[j];
    for (int j = 0; j < O; j++) s1[j] = next[j];
    replay_add(out, s, a, rew, s1, done, 0);
    memcpy(s, s1, (size_t)O * sizeof *s);
  }
  free(next);
  free(s);
}

void mpc_policy(void *ctx, const double *obs, double *act) {
  Mpc *c = ctx;
  if (c->env->t == 0) planner_reset(&c->planner);
  mpc_act(c, obs, act);
}
