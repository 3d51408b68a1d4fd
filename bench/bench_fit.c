// bench_fit: what TOM's weighting adds to a round of MBPO (one model fit and the 250 steps of SAC
// updates it serves), at Hopper's sizes (observation 11, action 3) and the defaults of the suite
// (the ensemble: 7 members of 4 x 200 Swish, minibatch 256; SAC 256 x 256, batch 256; TOM's dual
// 256 x 256, 1000 steps of 256; its discriminator, 100 epochs of 4 steps of 256 pairs).
//
// Each part's unit is timed here (best of several timings) and the round is composed from the
// authors' counts: the fit as the TOM code's cap, 30 epochs x 100 minibatches = 3000 ensemble
// minibatch steps (the suite's fit stops earlier or later by its holdout: the cap is the fair
// common budget); SAC 5 updates per step x 250 steps = 1250 updates; TOM: 1000 dual steps, one pass
// of the weights over a buffer of N = 1e5 transitions (a' ~ pi and the dual at (s, a) and
// (s', a')): tom-binary's cost; `tom` adds its discriminator, 100 epochs x 4 steps of 256 pairs
// on a recent pool of 1000 and its logit on the N transitions. The ratio (round with TOM) /
// (round without) is the figure seed-variants.md estimates at 1.15-1.25.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ensemble.h"
#include "fail.h"
#include "peak.h"
#include "sac_agent.h"
#include "tom_disc.h"
#include "tom_dual.h"

enum { OBS = 11, ACT = 3, B = 256, NBUF = 100000, PASS = 4096, DROWS = 1024 };

typedef struct {
  Ensemble m;
  float *x, *y;          // (E, B, O + A), (E, B, 1 + O)
  SacAgent sac;
  ReplayBatch b;
  Rng r;
  TomDual dual;
  float *s0, *a0, *s, *a, *rw, *term, *s2, *a2, *e;   // one dual batch; PASS rows for the pass
  TomDisc disc;
  float *xc, *xd, *lg;   // (DROWS, 2 OBS + ACT) rows (s, a, s') of each kind, (DROWS) logits
} Bench;

static void run_minibatch(void *ctx) {
  Bench *k = ctx;
  ensemble_batch_loss(&k->m, k->x, k->y, B, NULL);
  optim_step(&k->m.opt, k->m.net.p.w, k->m.net.p.g);
}

static void run_sac(void *ctx) {
  Bench *k = ctx;
  sac_agent_update(&k->sac, &k->b, &k->r, NULL);
}

static void run_dual(void *ctx) {
  Bench *k = ctx;
  sac_agent_act(&k->sac, k->s0, k->a0, B, &k->r);   // a0 ~ pi(.|s0), a' ~ pi(.|s')
  sac_agent_act(&k->sac, k->s2, k->a2, B, &k->r);
  tom_dual_step(&k->dual, k->s0, k->a0, B, k->s, k->a, k->rw, k->term, k->s2, k->a2, B);
}

// PASS transitions of the weights' pass: a' ~ pi(.|s'), then the residuals
static void run_pass(void *ctx) {
  Bench *k = ctx;
  sac_agent_act(&k->sac, k->s2, k->a2, PASS, &k->r);
  tom_dual_residual(&k->dual, k->s, k->a, k->rw, k->term, k->s2, k->a2, PASS, k->e);
}

// one discriminator step: B recent rows against B replay rows, penalty included
static void run_disc(void *ctx) {
  Bench *k = ctx;
  tom_disc_step(&k->disc, k->xc, k->xd, B, 0.1, 10.0, &k->r);
}

// DROWS logits (the reward of DROWS transitions)
static void run_logit(void *ctx) {
  Bench *k = ctx;
  tom_disc_logit(&k->disc, k->xd, DROWS, k->lg);
}

