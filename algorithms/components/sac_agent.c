// sac_agent: the soft actor-critic learner (see sac_agent.h).
//
// Passes of one update (B rows each): actor forward at s' and at s; target critics forward at
// (s', a'); critics forward and backward (parameters) at (s, a); critics forward and backward
// (input only) at (s, a_pi); actor backward. The twin critics are one E = 2 ensemble, so each of
// their passes is one call; the input-only backward skips the parameter-gradient GEMMs that the
// actor loss does not need.
#include "sac_agent.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "episodes.h"
#include "fail.h"

int sac_params_check(const SacParams *p, char *err, size_t errsz) {
  if (!(p->log_std_min < p->log_std_max))
    return fail_msg(err, errsz, "sac.log_std_min (%g) must be below sac.log_std_max (%g)",
                    p->log_std_min, p->log_std_max);
  return 0;
}

int sac_agent_init(SacAgent *a, const SacParams *p, int obs_dim, int act_dim, Rng *init, char *err,
                   size_t errsz) {
  memset(a, 0, sizeof *a);
  if (sac_params_check(p, err, errsz)) return -1;
  if (obs_dim < 1 || act_dim < 1)
    return fail_msg(err, errsz, "sac: observation size %d and action size %d must be positive",
                    obs_dim, act_dim);
  int O = obs_dim, A = act_dim, H = (int)p->hidden_layers, B = (int)p->batch_size;
  a->obs_dim = O;
  a->act_dim = A;
  a->B = B;
  a->gamma = (float)p->gamma;
  a->tau = (float)p->tau;
  a->log_std_min = (float)p->log_std_min;
  a->log_std_max = (float)p->log_std_max;
  a->target_entropy = (float)-A;
  int as[NN_MAX_LAYERS + 1], cs[NN_MAX_LAYERS + 1];
  as[0] = O;
  cs[0] = O + A;
  for (int l = 1; l <= H; l++) as[l] = cs[l] = (int)p->hidden_size;
  as[H + 1] = sac_policy_out_width(p, A);
  cs[H + 1] = 1;
  if (mlp_init(&a->actor, 1, H + 1, as, NN_RELU, NN_IDENTITY, err, errsz) ||
      mlp_init(&a->critic, 2, H + 1, cs, NN_RELU, NN_IDENTITY, err, errsz) ||
      mlp_init(&a->critic_targ, 2, H + 1, cs, NN_RELU, NN_IDENTITY, err, errsz) ||
      mlp_work_init(&a->aw, &a->actor, B, err, errsz) ||
      mlp_work_init(&a->cw, &a->critic, B * sac_policy_candidates(p), err, errsz) ||
      mlp_work_init(&a->qaw, &a->actor, SAC_QUERY_ROWS, err, errsz) ||
      mlp_work_init(&a->qcw, &a->critic, SAC_QUERY_ROWS, err, errsz) ||
      sac_policy_init(&a->head, p, A, B, err, errsz) ||
      sac_policy_init(&a->qhead, p, A, SAC_QUERY_ROWS, err, errsz) ||
      optim_init(&a->actor_opt, p->actor_optimizer ? optim_oadam((float)p->actor_lr)
                                                    : optim_adam((float)p->actor_lr),
                 a->actor.p.n, 0, err, errsz) ||
      optim_init(&a->critic_opt, optim_adam((float)p->critic_lr), a->critic.p.n, 0, err, errsz) ||
      optim_init(&a->alpha_opt, optim_adam((float)p->alpha_lr), 1, 0, err, errsz)) {
    sac_agent_free(a);
    return -1;
  }
  mlp_init_weights(&a->actor, NN_INIT_TORCH, init);
  mlp_init_weights(&a->critic, NN_INIT_TORCH, init);
  nn_copy(&a->critic_targ.p, &a->critic.p);
  a->log_alpha[0] = (float)log(p->init_alpha);
  a->alpha = (float)p->init_alpha;

  size_t b = (size_t)B, ba = b * A, r = SAC_QUERY_ROWS;
  size_t W = (size_t)a->head.W, Z = (size_t)a->head.Z, C = (size_t)a->head.C;
  size_t bc = b * C, bcw = bc * (O + A);   // the actor loss's candidate rows
  a->eps = xmalloc(2 * b * Z, sizeof(float), "sac update");
  a->a_pi = xmalloc(bc * A, sizeof(float), "sac update");
  a->logp_pi = xmalloc(bc, sizeof(float), "sac update");
  a->value = xmalloc(bc, sizeof(float), "sac update");
  a->chosen = xmalloc(b, sizeof(int), "sac update");
  a->dgate = xmalloc(b * (size_t)(a->head.D ? a->head.D : 1), sizeof(float), "sac update");
  a->a_next = xmalloc(ba, sizeof(float), "sac update");
  a->logp_next = xmalloc(b, sizeof(float), "sac update");
  a->qmin_next = xmalloc(b, sizeof(float), "sac update");
  a->y = xmalloc(b, sizeof(float), "sac update");
  a->xq = xmalloc(2 * bcw, sizeof(float), "sac update");
  a->dq = xmalloc(2 * bc, sizeof(float), "sac update");
  a->dxq = xmalloc(2 * bcw, sizeof(float), "sac update");
  a->dout = xmalloc(b * W, sizeof(float), "sac update");
  a->da = xmalloc(bc * A, sizeof(float), "sac update");
  a->dlogp = xmalloc(bc, sizeof(float), "sac update");
  a->qx = xmalloc(2 * r * (O + A), sizeof(float), "sac query");
  a->qeps = xmalloc(r * Z, sizeof(float), "sac query");
  a->qlogp = xmalloc(r, sizeof(float), "sac query");
  a->obs1 = xmalloc((size_t)O, sizeof(float), "sac query");
  a->act1 = xmalloc((size_t)A, sizeof(float), "sac query");
  return 0;
}

