// Hopper: hop a planar one-legged robot forward without falling (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/hopper_v4.py and mujoco_env.py (the
// v4 mechanics), with the model in envs/models/hopper.xml (v4's physics in local coordinates).
//
//   model     6 joints: rootx, rootz (slides), rooty and thigh, leg, foot hinges; 15.82 kg;
//             RK4, timestep 0.002 s, 4 physics steps per action (dt 0.008 s); action: three
//             torques in [-1, 1], gear 200
//   obs (11)  [qpos[1:6] (z, torso angle, 3 joint angles), clip(qvel, -10, 10) (6)]; 12 with
//             rootx kept
//   reward    forward_reward_weight * vx + healthy_reward - ctrl_cost_weight * |a|^2, where
//             vx = (qpos[0] after - qpos[0] before) / dt. As in v4 (fixed in v5), with
//             terminate_when_unhealthy the healthy reward is paid on every step, the terminating
//             one included; without it, only on healthy steps.
//   healthy   after the step, all strict: every entry of qpos[2:] and of qvel (unclipped) in
//             (healthy_state_min, healthy_state_max), healthy_z_min < qpos[1] < healthy_z_max,
//             healthy_angle_min < qpos[2] < healthy_angle_max
//   end       terminated when not healthy (if terminate_when_unhealthy); time limit 1000 steps
//   reset     qpos0 + U(-s, s) on qpos, U(-s, s) on qvel, s = reset_noise_scale (5e-3)
//   options   forward_reward_weight (1), ctrl_cost_weight (1e-3), healthy_reward (1),
//             terminate_when_unhealthy (true), healthy_state_min/max (-100, 100),
//             healthy_z_min/max (0.7, inf), healthy_angle_min/max (-0.2, 0.2),
//             reset_noise_scale (5e-3), exclude_current_positions_from_observation (true)
//
// No reward from observations: vx is a displacement over the step and x is not observed.
#include "fail.h"
#include "task.h"

#define HOPPER_OPTS(X)                                                                        \
  X(REAL, forward_reward_weight, "1", "(-inf, inf)", "weight of the forward velocity reward") \
  X(REAL, ctrl_cost_weight, "1e-3", "[0, inf)", "weight of the control cost |a|^2")           \
  X(REAL, healthy_reward, "1", "(-inf, inf)", "reward per step for staying healthy")          \
  X(BOOL, terminate_when_unhealthy, "true", "", "end the episode when the hopper is unhealthy") \
  X(REAL, healthy_state_min, "-100", "[-inf, inf]",                                           \
    "healthy: qpos[2:] and qvel above this (strict)")                                        \
  X(REAL, healthy_state_max, "100", "[-inf, inf]",                                            \
    "healthy: qpos[2:] and qvel below this (strict)")                                        \
  X(REAL, healthy_z_min, "0.7", "[-inf, inf]", "healthy: torso height above this (strict)")   \
  X(REAL, healthy_z_max, "inf", "[-inf, inf]", "healthy: torso height below this (strict)")   \
  X(REAL, healthy_angle_min, "-0.2", "[-inf, inf]",                                           \
    "healthy: torso angle above this (rad, strict)")                                         \
  X(REAL, healthy_angle_max, "0.2", "[-inf, inf]",                                            \
    "healthy: torso angle below this (rad, strict)")                                         \
  X(REAL, reset_noise_scale, "5e-3", "[0, inf)", "reset noise: U(-s, s) on qpos and qvel")    \
  X(BOOL, exclude_current_positions_from_observation, "true", "",                            \
    "leave the x position (qpos[0]) out of the observation")
TASK_OPTIONS(HopperOpts, hopper_register, HOPPER_OPTS)

