// Tests of the control tasks: Reacher, InvertedPendulum, InvertedDoublePendulum (Gymnasium v4)
// and CartpoleBalance / CartpoleSwingup (dm_control): sizes and compiled models, observations,
// rewards and terminations on crafted states, reset noise, the planning hooks against env_step,
// the cartpole options, a balancing controller, and random-policy returns.
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

// |got - want| <= tol
#define NEAR(got, want, tol)                                                                   \
  do {                                                                                         \
    double g_ = (got), w_ = (want);                                                            \
    cr_assert(fabs(g_ - w_) <= (tol), "%s = %.17g, expected %.17g (tol %g)", #got, g_, w_,     \
              (double)(tol));                                                                  \
  } while (0)

// |got - want| <= rel * max(|want|, 1e-300)
#define REL(got, want, rel)                                                                    \
  do {                                                                                         \
    double g_ = (got), w_ = (want);                                                            \
    cr_assert(fabs(g_ - w_) <= (rel) * fmax(fabs(w_), 1e-300), "%s = %.17g, expected %.17g",   \
              #got, g_, w_);                                                                   \
  } while (0)

//---------------- helpers ----------------

// make `task` with "key=value" assignments applied as --set would (the options stay in eo)
static Env *make_set(EnvOptions *eo, const char *task, const char *const *kv, int n) {
  const char *sets[16] = {NULL};
  cr_assert(n < 16);
  for (int i = 0; i < n; i++) sets[i] = kv[i];
  cr_assert_eq(env_options_set(task, sets, eo, err, sizeof err), 0, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s: %s", task, err);
  return e;
}

static Env *make(EnvOptions *eo, const char *task) { return make_set(eo, task, NULL, 0); }

static void drop(Env *e, EnvOptions *eo) {
  env_free(e);
  env_options_free(eo);
}

static int body(const Env *e, const char *name) {
  int id = mj_name2id(e->m, mjOBJ_BODY, name);
  cr_assert_geq(id, 0, "no body %s", name);
  return id;
}

static int joint(const Env *e, const char *name) {
  int id = mj_name2id(e->m, mjOBJ_JOINT, name);
  cr_assert_geq(id, 0, "no joint %s", name);
  return id;
}

// Put the environment in the state (qpos, qvel) through env_set_state and write its observation.
// Reacher keeps fingertip - target as task state (the vector Gymnasium reads before a step):
// a crafted pose gets its own, from the kinematics env_set_state computed.
static void craft(Env *e, const double *qpos, const double *qvel, double *obs) {
  const mjModel *m = e->m;
  size_t n = env_state_size(e);
  double *s = calloc(n, sizeof *s);
  env_get_state(e, s);
  memcpy(s + 1, qpos, (size_t)m->nq * sizeof *s);
  memcpy(s + 1 + m->nq, qvel, (size_t)m->nv * sizeof *s);
  memset(s + 1 + m->nq + m->nv + m->na, 0, (size_t)m->nv * sizeof *s);   // warm start
  env_set_state(e, s, obs);
  if (strcmp(env_task_name(e->task), "Reacher") == 0) {
    int tip = body(e, "fingertip"), target = body(e, "target");
    for (int k = 0; k < 3; k++)
      s[n - 3 + k] = e->d->xpos[3 * tip + k] - e->d->xpos[3 * target + k];
    env_set_state(e, s, obs);
  }
  free(s);
}

static void random_action(const Env *e, Rng *r, double *a) {
  for (int i = 0; i < e->act_dim; i++) a[i] = rng_uniform_range(r, e->act_lo[i], e->act_hi[i]);
}

static void mean_std(const double *x, int n, double *mean, double *std) {
  double s = 0, q = 0;
  for (int i = 0; i < n; i++) s += x[i];
  *mean = s / n;
  for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
  *std = sqrt(q / (n - 1));
}

//---------------- every task: sizes, bounds, timing, compiled model ----------------

typedef struct {
  char task[32];
  int obs_dim, act_dim, nq, nv, frame_skip, max_steps;
  double timestep, act_hi;   // the action box is [-act_hi, act_hi]
  double gear;               // of every actuator
  double total_mass;         // anchors A.3 (Gym) and the dm_control masses (cartpole)
  int has_terminal;          // an is_terminal hook
  int has_reward;            // a reward hook
} Spec;

// InvertedDoublePendulum has no reward hook: its v4 reward is not a function of the observation
static Spec specs[] = {
    {"Reacher", 11, 2, 4, 4, 2, 50, 0.01, 1, 200, 0.0785, 0, 1},
    {"InvertedPendulum", 4, 1, 2, 2, 2, 1000, 0.02, 3, 100, 15.49, 1, 1},
    {"InvertedDoublePendulum", 11, 1, 3, 3, 5, 1000, 0.01, 1, 500, 18.87, 1, 0},
    {"CartpoleBalance", 5, 1, 2, 2, 1, 1000, 0.01, 1, 10, 1.1, 0, 1},
    {"CartpoleSwingup", 5, 1, 2, 2, 1, 1000, 0.01, 1, 10, 1.1, 0, 1},
};
#define NSPEC ((int)(sizeof specs / sizeof specs[0]))

ParameterizedTestParameters(control, sizes) { return cr_make_param_array(Spec, specs, NSPEC); }

ParameterizedTest(Spec *s, control, sizes) {
  EnvOptions eo;
  Env *e = make(&eo, s->task);
  const mjModel *m = e->m;
  cr_assert_eq(e->obs_dim, s->obs_dim, "%s", s->task);
  cr_assert_eq(e->act_dim, s->act_dim, "%s", s->task);
  cr_assert_eq(m->nq, s->nq, "%s", s->task);
  cr_assert_eq(m->nv, s->nv, "%s", s->task);
  cr_assert_eq(m->nu, s->act_dim, "%s", s->task);
  cr_assert_eq(e->frame_skip, s->frame_skip, "%s", s->task);
  cr_assert_eq(e->max_steps, s->max_steps, "%s", s->task);
  cr_assert_eq(m->opt.timestep, s->timestep, "%s", s->task);
  NEAR(e->dt, s->timestep * s->frame_skip, 1e-15);
  cr_assert_eq(m->opt.integrator, mjINT_RK4, "%s", s->task);
  for (int i = 0; i < e->act_dim; i++) {
    cr_assert_eq(e->act_lo[i], -s->act_hi, "%s", s->task);
    cr_assert_eq(e->act_hi[i], s->act_hi, "%s", s->task);
    cr_assert_eq(m->actuator_gear[6 * i], s->gear, "%s", s->task);
    cr_assert_eq(m->actuator_trntype[i], mjTRN_JOINT, "%s", s->task);
  }
  // A.3 gives masses to 3-4 digits
  NEAR(env_total_mass(e), s->total_mass, 5e-3 * s->total_mass);
  cr_assert(*env_task_summary(e->task), "%s has no summary", s->task);
  cr_assert_eq(env_has_reward(e), s->has_reward, "%s", s->task);
  cr_assert_eq(e->task->is_terminal != NULL, s->has_terminal, "%s", s->task);
  drop(e, &eo);
}

//---------------- the planning hooks agree with env_step ----------------

ParameterizedTestParameters(control, hooks_agree_with_step) {
  return cr_make_param_array(Spec, specs, NSPEC);
}

// Along random trajectories, env_reward(obs, act, next_obs) and env_is_terminal(next_obs) give
// what env_step gave, exactly. InvertedDoublePendulum's step reads the tip from MuJoCo's last
// RK4 stage (as v4 does) while is_terminal rebuilds it from the final state in the observation:
// there the two agree unless the tip is within 1e-3 m of the threshold (the tips differ by about
// 1e-6 m, up to about 1e-4 m in a fast fall).
ParameterizedTest(Spec *s, control, hooks_agree_with_step) {
  EnvOptions eo;
  Env *e = make(&eo, s->task);
  int idp = strcmp(s->task, "InvertedDoublePendulum") == 0;
  int O = e->obs_dim, checked = 0, terminal = 0;
  double obs[16], next[16], a[4], worst = 0;
  if (s->has_reward) cr_assert(env_has_reward(e));
  Rng reset, act;
  rng_init(&reset, 11, RNG_STREAM_RESET);
  rng_init(&act, 11, RNG_STREAM_EXPLORE);
  int tip = idp ? mj_name2id(e->m, mjOBJ_SITE, "tip") : -1;
  for (int ep = 0; ep < 30; ep++) {
    env_reset(e, &reset, obs);
    for (int t = 0; t < e->max_steps; t++) {
      EnvStep st;
      random_action(e, &act, a);
      env_step(e, a, next, &st);
      cr_assert_not(st.diverged, "%s diverged: %s", s->task, e->divergence);
      if (s->has_reward) {
        double r = env_reward(e, obs, a, next);
        cr_assert_eq(r, st.reward, "%s t %d: hook %.17g, step %.17g", s->task, t, r, st.reward);
      }
      int term = env_is_terminal(e, next);
      if (!idp) {
        cr_assert_eq(term, st.terminated, "%s t %d", s->task, t);
      } else {
        // the step's tip against the final state's (by hand: two 0.6 m poles)
        double y = e->d->site_xpos[3 * tip + 2], q1 = e->d->qpos[1], q2 = e->d->qpos[2];
        worst = fmax(worst, fabs(y - (0.6 * cos(q1) + 0.6 * cos(q1 + q2))));
        if (fabs(y - 1) > 1e-3) cr_assert_eq(term, st.terminated, "t %d: tip height %.17g", t, y);
      }
      checked++;
      terminal += st.terminated;
      if (st.terminated || st.truncated) break;
      memcpy(obs, next, (size_t)O * sizeof *obs);
    }
  }
  cr_assert_gt(checked, 100, "%s: only %d transitions", s->task, checked);
  if (s->has_terminal) cr_assert_gt(terminal, 0, "%s: no terminal transition seen", s->task);
  if (idp)
    fprintf(stderr, "InvertedDoublePendulum: step tip (last RK4 stage) vs final state: max |dy| "
            "%.3g m over %d steps\n", worst, checked);
  drop(e, &eo);
}

//---------------- random-policy returns ----------------

typedef struct {
  char task[32];
  double lo, hi;   // accepted range of the mean undiscounted return
} Band;

// Uniform random actions, 100 episodes each. The ranges are broad sanity bands:
//   Reacher: about -|d| 50 - E|a|^2 50 = -(0.1..0.25) 50 - (2/3) 50, near -43 (Gym's random
//     Reacher-v4 scores about -43);
//   InvertedPendulum: 1 per step and the pole passes 0.2 rad within a few steps (5-10);
//   InvertedDoublePendulum: about 9 per step for the 5-10 steps the poles stay up;
//   CartpoleBalance: the pole starts up and falls within about a second; the hinge is almost
//     undamped, so it keeps swinging at large amplitude, and the fast swings also halve
//     small_velocity: a few hundred (about 360 measured);
//   CartpoleSwingup: the pole hangs, and random pushes only rock it: upright stays near 0, tens.
static Band bands[] = {
    {"Reacher", -48, -38},
    {"InvertedPendulum", 3, 15},
    {"InvertedDoublePendulum", 30, 150},
    {"CartpoleBalance", 150, 550},
    {"CartpoleSwingup", 0, 100},
};

ParameterizedTestParameters(control, random_policy_returns) {
  return cr_make_param_array(Band, bands, sizeof bands / sizeof bands[0]);
}

ParameterizedTest(Band *b, control, random_policy_returns) {
  EnvOptions eo;
  Env *e = make(&eo, b->task);
  enum { EPISODES = 100 };
  double ret[EPISODES], len[EPISODES], obs[16], a[4];
  Rng reset, act;
  rng_init(&reset, 5, RNG_STREAM_RESET);
  rng_init(&act, 5, RNG_STREAM_EXPLORE);
  for (int ep = 0; ep < EPISODES; ep++) {
    env_reset(e, &reset, obs);
    ret[ep] = 0;
    for (int t = 0;; t++) {
      EnvStep st;
      random_action(e, &act, a);
      env_step(e, a, obs, &st);
      cr_assert_not(st.diverged, "%s: %s", b->task, e->divergence);
      ret[ep] += st.reward;
      if (st.terminated || st.truncated) {
        len[ep] = t + 1;
        break;
      }
    }
  }
  double m, sd, ml, sl;
  mean_std(ret, EPISODES, &m, &sd);
  mean_std(len, EPISODES, &ml, &sl);
  fprintf(stderr, "%-24s random policy, %d episodes: return %9.3f +- %8.3f, length %7.2f +- %.2f\n",
          b->task, EPISODES, m, sd, ml, sl);
  cr_assert(m >= b->lo && m <= b->hi, "%s: mean random return %g outside [%g, %g]", b->task, m,
            b->lo, b->hi);
  drop(e, &eo);
}

//---------------- Reacher ----------------

Test(reacher, model) {
  EnvOptions eo;
  Env *e = make(&eo, "Reacher");
  const mjModel *m = e->m;
  int j0 = joint(e, "joint0"), j1 = joint(e, "joint1");
  int tx = joint(e, "target_x"), ty = joint(e, "target_y");
  cr_assert_eq(m->jnt_limited[j0], 0);
  cr_assert(m->jnt_limited[j1] && m->jnt_range[2 * j1] == -3 && m->jnt_range[2 * j1 + 1] == 3);
  for (int j = tx; j <= ty; j++) {
    cr_assert(m->jnt_limited[j] && m->jnt_range[2 * j] == -0.27 && m->jnt_range[2 * j + 1] == 0.27);
    cr_assert(m->dof_armature[j] == 0 && m->dof_damping[j] == 0 && m->jnt_stiffness[j] == 0);
  }
  for (int j = j0; j <= j1; j++) cr_assert(m->dof_armature[j] == 1 && m->dof_damping[j] == 1);
  // the target slides' ref puts qpos0 at the body's place (0.1, -0.1)
  cr_assert(m->qpos0[2] == 0.1 && m->qpos0[3] == -0.1);
  cr_assert_eq(m->body_pos[3 * body(e, "body1")], 0.1);
  cr_assert_eq(m->body_pos[3 * body(e, "fingertip")], 0.11);
  // links: capsules of radius 0.01 and length 0.1 at density 1000
  double link = 1000 * (mjPI * 1e-4 * 0.1 + 4.0 / 3.0 * mjPI * 1e-6);
  REL(m->body_mass[body(e, "body0")], link, 1e-12);
  REL(env_total_mass(e), 0.07845185175, 1e-9);
  cr_assert_eq(m->opt.gravity[2], -9.81);
  drop(e, &eo);
}

// the fingertip - target vector of pose (q0, q1) with the target at (tx, ty), worked out by hand:
// links of 0.1 m, the fingertip 0.11 m past the elbow, all at height 0.01
static void reacher_vec(double q0, double q1, double tx, double ty, double *v) {
  v[0] = 0.1 * cos(q0) + 0.11 * cos(q0 + q1) - tx;
  v[1] = 0.1 * sin(q0) + 0.11 * sin(q0 + q1) - ty;
  v[2] = 0;
}

Test(reacher, observation_layout) {
  EnvOptions eo;
  Env *e = make(&eo, "Reacher");
  double qpos[4] = {0.3, -1.2, 0.05, -0.12}, qvel[4] = {0.7, -0.4, 0, 0}, obs[11], v[3];
  craft(e, qpos, qvel, obs);
  double want[8] = {cos(0.3), cos(-1.2), sin(0.3), sin(-1.2), 0.05, -0.12, 0.7, -0.4};
  for (int i = 0; i < 8; i++) cr_assert_eq(obs[i], want[i], "obs[%d] = %.17g", i, obs[i]);
  reacher_vec(0.3, -1.2, 0.05, -0.12, v);
  for (int k = 0; k < 2; k++) NEAR(obs[8 + k], v[k], 1e-12);
  cr_assert_eq(obs[10], 0.0, "the z entry is %g", obs[10]);
  drop(e, &eo);
}

// v4 computes the distance before the physics step: the reward is -|vec of the crafted pose| -
// |a|^2, not the distance after the move
Test(reacher, reward_uses_distance_before_step) {
  EnvOptions eo;
  Env *e = make(&eo, "Reacher");
  double qpos[4] = {1.0, 0.5, -0.1, 0.15}, qvel[4] = {3, -2, 0, 0}, obs[11], next[11], v[3];
  double a[2] = {0.3, -0.8};
  craft(e, qpos, qvel, obs);
  reacher_vec(1.0, 0.5, -0.1, 0.15, v);
  double before = sqrt(v[0] * v[0] + v[1] * v[1]);
  EnvStep st;
  env_step(e, a, next, &st);
  NEAR(st.reward, -before - (0.09 + 0.64), 1e-12);
  double after = sqrt(next[8] * next[8] + next[9] * next[9]);
  cr_assert_gt(fabs(after - before), 1e-3, "the arm did not move");
  cr_assert_eq(env_reward(e, obs, a, next), st.reward);
  cr_assert_not(st.terminated);
  // like v4, the observation's vector is the body positions MuJoCo holds after mj_step (from
  // its last RK4 stage), close to the final pose's geometry at this moderate speed
  int tip = body(e, "fingertip"), target = body(e, "target");
  for (int k = 0; k < 3; k++)
    cr_assert_eq(next[8 + k], e->d->xpos[3 * tip + k] - e->d->xpos[3 * target + k]);
  reacher_vec(e->d->qpos[0], e->d->qpos[1], e->d->qpos[2], e->d->qpos[3], v);
  for (int k = 0; k < 2; k++) NEAR(next[8 + k], v[k], 1e-5);
  // the next step's distance term is the one in this observation
  double a2[2] = {0, 0};
  env_step(e, a2, obs, &st);
  cr_assert_eq(st.reward, -after);
  drop(e, &eo);
}

Test(reacher, reset_noise_and_goal_disc) {
  EnvOptions eo;
  Env *e = make(&eo, "Reacher");
  Rng r;
  rng_init(&r, 1, RNG_STREAM_RESET);
  enum { N = 4000 };
  int outer = 0, quadrant[4] = {0};
  double obs[11], maxnorm = 0, maxq = 0, maxv = 0;
  for (int i = 0; i < N; i++) {
    env_reset(e, &r, obs);
    const mjData *d = e->d;
    double gx = d->qpos[2], gy = d->qpos[3], g = sqrt(gx * gx + gy * gy);
    cr_assert_lt(g, 0.2, "goal (%g, %g) outside the disc", gx, gy);
    cr_assert(obs[4] == gx && obs[5] == gy);
    maxnorm = fmax(maxnorm, g);
    outer += g > 0.1;
    quadrant[(gx > 0) + 2 * (gy > 0)]++;
    for (int j = 0; j < 2; j++) {
      cr_assert_leq(fabs(d->qpos[j]), 0.1);
      cr_assert_leq(fabs(d->qvel[j]), 0.005);
      maxq = fmax(maxq, fabs(d->qpos[j]));
      maxv = fmax(maxv, fabs(d->qvel[j]));
    }
    cr_assert(d->qvel[2] == 0 && d->qvel[3] == 0, "target velocity not 0");
  }
  // uniform in the disc: P(|g| > 0.1) = 3/4 (sd of the fraction about 0.007 here)
  double frac = (double)outer / N;
  cr_assert(frac > 0.72 && frac < 0.78, "fraction of goals beyond 0.1: %g", frac);
  cr_assert_gt(maxnorm, 0.195);
  for (int q = 0; q < 4; q++) cr_assert_gt(quadrant[q], N / 5, "quadrant %d: %d", q, quadrant[q]);
  cr_assert(maxq > 0.099 && maxv > 0.00495, "noise does not fill its range: %g %g", maxq, maxv);
  drop(e, &eo);
}

Test(reacher, never_terminates_50_steps) {
  EnvOptions eo;
  Env *e = make(&eo, "Reacher");
  Rng r, ra;
  rng_init(&r, 2, RNG_STREAM_RESET);
  rng_init(&ra, 2, RNG_STREAM_EXPLORE);
  double obs[11], a[2];
  env_reset(e, &r, obs);
  for (int t = 1; t <= 50; t++) {
    EnvStep st;
    random_action(e, &ra, a);
    env_step(e, a, obs, &st);
    cr_assert_not(st.terminated);
    cr_assert_eq(st.truncated, t == 50, "t %d", t);
    cr_assert_eq(env_is_terminal(e, obs), 0);
  }
  drop(e, &eo);
}

//---------------- InvertedPendulum ----------------

Test(inverted_pendulum, model) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedPendulum");
  const mjModel *m = e->m;
  int slider = joint(e, "slider"), hinge = joint(e, "hinge");
  cr_assert(m->jnt_limited[slider] && m->jnt_range[2 * slider] == -1 &&
            m->jnt_range[2 * slider + 1] == 1);
  cr_assert(m->jnt_limited[hinge]);
  NEAR(m->jnt_range[2 * hinge + 1], mjPI / 2, 1e-12);
  NEAR(m->jnt_range[2 * hinge], -mjPI / 2, 1e-12);
  cr_assert(m->dof_damping[0] == 1 && m->dof_damping[1] == 1);
  cr_assert_eq(m->opt.gravity[0], 0);
  // cart capsule (r 0.1, half-length 0.1) and pole capsule (r 0.049, 0.6 m with a 1 mm lean)
  double cart = 1000 * (mjPI * 0.01 * 0.2 + 4.0 / 3.0 * mjPI * 1e-3);
  double len = sqrt(0.6 * 0.6 + 1e-6), r = 0.049;
  double pole = 1000 * (mjPI * r * r * len + 4.0 / 3.0 * mjPI * r * r * r);
  REL(m->body_mass[body(e, "cart")], cart, 1e-12);
  REL(m->body_mass[body(e, "pole")], pole, 1e-12);
  drop(e, &eo);
}

Test(inverted_pendulum, observation_and_termination) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedPendulum");
  double qpos[2] = {0.3, 0.15}, qvel[2] = {-0.2, 0.5}, obs[4];
  craft(e, qpos, qvel, obs);
  cr_assert(obs[0] == 0.3 && obs[1] == 0.15 && obs[2] == -0.2 && obs[3] == 0.5);
  // |angle| > 0.2 rad, strictly; any non-finite entry
  double o[4] = {0, 0.2, 0, 0};
  cr_assert_eq(env_is_terminal(e, o), 0);
  o[1] = nextafter(0.2, 1);
  cr_assert_eq(env_is_terminal(e, o), 1);
  o[1] = -0.2;
  cr_assert_eq(env_is_terminal(e, o), 0);
  o[1] = nextafter(-0.2, -1);
  cr_assert_eq(env_is_terminal(e, o), 1);
  o[1] = 0;
  o[2] = INFINITY;
  cr_assert_eq(env_is_terminal(e, o), 1);
  o[2] = 0;
  o[3] = NAN;
  cr_assert_eq(env_is_terminal(e, o), 1);
  o[3] = 0;
  o[0] = 0.99;   // the cart position does not end the episode
  cr_assert_eq(env_is_terminal(e, o), 0);

  // a pole leaning at 0.19 rad and falling: the step that passes 0.2 terminates and still pays 1
  double q2[2] = {0, 0.19}, v2[2] = {0, 1.0}, next[4], a[1] = {0};
  craft(e, q2, v2, obs);
  EnvStep st;
  env_step(e, a, next, &st);
  cr_assert_gt(next[1], 0.2);
  cr_assert(st.terminated && !st.truncated);
  cr_assert_eq(st.reward, 1.0);
  cr_assert_eq(env_reward(e, obs, a, next), 1.0);
  drop(e, &eo);
}

