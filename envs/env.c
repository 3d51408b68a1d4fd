// env: loading, stepping and state of MuJoCo tasks (see env.h and task.h).
#include "env.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fail.h"
#include "task.h"

//---------------- MuJoCo hooks ----------------

// the last warning MuJoCo printed (divergence messages quote it)
static char last_warning[200];

// MuJoCo's default handlers print to stdout, write MUJOCO_LOG.TXT and wait for Enter on errors
static void on_error(const char *msg) {
  fprintf(stderr, "%s: MuJoCo error: %s\n", fail_prog(), msg);
  exit(EXIT_RUN);
}

static void on_warning(const char *msg) { snprintf(last_warning, sizeof last_warning, "%s", msg); }

static void hooks_install(void) {
  static int done;
  if (done) return;
  done = 1;
  mju_user_error = on_error;
  mju_user_warning = on_warning;
  if (mj_version() != mjVERSION_HEADER)
    fail_warn("MuJoCo library version %d differs from the headers' %d", mj_version(),
              mjVERSION_HEADER);
}

const char *env_mujoco_version(void) {
  hooks_install();
  return mj_versionString();
}

//---------------- tasks and options ----------------

const char *env_task_name(const EnvTask *t) { return t->name; }
const char *env_task_summary(const EnvTask *t) { return t->summary; }

const EnvTask *env_task_find(const char *name) {
  for (int i = 0; i < env_task_count(); i++)
    if (strcmp(env_task_at(i)->name, name) == 0) return env_task_at(i);
  return NULL;
}

// case-insensitive match first (hopper), then the closest name by shared prefix
static const char *suggest_task(const char *name) {
  const char *best = NULL;
  size_t bestlen = 2;
  for (int i = 0; i < env_task_count(); i++) {
    const char *t = env_task_at(i)->name;
    if (strcasecmp(t, name) == 0) return t;
    size_t k = 0;
    while (name[k] && t[k] && (name[k] | 32) == (t[k] | 32)) k++;
    if (k > bestlen) best = t, bestlen = k;
  }
  return best;
}

#define ENV_COMMON_PARAMS(X)                                                                  \
  X(STR, model, "", "", "MJCF file to load instead of the task's built-in model")            \
  X(INT, max_steps, "1000", "[1, 1e9]", "time limit: steps per episode")

int env_options_register(Config *cfg, const char *name, EnvOptions *eo, char *err, size_t errsz) {
  memset(eo, 0, sizeof *eo);
  eo->task = env_task_find(name);
  if (!eo->task) {
    char list[1024] = "";
    size_t used = 0;
    for (int i = 0; i < env_task_count() && used < sizeof list; i++)
      used +=
          snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", env_task_at(i)->name);
    const char *s = suggest_task(name);
    if (s)
      return fail_msg(err, errsz, "unknown task '%s' (did you mean %s?); tasks: %s", name, s, list);
    return fail_msg(err, errsz, "unknown task '%s'; tasks: %s", name, list);
  }
  EnvOptions *params_ = eo;
  const ParamRef common[] = {ENV_COMMON_PARAMS(PARAM_REF_)};
  cfg_add_section(cfg, "env", common, (int)(sizeof common / sizeof common[0]));
  char steps[32];
  snprintf(steps, sizeof steps, "%d", eo->task->max_steps);
  cfg_set_default(cfg, "env.max_steps", steps);
  if (eo->task->register_opts) {
    eo->task_opts = xcalloc(1, eo->task->opts_size, "task options");
    eo->task->register_opts(cfg, "env", eo->task_opts);
  }
  return 0;
}

int env_options_set(const char *name, const char *const *settings, EnvOptions *eo, char *err,
                    size_t errsz) {
  Config cfg;
  cfg_init(&cfg);
  int rc = env_options_register(&cfg, name, eo, err, errsz);
  for (int i = 0; rc == 0 && settings && settings[i]; i++) {
    const char *s = settings[i], *eq = strchr(s, '=');
    char key[256];
    if (!eq || eq == s) {
      rc = fail_msg(err, errsz, "option '%s': expected KEY=VALUE", s);
      break;
    }
    snprintf(key, sizeof key, "%s%.*s", strncmp(s, "env.", 4) ? "env." : "", (int)(eq - s), s);
    rc = cfg_push(&cfg, key, eq + 1, CFG_SET, "option", err, errsz);
  }
  if (rc == 0) rc = cfg_apply(&cfg, 1, err, errsz);
  if (rc && eo->task_opts) env_options_free(eo);
  cfg_free(&cfg);
  return rc;
}

