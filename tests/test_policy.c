// SAC's policy heads through their interface (sac_policy.h) only: every head of the table is
// checked, so a new head is tested by adding its row. Copy the gaussian-only test at the end for
// what is particular to a new head.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gradcheck.h"
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
  float *out, *eps, *act, *logp, *ca, *cl;   // ca (N, A) and cl (N): the loss's coefficients
} Loss;

// L = sum ca * act + sum cl * logp of a sample at the current out, in double
static double loss(const Loss *l) {
  l->h->ops->sample(l->h, l->out, l->eps, N, l->act, l->logp);
  double s = 0.0;
  for (int i = 0; i < N * A; i++) s += (double)l->ca[i] * l->act[i];
  for (int i = 0; i < N; i++) s += (double)l->cl[i] * l->logp[i];
  return s;
}

Test(policy, every_head_backward_matches_finite_differences) {
  for (int k = 0; k < SAC_NPOLICIES; k++) {
    SacParams p = params(k);
    SacPolicy h;
    cr_assert_eq(sac_policy_init(&h, &p, A, N, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(h.ops->name, SAC_POLICIES[k]->name);
    size_t W = (size_t)h.W;
    Loss l = {
        &h,       falloc(N * W), falloc(N * (size_t)h.Z), falloc(N * A), falloc(N), falloc(N * A),
        falloc(N)};
    outputs(l.out, N * W, &p, 11 + k);
    Rng r;
    rng_init(&r, 12 + k, RNG_STREAM_DATA);
    rng_fill_normalf(&r, l.eps, N * (size_t)h.Z, 0.0f, 1.0f);
    fill(l.ca, N * A, -1, 1, 13);
    fill(l.cl, N, -1, 1, 14);

    // the analytic gradient of the sample at out
    float *dout = falloc(N * W);
    loss(&l);
    h.ops->backward(&h, l.out, l.ca, l.cl, N, dout);
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
    cr_expect_leq(e, 2e-3, "head %s: backward against finite differences %g", h.ops->name, e);
    printf("policy head %s: backward %.2g\n", h.ops->name, e);

    // a sample is a function of (out, eps): the same twice; the deterministic action is in the box
    float *a2 = falloc(N * A), *lp2 = falloc(N), *det = falloc(N * A);
    loss(&l);
    h.ops->sample(&h, l.out, l.eps, N, a2, lp2);
    cr_expect_arr_eq(a2, l.act, N * A * sizeof(float), "head %s: sample not repeatable",
                     h.ops->name);
    h.ops->act(&h, l.out, N, det);
    for (int i = 0; i < N * A; i++)
      cr_expect(det[i] >= -1.0f && det[i] <= 1.0f && isfinite(lp2[i / A]),
                "head %s: action %g outside [-1, 1]", h.ops->name, det[i]);
    free(a2), free(lp2), free(det), free(dout), free(fd);
    free(l.out), free(l.eps), free(l.act), free(l.logp), free(l.ca), free(l.cl);
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
  h.ops->sample(&h, out, eps, N, act, logp);
  h.ops->backward(&h, out, da, dl, N, dout);
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
