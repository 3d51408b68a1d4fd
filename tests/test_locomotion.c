// Tests of the six Gymnasium v4 locomotion tasks (HalfCheetah, Hopper, Walker2d, Swimmer, Ant,
// Humanoid): compiled-model facts, observation layouts, rewards and terminations against the v4
// formulas computed here, reset noise, options, and random-policy returns.
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "env.h"
#include "rng.h"
#include "task.h"

static char err[4096];

// |got - want| <= rel * max(1, |want|)
#define NEAR(got, want, rel)                                                                   \
  do {                                                                                         \
    double g_ = (got), w_ = (want);                                                            \
    cr_assert(fabs(g_ - w_) <= (rel) * fmax(1.0, fabs(w_)), "%s = %.17g, expected %.17g", #got, \
              g_, w_);                                                                         \
  } while (0)

//---------------- helpers ----------------

// An environment of `task` with options "key=value" (NULL-terminated list, may be NULL). The
// options struct is the caller's and must outlive the environment.
static Env *make_env(const char *task, const char *const *sets, EnvOptions *eo) {
  cr_assert_eq(env_options_set(task, sets, eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s: %s", task, err);
  return e;
}

static void drop(Env *e, EnvOptions *eo) {
  env_free(e);
  env_options_free(eo);
}

// Replace qpos and qvel in the environment's full state (time, warm start, step count and task
// state kept) and restore it; obs may be NULL.
static void set_qpos_qvel(Env *e, const double *qpos, const double *qvel, double *obs) {
  size_t n = env_state_size(e);
  double *s = malloc(n * sizeof *s);
  env_get_state(e, s);
  memcpy(s + 1, qpos, (size_t)e->m->nq * sizeof *s);
  memcpy(s + 1 + e->m->nq, qvel, (size_t)e->m->nv * sizeof *s);
  env_set_state(e, s, obs);
  free(s);
}

// Set the task state (the last task->nstate entries of the full state).
static void set_tstate(Env *e, const double *ts) {
  size_t n = env_state_size(e);
  double *s = malloc(n * sizeof *s);
  env_get_state(e, s);
  memcpy(s + n - (size_t)e->task->nstate, ts, (size_t)e->task->nstate * sizeof *s);
  env_set_state(e, s, NULL);
  free(s);
}

static double *state_copy(const Env *e) {
  double *s = malloc(env_state_size(e) * sizeof *s);
  env_get_state(e, s);
  return s;
}

static void reset_seed(Env *e, uint32_t seed, double *obs) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_RESET);
  env_reset(e, &r, obs);
}

// mass centre x as v4's mass_center: sum(body_mass * xipos) / sum(body_mass), from MuJoCo's data
static double mass_centre_x(const Env *e) {
  double s = 0, m = 0;
  for (int i = 0; i < e->m->nbody; i++) {
    s += e->m->body_mass[i] * e->d->xipos[3 * i];
    m += e->m->body_mass[i];
  }
  return s / m;
}

static double sq(const double *a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * a[i];
  return s;
}

// "%.17g": a double as option text that reads back exactly
static const char *num(char *buf, double x) {
  snprintf(buf, 64, "%.17g", x);
  return buf;
}

//---------------- compiled-model facts (anchors A.1 and A.3) ----------------

typedef struct {
  char name[16];
  int nq, nv, nu, nbody, njnt, obs_dim, frame_skip, integrator, solver, iterations;
  double timestep, act_lo, act_hi, mass;
  double gear[17];
} Facts;

ParameterizedTestParameters(locomotion, facts) {
  static Facts f[] = {
      {"HalfCheetah", 9, 9, 6, 8, 9, 17, 5, mjINT_EULER, mjSOL_NEWTON, 100, 0.01, -1, 1, 14.0,
       {120, 90, 60, 120, 60, 30}},
      {"Hopper", 6, 6, 3, 5, 6, 11, 4, mjINT_RK4, mjSOL_NEWTON, 100, 0.002, -1, 1, 15.82,
       {200, 200, 200}},
      {"Walker2d", 9, 9, 6, 8, 9, 17, 4, mjINT_RK4, mjSOL_NEWTON, 100, 0.002, -1, 1, 23.68,
       {100, 100, 100, 100, 100, 100}},
      {"Swimmer", 5, 5, 2, 4, 5, 8, 4, mjINT_RK4, mjSOL_NEWTON, 100, 0.01, -1, 1, 106.8,
       {150, 150}},
      {"Ant", 15, 14, 8, 14, 9, 27, 5, mjINT_RK4, mjSOL_NEWTON, 100, 0.01, -1, 1, 0.911,
       {150, 150, 150, 150, 150, 150, 150, 150}},
      {"Humanoid", 24, 23, 17, 14, 18, 376, 5, mjINT_RK4, mjSOL_PGS, 50, 0.003, -0.4, 0.4, 42.12,
       {100, 100, 100, 100, 100, 300, 200, 100, 100, 300, 200, 25, 25, 25, 25, 25, 25}},
  };
  return cr_make_param_array(Facts, f, sizeof f / sizeof f[0]);
}

// sizes, action bounds, timing, solver, gears and total mass as v4's compiled models
ParameterizedTest(Facts *f, locomotion, facts) {
  EnvOptions eo;
  Env *e = make_env(f->name, NULL, &eo);
  const mjModel *m = e->m;
  cr_expect_eq(m->nq, f->nq, "%s nq", f->name);
  cr_expect_eq(m->nv, f->nv, "%s nv", f->name);
  cr_expect_eq(m->nu, f->nu, "%s nu", f->name);
  cr_expect_eq(m->nbody, f->nbody, "%s nbody", f->name);
  cr_expect_eq(m->njnt, f->njnt, "%s njnt", f->name);
  cr_expect_eq(e->obs_dim, f->obs_dim, "%s obs_dim", f->name);
  cr_expect_eq(e->act_dim, f->nu, "%s act_dim", f->name);
  cr_expect_eq(e->frame_skip, f->frame_skip, "%s frame_skip", f->name);
  cr_expect_eq(e->max_steps, 1000, "%s time limit", f->name);
  cr_expect_eq(m->opt.integrator, f->integrator, "%s integrator", f->name);
  cr_expect_eq(m->opt.solver, f->solver, "%s solver", f->name);
  cr_expect_eq(m->opt.iterations, f->iterations, "%s iterations", f->name);
  cr_expect_eq(m->opt.cone, mjCONE_PYRAMIDAL, "%s cone", f->name);
  cr_expect_eq(m->opt.timestep, f->timestep, "%s timestep", f->name);
  cr_expect(fabs(e->dt - f->timestep * f->frame_skip) < 1e-15, "%s dt %g", f->name, e->dt);
  cr_expect_eq(m->opt.gravity[2], -9.81, "%s gravity", f->name);
  for (int i = 0; i < m->nu; i++) {
    cr_expect_eq(e->act_lo[i], f->act_lo, "%s act_lo[%d]", f->name, i);
    cr_expect_eq(e->act_hi[i], f->act_hi, "%s act_hi[%d]", f->name, i);
    cr_expect_eq(m->actuator_gear[6 * i], f->gear[i], "%s gear[%d] %g", f->name, i,
                 m->actuator_gear[6 * i]);
    cr_expect_eq(m->actuator_trntype[i], mjTRN_JOINT, "%s actuator %d drives a joint", f->name, i);
  }
  double mass = env_total_mass(e);
  cr_expect(fabs(mass - f->mass) <= 1e-3 * f->mass, "%s total mass %.6g, expected %g", f->name,
            mass, f->mass);
  drop(e, &eo);
}

