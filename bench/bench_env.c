// bench_env: environment steps per second of every task next to the raw mj_step rate of the same
// model on the same actions and start states, measured in the same run. The difference is what
// the library adds around the physics (observation, reward, checks, and what v4 itself asks for,
// such as mj_rnePostConstraint).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "fail.h"
#include "progress.h"
#include "rng.h"

enum { STEPS = 20000, REPEATS = 3 };

typedef struct {
  int n, A;
  double *act;      // (STEPS, A) uniform random actions in the bounds
  int *restart;     // (STEPS) 1 where an episode starts before this step
  double *start;    // (STEPS, state size) the state an episode starts from
  size_t ns;
} Script;

// play the task once with random actions to fix the actions and the episode starts
static void record(Env *e, Script *s) {
  Rng reset, explore;
  rng_init(&reset, 1, RNG_STREAM_RESET);
  rng_init(&explore, 1, RNG_STREAM_EXPLORE);
  s->A = e->act_dim;
  s->ns = env_state_size(e);
  s->act = xmalloc((size_t)STEPS * s->A, sizeof *s->act, "actions");
  s->restart = xcalloc(STEPS, sizeof *s->restart, "restarts");
  s->start = xmalloc((size_t)STEPS * s->ns, sizeof *s->start, "states");
  double *obs = xmalloc((size_t)e->obs_dim, sizeof *obs, "obs");
  int new_episode = 1;
  for (int t = 0; t < STEPS; t++) {
    if (new_episode) {
      env_reset(e, &reset, obs);
      env_get_state(e, s->start + (size_t)t * s->ns);
      s->restart[t] = 1;
    }
    double *a = s->act + (size_t)t * s->A;
    for (int i = 0; i < s->A; i++) {
      double lo = e->act_lo[i] > -1e9 ? e->act_lo[i] : -1,
             hi = e->act_hi[i] < 1e9 ? e->act_hi[i] : 1;
      a[i] = rng_uniform_range(&explore, lo, hi);
    }
    EnvStep st;
    env_step(e, a, obs, &st);
    new_episode = st.terminated || st.truncated;
  }
  free(obs);
}

static double time_env(Env *e, const Script *s) {
  double *obs = xmalloc((size_t)e->obs_dim, sizeof *obs, "obs");
  EnvStep st;
  double t0 = progress_now();
  for (int t = 0; t < STEPS; t++) {
    if (s->restart[t]) env_set_state(e, s->start + (size_t)t * s->ns, obs);
    env_step(e, s->act + (size_t)t * s->A, obs, &st);
  }
  double dt = progress_now() - t0;
  free(obs);
  return dt;
}

// the same work with bare MuJoCo: ctrl, then frame_skip mj_steps
static double time_raw(Env *e, const Script *s) {
  const mjModel *m = e->m;
  mjData *d = mj_makeData(m);
  double t0 = progress_now();
  for (int t = 0; t < STEPS; t++) {
    if (s->restart[t]) {
      const double *st = s->start + (size_t)t * s->ns;
      d->time = st[0];
      memcpy(d->qpos, st + 1, (size_t)m->nq * sizeof *st);
      memcpy(d->qvel, st + 1 + m->nq, (size_t)m->nv * sizeof *st);
      memcpy(d->qacc_warmstart, st + 1 + m->nq + m->nv + m->na, (size_t)m->nv * sizeof *st);
    }
    // where the action is not the actuator command (the quadruped's trajectory generator),
    // its first values stand in: as many physics steps on another motion (not compared)
    int nu = m->nu < s->A ? m->nu : s->A;
    memcpy(d->ctrl, s->act + (size_t)t * s->A, (size_t)nu * sizeof *d->ctrl);
    for (int k = 0; k < e->frame_skip; k++) mj_step(m, d);
  }
  double dt = progress_now() - t0;
  mj_deleteData(d);
  return dt;
}

// is the action the actuators' command (so the raw loop does the same physics)?
static int drives_actuators(const Env *e) {
  if (e->act_dim != e->m->nu) return 0;
  for (int i = 0; i < e->act_dim; i++)
    if (e->m->actuator_ctrllimited[i] && (e->act_lo[i] != e->m->actuator_ctrlrange[2 * i] ||
                                          e->act_hi[i] != e->m->actuator_ctrlrange[2 * i + 1]))
      return 0;
  return 1;
}

int main(int argc, char **argv) {
  fail_set_prog(argv[0]);
  printf("environment steps per second (1 thread, %d random-action steps, best of %d)\n", STEPS,
         REPEATS);
  printf("%-24s %12s %12s %10s\n", "task", "env steps/s", "raw steps/s", "overhead");
  for (int i = 0; i < env_task_count(); i++) {
    const char *name = env_task_name(env_task_at(i));
    if (argc > 1 && strcmp(argv[1], name)) continue;
    char err[4096];
    EnvOptions eo;
    Env *e;
    if (env_options_default(name, &eo, err, sizeof err) || !(e = env_make(&eo, err, sizeof err))) {
      printf("%-24s %s\n", name, err);
      continue;
    }
    Script s;
    record(e, &s);
    double best_env = 1e30, best_raw = 1e30;
    for (int r = 0; r < REPEATS; r++) {
      double te = time_env(e, &s), tr = time_raw(e, &s);
      if (te < best_env) best_env = te;
      if (tr < best_raw) best_raw = tr;
    }
    if (drives_actuators(e))
      printf("%-24s %12.0f %12.0f %9.1f%%\n", name, STEPS / best_env, STEPS / best_raw,
             100.0 * (best_env / best_raw - 1.0));
    else
      printf("%-24s %12.0f %12.0f %10s\n", name, STEPS / best_env, STEPS / best_raw,
             "n/a (own controller)");
    free(s.act), free(s.restart), free(s.start);
    env_free(e);
    env_options_free(&eo);
  }
  printf("(raw: mj_step x frame_skip on the same model, actions and start states; "
         "target: HalfCheetah overhead under 10%%)\n");
  return EXIT_OK;
}