int env_options_default(const char *name, EnvOptions *eo, char *err, size_t errsz) {
  return env_options_set(name, NULL, eo, err, errsz);
}

void env_options_free(EnvOptions *eo) {
  free(eo->task_opts);
  memset(eo, 0, sizeof *eo);
}

//---------------- making ----------------

// first existing file among $MIRRORBENCH_MODELS, the source tree and the installed models
static int find_model(const char *file, char *path, size_t n, char *err, size_t errsz) {
  const char *dirs[3] = {getenv("MIRRORBENCH_MODELS"), MB_SRC_MODELS, MB_DATA_MODELS};
  char tried[1024] = "";
  size_t used = 0;
  for (int i = 0; i < 3; i++) {
    if (!dirs[i] || !*dirs[i]) continue;
    snprintf(path, n, "%s/%s", dirs[i], file);
    if (access(path, R_OK) == 0) return 0;
    if (used < sizeof tried) used += snprintf(tried + used, sizeof tried - used, " %s", dirs[i]);
  }
  return fail_msg(err, errsz,
                  "model file %s not found in:%s (set MIRRORBENCH_MODELS to its folder)", file,
                  tried);
}

Env *env_make(const EnvOptions *eo, char *err, size_t errsz) {
  hooks_install();
  const EnvTask *t = eo->task;
  if (!t || !t->setup) {
    fail_msg(err, errsz, "task %s is not available", t ? t->name : "(none)");
    return NULL;
  }
  Env *e = xcalloc(1, sizeof *e, "environment");
  e->task = t;
  e->opts = eo;
  if (*eo->model) {
    if (access(eo->model, R_OK)) {
      fail_msg(err, errsz, "env.model %s: cannot read: %s", eo->model, strerror(errno));
      free(e);
      return NULL;
    }
    snprintf(e->model_path, sizeof e->model_path, "%s", eo->model);
  } else if (find_model(t->model, e->model_path, sizeof e->model_path, err, errsz)) {
    free(e);
    return NULL;
  }

  char why[1000] = "";
  e->m = mj_loadXML(e->model_path, NULL, why, sizeof why);
  if (!e->m) {
    fail_msg(err, errsz, "%s: cannot load model: %s", e->model_path, *why ? why : "unknown error");
    free(e);
    return NULL;
  }
  e->d = mj_makeData(e->m);
  e->frame_skip = t->frame_skip;
  e->dt = e->m->opt.timestep * t->frame_skip;
  e->max_steps = (int)eo->max_steps;
  e->act_dim = e->m->nu;
  e->act_lo = xcalloc((size_t)e->act_dim + 1, sizeof(double), "action bounds");
  e->act_hi = xcalloc((size_t)e->act_dim + 1, sizeof(double), "action bounds");
  for (int i = 0; i < e->act_dim; i++) {
    int limited = e->m->actuator_ctrllimited[i];
    e->act_lo[i] = limited ? e->m->actuator_ctrlrange[2 * i] : -INFINITY;
    e->act_hi[i] = limited ? e->m->actuator_ctrlrange[2 * i + 1] : INFINITY;
  }
  e->priv = xcalloc(1, t->priv_size ? t->priv_size : 1, "task data");
  e->tstate = xcalloc((size_t)t->nstate + 1, sizeof(double), "task state");
  if (t->setup(e, err, errsz)) {
    env_free(e);
    return NULL;
  }
  if (e->obs_dim < 1) {
    fail_msg(err, errsz, "task %s: setup gave no observation size", t->name);
    env_free(e);
    return NULL;
  }
  mj_forward(e->m, e->d);
  return e;
}

void env_free(Env *e) {
  if (!e) return;
  if (e->d) mj_deleteData(e->d);
  if (e->m) mj_deleteModel(e->m);
  free(e->act_lo);
  free(e->act_hi);
  free(e->priv);
  free(e->tstate);
  free(e);
}

double env_total_mass(const Env *e) {
  double s = 0;
  for (int i = 0; i < e->m->nbody; i++) s += e->m->body_mass[i];
  return s;
}

//---------------- stepping ----------------