void sac_agent_free(SacAgent *a) {
  float *arrays[] = {a->eps,   a->a_pi,  a->logp_pi, a->a_next, a->logp_next, a->qmin_next,
                     a->y,     a->xq,    a->dq,      a->dxq,    a->dout,      a->da,
                     a->dlogp, a->qx,    a->qeps,    a->qlogp,  a->obs1,      a->act1,
                     a->value, a->dgate};
  for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++) free(arrays[k]);
  free(a->chosen);
  mlp_work_free(&a->aw);
  mlp_work_free(&a->cw);
  mlp_work_free(&a->qaw);
  mlp_work_free(&a->qcw);
  sac_policy_free(&a->head);
  sac_policy_free(&a->qhead);
  optim_free(&a->actor_opt);
  optim_free(&a->critic_opt);
  optim_free(&a->alpha_opt);
  mlp_free(&a->actor);
  mlp_free(&a->critic);
  mlp_free(&a->critic_targ);
  memset(a, 0, sizeof *a);
}

// ---- network pieces ----

// x (members, n C, O + A): the rows [obs_i, act_(i C + k)] for k < C, repeated for each member
static void critic_input_each(float *x, const float *obs, const float *act, int n, int C, int O,
                              int A, int members) {
  size_t W = (size_t)(O + A), rows = (size_t)n * C;
  for (size_t b = 0; b < rows; b++) {
    memcpy(x + b * W, obs + b / C * O, (size_t)O * sizeof *x);
    memcpy(x + b * W + O, act + b * A, (size_t)A * sizeof *x);
  }
  for (int e = 1; e < members; e++) memcpy(x + e * rows * W, x, rows * W * sizeof *x);
}

// x (members, n, O + A): the rows [obs, act], repeated for each member
static void critic_input(float *x, const float *obs, const float *act, int n, int O, int A,
                         int members) {
  critic_input_each(x, obs, act, n, 1, O, A, members);
}

// ---- queries ----

