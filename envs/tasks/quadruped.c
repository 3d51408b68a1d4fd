// Quadruped: a 3 kg trotting robot modelled on the IISc Stoch quadrupeds, driven as Stochlite is:
// the action modulates an elliptical foot-trajectory generator; inverse kinematics and a PD joint
// controller run inside the step. A zero action is the nominal trot, which walks on its own, so a
// linear policy trained by ARS starts from a gait and learns corrections.
//
// Model (envs/models/quadruped.xml)
//   Torso: a 0.30 x 0.16 x 0.06 m box of 2.2 kg, free joint. Hips at (+-0.12, +-0.10, 0) in the
//   torso frame. Legs FL, FR, BL, BR, each in the sagittal plane: hip and knee about the lateral
//   axis, thigh 0.12 m (capsule r 0.012, 0.12 kg), shank 0.12 m (capsule r 0.009, 0.05 kg) and a
//   sphere foot (r 0.015, 0.03 kg) at the shank's end: 0.2 kg per leg, 3.0 kg in all. Angle 0 is
//   the link pointing straight down; positive angles swing the foot forward; the knee bends with
//   positive angles (range [0.15, 2.8] rad), so the knee sits behind the hip-foot line, as on
//   Stoch and most small quadrupeds. Hips range [-1.6, 1.6] rad. Joints: armature 0.002 kg m^2
//   (reflected rotor inertia; it also keeps the explicit PD below stable at 1 ms), damping 0.01.
//   Eight torque motors, |tau| <= 4 N m. Friction 1 everywhere; robot geoms collide with the floor
//   only. Physics: Euler, timestep 1 ms; the environment step is 10 physics steps = 0.01 s
//   (100 Hz control, as Stochlite), 1000 steps per episode.
//
// Trajectory generator (a trot at f = 2.5 Hz, as Stochlite/Stoch2). The gait phase phi in
// [0, 2 pi) is task state; it advances by 2 pi f h every physics step (h = 1 ms), i.e. by
// 2 pi f 0.01 per environment step. Leg l has phase th = phi + psi_l with psi = 0 for FL and BR,
// pi for FR and BL (the diagonals half a cycle apart). In the hip frame (x forward, z up) the foot
// target is
//   x = dx_l - (L_l / 2) cos th
//   z = -H0 + dz_l + S sin th   for th in [0, pi)     (swing: forward through the air)
//   z = -H0 + dz_l + D sin th   for th in [pi, 2 pi)  (stance: backward along the ground)
// with stance height H0 = 0.20 m, swing height S = 0.03 m, stance depth D = 0.01 m (the stance
// feet press 1 cm below the line at mid-stance, which keeps them loaded despite the PD's sag) and
// step length L_l. Zero action: L = L0 = 0.05 m, dx = dz = 0, which walks at about 0.25 m/s.
//
// Action (12 numbers in [-1, 1]; values outside are clipped first), leg order FL, FR, BL, BR:
//   a[0:4]   x shift of the ellipse centre   dx_l = 0.04 a  (m)
//   a[4:8]   z shift of the ellipse centre   dz_l = 0.04 a  (m, + raises the foot = lowers the hip)
//   a[8:12]  step length                     L_l = L0 (1 + a), from 0 (stepping in place) to 2 L0
// Stochlite's transform is the same idea: per-leg ellipse shifts (0.1 m per unit there, for a
// larger robot), with commanded velocities where this task has step lengths; Stoch2's lateral
// shifts and steering angles need abduction joints, which this robot does not have.
//
// Inverse kinematics (closed form, planar 2-link, l1 = l2 = 0.12 m, the nominal lengths even when
// env.leg_scale changes the model's): for a target (x, z), r = |(x, z)| is first clamped to
// [0.05, l1 + l2 - 0.005] along the same direction (the generator can ask for unreachable points
// under large actions), then
//   knee = acos((r^2 - l1^2 - l2^2) / (2 l1 l2))                    (in [0, pi]: knee behind)
//   hip  = atan2(x, -z) - atan2(l2 sin knee, l1 + l2 cos knee)
// and FK: x = l1 sin hip + l2 sin(hip + knee), z = -l1 cos hip - l2 cos(hip + knee).
//
// PD controller, every physics step (1 kHz): targets q* from the IK of the generator at the
// step's phase, target velocities qd* = (q*(phi + 2 pi f h) - q*(phi)) / h, and
//   tau = clip(kp (q* - q) + kd (qd* - qd), -4, 4),   kp = 25 N m/rad, kd = 2 N m s/rad.
// Without the velocity feed-forward the damping term opposes every swing (kd qd reaches several
// N m). Stochlite uses kp 400, kd 10 with 50 physics steps of 0.2 ms in pybullet for a heavier
// robot; these gains and the generator's numbers were chosen by sweeping kp in [20, 80], kd in
// [0.3, 3], f in [2, 3] Hz, L0 in [0.04, 0.08] m, S in [0.03, 0.05] m and D in [0, 0.02] m for the
// steadiest zero-action trot: stiffer gains bounce on touchdown, and longer, higher or slower
// steps let the body tip about the supporting diagonal until the gait turns or falls.
//
// Observation (11):
//   0 torso height z (m)    1 roll   2 pitch   3 yaw (rad, ZYX Euler angles of the torso;
//   + pitch is nose down)   4-6 torso angular velocity in the torso frame (roll, pitch, yaw
//   rates, rad/s)   7-8 torso linear velocity vx, vy in the world frame (m/s)
//   9-10 sin phi, cos phi (the gait phase, so a linear map can make phase-dependent corrections)
// Stochlite's 8 numbers are z, roll, pitch, the three rates and two support-plane estimates; on
// a flat floor the plane is known, and yaw (drift from the commanded +x direction), the
// velocities and the phase are what a linear policy needs besides.
//
// Reward per step (each term's weight is its largest size):
//   1.0 exp(-((v - v*) / 0.2)^2)         forward speed: v = (x_after - x_before) / 0.01 of the
//                                        torso along world +x, v* = env.target_speed (0.3 m/s)
//   0.3 exp(-((z - 0.215) / 0.03)^2)     height: z the torso height after the step; 0.215 m is
//                                        the nominal standing height
//   0.3 exp(-(roll^2 + pitch^2) / 0.1^2) posture (rad)
//   -0.05 |a - a_prev|^2                 smoothness: a the clipped action, a_prev the previous
//                                        step's (0 at the first step of an episode)
//   -0.01 P                              energy: P = mean over the 10 physics steps of
//                                        sum_j |tau_j qd_j| (W), tau_j the applied joint torque
//                                        and qd_j the joint speed at the physics step's start
// The zero-action trot earns about 1.37 per step (0.90 + 0.29 + 0.26 - 0.08: it walks at 0.25
// m/s, 3 mm above the reference height, with 8 W). A step that terminates earns 0 (as Stochlite).
// The reward is not a function of (obs, act, next_obs) (it uses the previous action, the torso's
// displacement and the torques), so the task has no `reward` hook.
//
// Termination (from the observation): |roll| > 30 deg, |pitch| > 35 deg (Stochlite's limits),
// z < 0.10 m (collapsed) or z > 0.40 m (airborne), each a strict inequality on the observation.
//
// Reset: the torso upright at x = y = 0, at the height where the feet of the nominal pose
// (the generator at phi = 0 with zero action: all four feet on the stance line) touch the floor
// plus 1 mm; the joints at that pose + U(-0.05, 0.05) rad; every velocity 0.05 N(0, 1). Phase 0,
// previous action 0. Task state (saved with the physics): phi, then the previous action (12).
//
// Options (--set env.NAME=VALUE; defaults are the nominal robot):
//   target_speed    v* of the speed term (m/s)
//   payload         kg added at the torso's centre of mass (its inertia unchanged)
//   friction        sliding friction of every geom, floor included (MuJoCo takes the larger of
//                   two geoms' values, so setting all of them sets the feet's)
//   motor_strength  scale of every motor's gear: the applied torque is s tau and its limit 4 s N m
//   leg_scale       scale of the thigh and shank lengths (links, feet, centres of mass, collision
//                   bounds; the links' rotational inertias stay nominal); the controller keeps
//                   the nominal lengths, so this is a model mismatch
//
// For the tests the file exports (quadruped.h) the kinematics, the generator, one PD physics step,
// the reward terms and the last step's power.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"
#include "quadruped.h"
#include "task.h"

