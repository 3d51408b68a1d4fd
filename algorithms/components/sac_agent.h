// sac_agent: the soft actor-critic learner (networks, optimisers, temperature, one update), shared
// by the sac program and by DeMoRL.
//
// Letters used for shapes: n rows of a query, B rows of an update (sac.batch_size), O observation
// and A action dimensions. Every array is float32 and row-major; actions are in [-1, 1]^A (the
// program maps them onto the task's bounds with action_from_unit, and the replay stores them so).
//
// Networks (ReLU hidden layers, PyTorch's default initialisation, as SB3 and Spinning Up):
//   actor    O -> hidden -> W, and the policy head (sac_policy.h, chosen by sac.policy) turns
//            the row into actions, log pi and the deterministic action; the standard head
//            (gaussian, W = 2A) is a = tanh(mu + exp(log_std) eps), eps ~ N(0, I)
//   critics  (O + A) -> hidden -> 1, twice: one ensemble of E = 2 members, member e is Q_{e+1},
//            so both critics run in one call; critic_targ is their Polyak-averaged copy
//
// One update (sac_agent_update) is four steps, in SB3's order; the gradient computations are
// separate from the optimiser steps so that tests can check them before any step:
//   sac_agent_critic_grad  the target y = r + gamma (1 - terminated) (min(Q1', Q2')(s', a')
//                          - alpha log pi(a'|s')) with a' ~ pi(.|s') (noise eps[1]); the
//                          critic loss 0.5 sum_e mean (Q_e(s, a) - y)^2 and its gradient; and the
//                          candidates a_pi ~ pi(.|s) with log pi (noise eps[0]; one per row but
//                          for a mixture head, sac_policy.h)
//   sac_agent_critic_step  Adam on the critics
//   sac_agent_actor_grad   min(Q1, Q2) at every candidate through the critics as they are now
//                          (updated, within an update); per row the best candidate a*; the actor
//                          loss mean(alpha log pi(a*|s) - min(Q1, Q2)(s, a*)) and its gradient
//                          (with whatever the head trains from the choice); the temperature loss
//                          -log alpha mean(log pi(a*|s) + target) and its gradient
//   sac_agent_actor_step   Adam on log alpha and on the actor, then Polyak averaging of the
//                          target critics
// alpha = exp(log alpha) before this update's temperature step, in the target and the actor loss;
// the target entropy is -A. Only `terminated` stops the bootstrap: a time-limit truncation
// bootstraps. The gradient of min(Q1, Q2) goes to the smaller critic (Q1 on ties).
#ifndef MB_SAC_AGENT_H
#define MB_SAC_AGENT_H

#include <stdint.h>

#include "checkpoint.h"
#include "csvlog.h"
#include "env.h"
#include "nn.h"
#include "optim.h"
#include "replay.h"
#include "rng.h"
#include "sac_params.h"
#include "sac_policy.h"

// Query rows per network pass; larger queries run in chunks of this many.
enum { SAC_QUERY_ROWS = 256 };

// Most diagnostics a policy head reports per update (sac_policy.h's S).
enum { SAC_HEAD_STATS_MAX = 48 };

// What one update measured (means over the batch).
typedef struct {
  double q_loss;       // 0.5 sum_e mean (Q_e(s, a) - y)^2
  double pi_loss;      // mean(alpha log pi(a_pi|s) - min(Q1, Q2)(s, a_pi))
  double alpha_loss;   // -log alpha mean(log pi(a_pi|s) + target entropy)
  double alpha;        // alpha used by this update (before its temperature step)
  double entropy;      // -mean log pi(a_pi|s)
  double q_mean;       // mean of Q1 and Q2 at (s, a)
  double head[SAC_HEAD_STATS_MAX];   // the head's diagnostics (its S names; zeros beyond)
} SacStats;

typedef struct {
  int obs_dim, act_dim;           // O, A
  int B;                          // rows per update
  float gamma, tau, log_std_min, log_std_max;
  float target_entropy;           // -A
  Mlp actor;                      // O -> hidden -> W, the head's output row
  SacPolicy head, qhead;          // the actor's head for updates (B rows) and queries (R rows)
  Mlp critic, critic_targ;        // E = 2: (O + A) -> hidden -> 1
  Optim actor_opt, critic_opt, alpha_opt;   // adam
  float log_alpha[1], log_alpha_g[1];   // the temperature as a one-parameter "network"
  int64_t updates;                // updates done
  // update state, valid after sac_agent_critic_grad (tests read it)
  float alpha;                    // alpha of this update: exp(log alpha) before its step
  float *eps;                     // (2, B, Z) policy noise: rows for s, then rows for s'
  float *a_pi, *logp_pi;          // (B, C, A), (B, C): the candidates a_pi ~ pi(.|s), log pi
  float *value;                   // (B, C) min(Q1, Q2)(s, a_pi), after the critic step
  int *chosen;                    // (B) the candidate of each row the actor loss goes through
  float *a_next, *logp_next;      // (B, A), (B): a' ~ pi(.|s') and log pi(a'|s')
  float *qmin_next;               // (B) min(Q1', Q2')(s', a')
  float *y;                       // (B) critic targets
  // scratch of the update
  float *xq;                      // (2, B, O + A) critic input
  float *dq;                      // (2, B C) dL/dQ
  float *dxq;                     // (2, B C, O + A) dL/d(critic input)
  float *dout;                    // (B, W) dL/d(actor output)
  float *dgate;                   // (B, D) its detached columns
  float *da, *dlogp;              // (B, C, A), (B, C)
  MlpWork aw, cw;                 // the actor's and the critics' passes (B and B C rows)
  // scratch of the queries, R = SAC_QUERY_ROWS
  MlpWork qaw, qcw;               // actor and critics (R rows)
  float *qx;                      // (2, R, O + A) critic input
  float *qeps;                    // (R, Z)
  float *qlogp;                   // (R)
  float *obs1, *act1;             // (O), (A) sac_agent_act1's row
} SacAgent;

