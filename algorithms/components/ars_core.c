// ars_core: augmented random search, the reusable trainer and its rollout pool (see ars_core.h).
#include "ars_core.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fail.h"

int ars_shift_value(const char *text, const Config *cfg, double *shift, char *err, size_t errsz) {
  if (strcmp(text, "auto") == 0) {
    const ParamRef *hr = cfg ? cfg_find(cfg, "env.healthy_reward") : NULL;
    *shift = hr && hr->type == P_REAL ? *(const double *)hr->ptr : 0.0;
    return 0;
  }
  char *end;
  double v = strtod(text, &end);
  if (end == text || *end || !isfinite(v))
    return fail_msg(err, errsz, "ars.shift: expected auto or a finite number, got '%s'", text);
  *shift = v;
  return 0;
}

// ---- the pool ----

typedef struct ArsWorker ArsWorker;
typedef void (*ArsJob)(ArsWorker *w, int64_t k, void *ctx);

struct ArsWorker {
  ArsPool *pool;
  Env *env;
  double *obs;     // (O)
  double *act;     // (A)
  double *mat;     // (A, O) the perturbed matrix of the current rollout
  pthread_t thread;
};

// Workers wait for a new batch number, take job indices under the mutex until none is left, and
// report when they are done. Everything a job reads (the policy, the directions) is written by
// the main thread before the batch is published under the mutex and not again until every
// worker has reported under it, and every job writes only its own output slots: no data races.
struct ArsPool {
  int threads, started;
  ArsWorker *w;             // (threads)
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  uint64_t batch;           // batches published
  ArsJob job;
  void *ctx;
  int64_t njobs, next;      // jobs of the batch, the next one to hand out
  int busy;                 // workers not yet done with the batch
  int quit;
};

static void *worker_main(void *arg) {
  ArsWorker *w = arg;
  ArsPool *p = w->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->batch == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->quit) break;
    seen = p->batch;
    ArsJob job = p->job;
    void *ctx = p->ctx;
    while (p->next < p->njobs) {
      int64_t k = p->next++;
      pthread_mutex_unlock(&p->mu);
      job(w, k, ctx);
      pthread_mutex_lock(&p->mu);
    }
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

// run jobs 0..n-1 and return when all are done
static void pool_run(ArsPool *p, int64_t n, ArsJob job, void *ctx) {
  if (p->threads == 1) {
    for (int64_t k = 0; k < n; k++) job(&p->w[0], k, ctx);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->job = job;
  p->ctx = ctx;
  p->njobs = n;
  p->next = 0;
  p->busy = p->threads;
  p->batch++;
  pthread_cond_broadcast(&p->wake);
  while (p->busy) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

void ars_pool_free(ArsPool *p) {
  if (!p) return;
  if (p->started) {
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++) pthread_join(p->w[i].thread, NULL);
  }
  for (int i = 0; i < p->threads; i++) {
    if (p->w[i].env) env_free(p->w[i].env);
    free(p->w[i].obs);
    free(p->w[i].act);
    free(p->w[i].mat);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->w);
  free(p);
}

ArsPool *ars_pool_make(const EnvOptions *eo, int threads, char *err, size_t errsz) {
  if (threads < 1) {
    fail_msg(err, errsz, "rollout pool: %d threads (at least 1 needed)", threads);
    return NULL;
  }
  ArsPool *p = xcalloc(1, sizeof *p, "rollout pool");
  p->threads = threads;
  p->w = xcalloc((size_t)threads, sizeof *p->w, "rollout workers");
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  // one environment (its own mjData) per worker, made here on the calling thread
  for (int i = 0; i < threads; i++) {
    ArsWorker *w = &p->w[i];
    w->pool = p;
    w->env = env_make(eo, err, errsz);
    if (!w->env) {
      ars_pool_free(p);
      return NULL;
    }
    size_t O = (size_t)w->env->obs_dim, A = (size_t)w->env->act_dim;
    w->obs = xmalloc(O, sizeof *w->obs, "observation");
    w->act = xmalloc(A, sizeof *w->act, "action");
    w->mat = xmalloc(A * O, sizeof *w->mat, "perturbed policy");
  }
  if (threads > 1)
    for (int i = 0; i < threads; i++) {
      if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i])) {
        fail_msg(err, errsz, "rollout pool: cannot start thread %d of %d", i + 1, threads);
        ars_pool_free(p);
        return NULL;
      }
      p->started++;
    }
  return p;
}

int ars_pool_threads(const ArsPool *p) { return p->threads; }

// ---- the trainer ----