#define QUAD_PARAMS(X)                                                                            \
  X(REAL, target_speed, "0.3", "[0, 1]", "commanded forward speed of the reward (m/s)")          \
  X(REAL, payload, "0", "[0, 3]", "mass added at the torso's centre (kg)")                       \
  X(REAL, friction, "1", "[0.05, 3]", "sliding friction of the floor and every robot geom")      \
  X(REAL, motor_strength, "1", "[0.1, 2]", "scale of the motors' torque and torque limit")      \
  X(REAL, leg_scale, "1", "[0.8, 1.2]", "scale of the leg links (the controller keeps nominal)")
TASK_OPTIONS(QuadOptions, quad_register_opts, QUAD_PARAMS)

enum { NLEG = 4, NJOINT = 8, OBS_DIM = 11, ACT_DIM = 12, NSTATE = 1 + ACT_DIM };

// leg lengths the controller assumes (the model's at leg_scale 1)
#define THIGH_LEN 0.12
#define SHANK_LEN 0.12
#define REACH_MIN 0.05
#define REACH_MAX (THIGH_LEN + SHANK_LEN - 0.005)

// the trot generator
#define GAIT_FREQ 2.5       // Hz
#define STEP_LEN 0.05       // m, L0
#define STEP_HEIGHT 0.03    // m, swing apex above the stance line
#define STANCE_DEPTH 0.01   // m, stance dip below it
#define STAND_HEIGHT 0.20   // m, hip to foot centre on the stance line