Test(inverted_pendulum, reset_noise) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedPendulum");
  Rng r;
  rng_init(&r, 3, RNG_STREAM_RESET);
  double obs[4], hi[4] = {0};
  for (int i = 0; i < 2000; i++) {
    env_reset(e, &r, obs);
    for (int k = 0; k < 4; k++) {
      cr_assert_leq(fabs(obs[k]), 0.01, "obs[%d] = %g", k, obs[k]);
      hi[k] = fmax(hi[k], fabs(obs[k]));
    }
  }
  for (int k = 0; k < 4; k++)
    cr_assert_gt(hi[k], 0.0099, "obs[%d] noise reaches only %g", k, hi[k]);
  drop(e, &eo);
}

//---------------- InvertedDoublePendulum ----------------

Test(inverted_double_pendulum, model) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedDoublePendulum");
  const mjModel *m = e->m;
  cr_assert(m->opt.gravity[0] == 1e-5 && m->opt.gravity[1] == 0 && m->opt.gravity[2] == -9.81);
  for (int j = 0; j < 3; j++) cr_assert_eq(m->dof_damping[j], 0.05);
  int slider = joint(e, "slider");
  cr_assert(m->jnt_limited[slider] && m->jnt_range[2 * slider + 1] == 1 &&
            m->jnt_margin[slider] == 0.01);
  cr_assert(!m->jnt_limited[joint(e, "hinge")] && !m->jnt_limited[joint(e, "hinge2")]);
  int tip = mj_name2id(m, mjOBJ_SITE, "tip");
  cr_assert_eq(tip, 0, "v4 reads site 0 as the tip");
  cr_assert_eq(m->site_pos[2], 0.6);
  cr_assert_eq(m->body_pos[3 * body(e, "pole2") + 2], 0.6);
  drop(e, &eo);
}