// per-model details of anchors A.3: springs, frictions, margins, fluid, initial poses
Test(locomotion, model_details) {
  EnvOptions eo;
  Env *e = make_env("HalfCheetah", NULL, &eo);
  const mjModel *m = e->m;
  static const double stiff[6] = {240, 180, 120, 180, 120, 60}, damp[6] = {6, 4.5, 3, 4.5, 3, 1.5};
  for (int j = 0; j < 6; j++) {
    cr_expect_eq(m->jnt_stiffness[3 + j], stiff[j], "cheetah stiffness %d", j);
    cr_expect_eq(m->dof_damping[3 + j], damp[j], "cheetah damping %d", j);
    cr_expect_eq(m->dof_armature[3 + j], 0.1, "cheetah armature %d", j);
  }
  for (int g = 0; g < m->ngeom; g++)
    cr_expect_eq(m->geom_friction[3 * g], 0.4, "cheetah geom %d", g);
  drop(e, &eo);

  e = make_env("Hopper", NULL, &eo);
  m = e->m;
  cr_expect_eq(m->qpos0[1], 1.25, "hopper starts 1.25 m up");
  cr_expect_eq(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "foot_geom")], 2.0);
  cr_expect_eq(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "thigh_geom")], 0.9);
  for (int j = 3; j < 6; j++) cr_expect_eq(m->dof_damping[j], 1.0, "hopper damping %d", j);
  drop(e, &eo);

  e = make_env("Walker2d", NULL, &eo);
  m = e->m;
  cr_expect_eq(m->qpos0[1], 1.25, "walker starts 1.25 m up");
  cr_expect_eq(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "foot_geom")], 0.9, "right foot");
  cr_expect_eq(m->geom_friction[3 * mj_name2id(m, mjOBJ_GEOM, "foot_left_geom")], 1.9, "left foot");
  drop(e, &eo);

  e = make_env("Ant", NULL, &eo);
  m = e->m;
  cr_expect_eq(m->qpos0[2], 0.75, "ant starts 0.75 m up");
  for (int g = 0; g < m->ngeom; g++) cr_expect_eq(m->geom_margin[g], 0.01, "ant margin %d", g);
  drop(e, &eo);

  e = make_env("Swimmer", NULL, &eo);
  m = e->m;
  cr_expect_eq(m->opt.viscosity, 0.1);
  cr_expect_eq(m->opt.density, 4000);
  // no geom pair can collide
  for (int g = 0; g < m->ngeom; g++)
    cr_expect(!(m->geom_contype[g] & 1) && !m->geom_conaffinity[g], "swimmer geom %d collides", g);
  drop(e, &eo);

  e = make_env("Humanoid", NULL, &eo);
  m = e->m;
  cr_expect_eq(m->qpos0[2], 1.4, "humanoid starts 1.4 m up");
  cr_expect_eq(m->ntendon, 2);
  drop(e, &eo);
}

// A model that is not the task's is refused with a message naming the file and the sizes.
Test(locomotion, wrong_model) {
  EnvOptions eo, eo2;
  Env *e = make_env("Hopper", NULL, &eo);
  char model[4200];
  snprintf(model, sizeof model, "model=%s", e->model_path);
  const char *sets[] = {model, NULL};
  cr_assert_eq(env_options_set("Walker2d", sets, &eo2, err, sizeof err), 0, "%s", err);
  cr_assert_null(env_make(&eo2, err, sizeof err));
  cr_expect(strstr(err, "hopper.xml") && strstr(err, "nq 9, nv 9, nu 6"), "message '%s'", err);
  env_options_free(&eo2);
  drop(e, &eo);
}

//---------------- observations ----------------

Test(locomotion, half_cheetah_obs) {
  EnvOptions eo, eo2;
  Env *e = make_env("HalfCheetah", NULL, &eo);
  const char *keep[] = {"exclude_current_positions_from_observation=false", NULL};
  Env *f = make_env("HalfCheetah", keep, &eo2);
  cr_assert_eq(f->obs_dim, 18);
  double q[9] = {0.3, 0.02, 0.1, -0.2, 0.3, -0.1, 0.2, -0.3, 0.1};
  double v[9] = {1.5, -0.2, 0.3, 1, -1, 2, -2, 0.5, 12};
  double obs[18], obs2[18];
  reset_seed(e, 1, obs);
  reset_seed(f, 1, obs2);
  set_qpos_qvel(e, q, v, obs);
  set_qpos_qvel(f, q, v, obs2);
  // [qpos[1:], qvel], velocities unclipped
  for (int i = 0; i < 8; i++) cr_expect_eq(obs[i], q[i + 1], "obs[%d]", i);
  for (int i = 0; i < 9; i++) cr_expect_eq(obs[8 + i], v[i], "obs[%d]", 8 + i);
  for (int i = 0; i < 9; i++) cr_expect_eq(obs2[i], q[i], "kept obs[%d]", i);
  for (int i = 0; i < 9; i++) cr_expect_eq(obs2[9 + i], v[i], "kept obs[%d]", 9 + i);
  drop(e, &eo);
  drop(f, &eo2);
}

