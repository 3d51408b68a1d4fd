// Walker2d: walk a planar biped forward without falling (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/walker2d_v4.py and mujoco_env.py (the
// v4 mechanics), with the model in envs/models/walker2d.xml (v4's physics in local coordinates,
// feet friction 0.9 right and 1.9 left as in v2-v4).
//
//   model     9 joints: rootx, rootz (slides), rooty and thigh, leg, foot hinges of each leg;
//             23.68 kg; RK4, timestep 0.002 s, 4 physics steps per action (dt 0.008 s);
//             action: six torques in [-1, 1], gear 100 (right leg then left leg)
//   obs (17)  [qpos[1:9] (z, torso angle, 6 joint angles), clip(qvel, -10, 10) (9)]; 18 with
//             rootx kept
//   reward    forward_reward_weight * vx + healthy_reward - ctrl_cost_weight * |a|^2, where
//             vx = (qpos[0] after - qpos[0] before) / dt. As in v4 (fixed in v5), with
//             terminate_when_unhealthy the healthy reward is paid on every step, the terminating
//             one included; without it, only on healthy steps.
//   healthy   after the step, both strict: healthy_z_min < qpos[1] < healthy_z_max and
//             healthy_angle_min < qpos[2] < healthy_angle_max (v4 checks nothing else)
//   end       terminated when not healthy (if terminate_when_unhealthy); time limit 1000 steps
//   reset     qpos0 + U(-s, s) on qpos, U(-s, s) on qvel, s = reset_noise_scale (5e-3)
//   options   forward_reward_weight (1), ctrl_cost_weight (1e-3), healthy_reward (1),
//             terminate_when_unhealthy (true), healthy_z_min/max (0.8, 2),
//             healthy_angle_min/max (-1, 1), reset_noise_scale (5e-3),
//             exclude_current_positions_from_observation (true)
//
// No reward from observations: vx is a displacement over the step and x is not observed.
#include "fail.h"
#include "task.h"

#define WALKER_OPTS(X)                                                                        \
  X(REAL, forward_reward_weight, "1", "(-inf, inf)", "weight of the forward velocity reward") \
  X(REAL, ctrl_cost_weight, "1e-3", "[0, inf)", "weight of the control cost |a|^2")           \
  X(REAL, healthy_reward, "1", "(-inf, inf)", "reward per step for staying healthy")          \
  X(BOOL, terminate_when_unhealthy, "true", "", "end the episode when the walker is unhealthy") \
  X(REAL, healthy_z_min, "0.8", "[-inf, inf]", "healthy: torso height above this (strict)")   \
  X(REAL, healthy_z_max, "2", "[-inf, inf]", "healthy: torso height below this (strict)")     \
  X(REAL, healthy_angle_min, "-1", "[-inf, inf]",                                             \
    "healthy: torso angle above this (rad, strict)")                                         \
  X(REAL, healthy_angle_max, "1", "[-inf, inf]",                                              \
    "healthy: torso angle below this (rad, strict)")                                         \
  X(REAL, reset_noise_scale, "5e-3", "[0, inf)", "reset noise: U(-s, s) on qpos and qvel")    \
  X(BOOL, exclude_current_positions_from_observation, "true", "",                            \
    "leave the x position (qpos[0]) out of the observation")
TASK_OPTIONS(WalkerOpts, walker_register, WALKER_OPTS)

static int walker_setup(Env *e, char *err, size_t errsz) {
  const WalkerOpts *o = env_task_opts(e);
  if (env_check_sizes(e, 9, 9, 6, err, errsz)) return -1;
  if (env_check_planar_root(e, err, errsz)) return -1;
  if (!(o->healthy_z_min < o->healthy_z_max) || !(o->healthy_angle_min < o->healthy_angle_max))
    return fail_msg(err, errsz, "Walker2d: each healthy range needs min < max (z %g..%g, "
                    "angle %g..%g)", o->healthy_z_min, o->healthy_z_max, o->healthy_angle_min,
                    o->healthy_angle_max);
  e->obs_dim = o->exclude_current_positions_from_observation ? 17 : 18;
  return 0;
}

static void walker_reset(Env *e, Rng *r) {
  const WalkerOpts *o = env_task_opts(e);
  env_noise_uniform(e, r, o->reset_noise_scale);
}

// v4's is_healthy from z = qpos[1] and angle = qpos[2], both strict (NaN is unhealthy)
static int walker_healthy(const WalkerOpts *o, double z, double angle) {
  return o->healthy_z_min < z && z < o->healthy_z_max && o->healthy_angle_min < angle &&
         angle < o->healthy_angle_max;
}

static void walker_step(Env *e, const double *act, EnvStep *out) {
  const WalkerOpts *o = env_task_opts(e);
  const mjData *d = e->d;
  double vx = env_simulate_vx(e, act);
  int healthy = walker_healthy(o, d->qpos[1], d->qpos[2]);
  double forward = o->forward_reward_weight * vx;
  double ctrl_cost = o->ctrl_cost_weight * env_sq_norm(act, e->act_dim);
  env_healthy_reward(out, forward, ctrl_cost, healthy, o->terminate_when_unhealthy,
                     o->healthy_reward);
}

static void walker_observe(const Env *e, double *obs) {
  const WalkerOpts *o = env_task_opts(e);
  env_observe_qpos_qvel(e, obs, o->exclude_current_positions_from_observation ? 1 : 0, 10);
}

// exact: z and the torso angle are observed unclipped
static int walker_is_terminal(const Env *e, const double *obs) {
  const WalkerOpts *o = env_task_opts(e);
  if (!o->terminate_when_unhealthy) return 0;
  const double *q = obs + (o->exclude_current_positions_from_observation ? 0 : 1);
  return !walker_healthy(o, q[0], q[1]);
}

const EnvTask task_walker2d = {
    .name = "Walker2d",
    .summary = "Gymnasium Walker2d-v4: walk a planar biped forward (obs 17, act 6)",
    .model = "walker2d.xml",
    .frame_skip = 4,
    .max_steps = 1000,
    .opts_size = sizeof(WalkerOpts),
    .register_opts = walker_register,
    .setup = walker_setup,
    .reset = walker_reset,
    .step = walker_step,
    .observe = walker_observe,
    .is_terminal = walker_is_terminal,
};
