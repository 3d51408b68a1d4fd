// bench_sac: time of one SAC update (sac_agent_update) at HalfCheetah's sizes (observation 17,
// action 6) with the default 256x256 networks and batch 256, as a fraction of its GEMM-bound
// limit: the update's GEMM flops at this machine's single-thread sgemm peak, measured in the same
// run.
//
// GEMM flops counted (2 B I O per layer and member for each product; the critics are 2 members):
//   actor forward at s' and at s                        2 forwards
//   target critics forward at (s', a')                  1 forward
//   critics at (s, a): forward, dW, dx but the first    3 passes, less the first layer's dx
//   critics at (s, a_pi): forward, dx (no dW)           2 passes
//   actor backward: dW, dx but the first                2 passes, less the first layer's dx
// Everything else (activations, the policy's distribution, Adam, Polyak, copies) counts as
// overhead against the limit.
#include <stdio.h>
#include <stdlib.h>

#include "fail.h"
#include "nn.h"
#include "peak.h"
#include "replay.h"
#include "rng.h"
#include "sac_agent.h"

enum { OBS = 17, ACT = 6 };

// flops of one product per layer over m's layers from `first` on, for B rows
static double pass_flops(const Mlp *m, int B, int first) {
  double f = 0.0;
  for (int l = first; l < m->nlayers; l++)
    f += 2.0 * m->E * (double)B * m->layer[l].in * m->layer[l].out;
  return f;
}

static double update_flops(const SacAgent *a) {
  int B = a->B;
  double actor = pass_flops(&a->actor, B, 0), critic = pass_flops(&a->critic, B, 0);
  double actor_dx = pass_flops(&a->actor, B, 1), critic_dx = pass_flops(&a->critic, B, 1);
  return 2 * actor + critic + (2 * critic + critic_dx) + 2 * critic + (actor + actor_dx);
}

typedef struct {
  SacAgent a;
  ReplayBatch b;
  Rng r;
} Bench;

static void run_update(void *ctx) {
  Bench *s = ctx;
  sac_agent_update(&s->a, &s->b, &s->r, NULL);
}

static void run_critic_grad(void *ctx) {
  Bench *s = ctx;
  sac_agent_critic_grad(&s->a, &s->b, NULL);
}

static void run_actor_grad(void *ctx) {
  Bench *s = ctx;
  sac_agent_actor_grad(&s->a, NULL);
}

static void run_steps(void *ctx) {
  Bench *s = ctx;
  sac_agent_critic_step(&s->a);
  sac_agent_actor_step(&s->a);
}

int main(int argc, char **argv) {
  (void)argc;
  Rng r;
  double peak = bench_start(argv[0], &r);

  // the default [sac] table on a random batch
  Config cfg;
  SacParams p;
  cfg_init(&cfg);
  sac_params_register(&cfg, "sac", &p);
  cfg_free(&cfg);
  Bench s;
  char err[256];
  Rng init;
  rng_init(&init, 1, RNG_STREAM_INIT);
  if (sac_agent_init(&s.a, &p, OBS, ACT, &init, err, sizeof err) ||
      replay_batch_init(&s.b, (int)p.batch_size, OBS, ACT, err, sizeof err))
    fail_run("%s", err);
  size_t B = (size_t)p.batch_size;
  rng_fill_uniformf(&r, s.b.obs, B * OBS, -1.0f, 1.0f);
  rng_fill_uniformf(&r, s.b.next_obs, B * OBS, -1.0f, 1.0f);
  rng_fill_uniformf(&r, s.b.act, B * ACT, -1.0f, 1.0f);
  rng_fill_uniformf(&r, s.b.rew, B, -1.0f, 1.0f);
  for (size_t i = 0; i < B; i++) s.b.term[i] = s.b.trunc[i] = 0.0f;
  rng_init(&s.r, 1, RNG_STREAM_REPLAY);

  double flops = update_flops(&s.a), limit = flops / (peak * 1e9);
  double t = best_time(run_update, &s);
  printf("SAC update, obs %d act %d, %lldx%lld ReLU, batch %lld: %.1f MFLOP of GEMMs\n", OBS, ACT,
         (long long)p.hidden_size, (long long)p.hidden_size, (long long)p.batch_size,
         flops * 1e-6);
  printf("  %-28s %8.3f ms\n", "update", t * 1e3);
  printf("  %-28s %8.3f ms\n", "GEMM-bound limit", limit * 1e3);
  // the parts (critic_grad leaves the state actor_grad needs; steps are Adam and Polyak)
  double tc = best_time(run_critic_grad, &s), ta = best_time(run_actor_grad, &s),
         ts = best_time(run_steps, &s);
  printf("  %-28s %8.3f ms\n", "  critic gradient", tc * 1e3);
  printf("  %-28s %8.3f ms\n", "  actor and alpha gradients", ta * 1e3);
  printf("  %-28s %8.3f ms\n", "  Adam steps and Polyak", ts * 1e3);
  double frac = limit / t;
  printf("\nSAC update target: 50%% of the GEMM-bound limit, measured %.1f%% (%.1f GFLOP/s)%s\n",
         100.0 * frac, flops / t * 1e-9, frac >= 0.5 ? "" : " (below target)");

  // the mixture-of-experts head at the same sizes: its actor loss runs both critics (forward and
  // input backward) on K B rows instead of B
  printf("\nPMOE head (sac.policy=pmoe) against the gaussian head, same sizes, same run:\n");
  for (int K = 2; K <= 8; K *= 2) {
    Bench m = {.b = s.b};
    SacParams q = p;
    q.policy = 1;
    q.experts = K;
    rng_init(&init, 1, RNG_STREAM_INIT);
    if (sac_agent_init(&m.a, &q, OBS, ACT, &init, err, sizeof err)) fail_run("%s", err);
    rng_init(&m.r, 1, RNG_STREAM_REPLAY);
    double tm = best_time(run_update, &m), tmc = best_time(run_critic_grad, &m),
           tma = best_time(run_actor_grad, &m);
    printf("  K = %d: update %8.3f ms = %.2fx the gaussian's (critic gradient %.3f ms, actor "
           "gradient %.3f ms)\n",
           K, tm * 1e3, tm / t, tmc * 1e3, tma * 1e3);
    sac_agent_free(&m.a);
  }
  replay_batch_free(&s.b);
  sac_agent_free(&s.a);
  return EXIT_OK;
}
