// Humanoid: walk a 3-D biped forward without falling (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/humanoid_v4.py and mujoco_env.py (the
// v4 mechanics), with the model in envs/models/humanoid.xml.
//
//   model     free joint (torso) and 17 hinges (qpos 24, qvel 23), 14 bodies with the world;
//             42.12 kg; RK4, timestep 0.003 s, PGS solver with 50 iterations, 5 physics steps
//             per action (dt 0.015 s); action: 17 torques in [-0.4, 0.4]
//   obs (376) [qpos[2:24] (22), qvel (23), cinert (14 x 10), cvel (14 x 6), qfrc_actuator (23),
//             cfrc_ext (14 x 6)], the world body's rows included; 378 with x, y kept
//   reward    forward_reward_weight * vx + healthy_reward - ctrl_cost_weight * |ctrl|^2, where
//             vx = (x after - x before) / dt of the mass centre sum(m_i xipos_i) / sum(m_i)
//             over all bodies, and ctrl is MuJoCo's ctrl after the step (the action as given,
//             unclamped). No contact cost in v4. As in v4 (fixed in v5), with
//             terminate_when_unhealthy the healthy reward is paid on every step, the terminating
//             one included; without it, only on healthy steps.
//   healthy   after the step: healthy_z_min < qpos[2] < healthy_z_max (strict)
//   end       terminated when not healthy (if terminate_when_unhealthy); time limit 1000 steps
//   reset     qpos0 + U(-s, s) on qpos (the quaternion too, as v4; MuJoCo 2.2.2's mj_forward
//             then normalises it in qpos), U(-s, s) on qvel, s = reset_noise_scale (1e-2)
//   options   forward_reward_weight (1.25), ctrl_cost_weight (0.1), healthy_reward (5),
//             terminate_when_unhealthy (true), healthy_z_min/max (1, 2), reset_noise_scale
//             (1e-2), exclude_current_positions_from_observation (true)
//
// Like v4, the body quantities are the ones MuJoCo computed last: after an RK4 step, xipos,
// cinert, cvel, qfrc_actuator and cfrc_ext come from the integrator's last stage, not the final
// state (mj_step does not redo them). The mass-centre x is kept as the task's state (tstate[0])
// so that a restored state gives the same next reward; a state crafted by hand must set it too
// (reset, a step, or the mass centre after mj_kinematics of the crafted pose). env_set_state
// recomputes the body quantities for the restored state, so only its own observation can differ
// from the one the step returned.
// No reward from observations: vx is a displacement of the mass centre, which is not observed.
#include "fail.h"
#include "task.h"

#define HUMANOID_OPTS(X)                                                                        \
  X(REAL, forward_reward_weight, "1.25", "(-inf, inf)",                                         \
    "weight of the forward velocity (mass centre) reward")                                     \
  X(REAL, ctrl_cost_weight, "0.1", "[0, inf)", "weight of the control cost |ctrl|^2")           \
  X(REAL, healthy_reward, "5", "(-inf, inf)", "reward per step for staying healthy")            \
  X(BOOL, terminate_when_unhealthy, "true", "",                                                \
    "end the episode when the humanoid is unhealthy")                                          \
  X(REAL, healthy_z_min, "1", "[-inf, inf]", "healthy: torso height above this (strict)")       \
  X(REAL, healthy_z_max, "2", "[-inf, inf]", "healthy: torso height below this (strict)")       \
  X(REAL, reset_noise_scale, "1e-2", "[0, inf)", "reset noise: U(-s, s) on qpos and qvel")      \
  X(BOOL, exclude_current_positions_from_observation, "true", "",                              \
    "leave the x, y position (qpos[0:2]) out of the observation")
TASK_OPTIONS(HumanoidOpts, humanoid_register, HUMANOID_OPTS)

typedef struct {
  double mass;   // total mass, the divisor of the mass centre
} Humanoid;