static int hopper_setup(Env *e, char *err, size_t errsz) {
  const HopperOpts *o = env_task_opts(e);
  if (env_check_sizes(e, 6, 6, 3, err, errsz)) return -1;
  if (env_check_planar_root(e, err, errsz)) return -1;
  if (!(o->healthy_state_min < o->healthy_state_max) || !(o->healthy_z_min < o->healthy_z_max) ||
      !(o->healthy_angle_min < o->healthy_angle_max))
    return fail_msg(err, errsz, "Hopper: each healthy range needs min < max (state %g..%g, "
                    "z %g..%g, angle %g..%g)", o->healthy_state_min, o->healthy_state_max,
                    o->healthy_z_min, o->healthy_z_max, o->healthy_angle_min,
                    o->healthy_angle_max);
  e->obs_dim = o->exclude_current_positions_from_observation ? 11 : 12;
  return 0;
}

static void hopper_reset(Env *e, Rng *r) {
  const HopperOpts *o = env_task_opts(e);
  env_noise_uniform(e, r, o->reset_noise_scale);
}

static int in_open(double x, double lo, double hi) { return lo < x && x < hi; }

// v4's is_healthy from z = qpos[1], angle = qpos[2] and the state vector's tail: qpos[2:] (nq - 2
// values at qt) and qvel (nv at v), all in open ranges (NaN fails every comparison: unhealthy)
static int hopper_healthy(const HopperOpts *o, double z, double angle, const double *qt, int nqt,
                          const double *v, int nv) {
  for (int i = 0; i < nqt; i++)
    if (!in_open(qt[i], o->healthy_state_min, o->healthy_state_max)) return 0;
  for (int i = 0; i < nv; i++)
    if (!in_open(v[i], o->healthy_state_min, o->healthy_state_max)) return 0;
  return in_open(z, o->healthy_z_min, o->healthy_z_max) &&
         in_open(angle, o->healthy_angle_min, o->healthy_angle_max);
}

static void hopper_step(Env *e, const double *act, EnvStep *out) {
  const HopperOpts *o = env_task_opts(e);
  const mjData *d = e->d;
  double vx = env_simulate_vx(e, act);
  int nq = e->m->nq;
  int healthy = hopper_healthy(o, d->qpos[1], d->qpos[2], d->qpos + 2, nq - 2, d->qvel, e->m->nv);
  double forward = o->forward_reward_weight * vx;
  double ctrl_cost = o->ctrl_cost_weight * env_sq_norm(act, e->act_dim);
  env_healthy_reward(out, forward, ctrl_cost, healthy, o->terminate_when_unhealthy,
                     o->healthy_reward);
}

static void hopper_observe(const Env *e, double *obs) {
  const HopperOpts *o = env_task_opts(e);
  env_observe_qpos_qvel(e, obs, o->exclude_current_positions_from_observation ? 1 : 0, 10);
}

// The healthy rule on the observation: z, angle and qpos[2:] are observed exactly; qvel only
// clipped to [-10, 10], so the state-range test on velocities is exact when
// [healthy_state_min, healthy_state_max] lies within [-10, 10] and otherwise passes velocities
// beyond 10 in magnitude that v4 would test unclipped (with the default (-100, 100) an
// approximation only for |qvel| >= 100).
static int hopper_is_terminal(const Env *e, const double *obs) {
  const HopperOpts *o = env_task_opts(e);
  if (!o->terminate_when_unhealthy) return 0;
  // obs[z] = qpos[1], followed by qpos[2:] and the clipped qvel
  const double *q = obs + (o->exclude_current_positions_from_observation ? 0 : 1);
  int nq = e->m->nq;
  return !hopper_healthy(o, q[0], q[1], q + 1, nq - 2, q + nq - 1, e->m->nv);
}

const EnvTask task_hopper = {
    .name = "Hopper",
    .summary = "Gymnasium Hopper-v4: hop a planar one-legged robot forward (obs 11, act 3)",
    .model = "hopper.xml",
    .frame_skip = 4,
    .max_steps = 1000,
    .opts_size = sizeof(HopperOpts),
    .register_opts = hopper_register,
    .setup = hopper_setup,
    .reset = hopper_reset,
    .step = hopper_step,
    .observe = hopper_observe,
    .is_terminal = hopper_is_terminal,
};