void ars_exec_register_cores(Config *cfg, ArsExecParams *ex) {
  char buf[32];
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  ars_exec_register(cfg, "exec", ex);
  snprintf(buf, sizeof buf, "%ld", cores < 1 ? 1 : cores > 1024 ? 1024 : cores);
  cfg_set_default(cfg, "exec.threads", buf);
}

int ars_params_check(const ArsParams *p, char *err, size_t errsz) {
  if (p->top > p->directions)
    return fail_msg(err, errsz, "ars.top: %lld is more than ars.directions (%lld)",
                    (long long)p->top, (long long)p->directions);
  if (p->adapt_beta && p->optimism != 1)
    return fail_msg(err, errsz, "ars.adapt_beta adapts the beta of ars.optimism=ogd; with "
                    "ars.optimism=%s there is no beta", p->optimism == 2 ? "extragrad" : "none");
  if (p->optimism == 1 && p->adapt_beta && p->beta > p->beta_max)
    return fail_msg(err, errsz, "ars.beta = %g is above ars.beta_max = %g (the range beta adapts "
                    "in)", p->beta, p->beta_max);
  return 0;
}

const char *ars_log_header(const ArsParams *p) {
  return p->optimism == 1
             ? "step,iteration,return_mean,return_max,return_std,length_mean,sigma_r,beta,wall_s"
             : "step,iteration,return_mean,return_max,return_std,length_mean,sigma_r,wall_s";
}

void ars_log_row(CsvLog *c, int64_t step, const Ars *a, const ArsIterLog *lg, double wall) {
  csv_i(c, step);
  csv_i(c, a->iteration - 1);
  csv_d(c, lg->return_mean);
  csv_d(c, lg->return_max);
  csv_d(c, lg->return_std);
  csv_d(c, lg->length_mean);
  csv_d(c, lg->sigma_r);
  if (a->p.optimism == 1) csv_d(c, a->opt.beta);
  csv_d(c, wall);
  csv_end(c);
}

int ars_make(Ars *a, const ArsParams *p, double shift, const char *task, int obs_dim,
             int act_dim, const double *lo, const double *hi, uint32_t seed, char *err,
             size_t errsz) {
  memset(a, 0, sizeof *a);
  if (ars_params_check(p, err, errsz)) return -1;
  if (!isfinite(shift)) return fail_msg(err, errsz, "ars.shift: not a finite number");
  if (linpolicy_init(&a->policy, task, obs_dim, act_dim, err, errsz)) return -1;
  a->p = *p;
  a->n = p->directions;
  a->b = p->top > 0 ? p->top : p->directions;
  a->p.top = a->b;
  a->shift = shift;
  a->seed = seed;
  a->obs_dim = obs_dim;
  a->act_dim = act_dim;
  a->policy.clip = p->clip;
  memcpy(a->policy.low, lo, (size_t)act_dim * sizeof *lo);
  memcpy(a->policy.high, hi, (size_t)act_dim * sizeof *hi);
  rng_init(&a->explore, seed, RNG_STREAM_EXPLORE);

  size_t N = (size_t)a->n, D = (size_t)obs_dim * (size_t)act_dim;
  a->delta = xmalloc(N, D * sizeof *a->delta, "directions");
  a->ret = xcalloc(2 * N, sizeof *a->ret, "returns");
  a->ret_task = xcalloc(2 * N, sizeof *a->ret_task, "returns");
  a->len = xcalloc(2 * N, sizeof *a->len, "lengths");
  a->diverged = xcalloc(2 * N, sizeof *a->diverged, "divergence flags");
  a->rank = xcalloc(N, sizeof *a->rank, "ranking");
  a->g = xcalloc(D, sizeof *a->g, "update");
  // M ascends along g: plain SGD in double (or its optimistic form), its learning rate set at
  // each update
  OptimSpec ascent = p->optimism == 1 ? optim_ogd(0.0f, p->beta, p->adapt_beta ? p->beta_lr : 0.0,
                                                  p->adapt_beta ? p->beta_max : p->beta)
                                      : optim_sgd(0.0f);
  ascent.maximize = 1;
  a->m0 = xcalloc(D, sizeof *a->m0, "extragradient");
  if (optim_init(&a->opt, ascent, D, 1, err, errsz)) {
    ars_free(a);
    return -1;
  }
  a->seen = xcalloc(2 * N, sizeof *a->seen, "rollout statistics");
  for (size_t k = 0; k < 2 * N; k++)
    if (norm_init(&a->seen[k], obs_dim, err, errsz)) {
      ars_free(a);
      return -1;
    }
  return 0;
}