Test(inverted_double_pendulum, observation_layout) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedDoublePendulum");
  double qpos[3] = {0.2, 0.3, -0.5}, qvel[3] = {12, -15, 3}, obs[11];
  craft(e, qpos, qvel, obs);
  double want[11] = {0.2, sin(0.3), sin(-0.5), cos(0.3), cos(-0.5), 10, -10, 3, 0, 0, 0};
  for (int i = 0; i < 11; i++) cr_assert_eq(obs[i], want[i], "obs[%d] = %.17g", i, obs[i]);
  // the constraint part is 0 except when the slider limit acts (cart within 0.01 of +-1)
  double q2[3] = {0.995, 0.1, 0}, v2[3] = {0.5, 0, 0};
  craft(e, q2, v2, obs);
  cr_assert_lt(obs[8], 0, "the limit pushes the cart back: %g", obs[8]);
  cr_assert_leq(fabs(obs[8]), 10);
  drop(e, &eo);
}

// v4's reward: 10 - 0.01 x^2 - (y - 2)^2 - 1e-3 w1^2 - 5e-3 w2^2 with the tip's site position
// after the step; the tip agrees with the final state's geometry to about 1e-6
Test(inverted_double_pendulum, reward_on_crafted_state) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedDoublePendulum");
  double qpos[3] = {0.1, 0.2, -0.3}, qvel[3] = {0.3, -0.4, 0.8}, obs[11], next[11], a[1] = {0.3};
  craft(e, qpos, qvel, obs);
  EnvStep st;
  env_step(e, a, next, &st);
  const double *tip = e->d->site_xpos;
  double x = tip[0], y = tip[2], w1 = e->d->qvel[1], w2 = e->d->qvel[2];
  NEAR(st.reward, 10 - (0.01 * x * x + (y - 2) * (y - 2)) - (1e-3 * w1 * w1 + 5e-3 * w2 * w2),
       1e-12);
  // the same from the final angles, by hand (two 0.6 m poles)
  double q1 = e->d->qpos[1], q2 = e->d->qpos[2];
  double xf = e->d->qpos[0] + 0.6 * sin(q1) + 0.6 * sin(q1 + q2);
  double yf = 0.6 * cos(q1) + 0.6 * cos(q1 + q2);
  NEAR(x, xf, 1e-5);
  NEAR(y, yf, 1e-5);
  cr_assert_not(st.terminated);
  drop(e, &eo);
}

