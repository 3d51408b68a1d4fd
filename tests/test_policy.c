// SAC's policy heads through their interface (sac_policy.h) only: every head of the table is
// checked, so a new head is tested by adding its row. Copy the gaussian-only test at the end for
// what is particular to a new head.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "sac_agent.h"
#include "sac_policy.h"

enum { A = 3, N = 5 };   // actions, rows
static char err[256];

static SacParams params(int head) {
  Config cfg;
  SacParams p;
  cfg_init(&cfg);
  sac_params_register(&cfg, "sac", &p);
  cfg_free(&cfg);
  p.policy = head;
  // narrow log-std bounds, so that random outputs are clamped on both sides
  p.log_std_min = -1.0;
  p.log_std_max = 0.5;
  return p;
}

// out (N, W) uniform in [-2, 2], kept 0.05 away from the clamp bounds (finite differences of
// h = 1e-2 must not cross a kink)
static void outputs(float *out, size_t n, const SacParams *p, uint32_t seed) {
  fill(out, n, -2.0f, 2.0f, seed);
  for (size_t i = 0; i < n; i++) {
    float b[2] = {(float)p->log_std_min, (float)p->log_std_max};
    for (int k = 0; k < 2; k++)
      if (fabsf(out[i] - b[k]) < 0.05f) out[i] = b[k] + (out[i] < b[k] ? -0.05f : 0.05f);
  }
}

typedef struct {
  SacPolicy *h;
  float *out, *eps, *act, *logp, *ca, *cl;   // ca (N, C, A), cl (N, C): the loss's coefficients
  int chosen[N];                             // the candidate of each row the loss goes through
  float *value;                              // (N, C) the candidates' values
  int own;                                   // the head's own loss among its diagnostics, or -1
  double stats[SAC_HEAD_STATS_MAX];
} Loss;

// the column of diagnostic `name` among the head's, or -1
static int stat_index(const SacParams *p, const char *name) {
  char names[1200];
  sac_policy_stat_names(p, names, sizeof names);
  int k = 0;
  for (char *s = strtok(names, ","); s; s = strtok(NULL, ","), k++)
    if (strcmp(s, name) == 0) return k;
  return -1;
}

// L = sum ca * act + sum cl * logp over the candidates of a sample at the current out (nonzero
// only at the chosen ones, as the actor loss), plus the head's own loss (a gate's), in double
static double loss(Loss *l) {
  SacPolicy *h = l->h;
  size_t nc = (size_t)N * h->C;
  h->ops->sample_all(h, l->out, l->eps, N, l->act, l->logp);
  double s = 0.0;
  for (size_t i = 0; i < nc * A; i++) s += (double)l->ca[i] * l->act[i];
  for (size_t i = 0; i < nc; i++) s += (double)l->cl[i] * l->logp[i];
  if (l->own >= 0) {   // the head's backward reports the value of its own loss
    float *scratch = falloc((size_t)N * h->W);
    h->ops->backward(h, l->out, l->ca, l->cl, l->chosen, l->value, N, scratch, l->stats);
    s += l->stats[l->own];
    free(scratch);
  }
  return s;
}

// every head, every gate gradient of the mixture, and its mixture log-density
static int ncases(void) { return SAC_NPOLICIES + 3; }
static SacParams case_params(int c) {
  SacParams p = params(c < SAC_NPOLICIES ? c : 1);
  if (c == SAC_NPOLICIES || c == SAC_NPOLICIES + 1)
    p.gate_grad = 1 + (c - SAC_NPOLICIES);   // gumbel, reinforce
  if (c == SAC_NPOLICIES + 2) p.entropy_logp = 1;   // mixture
  p.experts = 3;
  return p;
}

