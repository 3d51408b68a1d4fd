// Ant: walk a four-legged robot forward without flipping or jumping (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/ant_v4.py and mujoco_env.py (the v4
// mechanics), with the model in envs/models/ant.xml.
//
//   model     free joint (torso) and 8 leg hinges (qpos 15, qvel 14), 14 bodies with the world;
//             0.911 kg; RK4, timestep 0.01 s, 5 physics steps per action (dt 0.05 s); action:
//             eight torques in [-1, 1], gear 150
//   obs (27)  [qpos[2:15] (z, quaternion w x y z, 8 joint angles), qvel (14)]; 29 with x, y
//             kept; with use_contact_forces, clip(cfrc_ext, contact_force_min, contact_force_max)
//             of the 14 bodies (84, rows of [torque, force]) appended
//   reward    vx + healthy_reward - ctrl_cost_weight * |a|^2
//             (- contact_cost_weight * |clip(cfrc_ext)|^2 only with use_contact_forces), where
//             vx = (x after - x before) / dt of the torso body frame (xpos, what v4's
//             get_body_com returns), not qpos[0]. As in v4 (fixed in v5), with
//             terminate_when_unhealthy the healthy reward is paid on every step, the terminating
//             one included; without it, only on healthy steps.
//   healthy   after the step: every qpos and qvel entry finite and
//             healthy_z_min <= qpos[2] <= healthy_z_max (inclusive)
//   end       terminated when not healthy (if terminate_when_unhealthy); time limit 1000 steps
//   reset     qpos0 + U(-s, s) on qpos (the quaternion too, as v4; MuJoCo 2.2.2's mj_forward
//             then normalises it in qpos), s N(0, 1) on qvel, s = reset_noise_scale (0.1)
//   options   ctrl_cost_weight (0.5), use_contact_forces (false), contact_cost_weight (5e-4),
//             healthy_reward (1), terminate_when_unhealthy (true), healthy_z_min/max (0.2, 1),
//             contact_force_min/max (-1, 1), reset_noise_scale (0.1),
//             exclude_current_positions_from_observation (true)
//
// Like v4, the torso position is the one MuJoCo computed last: after an RK4 step it comes from
// the integrator's last stage, not the final state (mj_step does not redo the kinematics); with
// contacts the two differ by up to a few millimetres. The task keeps that x as its state
// (tstate[0]) so that a restored state gives the same next reward; a state crafted by hand must
// set it too (reset, a step, or the torso's xpos x after mj_kinematics of the crafted pose).
// Likewise the cfrc_ext in the observation comes from that last stage; env_set_state recomputes
// it for the restored state, so only its own observation can differ from the one the step
// returned.
// No reward from observations: vx is a displacement of xpos, which is not observed.
#include <math.h>

#include "fail.h"
#include "task.h"

#define ANT_OPTS(X)                                                                           \
  X(REAL, ctrl_cost_weight, "0.5", "[0, inf)", "weight of the control cost |a|^2")            \
  X(BOOL, use_contact_forces, "false", "",                                                    \
    "observe the clipped contact forces (cfrc_ext) and pay their cost")                      \
  X(REAL, contact_cost_weight, "5e-4", "[0, inf)",                                            \
    "weight of the contact cost |clip(cfrc_ext)|^2 (with use_contact_forces)")               \
  X(REAL, healthy_reward, "1", "(-inf, inf)", "reward per step for staying healthy")          \
  X(BOOL, terminate_when_unhealthy, "true", "", "end the episode when the ant is unhealthy")  \
  X(REAL, healthy_z_min, "0.2", "[-inf, inf]", "healthy: torso height at least this")         \
  X(REAL, healthy_z_max, "1", "[-inf, inf]", "healthy: torso height at most this")            \
  X(REAL, contact_force_min, "-1", "[-inf, inf]", "contact forces are clipped below at this") \
  X(REAL, contact_force_max, "1", "[-inf, inf]", "contact forces are clipped above at this")  \
  X(REAL, reset_noise_scale, "0.1", "[0, inf)",                                               \
    "reset noise: U(-s, s) on qpos, s N(0, 1) on qvel")                                      \
  X(BOOL, exclude_current_positions_from_observation, "true", "",                            \
    "leave the x, y position (qpos[0:2]) out of the observation")
TASK_OPTIONS(AntOpts, ant_register, ANT_OPTS)

typedef struct {
  int torso;   // body id
} Ant;