// warnings that mean the state is no longer trustworthy; MuJoCo resets the data after a bad
// qpos/qvel/qacc and carries on, so each step is checked
static const int divergence_warnings[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC,
                                          mjWARN_BADCTRL, mjWARN_CONTACTFULL, mjWARN_CNSTRFULL};

static int check_divergence(Env *e) {
  int bad = 0;
  for (size_t i = 0; i < sizeof divergence_warnings / sizeof divergence_warnings[0]; i++) {
    mjWarningStat *w = &e->d->warning[divergence_warnings[i]];
    if (w->number > 0 && !bad) {
      snprintf(e->divergence, sizeof e->divergence, "%s",
               *last_warning ? last_warning : "bad state");
      bad = 1;
    }
    w->number = 0;
  }
  return bad;
}

void env_mj_step(Env *e) {
  mj_step(e->m, e->d);
  if (check_divergence(e)) e->diverged = 1;
}

void env_simulate(Env *e, const double *act) {
  memcpy(e->d->ctrl, act, (size_t)e->m->nu * sizeof *act);
  for (int k = 0; k < e->frame_skip; k++) env_mj_step(e);
  if (e->task->rne_post) mj_rnePostConstraint(e->m, e->d);
}

double env_sq_norm(const double *act, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += act[i] * act[i];
  return s;
}

int env_check_planar_root(const Env *e, char *err, size_t errsz) {
  static const char *const root[3] = {"rootx", "rootz", "rooty"};
  for (int i = 0; i < 3; i++) {
    int j = env_id(e, mjOBJ_JOINT, root[i], err, errsz);
    if (j < 0) return -1;
    if (e->m->jnt_qposadr[j] != i)
      return fail_msg(err, errsz, "%s: joint %s must be qpos[%d]", e->model_path, root[i], i);
  }
  return 0;
}

double env_simulate_vx(Env *e, const double *act) {
  double x_before = e->d->qpos[0];
  env_simulate(e, act);
  return (e->d->qpos[0] - x_before) / e->dt;
}

void env_observe_qpos_qvel(const Env *e, double *obs, int skip, double clip) {
  const mjData *d = e->d;
  int k = 0;
  for (int i = skip; i < e->m->nq; i++) obs[k++] = d->qpos[i];
  for (int i = 0; i < e->m->nv; i++) obs[k++] = clip > 0 ? env_clip(d->qvel[i], -clip, clip) : d->qvel[i];
}

void env_healthy_reward(EnvStep *out, double forward, double cost, int healthy,
                        int terminate_when_unhealthy, double healthy_reward) {
  double alive = (healthy || terminate_when_unhealthy) ? healthy_reward : 0.0;
  out->reward = (forward + alive) - cost;
  out->terminated = terminate_when_unhealthy && !healthy;
}

void env_reset(Env *e, Rng *r, double *obs) {
  mj_resetData(e->m, e->d);
  memset(e->tstate, 0, (size_t)e->task->nstate * sizeof *e->tstate);
  e->t = 0;
  e->diverged = 0;
  e->divergence[0] = 0;
  if (e->task->reset) e->task->reset(e, r);
  mj_forward(e->m, e->d);
  if (e->task->rne_post) mj_rnePostConstraint(e->m, e->d);
  check_divergence(e);
  e->task->observe(e, obs);
}

void env_step(Env *e, const double *act, double *obs, EnvStep *out) {
  memset(out, 0, sizeof *out);
  e->diverged = 0;
  e->task->step(e, act, out);
  e->t++;
  e->task->observe(e, obs);
  // a non-finite observation is a divergence too, whatever MuJoCo noticed
  for (int i = 0; i < e->obs_dim && !e->diverged; i++)
    if (!isfinite(obs[i])) {
      e->diverged = 1;
      snprintf(e->divergence, sizeof e->divergence, "observation %d is not finite", i);
    }
  if (e->diverged) {
    out->diverged = 1;
    out->truncated = 1;
    out->terminated = 0;
    out->reward = 0;
    return;
  }
  if (e->t >= e->max_steps) out->truncated = 1;
}

//---------------- state ----------------

// time, qpos, qvel, act, qacc_warmstart (the solver's starting point), step count, task state
size_t env_state_size(const Env *e) {
  const mjModel *m = e->m;
  return 1 + (size_t)m->nq + 2 * (size_t)m->nv + (size_t)m->na + 1 + (size_t)e->task->nstate;
}

