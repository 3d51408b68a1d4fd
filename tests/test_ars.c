// Tests of ars_core: the update against its formula on a hand-made case (top-b selection, sigma_R),
// statistics from training rollouts only, the reward shift in training but not in returns of the
// task, learning InvertedPendulum, results independent of the thread count, and checkpoints.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ars_core.h"
#include "episodes.h"

static char err[4096];

static ArsParams params(int64_t n, int64_t top, double alpha, double nu, bool normalize) {
  ArsParams p;
  Config cfg;
  cfg_init(&cfg);
  ars_params_register(&cfg, "ars", &p);   // the defaults, then ours
  cfg_free(&cfg);
  p.directions = n, p.top = top, p.step_size = alpha, p.noise = nu, p.normalize = normalize;
  return p;
}

// a trainer for task (its dimensions and bounds), with a pool of `threads`
static void make(Ars *a, ArsPool **pool, EnvOptions *eo, const char *task, const ArsParams *p,
                 double shift, int threads) {
  cr_assert_eq(env_options_default(task, eo, err, sizeof err), 0, "%s", err);
  *pool = ars_pool_make(eo, threads, err, sizeof err);
  cr_assert_not_null(*pool, "%s", err);
  Env *e = env_make(eo, err, sizeof err);
  cr_assert_not_null(e, "%s", err);
  cr_assert_eq(ars_make(a, p, shift, task, e->obs_dim, e->act_dim, e->act_lo, e->act_hi, 7, err,
                        sizeof err), 0, "%s", err);
  env_free(e);
}

// O = 2, A = 1, N = 3, b = 2, alpha = 0.5: returns (r+, r-) = (1, 3), (5, 0), (2, 2)
Test(ars, update_formula) {
  ArsParams p = params(3, 2, 0.5, 0.1, false);
  Ars a;
  double lo = -1, hi = 1;
  cr_assert_eq(ars_make(&a, &p, 0, "T", 2, 1, &lo, &hi, 1, err, sizeof err), 0, "%s", err);
  double delta[6] = {1, -2, 0.5, 4, 7, 7}, ret[6] = {1, 3, 5, 0, 2, 2};
  memcpy(a.delta, delta, sizeof delta);
  memcpy(a.ret, ret, sizeof ret);
  a.policy.m[0] = 0.25, a.policy.m[1] = -1;
  ars_update(&a);
  // max(r+, r-) = 3, 5, 2: directions 1 then 0 are the top 2; direction 2 is left out
  cr_assert_eq(a.rank[0], 1);
  cr_assert_eq(a.rank[1], 0);
  cr_assert_eq(a.rank[2], 2);
  // sigma_R over {5, 0, 1, 3}: mean 2.25, population variance 14.75 / 4
  double sigma = sqrt(14.75 / 4);
  cr_assert(fabs(a.sigma_r - sigma) < 1e-15, "sigma_R %.17g, want %.17g", a.sigma_r, sigma);
  // M += alpha / (b sigma_R) ((5 - 0) delta_1 + (1 - 3) delta_0)
  double c = 0.5 / (2 * sigma);
  double want0 = 0.25 + c * (5 * 0.5 - 2 * 1), want1 = -1 + c * (5 * 4 - 2 * -2);
  cr_assert(fabs(a.policy.m[0] - want0) < 1e-14, "M[0] %.17g, want %.17g", a.policy.m[0], want0);
  cr_assert(fabs(a.policy.m[1] - want1) < 1e-14, "M[1] %.17g, want %.17g", a.policy.m[1], want1);

  // ties keep the lower direction first; b = N uses all of them
  double tie[6] = {4, 1, 0, 4, 4, 4};
  memcpy(a.ret, tie, sizeof tie);
  a.b = 3;
  ars_update(&a);
  cr_assert(a.rank[0] == 0 && a.rank[1] == 1 && a.rank[2] == 2);

  // every return equal: sigma_R = 0 and no step
  double flat[6] = {2, 2, 2, 2, 2, 2}, m[2] = {a.policy.m[0], a.policy.m[1]};
  memcpy(a.ret, flat, sizeof flat);
  ars_update(&a);
  cr_assert(a.sigma_r == 0);
  cr_assert(a.policy.m[0] == m[0] && a.policy.m[1] == m[1]);
  ars_free(&a);

  // top 0 means all, and more than N is refused
  p = params(3, 0, 0.5, 0.1, false);
  cr_assert_eq(ars_make(&a, &p, 0, "T", 2, 1, &lo, &hi, 1, err, sizeof err), 0);
  cr_assert_eq(a.b, 3);
  ars_free(&a);
  p.top = 4;
  cr_assert_eq(ars_make(&a, &p, 0, "T", 2, 1, &lo, &hi, 1, err, sizeof err), -1);
  cr_assert(strstr(err, "ars.top: 4 is more than ars.directions (3)"), "%s", err);
}