// tip height of the chain by hand: two 0.6 m poles, the lower hinge at height 0
static double idp_height(double q1, double q2) { return 0.6 * cos(q1) + 0.6 * cos(q1 + q2); }

// is_terminal rebuilds the tip from the observation and the model's pole lengths. Crafted states
// with the tip 1e-9 m above and below the threshold (env_set_state computes their kinematics, so
// the site is exact there) test that formula to that precision, in many poses.
Test(inverted_double_pendulum, is_terminal_tip_formula) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedDoublePendulum");
  double obs[11], qvel[3] = {0, 0, 0};
  for (int i = 0; i < 40; i++) {
    // height 1.2 cos(q2 / 2) cos(q1 + q2 / 2): highest at q1 = -q2 / 2, above 1 for |q2| <= 0.8,
    // and falling as q1 moves 1.5 rad away to either side (the side alternates with i)
    double q2 = -0.8 + 1.6 * i / 39, dir = i % 2 ? 1 : -1;
    for (int side = -1; side <= 1; side += 2) {
      double target = 1 + side * 1e-9, lo = -q2 / 2, hi = -q2 / 2 + dir * 1.5;
      cr_assert(idp_height(lo, q2) > target && idp_height(hi, q2) < target, "q2 %g", q2);
      for (int k = 0; k < 200; k++) {
        double mid = (lo + hi) / 2;
        if (idp_height(mid, q2) > target)
          lo = mid;
        else
          hi = mid;
      }
      double qpos[3] = {0.3 - 0.01 * i, lo, q2};
      craft(e, qpos, qvel, obs);
      double y = e->d->site_xpos[2];
      cr_assert((side > 0) == (y > 1), "site height %.17g, wanted 1 %+g", y, side * 1e-9);
      cr_assert_eq(env_is_terminal(e, obs), side < 0, "q2 %g: tip 1 %+g", q2, side * 1e-9);
    }
  }
  drop(e, &eo);
}

