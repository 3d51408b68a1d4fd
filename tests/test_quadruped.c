// Tests of the Quadruped task: the model, IK/FK, the trot generator, the PD controller, the
// zero-action trot, reward and termination, state replay, options, random actions.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "task.h"
#include "tasks/quadruped.h"


enum { OBS = 11, ACT = 12 };

// the documented constants
#define L1 0.12
#define L2 0.12
#define STEP_LEN 0.05
#define STEP_HEIGHT 0.03
#define STANCE_DEPTH 0.01
#define STAND_HEIGHT 0.20
#define ROLL_MAX (mjPI / 6)
#define PITCH_MAX (35.0 * mjPI / 180)

static char err[1024];

#define NEAR(got, want, tol)                                                                    \
  do {                                                                                          \
    double g_ = (got), w_ = (want);                                                             \
    cr_assert(fabs(g_ - w_) <= (tol), "%s = %.17g, expected %.17g (tol %g)", #got, g_, w_,      \
              (double)(tol));                                                                   \
  } while (0)

// an environment with the task's options set from "name=value" strings (NULL-terminated)
typedef struct {
  EnvOptions eo;
  Env *e;
} Made;

static Made *make(const char *const *sets) {
  Made *k = calloc(1, sizeof *k);
  cr_assert_eq(env_options_set("Quadruped", sets, &k->eo, err, sizeof err), 0, "%s", err);
  k->e = env_make(&k->eo, err, sizeof err);
  cr_assert_not_null(k->e, "%s", err);
  return k;
}

static void unmake(Made *k) {
  env_free(k->e);
  env_options_free(&k->eo);
  free(k);
}

// the default environment of each test (Criterion runs every test in its own process)
static Made *dflt;
static void suite_init(void) { dflt = make(NULL); }
static void suite_fini(void) { unmake(dflt); }
TestSuite(quadruped, .init = suite_init, .fini = suite_fini);

static double max_abs(double a, double b) { return fabs(a) > b ? fabs(a) : b; }

// what one episode did
typedef struct {
  int steps, terminated, diverged;
  double ret, speed, zmin, zmax, zmean, roll, pitch, y;
} Episode;

// an episode from reset substream `seed`; actions uniform in [-noise, noise]
static Episode run_episode(Env *e, uint32_t seed, double noise) {
  Rng r, ra;
  rng_init_sub(&r, 11, RNG_STREAM_EVAL, seed);
  rng_init_sub(&ra, 11, RNG_STREAM_EXPLORE, seed);
  double obs[OBS], act[ACT] = {0};
  env_reset(e, &r, obs);
  Episode ep = {.zmin = INFINITY, .zmax = -INFINITY};
  double x0 = e->d->qpos[0];
  EnvStep st = {0};
  while (!st.terminated && !st.truncated) {
    for (int i = 0; i < ACT; i++) act[i] = noise * rng_uniform_range(&ra, -1, 1);
    env_step(e, act, obs, &st);
    for (int i = 0; i < OBS; i++) cr_assert(isfinite(obs[i]), "obs %d = %g", i, obs[i]);
    ep.steps++;
    ep.ret += st.reward;
    ep.zmin = fmin(ep.zmin, obs[0]);
    ep.zmax = fmax(ep.zmax, obs[0]);
    ep.zmean += obs[0];
    ep.roll = max_abs(obs[1], ep.roll);
    ep.pitch = max_abs(obs[2], ep.pitch);
  }
  ep.terminated = st.terminated;
  ep.diverged = st.diverged;
  ep.zmean /= ep.steps;
  ep.speed = (e->d->qpos[0] - x0) / (ep.steps * e->dt);
  ep.y = e->d->qpos[1];
  return ep;
}

//---------------- the model ----------------