// action transform
#define X_SHIFT 0.04   // m per unit action
#define Z_SHIFT 0.04   // m per unit action

// PD controller
#define KP 25.0
#define KD 2.0

// reward
#define W_SPEED 1.0
#define SIG_SPEED 0.2
#define W_HEIGHT 0.3
#define SIG_HEIGHT 0.03
#define HEIGHT_REF 0.215
#define W_POSTURE 0.3
#define SIG_POSTURE 0.1
#define W_SMOOTH 0.05
#define W_ENERGY 0.01

// termination
#define ROLL_MAX (mjPI / 6)            // 30 deg
#define PITCH_MAX (35.0 * mjPI / 180)  // 35 deg
#define Z_MIN 0.10
#define Z_MAX 0.40

// reset noise
#define NOISE_Q 0.05
#define NOISE_V 0.05

static const char *const joint_names[NJOINT] = {"fl_hip", "fl_knee", "fr_hip", "fr_knee",
                                                "bl_hip", "bl_knee", "br_hip", "br_knee"};
static const char *const thigh_names[NLEG] = {"fl_thigh", "fr_thigh", "bl_thigh", "br_thigh"};
static const char *const shank_names[NLEG] = {"fl_shank", "fr_shank", "bl_shank", "br_shank"};
// trot: the diagonals FL+BR and FR+BL half a cycle apart
static const double leg_offset[NLEG] = {0.0, mjPI, mjPI, 0.0};

typedef struct {
  int qadr[NJOINT], dadr[NJOINT];   // joint of actuator i
  double tau_max[NJOINT];           // ctrlrange
  double gear[NJOINT];
  double q0[NJOINT];                // nominal pose (phase 0, zero action)
  double z0;                        // torso height of the nominal pose on the floor
  double power;                     // mean mechanical power of the last step (W)
} QuadPriv;

//---------------- kinematics and the generator ----------------

void quadruped_fk(double hip, double knee, double *x, double *z) {
  *x = THIGH_LEN * sin(hip) + SHANK_LEN * sin(hip + knee);
  *z = -THIGH_LEN * cos(hip) - SHANK_LEN * cos(hip + knee);
}