// Hopper and Walker2d: [qpos[1:], clip(qvel, -10, 10)]
static void planar_obs(const char *task, int nq, const double *q, const double *v) {
  EnvOptions eo, eo2;
  Env *e = make_env(task, NULL, &eo);
  const char *keep[] = {"exclude_current_positions_from_observation=false", NULL};
  Env *f = make_env(task, keep, &eo2);
  cr_assert_eq(e->obs_dim, 2 * nq - 1);
  cr_assert_eq(f->obs_dim, 2 * nq);
  double obs[32], obs2[32];
  reset_seed(e, 1, obs);
  reset_seed(f, 1, obs2);
  set_qpos_qvel(e, q, v, obs);
  set_qpos_qvel(f, q, v, obs2);
  int clipped = 0;
  for (int i = 1; i < nq; i++) cr_expect_eq(obs[i - 1], q[i], "%s obs[%d]", task, i - 1);
  for (int i = 0; i < nq; i++) {
    double c = v[i] > 10 ? 10 : v[i] < -10 ? -10 : v[i];
    clipped += c != v[i];
    cr_expect_eq(obs[nq - 1 + i], c, "%s obs[%d] = %g for qvel %g", task, nq - 1 + i,
                 obs[nq - 1 + i], v[i]);
    cr_expect_eq(obs2[nq + i], c, "%s kept obs[%d]", task, nq + i);
  }
  cr_expect_eq(obs2[0], q[0], "%s kept x", task);
  cr_expect_eq(clipped, 2, "the crafted state has two velocities to clip");
  drop(e, &eo);
  drop(f, &eo2);
}

Test(locomotion, hopper_obs) {
  double q[6] = {0.4, 1.2, 0.05, -0.3, -0.4, 0.1}, v[6] = {1.0, -0.5, 0.2, 15, -12, 3};
  planar_obs("Hopper", 6, q, v);
}

Test(locomotion, walker2d_obs) {
  double q[9] = {0.4, 1.2, 0.05, -0.3, -0.4, 0.1, -0.2, -0.5, 0.05};
  double v[9] = {1.0, -0.5, 0.2, 15, -2, 3, -30, 4, 0.5};
  planar_obs("Walker2d", 9, q, v);
}

Test(locomotion, swimmer_obs) {
  EnvOptions eo, eo2;
  Env *e = make_env("Swimmer", NULL, &eo);
  const char *keep[] = {"exclude_current_positions_from_observation=false", NULL};
  Env *f = make_env("Swimmer", keep, &eo2);
  cr_assert_eq(f->obs_dim, 10);
  double q[5] = {0.5, -0.3, 0.4, 0.6, -0.7}, v[5] = {0.1, 0.2, -0.3, 11, -12};
  double obs[8], obs2[10];
  reset_seed(e, 1, obs);
  reset_seed(f, 1, obs2);
  set_qpos_qvel(e, q, v, obs);
  set_qpos_qvel(f, q, v, obs2);
  for (int i = 0; i < 3; i++) cr_expect_eq(obs[i], q[i + 2], "obs[%d]", i);
  for (int i = 0; i < 5; i++) cr_expect_eq(obs[3 + i], v[i], "obs[%d]", 3 + i);
  for (int i = 0; i < 5; i++) cr_expect_eq(obs2[i], q[i], "kept obs[%d]", i);
  drop(e, &eo);
  drop(f, &eo2);
}

// a settled Ant (standing on its legs, in contact) after 20 zero-action steps from reset
static void ant_settle(Env *e) {
  double obs[128], a[8] = {0};
  EnvStep st;
  reset_seed(e, 4, obs);
  for (int t = 0; t < 20; t++) env_step(e, a, obs, &st);
}

Test(locomotion, ant_obs) {
  EnvOptions eo, eo2, eo3;
  Env *e = make_env("Ant", NULL, &eo);
  const char *contact[] = {"use_contact_forces=true", NULL};
  Env *f = make_env("Ant", contact, &eo2);
  const char *wide[] = {"use_contact_forces=true", "contact_force_min=-5", "contact_force_max=4",
                        "exclude_current_positions_from_observation=false", NULL};
  Env *g = make_env("Ant", wide, &eo3);
  cr_assert_eq(f->obs_dim, 27 + 84);
  cr_assert_eq(g->obs_dim, 29 + 84);
  double obs[128], obs2[128], obs3[128];
  ant_settle(e);
  ant_settle(f);
  ant_settle(g);
  double *s = state_copy(e);
  env_set_state(e, s, obs);
  env_set_state(f, s, obs2);
  env_set_state(g, s, obs3);
  const mjData *d = f->d;
  for (int i = 0; i < 13; i++) cr_expect_eq(obs[i], d->qpos[2 + i], "obs[%d]", i);
  for (int i = 0; i < 14; i++) cr_expect_eq(obs[13 + i], d->qvel[i], "obs[%d]", 13 + i);
  cr_expect_eq(memcmp(obs, obs2, 27 * sizeof *obs), 0, "contact forces only append");
  cr_expect_eq(memcmp(obs3, d->qpos, 15 * sizeof *obs), 0, "kept x, y");
  int clipped = 0, inside = 0, world = 0;
  for (int i = 0; i < 84; i++) {
    double c = d->cfrc_ext[i];
    cr_expect_eq(obs2[27 + i], env_clip(c, -1, 1), "cfrc_ext[%d] %g", i, c);
    cr_expect_eq(obs3[29 + i], env_clip(c, -5, 4), "cfrc_ext[%d] %g with range [-5, 4]", i, c);
    clipped += fabs(c) > 1;
    inside += c != 0 && fabs(c) < 1;
    world += i < 6 && c != 0;
  }
  cr_expect_gt(clipped, 0, "the settled ant pushes on the floor harder than 1 N");
  cr_expect_gt(inside, 0);
  cr_expect_eq(world, 0, "the world body's row is zero");
  free(s);
  drop(e, &eo);
  drop(f, &eo2);
  drop(g, &eo3);
}