void env_get_state(const Env *e, double *s) {
  const mjModel *m = e->m;
  const mjData *d = e->d;
  *s++ = d->time;
  memcpy(s, d->qpos, (size_t)m->nq * sizeof *s), s += m->nq;
  memcpy(s, d->qvel, (size_t)m->nv * sizeof *s), s += m->nv;
  memcpy(s, d->act, (size_t)m->na * sizeof *s), s += m->na;
  memcpy(s, d->qacc_warmstart, (size_t)m->nv * sizeof *s), s += m->nv;
  *s++ = e->t;
  memcpy(s, e->tstate, (size_t)e->task->nstate * sizeof *s);
}

void env_restore(Env *e, const double *s) {
  const mjModel *m = e->m;
  mjData *d = e->d;
  d->time = *s++;
  memcpy(d->qpos, s, (size_t)m->nq * sizeof *s), s += m->nq;
  memcpy(d->qvel, s, (size_t)m->nv * sizeof *s), s += m->nv;
  memcpy(d->act, s, (size_t)m->na * sizeof *s), s += m->na;
  memcpy(d->qacc_warmstart, s, (size_t)m->nv * sizeof *s), s += m->nv;
  e->t = (int)*s++;
  memcpy(e->tstate, s, (size_t)e->task->nstate * sizeof *s);
  for (int i = 0; i < mjNWARNING; i++) d->warning[i].number = 0;
}

void env_set_state(Env *e, const double *s, double *obs) {
  const mjModel *m = e->m;
  mjData *d = e->d;
  env_restore(e, s);
  // derived quantities (positions, contacts, forces) for the observation; mj_forward also copies
  // this state's qacc (made with a stale ctrl) into the warm start, so that is put back
  const double *warm = s + 1 + m->nq + m->nv + m->na;
  mj_forward(m, d);
  if (e->task->rne_post) mj_rnePostConstraint(m, d);
  memcpy(d->qacc_warmstart, warm, (size_t)m->nv * sizeof *warm);
  if (obs) e->task->observe(e, obs);
}

//---------------- planning helpers ----------------

int env_is_terminal(const Env *e, const double *obs) {
  return e->task->is_terminal ? e->task->is_terminal(e, obs) : 0;
}

int env_can_terminate(const Env *e) { return e->task->is_terminal != NULL; }

int env_has_reward(const Env *e) { return e->task->reward != NULL; }

double env_reward(const Env *e, const double *obs, const double *act, const double *next_obs) {
  return e->task->reward ? e->task->reward(e, obs, act, next_obs) : NAN;
}

//---------------- task helpers ----------------

void env_noise_uniform(Env *e, Rng *r, double s) {
  mjData *d = e->d;
  for (int i = 0; i < e->m->nq; i++) d->qpos[i] = e->m->qpos0[i] + rng_uniform_range(r, -s, s);
  for (int i = 0; i < e->m->nv; i++) d->qvel[i] = rng_uniform_range(r, -s, s);
}

void env_noise_uniform_normal(Env *e, Rng *r, double s) {
  mjData *d = e->d;
  for (int i = 0; i < e->m->nq; i++) d->qpos[i] = e->m->qpos0[i] + rng_uniform_range(r, -s, s);
  for (int i = 0; i < e->m->nv; i++) d->qvel[i] = s * rng_normal(r);
}

int env_id(const Env *e, mjtObj type, const char *name, char *err, size_t errsz) {
  int id = mj_name2id(e->m, type, name);
  if (id < 0) {
    const char *kind = type == mjOBJ_BODY ? "body" : type == mjOBJ_SITE ? "site"
                     : type == mjOBJ_JOINT ? "joint" : type == mjOBJ_GEOM ? "geom" : "object";
    fail_msg(err, errsz, "%s: model has no %s '%s'", e->model_path, kind, name);
  }
  return id;
}

int env_check_sizes(const Env *e, int nq, int nv, int nu, char *err, size_t errsz) {
  const mjModel *m = e->m;
  if (m->nq != nq || m->nv != nv || m->nu != nu)
    return fail_msg(err, errsz,
                    "%s: the %s task needs nq %d, nv %d, nu %d; the model has %d, %d, %d",
                    e->model_path, e->task->name, nq, nv, nu, m->nq, m->nv, m->nu);
  return 0;
}