// replays a rollout outside the pool: the perturbed matrix through a policy frozen before the
// iteration, recording the states it acts on
typedef struct {
  const LinPolicy *p;
  const double *m;
  Normalizer *seen;
} Replay;

static void replay_fn(void *ctx, const double *obs, double *act) {
  Replay *r = ctx;
  norm_update(r->seen, obs);
  linpolicy_act_with(r->p, r->m, obs, act);
}

// V2: the statistics are those of every state the 2N training rollouts acted on (rollout
// (k, +-) starting from reset substream 1 + j N + k), and evaluation episodes leave them alone;
// the shift changes training returns only
Test(ars, statistics_and_shift_from_training_only) {
  ArsParams p = params(3, 2, 0.02, 0.05, true);
  Ars a;
  ArsPool *pool;
  EnvOptions eo;
  double shift = 1;
  make(&a, &pool, &eo, "Hopper", &p, shift, 2);
  Env *e = env_make(&eo, err, sizeof err);
  int O = e->obs_dim, A = e->act_dim;
  LinPolicy before;
  cr_assert_eq(linpolicy_init(&before, "Hopper", O, A, err, sizeof err), 0);
  Normalizer all, one;
  norm_init(&all, O, err, sizeof err);
  norm_init(&one, O, err, sizeof err);
  double *m = malloc((size_t)O * A * sizeof *m);

  for (int it = 0; it < 3; it++) {
    linpolicy_copy(&before, ars_policy(&a));
    ArsIterLog lg = ars_iterate(&a, pool);
    int64_t steps = 0;
    for (int64_t job = 0; job < 2 * a.n; job++) {
      int64_t k = job / 2;
      double nu = job % 2 ? -p.noise : p.noise;
      for (int i = 0; i < O * A; i++) m[i] = before.m[i] + nu * a.delta[k * O * A + i];
      Rng reset;
      rng_init_sub(&reset, 7, RNG_STREAM_RESET, 1 + (uint64_t)it * a.n + k);
      norm_reset(&one);
      Replay r = {&before, m, &one};
      Episode ep = episode_run(e, &reset, replay_fn, &r);
      cr_assert_eq(ep.len, a.len[job]);
      cr_assert(ep.ret == a.ret_task[job], "the task's return, unshifted");
      cr_assert(fabs(a.ret[job] - (ep.ret - shift * ep.len)) < 1e-9, "training return shifted");
      norm_merge(&all, &one);
      steps += ep.len;
    }
    cr_assert_eq(lg.steps, steps);
    cr_assert_eq(a.policy.norm.count, all.count);
    for (int j = 0; j < O; j++) {
      cr_assert(fabs(a.policy.norm.mean[j] - all.mean[j]) <= 1e-12 * (1 + fabs(all.mean[j])));
      cr_assert(fabs(a.policy.norm.m2[j] - all.m2[j]) <= 1e-9 * (1 + fabs(all.m2[j])));
    }
  }
  // Hopper terminates: rollouts have different lengths, so the shift matters
  cr_assert(a.len[0] != a.len[1] || a.len[2] != a.len[3] || a.len[0] != a.len[2]);

  // evaluation episodes do not touch the statistics
  LinPolicy *pol = &a.policy;
  int64_t count = pol->norm.count;
  double mean0 = pol->norm.mean[0];
  Rng reset;
  rng_init_sub(&reset, 7, RNG_STREAM_EVAL, 0);
  Episode ev = episode_run(e, &reset, linpolicy_fn, pol);
  cr_assert(ev.len > 0);
  cr_assert_eq(pol->norm.count, count);
  cr_assert(pol->norm.mean[0] == mean0);

  // the same seed with another shift: the same first rollouts, a different update
  Ars b;
  ArsPool *pool_b;
  EnvOptions eo_b;
  make(&b, &pool_b, &eo_b, "Hopper", &p, 0, 1);
  Ars c;
  ArsPool *pool_c;
  EnvOptions eo_c;
  make(&c, &pool_c, &eo_c, "Hopper", &p, shift, 1);
  ArsIterLog lb = ars_iterate(&b, pool_b), lc = ars_iterate(&c, pool_c);
  cr_assert(lb.return_mean == lc.return_mean, "logged returns are the task's");
  cr_assert(memcmp(b.ret_task, c.ret_task, 2 * 3 * sizeof(double)) == 0);
  cr_assert(memcmp(b.policy.m, c.policy.m, (size_t)O * A * sizeof(double)) != 0,
            "the shift changes the update");

  // V1 never updates the statistics
  ArsParams p1 = params(2, 0, 0.02, 0.05, false);
  Ars v1;
  ArsPool *pool_1;
  EnvOptions eo_1;
  make(&v1, &pool_1, &eo_1, "Hopper", &p1, 0, 1);
  ars_iterate(&v1, pool_1);
  cr_assert_eq(v1.policy.norm.count, 0);

  ars_free(&a), ars_free(&b), ars_free(&c), ars_free(&v1);
  ars_pool_free(pool), ars_pool_free(pool_b), ars_pool_free(pool_c), ars_pool_free(pool_1);
  env_options_free(&eo), env_options_free(&eo_b), env_options_free(&eo_c);
  env_options_free(&eo_1);
  linpolicy_free(&before);
  norm_free(&all), norm_free(&one);
  free(m);
  env_free(e);
}

