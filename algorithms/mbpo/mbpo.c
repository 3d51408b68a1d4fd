// mbpo: model-based policy optimisation (MBPO; Janner, Fu, Zhang and Levine, "When to Trust Your
// Model", arXiv 1906.08253): SAC trained mostly on short rollouts of a learned probabilistic
// ensemble branched from real states, as the TOM authors' backbone runs it (kausiksivakumar/TOM,
// mbpo.py at 4d196c3, itself adapted from Xingyu-Lin/mbpo_pytorch; seed-variants 1.3).
//
//   first mbpo.init_steps steps: act with the initial policy (SAC's untrained actor, sampled;
//     mbpo.init_policy=uniform for uniform actions), store every valid transition
//   then in epochs of mbpo.epoch_length steps; at every step t of an epoch:
//     if t is a multiple of mbpo.model_every: fit the ensemble on the whole real buffer,
//       weighted by ensemble.weights (uniform: MBPO; tom, tom-binary: TOM; recency: PMAC); then
//       draw mbpo.rollout_batch start states from the buffer (uniformly, or in proportion to the
//       fit's weights with mbpo.weighted_starts, as TOM), and roll each k steps through the
//       model, a ~ pi, one elite drawn per row and step; every predicted transition goes to the
//       model pool, a predicted terminal state (the task's own test) ends its row
//     act a ~ pi(.|s); step the task; store the transition
//     SAC: mbpo.updates updates, each on sac.batch_size rows of which floor(real_ratio B) are
//       real and the rest from the model pool (all real while the pool is empty), unless the
//       epoch has already done more than mbpo.max_updates_per_step x t of them (the authors'
//       cap: with 20 and 5, a round of 20 every 4 steps, i.e. 5 updates per step on average)
//   at step 0, every run.eval_every steps and at the end: evaluate tanh(mu) (episodes.h)
//
// The rollout length k is mbpo.rollout_length (1: TOM's scripts), or MBPO's schedule when
// mbpo.rollout_max_length is larger: from rollout_length at epoch rollout_min_epoch linearly to
// rollout_max_length at rollout_max_epoch (MBPO's Hopper: 1 -> 15 over epochs 20..100). The model
// pool keeps mbpo.retain_epochs epochs of rollouts: rollout_batch x epoch_length / model_every x k
// transitions (400000 at the defaults), resized when k changes (the newest rows kept).
//
// Defaults are the TOM code's: SAC as the sac program (SB3's: 256 x 256, Adam 3e-4, gamma 0.99,
// tau 0.005, auto alpha; [sac]'s loop entries random_steps, update_every and gradient_steps are not
// read here), model every 250 steps, 100000 rollouts of length 1, real ratio 0.05, 20 updates per
// round with the cap of 5 per step, 5000 initial steps, 1000 steps per epoch. Deviations: the model
// is the suite's probabilistic ensemble (MBPO's own model: 7 members, 5 elites, 4 x 200 Swish), not
// the TOM code's mixture-density network; evaluation is run.eval_episodes episodes on a separate
// copy of the task from fixed start states.
//
// Output in --out: train.csv, eval.csv (episodes.h), algo.csv (SAC's updates, as the sac
// program), model.csv and fit.csv (one row per fit, mpc.h), and
//   rollout.csv  step,epoch,length,starts,added,pool,wall_s   one row per round of rollouts
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ensemble.h"
#include "env.h"
#include "episodes.h"
#include "fail.h"
#include "mpc.h"
#include "replay.h"
#include "rng.h"
#include "run.h"
#include "sac_agent.h"