Test(locomotion, humanoid_obs) {
  EnvOptions eo, eo2;
  Env *e = make_env("Humanoid", NULL, &eo);
  const char *keep[] = {"exclude_current_positions_from_observation=false", NULL};
  Env *f = make_env("Humanoid", keep, &eo2);
  cr_assert_eq(f->obs_dim, 378);
  const mjModel *m = e->m;
  double q[24] = {0.2, -0.1, 1.26, 1, 0, 0, 0}, v[23] = {0.5, 0.1, -0.2, 0.3, -0.2, 0.1};
  for (int i = 7; i < 24; i++) q[i] = 0.01 * (i - 15);
  for (int i = 6; i < 23; i++) v[i] = 0.05 * (i - 14);
  double obs[378], obs2[378];
  reset_seed(e, 1, obs);
  reset_seed(f, 1, obs2);
  // the feet reach about 1.29 m below the torso: at z = 1.26 both press into the floor
  set_qpos_qvel(e, q, v, obs);
  set_qpos_qvel(f, q, v, obs2);
  const mjData *d = e->d;
  for (int i = 0; i < 22; i++) cr_expect_eq(obs[i], q[2 + i], "obs[%d]", i);
  for (int i = 0; i < 23; i++) cr_expect_eq(obs[22 + i], v[i], "obs[%d]", 22 + i);
  // cinert rows end with the body mass
  for (int b = 0; b < 14; b++) cr_expect_eq(obs[45 + 10 * b + 9], m->body_mass[b], "mass %d", b);
  cr_expect_eq(memcmp(obs + 45, d->cinert, 140 * sizeof *obs), 0);
  // cvel rows start with the angular velocity: the torso's is qvel[3:6] when upright
  for (int k = 0; k < 3; k++) NEAR(obs[185 + 6 + k], v[3 + k], 1e-12);
  cr_expect_eq(memcmp(obs + 185, d->cvel, 84 * sizeof *obs), 0);
  cr_expect_eq(memcmp(obs + 269, d->qfrc_actuator, 23 * sizeof *obs), 0);
  cr_expect_eq(memcmp(obs + 292, d->cfrc_ext, 84 * sizeof *obs), 0);
  double right = 0, left = 0;
  for (int k = 0; k < 6; k++) {
    cr_expect_eq(obs[292 + k], 0, "world row");
    right += fabs(obs[292 + 6 * mj_name2id(m, mjOBJ_BODY, "right_foot") + k]);
    left += fabs(obs[292 + 6 * mj_name2id(m, mjOBJ_BODY, "left_foot") + k]);
  }
  cr_expect(right > 0 && left > 0, "the feet on the floor have external forces");
  cr_expect_eq(memcmp(obs2, q, 24 * sizeof *obs), 0, "kept x, y");
  cr_expect_eq(memcmp(obs2 + 24, obs + 22, 354 * sizeof *obs), 0);

  // qfrc_actuator: gear times the clamped control (abdomen_z dof 6, abdomen_y dof 7, right_hip_y
  // dof 11)
  double a[17] = {0.3, 1.0, 0, 0, 0, 0.1};
  EnvStep st;
  env_step(e, a, obs, &st);
  NEAR(obs[269 + 7], 100 * 0.3, 1e-12);
  NEAR(obs[269 + 6], 100 * 0.4, 1e-12);
  NEAR(obs[269 + 11], 300 * 0.1, 1e-12);
  cr_expect_eq(obs[269 + 8], 0);
  drop(e, &eo);
  drop(f, &eo2);
}

//---------------- rewards ----------------

// HalfCheetah and Swimmer: w * (x1 - x0) / dt - c * |a|^2 with x = qpos[0], action as given
static void forward_reward(const char *task, const double *q, const double *v, const double *a,
                           double dt) {
  const char *w[] = {"forward_reward_weight=2.5", "ctrl_cost_weight=0.3", NULL};
  EnvOptions eo, eo2;
  Env *e = make_env(task, NULL, &eo), *f = make_env(task, w, &eo2);
  double obs[32];
  reset_seed(e, 1, obs);
  reset_seed(f, 1, obs);
  set_qpos_qvel(e, q, v, obs);
  set_qpos_qvel(f, q, v, obs);
  const struct { Env *e; double w, c; } cases[2] = {
      {e, 1.0, !strcmp(task, "Swimmer") ? 1e-4 : 0.1}, {f, 2.5, 0.3}};
  for (int k = 0; k < 2; k++) {
    Env *x = cases[k].e;
    EnvStep st;
    double x0 = x->d->qpos[0];
    env_step(x, a, obs, &st);
    double x1 = x->d->qpos[0];
    cr_assert_eq(x->dt, dt);
    cr_assert(fabs(x1 - x0) > 1e-3, "%s: the crafted state moves (dx %g)", task, x1 - x0);
    double want = cases[k].w * ((x1 - x0) / dt) - cases[k].c * sq(a, x->act_dim);
    NEAR(st.reward, want, 1e-12);
    cr_expect(!st.terminated && !st.truncated);
  }
  drop(e, &eo);
  drop(f, &eo2);
}

Test(locomotion, half_cheetah_reward) {
  double q[9] = {0.3, 0.02, 0.1, -0.2, 0.3, -0.1, 0.2, -0.3, 0.1};
  double v[9] = {1.5, -0.2, 0.3, 1, -1, 2, -2, 0.5, 1};
  // 1.2 is outside the bounds: MuJoCo clamps it, the cost does not
  double a[6] = {0.5, -0.3, 1.2, 0, 0.7, -1};
  forward_reward("HalfCheetah", q, v, a, 0.05);
}

Test(locomotion, swimmer_reward) {
  double q[5] = {0.5, -0.3, 0.4, 0.6, -0.7}, v[5] = {0.3, 0.2, -0.3, 1, -2};
  double a[2] = {0.9, -1.5};
  forward_reward("Swimmer", q, v, a, 0.04);
}

// v4's Hopper / Walker2d healthy rules on the state after the step
static int hopper_rule(const mjData *d, int nq, int nv) {
  for (int i = 2; i < nq; i++)
    if (!(-100 < d->qpos[i] && d->qpos[i] < 100)) return 0;
  for (int i = 0; i < nv; i++)
    if (!(-100 < d->qvel[i] && d->qvel[i] < 100)) return 0;
  return 0.7 < d->qpos[1] && -0.2 < d->qpos[2] && d->qpos[2] < 0.2;
}

static int walker_rule(const mjData *d) {
  return 0.8 < d->qpos[1] && d->qpos[1] < 2 && -1 < d->qpos[2] && d->qpos[2] < 1;
}

// Hopper and Walker2d: (x1 - x0) / dt + 1 - 1e-3 |a|^2, healthy reward on every step while
// terminate_when_unhealthy (even the terminating one), else only when healthy
static void planar_reward(const char *task, const double *q, const double *v, const double *a) {
  EnvOptions eo, eo2;
  const char *keep_going[] = {"terminate_when_unhealthy=false", NULL};
  Env *e = make_env(task, NULL, &eo), *f = make_env(task, keep_going, &eo2);
  int hopper = !strcmp(task, "Hopper");
  double obs[32];
  reset_seed(e, 1, obs);
  reset_seed(f, 1, obs);
  set_qpos_qvel(e, q, v, obs);
  set_qpos_qvel(f, q, v, obs);
  int healthy_seen = 0, unhealthy_seen = 0;
  for (int t = 0; t < 400 && !(healthy_seen && unhealthy_seen > 1); t++) {
    EnvStep st, st2;
    double x0 = e->d->qpos[0];
    env_step(e, a, obs, &st);
    env_step(f, a, obs, &st2);
    double x1 = e->d->qpos[0];
    int healthy = hopper ? hopper_rule(e->d, e->m->nq, e->m->nv) : walker_rule(e->d);
    double fwd = (x1 - x0) / 0.008, ctrl = 1e-3 * sq(a, e->act_dim);
    NEAR(st.reward, (fwd + 1.0) - ctrl, 1e-12);
    cr_assert_eq(st.terminated, !healthy, "%s step %d", task, t);
    NEAR(st2.reward, (fwd + (healthy ? 1.0 : 0.0)) - ctrl, 1e-12);
    cr_assert(!st2.terminated);
    healthy_seen += healthy;
    unhealthy_seen += !healthy;
  }
  cr_expect(healthy_seen && unhealthy_seen, "%s: both healthy and unhealthy steps (%d, %d)", task,
            healthy_seen, unhealthy_seen);
  drop(e, &eo);
  drop(f, &eo2);
}