void sac_agent_act(SacAgent *a, const float *obs, float *act, int n, Rng *r) {
  int O = a->obs_dim, A = a->act_dim;
  for (int s = 0; s < n; s += SAC_QUERY_ROWS) {
    int m = n - s < SAC_QUERY_ROWS ? n - s : SAC_QUERY_ROWS;
    const float *out = mlp_forward(&a->actor, &a->qaw, obs + (size_t)s * O, m);
    float *as = act + (size_t)s * A;
    if (!r) {
      a->qhead.ops->act(&a->qhead, out, m, as);
    } else {
      rng_fill_normalf(r, a->qeps, (size_t)m * a->qhead.Z, 0.0f, 1.0f);
      a->qhead.ops->sample(&a->qhead, out, a->qeps, m, as, a->qlogp);
    }
  }
}

void sac_agent_act1(SacAgent *a, const double *obs, double *act, Rng *r) {
  for (int j = 0; j < a->obs_dim; j++) a->obs1[j] = (float)obs[j];
  sac_agent_act(a, a->obs1, a->act1, 1, r);
  for (int j = 0; j < a->act_dim; j++) act[j] = a->act1[j];
}

void sac_agent_q1(SacAgent *a, const float *obs, const float *act, int n, float *q) {
  int O = a->obs_dim, A = a->act_dim;
  for (int s = 0; s < n; s += SAC_QUERY_ROWS) {
    int m = n - s < SAC_QUERY_ROWS ? n - s : SAC_QUERY_ROWS;
    critic_input(a->qx, obs + (size_t)s * O, act + (size_t)s * A, m, O, A, 1);
    memcpy(q + s, mlp_member_forward(&a->critic, 0, &a->qcw, a->qx, m), (size_t)m * sizeof *q);
  }
}

void sac_agent_qmin(SacAgent *a, const float *obs, const float *act, int n, float *q) {
  int O = a->obs_dim, A = a->act_dim;
  for (int s = 0; s < n; s += SAC_QUERY_ROWS) {
    int m = n - s < SAC_QUERY_ROWS ? n - s : SAC_QUERY_ROWS;
    critic_input(a->qx, obs + (size_t)s * O, act + (size_t)s * A, m, O, A, 2);
    const float *y = mlp_forward(&a->critic, &a->qcw, a->qx, m);   // (2, m)
    for (int i = 0; i < m; i++) q[s + i] = fminf(y[i], y[m + i]);
  }
}

// ---- the update ----

// actor pass at obs (B, O) with noise eps (B, Z): one action per row, act (B, A) and logp (B)
static void policy_sample(SacAgent *a, const float *obs, const float *eps, float *act,
                          float *logp) {
  const float *out = mlp_forward(&a->actor, &a->aw, obs, a->B);
  a->head.ops->sample(&a->head, out, eps, a->B, act, logp);
}

void sac_agent_critic_grad(SacAgent *a, const ReplayBatch *b, SacStats *st) {
  int B = a->B, O = a->obs_dim, A = a->act_dim;
  assert(b->B >= B);
  a->alpha = (float)exp((double)a->log_alpha[0]);
  double alpha = a->alpha, gamma = a->gamma;

  // target: a' ~ pi(.|s') from the current actor, values from the target critics
  policy_sample(a, b->next_obs, a->eps + (size_t)B * a->head.Z, a->a_next, a->logp_next);
  critic_input(a->xq, b->next_obs, a->a_next, B, O, A, 2);
  const float *qt = mlp_forward(&a->critic_targ, &a->cw, a->xq, B);   // (2, B)
  for (int i = 0; i < B; i++) {
    a->qmin_next[i] = fminf(qt[i], qt[B + i]);
    // only termination stops the bootstrap; a truncated episode goes on in value
    double soft = (double)a->qmin_next[i] - alpha * a->logp_next[i];
    a->y[i] = (float)(b->rew[i] + gamma * (1.0 - b->term[i]) * soft);
  }

  // the candidates a_pi ~ pi(.|s) (one but for mixtures); this pass stays in a->aw and the head
  // for the actor loss
  const float *out = mlp_forward(&a->actor, &a->aw, b->obs, B);
  a->head.ops->sample_all(&a->head, out, a->eps, B, a->a_pi, a->logp_pi);

  // critics at the replayed (s, a): dL/dQ_e = (Q_e - y) / B
  critic_input(a->xq, b->obs, b->act, B, O, A, 2);
  const float *q = mlp_forward(&a->critic, &a->cw, a->xq, B);   // (2, B)
  double sq = 0.0, qsum = 0.0;
  for (int e = 0; e < 2; e++)
    for (int i = 0; i < B; i++) {
      double d = (double)q[e * B + i] - a->y[i];
      sq += d * d;
      qsum += q[e * B + i];
      a->dq[e * B + i] = (float)(d / B);
    }
  nn_zero_grad(&a->critic.p);
  mlp_backward(&a->critic, &a->cw, a->dq, NULL);

  if (st) {
    st->q_loss = 0.5 * sq / B;
    st->alpha = alpha;
    st->q_mean = qsum / (2.0 * B);
  }
}

