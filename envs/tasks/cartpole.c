// CartpoleBalance and CartpoleSwingup: keep a pole upright on a cart, starting near upright or
// hanging down, with a continuous force (DeepMind Control Suite semantics).
//
// Follows google-deepmind/dm_control dm_control/suite/cartpole.py (tasks balance and swingup,
// dense reward) and dm_control/utils/rewards.py (tolerance), with the model in
// envs/models/cartpole.xml (dm_control's cartpole.xml parameters).
//
//   model     1 kg box cart on a slider (+-1.8 m soft limit, damping 5e-4), 1 m capsule pole of
//             0.1 kg on a hinge (damping 2e-6); contacts off; RK4, timestep 0.01 s, 1 physics
//             step per action; action: cart force in [-1, 1], gear 10
//   obs (5)   [cart x, cos(pole angle), sin(pole angle), cart velocity, pole angular velocity]
//   reward    in [0, 1], after the step: upright * centered * small_control * small_velocity,
//               upright        = (cos + 1) / 2
//               centered       = (1 + tol(x, margin 2)) / 2
//               small_control  = (4 + quadratic tol(u, margin 1, 0 at the margin)) / 5
//               small_velocity = (1 + tol(angular velocity, margin 5)) / 2
//             where tol is dm_control's tolerance with bounds (0, 0): 1 at 0, a Gaussian
//             falling to 0.1 at the margin; u is the action as given (dm_control reads ctrl)
//   end       never terminates (the slider limit is a soft constraint, no episode end); time
//             limit 1000 steps (10 s)
//   reset     balance: cart x U(-0.1, 0.1), angle U(-0.034, 0.034);
//             swingup: cart x 0.01 N(0, 1), angle pi + 0.01 N(0, 1);
//             both: qvel 0.01 N(0, 1)
//   options   pole_mass, pole_length, cart_mass, friction (the slider's viscous damping),
//             gear; defaults are the nominal values. An option at its nominal value leaves the
//             loaded model untouched, so an env.model file keeps its own parameters.
//
// Both variants use the same dense reward (dm_control's balance and swingup differ only in the
// reset). dm_control runs mj_step1 after each step so its cos/sin (pole xmat zz, xz) describe the
// final state; here they are computed from the final hinge angle, which is the same quantity.
#include <math.h>

#include "fail.h"
#include "task.h"

#define CARTPOLE_PARAMS(X)                                                                   \
  X(REAL, pole_mass, "0.1", "(0, 100]", "pole mass (kg)")                                    \
  X(REAL, pole_length, "1", "(0, 20]",                                                       \
    "pole length (m): hinge to the centre of the capsule's top cap")                         \
  X(REAL, cart_mass, "1", "(0, 1000]", "cart mass (kg)")                                     \
  X(REAL, friction, "5e-4", "[0, 1000]",                                                     \
    "viscous friction of the cart on the rail: the slider's damping (N s/m)")                \
  X(REAL, gear, "10", "(0, 1000]", "actuator gear: cart force (N) per unit action")

TASK_OPTIONS(CartpoleOpts, cartpole_register_opts, CARTPOLE_PARAMS)

// nominal values (the option defaults above)
static const double nominal_pole_mass = 0.1, nominal_pole_length = 1, nominal_cart_mass = 1,
                    nominal_friction = 5e-4, nominal_gear = 10;

typedef struct {
  int slider;   // the slider's dof
} Cartpole;

// Inertia of a solid capsule (radius r, cylinder half-length h, mass mass) about its centre:
// the cylinder plus two hemispheres moved to their places (what MuJoCo's compiler computes).
// i[0] = i[1] across the axis, i[2] about it.
static void capsule_inertia(double r, double h, double mass, double *i) {
  double vcyl = mjPI * r * r * 2 * h, vsph = 4.0 / 3.0 * mjPI * r * r * r;
  double density = mass / (vcyl + vsph);
  double mc = density * vcyl, ms = density * vsph, len = 2 * h;
  i[0] = i[1] = mc * (3 * r * r + len * len) / 12 +
                ms * (2 * r * r / 5 + len * len / 4 + 3 * len * r / 8);
  i[2] = mc * r * r / 2 + ms * 2 * r * r / 5;
}