// mean return of the evaluation protocol's first 5 start states
static double evaluate(Env *e, const LinPolicy *p) {
  double total = 0;
  for (int j = 0; j < 5; j++) {
    Rng reset;
    rng_init_sub(&reset, 7, RNG_STREAM_EVAL, (uint64_t)j);
    total += episode_run(e, &reset, linpolicy_fn, (void *)p).ret;
  }
  return total / 5;
}

// V2 with 8 directions, alpha = nu = 0.3 balances the pendulum for the whole episode within a
// few iterations (with seed 7: 6)
Test(ars, learns_inverted_pendulum) {
  ArsParams p = params(8, 0, 0.3, 0.3, true);
  Ars a;
  ArsPool *pool;
  EnvOptions eo;
  make(&a, &pool, &eo, "InvertedPendulum", &p, 0, 2);
  Env *e = env_make(&eo, err, sizeof err);
  double ret = evaluate(e, ars_policy(&a));
  cr_assert(ret < 100, "M = 0 lets the pole fall (%g)", ret);
  int it = 0;
  while (ret < 1000 && it < 10) {
    ars_iterate(&a, pool);
    ret = evaluate(e, ars_policy(&a));
    it++;
  }
  cr_assert(ret == 1000, "after %d iterations the mean return is %g", it, ret);
  ars_free(&a);
  ars_pool_free(pool);
  env_free(e);
  env_options_free(&eo);
}