static int humanoid_setup(Env *e, char *err, size_t errsz) {
  const HumanoidOpts *o = env_task_opts(e);
  Humanoid *p = e->priv;
  const mjModel *m = e->m;
  if (env_check_sizes(e, 24, 23, 17, err, errsz)) return -1;
  // v4 reads the height as qpos[2]: the torso's free joint must come first
  int torso = env_id(e, mjOBJ_BODY, "torso", err, errsz);
  if (torso < 0) return -1;
  int root = env_id(e, mjOBJ_JOINT, "root", err, errsz);
  if (root < 0) return -1;
  if (m->jnt_type[root] != mjJNT_FREE || m->jnt_qposadr[root] != 0 || m->jnt_bodyid[root] != torso)
    return fail_msg(err, errsz, "%s: joint root must be the torso's free joint at qpos[0]",
                    e->model_path);
  if (!(o->healthy_z_min < o->healthy_z_max))
    return fail_msg(err, errsz, "Humanoid: the healthy range needs min < max (z %g..%g)",
                    o->healthy_z_min, o->healthy_z_max);
  p->mass = 0;
  for (int i = 0; i < m->nbody; i++) p->mass += m->body_mass[i];
  int nb = m->nbody;
  e->obs_dim = (o->exclude_current_positions_from_observation ? m->nq - 2 : m->nq) + m->nv +
               10 * nb + 6 * nb + m->nv + 6 * nb;
  return 0;
}

// x of v4's mass_center: sum(body_mass * xipos) / sum(body_mass)
static double humanoid_mass_centre_x(const Env *e) {
  const Humanoid *p = e->priv;
  double s = 0;
  for (int i = 0; i < e->m->nbody; i++) s += e->m->body_mass[i] * e->d->xipos[3 * i];
  return s / p->mass;
}

static void humanoid_reset(Env *e, Rng *r) {
  const HumanoidOpts *o = env_task_opts(e);
  env_noise_uniform(e, r, o->reset_noise_scale);
  // v4's set_state runs mj_forward: the first x before is the exact mass centre
  mj_kinematics(e->m, e->d);
  e->tstate[0] = humanoid_mass_centre_x(e);
}

static int humanoid_healthy(const HumanoidOpts *o, double z) {
  return o->healthy_z_min < z && z < o->healthy_z_max;
}

static void humanoid_step(Env *e, const double *act, EnvStep *out) {
  const HumanoidOpts *o = env_task_opts(e);
  const mjData *d = e->d;
  double x_before = e->tstate[0];
  env_simulate(e, act);
  double x_after = humanoid_mass_centre_x(e);
  e->tstate[0] = x_after;
  double vx = (x_after - x_before) / e->dt;
  int healthy = humanoid_healthy(o, d->qpos[2]);
  double forward = o->forward_reward_weight * vx;
  // v4 charges data.ctrl, which MuJoCo leaves as given (it clamps internally)
  double ctrl_cost = o->ctrl_cost_weight * env_sq_norm(d->ctrl, e->m->nu);
  env_healthy_reward(out, forward, ctrl_cost, healthy, o->terminate_when_unhealthy,
                     o->healthy_reward);
}

static void humanoid_observe(const Env *e, double *obs) {
  const HumanoidOpts *o = env_task_opts(e);
  const mjModel *m = e->m;
  const mjData *d = e->d;
  int k = 0;
  for (int i = o->exclude_current_positions_from_observation ? 2 : 0; i < m->nq; i++)
    obs[k++] = d->qpos[i];
  for (int i = 0; i < m->nv; i++) obs[k++] = d->qvel[i];
  for (int i = 0; i < 10 * m->nbody; i++) obs[k++] = d->cinert[i];
  for (int i = 0; i < 6 * m->nbody; i++) obs[k++] = d->cvel[i];
  for (int i = 0; i < m->nv; i++) obs[k++] = d->qfrc_actuator[i];
  for (int i = 0; i < 6 * m->nbody; i++) obs[k++] = d->cfrc_ext[i];
}

// exact: the torso height is observed
static int humanoid_is_terminal(const Env *e, const double *obs) {
  const HumanoidOpts *o = env_task_opts(e);
  if (!o->terminate_when_unhealthy) return 0;
  return !humanoid_healthy(o, obs[o->exclude_current_positions_from_observation ? 0 : 2]);
}

const EnvTask task_humanoid = {
    .name = "Humanoid",
    .summary = "Gymnasium Humanoid-v4: walk a 3-D biped forward (obs 376, act 17)",
    .model = "humanoid.xml",
    .frame_skip = 5,
    .max_steps = 1000,
    .rne_post = 1,
    .priv_size = sizeof(Humanoid),
    .nstate = 1,
    .opts_size = sizeof(HumanoidOpts),
    .register_opts = humanoid_register,
    .setup = humanoid_setup,
    .reset = humanoid_reset,
    .step = humanoid_step,
    .observe = humanoid_observe,
    .is_terminal = humanoid_is_terminal,
};
