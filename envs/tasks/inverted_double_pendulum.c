// InvertedDoublePendulum: balance two chained poles on a cart (Gymnasium v4 semantics).
//
// Follows Farama-Foundation/Gymnasium gymnasium/envs/mujoco/inverted_double_pendulum_v4.py and
// mujoco_env.py (the v4 mechanics), with the model in envs/models/inverted_double_pendulum.xml.
//
//   model     cart on a slider (+-1 m), two 0.6 m poles on hinges, site "tip" at the free end;
//             gravity (1e-5, 0, -9.81); RK4, timestep 0.01 s, 5 physics steps per action
//             (dt 0.05 s); action: cart force in [-1, 1], gear 500
//   obs (11)  [cart x, sin q1, sin q2, cos q1, cos q2, clip(qvel, -10, 10) (3),
//              clip(qfrc_constraint, -10, 10) (3)]; the last three are 0 unless the slider
//              limit acts (v4 keeps them)
//   reward    10 - (0.01 x^2 + (y - 2)^2) - (1e-3 w1^2 + 5e-3 w2^2), with (x, y) the tip's
//             world x and height and w1, w2 the hinge velocities (unclipped); the 10 is paid on
//             the terminating step too, as v4 does
//   end       terminated when y <= 1; time limit 1000 steps
//   reset     qpos + U(-0.1, 0.1), qvel + 0.1 N(0, 1)
//   options   none (v4 has no keyword arguments for this task)
//
// As in v4, the reward and termination read the tip position MuJoCo computed last. After
// mj_step with RK4 that is the last RK stage, not the final state: it differs from the final
// state's geometry by about 1e-6 m, 1e-4 m or more in a fast fall.
//
// Planning hooks: is_terminal rebuilds the tip from the observation (the final state) and the
// model's pole lengths, so it agrees with the step except when the tip is within that
// difference of the threshold. There is no reward hook: the reward is not a function of the
// observation (beside the RK4-stage tip, the velocity penalty squares unclipped velocities
// while the observation clips them at +-10), and a reward hook promises exactness.
//
// v4's extra mj_rnePostConstraint after the physics is skipped: nothing here reads what it
// computes (cacc, cfrc_*); qfrc_constraint comes from the physics step itself.
#include <math.h>

#include "fail.h"
#include "task.h"

typedef struct {
  int tip;           // site id
  double z0;         // height of the lower hinge
  double l1x, l1z;   // upper hinge in the lower pole's frame
  double sx, sz;     // tip in the upper pole's frame
} Idp;

// true if the 4 quaternion entries are the identity
static int is_identity(const mjtNum *q) { return q[0] == 1 && q[1] == 0 && q[2] == 0 && q[3] == 0; }

static int idp_setup(Env *e, char *err, size_t errsz) {
  Idp *p = e->priv;
  const mjModel *m = e->m;
  if (env_check_sizes(e, 3, 3, 1, err, errsz)) return -1;
  if ((p->tip = env_id(e, mjOBJ_SITE, "tip", err, errsz)) < 0) return -1;
  int cart = env_id(e, mjOBJ_BODY, "cart", err, errsz);
  int pole = cart < 0 ? -1 : env_id(e, mjOBJ_BODY, "pole", err, errsz);
  int pole2 = pole < 0 ? -1 : env_id(e, mjOBJ_BODY, "pole2", err, errsz);
  if (pole2 < 0) return -1;
  // is_terminal rebuilds the tip's height from the joint angles: that needs this planar chain
  // (a slider along x, hinges about y at the body origins, bodies not rotated)
  int chain = m->body_parentid[pole] == cart && m->body_parentid[pole2] == pole &&
              m->site_bodyid[p->tip] == pole2 && is_identity(m->body_quat + 4 * cart) &&
              is_identity(m->body_quat + 4 * pole) && is_identity(m->body_quat + 4 * pole2) &&
              m->body_pos[3 * pole + 1] == 0 && m->body_pos[3 * pole2 + 1] == 0 &&
              m->site_pos[3 * p->tip + 1] == 0;
  const int body_of[3] = {cart, pole, pole2}, type_of[3] = {mjJNT_SLIDE, mjJNT_HINGE, mjJNT_HINGE};
  for (int j = 0; j < 3 && chain; j++) {
    const mjtNum *ax = m->jnt_axis + 3 * j, *pos = m->jnt_pos + 3 * j;
    int along = j == 0 ? 0 : 1;   // x for the slider, y for the hinges
    chain = m->jnt_bodyid[j] == body_of[j] && m->jnt_type[j] == type_of[j] &&
            ax[along] == 1 && ax[(along + 1) % 3] == 0 && ax[(along + 2) % 3] == 0 &&
            pos[0] == 0 && pos[1] == 0 && pos[2] == 0;
  }
  if (!chain)
    return fail_msg(err, errsz,
                    "%s: InvertedDoublePendulum needs the chain cart (slider along x) - pole - "
                    "pole2 (hinges about y at the body origins) with site 'tip' on pole2",
                    e->model_path);
  p->z0 = m->body_pos[3 * cart + 2] + m->body_pos[3 * pole + 2];
  p->l1x = m->body_pos[3 * pole2];
  p->l1z = m->body_pos[3 * pole2 + 2];
  p->sx = m->site_pos[3 * p->tip];
  p->sz = m->site_pos[3 * p->tip + 2];
  e->obs_dim = 11;
  return 0;
}

