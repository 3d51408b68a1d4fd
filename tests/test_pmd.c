// Tests of the tabular study (tabular.h, pmd_core.h): exact evaluation satisfies the Bellman and
// occupancy equations, V* is optimal, the inner pass follows the surrogate's gradient (central
// differences), and seed-variants 3.4's checks: lookahead and extragradient PMD reach
// suboptimality 1e-3 in no more outer iterations than PMD on random 5-state, 3-action MDPs; the
// optimistic correction with an uninformative prediction is two consecutive PMD passes on Q_t;
// momentum with decay 0 is PMD bit for bit; policy iteration reaches V*.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd_core.h"
#include "tabular.h"

static char err[512];

static PmdParams defaults(void) {
  Config cfg;
  PmdParams p;
  cfg_init(&cfg);
  pmd_params_register(&cfg, "pmd", &p);
  cfg_free(&cfg);
  return p;
}

// the test's MDP: random, S states, A actions, every state a successor, gamma 0.9, rewards U(0, 1)
static void mdp(TabMdp *m, int S, int A, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  cr_assert_eq(tab_random(m, S, A, S, 0.9, 1.0, &r, err, sizeof err), 0, "%s", err);
}

static double *dalloc(size_t n) {
  double *p = calloc(n, sizeof *p);
  cr_assert(p);
  return p;
}

// a random stochastic policy (S, A)
static void random_policy(double *pi, int S, int A, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  double *th = dalloc((size_t)S * A);
  for (int i = 0; i < S * A; i++) th[i] = 2.0 * rng_normal(&r);
  tab_softmax(th, pi, S, A);
  free(th);
}

// V = r_pi + gamma P_pi V, Q = r + gamma P V, d = (1 - gamma) rho + gamma P_pi^T d, sum d = 1;
// V* = max_a Q*(s, a) and no policy is better anywhere; the MDP is a proper one
Test(pmd, exact_evaluation) {
  enum { S = 7, A = 3 };
  TabMdp m;
  mdp(&m, S, A, 1);
  double pi[S * A], V[S], Q[S * A], d[S], worst = 0.0, sum = 0.0;
  for (int sa = 0; sa < S * A; sa++) {
    double t = 0.0;
    for (int s2 = 0; s2 < S; s2++) t += m.P[sa * S + s2];
    cr_expect(fabs(t - 1.0) < 1e-12, "row %d of P sums to %g", sa, t);
  }
  random_policy(pi, S, A, 2);
  tab_evaluate(&m, pi, V, Q, d);
  for (int s = 0; s < S; s++) {
    double v = 0.0, occ = (1.0 - m.gamma) * m.rho[s];
    for (int a = 0; a < A; a++) v += pi[s * A + a] * Q[s * A + a];
    worst = fmax(worst, fabs(v - V[s]));   // V = sum_a pi Q, and Q = r + gamma P V below
    for (int a = 0; a < A; a++) {
      double e = 0.0;
      for (int s2 = 0; s2 < S; s2++) e += m.P[(s * A + a) * S + s2] * V[s2];
      worst = fmax(worst, fabs(Q[s * A + a] - m.r[s * A + a] - m.gamma * e));
    }
    for (int s0 = 0; s0 < S; s0++)
      for (int a = 0; a < A; a++) occ += m.gamma * d[s0] * pi[s0 * A + a] * m.P[(s0 * A + a) * S + s];
    worst = fmax(worst, fabs(occ - d[s]));
    sum += d[s];
  }
  cr_expect_lt(worst, 1e-12, "Bellman or occupancy residual %g", worst);
  cr_expect(fabs(sum - 1.0) < 1e-12, "d sums to %g", sum);

  double Vs[S], Qs[S * A], one[S * A] = {0};
  int act[S];
  int rounds = tab_optimal(&m, Vs, act);
  for (int s = 0; s < S; s++) one[s * A + act[s]] = 1.0;
  tab_evaluate(&m, one, NULL, Qs, NULL);
  double bell = 0.0;
  for (int s = 0; s < S; s++) {
    double mx = -INFINITY;
    for (int a = 0; a < A; a++) mx = fmax(mx, Qs[s * A + a]);
    bell = fmax(bell, fabs(mx - Vs[s]));
  }
  cr_expect_lt(bell, 1e-12, "V* is not max_a Q* (residual %g)", bell);
  for (int k = 0; k < 20; k++) {
    random_policy(pi, S, A, 10 + k);
    tab_evaluate(&m, pi, V, NULL, NULL);
    for (int s = 0; s < S; s++) cr_expect_leq(V[s], Vs[s] + 1e-12, "a policy beats V* at %d", s);
  }
  printf("exact evaluation: residual %.2g, policy iteration in %d rounds\n", worst, rounds);
  tab_free(&m);
}

// the surrogate L(theta) of pmd_core.h, in double, for the gradient check
typedef struct {
  int S, A;
  double gamma, *anchor, *d, *G, *ie;
} Surrogate;