Test(locomotion, hopper_reward) {
  double q[6] = {0.4, 1.25, 0.05, -0.3, -0.4, 0.1}, v[6] = {1.0, -0.5, 0.2, 1.5, -1.2, 3};
  double a[3] = {0.5, -1.5, 0.2};
  planar_reward("Hopper", q, v, a);
}

Test(locomotion, walker2d_reward) {
  double q[9] = {0.4, 1.25, 0.05, -0.3, -0.4, 0.1, -0.2, -0.5, 0.05};
  double v[9] = {1.0, -0.5, 0.2, 1.5, -2, 3, -3, 4, 0.5};
  double a[6] = {0.5, -1.5, 0.2, -0.7, 0.9, 0.1};
  planar_reward("Walker2d", q, v, a);
}

// Ant: vx of the torso's xpos (what MuJoCo last computed) + 1 - 0.5 |a|^2, contact cost only
// with use_contact_forces
Test(locomotion, ant_reward) {
  EnvOptions eo, eo2;
  const char *contact[] = {"use_contact_forces=true", "contact_cost_weight=0.01", NULL};
  Env *e = make_env("Ant", NULL, &eo), *f = make_env("Ant", contact, &eo2);
  int torso = mj_name2id(e->m, mjOBJ_BODY, "torso");
  ant_settle(e);
  double *s = state_copy(e);
  double q[15], v[14], obs[128];
  memcpy(q, e->d->qpos, sizeof q);
  memcpy(v, e->d->qvel, sizeof v);
  v[0] += 0.8, v[1] -= 0.3;
  set_qpos_qvel(e, q, v, obs);
  // the task state holds x before the step: the exact torso x of the crafted pose
  double x0 = e->d->xpos[3 * torso];
  set_tstate(e, &x0);
  env_get_state(e, s);
  env_set_state(f, s, obs);
  // gentle torques: the ant keeps touching the floor on and off
  double a[8] = {0.05, -0.03, 0.12, 0, 0.07, -0.1, 0.02, 0.09};
  int touching = 0;
  for (int t = 0; t < 10; t++) {
    EnvStep st, st2;
    env_step(e, a, obs, &st);
    env_step(f, a, obs, &st2);
    double x1 = e->d->xpos[3 * torso];
    if (t == 0) cr_assert(fabs(x1 - x0) > 1e-3, "the crafted state moves");
    double want = ((x1 - x0) / 0.05 + 1.0) - 0.5 * sq(a, 8);
    NEAR(st.reward, want, 1e-12);
    double cc = 0;
    for (int i = 0; i < 84; i++) cc += pow(env_clip(f->d->cfrc_ext[i], -1, 1), 2);
    NEAR(st2.reward, want - 0.01 * cc, 1e-12);
    touching += cc > 0;
    // the next step measures from where this one ended
    x0 = x1;
  }
  cr_expect_gt(touching, 2, "the ant touches the floor");
  free(s);
  drop(e, &eo);
  drop(f, &eo2);
}

// Humanoid: 1.25 vx of the mass centre (from xipos) + 5 - 0.1 |ctrl|^2 with ctrl as given
Test(locomotion, humanoid_reward) {
  EnvOptions eo;
  Env *e = make_env("Humanoid", NULL, &eo);
  double obs[376];
  reset_seed(e, 2, obs);
  // after a reset the task state is the exact mass centre
  size_t n = env_state_size(e);
  double *s = state_copy(e);
  cr_expect_eq(s[n - 1], mass_centre_x(e), "x before the first step");
  double q[24], v[23];
  memcpy(q, e->d->qpos, sizeof q);
  memset(v, 0, sizeof v);
  v[0] = 1.0, v[4] = 0.3, v[10] = -1;
  set_qpos_qvel(e, q, v, obs);
  double x0 = mass_centre_x(e);
  set_tstate(e, &x0);
  // unit actions: MuJoCo clamps them to 0.4, the cost is on the unclamped ctrl
  double a[17];
  for (int i = 0; i < 17; i++) a[i] = i % 2 ? 1.0 : -0.2;
  EnvStep st;
  env_step(e, a, obs, &st);
  double x1 = mass_centre_x(e);
  cr_assert(fabs(x1 - x0) > 1e-3, "the crafted state moves");
  NEAR(st.reward, (1.25 * ((x1 - x0) / 0.015) + 5.0) - 0.1 * sq(a, 17), 1e-12);
  cr_expect(!st.terminated);
  free(s);
  drop(e, &eo);
}

//---------------- termination ----------------

// one step from state s with action a in a fresh `task` environment with options sets
static EnvStep step_from(const char *task, const char *const *sets, const double *s,
                         const double *a, double *qpos_after, double *qvel_after) {
  EnvOptions eo;
  Env *e = make_env(task, sets, &eo);
  double obs[400];
  reset_seed(e, 1, obs);
  env_set_state(e, s, obs);
  EnvStep st;
  env_step(e, a, obs, &st);
  if (qpos_after) memcpy(qpos_after, e->d->qpos, (size_t)e->m->nq * sizeof *qpos_after);
  if (qvel_after) memcpy(qvel_after, e->d->qvel, (size_t)e->m->nv * sizeof *qvel_after);
  drop(e, &eo);
  return st;
}

// With a bound set exactly at the value reached by the step, and one ulp either side, the step
// terminates as v4's strict (or inclusive) rule says; with terminate_when_unhealthy false it
// never does, and its reward lacks exactly the healthy reward.
typedef struct {
  const char *key;   // option
  int index;         // qpos entry it bounds; -1: Hopper's state range (qpos[2:] and qvel)
  int upper;         // a max (else a min)
  int inclusive;     // v4 accepts the bound itself
} Bound;