static void idp_reset(Env *e, Rng *r) { env_noise_uniform_normal(e, r, 0.1); }

static void idp_observe(const Env *e, double *obs) {
  const mjData *d = e->d;
  obs[0] = d->qpos[0];
  obs[1] = sin(d->qpos[1]);
  obs[2] = sin(d->qpos[2]);
  obs[3] = cos(d->qpos[1]);
  obs[4] = cos(d->qpos[2]);
  for (int i = 0; i < 3; i++) {
    obs[5 + i] = env_clip(d->qvel[i], -10, 10);
    obs[8 + i] = env_clip(d->qfrc_constraint[i], -10, 10);
  }
}

// v4's reward from the tip (x, y) and the hinge velocities
static double idp_reward_of(double x, double y, double w1, double w2) {
  double dist_penalty = 0.01 * x * x + (y - 2) * (y - 2);
  double vel_penalty = 1e-3 * w1 * w1 + 5e-3 * w2 * w2;
  return 10 - dist_penalty - vel_penalty;
}

static void idp_step(Env *e, const double *act, EnvStep *out) {
  const Idp *p = e->priv;
  env_simulate(e, act);
  const mjtNum *tip = e->d->site_xpos + 3 * p->tip;
  out->reward = idp_reward_of(tip[0], tip[2], e->d->qvel[1], e->d->qvel[2]);
  out->terminated = tip[2] <= 1;
}

// The tip's height from an observation: the chain's geometry rotated by q1 and q1 + q2 (angle
// sums from the sines and cosines), a rotation about y taking (x, z) to
// (x cos + z sin, -x sin + z cos); the cart moves along x and leaves the height alone.
static double idp_tip_height(const Idp *p, const double *obs) {
  double s1 = obs[1], s2 = obs[2], c1 = obs[3], c2 = obs[4];
  double s12 = s1 * c2 + c1 * s2, c12 = c1 * c2 - s1 * s2;
  return p->z0 - p->l1x * s1 + p->l1z * c1 - p->sx * s12 + p->sz * c12;
}

// y <= 1 with the tip from the observation (see the header for how it can differ from the step)
static int idp_is_terminal(const Env *e, const double *obs) {
  return idp_tip_height(e->priv, obs) <= 1;
}

const EnvTask task_inverted_double_pendulum = {
    .name = "InvertedDoublePendulum",
    .summary = "Gymnasium InvertedDoublePendulum-v4: balance two chained poles on a cart "
               "(obs 11, act 1)",
    .model = "inverted_double_pendulum.xml",
    .frame_skip = 5,
    .max_steps = 1000,
    .priv_size = sizeof(Idp),
    .setup = idp_setup,
    .reset = idp_reset,
    .step = idp_step,
    .observe = idp_observe,
    .is_terminal = idp_is_terminal,
};