static double surrogate(const Surrogate *c, const double *theta) {
  double L = 0.0, p[8], pa[8];
  for (int s = 0; s < c->S; s++) {
    tab_softmax(theta + s * c->A, p, 1, c->A);
    tab_softmax(c->anchor + s * c->A, pa, 1, c->A);
    double lin = 0.0, kl = 0.0;
    for (int a = 0; a < c->A; a++) lin += c->G[s * c->A + a] * p[a], kl += p[a] * log(p[a] / pa[a]);
    L += c->d[s] * (-lin + c->ie[s] * kl);
  }
  return L / (1.0 - c->gamma);
}

// one inner step moves theta by -lr times the surrogate's gradient (central differences), with
// the KL term active (theta away from the anchor); a state whose ie is infinite does not move
Test(pmd, inner_pass_follows_the_surrogate_gradient) {
  enum { S = 4, A = 3 };
  TabMdp m;
  mdp(&m, S, A, 3);
  PmdParams p = defaults();
  p.inner_lr = 1e-3;
  Pmd x;
  cr_assert_eq(pmd_init(&x, &m, &p, 1, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 4, RNG_STREAM_DATA);
  double th0[S * A], anchor[S * A], G[S * A], d[S], ie[S], th1[S * A];
  for (int i = 0; i < S * A; i++) th0[i] = rng_normal(&r), anchor[i] = rng_normal(&r);
  for (int i = 0; i < S * A; i++) G[i] = rng_uniform_range(&r, -2, 2);
  for (int s = 0; s < S; s++) d[s] = rng_uniform_range(&r, 0.1, 1), ie[s] = rng_uniform_range(&r, 0.2, 3);
  Surrogate c = {S, A, m.gamma, anchor, d, G, ie};
  pmd_pass(&x, th0, anchor, d, G, ie, 1, th1);
  double worst = 0.0, gmax = 0.0;
  for (int i = 0; i < S * A; i++) {
    double tp[S * A], tm[S * A], h = 1e-6;
    memcpy(tp, th0, sizeof tp), memcpy(tm, th0, sizeof tm);
    tp[i] += h, tm[i] -= h;
    double fd = (surrogate(&c, tp) - surrogate(&c, tm)) / (2 * h), g = (th0[i] - th1[i]) / p.inner_lr;
    worst = fmax(worst, fabs(g - fd)), gmax = fmax(gmax, fabs(fd));
  }
  printf("inner pass: gradient error %.2g (largest |g| %.3g)\n", worst, gmax);
  cr_expect_lt(worst, 1e-6 * fmax(1.0, gmax), "gradient error %g", worst);
  ie[2] = INFINITY;
  pmd_pass(&x, th0, anchor, d, G, ie, 5, th1);
  for (int a = 0; a < A; a++) cr_expect_eq(th1[2 * A + a], th0[2 * A + a], "a greedy state moved");
  cr_expect_eq(x.inner, 6);
  pmd_free(&x);
  tab_free(&m);
}

// iterations until V*(rho) - V^pi(rho) < 1e-3 (limit + 1 if never); *qevals the Q evaluations
static int iterations_to(TabMdp *m, PmdParams p, int limit, int64_t *qevals) {
  double Vs[16], V[16], pi[16 * 8];
  tab_optimal(m, Vs, NULL);
  double best = tab_value_rho(m, Vs);
  Pmd x;
  cr_assert_eq(pmd_init(&x, m, &p, 1, err, sizeof err), 0, "%s", err);
  int t = 0;
  for (; t <= limit; t++) {
    pmd_policy(&x, pi);
    tab_evaluate(m, pi, V, NULL, NULL);
    if (best - tab_value_rho(m, V) < 1e-3) break;
    pmd_iterate(&x);
  }
  *qevals = x.qevals;
  pmd_free(&x);
  return t;
}

// seed-variants 3.4, test 3: on random 5 x 3 MDPs (gamma 0.9, exact Q, k = n = 100 inner steps
// of lr 2) lookahead and extragradient PMD need no more outer iterations than PMD to reach
// suboptimality 1e-3, and fewer on some; they pay two Q evaluations an iteration
Test(pmd, lookahead_and_extragradient_need_no_more_iterations) {
  const int methods[] = {PMD_LOOKAHEAD, PMD_EXTRAGRADIENT};
  int fewer[2] = {0, 0};
  for (uint32_t seed = 1; seed <= 8; seed++) {
    TabMdp m;
    mdp(&m, 5, 3, seed);
    PmdParams p = defaults();
    p.k = 100, p.inner_lr = 2.0;
    int64_t q0, q;
    int base = iterations_to(&m, p, 200, &q0);
    cr_expect_leq(base, 200, "seed %u: PMD never reached 1e-3", seed);
    printf("seed %u: PMD %d iterations (%lld Q)", seed, base, (long long)q0);
    for (int k = 0; k < 2; k++) {
      p.method = methods[k];
      int it = iterations_to(&m, p, 200, &q);
      printf(", %s %d (%lld Q)", k ? "extragradient" : "lookahead", it, (long long)q);
      cr_expect_leq(it, base, "seed %u: method %d needs %d iterations, PMD %d", seed, methods[k], it,
                    base);
      fewer[k] += it < base;
    }
    printf("\n");
    tab_free(&m);
  }
  cr_expect_gt(fewer[0], 0, "lookahead is never faster");
  cr_expect_gt(fewer[1], 0, "extragradient is never faster");
}

// correction_target=current (delta = Q_t, eta' = eta_t: the prediction carries no information)
// is two consecutive PMD passes on Q_t: k steps from pi_t anchored at pi_t, then n steps from
// there anchored there; and momentum with decay 0 is PMD, to the bit
Test(pmd, degenerate_corrections_are_pmd) {
  enum { S = 5, A = 3 };
  TabMdp m;
  mdp(&m, S, A, 5);
  PmdParams p = defaults();
  p.method = PMD_CORRECTION;
  p.correction_target = 1;
  p.k = 7, p.n = 4, p.init = 2;   // N(0, 1) logits: not the uniform policy
  Pmd x, y;
  cr_assert_eq(pmd_init(&x, &m, &p, 2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(pmd_init(&y, &m, &p, 2, err, sizeof err), 0, "%s", err);
  for (int t = 0; t < 5; t++) {
    pmd_iterate(&x);
    // by hand, on y: the same Q_t, d_t and eta_t for both passes
    double pi[S * A], q[S * A], d[S], ie[S], mid[S * A];
    pmd_policy(&y, pi);
    pmd_estimate(&y, pi, q);
    tab_evaluate(&m, pi, NULL, NULL, d);
    pmd_inv_eta(&y, y.t, q, pi, ie);
    pmd_pass(&y, y.theta, y.theta, d, q, ie, p.k, mid);
    pmd_pass(&y, mid, mid, d, q, ie, p.n, y.theta);
    y.t++;
    cr_expect_arr_eq(x.theta, y.theta, sizeof(double) * S * A, "iteration %d differs", t);
  }
  cr_expect_eq(x.qevals, 5, "an uninformative prediction costs no second Q");
  pmd_free(&x), pmd_free(&y);

  p = defaults();
  p.init = 2;
  PmdParams mo = p;
  mo.method = PMD_MOMENTUM;
  mo.decay = 0.0;
  cr_assert_eq(pmd_init(&x, &m, &p, 3, err, sizeof err), 0, "%s", err);
  cr_assert_eq(pmd_init(&y, &m, &mo, 3, err, sizeof err), 0, "%s", err);
  for (int t = 0; t < 10; t++) pmd_iterate(&x), pmd_iterate(&y);
  cr_expect_arr_eq(x.theta, y.theta, sizeof(double) * S * A, "momentum with decay 0 is not PMD");
  // with decay 1 it is another method
  pmd_free(&y);
  mo.decay = 1.0;
  cr_assert_eq(pmd_init(&y, &m, &mo, 3, err, sizeof err), 0, "%s", err);
  for (int t = 0; t < 10; t++) pmd_iterate(&y);
  cr_expect_neq(memcmp(x.theta, y.theta, sizeof(double) * S * A), 0);
  pmd_free(&x), pmd_free(&y);
  tab_free(&m);
}

// policy iteration reaches V* exactly in a few iterations; noisy Q estimates are reproducible
// from the seed and differ from the exact ones
Test(pmd, policy_iteration_and_noise) {
  TabMdp m;
  mdp(&m, 6, 4, 6);
  PmdParams p = defaults();
  p.method = PMD_PI;
  int64_t q;
  int it = iterations_to(&m, p, 20, &q);
  cr_expect_leq(it, 10, "policy iteration took %d iterations", it);
  p = defaults();
  p.noise_std = 0.3;
  Pmd a, b, c;
  cr_assert_eq(pmd_init(&a, &m, &p, 4, err, sizeof err), 0, "%s", err);
  cr_assert_eq(pmd_init(&b, &m, &p, 4, err, sizeof err), 0, "%s", err);
  p.noise_std = 0.0;
  cr_assert_eq(pmd_init(&c, &m, &p, 4, err, sizeof err), 0, "%s", err);
  for (int t = 0; t < 5; t++) pmd_iterate(&a), pmd_iterate(&b), pmd_iterate(&c);
  cr_expect_arr_eq(a.theta, b.theta, sizeof(double) * 24, "noisy runs of one seed differ");
  cr_expect_neq(memcmp(a.theta, c.theta, sizeof(double) * 24), 0, "the noise changed nothing");
  pmd_free(&a), pmd_free(&b), pmd_free(&c);
  tab_free(&m);
}

Test(pmd, refused_mdps) {
  TabMdp m;
  Rng r;
  rng_init(&r, 1, RNG_STREAM_DATA);
  cr_expect_eq(tab_tiny(&m, 2, err, sizeof err), -1);
  cr_expect(strstr(err, "tiny0, tiny1, tiny3 and tiny4"), "message '%s'", err);
  cr_expect_eq(tab_random(&m, 5, 3, 6, 0.9, 1.0, &r, err, sizeof err), -1);
  cr_expect(strstr(err, "successors"), "message '%s'", err);
  cr_expect_eq(tab_random(&m, 0, 3, 1, 0.9, 1.0, &r, err, sizeof err), -1);
}