// returns 1 when the target was out of reach and moved onto the workspace's edge
int quadruped_ik(double x, double z, double *hip, double *knee) {
  const double l1 = THIGH_LEN, l2 = SHANK_LEN;
  double r = sqrt(x * x + z * z);
  int clamped = r < REACH_MIN || r > REACH_MAX;
  if (clamped) {
    // same direction (straight down if there is none), nearest reachable distance
    double rc = r < REACH_MIN ? REACH_MIN : REACH_MAX;
    if (r > 0) x *= rc / r, z *= rc / r;
    else x = 0, z = -rc;
    r = rc;
  }
  *knee = acos(env_clip((r * r - l1 * l1 - l2 * l2) / (2 * l1 * l2), -1, 1));
  *hip = atan2(x, -z) - atan2(l2 * sin(*knee), l1 + l2 * cos(*knee));
  return clamped;
}

// foot target of leg l in its hip frame at gait phase `phase` under the (clipped) action
void quadruped_foot_target(const double *act, double phase, int leg, double *x, double *z) {
  double th = fmod(phase + leg_offset[leg], 2 * mjPI);
  double len = STEP_LEN * (1 + act[8 + leg]);
  double lift = th < mjPI ? STEP_HEIGHT : STANCE_DEPTH;
  *x = X_SHIFT * act[leg] - 0.5 * len * cos(th);
  *z = -STAND_HEIGHT + Z_SHIFT * act[4 + leg] + lift * sin(th);
}

static void joint_targets(const double *act, double phase, double *q) {
  for (int l = 0; l < NLEG; l++) {
    double x, z;
    quadruped_foot_target(act, phase, l, &x, &z);
    quadruped_ik(x, z, &q[2 * l], &q[2 * l + 1]);
  }
}

//---------------- physics ----------------

// the warnings env.c counts as divergence (its check_divergence is private)
static const int bad_warnings[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC,
                                   mjWARN_BADCTRL, mjWARN_CONTACTFULL, mjWARN_CNSTRFULL};

static void check_divergence(Env *e) {
  for (size_t i = 0; i < sizeof bad_warnings / sizeof bad_warnings[0]; i++) {
    mjWarningStat *w = &e->d->warning[bad_warnings[i]];
    if (w->number > 0 && !e->diverged) {
      snprintf(e->divergence, sizeof e->divergence, "%s",
               mju_warningText(bad_warnings[i], w->lastinfo));
      e->diverged = 1;
    }
    w->number = 0;
  }
}

// One physics step with the PD controller toward (qdes, vdes); returns the mechanical power
// sum |tau qd| (W) at its start.
double quadruped_pd_substep(Env *e, const double *qdes, const double *vdes) {
  mjData *d = e->d;
  const QuadPriv *p = e->priv;
  double power = 0;
  for (int i = 0; i < NJOINT; i++) {
    double q = d->qpos[p->qadr[i]], qd = d->qvel[p->dadr[i]];
    double tau = KP * (qdes[i] - q) + KD * (vdes[i] - qd);
    d->ctrl[i] = env_clip(tau, -p->tau_max[i], p->tau_max[i]);
    power += fabs(p->gear[i] * d->ctrl[i] * qd);
  }
  mj_step(e->m, d);
  check_divergence(e);
  return power;
}

//---------------- the task ----------------