static void check_bounds(const char *task, const Bound *b, int nb, double healthy_reward) {
  EnvOptions eo;
  Env *e = make_env(task, NULL, &eo);
  double obs[400], a[17] = {0.1, -0.1, 0.2};
  reset_seed(e, 3, obs);
  double *s = state_copy(e);
  drop(e, &eo);
  double q1[32], v1[32];
  EnvStep base = step_from(task, NULL, s, a, q1, v1);
  cr_assert(!base.terminated, "%s: the probe step is healthy", task);
  for (int i = 0; i < nb; i++) {
    double x = b[i].index >= 0 ? q1[b[i].index] : b[i].upper ? -INFINITY : INFINITY;
    // the state range bounds the largest (or smallest) of qpos[2:6] and qvel[0:6]
    for (int k = 0; b[i].index < 0 && k < 10; k++) {
      double y = k < 4 ? q1[2 + k] : v1[k - 4];
      x = b[i].upper ? fmax(x, y) : fmin(x, y);
    }
    // in: the bound is x itself if inclusive, else one ulp beyond x
    double in = b[i].inclusive ? x : nextafter(x, b[i].upper ? INFINITY : -INFINITY);
    double out = b[i].inclusive ? nextafter(x, b[i].upper ? -INFINITY : INFINITY) : x;
    char kv[2][128], t[64];
    snprintf(kv[0], sizeof kv[0], "%s=%s", b[i].key, num(t, in));
    snprintf(kv[1], sizeof kv[1], "%s=%s", b[i].key, num(t, out));
    const char *set_in[] = {kv[0], NULL}, *set_out[] = {kv[1], NULL};
    const char *set_out_keep[] = {kv[1], "terminate_when_unhealthy=false", NULL};
    EnvStep si = step_from(task, set_in, s, a, NULL, NULL);
    EnvStep so = step_from(task, set_out, s, a, NULL, NULL);
    EnvStep sk = step_from(task, set_out_keep, s, a, NULL, NULL);
    cr_expect(!si.terminated, "%s: %s just inside: terminated", task, kv[0]);
    cr_expect(so.terminated, "%s: %s just outside: not terminated", task, kv[1]);
    cr_expect(!sk.terminated, "%s: %s without terminate_when_unhealthy", task, kv[1]);
    // v4 quirk: the terminating step still pays the healthy reward
    cr_expect_eq(so.reward, base.reward, "%s: terminating reward %.17g vs %.17g", task, so.reward,
                 base.reward);
    NEAR(sk.reward, base.reward - healthy_reward, 1e-12);
  }
  free(s);
}

Test(locomotion, hopper_termination) {
  const Bound b[] = {{"healthy_z_min", 1, 0, 0},     {"healthy_z_max", 1, 1, 0},
                     {"healthy_angle_min", 2, 0, 0}, {"healthy_angle_max", 2, 1, 0},
                     {"healthy_state_max", -1, 1, 0}, {"healthy_state_min", -1, 0, 0}};
  check_bounds("Hopper", b, 6, 1.0);
}

Test(locomotion, walker2d_termination) {
  const Bound b[] = {{"healthy_z_min", 1, 0, 0},
                     {"healthy_z_max", 1, 1, 0},
                     {"healthy_angle_min", 2, 0, 0},
                     {"healthy_angle_max", 2, 1, 0}};
  check_bounds("Walker2d", b, 4, 1.0);
}

Test(locomotion, ant_termination) {
  const Bound b[] = {{"healthy_z_min", 2, 0, 1}, {"healthy_z_max", 2, 1, 1}};
  check_bounds("Ant", b, 2, 1.0);
}

Test(locomotion, humanoid_termination) {
  const Bound b[] = {{"healthy_z_min", 2, 0, 0}, {"healthy_z_max", 2, 1, 0}};
  check_bounds("Humanoid", b, 2, 5.0);
}

// is_terminal reads the rule from observations at the default bounds
Test(locomotion, is_terminal_boundaries) {
  EnvOptions eo;
  double obs[400];
  // Hopper: obs[0] = z in (0.7, inf), obs[1] = angle in (-0.2, 0.2), obs[1:5] in (-100, 100)
  Env *e = make_env("Hopper", NULL, &eo);
  reset_seed(e, 1, obs);
  cr_expect(!env_is_terminal(e, obs));
  double o[11];
  memcpy(o, obs, sizeof o);
  o[0] = 0.7;
  cr_expect(env_is_terminal(e, o), "z = 0.7");
  o[0] = nextafter(0.7, 1);
  cr_expect(!env_is_terminal(e, o), "z just above 0.7");
  o[0] = 1e300;
  cr_expect(!env_is_terminal(e, o), "no upper z bound");
  o[1] = 0.2;
  cr_expect(env_is_terminal(e, o), "angle = 0.2");
  o[1] = nextafter(-0.2, 0);
  cr_expect(!env_is_terminal(e, o), "angle just above -0.2");
  o[3] = -100;
  cr_expect(env_is_terminal(e, o), "joint angle = -100");
  o[3] = nextafter(-100, 0);
  cr_expect(!env_is_terminal(e, o));
  o[7] = NAN;
  cr_expect(env_is_terminal(e, o), "NaN velocity");
  cr_expect(!env_has_reward(e));
  drop(e, &eo);

  // Walker2d: z in (0.8, 2), angle in (-1, 1)
  e = make_env("Walker2d", NULL, &eo);
  reset_seed(e, 1, obs);
  double w[17];
  memcpy(w, obs, sizeof w);
  cr_expect(!env_is_terminal(e, w));
  w[0] = 2.0;
  cr_expect(env_is_terminal(e, w), "z = 2");
  w[0] = nextafter(2.0, 0);
  cr_expect(!env_is_terminal(e, w));
  w[1] = -1;
  cr_expect(env_is_terminal(e, w), "angle = -1");
  w[1] = nextafter(1.0, 0);
  cr_expect(!env_is_terminal(e, w));
  drop(e, &eo);

  // Ant: z in [0.2, 1], all of obs finite
  e = make_env("Ant", NULL, &eo);
  reset_seed(e, 1, obs);
  double an[27];
  memcpy(an, obs, sizeof an);
  an[0] = 0.2;
  cr_expect(!env_is_terminal(e, an), "z = 0.2 is healthy");
  an[0] = 1.0;
  cr_expect(!env_is_terminal(e, an), "z = 1 is healthy");
  an[0] = nextafter(1.0, 2);
  cr_expect(env_is_terminal(e, an), "z just above 1");
  an[0] = nextafter(0.2, 0);
  cr_expect(env_is_terminal(e, an), "z just below 0.2");
  an[0] = 0.5;
  an[20] = INFINITY;
  cr_expect(env_is_terminal(e, an), "infinite velocity");
  drop(e, &eo);

  // Humanoid: z in (1, 2)
  e = make_env("Humanoid", NULL, &eo);
  reset_seed(e, 1, obs);
  cr_expect(!env_is_terminal(e, obs));
  obs[0] = 1.0;
  cr_expect(env_is_terminal(e, obs), "z = 1");
  obs[0] = nextafter(1.0, 2);
  cr_expect(!env_is_terminal(e, obs));
  obs[0] = 2.0;
  cr_expect(env_is_terminal(e, obs), "z = 2");
  drop(e, &eo);

  // never terminal: HalfCheetah, Swimmer, and any task without terminate_when_unhealthy
  const char *keep[] = {"terminate_when_unhealthy=false", NULL};
  const char *never[][2] = {{"HalfCheetah", NULL}, {"Swimmer", NULL}};
  for (int i = 0; i < 2; i++) {
    e = make_env(never[i][0], NULL, &eo);
    reset_seed(e, 1, obs);
    for (int k = 0; k < e->obs_dim; k++) obs[k] = -1e9;
    cr_expect(!env_is_terminal(e, obs), "%s", never[i][0]);
    cr_expect(!env_has_reward(e), "%s", never[i][0]);
    drop(e, &eo);
  }
  const char *terminating[] = {"Hopper", "Walker2d", "Ant", "Humanoid"};
  for (int i = 0; i < 4; i++) {
    e = make_env(terminating[i], keep, &eo);
    reset_seed(e, 1, obs);
    obs[0] = -5;   // z far below every healthy range
    cr_expect(!env_is_terminal(e, obs), "%s without terminate_when_unhealthy", terminating[i]);
    cr_expect(!env_has_reward(e), "%s", terminating[i]);
    drop(e, &eo);
  }
}