// Build the networks from p (weights drawn from `init`; targets copied from the critics), the
// optimisers and log alpha = log(init_alpha). Returns 0 or -1 with err.
int sac_agent_init(SacAgent *a, const SacParams *p, int obs_dim, int act_dim, Rng *init,
                   char *err, size_t errsz);
void sac_agent_free(SacAgent *a);

// Actions for n >= 0 observations obs (n, O) into act (n, A): the head's deterministic action when r is NULL, else
// samples of the policy with Z normals per row (row after row) from r; Z = A for gaussian.
void sac_agent_act(SacAgent *a, const float *obs, float *act, int n, Rng *r);

// The same for one observation in double (an environment's), writing act (A) in double.
void sac_agent_act1(SacAgent *a, const double *obs, double *act, Rng *r);

// Q1 and min(Q1, Q2) at n >= 0 rows of (obs (n, O), act (n, A)) into q (n).
void sac_agent_q1(SacAgent *a, const float *obs, const float *act, int n, float *q);
void sac_agent_qmin(SacAgent *a, const float *obs, const float *act, int n, float *q);

// One update on the first B rows of b (b->B >= B): draws the policy noise from r (2 B Z normals
// into a->eps), then the four steps below. Fills st if not NULL.
void sac_agent_update(SacAgent *a, const ReplayBatch *b, Rng *r, SacStats *st);

// The four steps of an update (see the top). critic_grad uses the noise in a->eps and fills
// q_loss, alpha_loss, alpha, entropy, q_mean; actor_grad fills pi_loss. Gradients are left in
// a->critic.p.g, a->actor.p.g and a->log_alpha_g.
void sac_agent_critic_grad(SacAgent *a, const ReplayBatch *b, SacStats *st);
void sac_agent_critic_step(SacAgent *a);
void sac_agent_actor_grad(SacAgent *a, SacStats *st);
void sac_agent_actor_step(SacAgent *a);

// Save / restore everything that outlives an update (networks, targets, Adam moments and step
// counts, log alpha, the update count) under tags starting with `prefix`.
void sac_agent_save(const SacAgent *a, CkptWriter *w, const char *prefix);
int sac_agent_load(SacAgent *a, CkptReader *r, const char *prefix, char *err, size_t errsz);

// ---- what the programs driving an agent share (sac, demorl) ----

// algo.csv: every log_every updates, the means of their statistics, then the head's (none for
// gaussian): "step,update,q_loss,pi_loss,alpha,entropy,q_mean[,HEAD...],wall_s"
enum { SAC_LOG_STATS = 5 };
typedef struct {
  double sums[SAC_LOG_STATS];   // statistics of the updates since the last row
  int64_t n;
  double head_sums[SAC_HEAD_STATS_MAX];   // the head's (S of them)
} SacLog;

// algo.csv's header for the head of p into buf (n bytes).
void sac_algo_header(const SacParams *p, char *buf, size_t n);

// Add one update's statistics (a->updates already counts it); when a->updates is a multiple of
// log_every, write the row (step, wall_s given) to log and start over.
void sac_log_update(SacLog *l, CsvLog *log, const SacAgent *a, const SacStats *st,
                    int64_t log_every, int64_t step, double wall_s);

// The learner as a program runs it: the agent, its replay buffer (actions in the unit box), one
// minibatch, the streams (seed, RNG_STREAM_EXPLORE) for acting and (seed, RNG_STREAM_REPLAY) for
// minibatch indices and update noise, and the algo.csv accumulator.
typedef struct {
  SacAgent agent;
  Replay replay;
  ReplayBatch batch;
  Rng explore, update;
  SacLog log;
} SacLearner;

// Networks from (seed, RNG_STREAM_INIT), a replay of p->buffer_size rows, a batch of
// p->batch_size. Returns 0, or -1 with err.
int sac_learner_init(SacLearner *l, const SacParams *p, int obs_dim, int act_dim, uint32_t seed,
                     char *err, size_t errsz);
void sac_learner_free(SacLearner *l);
void sac_learner_save(const SacLearner *l, CkptWriter *w);
int sac_learner_load(SacLearner *l, CkptReader *r, char *err, size_t errsz);

// The evaluation policy (the head's deterministic action: tanh(mu) for gaussian), mapped onto env's bounds, as an episodes.h PolicyFn
// (sac_greedy_policy with ctx a SacGreedy).
typedef struct {
  SacAgent *agent;
  const Env *env;
} SacGreedy;
void sac_greedy_policy(void *ctx, const double *obs, double *act);

// The agent as the planner's prior policy (the deterministic action of each row; planner.h PlanPolicyFn) and
// terminal value (Q1 or min(Q1, Q2); PlanValueFn); ctx is the SacAgent.
void sac_prior_fn(void *ctx, const float *obs, float *act, int n);
// the actor's samples a ~ pi(.|obs) (model_weights.h's ModelPolicyFn: TOM's a' and a0)
void sac_sample_fn(void *ctx, const float *obs, float *act, int n, Rng *r);
void sac_q1_fn(void *ctx, const float *obs, const float *act, int n, float *v);
void sac_qmin_fn(void *ctx, const float *obs, const float *act, int n, float *v);

#endif