int main(int argc, char **argv) {
  (void)argc;
  Rng r;
  double peak = bench_start(argv[0], &r);
  char err[4400];
  Config cfg;
  EnsembleParams ep;
  SacParams sp;
  WeightsParams wp;
  cfg_init(&cfg);
  ensemble_params_register(&cfg, "ensemble", &ep);
  sac_params_register(&cfg, "sac", &sp);
  weights_params_register(&cfg, "weights", &wp);
  cfg_free(&cfg);
  Bench k;
  Rng init;
  rng_init(&init, 1, RNG_STREAM_INIT);
  if (ensemble_init(&k.m, &ep, OBS, ACT, &init, err, sizeof err) ||
      sac_agent_init(&k.sac, &sp, OBS, ACT, &init, err, sizeof err) ||
      replay_batch_init(&k.b, B, OBS, ACT, err, sizeof err) ||
      tom_dual_init(&k.dual, OBS, ACT, (int)wp.q_hidden, (int)wp.q_batch, wp.q_lr, wp.q_l2,
                    wp.gamma, TOM_F_CHI, &init, err, sizeof err) ||
      tom_disc_init(&k.disc, OBS, ACT, (int)wp.disc_hidden, wp.disc_lr, DROWS, &init, err,
                    sizeof err))
    fail_run("%s", err);
  size_t XP = (size_t)DROWS * (2 * OBS + ACT);
  k.xc = xmalloc(XP, sizeof *k.xc, "bench");
  k.xd = xmalloc(XP, sizeof *k.xd, "bench");
  k.lg = xmalloc(DROWS, sizeof *k.lg, "bench");
  rng_fill_uniformf(&r, k.xc, XP, -1.0f, 1.0f);
  rng_fill_uniformf(&r, k.xd, XP, -1.0f, 1.0f);
  size_t E = (size_t)ep.members;
  k.x = xmalloc(E * B * (OBS + ACT), sizeof *k.x, "bench");
  k.y = xmalloc(E * B * (1 + OBS), sizeof *k.y, "bench");
  rng_fill_uniformf(&r, k.x, E * B * (OBS + ACT), -1.0f, 1.0f);
  rng_fill_uniformf(&r, k.y, E * B * (1 + OBS), -1.0f, 1.0f);
  rng_fill_uniformf(&r, k.b.obs, (size_t)B * OBS, -1.0f, 1.0f);
  rng_fill_uniformf(&r, k.b.next_obs, (size_t)B * OBS, -1.0f, 1.0f);
  rng_fill_uniformf(&r, k.b.act, (size_t)B * ACT, -1.0f, 1.0f);
  rng_fill_uniformf(&r, k.b.rew, B, -1.0f, 1.0f);
  for (int i = 0; i < B; i++) k.b.term[i] = k.b.trunc[i] = 0.0f;
  float **bufs[] = {&k.s0, &k.s, &k.s2};
  for (int j = 0; j < 3; j++) {
    *bufs[j] = xmalloc((size_t)PASS * OBS, sizeof(float), "bench");
    rng_fill_uniformf(&r, *bufs[j], (size_t)PASS * OBS, -1.0f, 1.0f);
  }
  k.a0 = xmalloc((size_t)PASS * ACT, sizeof(float), "bench");
  k.a = xmalloc((size_t)PASS * ACT, sizeof(float), "bench");
  k.a2 = xmalloc((size_t)PASS * ACT, sizeof(float), "bench");
  rng_fill_uniformf(&r, k.a, (size_t)PASS * ACT, -1.0f, 1.0f);
  k.rw = xmalloc(PASS, sizeof(float), "bench");
  k.term = xmalloc(PASS, sizeof(float), "bench");
  k.e = xmalloc(PASS, sizeof(float), "bench");
  for (int i = 0; i < PASS; i++) k.rw[i] = (float)(i % 2), k.term[i] = 0.0f;
  rng_init(&k.r, 1, RNG_STREAM_REPLAY);

  double t_mb = best_time(run_minibatch, &k), t_sac = best_time(run_sac, &k);
  double t_dual = best_time(run_dual, &k), t_pass = best_time(run_pass, &k) / PASS;
  double t_disc = best_time(run_disc, &k), t_logit = best_time(run_logit, &k) / DROWS;
  double fit = 3000 * t_mb, sac = 1250 * t_sac;
  double dual = (double)wp.q_steps * t_dual, pass = NBUF * t_pass;
  long dsteps = (long)wp.disc_epochs * ((wp.recent + wp.disc_batch - 1) / wp.disc_batch);
  double disc = (double)dsteps * t_disc + NBUF * t_logit;
  double base = fit + sac, with = base + dual + pass, with_disc = with + disc;
  printf("MBPO round at Hopper's sizes (observation %d, action %d; sgemm peak %.1f GFLOP/s):\n",
         OBS, ACT, peak);
  printf("  %-44s %9.3f ms  x 3000 = %8.2f s\n", "ensemble minibatch (7 x 4x200 Swish, 256)",
         t_mb * 1e3, fit);
  printf("  %-44s %9.3f ms  x 1250 = %8.2f s\n", "SAC update (256x256, batch 256)", t_sac * 1e3,
         sac);
  printf("  %-44s %9.3f ms  x %4lld = %8.2f s\n", "TOM dual step (256x256, 256 + a0, a' ~ pi)",
         t_dual * 1e3, (long long)wp.q_steps, dual);
  printf("  %-44s %9.3f us  x 1e5  = %8.2f s\n", "TOM weights pass, per transition", t_pass * 1e6,
         pass);
  printf("  %-44s %9.3f ms  x %4ld = %8.2f s\n", "TOM discriminator step (256 + 256 pairs, GP)",
         t_disc * 1e3, dsteps, (double)dsteps * t_disc);
  printf("  %-44s %9.3f us  x 1e5  = %8.2f s\n", "TOM discriminator logit, per transition",
         t_logit * 1e6, NBUF * t_logit);
  printf("\nTOM-binary round / MBPO round: %.3f (the fit alone: %.3f)\n", with / base,
         (fit + dual + pass) / fit);
  printf("TOM round / MBPO round:        %.3f (the fit alone: %.3f)\n", with_disc / base,
         (fit + dual + pass + disc) / fit);
  free(k.x), free(k.y), free(k.s0), free(k.s), free(k.s2), free(k.a0), free(k.a), free(k.a2);
  free(k.rw), free(k.term), free(k.e);
  free(k.xc), free(k.xd), free(k.lg);
  tom_dual_free(&k.dual);
  tom_disc_free(&k.disc);
  replay_batch_free(&k.b);
  sac_agent_free(&k.sac);
  ensemble_free(&k.m);
  return 0;
}