//---------------- reset noise ----------------

typedef struct {
  char name[16];
  int normal;       // qvel ~ s N(0, 1) (else U(-s, s))
  double scale;     // the default reset_noise_scale
} Noise;

ParameterizedTestParameters(locomotion, reset_noise) {
  static Noise n[] = {{"HalfCheetah", 1, 0.1}, {"Hopper", 0, 5e-3}, {"Walker2d", 0, 5e-3},
                      {"Swimmer", 0, 0.1},     {"Ant", 1, 0.1},     {"Humanoid", 0, 1e-2}};
  return cr_make_param_array(Noise, n, sizeof n / sizeof n[0]);
}

// qpos0 + U(-s, s) on every qpos (quaternions too); qvel U(-s, s) or s N(0, 1); the spread
// matches (variance s^2 / 3 or s^2); a zero scale gives the model's initial state exactly
ParameterizedTest(Noise *c, locomotion, reset_noise) {
  EnvOptions eo, eo2;
  Env *e = make_env(c->name, NULL, &eo);
  const char *quiet[] = {"reset_noise_scale=0", NULL};
  Env *z = make_env(c->name, quiet, &eo2);
  const mjModel *m = e->m;
  double s = c->scale, obs[400];
  Rng r;
  rng_init(&r, 11, RNG_STREAM_RESET);
  enum { N = 2000 };
  // the free joint's quaternion (Ant, Humanoid): MuJoCo 2.2.2's mj_forward normalises it in
  // place, so it is checked as a direction: q[i] / q[0] = u_i / (1 + u_0)
  int quat = m->jnt_type[0] == mjJNT_FREE ? 3 : -1;
  double pmax = 0, psum = 0, psq = 0, vsum = 0, vsq = 0, vmax = 0;
  long np = 0, nv = 0, beyond = 0;
  for (int k = 0; k < N; k++) {
    env_reset(e, &r, obs);
    for (int i = 0; i < m->nq; i++) {
      double d = e->d->qpos[i] - m->qpos0[i];
      if (quat >= 0 && i >= quat && i < quat + 4) {
        const double *q = e->d->qpos + quat;
        cr_assert(fabs(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3] - 1) < 1e-12);
        if (i > quat)
          cr_assert(fabs(q[i - quat] / q[0]) <= s / (1 - s) + 1e-12, "%s quaternion %d: %g",
                    c->name, i - quat, q[i - quat] / q[0]);
        continue;
      }
      cr_assert(fabs(d) <= s + 1e-12, "%s qpos[%d] off by %g", c->name, i, d);
      pmax = fmax(pmax, fabs(d)), psum += d, psq += d * d, np++;
    }
    for (int i = 0; i < m->nv; i++) {
      double d = e->d->qvel[i];
      if (!c->normal) cr_assert(fabs(d) <= s, "%s qvel[%d] = %g", c->name, i, d);
      vmax = fmax(vmax, fabs(d)), vsum += d, vsq += d * d, nv++, beyond += fabs(d) > s;
    }
  }
  double pvar = psq / np - pow(psum / np, 2), vvar = vsq / nv - pow(vsum / nv, 2);
  cr_expect(fabs(pvar / (s * s / 3) - 1) < 0.05, "%s qpos variance %g vs %g", c->name, pvar,
            s * s / 3);
  cr_expect(fabs(psum / np) < 4 * s / sqrt(3.0 * np), "%s qpos mean %g", c->name, psum / np);
  cr_expect_gt(pmax, 0.99 * s, "%s qpos noise reaches its bounds", c->name);
  double want = c->normal ? s * s : s * s / 3;
  cr_expect(fabs(vvar / want - 1) < 0.05, "%s qvel variance %g vs %g", c->name, vvar, want);
  if (c->normal)
    // a normal exceeds one standard deviation 31.7% of the time
    cr_expect(fabs((double)beyond / nv - 0.317) < 0.02, "%s: %ld of %ld beyond s", c->name,
              beyond, nv);
  else
    cr_expect_gt(vmax, 0.99 * s, "%s", c->name);
  // no noise: the initial state itself
  env_reset(z, &r, obs);
  cr_expect_eq(memcmp(z->d->qpos, m->qpos0, (size_t)m->nq * sizeof *obs), 0, "%s", c->name);
  for (int i = 0; i < m->nv; i++) cr_expect_eq(z->d->qvel[i], 0, "%s", c->name);
  drop(e, &eo);
  drop(z, &eo2);
}

//---------------- options ----------------