void sac_agent_critic_step(SacAgent *a) {
  optim_step(&a->critic_opt, a->critic.p.w, a->critic.p.g);
}

void sac_agent_actor_grad(SacAgent *a, SacStats *st) {
  int B = a->B, O = a->obs_dim, A = a->act_dim, W = O + A, C = a->head.C, n = B * C;
  double alpha = a->alpha;

  // critics at (s, a_pi) for every candidate; s is the actor pass's copy of its input
  critic_input_each(a->xq, a->aw.x, a->a_pi, B, C, O, A, 2);
  const float *q = mlp_forward(&a->critic, &a->cw, a->xq, n);   // (2, B C)
  for (int r = 0; r < n; r++) a->value[r] = fminf(q[r], q[n + r]);
  // the loss goes through the best candidate of each row (ties to the first)
  for (int i = 0; i < B; i++) {
    int best = 0;
    for (int k = 1; k < C; k++) best = a->value[i * C + k] > a->value[i * C + best] ? k : best;
    a->chosen[i] = best;
  }
  memset(a->dq, 0, 2 * (size_t)n * sizeof *a->dq);
  memset(a->dlogp, 0, (size_t)n * sizeof *a->dlogp);
  double loss = 0.0, logp_sum = 0.0;
  float inv_b = 1.0f / (float)B;
  for (int i = 0; i < B; i++) {
    int r = i * C + a->chosen[i];
    // the gradient of the minimum goes to the smaller critic (Q1 on ties)
    int first = q[r] <= q[n + r];
    loss += alpha * a->logp_pi[r] - (first ? q[r] : q[n + r]);
    logp_sum += a->logp_pi[r];
    a->dq[r] = first ? -inv_b : 0.0f;
    a->dq[n + r] = first ? 0.0f : -inv_b;
    a->dlogp[r] = (float)(alpha / B);
  }
  mlp_backward_input(&a->critic, &a->cw, a->dq, a->dxq);
  for (int r = 0; r < n; r++)
    for (int j = 0; j < A; j++)
      a->da[r * A + j] = a->dxq[(size_t)r * W + O + j] + a->dxq[(size_t)(n + r) * W + O + j];

  // through the head's sample at s; columns behind a stop-gradient train the last layer only
  const float *out = a->aw.h[a->actor.nlayers - 1];   // (B, W) raw output of the pass at s
  double head_stats[SAC_HEAD_STATS_MAX] = {0};
  int Wa = a->head.W, D = a->head.D;
  a->head.ops->backward(&a->head, out, a->da, a->dlogp, a->chosen, a->value, B, a->dout,
                        head_stats);
  for (int i = 0; i < B && D; i++) {
    float *row = a->dout + (size_t)i * Wa + (Wa - D);
    memcpy(a->dgate + (size_t)i * D, row, (size_t)D * sizeof *row);
    memset(row, 0, (size_t)D * sizeof *row);
  }
  nn_zero_grad(&a->actor.p);
  mlp_backward(&a->actor, &a->aw, a->dout, NULL);
  if (D) mlp_last_columns_backward(&a->actor, &a->aw, Wa - D, D, a->dgate);

  // temperature loss -log alpha (log pi + target) at the chosen candidates (log pi a constant)
  double logp_mean = logp_sum / B;
  a->log_alpha_g[0] = (float)-(logp_mean + a->target_entropy);
  if (st) {
    st->pi_loss = loss / B;
    st->alpha_loss = -(double)a->log_alpha[0] * (logp_mean + a->target_entropy);
    st->entropy = -logp_mean;
    memcpy(st->head, head_stats, sizeof st->head);
  }
}