// 1, 2 and 3 threads give bit-identical policies and statistics
Test(ars, thread_count_does_not_change_results) {
  ArsParams p = params(5, 3, 0.02, 0.03, true);
  Ars a[3];
  ArsPool *pool[3];
  EnvOptions eo[3];
  for (int t = 0; t < 3; t++) {
    make(&a[t], &pool[t], &eo[t], "Hopper", &p, 1, t + 1);
    cr_assert_eq(ars_pool_threads(pool[t]), t + 1);
    for (int it = 0; it < 4; it++) ars_iterate(&a[t], pool[t]);
  }
  size_t D = (size_t)a[0].obs_dim * a[0].act_dim, O = (size_t)a[0].obs_dim;
  for (int t = 1; t < 3; t++) {
    cr_assert_eq(memcmp(a[t].policy.m, a[0].policy.m, D * sizeof(double)), 0, "M, %d threads",
                 t + 1);
    cr_assert_eq(a[t].policy.norm.count, a[0].policy.norm.count);
    cr_assert_eq(memcmp(a[t].policy.norm.mean, a[0].policy.norm.mean, O * sizeof(double)), 0);
    cr_assert_eq(memcmp(a[t].policy.norm.m2, a[0].policy.norm.m2, O * sizeof(double)), 0);
    cr_assert_eq(memcmp(a[t].ret, a[0].ret, 2 * 5 * sizeof(double)), 0);
  }
  for (int t = 0; t < 3; t++) {
    ars_free(&a[t]);
    ars_pool_free(pool[t]);
    env_options_free(&eo[t]);
  }
}

// a trainer restored from a checkpoint continues exactly as the original
Test(ars, checkpoint_continues_exactly) {
  ArsParams p = params(3, 2, 0.02, 0.03, true);
  Ars a, b;
  ArsPool *pool;
  EnvOptions eo;
  make(&a, &pool, &eo, "Swimmer", &p, 0, 1);
  cr_assert_eq(ars_make(&b, &p, 0, "Swimmer", a.obs_dim, a.act_dim, a.policy.low,
                        a.policy.high, 7, err, sizeof err), 0);
  ars_iterate(&a, pool);
  ars_iterate(&a, pool);
  char path[] = "/tmp/mb_ars_ckpt_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  cr_assert_not_null(w, "%s", err);
  ars_save(&a, w);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  CkptReader *r = ckpt_open(path, "test", err, sizeof err);
  cr_assert_not_null(r, "%s", err);
  cr_assert_eq(ars_load(&b, r, err, sizeof err), 0, "%s", err);
  ckpt_close(r);
  unlink(path);
  cr_assert_eq(b.iteration, 2);
  ars_iterate(&a, pool);
  ars_iterate(&b, pool);
  size_t D = (size_t)a.obs_dim * a.act_dim;
  cr_assert_eq(memcmp(a.policy.m, b.policy.m, D * sizeof(double)), 0);
  cr_assert_eq(memcmp(a.policy.std, b.policy.std, (size_t)a.obs_dim * sizeof(double)), 0);
  ars_free(&a), ars_free(&b);
  ars_pool_free(pool);
  env_options_free(&eo);
}

// "auto" is the task's survival bonus where it has one
Test(ars, shift_values) {
  double s;
  EnvOptions eo;
  Config cfg;
  cfg_init(&cfg);
  cr_assert_eq(env_options_register(&cfg, "Humanoid", &eo, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ars_shift_value("auto", &cfg, &s, err, sizeof err), 0);
  cr_assert(s == 5);
  env_options_free(&eo);
  cfg_free(&cfg);
  cfg_init(&cfg);
  cr_assert_eq(env_options_register(&cfg, "HalfCheetah", &eo, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ars_shift_value("auto", &cfg, &s, err, sizeof err), 0);
  cr_assert(s == 0);
  env_options_free(&eo);
  cfg_free(&cfg);
  cr_assert_eq(ars_shift_value("-2.5", NULL, &s, err, sizeof err), 0);
  cr_assert(s == -2.5);
  cr_assert_eq(ars_shift_value("one", NULL, &s, err, sizeof err), -1);
  cr_assert(strstr(err, "ars.shift: expected auto or a finite number, got 'one'"), "%s", err);
}