Test(policy, every_head_backward_matches_finite_differences) {
  for (int c = 0; c < ncases(); c++) {
    SacParams p = case_params(c);
    SacPolicy h;
    cr_assert_eq(sac_policy_init(&h, &p, A, N, err, sizeof err), 0, "%s", err);
    size_t W = (size_t)h.W, C = (size_t)h.C;
    Loss l = {&h,           falloc(N * W),     falloc(N * (size_t)h.Z), falloc(N * C * A),
              falloc(N * C), falloc(N * C * A), falloc(N * C),           {0},
              falloc(N * C), stat_index(&p, "gate_loss"), {0}};
    outputs(l.out, N * W, &p, 11 + c);
    Rng r;
    rng_init(&r, 12 + c, RNG_STREAM_DATA);
    rng_fill_normalf(&r, l.eps, N * (size_t)h.Z, 0.0f, 1.0f);
    fill(l.value, N * C, -1, 1, 15);
    for (int i = 0; i < N; i++) {
      l.chosen[i] = (int)rng_below(&r, C);
      for (size_t k = 0; k < C; k++) {   // the actor loss: only the chosen candidate counts
        int on = (int)k == l.chosen[i];
        fill(l.ca + (i * C + k) * A, A, on ? -1 : 0, on ? 1 : 0, 13 + (uint32_t)(i * C + k));
        fill(l.cl + i * C + k, 1, on ? -1 : 0, on ? 1 : 0, 14 + (uint32_t)(i * C + k));
      }
    }

    // the analytic gradient of the sample at out
    float *dout = falloc(N * W);
    loss(&l);
    h.ops->backward(&h, l.out, l.ca, l.cl, l.chosen, l.value, N, dout, l.stats);
    // central differences in float with h = 1e-2: error about 1e-4 of the gradient's scale
    double *fd = dalloc(N * W);
    for (size_t i = 0; i < N * W; i++) {
      float save = l.out[i];
      l.out[i] = save + 1e-2f;
      double up = loss(&l);
      l.out[i] = save - 1e-2f;
      double down = loss(&l);
      l.out[i] = save;
      fd[i] = (up - down) / 2e-2;
    }
    double e = rel_err(dout, fd, N * W);
    cr_expect_leq(e, 2e-3, "case %d (%s): backward against finite differences %g", c,
                  h.ops->name, e);
    printf("policy head %s (case %d): backward %.2g\n", h.ops->name, c, e);

    // a sample is a function of (out, eps): the same twice; the deterministic action is in the box
    float *a2 = falloc(N * C * A), *lp2 = falloc(N * C), *det = falloc(N * A);
    loss(&l);
    h.ops->sample_all(&h, l.out, l.eps, N, a2, lp2);
    cr_expect_arr_eq(a2, l.act, N * C * A * sizeof(float), "head %s: sample not repeatable",
                     h.ops->name);
    h.ops->sample(&h, l.out, l.eps, N, a2, lp2);
    h.ops->act(&h, l.out, N, det);
    for (int i = 0; i < N * A; i++)
      cr_expect(det[i] >= -1.0f && det[i] <= 1.0f && a2[i] >= -1.0f && a2[i] <= 1.0f &&
                    isfinite(lp2[i / A]),
                "head %s: action %g or %g outside [-1, 1]", h.ops->name, det[i], a2[i]);
    free(a2), free(lp2), free(det), free(dout), free(fd);
    free(l.out), free(l.eps), free(l.act), free(l.logp), free(l.ca), free(l.cl), free(l.value);
    sac_policy_free(&h);
  }
}

Test(policy, table_follows_the_choice_list) {
  // sac.policy stores an index into SAC_POLICIES: its values are the table's names, in order
  char names[256];
  snprintf(names, sizeof names, "%s", SAC_POLICY_NAMES);
  int k = 0;
  for (char *s = strtok(names, "|"); s; s = strtok(NULL, "|"), k++) {
    cr_assert_lt(k, SAC_NPOLICIES, "more names than heads");
    cr_expect_str_eq(SAC_POLICIES[k]->name, s);
  }
  cr_expect_eq(k, SAC_NPOLICIES, "%d names for %d heads", k, SAC_NPOLICIES);
}

// The gaussian head: rows [mu (A), log-std (A)]; tanh(mu) deterministically; no gradient through
// a clamped log-std.
Test(policy, gaussian_act_and_clamp) {
  SacParams p = params(0);
  SacPolicy h;
  cr_assert_eq(sac_policy_init(&h, &p, A, N, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(h.ops->name, "gaussian");
  cr_assert_eq(h.W, 2 * A);
  cr_assert_eq(h.Z, A);
  float out[N * 2 * A], eps[N * A], act[N * A], logp[N], da[N * A], dl[N], dout[N * 2 * A];
  outputs(out, N * 2 * A, &p, 21);
  fill(eps, N * A, -1, 1, 22);
  fill(da, N * A, -1, 1, 23);
  fill(dl, N, -1, 1, 24);
  h.ops->act(&h, out, N, act);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < A; j++)
      cr_expect_eq(act[i * A + j], (float)tanh((double)out[i * 2 * A + j]));
  int chosen[N] = {0};
  double stats[1];
  h.ops->sample_all(&h, out, eps, N, act, logp);
  h.ops->backward(&h, out, da, dl, chosen, NULL, N, dout, stats);
  int clamped = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < A; j++) {
      float l = out[i * 2 * A + A + j];
      if (l < p.log_std_min || l > p.log_std_max) {
        clamped++;
        cr_expect_eq(dout[i * 2 * A + A + j], 0.0f, "clamped log-std %g has a gradient", l);
      } else {
        cr_expect_neq(dout[i * 2 * A + A + j], 0.0f);
      }
    }
  cr_expect_geq(clamped, 3, "the test wants clamped entries, got %d", clamped);
  sac_policy_free(&h);
}