void sac_agent_actor_step(SacAgent *a) {
  optim_step(&a->alpha_opt, a->log_alpha, a->log_alpha_g);
  optim_step(&a->actor_opt, a->actor.p.w, a->actor.p.g);
  nn_polyak(&a->critic_targ.p, &a->critic.p, a->tau);
  a->updates++;
}

void sac_agent_update(SacAgent *a, const ReplayBatch *b, Rng *r, SacStats *st) {
  SacStats own;   // the losses are checked even when the caller wants no statistics
  if (!st) st = &own;
  rng_fill_normalf(r, a->eps, 2 * (size_t)a->B * a->head.Z, 0.0f, 1.0f);
  sac_agent_critic_grad(a, b, st);
  sac_agent_critic_step(a);
  sac_agent_actor_grad(a, st);
  sac_agent_actor_step(a);
  // a non-finite loss means non-finite parameters from here on: nothing later is a result
  if (!isfinite(st->q_loss) || !isfinite(st->pi_loss) || !isfinite(st->alpha_loss))
    fail_diverged("sac: update %lld: critic loss %g, actor loss %g, temperature loss %g",
                  (long long)a->updates, st->q_loss, st->pi_loss, st->alpha_loss);
}

// ---- checkpoints ----

// everything that outlives an update: the fields, and the optimisers under their own names
static int fields(const SacAgent *a, CkptField f[5]) {
  int k = 0;
  f[k++] = (CkptField){"actor", a->actor.p.w, a->actor.p.n * sizeof(float)};
  f[k++] = (CkptField){"critic", a->critic.p.w, a->critic.p.n * sizeof(float)};
  f[k++] = (CkptField){"critic_targ", a->critic_targ.p.w, a->critic_targ.p.n * sizeof(float)};
  f[k++] = (CkptField){"log_alpha", (void *)a->log_alpha, sizeof a->log_alpha};
  f[k++] = (CkptField){"updates", (void *)&a->updates, sizeof a->updates};
  return k;
}

static const char *const OPT_NAMES[3] = {"actor_opt", "critic_opt", "alpha_opt"};

static void optimisers(const SacAgent *a, Optim *o[3]) {
  o[0] = (Optim *)&a->actor_opt;
  o[1] = (Optim *)&a->critic_opt;
  o[2] = (Optim *)&a->alpha_opt;
}

void sac_agent_save(const SacAgent *a, CkptWriter *w, const char *prefix) {
  char tag[128];
  CkptField f[5];
  Optim *o[3];
  ckpt_put_fields(w, prefix, f, fields(a, f));
  optimisers(a, o);
  for (int k = 0; k < 3; k++) {
    ckpt_tag(tag, sizeof tag, prefix, OPT_NAMES[k]);
    optim_save(o[k], w, tag);
  }
}

int sac_agent_load(SacAgent *a, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  char tag[128];
  CkptField f[5];
  Optim *o[3];
  if (ckpt_get_fields(r, prefix, f, fields(a, f), err, errsz)) return -1;
  optimisers(a, o);
  for (int k = 0; k < 3; k++) {
    ckpt_tag(tag, sizeof tag, prefix, OPT_NAMES[k]);
    if (optim_load(o[k], r, tag, err, errsz)) return -1;
  }
  return 0;
}

// ---- what the programs driving an agent share ----

void sac_algo_header(const SacParams *p, char *buf, size_t n) {
  char head[SAC_HEAD_STATS_MAX * 24] = "";
  sac_policy_stat_names(p, head, sizeof head);
  snprintf(buf, n, "step,update,q_loss,pi_loss,alpha,entropy,q_mean%s%s,wall_s", *head ? "," : "",
           head);
}