void ars_free(Ars *a) {
  if (a->seen)
    for (int64_t k = 0; k < 2 * a->n; k++) norm_free(&a->seen[k]);
  free(a->seen);
  free(a->delta);
  free(a->ret);
  free(a->ret_task);
  free(a->len);
  free(a->diverged);
  free(a->rank);
  free(a->g);
  free(a->m0);
  optim_free(&a->opt);
  linpolicy_free(&a->policy);
  memset(a, 0, sizeof *a);
}

const LinPolicy *ars_policy(const Ars *a) { return &a->policy; }

void ars_draw(Ars *a) {
  size_t total = (size_t)a->n * (size_t)a->obs_dim * (size_t)a->act_dim;
  for (size_t i = 0; i < total; i++) a->delta[i] = rng_normal(&a->explore);
}

// rollout job 2k + s: direction k, sign + (s = 0) or - (s = 1), from the reset substream
// 1 + j * N + k shared by both signs
static void rollout_job(ArsWorker *w, int64_t job, void *ctx) {
  Ars *a = ctx;
  Env *e = w->env;
  int64_t k = job / 2;
  size_t D = (size_t)a->obs_dim * (size_t)a->act_dim;
  const double *m = a->policy.m, *d = a->delta + (size_t)k * D;
  double nu = job % 2 == 0 ? a->p.noise : -a->p.noise;
  for (size_t i = 0; i < D; i++) w->mat[i] = m[i] + nu * d[i];

  Rng reset;
  rng_init_sub(&reset, a->seed, RNG_STREAM_RESET,
               1 + (uint64_t)a->iteration * (uint64_t)a->n + (uint64_t)k);
  Normalizer *seen = &a->seen[job];
  norm_reset(seen);
  env_reset(e, &reset, w->obs);
  EnvStep st = {0};
  double ret = 0, shifted = 0;
  int len = 0;
  while (!st.terminated && !st.truncated) {
    if (a->p.normalize) norm_update(seen, w->obs);
    linpolicy_act_with(&a->policy, w->mat, w->obs, w->act);
    env_step(e, w->act, w->obs, &st);
    ret += st.reward;
    shifted += st.reward - a->shift;
    len++;
  }
  a->ret[job] = shifted;
  a->ret_task[job] = ret;
  a->len[job] = len;
  a->diverged[job] = st.diverged;
}

void ars_rollouts(Ars *a, ArsPool *pool) {
  const Env *e = pool->w[0].env;
  if (e->obs_dim != a->obs_dim || e->act_dim != a->act_dim) {
    fprintf(stderr, "%s: internal error: pool environment (%d, %d) does not fit the trainer "
            "(%d, %d)\n", fail_prog(), e->obs_dim, e->act_dim, a->obs_dim, a->act_dim);
    abort();
  }
  pool_run(pool, 2 * a->n, rollout_job, a);
}

// a direction and its key max(r+, r-)
typedef struct {
  double key;
  int64_t k;
} Ranked;

// best first, ties (and NaN, ranked last) to the lower direction: a total order, so the ranking
// does not depend on the sort algorithm
static int by_key(const void *x, const void *y) {
  const Ranked *a = x, *b = y;
  int na = isnan(a->key), nb = isnan(b->key);
  if (na != nb) return na - nb;
  if (!na && a->key != b->key) return a->key > b->key ? -1 : 1;
  return (a->k > b->k) - (a->k < b->k);
}

