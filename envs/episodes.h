// episodes: what every reinforcement-learning program does the same way with episodes: the
// training environment's bookkeeping (logging, resets, resume mid-episode) and the evaluation
// protocol.
//
//   train.csv  step,episode,return,length,terminated,truncated,diverged,wall_s
//              one row per finished training episode (step = environment steps after it)
//   eval.csv   step,eval,episode,return,length,wall_s
//              one row per evaluation episode (eval = index of the evaluation point)
#ifndef MB_EPISODES_H
#define MB_EPISODES_H

#include <stdint.h>

#include "checkpoint.h"
#include "csvlog.h"
#include "env.h"
#include "rng.h"
#include "run.h"

#define TRAIN_CSV_HEADER "step,episode,return,length,terminated,truncated,diverged,wall_s"
#define EVAL_CSV_HEADER "step,eval,episode,return,length,wall_s"

// A policy as an episode sees it: writes the action act (A) for the observation obs (O).
typedef void (*PolicyFn)(void *ctx, const double *obs, double *act);

typedef struct {
  double ret;   // undiscounted return
  int len;      // steps
  int terminated, truncated, diverged;
  double speed;   // mean velocity of the first generalised coordinate over the episode: the
                  // torso's forward speed (m/s) on the quadruped and the locomotion tasks
} Episode;

// One whole episode of pi on e from a reset drawn from `reset`.
Episode episode_run(Env *e, Rng *reset, PolicyFn pi, void *ctx);

// The evaluation protocol: run.eval_episodes episodes of pi on env (an environment used only for
// evaluation), episode j starting from substream j of (run.seed, RNG_STREAM_EVAL), so every
// algorithm and every evaluation point sees the same start states. Writes one row per episode to
// log (normally &run->eval), advances run->eval_index, updates the progress line, and returns
// the mean return.
double episodes_evaluate(Run *run, CsvLog *log, Env *env, PolicyFn pi, void *ctx);

// One row of eval.csv's format for episode `episode` of evaluation `index`.
void episodes_log(Run *run, CsvLog *log, int64_t index, int64_t episode, const Episode *ep);

// The same protocol for a second policy at the same evaluation point (e.g. the MPC beside the
// actor, or a policy without the layer beside it): `episodes` episodes from the same start
// states, rows with eval = index; nothing else changes. Returns the mean return.
double episodes_evaluate_at(Run *run, CsvLog *log, int64_t index, int64_t episodes, Env *env,
                            PolicyFn pi, void *ctx);

// A task for a run (after cli_finish): env_make, or the run fails with env_make's message (exit
// 2 when it is env.model's file, else 1); its model file is one of the run's inputs (cli_input: its digest is kept).
Env *env_make_for_run(Cli *cli, const EnvOptions *eo);

// Map an action in [-1, 1]^A (a squashed policy's output) onto the task's bounds.
void action_from_unit(const Env *e, const double *unit, double *act);

// The inverse: unit[i] = 2 (act[i] - lo_i) / (hi_i - lo_i) - 1, act first clamped to the bounds
// when clamp != 0 (act and unit may be the same array).
void action_to_unit(const Env *e, const double *act, double *unit, int clamp);

// The training environment and its current episode.
typedef struct {
  Env *env;
  Rng reset;           // (run.seed, RNG_STREAM_RESET): every training episode's reset noise
  double *obs;         // (O) the observation the next action is chosen from
  double *prev_obs;    // (O) the observation the last action was chosen from
  double *next_obs;    // (O) the observation the last action led to (before any reset)
  int64_t episode;     // finished training episodes
  double ret;          // return of the current episode so far
  int len;             // its steps so far
} TrainEnv;

// Take env for training with the run's seed, and start the first episode.
void train_env_init(TrainEnv *t, Env *env, uint32_t seed);
void train_env_free(TrainEnv *t);

// One step with act (A). Fills st; afterwards (prev_obs, act, st->reward, next_obs,
// st->terminated, st->truncated) is the transition, valid for learning unless st->diverged. When
// the episode ends the row goes to run's train.csv and a new episode starts, so t->obs is always
// the observation to act on. run->step is advanced by one. Returns 1 if an episode ended.
int train_env_step(TrainEnv *t, Run *run, const double *act, EnvStep *st);

// Checkpoint the current episode (physics state, observation, counters, reset stream).
void train_env_save(const TrainEnv *t, CkptWriter *w);
int train_env_load(TrainEnv *t, CkptReader *r, char *err, size_t errsz);

#endif