Test(inverted_double_pendulum, termination_boundary) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedDoublePendulum");
  // tip height 1.2 cos(q1) with q2 = 0
  for (int side = -1; side <= 1; side += 2) {
    double c1 = (1 + side * 1e-9) / 1.2, s1 = sqrt(1 - c1 * c1);
    double o[11] = {0, s1, 0, c1, 1, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(env_is_terminal(e, o), side < 0, "height 1 %+g", side * 1e-9);
  }
  // poles folding over from a tip height of 1.07 fall below 1 within one step, which
  // terminates and still pays the 10
  double qpos[3] = {0, 0.3, 0.3}, qvel[3] = {0, 3, 3}, obs[11], next[11], a[1] = {0};
  craft(e, qpos, qvel, obs);
  cr_assert_gt(e->d->site_xpos[2], 1);
  cr_assert_eq(env_is_terminal(e, obs), 0);
  EnvStep st;
  env_step(e, a, next, &st);
  double x = e->d->site_xpos[0], y = e->d->site_xpos[2];
  cr_assert_leq(y, 1);
  cr_assert(st.terminated && !st.truncated);
  double w1 = e->d->qvel[1], w2 = e->d->qvel[2];
  NEAR(st.reward, 10 - (0.01 * x * x + (y - 2) * (y - 2)) - (1e-3 * w1 * w1 + 5e-3 * w2 * w2),
       1e-12);
  cr_assert_eq(env_is_terminal(e, next), 1);
  drop(e, &eo);
}

Test(inverted_double_pendulum, reset_noise) {
  EnvOptions eo;
  Env *e = make(&eo, "InvertedDoublePendulum");
  Rng r;
  rng_init(&r, 5, RNG_STREAM_RESET);
  enum { N = 2000 };
  double obs[11], v[3 * N], hi = 0;
  for (int i = 0; i < N; i++) {
    env_reset(e, &r, obs);
    for (int k = 0; k < 3; k++) {
      cr_assert_leq(fabs(e->d->qpos[k]), 0.1);
      hi = fmax(hi, fabs(e->d->qpos[k]));
      v[3 * i + k] = e->d->qvel[k];
    }
  }
  double m, sd;
  mean_std(v, 3 * N, &m, &sd);
  cr_assert(fabs(m) < 0.006 && sd > 0.095 && sd < 0.105, "qvel noise mean %g sd %g", m, sd);
  cr_assert_gt(hi, 0.099);
  drop(e, &eo);
}

//---------------- Cartpole ----------------

Test(cartpole, model) {
  const char *tasks[2] = {"CartpoleBalance", "CartpoleSwingup"};
  for (int i = 0; i < 2; i++) {
    EnvOptions eo;
    Env *e = make(&eo, tasks[i]);
    const mjModel *m = e->m;
    cr_assert(m->opt.disableflags & mjDSBL_CONTACT, "contacts are on");
    int slider = joint(e, "slider"), hinge = joint(e, "hinge");
    int cart = body(e, "cart"), pole = body(e, "pole");
    cr_assert(m->jnt_limited[slider] && m->jnt_range[2 * slider] == -1.8 &&
              m->jnt_range[2 * slider + 1] == 1.8);
    cr_assert(m->jnt_solref[2 * slider] == 0.08 && m->jnt_solref[2 * slider + 1] == 1);
    cr_assert_eq(m->dof_damping[m->jnt_dofadr[slider]], 5e-4);
    cr_assert_eq(m->dof_damping[m->jnt_dofadr[hinge]], 2e-6);
    cr_assert_not(m->jnt_limited[hinge]);
    cr_assert_eq(m->body_mass[cart], 1);
    cr_assert_eq(m->body_mass[pole], 0.1);
    int g = m->body_geomadr[pole];
    cr_assert(m->geom_type[g] == mjGEOM_CAPSULE && m->geom_size[3 * g] == 0.045 &&
              m->geom_size[3 * g + 1] == 0.5);
    // the hinge sits at the cart's centre, 1 m above the floor
    cr_assert(m->body_pos[3 * cart + 2] == 1 && m->body_pos[3 * pole + 2] == 0);
    drop(e, &eo);
  }
}