static int ant_setup(Env *e, char *err, size_t errsz) {
  const AntOpts *o = env_task_opts(e);
  Ant *p = e->priv;
  const mjModel *m = e->m;
  if (env_check_sizes(e, 15, 14, 8, err, errsz)) return -1;
  if ((p->torso = env_id(e, mjOBJ_BODY, "torso", err, errsz)) < 0) return -1;
  // v4 reads the height as qpos[2]: the torso's free joint must come first
  int root = env_id(e, mjOBJ_JOINT, "root", err, errsz);
  if (root < 0) return -1;
  if (m->jnt_type[root] != mjJNT_FREE || m->jnt_qposadr[root] != 0 ||
      m->jnt_bodyid[root] != p->torso)
    return fail_msg(err, errsz, "%s: joint root must be the torso's free joint at qpos[0]",
                    e->model_path);
  if (!(o->healthy_z_min <= o->healthy_z_max) ||
      !(o->contact_force_min <= o->contact_force_max))
    return fail_msg(err, errsz, "Ant: each range needs min <= max (healthy z %g..%g, contact "
                    "force %g..%g)", o->healthy_z_min, o->healthy_z_max, o->contact_force_min,
                    o->contact_force_max);
  e->obs_dim = (o->exclude_current_positions_from_observation ? m->nq - 2 : m->nq) + m->nv +
               (o->use_contact_forces ? 6 * m->nbody : 0);
  return 0;
}

static void ant_reset(Env *e, Rng *r) {
  const AntOpts *o = env_task_opts(e);
  const Ant *p = e->priv;
  env_noise_uniform_normal(e, r, o->reset_noise_scale);
  // v4's set_state runs mj_forward: the first x before is the exact torso position
  mj_kinematics(e->m, e->d);
  e->tstate[0] = e->d->xpos[3 * p->torso];
}

// v4's is_healthy: the state vector finite, z inclusive in [min, max] (NaN is unhealthy)
static int ant_healthy(const AntOpts *o, const double *v, int n, double z) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return o->healthy_z_min <= z && z <= o->healthy_z_max;
}

static double ant_contact_cost(const Env *e) {
  const AntOpts *o = env_task_opts(e);
  const mjData *d = e->d;
  double s = 0;
  for (int i = 0; i < 6 * e->m->nbody; i++) {
    double f = env_clip(d->cfrc_ext[i], o->contact_force_min, o->contact_force_max);
    s += f * f;
  }
  return o->contact_cost_weight * s;
}

static void ant_step(Env *e, const double *act, EnvStep *out) {
  const AntOpts *o = env_task_opts(e);
  const Ant *p = e->priv;
  const mjData *d = e->d;
  double x_before = e->tstate[0];
  env_simulate(e, act);
  double x_after = d->xpos[3 * p->torso];
  e->tstate[0] = x_after;
  double vx = (x_after - x_before) / e->dt;
  int healthy = ant_healthy(o, d->qpos, e->m->nq, d->qpos[2]) &&
                ant_healthy(o, d->qvel, e->m->nv, d->qpos[2]);
  double costs = o->ctrl_cost_weight * env_sq_norm(act, e->act_dim);
  if (o->use_contact_forces) costs += ant_contact_cost(e);
  env_healthy_reward(out, vx, costs, healthy, o->terminate_when_unhealthy, o->healthy_reward);
}

static void ant_observe(const Env *e, double *obs) {
  const AntOpts *o = env_task_opts(e);
  const mjData *d = e->d;
  int k = 0;
  for (int i = o->exclude_current_positions_from_observation ? 2 : 0; i < e->m->nq; i++)
    obs[k++] = d->qpos[i];
  for (int i = 0; i < e->m->nv; i++) obs[k++] = d->qvel[i];
  if (o->use_contact_forces)
    for (int i = 0; i < 6 * e->m->nbody; i++)
      obs[k++] = env_clip(d->cfrc_ext[i], o->contact_force_min, o->contact_force_max);
}

// The healthy rule on the observation: z and every observed qpos and qvel entry are exact; with
// x, y excluded (the default) their finiteness cannot be checked; a non-finite state is a
// divergence, which env_step reports (truncated, not terminated) before this rule could apply.
static int ant_is_terminal(const Env *e, const double *obs) {
  const AntOpts *o = env_task_opts(e);
  if (!o->terminate_when_unhealthy) return 0;
  int skip = o->exclude_current_positions_from_observation ? 2 : 0;
  int n = e->m->nq - skip + e->m->nv;
  return !ant_healthy(o, obs, n, obs[2 - skip]);
}

const EnvTask task_ant = {
    .name = "Ant",
    .summary = "Gymnasium Ant-v4: walk a four-legged robot forward (obs 27, act 8)",
    .model = "ant.xml",
    .frame_skip = 5,
    .max_steps = 1000,
    .rne_post = 1,
    .priv_size = sizeof(Ant),
    .nstate = 1,
    .opts_size = sizeof(AntOpts),
    .register_opts = ant_register,
    .setup = ant_setup,
    .reset = ant_reset,
    .step = ant_step,
    .observe = ant_observe,
    .is_terminal = ant_is_terminal,
};
