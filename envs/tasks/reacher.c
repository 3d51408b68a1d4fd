// Reacher: move the fingertip of a planar two-link arm onto a target (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/reacher_v4.py and mujoco_env.py (the
// v4 mechanics), with the model in envs/models/reacher.xml.
//
//   model     two 0.1 m links on hinges (joint0 free, joint1 +-3 rad), target on two slides;
//             RK4, timestep 0.01 s, 2 physics steps per action (dt 0.02 s); action: two joint
//             torques in [-1, 1], gear 200
//   obs (11)  [cos q0, cos q1, sin q0, sin q1, target x, target y, qvel0, qvel1,
//              fingertip - target (x, y, z)]; the z entry is always 0 (v4 keeps it)
//   reward    -|fingertip - target| - |a|^2, where the distance is the one v4 reads *before*
//             the physics step (the previous observation's last three entries)
//   end       never terminates; time limit 50 steps
//   reset     qpos + U(-0.1, 0.1); the goal is drawn from U(-0.2, 0.2)^2 until its norm is
//             below 0.2 and written into the target slides; qvel + U(-0.005, 0.005), then the
//             target's velocity set to 0
//   options   none (v4 has no keyword arguments for this task)
//
// Like v4, the fingertip - target vector is read from the body positions MuJoCo computed last.
// After a step these come from the last RK4 stage, not the final state (mj_step does not redo
// the kinematics), so they differ from the final state's geometry: by about 2e-5 m on average
// under random actions, by millimetres at high joint speed. The task keeps that vector as its
// state (tstate, 3 values) so that a restored state yields the same observation and next
// reward; a state crafted by hand must set it too (reset, a step, or writing fingertip - target
// of the crafted pose). v4's extra mj_rnePostConstraint after the physics is skipped: nothing
// here reads what it computes (cacc, cfrc_*).
#include <math.h>

#include "task.h"

typedef struct {
  int fingertip, target;   // body ids
} Reacher;

static int reacher_setup(Env *e, char *err, size_t errsz) {
  Reacher *p = e->priv;
  if (env_check_sizes(e, 4, 4, 2, err, errsz)) return -1;
  if ((p->fingertip = env_id(e, mjOBJ_BODY, "fingertip", err, errsz)) < 0) return -1;
  if ((p->target = env_id(e, mjOBJ_BODY, "target", err, errsz)) < 0) return -1;
  e->obs_dim = 11;
  return 0;
}

// fingertip - target from the body positions MuJoCo holds now, into the task state
static void reacher_keep_vec(Env *e) {
  const Reacher *p = e->priv;
  for (int k = 0; k < 3; k++)
    e->tstate[k] = e->d->xpos[3 * p->fingertip + k] - e->d->xpos[3 * p->target + k];
}

static void reacher_reset(Env *e, Rng *r) {
  mjData *d = e->d;
  const mjModel *m = e->m;
  for (int i = 0; i < m->nq; i++) d->qpos[i] = m->qpos0[i] + rng_uniform_range(r, -0.1, 0.1);
  double gx, gy;
  do {
    gx = rng_uniform_range(r, -0.2, 0.2);
    gy = rng_uniform_range(r, -0.2, 0.2);
  } while (sqrt(gx * gx + gy * gy) >= 0.2);
  d->qpos[2] = gx;
  d->qpos[3] = gy;
  for (int i = 0; i < m->nv; i++) d->qvel[i] = rng_uniform_range(r, -0.005, 0.005);
  d->qvel[2] = d->qvel[3] = 0;
  // v4's set_state runs mj_forward before observing: the first vector is the exact geometry
  mj_kinematics(m, d);
  reacher_keep_vec(e);
}

static void reacher_observe(const Env *e, double *obs) {
  const mjData *d = e->d;
  obs[0] = cos(d->qpos[0]);
  obs[1] = cos(d->qpos[1]);
  obs[2] = sin(d->qpos[0]);
  obs[3] = sin(d->qpos[1]);
  obs[4] = d->qpos[2];
  obs[5] = d->qpos[3];
  obs[6] = d->qvel[0];
  obs[7] = d->qvel[1];
  for (int k = 0; k < 3; k++) obs[8 + k] = e->tstate[k];
}

// v4's reward from the pre-step vector vec (3) and the action
static double reacher_reward_of(const double *vec, const double *act) {
  double dist = sqrt(vec[0] * vec[0] + vec[1] * vec[1] + vec[2] * vec[2]);
  return -dist - env_sq_norm(act, 2);
}

static void reacher_step(Env *e, const double *act, EnvStep *out) {
  out->reward = reacher_reward_of(e->tstate, act);
  env_simulate(e, act);
  reacher_keep_vec(e);
}

// exact: the distance term is the one in obs (what v4 reads before the step)
static double reacher_reward(const Env *e, const double *obs, const double *act,
                             const double *next_obs) {
  (void)e, (void)next_obs;
  return reacher_reward_of(obs + 8, act);
}

const EnvTask task_reacher = {
    .name = "Reacher",
    .summary = "Gymnasium Reacher-v4: bring a two-link arm's fingertip to a target (obs 11, act 2)",
    .model = "reacher.xml",
    .frame_skip = 2,
    .max_steps = 50,
    .priv_size = sizeof(Reacher),
    .nstate = 3,
    .setup = reacher_setup,
    .reset = reacher_reset,
    .step = reacher_step,
    .observe = reacher_observe,
    .reward = reacher_reward,
};
