// HalfCheetah: run a planar two-legged robot forward (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/half_cheetah_v4.py and mujoco_env.py
// (the v4 mechanics), with the model in envs/models/half_cheetah.xml.
//
//   model     9 joints: rootx, rootz (slides), rooty and six leg hinges with springs; 14 kg;
//             Euler, timestep 0.01 s, 5 physics steps per action (dt 0.05 s); action: six
//             torques in [-1, 1], gears 120 90 60 120 60 30
//   obs (17)  [qpos[1:9] (rootz, rooty, 6 joint angles), qvel (9)]; 18 with rootx kept
//   reward    forward_reward_weight * vx - ctrl_cost_weight * |a|^2, where
//             vx = (qpos[0] after - qpos[0] before) / dt over the whole step
//   end       never terminates; time limit 1000 steps
//   reset     qpos0 + U(-s, s) on qpos, s N(0, 1) on qvel, s = reset_noise_scale (0.1)
//   options   forward_reward_weight (1), ctrl_cost_weight (0.1), reset_noise_scale (0.1),
//             exclude_current_positions_from_observation (true)
//
// No reward from observations: vx is a displacement over the step, and x is not in the
// observation by default (qvel[0] is the end-of-step velocity, not the average).
#include "fail.h"
#include "task.h"

#define CHEETAH_OPTS(X)                                                                       \
  X(REAL, forward_reward_weight, "1", "(-inf, inf)", "weight of the forward velocity reward") \
  X(REAL, ctrl_cost_weight, "0.1", "[0, inf)", "weight of the control cost |a|^2")            \
  X(REAL, reset_noise_scale, "0.1", "[0, inf)",                                               \
    "reset noise: U(-s, s) on qpos, s N(0, 1) on qvel")                                      \
  X(BOOL, exclude_current_positions_from_observation, "true", "",                            \
    "leave the x position (qpos[0]) out of the observation")
TASK_OPTIONS(CheetahOpts, cheetah_register, CHEETAH_OPTS)

static int cheetah_setup(Env *e, char *err, size_t errsz) {
  const CheetahOpts *o = env_task_opts(e);
  if (env_check_sizes(e, 9, 9, 6, err, errsz)) return -1;
  // v4 reads the forward position as qpos[0]
  int root = env_id(e, mjOBJ_JOINT, "rootx", err, errsz);
  if (root < 0) return -1;
  if (e->m->jnt_qposadr[root] != 0)
    return fail_msg(err, errsz, "%s: joint rootx must be the first coordinate (qpos[0])",
                    e->model_path);
  e->obs_dim = o->exclude_current_positions_from_observation ? 17 : 18;
  return 0;
}

static void cheetah_reset(Env *e, Rng *r) {
  const CheetahOpts *o = env_task_opts(e);
  env_noise_uniform_normal(e, r, o->reset_noise_scale);
}

static void cheetah_step(Env *e, const double *act, EnvStep *out) {
  const CheetahOpts *o = env_task_opts(e);
  double vx = env_simulate_vx(e, act);
  double forward = o->forward_reward_weight * vx;
  double ctrl_cost = o->ctrl_cost_weight * env_sq_norm(act, e->act_dim);
  out->reward = forward - ctrl_cost;
}

static void cheetah_observe(const Env *e, double *obs) {
  const CheetahOpts *o = env_task_opts(e);
  env_observe_qpos_qvel(e, obs, o->exclude_current_positions_from_observation ? 1 : 0, 0);
}

const EnvTask task_half_cheetah = {
    .name = "HalfCheetah",
    .summary = "Gymnasium HalfCheetah-v4: run a planar two-legged robot forward (obs 17, act 6)",
    .model = "half_cheetah.xml",
    .frame_skip = 5,
    .max_steps = 1000,
    .opts_size = sizeof(CheetahOpts),
    .register_opts = cheetah_register,
    .setup = cheetah_setup,
    .reset = cheetah_reset,
    .step = cheetah_step,
    .observe = cheetah_observe,
};