Test(quadruped, model_facts) {
  Env *e = dflt->e;
  const mjModel *m = e->m;
  NEAR(env_total_mass(e), 3.0, 1e-9);
  cr_assert_eq(m->nu, 8);
  cr_assert_eq(m->njnt, 9);   // the free joint and 8 hinges
  cr_assert_eq(m->nq, 15);
  cr_assert_eq(m->nv, 14);
  NEAR(m->opt.timestep, 0.001, 0);
  NEAR(e->dt, 0.01, 1e-15);
  cr_assert_eq(e->frame_skip, 10);
  cr_assert_eq(e->max_steps, 1000);
  const char *legs[4] = {"fl", "fr", "bl", "br"};
  for (int l = 0; l < 4; l++) {
    char name[32];
    snprintf(name, sizeof name, "%s_shank", legs[l]);
    int shank = mj_name2id(m, mjOBJ_BODY, name);
    cr_assert_geq(shank, 0);
    NEAR(m->body_pos[3 * shank + 2], -L1, 1e-12);   // thigh length: hip to knee
    snprintf(name, sizeof name, "%s_foot", legs[l]);
    int foot = mj_name2id(m, mjOBJ_GEOM, name);
    cr_assert_geq(foot, 0);
    NEAR(m->geom_pos[3 * foot + 2], -L2, 1e-12);    // shank length: knee to foot centre
    cr_assert_eq(m->geom_bodyid[foot], shank);
    // hinges about the lateral axis, and motors with a torque limit
    for (int j = 0; j < 2; j++) {
      snprintf(name, sizeof name, "%s_%s", legs[l], j ? "knee" : "hip");
      int jid = mj_name2id(m, mjOBJ_JOINT, name);
      cr_assert_geq(jid, 0);
      cr_assert_eq(m->jnt_type[jid], mjJNT_HINGE);
      NEAR(fabs(m->jnt_axis[3 * jid + 1]), 1, 0);
      int a = 2 * l + j;
      cr_assert_eq(m->actuator_trnid[2 * a], jid);
      cr_assert(m->actuator_ctrllimited[a]);
      NEAR(m->actuator_ctrlrange[2 * a + 1], 4, 0);
    }
  }
}

Test(quadruped, dims_and_bounds) {
  Env *e = dflt->e;
  cr_assert_eq(e->obs_dim, OBS);
  cr_assert_eq(e->act_dim, ACT);
  for (int i = 0; i < ACT; i++) {
    cr_assert_eq(e->act_lo[i], -1);
    cr_assert_eq(e->act_hi[i], 1);
  }
  cr_assert_eq(env_has_reward(e), 0);
  cr_assert_str_eq(env_task_name(e->task), "Quadruped");
  cr_assert_eq(env_state_size(e), 1 + 15 + 14 + 14 + 1 + 13);
}