Test(cartpole, observation_layout) {
  EnvOptions eo;
  Env *e = make(&eo, "CartpoleBalance");
  double qpos[2] = {0.4, 0.3}, qvel[2] = {-0.2, 1.5}, obs[5];
  craft(e, qpos, qvel, obs);
  double want[5] = {0.4, cos(0.3), sin(0.3), -0.2, 1.5};
  for (int i = 0; i < 5; i++) cr_assert_eq(obs[i], want[i], "obs[%d] = %.17g", i, obs[i]);
  // the pole body's xmat zz and xz (what dm_control reads) are the same cosine and sine, and a
  // positive angle leans the pole's top toward +x
  int pole = body(e, "pole");
  NEAR(e->d->xmat[9 * pole + 8], obs[1], 1e-15);
  NEAR(e->d->xmat[9 * pole + 2], obs[2], 1e-15);
  cr_assert_gt(e->d->geom_xpos[3 * e->m->body_geomadr[pole]], 0.4);
  drop(e, &eo);
}

// dm_control's tolerance, written out: Gaussian with 0.1 at the margin is 0.1^((x / margin)^2)
static double expect_reward(double x, double c, double w, double u) {
  double upright = (c + 1) / 2;
  double centered = (1 + pow(0.1, (x / 2) * (x / 2))) / 2;
  double small_control = (4 + (fabs(u) < 1 ? 1 - u * u : 0)) / 5;
  double small_velocity = (1 + pow(0.1, (w / 5) * (w / 5))) / 2;
  return upright * centered * small_control * small_velocity;
}

Test(cartpole, reward_terms) {
  EnvOptions eo;
  Env *e = make(&eo, "CartpoleSwingup");
  double o[5] = {0, 1, 0, 0, 0}, u[1] = {0};
  cr_assert_eq(env_reward(e, o, u, o), 1.0);
  // each term at its margin: centered and small_velocity give (1 + 0.1) / 2
  o[0] = 2;
  NEAR(env_reward(e, o, u, o), 0.55, 1e-15);
  o[0] = -2;
  NEAR(env_reward(e, o, u, o), 0.55, 1e-15);
  o[0] = 0, o[4] = -5;
  NEAR(env_reward(e, o, u, o), 0.55, 1e-15);
  o[4] = 0;
  // small_control: (4 + 1 - u^2) / 5 inside the margin, 4/5 at and beyond it
  u[0] = 0.5;
  NEAR(env_reward(e, o, u, o), 0.95, 1e-15);
  u[0] = -1;
  NEAR(env_reward(e, o, u, o), 0.8, 1e-15);
  u[0] = 3;
  NEAR(env_reward(e, o, u, o), 0.8, 1e-15);
  u[0] = 0;
  // upright: (cos + 1) / 2
  o[1] = 0, o[2] = 1;
  NEAR(env_reward(e, o, u, o), 0.5, 1e-15);
  o[1] = -1, o[2] = 0;
  cr_assert_eq(env_reward(e, o, u, o), 0.0);
  // a mixture, and the hook reads next_obs (not obs)
  double n[5] = {0.7, cos(2.0), sin(2.0), 0.3, -2.5};
  u[0] = 0.35;
  NEAR(env_reward(e, o, u, n), expect_reward(0.7, cos(2.0), -2.5, 0.35), 1e-14);

  // through env_step: the reward of the state after the step
  double qpos[2] = {-0.5, 2.5}, qvel[2] = {0.4, -3}, obs[5], next[5];
  craft(e, qpos, qvel, obs);
  EnvStep st;
  env_step(e, u, next, &st);
  NEAR(st.reward, expect_reward(e->d->qpos[0], cos(e->d->qpos[1]), e->d->qvel[1], u[0]), 1e-14);
  cr_assert_eq(st.reward, env_reward(e, obs, u, next));
  cr_assert(st.reward >= 0 && st.reward <= 1);
  drop(e, &eo);
}

Test(cartpole, reset_distributions) {
  EnvOptions eo, eo2;
  Env *b = make(&eo, "CartpoleBalance"), *s = make(&eo2, "CartpoleSwingup");
  Rng r;
  rng_init(&r, 6, RNG_STREAM_RESET);
  enum { N = 2000 };
  double obs[5], bx = 0, ba = 0, sx[N], sa[N], v[4 * N];
  for (int i = 0; i < N; i++) {
    env_reset(b, &r, obs);
    cr_assert(fabs(b->d->qpos[0]) <= 0.1 && fabs(b->d->qpos[1]) <= 0.034);
    bx = fmax(bx, fabs(b->d->qpos[0]));
    ba = fmax(ba, fabs(b->d->qpos[1]));
    v[4 * i] = b->d->qvel[0], v[4 * i + 1] = b->d->qvel[1];
    env_reset(s, &r, obs);
    sx[i] = s->d->qpos[0];
    sa[i] = s->d->qpos[1] - mjPI;
    v[4 * i + 2] = s->d->qvel[0], v[4 * i + 3] = s->d->qvel[1];
  }
  cr_assert(bx > 0.099 && ba > 0.0335, "balance noise reaches %g %g", bx, ba);
  double m, sd;
  mean_std(sx, N, &m, &sd);
  cr_assert(fabs(m) < 0.001 && fabs(sd - 0.01) < 0.0007, "swingup x: %g +- %g", m, sd);
  mean_std(sa, N, &m, &sd);
  cr_assert(fabs(m) < 0.001 && fabs(sd - 0.01) < 0.0007, "swingup angle - pi: %g +- %g", m, sd);
  mean_std(v, 4 * N, &m, &sd);
  cr_assert(fabs(m) < 0.0005 && fabs(sd - 0.01) < 0.0004, "qvel: %g +- %g", m, sd);
  drop(b, &eo);
  drop(s, &eo2);
}

// full force to one side for the whole episode: the cart hits the soft slider limit at about
// 6 m/s and overshoots it by some 0.16 m (dm_control's solreflimit 0.08 s), then rests against it
// just past 1.8 m; nothing ends the episode before the time limit
Test(cartpole, never_terminates_slider_limit) {
  EnvOptions eo;
  Env *e = make(&eo, "CartpoleBalance");
  Rng r;
  rng_init(&r, 7, RNG_STREAM_RESET);
  double obs[5], a[1] = {1}, xmax = 0;
  env_reset(e, &r, obs);
  for (int t = 1; t <= 1000; t++) {
    EnvStep st;
    env_step(e, a, obs, &st);
    cr_assert_not(st.terminated);
    cr_assert_not(st.diverged);
    cr_assert_eq(st.truncated, t == 1000, "t %d", t);
    xmax = fmax(xmax, obs[0]);
  }
  cr_assert(xmax > 1.85 && xmax < 2.05, "cart reached %g", xmax);
  cr_assert(obs[0] > 1.79 && obs[0] < 1.83, "cart rests at %g", obs[0]);
  drop(e, &eo);
}

//---------------- Cartpole options ----------------