#define MBPO_PARAMS(X)                                                                           \
  X(INT, init_steps, "5000", "[0, 1e12]", "steps of the initial policy before learning")         \
  X(CHOICE, init_policy, "policy", "policy|uniform", "what acts in them: the untrained actor, or uniform") \
  X(INT, epoch_length, "1000", "[1, 1e9]", "environment steps per epoch")                        \
  X(INT, model_every, "250", "[1, 1e9]", "steps of an epoch between fits of the model")          \
  X(INT, rollout_batch, "1e5", "[1, 1e8]", "start states per round of rollouts")                 \
  X(INT, rollout_length, "1", "[1, 1000]", "model steps per rollout (the schedule's start)")      \
  X(INT, rollout_max_length, "1", "[1, 1000]", "the schedule's end (equal: a fixed length)")     \
  X(INT, rollout_min_epoch, "20", "[0, 1e9]", "epoch at which the schedule starts to grow")      \
  X(INT, rollout_max_epoch, "100", "[1, 1e9]", "epoch at which it reaches rollout_max_length")    \
  X(INT, retain_epochs, "1", "[1, 1000]", "epochs of rollouts the model pool keeps")              \
  X(REAL, real_ratio, "0.05", "[0, 1]", "share of each SAC minibatch drawn from real data")        \
  X(INT, updates, "20", "[0, 1e6]", "SAC updates per round (the authors' num_train_repeat)")     \
  X(REAL, max_updates_per_step, "5", "[0, inf]", "no round while an epoch's updates exceed this x its steps") \
  X(BOOL, weighted_starts, "false", "", "draw rollout starts in proportion to the fit's weights (TOM)")
PARAMS_DEFINE(MbpoParams, mbpo_params_register, MBPO_PARAMS)

static const CfgDefault MBPO_DEFAULTS[] = {
    {"run.env", "Hopper"},
    {"run.eval_every", "1000"},        // one evaluation per epoch
    {"run.eval_episodes", "10"},       // 10 deterministic episodes per epoch
    {"run.checkpoint_every", "5000"},
};

#define ROLLOUT_HEADER "step,epoch,length,starts,added,pool,wall_s"

typedef struct {
  SacLearner sac;     // SAC and the real buffer (the model learns from it too)
  Replay pool;        // the model's transitions
  Rng rollout;        // (seed, RNG_STREAM_ROLLOUT)
  int64_t epoch_updates;   // SAC updates in the current epoch
  int length;         // the current rollout length
  // rollout scratch
  float *obs, *act, *next, *rew;   // (rollout_batch, O), (, A), (, O), ()
  double *cum;        // (buffer) cumulative start weights
} Mbpo;

// ---- ALGO LOGIC ----

// k of MBPO's schedule at epoch e
static int rollout_length(const MbpoParams *p, int64_t e) {
  if (p->rollout_max_length <= p->rollout_length) return (int)p->rollout_length;
  double f = (double)(e - p->rollout_min_epoch) / (double)(p->rollout_max_epoch - p->rollout_min_epoch);
  f = f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
  return (int)(p->rollout_length + f * (double)(p->rollout_max_length - p->rollout_length));
}

static size_t pool_size(const MbpoParams *p, int k) {
  double per_epoch = (double)p->rollout_batch * (double)p->epoch_length / (double)p->model_every;
  return (size_t)(p->retain_epochs * per_epoch * k);
}

// a model pool of cap rows keeping the newest rows of the old one
static void resize_pool(Replay *pool, size_t cap) {
  char err[4400];
  Replay fresh;
  if (replay_init(&fresh, cap, pool->obs_dim, pool->act_dim, err, sizeof err)) fail_run("%s", err);
  int O = pool->obs_dim, A = pool->act_dim;
  size_t keep = pool->size < cap ? pool->size : cap;
  for (size_t i = pool->size - keep; i < pool->size; i++) {
    size_t s = replay_slot(pool, i), t = fresh.next;
    memcpy(fresh.obs + t * O, pool->obs + s * O, (size_t)O * sizeof(float));
    memcpy(fresh.act + t * A, pool->act + s * A, (size_t)A * sizeof(float));
    memcpy(fresh.next_obs + t * O, pool->next_obs + s * O, (size_t)O * sizeof(float));
    fresh.rew[t] = pool->rew[s], fresh.term[t] = pool->term[s], fresh.trunc[t] = pool->trunc[s];
    fresh.next = (fresh.next + 1) % cap;
    fresh.size++;
  }
  replay_free(pool);
  *pool = fresh;
}

