// task: what a task file provides to the environment library (see envs/tasks/*.c).
//
// A task is a static EnvTask in its own file, listed in registry.c. Its life in env_make:
// the model is loaded, `setup` checks it, looks up ids, applies options to the model and sets
// obs_dim (the action dimension and bounds come from the actuators' ctrlrange). In env_reset the
// data is reset to the model's initial state, tstate is zeroed, `reset` adds the noise, and
// mj_forward runs. In env_step `step` computes everything with env_simulate doing the physics;
// the library then adds the time limit and divergence handling and calls `observe`.
#ifndef MB_TASK_H
#define MB_TASK_H

#include "env.h"

struct EnvTask {
  const char *name;          // "HalfCheetah"
  const char *summary;       // one line for mbenv list
  const char *model;         // built-in MJCF file in envs/models
  int frame_skip;            // physics steps per environment step
  int max_steps;             // default time limit
  int rne_post;              // call mj_rnePostConstraint after the physics (cfrc_ext, cacc used)
  size_t priv_size;          // bytes of task-private data (Env.priv)
  int nstate;                // doubles of task state saved with the physics (Env.tstate)
  size_t opts_size;          // the task's options struct
  void (*register_opts)(Config *cfg, const char *section, void *opts);   // NULL: no options
  int (*setup)(Env *e, char *err, size_t errsz);
  void (*reset)(Env *e, Rng *r);
  // reward and termination of one step; env_simulate does the physics (act (A))
  void (*step)(Env *e, const double *act, EnvStep *out);
  void (*observe)(const Env *e, double *obs);
  int (*is_terminal)(const Env *e, const double *obs);    // NULL: never terminates
  double (*reward)(const Env *e, const double *obs, const double *act, const double *next_obs);
};

// A task's options: the struct, and the register function the EnvTask points to.
#define TASK_OPTIONS(Type, fn, LIST)                                                     \
  PARAMS_DEFINE(Type, fn##_typed, LIST)                                                  \
  static void fn(Config *cfg, const char *section, void *opts) { fn##_typed(cfg, section, opts); }

// The task's options of an environment.
static inline const void *env_task_opts(const Env *e) { return e->opts->task_opts; }

// Physics of one environment step: ctrl = act, frame_skip mj_steps (each checked for divergence),
// then mj_rnePostConstraint if the task asks for it.
void env_simulate(Env *e, const double *act);

// One mj_step, checked for divergence (sets e->diverged): for tasks that run their own
// controller between physics steps.
void env_mj_step(Env *e);

// sum of act[i]^2
double env_sq_norm(const double *act, int n);

// The planar walkers (Hopper, Walker2d): v4 reads x, z and the torso angle as qpos[0], qpos[1],
// qpos[2], so the joints rootx, rootz, rooty must sit there. Returns 0, or -1 with err.
int env_check_planar_root(const Env *e, char *err, size_t errsz);

// The planar runners (HalfCheetah, Swimmer, Hopper, Walker2d): env_simulate, returning the
// forward velocity of qpos[0] over the whole step, (x after - x before) / dt.
double env_simulate_vx(Env *e, const double *act);

// Their observation: qpos[skip:], then qvel, clipped to [-clip, clip] when clip > 0.
void env_observe_qpos_qvel(const Env *e, double *obs, int skip, double clip);

// Gymnasium v4's reward of the tasks that stay healthy (Hopper, Walker2d, Ant, Humanoid):
// (forward + alive) - cost with alive = healthy_reward while healthy or when unhealthiness ends
// the episode (v4's rule), terminated when it does and the robot is unhealthy.
void env_healthy_reward(EnvStep *out, double forward, double cost, int healthy,
                        int terminate_when_unhealthy, double healthy_reward);

// Reset noise in Gymnasium's two patterns, added to the model's initial state:
// qpos += U(-s, s), qvel += U(-s, s)
void env_noise_uniform(Env *e, Rng *r, double s);
// qpos += U(-s, s), qvel += s N(0, 1)
void env_noise_uniform_normal(Env *e, Rng *r, double s);

// Id of a named body / site / joint / geom, or -1 with "model M has no body 'x'" in err.
int env_id(const Env *e, mjtObj type, const char *name, char *err, size_t errsz);

// Check model sizes (nq, nv, nu); -1 with a message naming the model file on mismatch.
int env_check_sizes(const Env *e, int nq, int nv, int nu, char *err, size_t errsz);

// clip x to [lo, hi]
static inline double env_clip(double x, double lo, double hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

#endif