// the cartpole of the built-in model with the given parameters, as MJCF (a test fixture)
static void write_cartpole(const char *path, double pole_mass, double pole_length,
                           double cart_mass, double friction, double gear) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fprintf(f,
          "<mujoco>\n"
          "  <option timestep='0.01' integrator='RK4'><flag contact='disable'/></option>\n"
          "  <worldbody>\n"
          "    <geom type='plane' pos='0 0 -0.05' size='4 4 0.2'/>\n"
          "    <geom type='capsule' pos='0 0.07 1' zaxis='1 0 0' size='0.02 2'/>\n"
          "    <geom type='capsule' pos='0 -0.07 1' zaxis='1 0 0' size='0.02 2'/>\n"
          "    <body name='cart' pos='0 0 1'>\n"
          "      <joint name='slider' type='slide' axis='1 0 0' limited='true' range='-1.8 1.8'\n"
          "             solreflimit='0.08 1' damping='%.17g'/>\n"
          "      <geom type='box' size='0.2 0.15 0.1' mass='%.17g'/>\n"
          "      <body name='pole'>\n"
          "        <joint name='hinge' type='hinge' axis='0 1 0' damping='2e-6'/>\n"
          "        <geom type='capsule' size='0.045' fromto='0 0 0 0 0 %.17g' mass='%.17g'/>\n"
          "      </body>\n"
          "    </body>\n"
          "  </worldbody>\n"
          "  <actuator>\n"
          "    <motor joint='slider' gear='%.17g' ctrllimited='true' ctrlrange='-1 1'/>\n"
          "  </actuator>\n"
          "</mujoco>\n",
          friction, cart_mass, pole_length, pole_mass, gear);
  fclose(f);
}