// One round of branched rollouts from n real start states into the pool; returns the rows added.
static size_t rollouts(Mbpo *b, MpcModel *m, const Env *task, const MbpoParams *p) {
  const Replay *real = &b->sac.replay;
  int O = real->obs_dim, A = real->act_dim, n = (int)p->rollout_batch;
  // start states: uniform, or in proportion to the fit's weights (TOM)
  int weighted = p->weighted_starts && m->weighted;
  if (weighted) {
    double c = 0.0;
    for (size_t i = 0; i < real->size; i++) b->cum[i] = c += m->w[i];
  }
  for (int j = 0; j < n; j++) {
    size_t i = weighted ? ensemble_draw_weighted(b->cum, real->size, &b->rollout)
                        : (size_t)rng_below(&b->rollout, real->size);
    memcpy(b->obs + (size_t)j * O, real->obs + replay_slot(real, i) * O, (size_t)O * sizeof(float));
  }
  double *x = xmalloc((size_t)O, sizeof *x, "rollout"), *a = xmalloc((size_t)A, sizeof *a, "rollout");
  double *y = xmalloc((size_t)O, sizeof *y, "rollout");
  size_t added = 0;
  for (int h = 0; h < b->length && n > 0; h++) {
    sac_agent_act(&b->sac.agent, b->obs, b->act, n, &b->rollout);
    ensemble_predict_random(&m->ens, b->obs, b->act, n, 0, &b->rollout, b->next, b->rew);
    int live = 0;   // rows that go on: compacted to the front
    for (int j = 0; j < n; j++) {
      for (int k = 0; k < O; k++) x[k] = b->obs[(size_t)j * O + k], y[k] = b->next[(size_t)j * O + k];
      for (int k = 0; k < A; k++) a[k] = b->act[(size_t)j * A + k];
      int done = env_is_terminal(task, y);
      replay_add(&b->pool, x, a, b->rew[j], y, done, 0);
      added++;
      if (!done) memmove(b->obs + (size_t)live++ * O, b->next + (size_t)j * O, (size_t)O * sizeof(float));
    }
    n = live;
  }
  free(x), free(a), free(y);
  return added;
}

// one SAC update: floor(real_ratio B) real rows, the rest from the model pool (all real while it
// is empty)
static SacStats learn(Mbpo *b, const SacParams *sp, const MbpoParams *p) {
  SacLearner *s = &b->sac;
  int B = (int)sp->batch_size, real = b->pool.size ? (int)floor(p->real_ratio * B) : B;
  if (real > 0) replay_sample(&s->replay, &s->update, real, &s->batch);
  if (real < B) {
    ReplayBatch rest = replay_batch_tail(&s->batch, real, s->agent.obs_dim, s->agent.act_dim);
    replay_sample(&b->pool, &s->update, B - real, &rest);
  }
  SacStats st;
  sac_agent_update(&s->agent, &s->batch, &s->update, &st);
  return st;
}

// ---- HARNESS ----

static void save(const Mbpo *b, const MpcModel *m, const TrainEnv *te, CkptWriter *w) {
  int64_t state[2] = {b->epoch_updates, b->length};
  sac_learner_save(&b->sac, w);
  replay_save(&b->pool, w, "pool");
  ckpt_put(w, "rng.rollout", &b->rollout, sizeof b->rollout);
  ckpt_put(w, "mbpo.state", state, sizeof state);
  mpc_model_save(m, w);
  train_env_save(te, w);
}

static void load(Mbpo *b, const MbpoParams *p, MpcModel *m, TrainEnv *te, CkptReader *r) {
  char err[4400];
  int64_t state[2];
  if (ckpt_get(r, "mbpo.state", state, sizeof state, err, sizeof err)) fail_run("cannot resume: %s", err);
  if (state[1] < 1 || state[1] > 1000) fail_run("cannot resume: mbpo.state: rollout length %lld", (long long)state[1]);
  b->epoch_updates = state[0];
  b->length = (int)state[1];
  if (b->pool.cap != pool_size(p, b->length)) resize_pool(&b->pool, pool_size(p, b->length));
  if (sac_learner_load(&b->sac, r, err, sizeof err) ||
      replay_load(&b->pool, r, "pool", err, sizeof err) ||
      ckpt_get(r, "rng.rollout", &b->rollout, sizeof b->rollout, err, sizeof err) ||
      mpc_model_load(m, r, err, sizeof err) || train_env_load(te, r, err, sizeof err))
    fail_run("cannot resume: %s", err);
}