// The pole's mass and length: the one geom of the pole body, a capsule along the body's z axis
// from its base at geom_pos - h to the top at geom_pos + h; the base stays where it is.
static int cartpole_set_pole(Env *e, const CartpoleOpts *o, char *err, size_t errsz) {
  mjModel *m = e->m;
  int body = env_id(e, mjOBJ_BODY, "pole", err, errsz);
  if (body < 0) return -1;
  int g = m->body_geomadr[body];
  if (o->pole_length != nominal_pole_length) {
    mjtNum *pos = m->geom_pos + 3 * g, mat[9];
    mju_quat2Mat(mat, m->geom_quat + 4 * g);   // the geom's z axis is mat's last column
    if (m->body_geomnum[body] != 1 || m->geom_type[g] != mjGEOM_CAPSULE ||
        fabs(fabs(mat[8]) - 1) > 1e-12 || pos[0] != 0 || pos[1] != 0)
      return fail_msg(err, errsz,
                      "%s: env.pole_length needs body 'pole' to hold one capsule along its z axis",
                      e->model_path);
    double mass = o->pole_mass != nominal_pole_mass ? o->pole_mass : m->body_mass[body];
    double r = m->geom_size[3 * g], base = pos[2] - m->geom_size[3 * g + 1];
    double h = o->pole_length / 2;
    m->geom_size[3 * g + 1] = h;
    pos[2] = base + h;
    m->geom_rbound[g] = r + h;
    // one geom: the body's centre of mass and principal axes are the capsule's
    mju_copy3(m->body_ipos + 3 * body, pos);
    mju_copy4(m->body_iquat + 4 * body, m->geom_quat + 4 * g);
    m->body_mass[body] = mass;
    capsule_inertia(r, h, mass, m->body_inertia + 3 * body);
  } else if (o->pole_mass != nominal_pole_mass) {
    // same shape: the inertia scales with the mass
    mju_scl3(m->body_inertia + 3 * body, m->body_inertia + 3 * body,
             o->pole_mass / m->body_mass[body]);
    m->body_mass[body] = o->pole_mass;
  }
  return 0;
}

static int cartpole_setup(Env *e, char *err, size_t errsz) {
  Cartpole *p = e->priv;
  mjModel *m = e->m;
  const CartpoleOpts *o = env_task_opts(e);
  if (env_check_sizes(e, 2, 2, 1, err, errsz)) return -1;
  int slider = env_id(e, mjOBJ_JOINT, "slider", err, errsz);
  int hinge = slider < 0 ? -1 : env_id(e, mjOBJ_JOINT, "hinge", err, errsz);
  int cart = hinge < 0 ? -1 : env_id(e, mjOBJ_BODY, "cart", err, errsz);
  if (cart < 0) return -1;
  if (m->jnt_type[slider] != mjJNT_SLIDE || m->jnt_type[hinge] != mjJNT_HINGE ||
      m->jnt_qposadr[slider] != 0 || m->jnt_qposadr[hinge] != 1)
    return fail_msg(err, errsz,
                    "%s: the cartpole tasks need qpos = (slide 'slider', hinge 'hinge')",
                    e->model_path);
  p->slider = m->jnt_dofadr[slider];
  e->obs_dim = 5;

  // options that differ from their nominal values edit the compiled model
  int changed = 0;
  if (o->pole_mass != nominal_pole_mass || o->pole_length != nominal_pole_length) {
    if (cartpole_set_pole(e, o, err, errsz)) return -1;
    changed = 1;
  }
  if (o->cart_mass != nominal_cart_mass) {
    mju_scl3(m->body_inertia + 3 * cart, m->body_inertia + 3 * cart,
             o->cart_mass / m->body_mass[cart]);
    m->body_mass[cart] = o->cart_mass;
    changed = 1;
  }
  if (o->friction != nominal_friction) m->dof_damping[p->slider] = o->friction, changed = 1;
  if (o->gear != nominal_gear) m->actuator_gear[0] = o->gear, changed = 1;
  // derived constants (subtree masses, M0, invweights, actuator acc0, statistics)
  if (changed) mj_setConst(m, e->d);
  return 0;
}