// the options change what they should: weights scale their terms, flags change obs_dim, bad
// ranges are refused
Test(locomotion, options) {
  // ctrl_cost_weight and healthy_reward: same physics, reward terms scaled
  const char *w1[] = {"ctrl_cost_weight=0.25", "healthy_reward=3", NULL};
  const char *w2[] = {"ctrl_cost_weight=0.75", "healthy_reward=-1", NULL};
  const char *tasks[] = {"Hopper", "Walker2d", "Ant", "Humanoid"};
  for (int k = 0; k < 4; k++) {
    EnvOptions eo1, eo2;
    Env *e1 = make_env(tasks[k], w1, &eo1), *e2 = make_env(tasks[k], w2, &eo2);
    double obs[400], a[17];
    for (int i = 0; i < 17; i++) a[i] = 0.3 * ((i % 3) - 1);
    reset_seed(e1, 5, obs);
    reset_seed(e2, 5, obs);
    EnvStep s1, s2;
    env_step(e1, a, obs, &s1);
    env_step(e2, a, obs, &s2);
    double c = sq(a, e1->act_dim);
    NEAR(s1.reward - s2.reward, (3.0 - -1.0) + (0.75 - 0.25) * c, 1e-12);
    drop(e1, &eo1);
    drop(e2, &eo2);
  }
  // exclude_current_positions_from_observation adds x (and y) in front
  const char *keep[] = {"exclude_current_positions_from_observation=false", NULL};
  const char *all[] = {"HalfCheetah", "Hopper", "Walker2d", "Swimmer", "Ant", "Humanoid"};
  const int extra[] = {1, 1, 1, 2, 2, 2};
  for (int k = 0; k < 6; k++) {
    EnvOptions eo1, eo2;
    Env *e1 = make_env(all[k], NULL, &eo1), *e2 = make_env(all[k], keep, &eo2);
    cr_expect_eq(e2->obs_dim, e1->obs_dim + extra[k], "%s", all[k]);
    double o1[400], o2[400];
    reset_seed(e1, 6, o1);
    reset_seed(e2, 6, o2);
    cr_expect_eq(memcmp(o2, e2->d->qpos, (size_t)extra[k] * sizeof *o2), 0, "%s", all[k]);
    cr_expect_eq(memcmp(o2 + extra[k], o1, (size_t)e1->obs_dim * sizeof *o1), 0, "%s", all[k]);
    drop(e1, &eo1);
    drop(e2, &eo2);
  }
  // inverted ranges are refused at make
  const char *bad[][3] = {{"Hopper", "healthy_z_min=3", "healthy_z_max=2"},
                          {"Walker2d", "healthy_angle_min=1", "healthy_angle_max=1"},
                          {"Ant", "contact_force_min=2", "contact_force_max=1"},
                          {"Humanoid", "healthy_z_min=2", "healthy_z_max=1.5"}};
  for (int k = 0; k < 4; k++) {
    Config cfg;
    EnvOptions eo;
    cfg_init(&cfg);
    cr_assert_eq(env_options_register(&cfg, bad[k][0], &eo, err, sizeof err), 0);
    for (int j = 1; j < 3; j++) {
      char key[64];
      const char *eq = strchr(bad[k][j], '=');
      snprintf(key, sizeof key, "env.%.*s", (int)(eq - bad[k][j]), bad[k][j]);
      cr_assert_eq(cfg_push(&cfg, key, eq + 1, CFG_SET, "test", err, sizeof err), 0);
    }
    cr_assert_eq(cfg_apply(&cfg, 1, err, sizeof err), 0, "%s", err);
    cr_expect_null(env_make(&eo, err, sizeof err), "%s accepted %s", bad[k][0], bad[k][1]);
    cr_expect(strstr(err, "min <"), "%s: message '%s'", bad[k][0], err);
    cfg_free(&cfg);
    env_options_free(&eo);
  }
  // Hopper's open upper z bound reads as inf, and other values than inf are accepted too
  EnvOptions eo;
  const char *capped[] = {"healthy_z_max=1.0", NULL};
  Env *e = make_env("Hopper", capped, &eo);
  double obs[16];
  reset_seed(e, 1, obs);
  cr_expect(env_is_terminal(e, obs), "z 1.25 is above a 1.0 cap");
  drop(e, &eo);
}

//---------------- random policy ----------------

typedef struct {
  char name[16];
  double lo, hi;         // accepted range of the mean return
  double len_lo, len_hi; // accepted range of the mean episode length
} Random;

// Ranges (100 episodes, uniform actions in the bounds; D4RL's random scores, anchors B.5, from
// older env versions, guide the locomotion ones):
//   HalfCheetah  ctrl cost 0.1 * 6/3 = 0.2 a step over 1000 steps = -200, plus a forward drift of
//                either sign: D4RL -280; accepted [-450, -100], always 1000 steps
//   Hopper       falls within tens of steps, about +1 a step: D4RL -20 (v0); accepted [0, 100]
//   Walker2d     similar: D4RL 1.6; accepted [-20, 60]
//   Swimmer      no termination, cost 1e-4 * 2/3 a step, forward drift near 0: [-40, 40]
//   Ant          ctrl cost 0.5 * 8/3 = 1.33 against healthy 1 a step, no contact cost in v4 (v2's
//                D4RL -326 included a small one); episodes end when the torso leaves [0.2, 1]:
//                accepted [-500, 0]
//   Humanoid     falls in about 20-30 steps at 5 a step, tiny ctrl cost (0.1 * 17 * 0.16/3); MR.Q's
//                initial-policy score is 94: accepted [50, 250]
ParameterizedTestParameters(locomotion, random_policy) {
  static Random r[] = {
      {"HalfCheetah", -450, -100, 1000, 1000}, {"Hopper", 0, 100, 5, 100},
      {"Walker2d", -20, 60, 5, 100},           {"Swimmer", -40, 40, 1000, 1000},
      {"Ant", -500, 0, 50, 1000},               {"Humanoid", 50, 250, 10, 60},
  };
  return cr_make_param_array(Random, r, sizeof r / sizeof r[0]);
}

ParameterizedTest(Random *c, locomotion, random_policy) {
  EnvOptions eo;
  Env *e = make_env(c->name, NULL, &eo);
  Rng reset, act;
  rng_init(&reset, 2024, RNG_STREAM_RESET);
  rng_init(&act, 2024, RNG_STREAM_EXPLORE);
  double *obs = malloc((size_t)e->obs_dim * sizeof *obs), a[17];
  enum { EPISODES = 100 };
  double sum = 0, sumsq = 0, len = 0;
  int diverged = 0;
  for (int ep = 0; ep < EPISODES; ep++) {
    env_reset(e, &reset, obs);
    double ret = 0;
    EnvStep st = {0};
    int t = 0;
    while (!st.terminated && !st.truncated) {
      for (int i = 0; i < e->act_dim; i++)
        a[i] = rng_uniform_range(&act, e->act_lo[i], e->act_hi[i]);
      env_step(e, a, obs, &st);
      ret += st.reward;
      diverged += st.diverged;
      t++;
    }
    sum += ret, sumsq += ret * ret, len += t;
  }
  double mean = sum / EPISODES, sd = sqrt(fmax(0, sumsq / EPISODES - mean * mean));
  fprintf(stderr, "random policy %-12s return %9.2f +- %7.2f  length %7.1f  (%d episodes)\n",
          c->name, mean, sd, len / EPISODES, EPISODES);
  cr_expect_eq(diverged, 0, "%s: %d divergences", c->name, diverged);
  cr_expect(mean >= c->lo && mean <= c->hi, "%s: mean return %g outside [%g, %g]", c->name, mean,
            c->lo, c->hi);
  cr_expect(len / EPISODES >= c->len_lo && len / EPISODES <= c->len_hi,
            "%s: mean length %g outside [%g, %g]", c->name, len / EPISODES, c->len_lo, c->len_hi);
  free(obs);
  drop(e, &eo);
}
