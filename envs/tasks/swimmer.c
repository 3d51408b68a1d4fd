// Swimmer: swim a three-link planar snake forward through a viscous fluid (Gymnasium v4
// semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/swimmer_v4.py and mujoco_env.py (the
// v4 mechanics), with the model in envs/models/swimmer.xml.
//
//   model     5 joints: slider1 (x), slider2 (y), free_body_rot and two hinges (+-100 deg);
//             106.8 kg; fluid density 4000, viscosity 0.1, no contacts; RK4, timestep 0.01 s,
//             4 physics steps per action (dt 0.04 s); action: two torques in [-1, 1], gear 150
//   obs (8)   [qpos[2:5] (heading, 2 joint angles), qvel (5)]; 10 with x, y kept
//   reward    forward_reward_weight * vx - ctrl_cost_weight * |a|^2, where
//             vx = (qpos[0] after - qpos[0] before) / dt
//   end       never terminates; time limit 1000 steps
//   reset     qpos0 + U(-s, s) on qpos, U(-s, s) on qvel, s = reset_noise_scale (0.1)
//   options   forward_reward_weight (1), ctrl_cost_weight (1e-4), reset_noise_scale (0.1),
//             exclude_current_positions_from_observation (true)
//
// No reward from observations: vx is a displacement over the step and x is not observed.
#include "fail.h"
#include "task.h"

#define SWIMMER_OPTS(X)                                                                       \
  X(REAL, forward_reward_weight, "1", "(-inf, inf)", "weight of the forward velocity reward") \
  X(REAL, ctrl_cost_weight, "1e-4", "[0, inf)", "weight of the control cost |a|^2")           \
  X(REAL, reset_noise_scale, "0.1", "[0, inf)", "reset noise: U(-s, s) on qpos and qvel")     \
  X(BOOL, exclude_current_positions_from_observation, "true", "",                            \
    "leave the x, y position (qpos[0:2]) out of the observation")
TASK_OPTIONS(SwimmerOpts, swimmer_register, SWIMMER_OPTS)

static int swimmer_setup(Env *e, char *err, size_t errsz) {
  const SwimmerOpts *o = env_task_opts(e);
  if (env_check_sizes(e, 5, 5, 2, err, errsz)) return -1;
  // v4 reads the forward position as qpos[0]
  int root = env_id(e, mjOBJ_JOINT, "slider1", err, errsz);
  if (root < 0) return -1;
  if (e->m->jnt_qposadr[root] != 0)
    return fail_msg(err, errsz, "%s: joint slider1 must be the first coordinate (qpos[0])",
                    e->model_path);
  e->obs_dim = o->exclude_current_positions_from_observation ? 8 : 10;
  return 0;
}

static void swimmer_reset(Env *e, Rng *r) {
  const SwimmerOpts *o = env_task_opts(e);
  env_noise_uniform(e, r, o->reset_noise_scale);
}

static void swimmer_step(Env *e, const double *act, EnvStep *out) {
  const SwimmerOpts *o = env_task_opts(e);
  double vx = env_simulate_vx(e, act);
  double forward = o->forward_reward_weight * vx;
  double ctrl_cost = o->ctrl_cost_weight * env_sq_norm(act, e->act_dim);
  out->reward = forward - ctrl_cost;
}

static void swimmer_observe(const Env *e, double *obs) {
  const SwimmerOpts *o = env_task_opts(e);
  env_observe_qpos_qvel(e, obs, o->exclude_current_positions_from_observation ? 2 : 0, 0);
}

const EnvTask task_swimmer = {
    .name = "Swimmer",
    .summary = "Gymnasium Swimmer-v4: swim a three-link snake forward in a fluid (obs 8, act 2)",
    .model = "swimmer.xml",
    .frame_skip = 4,
    .max_steps = 1000,
    .opts_size = sizeof(SwimmerOpts),
    .register_opts = swimmer_register,
    .setup = swimmer_setup,
    .reset = swimmer_reset,
    .step = swimmer_step,
    .observe = swimmer_observe,
};