void sac_log_update(SacLog *l, CsvLog *log, const SacAgent *a, const SacStats *st,
                    int64_t log_every, int64_t step, double wall_s) {
  const double v[SAC_LOG_STATS] = {st->q_loss, st->pi_loss, st->alpha, st->entropy, st->q_mean};
  int S = a->head.S;
  for (int k = 0; k < SAC_LOG_STATS; k++) l->sums[k] += v[k];
  for (int k = 0; k < S; k++) l->head_sums[k] += st->head[k];
  l->n++;
  if (a->updates % log_every != 0) return;
  csv_i(log, step);
  csv_i(log, a->updates);
  for (int k = 0; k < SAC_LOG_STATS; k++) {
    csv_d(log, l->sums[k] / (double)l->n);
    l->sums[k] = 0.0;
  }
  for (int k = 0; k < S; k++) {
    csv_d(log, l->head_sums[k] / (double)l->n);
    l->head_sums[k] = 0.0;
  }
  csv_d(log, wall_s);
  csv_end(log);
  l->n = 0;
}

int sac_learner_init(SacLearner *l, const SacParams *p, int obs_dim, int act_dim, uint32_t seed,
                     char *err, size_t errsz) {
  memset(l, 0, sizeof *l);
  Rng init;
  rng_init(&init, seed, RNG_STREAM_INIT);
  if (sac_agent_init(&l->agent, p, obs_dim, act_dim, &init, err, errsz) ||
      replay_init(&l->replay, (size_t)p->buffer_size, obs_dim, act_dim, err, errsz) ||
      replay_batch_init(&l->batch, (int)p->batch_size, obs_dim, act_dim, err, errsz))
    return -1;
  rng_init(&l->explore, seed, RNG_STREAM_EXPLORE);
  rng_init(&l->update, seed, RNG_STREAM_REPLAY);
  return 0;
}

void sac_learner_free(SacLearner *l) {
  replay_batch_free(&l->batch);
  replay_free(&l->replay);
  sac_agent_free(&l->agent);
}

// the learner's own fields, beside its agent and replay (the head's sums only when it has any)
static int learner_fields(const SacLearner *l, CkptField f[5]) {
  f[0] = (CkptField){"rng.explore", (void *)&l->explore, sizeof l->explore};
  f[1] = (CkptField){"rng.update", (void *)&l->update, sizeof l->update};
  f[2] = (CkptField){"algo.sums", (void *)l->log.sums, sizeof l->log.sums};
  f[3] = (CkptField){"algo.count", (void *)&l->log.n, sizeof l->log.n};
  f[4] = (CkptField){"algo.head_sums", (void *)l->log.head_sums,
                     (size_t)l->agent.head.S * sizeof *l->log.head_sums};
  return l->agent.head.S ? 5 : 4;
}

void sac_learner_save(const SacLearner *l, CkptWriter *w) {
  CkptField f[5];
  sac_agent_save(&l->agent, w, "sac");
  replay_save(&l->replay, w, "replay");
  ckpt_put_fields(w, "", f, learner_fields(l, f));
}

int sac_learner_load(SacLearner *l, CkptReader *r, char *err, size_t errsz) {
  CkptField f[5];
  return sac_agent_load(&l->agent, r, "sac", err, errsz) ||
                 replay_load(&l->replay, r, "replay", err, errsz) ||
                 ckpt_get_fields(r, "", f, learner_fields(l, f), err, errsz)
             ? -1
             : 0;
}

void sac_greedy_policy(void *ctx, const double *obs, double *act) {
  SacGreedy *g = ctx;
  sac_agent_act1(g->agent, obs, act, NULL);   // in the unit box, then mapped in place
  action_from_unit(g->env, act, act);
}

void sac_prior_fn(void *ctx, const float *obs, float *act, int n) {
  sac_agent_act(ctx, obs, act, n, NULL);
}

void sac_sample_fn(void *ctx, const float *obs, float *act, int n, Rng *r) {
  sac_agent_act(ctx, obs, act, n, r);
}

void sac_q1_fn(void *ctx, const float *obs, const float *act, int n, float *v) {
  sac_agent_q1(ctx, obs, act, n, v);
}

void sac_qmin_fn(void *ctx, const float *obs, const float *act, int n, float *v) {
  sac_agent_qmin(ctx, obs, act, n, v);
}