int main(int argc, char **argv) {
  Cli cli;
  MbpoParams p;
  SacParams sp;
  EnsembleParams ep;
  WeightsParams wp;
  EnvOptions eo;
  char err[4400];
  cli_init(&cli, argv[0], "MBPO: SAC on branched rollouts of a learned ensemble", CLI_ENV);
  mbpo_params_register(&cli.cfg, "mbpo", &p);
  sac_params_register(&cli.cfg, "sac", &sp);
  ensemble_params_register(&cli.cfg, "ensemble", &ep);
  weights_params_register(&cli.cfg, "weights", &wp);
  CFG_SET_DEFAULTS(&cli.cfg, MBPO_DEFAULTS);
  cli_parse(&cli, argc, argv);
  if (env_options_register(&cli.cfg, cli.run.env, &eo, err, sizeof err)) fail_usage("%s", err);
  if (sac_params_check(&sp, err, sizeof err) || ensemble_params_check(&ep, err, sizeof err))
    fail_usage("%s", err);
  if (p.rollout_max_length > p.rollout_length && p.rollout_max_epoch <= p.rollout_min_epoch)
    fail_usage("mbpo.rollout_max_epoch: %lld must be after mbpo.rollout_min_epoch (%lld)",
               (long long)p.rollout_max_epoch, (long long)p.rollout_min_epoch);
  if (p.model_every > p.epoch_length)
    fail_usage("mbpo.model_every: %lld is longer than an epoch (mbpo.epoch_length = %lld)",
               (long long)p.model_every, (long long)p.epoch_length);
  size_t most = pool_size(&p, p.rollout_max_length > p.rollout_length ? (int)p.rollout_max_length
                                                                       : (int)p.rollout_length);
  if (most < 1 || most > (size_t)1e9)
    fail_usage("mbpo: the model pool would hold %zu transitions (rollout_batch x epoch_length / "
               "model_every x length x retain_epochs); allowed 1 to 1e9", most);
  cli_meta(&cli, "mujoco", env_mujoco_version());
  cli_finish(&cli);

  // the task, its evaluation copy, SAC, the model and its pool, all from run.seed
  Env *env = env_make_for_run(&cli, &eo), *eval_env = env_make_for_run(&cli, &eo);
  int O = env->obs_dim, A = env->act_dim;
  uint32_t seed = (uint32_t)cli.run.seed;
  Mbpo b = {0};
  MpcModel m;
  b.length = rollout_length(&p, 0);
  if (sac_learner_init(&b.sac, &sp, O, A, seed, err, sizeof err) ||
      replay_init(&b.pool, pool_size(&p, b.length), O, A, err, sizeof err) ||
      mpc_model_init(&m, MPC_MODEL_ENSEMBLE, &eo, env, &ep, seed, err, sizeof err))
    fail_run("%s", err);
  if (mpc_model_weights(&m, (int)ep.weights, &wp, (size_t)sp.buffer_size, sac_sample_fn,
                        &b.sac.agent, "", seed, err, sizeof err))
    fail_usage("%s", err);
  rng_init(&b.rollout, seed, RNG_STREAM_ROLLOUT);
  size_t nb = (size_t)p.rollout_batch;
  b.obs = xmalloc(nb * O, sizeof *b.obs, "rollouts");
  b.act = xmalloc(nb * A, sizeof *b.act, "rollouts");
  b.next = xmalloc(nb * O, sizeof *b.next, "rollouts");
  b.rew = xmalloc(nb, sizeof *b.rew, "rollouts");
  b.cum = xmalloc((size_t)sp.buffer_size, sizeof *b.cum, "rollout starts");
  TrainEnv te;
  train_env_init(&te, env, seed);
  double *unit = xmalloc((size_t)A, sizeof *unit, "action");   // (A) in [-1, 1]
  double *act = xmalloc((size_t)A, sizeof *act, "action");     // (A) in the task's bounds
  SacGreedy greedy = {&b.sac.agent, eval_env};

  Run run;
  double ret = NAN;
  char algo_header[1600];
  sac_algo_header(&sp, algo_header, sizeof algo_header);
  CkptReader *ck = run_start(&run, &cli, TRAIN_CSV_HEADER, EVAL_CSV_HEADER, algo_header);
  CsvLog *model_log = run_open_log(&run, ck, "model.csv", MPC_MODEL_HEADER);
  CsvLog *fit_log = run_open_log(&run, ck, "fit.csv", MPC_FIT_HEADER);
  CsvLog *rollout_log = run_open_log(&run, ck, "rollout.csv", ROLLOUT_HEADER);
  if (ck) {
    load(&b, &p, &m, &te, ck);
    ckpt_close(ck);
  }

  for (;;) {
    if (run_eval_due(&run))
      ret = episodes_evaluate(&run, &run.eval, eval_env, sac_greedy_policy, &greedy);
    if (run.step >= cli.run.steps) break;
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      save(&b, &m, &te, w);
      run_checkpoint_commit(&run, w);
    }
    int learning = run.step >= p.init_steps;
    int64_t t = learning ? (run.step - p.init_steps) % p.epoch_length : 0;   // step of the epoch
    int64_t epoch = learning ? (run.step - p.init_steps) / p.epoch_length : 0;
    if (learning && t == 0) b.epoch_updates = 0;

    // the model: fit, then branch rollouts into the pool
    if (learning && t % p.model_every == 0 && b.sac.replay.size > 1) {
      mpc_model_train_logged(&m, &b.sac.replay, &run, model_log, fit_log);
      int k = rollout_length(&p, epoch);
      if (k != b.length) resize_pool(&b.pool, pool_size(&p, b.length = k));
      size_t added = rollouts(&b, &m, env, &p);
      csv_i(rollout_log, run.step), csv_i(rollout_log, epoch), csv_i(rollout_log, b.length);
      csv_i(rollout_log, p.rollout_batch), csv_i(rollout_log, (int64_t)added);
      csv_i(rollout_log, (int64_t)b.pool.size), csv_d(rollout_log, run_wall(&run));
      csv_end(rollout_log);
    }

    // act: the policy's sample (uniform first if asked)
    if (!learning && p.init_policy == 1) {
      for (int i = 0; i < A; i++) unit[i] = (float)rng_uniform_range(&b.sac.explore, -1.0, 1.0);
    } else {
      sac_agent_act1(&b.sac.agent, te.obs, unit, &b.sac.explore);
    }
    action_from_unit(env, unit, act);
    EnvStep st;
    train_env_step(&te, &run, act, &st);
    if (!st.diverged)   // not valid physics: kept out of the buffer
      replay_add(&b.sac.replay, te.prev_obs, unit, st.reward, te.next_obs, st.terminated,
                 st.truncated);

    // SAC: a round of updates unless the epoch is ahead of its cap
    if (learning && b.sac.replay.size > 0 &&
        (double)b.epoch_updates <= p.max_updates_per_step * (double)t)
      for (int64_t k = 0; k < p.updates; k++, b.epoch_updates++) {
        SacStats stats = learn(&b, &sp, &p);
        sac_log_update(&b.sac.log, &run.algo, &b.sac.agent, &stats, sp.log_every, run.step,
                       run_wall(&run));
      }
    run_progress(&run);
  }

  printf("%s: evaluation return %.6g after %lld steps (%s)\n", cli.prog, ret,
         (long long)run.step, cli.out);
  run_finish(&run);
  free(unit), free(act);
  free(b.obs), free(b.act), free(b.next), free(b.rew), free(b.cum);
  train_env_free(&te);
  mpc_model_free(&m);
  replay_free(&b.pool);
  sac_learner_free(&b.sac);
  env_free(env);
  env_free(eval_env);
  env_options_free(&eo);
  cli_free(&cli);
  return EXIT_OK;
}