// a - b over the model quantities the options touch, and what mj_setConst derives from them
static void same_model(const mjModel *a, const mjModel *b, double rel) {
#define SAME(field, n)                                                                         \
  for (int i_ = 0; i_ < (n); i_++)                                                             \
    cr_assert(fabs(a->field[i_] - b->field[i_]) <= rel * fmax(fabs(b->field[i_]), 1e-12),      \
              #field "[%d]: %.17g vs %.17g", i_, a->field[i_], b->field[i_]);
  cr_assert(a->nbody == b->nbody && a->ngeom == b->ngeom && a->nv == b->nv);
  SAME(body_mass, a->nbody)
  SAME(body_subtreemass, a->nbody)
  SAME(body_inertia, 3 * a->nbody)
  SAME(body_ipos, 3 * a->nbody)
  SAME(body_iquat, 4 * a->nbody)
  SAME(body_invweight0, 2 * a->nbody)
  SAME(geom_size, 3 * a->ngeom)
  SAME(geom_pos, 3 * a->ngeom)
  SAME(geom_quat, 4 * a->ngeom)
  SAME(geom_rbound, a->ngeom)
  SAME(dof_damping, a->nv)
  SAME(dof_M0, a->nv)
  SAME(dof_invweight0, a->nv)
  SAME(actuator_gear, 6 * a->nu)
  SAME(actuator_acc0, a->nu)
  SAME(actuator_length0, a->nu)
#undef SAME
  REL(a->stat.meaninertia, b->stat.meaninertia, rel);
  REL(a->stat.meanmass, b->stat.meanmass, rel);
}

// Every option at once against the same cartpole compiled from MJCF with those values: the
// edited model equals the compiled one (to rounding). The fixture also shows that options at
// their nominal values leave an env.model file as it is.
Test(cartpole, options_match_compiled_model) {
  char dir[] = "/tmp/mb-cartpole-XXXXXX", path[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/cartpole.xml", dir);
  write_cartpole(path, 0.25, 1.5, 1.7, 0.3, 14);
  char model[200];
  snprintf(model, sizeof model, "env.model=%s", path);
  const char *set[5] = {"env.pole_mass=0.25", "env.pole_length=1.5", "env.cart_mass=1.7",
                        "env.friction=0.3", "env.gear=14"};
  const char *file[1] = {model};
  EnvOptions eo, eo2;
  Env *opt = make_set(&eo, "CartpoleBalance", set, 5);
  Env *xml = make_set(&eo2, "CartpoleBalance", file, 1);
  unlink(path);
  rmdir(dir);
  same_model(opt->m, xml->m, 1e-14);
  // and the two simulate alike
  Rng r1, r2;
  rng_init(&r1, 8, RNG_STREAM_RESET);
  rng_init(&r2, 8, RNG_STREAM_RESET);
  double o1[5], o2[5], a[1] = {0.4};
  env_reset(opt, &r1, o1);
  env_reset(xml, &r2, o2);
  for (int t = 0; t < 200; t++) {
    EnvStep s1, s2;
    env_step(opt, a, o1, &s1);
    env_step(xml, a, o2, &s2);
  }
  for (int i = 0; i < 5; i++) NEAR(o1[i], o2[i], 1e-9);
  drop(opt, &eo);
  drop(xml, &eo2);
}

// solid capsule about its centre: cylinder + two hemispheres (radius r, cylinder length len)
static void capsule(double r, double len, double mass, double *across, double *along) {
  double vc = mjPI * r * r * len, vs = 4.0 / 3.0 * mjPI * r * r * r;
  double mc = mass * vc / (vc + vs), ms = mass * vs / (vc + vs);
  *across = mc * (r * r / 4 + len * len / 12) +
            ms * (2 * r * r / 5 + len * len / 4 + 3 * len * r / 8);
  *along = mc * r * r / 2 + ms * 2 * r * r / 5;
}

Test(cartpole, options_change_the_model) {
  EnvOptions e0, e1;
  Env *nominal = make(&e0, "CartpoleSwingup");
  const char *set[5] = {"env.pole_length=0.6", "env.pole_mass=0.3", "env.cart_mass=2",
                        "env.friction=0.7", "env.gear=20"};
  Env *e = make_set(&e1, "CartpoleSwingup", set, 5);
  const mjModel *m = e->m;
  int cart = body(e, "cart"), pole = body(e, "pole"), g = m->body_geomadr[pole];
  // the pole: 0.6 m from the hinge, centre of mass at 0.3 m, the inertia of that capsule
  double across, along;
  capsule(0.045, 0.6, 0.3, &across, &along);
  cr_assert_eq(m->body_mass[pole], 0.3);
  NEAR(m->geom_size[3 * g + 1], 0.3, 1e-15);
  NEAR(m->geom_pos[3 * g + 2], 0.3, 1e-15);
  NEAR(m->body_ipos[3 * pole + 2], 0.3, 1e-15);
  REL(m->body_inertia[3 * pole], across, 1e-12);
  REL(m->body_inertia[3 * pole + 1], across, 1e-12);
  REL(m->body_inertia[3 * pole + 2], along, 1e-12);
  cr_assert_neq(m->body_inertia[3 * pole], nominal->m->body_inertia[3 * pole]);
  // the cart: a box of half sizes (0.2, 0.15, 0.1), inertia m (b^2 + c^2) / 3
  cr_assert_eq(m->body_mass[cart], 2);
  REL(m->body_inertia[3 * cart], 2 * (0.15 * 0.15 + 0.1 * 0.1) / 3, 1e-12);
  REL(m->body_inertia[3 * cart + 2], 2 * (0.2 * 0.2 + 0.15 * 0.15) / 3, 1e-12);
  REL(m->body_subtreemass[cart], 2.3, 1e-12);
  cr_assert_eq(m->dof_damping[0], 0.7);
  cr_assert_eq(m->dof_damping[1], 2e-6);
  cr_assert_eq(m->actuator_gear[0], 20);
  // geometry in the simulation: at 90 degrees the pole's centre is 0.3 m beside the cart
  double qpos[2] = {0.2, mjPI / 2}, qvel[2] = {0, 0}, obs[5];
  craft(e, qpos, qvel, obs);
  NEAR(e->d->geom_xpos[3 * g], 0.5, 1e-12);
  NEAR(e->d->geom_xpos[3 * g + 2], 1, 1e-12);
  // dynamics: from rest with the pole up, push 1: the cart accelerates at
  // F J / ((M + m) J - (m l)^2) with J the pole's inertia about the hinge (linearised model)
  double up[2] = {0, 0};
  craft(e, up, qvel, obs);
  e->d->ctrl[0] = 1;
  mj_forward(e->m, e->d);
  double J = across + 0.3 * 0.3 * 0.3, ml = 0.3 * 0.3;
  double acc = 20 * J / (2.3 * J - ml * ml);
  REL(e->d->qacc[0], acc, 1e-9);
  drop(nominal, &e0);
  drop(e, &e1);
}

Test(cartpole, options_at_nominal_leave_model) {
  EnvOptions eo;
  Env *e = make(&eo, "CartpoleBalance");
  mjModel *m = mj_loadXML(e->model_path, NULL, err, sizeof err);
  cr_assert_not_null(m, "%s", err);
  same_model(e->m, m, 0);
  mj_deleteModel(m);
  drop(e, &eo);
  // a length needs a capsule pole along the body's z axis
  char dir[] = "/tmp/mb-cartpole-XXXXXX", path[64];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/box-pole.xml", dir);
  FILE *f = fopen(path, "w");
  fprintf(f, "<mujoco><worldbody><body name='cart'><joint name='slider' type='slide'/>"
             "<geom type='box' size='.1 .1 .1'/><body name='pole'><joint name='hinge'/>"
             "<geom type='box' size='.1 .1 .5' pos='0 0 .5'/></body></body></worldbody>"
             "<actuator><motor joint='slider'/></actuator></mujoco>");
  fclose(f);
  char model[200];
  snprintf(model, sizeof model, "env.model=%s", path);
  const char *set[2] = {model, "env.pole_length=2"};
  Config cfg;
  cfg_init(&cfg);
  cr_assert_eq(env_options_register(&cfg, "CartpoleBalance", &eo, err, sizeof err), 0);
  for (int i = 0; i < 2; i++) {
    char key[64];
    const char *eq = strchr(set[i], '=');
    snprintf(key, sizeof key, "%.*s", (int)(eq - set[i]), set[i]);
    cfg_push(&cfg, key, eq + 1, CFG_SET, "--set", err, sizeof err);
  }
  cr_assert_eq(cfg_apply(&cfg, 1, err, sizeof err), 0, "%s", err);
  cfg_free(&cfg);
  cr_assert_null(env_make(&eo, err, sizeof err));
  cr_assert(strstr(err, "pole_length") && strstr(err, path), "message: %s", err);
  env_options_free(&eo);
  unlink(path);
  rmdir(dir);
}

//---------------- Cartpole behaviour ----------------

// State feedback u = kx x + kth th + kv v + kw w on the linearisation about upright. With
// force F = 10 u, cart mass M = 1, pole mass m = 0.1, centre of mass l = 0.5, pole inertia about
// the hinge J = Ic + m l^2 = 0.0094246 + 0.025 and D = (M + m) J - (m l)^2 = 0.0353671:
//   x'' = a1 u - a2 th,  th'' = b2 th - b1 u,
//   a1 = 10 J / D = 9.7335, a2 = m l m g l / D = 0.69344, b1 = 10 m l / D = 14.1374,
//   b2 = (M + m) m g l / D = 15.2557.
// The closed loop's characteristic polynomial is
//   s^4 + (b1 kw - a1 kv) s^3 + (b1 kth - a1 kx - b2) s^2 + c kv s + c kx,  c = a1 b2 - a2 b1
// (c = 10 m g l / D = 138.69). Matching (s + 2)(s + 3)(s + 4)(s + 5) = s^4 + 14 s^3 + 71 s^2 +
// 154 s + 120 gives kx = 120 / c, kv = 154 / c, kth = (71 + b2 + a1 kx) / b1,
// kw = (14 + a1 kv) / b1. From the balance resets (|x| <= 0.1, |th| <= 0.034) the action stays
// well inside [-1, 1].
static double pd_action(const double *obs) {
  const double a1 = 9.7335, b1 = 14.1374, b2 = 15.2557, c = 138.69;
  const double kx = 120 / c, kv = 154 / c, kth = (71 + b2 + a1 * kx) / b1, kw = (14 + a1 * kv) / b1;
  double th = atan2(obs[2], obs[1]);
  return kx * obs[0] + kth * th + kv * obs[3] + kw * obs[4];
}

Test(cartpole, balance_controller_scores_near_1000) {
  EnvOptions eo;
  Env *e = make(&eo, "CartpoleBalance");
  Rng r;
  rng_init(&r, 9, RNG_STREAM_EVAL);
  double obs[5], a[1], worst = 1000, sum = 0, umax = 0;
  for (int ep = 0; ep < 10; ep++) {
    double ret = 0;
    env_reset(e, &r, obs);
    for (;;) {
      EnvStep st;
      a[0] = pd_action(obs);
      umax = fmax(umax, fabs(a[0]));
      env_step(e, a, obs, &st);
      ret += st.reward;
      if (st.terminated || st.truncated) break;
    }
    worst = fmin(worst, ret);
    sum += ret;
  }
  fprintf(stderr, "CartpoleBalance pole-placement controller: mean return %.2f, worst %.2f, "
          "max |u| %.3f\n", sum / 10, worst, umax);
  cr_assert_geq(worst, 990, "worst return %g", worst);
  cr_assert_lt(umax, 1);
  drop(e, &eo);
}

Test(cartpole, swingup_zero_force_scores_near_0) {
  EnvOptions eo;
  Env *e = make(&eo, "CartpoleSwingup");
  Rng r;
  rng_init(&r, 10, RNG_STREAM_EVAL);
  double obs[5], a[1] = {0}, worst = 0;
  for (int ep = 0; ep < 10; ep++) {
    double ret = 0;
    env_reset(e, &r, obs);
    for (;;) {
      EnvStep st;
      env_step(e, a, obs, &st);
      ret += st.reward;
      if (st.terminated || st.truncated) break;
    }
    worst = fmax(worst, ret);
  }
  fprintf(stderr, "CartpoleSwingup zero force: highest return %.4f\n", worst);
  cr_assert_lt(worst, 1, "a hanging pole scored %g", worst);
  drop(e, &eo);
}