static int quad_setup(Env *e, char *err, size_t errsz) {
  mjModel *m = e->m;
  QuadPriv *p = e->priv;
  const QuadOptions *o = env_task_opts(e);
  if (env_check_sizes(e, 7 + NJOINT, 6 + NJOINT, NJOINT, err, errsz)) return -1;
  int torso = env_id(e, mjOBJ_BODY, "torso", err, errsz);
  if (torso < 0) return -1;
  if (m->jnt_type[0] != mjJNT_FREE || m->body_jntadr[torso] != 0)
    return fail_msg(err, errsz, "%s: the model's first joint must be the torso's free joint",
                    e->model_path);
  for (int i = 0; i < NJOINT; i++) {
    int j = env_id(e, mjOBJ_JOINT, joint_names[i], err, errsz);
    if (j < 0) return -1;
    if (m->actuator_trntype[i] != mjTRN_JOINT || m->actuator_trnid[2 * i] != j ||
        !m->actuator_ctrllimited[i] || m->actuator_ctrlrange[2 * i + 1] <= 0)
      return fail_msg(err, errsz, "%s: actuator %d must be a torque-limited motor on joint '%s'",
                      e->model_path, i, joint_names[i]);
    p->qadr[i] = m->jnt_qposadr[j];
    p->dadr[i] = m->jnt_dofadr[j];
  }
  int foot = env_id(e, mjOBJ_GEOM, "fl_foot", err, errsz);
  int hip = env_id(e, mjOBJ_BODY, "fl_thigh", err, errsz);
  if (foot < 0 || hip < 0) return -1;

  // options, on the compiled model
  m->body_mass[torso] += o->payload;
  for (int g = 0; g < m->ngeom; g++) m->geom_friction[3 * g] = o->friction;
  for (int i = 0; i < NJOINT; i++) {
    m->actuator_gear[6 * i] *= o->motor_strength;
    p->gear[i] = m->actuator_gear[6 * i];
    p->tau_max[i] = m->actuator_ctrlrange[2 * i + 1];
  }
  if (o->leg_scale != 1) {
    // each link hangs along its body's -z: scale the z of the shank, the geoms (capsule centres
    // and feet), the centres of mass, and the capsules' half-lengths and bounding spheres
    for (int l = 0; l < NLEG; l++) {
      int th = env_id(e, mjOBJ_BODY, thigh_names[l], err, errsz);
      int sh = env_id(e, mjOBJ_BODY, shank_names[l], err, errsz);
      if (th < 0 || sh < 0) return -1;
      m->body_pos[3 * sh + 2] *= o->leg_scale;
      m->body_ipos[3 * th + 2] *= o->leg_scale;
      m->body_ipos[3 * sh + 2] *= o->leg_scale;
      for (int g = 0; g < m->ngeom; g++) {
        if (m->geom_bodyid[g] != th && m->geom_bodyid[g] != sh) continue;
        m->geom_pos[3 * g + 2] *= o->leg_scale;
        if (m->geom_type[g] != mjGEOM_CAPSULE) continue;
        m->geom_size[3 * g + 1] *= o->leg_scale;
        m->geom_rbound[g] = m->geom_size[3 * g] + m->geom_size[3 * g + 1];
      }
    }
  }
  mj_setConst(m, e->d);

  // the action is the generator's modulation, not the torques (env.c sized the bounds for nu)
  free(e->act_lo);
  free(e->act_hi);
  e->act_dim = ACT_DIM;
  e->act_lo = xcalloc(ACT_DIM, sizeof(double), "action bounds");
  e->act_hi = xcalloc(ACT_DIM, sizeof(double), "action bounds");
  for (int i = 0; i < ACT_DIM; i++) e->act_lo[i] = -1, e->act_hi[i] = 1;
  e->obs_dim = OBS_DIM;

  // nominal pose, and the torso height that puts its lowest foot on the floor
  const double zero[ACT_DIM] = {0};
  joint_targets(zero, 0, p->q0);
  double lowest = 0;
  for (int l = 0; l < NLEG; l++) {
    double x, z;
    quadruped_fk(p->q0[2 * l], p->q0[2 * l + 1], &x, &z);
    if (z * o->leg_scale < lowest) lowest = z * o->leg_scale;
  }
  p->z0 = -m->body_pos[3 * hip + 2] - lowest + m->geom_size[3 * foot] + 0.001;
  return 0;
}

static void quad_reset(Env *e, Rng *r) {
  const QuadPriv *p = e->priv;
  mjData *d = e->d;
  d->qpos[0] = 0, d->qpos[1] = 0, d->qpos[2] = p->z0;
  d->qpos[3] = 1, d->qpos[4] = 0, d->qpos[5] = 0, d->qpos[6] = 0;
  for (int i = 0; i < NJOINT; i++)
    d->qpos[p->qadr[i]] = p->q0[i] + rng_uniform_range(r, -NOISE_Q, NOISE_Q);
  for (int i = 0; i < e->m->nv; i++) d->qvel[i] = NOISE_V * rng_normal(r);
}

// roll, pitch, yaw (ZYX) of a unit quaternion (w, x, y, z)
static void quat_rpy(const double *q, double *roll, double *pitch, double *yaw) {
  double w = q[0], x = q[1], y = q[2], z = q[3];
  *roll = atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y));
  *pitch = asin(env_clip(2 * (w * y - z * x), -1, 1));
  *yaw = atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