Test(quadruped, setup_rejects_a_wrong_model) {
  char path[] = "/tmp/mb_quad_XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  const char *xml = "<mujoco><worldbody><body><freejoint/><geom size='0.1'/></body></worldbody>"
                    "</mujoco>\n";
  cr_assert_eq(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
  close(fd);
  EnvOptions eo;
  char model[128];
  snprintf(model, sizeof model, "model=%s", path);
  const char *sets[] = {model, NULL};
  cr_assert_eq(env_options_set("Quadruped", sets, &eo, err, sizeof err), 0, "%s", err);
  cr_assert_null(env_make(&eo, err, sizeof err));
  cr_assert(strstr(err, path) && strstr(err, "needs nq 15"), "%s", err);
  env_options_free(&eo);
  unlink(path);
}

//---------------- kinematics and the generator ----------------

Test(quadruped, ik_fk_round_trip) {
  int n = 0;
  for (double x = -0.2; x <= 0.2; x += 0.005)
    for (double z = -0.24; z <= 0.1; z += 0.005) {
      double r = hypot(x, z);
      if (r < 0.05 || r > L1 + L2 - 0.005) continue;
      double hip, knee, fx, fz;
      cr_assert_eq(quadruped_ik(x, z, &hip, &knee), 0);
      cr_assert(knee >= 0 && knee <= mjPI, "knee %g bends forward", knee);
      quadruped_fk(hip, knee, &fx, &fz);
      NEAR(fx, x, 1e-12);
      NEAR(fz, z, 1e-12);
      n++;
    }
  cr_assert_gt(n, 1500);
  // and IK(FK(q)) = q over the knee's bend range
  for (double hip = -1.5; hip <= 1.5; hip += 0.1)
    for (double knee = 0.5; knee <= 2.7; knee += 0.1) {
      double x, z, h2, k2;
      quadruped_fk(hip, knee, &x, &z);
      quadruped_ik(x, z, &h2, &k2);
      NEAR(h2, hip, 1e-9);
      NEAR(k2, knee, 1e-9);
    }
  // standing, foot right below the hip: the law of cosines, and the hip at half the knee (l1 = l2)
  double hip, knee;
  quadruped_ik(0, -STAND_HEIGHT, &hip, &knee);
  NEAR(knee, acos((0.04 - L1 * L1 - L2 * L2) / (2 * L1 * L2)), 1e-15);
  NEAR(hip, -knee / 2, 1e-15);
}

Test(quadruped, ik_clamps_unreachable_targets) {
  double hip, knee, x, z;
  // too far: the leg stretches (almost) straight toward the target
  cr_assert_eq(quadruped_ik(0.3, -0.4, &hip, &knee), 1);
  quadruped_fk(hip, knee, &x, &z);
  NEAR(hypot(x, z), L1 + L2 - 0.005, 1e-12);
  NEAR(atan2(x, -z), atan2(0.3, 0.4), 1e-12);
  // too close, and at the hip itself
  cr_assert_eq(quadruped_ik(0.01, -0.01, &hip, &knee), 1);
  quadruped_fk(hip, knee, &x, &z);
  NEAR(hypot(x, z), 0.05, 1e-12);
  cr_assert_eq(quadruped_ik(0, 0, &hip, &knee), 1);
  quadruped_fk(hip, knee, &x, &z);
  NEAR(x, 0, 1e-12);
  NEAR(z, -0.05, 1e-12);
}

// reset: the nominal pose (IK of the generator at phase 0, zero action) with each joint within
// +-0.05 rad of it, upright at rest height, and velocities 0.05 N(0, 1)
Test(quadruped, reset_noise) {
  Made *k = make(NULL);
  Env *e = k->e;
  const double zero[ACT] = {0};
  double q0[8];
  for (int l = 0; l < 4; l++) {
    double x, z;
    quadruped_foot_target(zero, 0, l, &x, &z);
    quadruped_ik(x, z, &q0[2 * l], &q0[2 * l + 1]);
  }
  Rng r;
  rng_init(&r, 4, RNG_STREAM_RESET);
  double obs[OBS], maxdev = 0, sumsq = 0, z_first = 0;
  int n = 0;
  for (int i = 0; i < 400; i++) {
    env_reset(e, &r, obs);
    if (i == 0) z_first = e->d->qpos[2];
    cr_assert_eq(e->d->qpos[2], z_first, "the start height does not depend on the noise");
    cr_assert(fabs(obs[1]) < 1e-12 && fabs(obs[2]) < 1e-12, "upright");
    for (int j = 0; j < 8; j++) {
      double dev = fabs(e->d->qpos[7 + j] - q0[j]);
      if (dev > maxdev) maxdev = dev;
    }
    for (int j = 0; j < e->m->nv; j++) sumsq += e->d->qvel[j] * e->d->qvel[j], n++;
  }
  cr_assert_leq(maxdev, 0.05, "joint noise beyond 0.05 rad: %g", maxdev);
  cr_assert_geq(maxdev, 0.045, "joint noise never comes near its bound: %g", maxdev);
  // 5600 draws of 0.05 N(0, 1): the sample std is within 3% of 0.05 (about 3 standard errors)
  double std = sqrt(sumsq / n);
  cr_assert(fabs(std - 0.05) < 0.0015, "velocity std %g", std);
  unmake(k);
}

Test(quadruped, trot_generator) {
  double zero[ACT] = {0}, x, z, x2, z2;
  // leg FL (phase offset 0): lift-off behind, apex mid-swing, touch-down in front, stance dip
  quadruped_foot_target(zero, 0, 0, &x, &z);
  NEAR(x, -STEP_LEN / 2, 1e-15);
  NEAR(z, -STAND_HEIGHT, 1e-15);
  quadruped_foot_target(zero, mjPI / 2, 0, &x, &z);
  NEAR(x, 0, 1e-15);
  NEAR(z, -STAND_HEIGHT + STEP_HEIGHT, 1e-15);
  quadruped_foot_target(zero, mjPI, 0, &x, &z);
  NEAR(x, STEP_LEN / 2, 1e-15);
  NEAR(z, -STAND_HEIGHT, 1e-15);
  quadruped_foot_target(zero, 1.5 * mjPI, 0, &x, &z);
  NEAR(x, 0, 1e-15);
  NEAR(z, -STAND_HEIGHT - STANCE_DEPTH, 1e-15);
  // the general point, and the diagonals: FL with BR, FR with BL half a cycle later
  for (double ph = 0; ph < 2 * mjPI; ph += 0.1) {
    quadruped_foot_target(zero, ph, 0, &x, &z);
    NEAR(x, -STEP_LEN / 2 * cos(ph), 1e-15);
    NEAR(z, -STAND_HEIGHT + (ph < mjPI ? STEP_HEIGHT : STANCE_DEPTH) * sin(ph), 1e-15);
    quadruped_foot_target(zero, ph, 3, &x2, &z2);
    cr_assert(x2 == x && z2 == z);
    quadruped_foot_target(zero, ph, 1, &x, &z);
    quadruped_foot_target(zero, ph, 2, &x2, &z2);
    cr_assert(x2 == x && z2 == z);
    quadruped_foot_target(zero, fmod(ph + mjPI, 2 * mjPI), 0, &x2, &z2);
    NEAR(x, x2, 1e-12);
    NEAR(z, z2, 1e-12);
  }
  // the action transform, leg BL (index 2): x shift a[2], z shift a[6], step length a[10]
  double act[ACT] = {0};
  act[2] = 0.5, act[6] = -0.25, act[10] = 0.6;
  for (double ph = 0; ph < 2 * mjPI; ph += 0.1) {
    quadruped_foot_target(act, ph, 2, &x, &z);
    quadruped_foot_target(zero, ph, 2, &x2, &z2);
    double th = fmod(ph + mjPI, 2 * mjPI);
    NEAR(x, 0.5 * 0.04 - 0.5 * STEP_LEN * 1.6 * cos(th), 1e-15);
    NEAR(z - z2, -0.25 * 0.04, 1e-15);
    quadruped_foot_target(act, ph, 0, &x, &z);   // the other legs are untouched
    quadruped_foot_target(zero, ph, 0, &x2, &z2);
    cr_assert(x == x2 && z == z2);
  }
  // step length scale -1 steps in place
  act[10] = -1;
  quadruped_foot_target(act, 0.3, 2, &x, &z);
  NEAR(x, 0.02, 1e-15);
}

//---------------- the PD controller ----------------

Test(quadruped, pd_tracks_a_held_pose_in_the_air) {
  Env *e = dflt->e;
  Rng r;
  rng_init(&r, 1, RNG_STREAM_DATA);
  double obs[OBS];
  env_reset(e, &r, obs);
  e->m->opt.gravity[2] = 0;
  e->d->qpos[2] = 1.0;   // far from the floor
  double qdes[8] = {0.4, 0.9, -0.3, 1.4, 0.1, 2.0, -0.6, 0.5}, v[8] = {0};
  for (int k = 0; k < 1500; k++) quadruped_pd_substep(e, qdes, v);
  double worst = 0;
  for (int i = 0; i < 8; i++)
    worst = max_abs(e->d->qpos[e->m->jnt_qposadr[1 + i]] - qdes[i], worst);
  cr_log_info("PD in the air: largest joint error after 1.5 s %.2e rad", worst);
  // overdamped: the error decays as exp(-t kp / kd), kd / kp = 0.08 s
  cr_assert_lt(worst, 1e-6);
  cr_assert_eq(e->diverged, 0);
}

Test(quadruped, pd_holds_the_standing_pose_under_load) {
  Env *e = dflt->e;
  Rng r;
  rng_init(&r, 2, RNG_STREAM_DATA);
  double obs[OBS], qdes[8], v[8] = {0};
  env_reset(e, &r, obs);
  for (int l = 0; l < 4; l++) quadruped_ik(0, -STAND_HEIGHT, &qdes[2 * l], &qdes[2 * l + 1]);
  for (int k = 0; k < 3000; k++) quadruped_pd_substep(e, qdes, v);
  double worst = 0, speed = 0;
  for (int i = 0; i < 8; i++) {
    worst = max_abs(e->d->qpos[e->m->jnt_qposadr[1 + i]] - qdes[i], worst);
    speed = max_abs(e->d->qvel[e->m->jnt_dofadr[1 + i]], speed);
  }
  cr_log_info("PD standing: largest joint sag %.4f rad, joint speed %.2e, torso at %.4f m", worst,
              speed, e->d->qpos[2]);
  // gravity sag: about (knee load 0.7 N m) / (kp 25) = 0.03 rad
  cr_assert_lt(worst, 0.05);
  cr_assert_lt(speed, 1e-3);
  NEAR(e->d->qpos[2], STAND_HEIGHT + 0.015, 0.01);
  NEAR(e->d->qpos[3], 1, 1e-4);   // level
}

//---------------- the zero-action trot ----------------

Test(quadruped, zero_action_trots_forward) {
  Env *e = dflt->e;
  double vsum = 0;
  for (uint32_t s = 0; s < 5; s++) {
    Episode ep = run_episode(e, s, 0);
    cr_log_info("zero action seed %u: %d steps, return %.1f, speed %.4f m/s, z [%.3f, %.3f], "
                "|roll| %.3f, |pitch| %.3f, y %.3f", s, ep.steps, ep.ret, ep.speed, ep.zmin,
                ep.zmax, ep.roll, ep.pitch, ep.y);
    cr_assert_eq(ep.steps, 1000, "seed %u fell after %d steps", s, ep.steps);
    cr_assert_eq(ep.terminated, 0);
    cr_assert_eq(ep.diverged, 0);
    // measured: 0.249 m/s, z in [0.212, 0.222], |roll| <= 0.13, |pitch| <= 0.11, return ~1380
    cr_assert(ep.speed > 0.2 && ep.speed < 0.3, "speed %g", ep.speed);
    cr_assert(ep.zmin > 0.2 && ep.zmax < 0.235, "z in [%g, %g]", ep.zmin, ep.zmax);
    cr_assert_lt(ep.roll, 0.2);
    cr_assert_lt(ep.pitch, 0.2);
    cr_assert_lt(fabs(ep.y), 0.5);
    cr_assert_gt(ep.ret, 1200);
    vsum += ep.speed;
  }
  cr_log_info("zero action: mean speed %.4f m/s over 5 seeds", vsum / 5);
}

//---------------- reward and termination ----------------

Test(quadruped, reward_terms_by_hand) {
  double act[ACT] = {0}, prev[ACT] = {0}, t[5];
  // on target, at the reference height, level, still: 1 + 0.3 + 0.3
  double r = quadruped_reward_terms(0.3, 0.3, 0.215, 0, 0, act, prev, 0, t);
  NEAR(t[0], 1.0, 1e-15);
  NEAR(t[1], 0.3, 1e-15);
  NEAR(t[2], 0.3, 1e-15);
  cr_assert(t[3] == 0 && t[4] == 0);
  NEAR(r, 1.6, 1e-15);
  // one kernel width off in each: speed 0.2 m/s, height 0.03 m, attitude 0.1 rad
  act[0] = 0.5, act[7] = -1, prev[0] = -0.5, prev[11] = 0.2;
  r = quadruped_reward_terms(0.3, 0.1, 0.245, 0.06, -0.08, act, prev, 12.5, t);
  NEAR(t[0], exp(-1), 1e-15);
  NEAR(t[1], 0.3 * exp(-1), 1e-15);
  NEAR(t[2], 0.3 * exp(-1), 1e-15);
  NEAR(t[3], -0.05 * (1 + 1 + 0.04), 1e-15);
  NEAR(t[4], -0.125, 1e-15);
  NEAR(r, 1.3 * exp(-1) + 0.3 * exp(-1) - 0.102 - 0.125, 1e-14);
  // a different target moves only the speed term
  quadruped_reward_terms(0.5, 0.1, 0.245, 0.06, -0.08, act, prev, 12.5, t);
  NEAR(t[0], exp(-4), 1e-15);
}

Test(quadruped, step_reward_is_the_formula) {
  Env *e = dflt->e;
  Rng r;
  rng_init(&r, 3, RNG_STREAM_DATA);
  double obs[OBS], act[ACT], prev[ACT] = {0}, t[5];
  env_reset(e, &r, obs);
  EnvStep st;
  for (int k = 0; k < 60; k++) {
    for (int i = 0; i < ACT; i++) act[i] = 0.3 * sin(0.1 * k + i);
    double x0 = e->d->qpos[0];
    env_step(e, act, obs, &st);
    double want = quadruped_reward_terms(0.3, (e->d->qpos[0] - x0) / e->dt, obs[0], obs[1],
                                         obs[2], act, prev, quadruped_last_power(e), t);
    cr_assert_eq(st.terminated, 0);
    cr_assert(st.reward == want, "step %d: reward %.17g, formula %.17g", k, st.reward, want);
    cr_assert(quadruped_last_power(e) > 0 && quadruped_last_power(e) < 100);
    memcpy(prev, act, sizeof act);
  }
  // actions outside [-1, 1] are clipped before the transform and the smoothness term
  double big[ACT], clipped[ACT];
  for (int i = 0; i < ACT; i++) big[i] = i % 2 ? 5 : -5, clipped[i] = i % 2 ? 1 : -1;
  double state[128];
  env_get_state(e, state);
  EnvStep s1, s2;
  double o1[OBS], o2[OBS];
  env_step(e, big, o1, &s1);
  env_set_state(e, state, NULL);
  env_step(e, clipped, o2, &s2);
  cr_assert(s1.reward == s2.reward && memcmp(o1, o2, sizeof o1) == 0);
}

Test(quadruped, termination_at_the_boundaries) {
  Env *e = dflt->e;
  double obs[OBS] = {0.215, 0, 0, 0, 0, 0, 0, 0.3, 0, 0, 1};
  cr_assert_eq(env_is_terminal(e, obs), 0);
  const struct {
    int i;
    double limit, beyond;
  } edge[] = {{1, ROLL_MAX, INFINITY}, {1, -ROLL_MAX, -INFINITY}, {2, PITCH_MAX, INFINITY},
              {2, -PITCH_MAX, -INFINITY}, {0, 0.10, -INFINITY}, {0, 0.40, INFINITY}};
  for (size_t k = 0; k < sizeof edge / sizeof edge[0]; k++) {
    double o[OBS];
    memcpy(o, obs, sizeof o);
    o[edge[k].i] = edge[k].limit;
    cr_assert_eq(env_is_terminal(e, o), 0, "obs[%d] = %.17g", edge[k].i, o[edge[k].i]);
    o[edge[k].i] = nextafter(edge[k].limit, edge[k].beyond);
    cr_assert_eq(env_is_terminal(e, o), 1, "obs[%d] = %.17g", edge[k].i, o[edge[k].i]);
  }
  // the other entries never terminate
  for (int i = 3; i < OBS; i++) {
    double o[OBS];
    memcpy(o, obs, sizeof o);
    o[i] = 1e6;
    cr_assert_eq(env_is_terminal(e, o), 0);
  }
}

Test(quadruped, a_tipped_torso_terminates_with_zero_reward) {
  Env *e = dflt->e;
  Rng r;
  rng_init(&r, 4, RNG_STREAM_DATA);
  double obs[OBS], act[ACT] = {0}, state[128];
  env_reset(e, &r, obs);
  env_get_state(e, state);
  // roll 0.6 rad about x: quaternion (cos 0.3, sin 0.3, 0, 0) at qpos[3..6] (state[1 + 3..])
  state[4] = cos(0.3), state[5] = sin(0.3), state[6] = 0, state[7] = 0;
  env_set_state(e, state, obs);
  NEAR(obs[1], 0.6, 1e-12);
  cr_assert_eq(env_is_terminal(e, obs), 1);
  EnvStep st;
  env_step(e, act, obs, &st);
  cr_assert_eq(st.terminated, 1);
  cr_assert_eq(st.reward, 0);
  cr_assert_eq(env_is_terminal(e, obs), 1);
}

//---------------- state ----------------

Test(quadruped, state_replay_is_bit_exact) {
  Env *e = dflt->e;
  Rng r, ra;
  rng_init(&r, 5, RNG_STREAM_DATA);
  rng_init(&ra, 6, RNG_STREAM_DATA);
  enum { PRE = 137, N = 60 };
  double obs[OBS], act[N][ACT], o1[N][OBS], r1[N];
  env_reset(e, &r, obs);
  EnvStep st;
  double a[ACT];
  for (int k = 0; k < PRE; k++) {
    for (int i = 0; i < ACT; i++) a[i] = 0.2 * rng_uniform_range(&ra, -1, 1);
    env_step(e, a, obs, &st);
  }
  size_t n = env_state_size(e);
  double *state = malloc(n * sizeof *state);
  env_get_state(e, state);
  cr_assert(state[1 + 15 + 14 + 14 + 1] > 0, "mid-gait: phase %g", state[45]);
  for (int k = 0; k < N; k++) {
    for (int i = 0; i < ACT; i++) act[k][i] = 0.2 * rng_uniform_range(&ra, -1, 1);
    env_step(e, act[k], o1[k], &st);
    r1[k] = st.reward;
  }
  // somewhere else first, then back
  env_reset(e, &r, obs);
  double o0[OBS];
  env_set_state(e, state, o0);
  for (int k = 0; k < N; k++) {
    double o2[OBS];
    env_step(e, act[k], o2, &st);
    cr_assert(memcmp(o1[k], o2, sizeof o2) == 0, "step %d: observations differ", k);
    cr_assert(st.reward == r1[k], "step %d: reward %.17g vs %.17g", k, st.reward, r1[k]);
  }
  free(state);
}

//---------------- options ----------------

Test(quadruped, options_change_what_they_should) {
  Made *nom = make(NULL);
  const char *heavy_set[] = {"payload=2", NULL}, *slow_set[] = {"target_speed=0.1", NULL};
  const char *slip_set[] = {"friction=0.4", NULL}, *weak_set[] = {"motor_strength=0.5", NULL};
  const char *long_set[] = {"leg_scale=1.1", NULL};
  Made *heavy = make(heavy_set), *slow = make(slow_set), *slip = make(slip_set);
  Made *weak = make(weak_set), *lng = make(long_set);

  NEAR(env_total_mass(heavy->e), 5.0, 1e-9);
  Episode en = run_episode(nom->e, 0, 0), eh = run_episode(heavy->e, 0, 0);
  cr_log_info("payload 2 kg: mean height %.4f (nominal %.4f), speed %.4f (%.4f)", eh.zmean,
              en.zmean, eh.speed, en.speed);
  cr_assert_lt(eh.zmean, en.zmean - 0.001);
  cr_assert_lt(eh.speed, en.speed);

  // target_speed: same physics, the speed term alone differs
  Rng r1, r2;
  rng_init(&r1, 7, RNG_STREAM_DATA);
  rng_init(&r2, 7, RNG_STREAM_DATA);
  double o1[OBS], o2[OBS], act[ACT] = {0}, prev[ACT] = {0}, t1[5], t2[5];
  env_reset(nom->e, &r1, o1);
  env_reset(slow->e, &r2, o2);
  for (int k = 0; k < 30; k++) {
    EnvStep s1, s2;
    double x0 = nom->e->d->qpos[0];
    env_step(nom->e, act, o1, &s1);
    env_step(slow->e, act, o2, &s2);
    cr_assert(memcmp(o1, o2, sizeof o1) == 0);
    double v = (nom->e->d->qpos[0] - x0) / nom->e->dt, p = quadruped_last_power(nom->e);
    quadruped_reward_terms(0.3, v, o1[0], o1[1], o1[2], act, prev, p, t1);
    quadruped_reward_terms(0.1, v, o1[0], o1[1], o1[2], act, prev, p, t2);
    NEAR(s2.reward - s1.reward, t2[0] - t1[0], 1e-12);
  }

  // friction, motor strength, leg length on the compiled model
  for (int g = 0; g < slip->e->m->ngeom; g++) cr_assert_eq(slip->e->m->geom_friction[3 * g], 0.4);
  for (int i = 0; i < 8; i++) cr_assert_eq(weak->e->m->actuator_gear[6 * i], 0.5);
  int shank = mj_name2id(lng->e->m, mjOBJ_BODY, "br_shank");
  NEAR(lng->e->m->body_pos[3 * shank + 2], -0.132, 1e-15);
  Episode es = run_episode(slip->e, 0, 0), ew = run_episode(weak->e, 0, 0);
  Episode el = run_episode(lng->e, 0, 0);
  cr_log_info("friction 0.4: speed %.4f; motor strength 0.5: mean height %.4f; leg scale 1.1: "
              "mean height %.4f, speed %.4f", es.speed, ew.zmean, el.zmean, el.speed);
  cr_assert_lt(es.speed, en.speed);          // the feet slip
  cr_assert_lt(ew.zmean, en.zmean - 0.001);  // twice the sag
  cr_assert_gt(el.zmean, en.zmean + 0.015);  // stands 10% taller
  cr_assert_eq(el.steps, 1000);
  unmake(nom), unmake(heavy), unmake(slow), unmake(slip), unmake(weak), unmake(lng);
}

//---------------- random actions and speed ----------------

Test(quadruped, random_actions_stay_finite) {
  Env *e = dflt->e;
  double total = 0;
  int steps = 0, falls = 0;
  for (uint32_t s = 0; s < 3; s++) {
    Episode ep = run_episode(e, 100 + s, 1.0);
    cr_assert_eq(ep.diverged, 0, "seed %u diverged: %s", s, e->divergence);
    total += ep.ret, steps += ep.steps, falls += ep.terminated;
  }
  cr_log_info("uniform random actions: mean return %.1f, %d steps, %d falls in 3 episodes",
              total / 3, steps, falls);
}

Test(quadruped, steps_per_second) {
  Env *e = dflt->e;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Episode ep = run_episode(e, 0, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  cr_log_info("%.0f environment steps/s (10 physics steps each)", ep.steps / sec);
  cr_assert_eq(ep.steps, 1000);
}