void ars_update(Ars *a) {
  int64_t N = a->n, b = a->b;
  size_t D = (size_t)a->obs_dim * (size_t)a->act_dim;
  Ranked *order = xmalloc((size_t)N, sizeof *order, "ranking");   // (N)
  for (int64_t k = 0; k < N; k++)
    order[k] = (Ranked){fmax(a->ret[2 * k], a->ret[2 * k + 1]), k};
  qsort(order, (size_t)N, sizeof *order, by_key);
  for (int64_t k = 0; k < N; k++) a->rank[k] = order[k].k;
  free(order);
  // sigma_R: population standard deviation of the 2b returns used
  double mean = 0, ss = 0;
  for (int64_t r = 0; r < b; r++) mean += a->ret[2 * a->rank[r]] + a->ret[2 * a->rank[r] + 1];
  mean /= (double)(2 * b);
  for (int64_t r = 0; r < b; r++)
    for (int s = 0; s < 2; s++) {
      double dev = a->ret[2 * a->rank[r] + s] - mean;
      ss += dev * dev;
    }
  a->sigma_r = sqrt(ss / (double)(2 * b));
  if (!isfinite(a->sigma_r))
    fail_diverged("ars: the rollout returns are not finite (their deviation is %g)", a->sigma_r);
  // every return equal: every difference is 0 and there is no step to take
  if (!(a->sigma_r > 0)) return;
  memset(a->g, 0, D * sizeof *a->g);
  for (int64_t r = 0; r < b; r++) {
    int64_t k = a->rank[r];
    double diff = a->ret[2 * k] - a->ret[2 * k + 1];
    const double *d = a->delta + (size_t)k * D;
    for (size_t i = 0; i < D; i++) a->g[i] += diff * d[i];
  }
  // ascent with the step size over b sigma_R
  a->opt.s.lr = a->p.step_size / ((double)b * a->sigma_r);
  optim_step_d(&a->opt, a->policy.m, a->g);
  for (size_t i = 0; i < D; i++)
    if (!isfinite(a->policy.m[i]))
      fail_diverged("ars: policy entry %zu is %g after the step", i, a->policy.m[i]);
}

void ars_merge_stats(Ars *a) {
  if (!a->p.normalize) return;
  for (int64_t job = 0; job < 2 * a->n; job++) norm_merge(&a->policy.norm, &a->seen[job]);
  linpolicy_sync(&a->policy);
}

ArsIterLog ars_iterate(Ars *a, ArsPool *pool) {
  size_t D = (size_t)a->obs_dim * (size_t)a->act_dim;
  int64_t half = 0;   // extragrad: the first round's environment steps
  if (a->p.optimism == 2) {
    // the half step from M_j, then the direction there, applied from M_j
    memcpy(a->m0, a->policy.m, D * sizeof *a->m0);
    ars_draw(a);
    ars_rollouts(a, pool);
    ars_update(a);
    ars_merge_stats(a);
    for (int64_t j = 0; j < 2 * a->n; j++) half += a->len[j];
    ars_draw(a);
    ars_rollouts(a, pool);
    memcpy(a->policy.m, a->m0, D * sizeof *a->m0);
    ars_update(a);
  } else {
    ars_draw(a);
    ars_rollouts(a, pool);
    ars_update(a);
  }
  ars_merge_stats(a);
  a->iteration++;

  ArsIterLog lg = {0};
  lg.steps = half;
  int64_t R = 2 * a->n;
  lg.return_max = -INFINITY;
  for (int64_t j = 0; j < R; j++) {
    lg.steps += a->len[j];
    lg.return_mean += a->ret_task[j];
    lg.return_max = fmax(lg.return_max, a->ret_task[j]);
    lg.diverged += a->diverged[j];
  }
  lg.return_mean /= (double)R;
  for (int64_t j = 0; j < R; j++) {
    double dev = a->ret_task[j] - lg.return_mean;
    lg.return_std += dev * dev;
  }
  lg.return_std = sqrt(lg.return_std / (double)R);
  lg.length_mean = (double)(lg.steps - half) / (double)R;
  lg.sigma_r = a->sigma_r;
  return lg;
}

// M, the explore stream and the iteration count, beside the statistics (ars.norm) and, for ogd,
// the optimiser (ars.opt)
static int fields(const Ars *a, CkptField f[3]) {
  size_t D = (size_t)a->obs_dim * (size_t)a->act_dim;
  f[0] = (CkptField){"m", a->policy.m, D * sizeof *a->policy.m};
  f[1] = (CkptField){"explore", (void *)&a->explore, sizeof a->explore};
  f[2] = (CkptField){"iteration", (void *)&a->iteration, sizeof a->iteration};
  return 3;
}

void ars_save(const Ars *a, CkptWriter *w) {
  CkptField f[3];
  ckpt_put_fields(w, "ars", f, fields(a, f));
  norm_save(&a->policy.norm, w, "ars.norm");
  // ogd's last steps and beta (sgd has no state: plain ARS's checkpoints stay as they were)
  if (a->p.optimism == 1) optim_save(&a->opt, w, "ars.opt");
}

int ars_load(Ars *a, CkptReader *r, char *err, size_t errsz) {
  CkptField f[3];
  if (ckpt_get_fields(r, "ars", f, fields(a, f), err, errsz) ||
      norm_load(&a->policy.norm, r, "ars.norm", err, errsz) ||
      (a->p.optimism == 1 && optim_load(&a->opt, r, "ars.opt", err, errsz)))
    return -1;
  linpolicy_sync(&a->policy);
  return 0;
}
