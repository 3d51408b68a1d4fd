// InvertedPendulum: keep a pole upright on a cart by pushing the cart (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/inverted_pendulum_v4.py and
// mujoco_env.py (the v4 mechanics), with the model in envs/models/inverted_pendulum.xml.
//
//   model     cart on a slider (+-1 m), pole on a hinge (+-90 deg); RK4, timestep 0.02 s,
//             2 physics steps per action (dt 0.04 s); action: cart force in [-3, 3], gear 100
//   obs (4)   [cart x, pole angle, cart velocity, pole angular velocity] = [qpos, qvel]
//   reward    1 on every step, the terminating one included (v4 pays it unconditionally)
//   end       terminated when an observation is not finite or |pole angle| > 0.2 rad; time
//             limit 1000 steps (truncation)
//   reset     qpos and qvel each + U(-0.01, 0.01)
//   options   none (v4 has no keyword arguments for this task)
//
// v4 also calls mj_rnePostConstraint after the physics; nothing here reads what it computes
// (cacc, cfrc_*), so the task skips it.
#include <math.h>

#include "task.h"

static int ip_setup(Env *e, char *err, size_t errsz) {
  if (env_check_sizes(e, 2, 2, 1, err, errsz)) return -1;
  e->obs_dim = 4;
  return 0;
}

static void ip_reset(Env *e, Rng *r) { env_noise_uniform(e, r, 0.01); }

static void ip_observe(const Env *e, double *obs) {
  const mjData *d = e->d;
  obs[0] = d->qpos[0];
  obs[1] = d->qpos[1];
  obs[2] = d->qvel[0];
  obs[3] = d->qvel[1];
}

// v4's test, on the observation: any entry not finite, or the pole beyond 0.2 rad
static int ip_is_terminal(const Env *e, const double *obs) {
  (void)e;
  for (int i = 0; i < 4; i++)
    if (!isfinite(obs[i])) return 1;
  return fabs(obs[1]) > 0.2;
}

static void ip_step(Env *e, const double *act, EnvStep *out) {
  env_simulate(e, act);
  double obs[4];
  ip_observe(e, obs);
  out->reward = 1.0;
  out->terminated = ip_is_terminal(e, obs);
}

static double ip_reward(const Env *e, const double *obs, const double *act,
                        const double *next_obs) {
  (void)e, (void)obs, (void)act, (void)next_obs;
  return 1.0;
}

const EnvTask task_inverted_pendulum = {
    .name = "InvertedPendulum",
    .summary = "Gymnasium InvertedPendulum-v4: balance a pole on a cart (obs 4, act 1)",
    .model = "inverted_pendulum.xml",
    .frame_skip = 2,
    .max_steps = 1000,
    .setup = ip_setup,
    .reset = ip_reset,
    .step = ip_step,
    .observe = ip_observe,
    .is_terminal = ip_is_terminal,
    .reward = ip_reward,
};
