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
  WeightsParams none = {0};
  return model_weights_init(&m->weights, 0, &none, task->obs_dim, task->act_dim, 0, 0, "", seed,
                            err, errsz);   // uniform until the program says otherwise
}

int mpc_model_weights(MpcModel *m, int which, const WeightsParams *wp, size_t cap,
                      ModelPolicyFn policy, void *policy_ctx, const char *why_none,
                      uint32_t seed, char *err, size_t errsz) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return 0;
  model_weights_free(&m->weights);
  if (model_weights_init(&m->weights, which, wp, m->ens.O, m->ens.A, cap, policy != NULL,
                         why_none, seed, err, errsz))
    return -1;
  m->weights.policy = policy;
  m->weights.policy_ctx = policy_ctx;
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
    model_weights_free(&m->weights);
    free(m->w);
  }
  memset(m, 0, sizeof *m);
}

EnsembleStats mpc_model_train(MpcModel *m, const Replay *data) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return (EnsembleStats){0};
  if (data->size > m->wcap) {
    free(m->w);
    m->wcap = data->size;
    m->w = xmalloc(m->wcap, sizeof *m->w, "model weights");
  }
  m->weighted = data->size > 0 && model_weights_fill(&m->weights, data, m->w);
  return m->weighted ? ensemble_train_weighted(&m->ens, data, m->w, &m->fit)
                     : ensemble_train(&m->ens, data, &m->fit);
}

// the elites' mean NLL and squared error on positions [lo, hi) of data
static void model_error(Ensemble *e, const Replay *data, size_t lo, size_t hi, double *nll,
                        double *mse) {
  int O = e->O, A = e->A, L = e->L, D = 1 + O, n = (int)(hi - lo);
  *nll = *mse = NAN;
  if (n <= 0) return;
  float *obs = xmalloc((size_t)L * n * O, sizeof *obs, "model error");   // (L, n, O)
  float *act = xmalloc((size_t)L * n * A, sizeof *act, "model error");   // (L, n, A)
  float *mean = xmalloc((size_t)L * n * D, sizeof *mean, "model error"); // (L, n, 1 + O)
  float *lv = xmalloc((size_t)L * n * D, sizeof *lv, "model error");
  for (int k = 0; k < L; k++)
    for (int i = 0; i < n; i++) {
      size_t sl = replay_slot(data, lo + (size_t)i), row = (size_t)k * n + i;
      memcpy(obs + row * O, data->obs + sl * O, (size_t)O * sizeof *obs);
      memcpy(act + row * A, data->act + sl * A, (size_t)A * sizeof *act);
    }
  ensemble_gaussian(e, obs, act, n, 0, mean, lv);
  double snll = 0.0, smse = 0.0;
  for (int k = 0; k < L; k++)
    for (int i = 0; i < n; i++) {
      size_t sl = replay_slot(data, lo + (size_t)i), row = (size_t)k * n + i;
      for (int j = 0; j < D; j++) {
        double y = j == 0 ? data->rew[sl] : (double)data->next_obs[sl * O + j - 1] - data->obs[sl * O + j - 1];
        double d = mean[row * D + j] - y, v = lv[row * D + j];
        smse += d * d;
        snll += 0.5 * (d * d * exp(-v) + v + 1.8378770664093453);   // log 2 pi
      }
    }
  double cnt = (double)L * n * D;
  *nll = snll / cnt, *mse = smse / cnt;
  free(obs), free(act), free(mean), free(lv);
}

MpcFitStats mpc_model_fit_stats(MpcModel *m, const Replay *data) {
  MpcFitStats f = {m->weights.last, NAN, NAN, NAN, NAN};
  size_t n = data->size, k = m->weights.p.recent > 0 ? (size_t)m->weights.p.recent : 1000;
  if (k > n) k = n;
  model_error(&m->ens, data, n - k, n, &f.nll_new, &f.mse_new);
  model_error(&m->ens, data, 0, k, &f.nll_old, &f.mse_old);
  return f;
}

void mpc_model_train_logged(MpcModel *m, const Replay *data, Run *run, CsvLog *log,
                            CsvLog *fit_log) {
  EnsembleStats st = mpc_model_train(m, data);
  csv_i(log, run->step);
  csv_i(log, st.epochs);
  csv_d(log, st.train_loss);
  csv_d(log, st.holdout_mse);
  csv_i(log, st.stopped_early);
  csv_d(log, run_wall(run));
  csv_end(log);
  if (!fit_log) return;
  MpcFitStats f = mpc_model_fit_stats(m, data);
  double row[] = {f.w.old_weight, f.w.cur_weight, f.nll_new, f.nll_old, f.mse_new, f.mse_old,
                  f.w.dual_loss, f.w.disc_acc, f.w.disc_loss};
  csv_i(fit_log, run->step);
  for (size_t j = 0; j < sizeof row / sizeof *row; j++) csv_d(fit_log, row[j]);
  csv_d(fit_log, run_wall(run));
  csv_end(fit_log);
}

void mpc_model_save(const MpcModel *m, CkptWriter *w) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return;
  ensemble_save(&m->ens, w, "ensemble");
  ckpt_put(w, "rng.fit", &m->fit, sizeof m->fit);
  model_weights_save(&m->weights, w);
}

int mpc_model_load(MpcModel *m, CkptReader *r, char *err, size_t errsz) {
  if (m->kind != MPC_MODEL_ENSEMBLE) return 0;
  return ensemble_load(&m->ens, r, "ensemble", err, errsz) ||
                 ckpt_get(r, "rng.fit", &m->fit, sizeof m->fit, err, errsz) ||
                 model_weights_load(&m->weights, r, err, errsz)
             ? -1
             : 0;
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