static void cartpole_reset_balance(Env *e, Rng *r) {
  mjData *d = e->d;
  d->qpos[0] = rng_uniform_range(r, -0.1, 0.1);
  d->qpos[1] = rng_uniform_range(r, -0.034, 0.034);
  d->qvel[0] = 0.01 * rng_normal(r);
  d->qvel[1] = 0.01 * rng_normal(r);
}

static void cartpole_reset_swingup(Env *e, Rng *r) {
  mjData *d = e->d;
  d->qpos[0] = 0.01 * rng_normal(r);
  d->qpos[1] = mjPI + 0.01 * rng_normal(r);
  d->qvel[0] = 0.01 * rng_normal(r);
  d->qvel[1] = 0.01 * rng_normal(r);
}

static void cartpole_observe(const Env *e, double *obs) {
  const mjData *d = e->d;
  obs[0] = d->qpos[0];
  obs[1] = cos(d->qpos[1]);
  obs[2] = sin(d->qpos[1]);
  obs[3] = d->qvel[0];
  obs[4] = d->qvel[1];
}

// dm_control's tolerance with bounds (0, 0) and value 0.1 at the margin, Gaussian:
// exp(-(d s)^2 / 2) with d = |x| / margin and s = sqrt(-2 ln 0.1), i.e. 0.1^(d^2)
static double tol_gaussian(double x, double margin) {
  double ds = fabs(x) / margin * sqrt(-2 * log(0.1));
  return exp(-0.5 * ds * ds);
}

// the same with the quadratic sigmoid and value 0 at the margin: 1 - (x / margin)^2, 0 beyond
static double tol_quadratic(double x, double margin) {
  double d = fabs(x) / margin;
  return d < 1 ? 1 - d * d : 0;
}

// dense reward from an observation (after the step) and the action
static double cartpole_reward_of(const double *obs, const double *act) {
  double upright = (obs[1] + 1) / 2;
  double centered = (1 + tol_gaussian(obs[0], 2)) / 2;
  double small_control = (4 + tol_quadratic(act[0], 1)) / 5;
  double small_velocity = (1 + tol_gaussian(obs[4], 5)) / 2;
  return upright * small_control * small_velocity * centered;
}

static void cartpole_step(Env *e, const double *act, EnvStep *out) {
  env_simulate(e, act);
  double obs[5];
  cartpole_observe(e, obs);
  out->reward = cartpole_reward_of(obs, act);
}

// exact: dm_control computes the reward from the state after the step and the control
static double cartpole_reward(const Env *e, const double *obs, const double *act,
                              const double *next_obs) {
  (void)e, (void)obs;
  return cartpole_reward_of(next_obs, act);
}

// the two tasks differ in their start state only
#define CARTPOLE_TASK(NAME, SUMMARY, RESET)                                                      \
  {.name = NAME,                                                                                 \
   .summary = SUMMARY,                                                                           \
   .model = "cartpole.xml",                                                                      \
   .frame_skip = 1,                                                                              \
   .max_steps = 1000,                                                                            \
   .priv_size = sizeof(Cartpole),                                                                \
   .opts_size = sizeof(CartpoleOpts),                                                            \
   .register_opts = cartpole_register_opts,                                                      \
   .setup = cartpole_setup,                                                                      \
   .reset = RESET,                                                                               \
   .step = cartpole_step,                                                                        \
   .observe = cartpole_observe,                                                                  \
   .reward = cartpole_reward}

const EnvTask task_cartpole_balance = CARTPOLE_TASK(
    "CartpoleBalance",
    "dm_control cartpole balance: keep the pole up, starting upright (obs 5, act 1)",
    cartpole_reset_balance);

const EnvTask task_cartpole_swingup = CARTPOLE_TASK(
    "CartpoleSwingup", "dm_control cartpole swingup: swing the pole up and hold it (obs 5, act 1)",
    cartpole_reset_swingup);
