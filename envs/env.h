// env: the environment library (libenvs): MuJoCo tasks behind one small API.
//
// A program registers the task's options under [env], builds environments from them, and steps:
//
//   EnvOptions eo;
//   if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err)) fail_usage("%s", err);
//   cli_finish(&cli);                       // --set env.pole_mass=0.2 etc. are applied by now
//   Env *env = env_make(&eo, err, sizeof err);
//   env_reset(env, &rng, obs);
//   env_step(env, act, obs, &step);         // step.reward, .terminated, .truncated, .diverged
//
// Observations and actions are double. Actions are passed to MuJoCo as given (it clamps
// ctrl-limited actuators itself, as Gymnasium does), and control costs use the action as given.
// The library never seeds itself: every random draw comes from the caller's Rng.
#ifndef MB_ENV_H
#define MB_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <mujoco/mujoco.h>

#include "config.h"
#include "rng.h"

typedef struct EnvTask EnvTask;

typedef struct {
  double reward;
  int terminated;   // the task reached a terminal state: do not bootstrap from it
  int truncated;    // the episode was cut (time limit, or divergence): bootstrap if learning
  int diverged;     // the simulation became unstable; the transition is not valid physics and
                    // the episode must be reset (truncated is set too, reward is 0)
} EnvStep;

// The task and its options, resolved from the configuration ([env] section).
typedef struct {
  const EnvTask *task;
  char model[PARAM_STR_MAX];   // env.model: an MJCF file to load instead of the built-in one
  int64_t max_steps;           // env.max_steps: the time limit
  void *task_opts;             // the task's own options (owned)
} EnvOptions;

typedef struct {
  const EnvTask *task;
  const EnvOptions *opts;   // as given to env_make (must outlive the Env)
  mjModel *m;
  mjData *d;
  int obs_dim, act_dim;     // O, A
  double *act_lo, *act_hi;  // (A) action bounds
  double dt;                // seconds per environment step (timestep x frame_skip)
  int frame_skip;
  int max_steps;            // time limit in steps
  int t;                    // steps since the last reset
  double *tstate;           // (task->nstate) task state saved with the physics state
  void *priv;               // (task->priv_size) task-private data, zeroed at make
  char model_path[4096];
  int diverged;             // set by env_simulate when MuJoCo reported a bad state
  char divergence[256];     // what MuJoCo said
} Env;

// ---- tasks and options ----

int env_task_count(void);
const EnvTask *env_task_at(int i);
const EnvTask *env_task_find(const char *name);   // NULL if unknown
const char *env_task_name(const EnvTask *t);
const char *env_task_summary(const EnvTask *t);

// Register the options of task `name` under [env] (common ones: env.model, env.max_steps; then the
// task's). Returns 0, or -1 with "unknown task 'X' (did you mean Y?); tasks: ..." in err.
int env_options_register(Config *cfg, const char *name, EnvOptions *eo, char *err, size_t errsz);

// Options of task `name`: the defaults, then each "key=value" of `settings` (NULL-terminated,
// may be NULL; keys as in [env], with or without "env."), e.g. the nominal simulator beside a
// perturbed real system. Returns 0 or -1 with err.
int env_options_set(const char *name, const char *const *settings, EnvOptions *eo, char *err,
                    size_t errsz);

// Options of task `name` at their defaults. Returns 0 or -1 with err.
int env_options_default(const char *name, EnvOptions *eo, char *err, size_t errsz);
void env_options_free(EnvOptions *eo);

// ---- environments ----

// Load the model (built-in or env.model), apply the options, check the model fits the task.
// NULL with a message naming the file and the problem on failure.
Env *env_make(const EnvOptions *eo, char *err, size_t errsz);
void env_free(Env *e);

// Start an episode: the task's initial state with its reset noise drawn from r. Writes obs (O).
void env_reset(Env *e, Rng *r, double *obs);

// Advance one environment step with action act (A). Writes obs (O) and out.
void env_step(Env *e, const double *act, double *obs, EnvStep *out);

// The full state (physics and task): restoring it and replaying the same actions reproduces the
// trajectory bit for bit.
size_t env_state_size(const Env *e);
void env_get_state(const Env *e, double *state);
void env_set_state(Env *e, const double *state, double *obs);   // obs may be NULL

// Restore a state for stepping only (simulator rollouts): the next env_step is exactly as after
// env_set_state, but derived quantities (positions, contacts) are not recomputed now.
void env_restore(Env *e, const double *state);

// Planning with a learned model: termination and reward from observations alone.
// env_is_terminal is 0 for tasks that never terminate. env_reward is available only where the
// task's reward is a function of (obs, act, next_obs) (env_has_reward).
int env_is_terminal(const Env *e, const double *obs);
int env_can_terminate(const Env *e);   // 0: the task ends only at the time limit
int env_has_reward(const Env *e);
double env_reward(const Env *e, const double *obs, const double *act, const double *next_obs);

// Total mass of the model (kg).
double env_total_mass(const Env *e);

// MuJoCo's version string, for manifests.
const char *env_mujoco_version(void);

#endif