static void quad_observe(const Env *e, double *obs) {
  const mjData *d = e->d;
  obs[0] = d->qpos[2];
  quat_rpy(d->qpos + 3, &obs[1], &obs[2], &obs[3]);
  obs[4] = d->qvel[3], obs[5] = d->qvel[4], obs[6] = d->qvel[5];
  obs[7] = d->qvel[0], obs[8] = d->qvel[1];
  obs[9] = sin(e->tstate[0]), obs[10] = cos(e->tstate[0]);
}

static int quad_is_terminal(const Env *e, const double *obs) {
  (void)e;
  return fabs(obs[1]) > ROLL_MAX || fabs(obs[2]) > PITCH_MAX || obs[0] < Z_MIN || obs[0] > Z_MAX;
}

double quadruped_reward_terms(double target_speed, double speed, double z, double roll,
                              double pitch, const double *act, const double *prev_act,
                              double power, double terms[5]) {
  double ev = (speed - target_speed) / SIG_SPEED, ez = (z - HEIGHT_REF) / SIG_HEIGHT;
  double da = 0;
  for (int i = 0; i < ACT_DIM; i++) da += (act[i] - prev_act[i]) * (act[i] - prev_act[i]);
  terms[0] = W_SPEED * exp(-ev * ev);
  terms[1] = W_HEIGHT * exp(-ez * ez);
  terms[2] = W_POSTURE * exp(-(roll * roll + pitch * pitch) / (SIG_POSTURE * SIG_POSTURE));
  terms[3] = -W_SMOOTH * da;
  terms[4] = -W_ENERGY * power;
  return terms[0] + terms[1] + terms[2] + terms[3] + terms[4];
}

double quadruped_last_power(const Env *e) { return ((const QuadPriv *)e->priv)->power; }

static void quad_step(Env *e, const double *act_in, EnvStep *out) {
  QuadPriv *p = e->priv;
  const QuadOptions *o = env_task_opts(e);
  double act[ACT_DIM];
  for (int i = 0; i < ACT_DIM; i++) act[i] = env_clip(act_in[i], -1, 1);
  double x_before = e->d->qpos[0];

  // targets at the start and end of each physics step; the end's are the next start's
  double phase = e->tstate[0], h = e->m->opt.timestep, dphase = 2 * mjPI * GAIT_FREQ * h;
  double q0[NJOINT], q1[NJOINT], v[NJOINT], energy = 0;
  joint_targets(act, phase, q0);
  for (int k = 0; k < e->frame_skip; k++) {
    joint_targets(act, phase + (k + 1) * dphase, q1);
    for (int i = 0; i < NJOINT; i++) v[i] = (q1[i] - q0[i]) / h;
    energy += quadruped_pd_substep(e, q0, v);
    memcpy(q0, q1, sizeof q0);
  }
  e->tstate[0] = fmod(phase + e->frame_skip * dphase, 2 * mjPI);
  p->power = energy / e->frame_skip;

  double obs[OBS_DIM], terms[5];
  quad_observe(e, obs);
  double speed = (e->d->qpos[0] - x_before) / e->dt;
  out->reward = quadruped_reward_terms(o->target_speed, speed, obs[0], obs[1], obs[2], act,
                                       e->tstate + 1, p->power, terms);
  memcpy(e->tstate + 1, act, sizeof act);
  out->terminated = quad_is_terminal(e, obs);
  if (out->terminated) out->reward = 0;
}

const EnvTask task_quadruped = {
    .name = "Quadruped",
    .summary = "3 kg Stoch-like quadruped: the action modulates a trot generator (IK + PD inside)",
    .model = "quadruped.xml",
    .frame_skip = 10,
    .max_steps = 1000,
    .priv_size = sizeof(QuadPriv),
    .nstate = NSTATE,
    .opts_size = sizeof(QuadOptions),
    .register_opts = quad_register_opts,
    .setup = quad_setup,
    .reset = quad_reset,
    .step = quad_step,
    .observe = quad_observe,
    .is_terminal = quad_is_terminal,
    .reward = NULL,
};
