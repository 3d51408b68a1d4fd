// Tests of the weightings of the model fit (model_weights.h) and of TOM's dual (tom_dual.h):
// the chi^2 and KL duals on a tabular MDP with exact expectations recover the occupancy ratio
// d^pi / d^D whatever the reward (seed-variants 1.6, test 1), the objective's gradients and the
// network's against central differences, recency's weights, tom-binary's fallback and
// statistics, tom's discriminator reward on recent data unlike the old, the capacity test
// (seed-variants 1.6, test 3), the checkpoint round trip (tom-binary and tom), and the refused
// inputs. The discriminator itself is tested in test_tom_disc.c.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ensemble.h"
#include "gradcheck.h"
#include "model_weights.h"
#include "replay.h"
#include "tom_disc.h"
#include "tom_dual.h"

static char err[4400];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static WeightsParams weights_defaults(void) {
  Config cfg;
  WeightsParams p;
  cfg_init(&cfg);
  weights_params_register(&cfg, "weights", &p);
  cfg_free(&cfg);
  return p;
}

// the index of the weighting `name` in MODEL_WEIGHTINGS
static int weighting(const char *name) {
  for (int k = 0; k < MODEL_NWEIGHTINGS; k++)
    if (strcmp(MODEL_WEIGHTINGS[k].name, name) == 0) return k;
  cr_assert_fail("no weighting %s", name);
  return -1;
}

// Solve A x = b (n <= 16) in place by Gaussian elimination with partial pivoting; x in b.
static void solve(double *A, double *b, int n) {
  for (int c = 0; c < n; c++) {
    int piv = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(A[r * n + c]) > fabs(A[piv * n + c])) piv = r;
    cr_assert_gt(fabs(A[piv * n + c]), 1e-300, "singular system");
    if (piv != c) {
      for (int k = 0; k < n; k++) {
        double t = A[c * n + k];
        A[c * n + k] = A[piv * n + k], A[piv * n + k] = t;
      }
      double t = b[c];
      b[c] = b[piv], b[piv] = t;
    }
    for (int r = c + 1; r < n; r++) {
      double f = A[r * n + c] / A[c * n + c];
      for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      b[r] -= f * b[c];
    }
  }
  for (int c = n - 1; c >= 0; c--) {
    double s = b[c];
    for (int k = c + 1; k < n; k++) s -= A[c * n + k] * b[k];
    b[c] = s / A[c * n + c];
  }
}

// ---- 1. the tabular dual recovers the occupancy ratio ----

enum { NS = 5, NA = 2, NX = NS * NA };   // rows (s, a) at index s * NA + a

typedef struct {
  double gamma;
  double P[NS][NA][NS];   // P(s' | s, a)
  double mu0[NS];
  double pi[NS][NA], beta[NS][NA];
  double Ppi[NX][NX];     // P(s' | s, a) pi(a' | s'): rows (s, a), columns (s', a')
  double dpi[NX], dbeta[NX], dD[NX], m0[NX];
} Tabular;

static void random_simplex(Rng *r, double *p, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += p[i] = 0.05 + rng_uniform(r);
  for (int i = 0; i < n; i++) p[i] /= s;
}

// the normalised discounted occupancy d = (1 - gamma) (I - gamma P_pol^T)^{-1} (mu0 x pol)
static void occupancy(const Tabular *t, const double pol[NS][NA], double *d) {
  double M[NX * NX];
  for (int i = 0; i < NX; i++)
    for (int j = 0; j < NX; j++) {
      int s2 = j / NA, a2 = j % NA, s = i / NA, a = i % NA;
      // (I - gamma P^T)[j][i]: row j = (s', a'), column i = (s, a)
      M[j * NX + i] = (i == j) - t->gamma * t->P[s][a][s2] * pol[s2][a2];
    }
  for (int j = 0; j < NX; j++) d[j] = (1.0 - t->gamma) * t->mu0[j / NA] * pol[j / NA][j % NA];
  solve(M, d, NX);
}

static void tabular_init(Tabular *t, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  t->gamma = 0.9;
  for (int s = 0; s < NS; s++)
    for (int a = 0; a < NA; a++) random_simplex(&r, t->P[s][a], NS);
  random_simplex(&r, t->mu0, NS);
  for (int s = 0; s < NS; s++) {
    random_simplex(&r, t->pi[s], NA);
    random_simplex(&r, t->beta[s], NA);
  }
  for (int i = 0; i < NX; i++)
    for (int j = 0; j < NX; j++)
      t->Ppi[i][j] = t->P[i / NA][i % NA][j / NA] * t->pi[j / NA][j % NA];
  occupancy(t, t->pi, t->dpi);
  occupancy(t, t->beta, t->dbeta);
  for (int i = 0; i < NX; i++) {
    t->dD[i] = 0.5 * t->dbeta[i] + 0.5 * t->dpi[i];
    t->m0[i] = t->mu0[i / NA] * t->pi[i / NA][i % NA];
  }
}

// The dual at tabular Q through tom_dual_objective with exact expectations: start rows (s, a)
// of mass mu0(s) pi(a|s), transition rows (s, a) of mass d^D(s, a) with qn = E[Q(s', a')].
// Writes dL/dQ (chain rule through qn) and e; returns L.
static double tab_dual(const Tabular *t, TomF f, const double *Q, const float *r, double *g,
                       float *e) {
  float q[NX], qn[NX], nd[NX], dq0[NX], dq[NX], dqn[NX];
  for (int i = 0; i < NX; i++) {
    double s = 0.0;
    for (int j = 0; j < NX; j++) s += t->Ppi[i][j] * Q[j];
    q[i] = (float)Q[i], qn[i] = (float)s, nd[i] = (float)t->gamma;
  }
  double L = tom_dual_objective(f, t->gamma, q, t->m0, NX, q, qn, r, nd, t->dD, NX, dq0, dq, dqn,
                                e);
  for (int i = 0; i < NX; i++) g[i] = (double)dq0[i] + dq[i];
  for (int k = 0; k < NX; k++)
    for (int j = 0; j < NX; j++) g[j] += (double)dqn[k] * t->Ppi[k][j];
  return L;
}

// Newton's method with backtracking on the dual; the Hessian in double from e = R + (gamma P_pi
// - I) Q: chi^2 M^T diag(m) M, KL M^T (diag(p) - p p^T) M with p the softmax weights. KL's
// objective is flat along Q + c 1 (both Q terms shift alike): the step is taken orthogonal to 1.
// Returns the largest |dL/dQ| at the end; *iters the Newton steps taken.
static double tab_minimise(const Tabular *t, TomF f, const float *r, double *Q, float *e,
                           int *iters) {
  double M[NX][NX];
  for (int i = 0; i < NX; i++)
    for (int j = 0; j < NX; j++) M[i][j] = t->gamma * t->Ppi[i][j] - (i == j);
  for (int i = 0; i < NX; i++) Q[i] = 0.0;
  double g[NX], L = tab_dual(t, f, Q, r, g, e), gmax = INFINITY;
  int it;
  for (it = 0; it < 50; it++) {
    gmax = 0.0;
    for (int i = 0; i < NX; i++) gmax = fmax(gmax, fabs(g[i]));
    if (gmax < 1e-7) break;   // float's gradients: about 1e-8 at the optimum
    double wgt[NX], H[NX * NX], step[NX], z = 0.0;
    for (int i = 0; i < NX; i++) z += wgt[i] = f == TOM_F_CHI ? t->dD[i] : t->dD[i] * exp(e[i]);
    if (f == TOM_F_KL)
      for (int i = 0; i < NX; i++) wgt[i] /= z;
    for (int a = 0; a < NX; a++)
      for (int b = 0; b < NX; b++) {
        double h = 0.0;
        for (int i = 0; i < NX; i++) h += M[i][a] * wgt[i] * M[i][b];
        if (f == TOM_F_KL) {
          double pa = 0.0, pb = 0.0;
          for (int i = 0; i < NX; i++) pa += wgt[i] * M[i][a], pb += wgt[i] * M[i][b];
          h -= pa * pb;     // - (p^T M)^T (p^T M)
          h += 1.0 / NX;    // 1 1^T / NX fills the flat direction (the step is orthogonal to 1)
        }
        H[a * NX + b] = h;
      }
    double gm = 0.0;
    for (int i = 0; i < NX; i++) gm += g[i] / NX;
    for (int i = 0; i < NX; i++) step[i] = f == TOM_F_KL ? g[i] - gm : g[i];
    solve(H, step, NX);
    double Qn[NX], gn[NX];
    float en[NX];
    double lr = 1.0, Ln = INFINITY;
    for (int k = 0; k < 30; k++, lr *= 0.5) {
      for (int i = 0; i < NX; i++) Qn[i] = Q[i] - lr * step[i];
      Ln = tab_dual(t, f, Qn, r, gn, en);
      if (Ln <= L + 1e-12) break;
    }
    memcpy(Q, Qn, sizeof Qn);
    memcpy(g, gn, sizeof gn);
    memcpy(e, en, sizeof en);
    L = Ln;
  }
  *iters = it;
  return gmax;
}

// R = 0, R binary (1 on some rows), R random: the same weights, d^D w = d^pi (chi^2) and
// d^D w proportional to d^pi (KL)
Test(model_weights, tabular_dual_is_the_exact_ratio) {
  Tabular t;
  tabular_init(&t, 11);
  double sum_d = 0.0, dist = 0.0;
  for (int i = 0; i < NX; i++) sum_d += t.dpi[i], dist += fabs(t.dD[i] - t.dpi[i]);
  cr_assert_lt(fabs(sum_d - 1.0), 1e-12, "d^pi sums to %.17g", sum_d);
  printf("tabular: ||d^D - d^pi||_1 = %.4f before weighting\n", dist);
  cr_assert_gt(dist, 0.05, "the two policies' occupancies should differ");

  float R[3][NX];
  Rng r;
  rng_init(&r, 12, RNG_STREAM_DATA);
  for (int i = 0; i < NX; i++) {
    R[0][i] = 0.0f;
    R[1][i] = i % 3 == 0 ? 1.0f : 0.0f;
    R[2][i] = (float)rng_uniform_range(&r, -1, 1);
  }
  const char *rname[3] = {"0", "binary", "random"};
  for (int f = 0; f < 2; f++) {
    double w[3][NX];
    for (int k = 0; k < 3; k++) {
      double Q[NX];
      float e[NX];
      int iters;
      double gmax = tab_minimise(&t, (TomF)f, R[k], Q, e, &iters);
      cr_expect_lt(gmax, 1e-6, "f %d, R %s: gradient %g after %d Newton steps", f, rname[k], gmax,
                   iters);
      double sum = 0.0, l1 = 0.0, dw[NX];
      for (int i = 0; i < NX; i++) {
        w[k][i] = tom_weight((TomF)f, e[i], INFINITY);
        sum += dw[i] = t.dD[i] * w[k][i];
      }
      for (int i = 0; i < NX; i++) l1 += fabs((f == TOM_F_CHI ? dw[i] : dw[i] / sum) - t.dpi[i]);
      printf("tabular %s, R %s: %d Newton steps, |grad| %.2g, sum d^D w %.8f, "
             "||d^D w%s - d^pi||_1 %.2g\n", f == TOM_F_CHI ? "chi" : "kl", rname[k], iters, gmax,
             sum, f == TOM_F_CHI ? "" : " / sum", l1);
      if (f == TOM_F_CHI) cr_expect_lt(fabs(sum - 1.0), 1e-3, "R %s: sum d^D w = %.9f", rname[k], sum);
      cr_expect_lt(l1, 1e-2, "f %d, R %s: ||d^D w - d^pi||_1 = %g", f, rname[k], l1);
    }
    // KL's weights are right up to a constant factor: compare them normalised
    double worst = 0.0;
    for (int k = 1; k < 3; k++) {
      double s0 = 0.0, sk = 0.0;
      for (int i = 0; i < NX; i++) s0 += t.dD[i] * w[0][i], sk += t.dD[i] * w[k][i];
      for (int i = 0; i < NX; i++) {
        double a = w[0][i], b = w[k][i];
        if (f == TOM_F_KL) a /= s0, b /= sk;
        worst = fmax(worst, fabs(a - b));
        cr_expect_lt(fabs(a - b), 1e-3, "f %d: w[%d] %g with R = 0, %g with R %s", f, i, a, b,
                     rname[k]);
      }
    }
    printf("tabular %s: largest weight difference between the rewards %.2g\n",
           f == TOM_F_CHI ? "chi" : "kl", worst);
  }
}

// the weights of single residuals: chi^2 max(0, e + 1), KL exp(e), both cut at the clip
Test(model_weights, weight_of_a_residual) {
  cr_expect_eq(tom_weight(TOM_F_CHI, 0.5, INFINITY), 1.5);
  cr_expect_eq(tom_weight(TOM_F_CHI, -1.0, INFINITY), 0.0);
  cr_expect_eq(tom_weight(TOM_F_CHI, -3.0, INFINITY), 0.0);
  cr_expect_eq(tom_weight(TOM_F_CHI, 20.0, 10.0), 10.0);
  cr_expect_eq(tom_weight(TOM_F_CHI, 8.0, 10.0), 9.0);
  cr_expect_lt(fabs(tom_weight(TOM_F_KL, 0.5, INFINITY) - exp(0.5)), 1e-15);
  cr_expect_lt(fabs(tom_weight(TOM_F_KL, -3.0, 10.0) - exp(-3.0)), 1e-15);
  cr_expect_eq(tom_weight(TOM_F_KL, 3.0, 10.0), 10.0);
}

// ---- 2. gradients ----

// the objective in double, from tom_dual.h's formulas
static double ref_objective(TomF f, double gamma, const double *q0, const double *m0, int n0,
                            const double *q, const double *qn, const double *r, const double *nd,
                            const double *m, int n, double *e) {
  double L = 0.0, z = 0.0;
  for (int i = 0; i < n0; i++) L += (1.0 - gamma) * (m0 ? m0[i] : 1.0 / n0) * q0[i];
  for (int i = 0; i < n; i++) {
    double ei = r[i] + nd[i] * qn[i] - q[i], mass = m ? m[i] : 1.0 / n;
    if (e) e[i] = ei;
    if (f == TOM_F_CHI) L += mass * (0.5 * ei * ei + ei);
    else z += mass * exp(ei);
  }
  return f == TOM_F_CHI ? L : L + log(z);
}

enum { G0 = 7, GN = 9 };

typedef struct {
  TomF f;
  double gamma;
  float q0[G0], q[GN], qn[GN], r[GN], nd[GN];
  const double *m0, *m;
} ObjCase;

// tom_dual_objective itself at the float inputs (its sums run in double)
static double code_L(const ObjCase *c) {
  float dq0[G0], dq[GN], dqn[GN];
  return tom_dual_objective(c->f, c->gamma, c->q0, c->m0, G0, c->q, c->qn, c->r, c->nd, c->m, GN,
                            dq0, dq, dqn, NULL);
}

// central differences of the code's objective in one float input x: the steps actually taken
// (x +- h rounded to float) divide the difference
static double fd_float(const ObjCase *c, float *x) {
  float save = *x;
  float up = (float)(save + 1e-3), down = (float)(save - 1e-3);
  *x = up;
  double Lu = code_L(c);
  *x = down;
  double Ld = code_L(c);
  *x = save;
  return (Lu - Ld) / ((double)up - (double)down);
}

Test(model_weights, objective_gradients) {
  double m0[G0], m[GN];
  Rng rg;
  rng_init(&rg, 20, RNG_STREAM_DATA);
  random_simplex(&rg, m0, G0);
  random_simplex(&rg, m, GN);
  for (int f = 0; f < 2; f++)
    for (int masses = 0; masses < 2; masses++) {
      ObjCase c = {(TomF)f, 0.95, {0}, {0}, {0}, {0}, {0}, masses ? m0 : NULL, masses ? m : NULL};
      uint32_t seed = 21 + 4 * f + masses;
      fill(c.q0, G0, -1, 1, seed);
      fill(c.q, GN, -1, 1, seed + 100);
      fill(c.qn, GN, -1, 1, seed + 200);
      fill(c.r, GN, -1, 1, seed + 300);
      for (int i = 0; i < GN; i++) c.nd[i] = i % 4 == 1 ? 0.0f : (float)c.gamma;   // terminals
      float dq0[G0], dq[GN], dqn[GN], e[GN];
      double L = tom_dual_objective(c.f, c.gamma, c.q0, c.m0, G0, c.q, c.qn, c.r, c.nd, c.m, GN,
                                    dq0, dq, dqn, e);
      // the value and the residuals against the double reference
      double *q0d = to_double(c.q0, G0), *qd = to_double(c.q, GN), *qnd = to_double(c.qn, GN);
      double *rd = to_double(c.r, GN), *ndd = to_double(c.nd, GN), eref[GN];
      double Lref = ref_objective(c.f, c.gamma, q0d, c.m0, G0, qd, qnd, rd, ndd, c.m, GN, eref);
      cr_expect_lt(fabs(L - Lref), 1e-12 * fmax(1.0, fabs(Lref)), "f %d masses %d: L %.17g vs %.17g",
                   f, masses, L, Lref);
      for (int i = 0; i < GN; i++)
        cr_expect_lt(fabs(e[i] - eref[i]), 1e-6, "e[%d] %g vs %g", i, e[i], eref[i]);
      // every gradient against central differences of the code's objective
      double fd0[G0], fd[GN], fdn[GN];
      for (int i = 0; i < G0; i++) fd0[i] = fd_float(&c, &c.q0[i]);
      for (int i = 0; i < GN; i++) fd[i] = fd_float(&c, &c.q[i]), fdn[i] = fd_float(&c, &c.qn[i]);
      double e0 = rel_err(dq0, fd0, G0), e1 = rel_err(dq, fd, GN), e2 = rel_err(dqn, fdn, GN);
      printf("objective %s, masses %d: L %.6f (reference %.2g off); gradient errors q0 %.2g, "
             "q %.2g, qn %.2g\n", f == TOM_F_CHI ? "chi" : "kl", masses, L, fabs(L - Lref), e0, e1,
             e2);
      cr_expect_lt(e0, 1e-5, "f %d masses %d: dL/dq0 error %g", f, masses, e0);
      cr_expect_lt(e1, 1e-5, "f %d masses %d: dL/dq error %g", f, masses, e1);
      cr_expect_lt(e2, 1e-5, "f %d masses %d: dL/dqn error %g", f, masses, e2);
      free(q0d), free(qd), free(qnd), free(rd), free(ndd);
    }

  // KL shifts by the largest residual: a residual of 800 neither overflows nor loses the rest
  ObjCase c = {TOM_F_KL, 0.9, {0}, {0}, {0}, {0}, {0}, NULL, NULL};
  fill(c.q, GN, -1, 1, 40);
  c.r[0] = 800.0f;
  float dq0[G0], dq[GN], dqn[GN];
  double L = tom_dual_objective(c.f, c.gamma, c.q0, NULL, G0, c.q, c.qn, c.r, c.nd, NULL, GN, dq0,
                                dq, dqn, NULL);
  double want = 800.0 - c.q[0] + log(1.0 / GN);   // the other rows' exp(e - 800) vanish
  cr_expect_lt(fabs(L - want), 1e-9, "L %.17g, want %.17g", L, want);
  cr_expect(fabs(dq[0] + 1.0f) < 1e-6f && fabs(dq[1]) < 1e-30f, "dq %g %g", dq[0], dq[1]);
}

// the dual network in double: member 0 of an Mlp with ReLU hidden layers
static double ref_q(const Mlp *net, const double *w, const float *x) {
  double a[64], b[64];
  for (int i = 0; i < net->layer[0].in; i++) a[i] = x[i];
  for (int l = 0; l < net->nlayers; l++) {
    const NnLayer *L = &net->layer[l];
    for (int o = 0; o < L->out; o++) {
      double s = w[L->b_off + o];
      for (int i = 0; i < L->in; i++) s += a[i] * w[L->w_off + (size_t)i * L->out + o];
      b[o] = L->act == NN_RELU ? fmax(s, 0.0) : s;
    }
    memcpy(a, b, (size_t)L->out * sizeof *a);
  }
  return a[0];
}

enum { DO = 2, DA = 1, DN0 = 5, DN = 6, DH = 8 };

typedef struct {
  const TomDual *d;
  double *w;   // the parameters in double
  float s0[DN0 * DO], a0[DN0 * DA], s[DN * DO], a[DN * DA], r[DN], term[DN], s2[DN * DO],
      a2[DN * DA];
} NetCase;

static void row(float *x, const float *s, const float *a, int i) {
  memcpy(x, s + i * DO, DO * sizeof *x);
  memcpy(x + DO, a + i * DA, DA * sizeof *x);
}

// the dual objective of the network at c->w, in double
static double net_L(void *ctx) {
  NetCase *c = ctx;
  const Mlp *net = &c->d->q;
  double q0[DN0], q[DN], qn[DN], r[DN], nd[DN];
  float x[DO + DA];
  for (int i = 0; i < DN0; i++) row(x, c->s0, c->a0, i), q0[i] = ref_q(net, c->w, x);
  for (int i = 0; i < DN; i++) {
    row(x, c->s, c->a, i), q[i] = ref_q(net, c->w, x);
    row(x, c->s2, c->a2, i), qn[i] = ref_q(net, c->w, x);
    r[i] = c->r[i], nd[i] = c->d->gamma * (1.0 - c->term[i]);
  }
  return ref_objective(c->d->f, c->d->gamma, q0, NULL, DN0, q, qn, r, nd, NULL, DN, NULL);
}

// tom_dual_step's parameter gradient (left in q.p.g: the Adam step reads it, does not change
// it) against central differences of the double network and objective; its value; and the step
// itself: Adam's first step with the coupled L2 term, w -= lr g' / (|g'| + eps), g' = g + l2 w
Test(model_weights, dual_network_gradient) {
  for (int f = 0; f < 2; f++) {
    TomDual d;
    Rng init;
    rng_init(&init, 30 + f, RNG_STREAM_INIT);
    const double lr = 1e-3, l2 = 1e-2;
    cr_assert_eq(tom_dual_init(&d, DO, DA, DH, 8, lr, l2, 0.9, (TomF)f, &init, err, sizeof err),
                 0, "%s", err);
    // xavier weights and zero biases: give the biases values so their gradients are not special
    for (int l = 0; l < d.q.nlayers; l++)
      fill(d.q.p.w + d.q.layer[l].b_off, (size_t)d.q.layer[l].out, -0.3f, 0.3f, 40 + l);
    NetCase c = {.d = &d};
    fill(c.s0, DN0 * DO, -1, 1, 50), fill(c.a0, DN0 * DA, -1, 1, 51);
    fill(c.s, DN * DO, -1, 1, 52), fill(c.a, DN * DA, -1, 1, 53);
    fill(c.s2, DN * DO, -1, 1, 54), fill(c.a2, DN * DA, -1, 1, 55);
    fill(c.r, DN, 0, 1, 56);
    for (int i = 0; i < DN; i++) c.term[i] = i == 2 || i == 5;
    size_t n = d.q.p.n;
    float *w0 = falloc(n);
    memcpy(w0, d.q.p.w, n * sizeof *w0);
    c.w = to_double(w0, n);
    double Lref = net_L(&c);
    double L = tom_dual_step(&d, c.s0, c.a0, DN0, c.s, c.a, c.r, c.term, c.s2, c.a2, DN);
    double *fd = dalloc(n);
    fd_grad(fd, c.w, n, net_L, &c);
    double ge = rel_err(d.q.p.g, fd, n), gnorm = 0.0, worst_step = 0.0;
    for (size_t i = 0; i < n; i++) gnorm = fmax(gnorm, fabs(fd[i]));
    for (size_t i = 0; i < n; i++) {
      double gi = (double)d.q.p.g[i] + l2 * w0[i];
      double want = w0[i] - lr * gi / (fabs(gi) + 1e-8), got = d.q.p.w[i];
      worst_step = fmax(worst_step, fabs(got - want) / lr);
    }
    printf("dual network %s: %zu parameters, L %.6f (double reference %.2g off), gradient error "
           "%.2g (largest |g| %.3g), first Adam step off by %.2g lr\n",
           f == TOM_F_CHI ? "chi" : "kl", n, L, fabs(L - Lref), ge, gnorm, worst_step);
    cr_expect_lt(fabs(L - Lref), 1e-5 * fmax(1.0, fabs(Lref)), "f %d: L %.9g vs %.9g", f, L, Lref);
    cr_expect_lt(ge, 1e-4, "f %d: gradient error %g", f, ge);
    cr_expect_lt(worst_step, 1e-3, "f %d: the step is not Adam's first step on g + l2 w", f);
    free(w0), free(c.w), free(fd);
    tom_dual_free(&d);
  }
}

// ---- 3. recency ----

static void add_scalar(Replay *rb, double o, double a, double o2, int term, int trunc) {
  replay_add(rb, &o, &a, 0.0, &o2, term, trunc);
}

Test(model_weights, recency_weights) {
  WeightsParams p = weights_defaults();
  p.recency_every = 3;
  p.recency_decay = 0.5;
  p.recent = 4;
  ModelWeights mw;
  cr_assert_eq(model_weights_init(&mw, weighting("recency"), &p, 1, 1, 10, 0, "no policy", 1, err,
                                  sizeof err), 0, "%s", err);
  Replay rb;
  cr_assert_eq(replay_init(&rb, 10, 1, 1, err, sizeof err), 0, "%s", err);
  for (int i = 0; i < 10; i++) add_scalar(&rb, i, 0, i + 1, 0, 0);
  double w[10];
  cr_assert_eq(model_weights_fill(&mw, &rb, w), 1);
  double sum = 0.0;
  for (int i = 0; i < 10; i++) {
    double want = ldexp(1.0, -((9 - i) / 3));
    sum += want;
    cr_expect_eq(w[i], want, "position %d: %.17g, want %.17g", i, w[i], want);
  }
  // old_weight / cur_weight: the mean of the oldest and newest `recent` over the mean
  double old = (0.125 + 0.25 * 3) / 4 / (sum / 10), cur = (0.5 + 1 * 3) / 4 / (sum / 10);
  cr_expect_lt(fabs(mw.last.old_weight - old), 1e-12, "old_weight %g, want %g", mw.last.old_weight,
               old);
  cr_expect_lt(fabs(mw.last.cur_weight - cur), 1e-12, "cur_weight %g, want %g", mw.last.cur_weight,
               cur);
  cr_expect(isnan(mw.last.dual_loss));
  replay_free(&rb);

  // a replay of 7 that has seen 10 transitions (obs = the order of adding): its slots wrap, the
  // weights follow the positions of replay_slot, i.e. the age from the newest added
  cr_assert_eq(replay_init(&rb, 7, 1, 1, err, sizeof err), 0, "%s", err);
  for (int i = 0; i < 10; i++) add_scalar(&rb, i, 0, i + 1, 0, 0);
  cr_assert_eq(rb.size, 7);
  cr_assert_neq(replay_slot(&rb, 0), 0, "the buffer should have wrapped");
  cr_assert_eq(model_weights_fill(&mw, &rb, w), 1);
  for (size_t j = 0; j < 7; j++) {
    int added = (int)rb.obs[replay_slot(&rb, j)];
    cr_expect_eq(added, 3 + (int)j, "position %zu holds transition %d", j, added);
    cr_expect_eq(w[j], ldexp(1.0, -((9 - added) / 3)), "transition %d: weight %g", added, w[j]);
  }
  replay_free(&rb);
  model_weights_free(&mw);
}

// ---- policies for the TOM weightings ----

// a ~ U(-1, 1) whatever the state
static void uniform_policy(void *ctx, const float *obs, float *act, int n, Rng *r) {
  const int *A = ctx;
  (void)obs;
  for (int i = 0; i < n * *A; i++) act[i] = (float)rng_uniform_range(r, -1, 1);
}

static const int ONE = 1;

// a ~ U(-1, 1), recording which observations the weighting asked about: a stored transition's
// next observation (a' ~ pi(.|s')), an episode's first observation (a0 ~ pi(.|s0)), or neither
typedef struct {
  const Replay *rb;
  long nexts, starts, other;
  long start_hits[128];   // by position
} Recorder;

// position j of rb begins an episode (the oldest row stands for its episode's start)
static int is_start(const Replay *rb, size_t j) {
  size_t prev = j ? replay_slot(rb, j - 1) : 0;
  return j == 0 || rb->term[prev] || rb->trunc[prev];
}

static void recording_policy(void *ctx, const float *obs, float *act, int n, Rng *r) {
  Recorder *rc = ctx;
  const Replay *rb = rc->rb;
  for (int i = 0; i < n; i++) {
    int next = 0, start = 0;
    for (size_t j = 0; j < rb->size; j++) {
      size_t sl = replay_slot(rb, j);
      next |= rb->next_obs[sl] == obs[i];
      if (rb->obs[sl] == obs[i] && is_start(rb, j) && j < 128) start = 1, rc->start_hits[j]++;
    }
    next ? rc->nexts++ : start ? rc->starts++ : rc->other++;
    act[i] = (float)rng_uniform_range(r, -1, 1);
  }
}

// small, fast TOM parameters
static WeightsParams tom_params(int recent) {
  WeightsParams p = weights_defaults();
  p.recent = recent;
  p.q_steps = 20;
  p.q_batch = 16;
  p.q_hidden = 8;
  return p;
}

// ---- 4. tom-binary's fallback ----

Test(model_weights, tom_binary_falls_back_until_recent_is_full) {
  for (int pol = 0; pol < 2; pol++) {
    WeightsParams p = tom_params(20);
    ModelWeights mw;
    cr_assert_eq(model_weights_init(&mw, weighting("tom-binary"), &p, 1, 1, 100, pol, "no policy",
                                    2, err, sizeof err), 0, "%s", err);
    Replay rb;
    cr_assert_eq(replay_init(&rb, 100, 1, 1, err, sizeof err), 0, "%s", err);
    Recorder rc = {.rb = &rb};
    if (pol) mw.policy = recording_policy, mw.policy_ctx = &rc;
    Rng r;
    rng_init(&r, 3, RNG_STREAM_DATA);
    double w[100];
    for (int i = 0; i < 24; i++) {
      double o = rng_uniform_range(&r, -1, 1), a = rng_uniform_range(&r, -1, 1);
      add_scalar(&rb, o, a, o + a, i % 10 == 4, i % 10 == 9);   // of 5, terminated or cut off
      for (int k = 0; k < 100; k++) w[k] = -7.0;
      int got = model_weights_fill(&mw, &rb, w);
      if (rb.size <= 20) {
        cr_expect_eq(got, 0, "size %zu <= recent: the unweighted fit", rb.size);
        cr_expect_eq(w[0], -7.0, "w written on the fallback");
        cr_expect(mw.last.old_weight == 1.0 && mw.last.cur_weight == 1.0);
        cr_expect(isnan(mw.last.dual_loss));
        continue;
      }
      cr_expect_eq(got, 1, "size %zu > recent: weighted", rb.size);
      if (pol) {
        // per dual step q_batch start rows and q_batch next rows, then every s' for the weights
        long want = p.q_steps * p.q_batch;
        cr_expect_eq(rc.starts, want, "start rows %ld, want %ld", rc.starts, want);
        cr_expect_eq(rc.nexts, want + (long)rb.size, "next rows %ld", rc.nexts);
        cr_expect_eq(rc.other, 0, "%ld rows neither a start nor a next observation", rc.other);
        for (size_t j = 0; j < rb.size; j++)   // 320 draws: every start drawn
          if (is_start(&rb, j)) cr_expect_gt(rc.start_hits[j], 0, "start %zu never drawn", j);
        memset(&rc, 0, sizeof rc);
        rc.rb = &rb;
      }
      size_t n = rb.size;
      double all = 0.0, old = 0.0, cur = 0.0;
      for (size_t k = 0; k < n; k++) {
        cr_expect(isfinite(w[k]) && w[k] >= 0.0 && w[k] <= p.clip, "w[%zu] = %g", k, w[k]);
        all += w[k];
        if (k < 20) old += w[k];
        if (k >= n - 20) cur += w[k];
      }
      cr_expect_eq(w[n], -7.0, "written past the replay's size");
      cr_expect_lt(fabs(mw.last.old_weight - (old / 20) / (all / n)), 1e-12);
      cr_expect_lt(fabs(mw.last.cur_weight - (cur / 20) / (all / n)), 1e-12);
      cr_expect(isfinite(mw.last.dual_loss), "dual loss %g", mw.last.dual_loss);
      if (rb.size == 24)
        printf("tom-binary (%s): 24 transitions, old_weight %.4f, cur_weight %.4f, dual loss "
               "%.4f\n", pol ? "policy" : "logged actions", mw.last.old_weight,
               mw.last.cur_weight, mw.last.dual_loss);
    }
    replay_free(&rb);
    model_weights_free(&mw);
  }
}

// a deterministic policy, so that a test can recompute a' = pi(s')
static void linear_policy(void *ctx, const float *obs, float *act, int n, Rng *r) {
  (void)ctx, (void)r;
  for (int i = 0; i < n; i++) act[i] = fmaxf(-1.0f, fminf(1.0f, 0.8f * obs[i] - 0.1f));
}

// tom-binary's weights are min(max(0, e + 1), clip) of the trained dual's residuals with R = 1 on
// the `recent` newest transitions, 0 before, (1 - done) from the terminations only, and a' the
// policy's at s' or, without a policy, the action logged at s' (the next position's when the
// episode continues, the transition's own at its end): recomputed here through
// tom_dual_residual, they agree to the bit
Test(model_weights, tom_binary_weights_are_the_duals_residuals) {
  enum { N = 40, RECENT = 12 };
  for (int pol = 0; pol < 2; pol++) {
    WeightsParams p = tom_params(RECENT);
    p.clip = 1.5;   // some rows of R = 1 reach it
    ModelWeights mw;
    cr_assert_eq(model_weights_init(&mw, weighting("tom-binary"), &p, 1, 1, 64, pol, "", 8, err,
                                    sizeof err), 0, "%s", err);
    if (pol) mw.policy = linear_policy;
    Replay rb;
    cr_assert_eq(replay_init(&rb, 64, 1, 1, err, sizeof err), 0, "%s", err);
    Rng r;
    rng_init(&r, 9, RNG_STREAM_DATA);
    for (int i = 0; i < N; i++) {
      double o = rng_uniform_range(&r, -1, 1), a = rng_uniform_range(&r, -1, 1);
      add_scalar(&rb, o, a, 0.9 * o + 0.3 * a, i % 7 == 3, i % 7 == 6);
    }
    double w[N];
    cr_assert_eq(model_weights_fill(&mw, &rb, w), 1);
    float s[N], a[N], s2[N], a2[N], rr[N], term[N], e[N];
    for (int i = 0; i < N; i++) {
      size_t sl = replay_slot(&rb, (size_t)i);
      s[i] = rb.obs[sl], a[i] = rb.act[sl], s2[i] = rb.next_obs[sl];
      term[i] = rb.term[sl];
      rr[i] = i >= N - RECENT ? 1.0f : 0.0f;
      int cont = i + 1 < N && !rb.term[sl] && !rb.trunc[sl];
      a2[i] = cont ? rb.act[replay_slot(&rb, (size_t)i + 1)] : rb.act[sl];
    }
    if (pol) linear_policy(NULL, s2, a2, N, NULL);
    tom_dual_residual(&mw.dual, s, a, rr, term, s2, a2, N, e);
    int clipped = 0, zero = 0;
    for (int i = 0; i < N; i++) {
      double want = tom_weight(TOM_F_CHI, e[i], p.clip);
      cr_expect_eq(w[i], want, "%s: w[%d] = %.17g, want %.17g", pol ? "policy" : "logged", i,
                   w[i], want);
      clipped += w[i] == p.clip, zero += w[i] == 0.0;
    }
    printf("tom-binary residuals (%s): %d of %d weights at the clip, %d at 0\n",
           pol ? "policy" : "logged actions", clipped, N, zero);
    cr_expect_gt(clipped, 0, "the clip is not exercised");
    replay_free(&rb);
    model_weights_free(&mw);
  }
}

// ---- 5. the capacity test ----

static EnsembleParams ensemble_defaults(void) {
  Config cfg;
  EnsembleParams p;
  cfg_init(&cfg);
  ensemble_params_register(&cfg, "ensemble", &p);
  cfg_free(&cfg);
  return p;
}

// mean |error| of the model's mean next state on region A (s in [-0.9, -0.1], s + a in the same
// range: where A's data are) against s + a, and on region B (s in [0.1, 0.9], a in [-0.9, 0.9])
// against s - a
static void region_errors(Ensemble *m, double *errA, double *errB) {
  double eA = 0.0, eB = 0.0;
  int nA = 0, nB = 0;
  for (int i = 0; i < 9; i++)
    for (int j = 0; j < 19; j++) {
      double s = -0.9 + 0.1 * i, a = -0.9 + 0.1 * j;
      float next[64], rew[64], o[64], ac[64];
      for (int k = 0; k < m->L; k++) o[k] = (float)s, ac[k] = (float)a;
      if (s + a >= -0.9 && s + a <= -0.1) {
        ensemble_predict(m, o, ac, 1, 0, NULL, next, rew);
        for (int k = 0; k < m->L; k++) eA += fabs(next[k] - (s + a)) / m->L;
        nA++;
      }
      s = -s;
      for (int k = 0; k < m->L; k++) o[k] = (float)s;
      ensemble_predict(m, o, ac, 1, 0, NULL, next, rew);
      for (int k = 0; k < m->L; k++) eB += fabs(next[k] - (s - a)) / m->L;
      nB++;
    }
  *errA = eA / nA, *errB = eB / nB;
}

// A 1-D system, s' = s + a for s < 0 (region A) and s' = s - a for s >= 0 (region B). The old
// policy stayed in A: two long episodes (300 steps each, cut off by a time limit) whose states
// are uniform on [-1, 0) (a_t = s_{t+1} - s_t, in [-1, 1]). The current policy acts uniformly
// (a ~ U(-1, 1), the callback) and its recent data are 600 one-step episodes from starts uniform
// on B = [0, 1) that terminate. The start states TOM reads are the stored episodes' first
// observations: 600 in B and 2 in A, so the current policy's occupancy lies almost all on B:
// with gamma = 0.5 the exact ratio gives B's transitions w = (1 - gamma) 1200 / 602 = 0.997 and
// the t-th transition of an A episode 0.997 gamma^t, a mean of 0.0066 over A. tom-binary's R
// (1 on the 600 newest, B's) points the same way. One member of one hidden unit (the nearest to
// a linear model the ensemble allows) follows both rules only crudely (its Swish's curvature
// gives it a little of the s a product): uniformly fitted it splits the difference; fitted on
// TOM's weights it follows B's rule and gives A's away.
//
// Measured: dual 0.11 s (1000 steps of 128), weights mean 0.066 on A and 0.965 on B; errors
// uniform 0.283 on A, 0.475 on B; TOM 0.537 on A, 0.086 on B. Over 8 seeds of the data, the
// dual and the fits: B's error uniform 0.23 to 0.47, TOM 0.04 to 0.09 (the smallest margin 0.17);
// A's TOM minus uniform 0.10 to 0.41; A's mean weight 0.058 to 0.075, B's 0.93 to 1.005.
Test(model_weights, capacity_test) {
  double t0 = now();
  enum { NA_EP = 2, LEN = 300, NB = 600, N = NA_EP * LEN + NB };
  Replay rb;
  cr_assert_eq(replay_init(&rb, N, 1, 1, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 60, RNG_STREAM_DATA);
  for (int ep = 0; ep < NA_EP; ep++) {
    double s = rng_uniform_range(&r, -1, 0);
    for (int t = 0; t < LEN; t++) {
      double s2 = rng_uniform_range(&r, -1, 0);
      add_scalar(&rb, s, s2 - s, s2, 0, t == LEN - 1);
      s = s2;
    }
  }
  for (int i = 0; i < NB; i++) {
    double s = rng_uniform_range(&r, 0, 1), a = rng_uniform_range(&r, -1, 1);
    add_scalar(&rb, s, a, s - a, 1, 0);
  }
  WeightsParams wp = weights_defaults();
  wp.recent = NB;
  wp.gamma = 0.5;
  wp.q_steps = 1000;
  wp.q_batch = 128;
  wp.q_hidden = 32;
  wp.q_lr = 1e-3;
  ModelWeights mw;
  cr_assert_eq(model_weights_init(&mw, weighting("tom-binary"), &wp, 1, 1, N, 1, "", 61, err,
                                  sizeof err), 0, "%s", err);
  mw.policy = uniform_policy, mw.policy_ctx = (void *)&ONE;
  double *w = dalloc(N);
  cr_assert_eq(model_weights_fill(&mw, &rb, w), 1);
  double t1 = now(), wA = 0.0, wB = 0.0;
  for (int i = 0; i < N; i++) i < NA_EP * LEN ? (wA += w[i]) : (wB += w[i]);
  wA /= NA_EP * LEN, wB /= NB;
  printf("capacity: TOM weights mean %.4f on A, %.4f on B (old_weight %.3f, cur_weight %.3f, "
         "dual loss %.4f), %.2f s\n", wA, wB, mw.last.old_weight, mw.last.cur_weight,
         mw.last.dual_loss, t1 - t0);

  EnsembleParams p = ensemble_defaults();
  p.members = 1, p.elites = 1, p.hidden_layers = 1, p.hidden_size = 1, p.batch_size = 64;
  p.lr = 1e-2, p.max_epochs = 400, p.patience = 50;   // one unit learns slowly: let it converge
  double errA[2], errB[2];
  for (int k = 0; k < 2; k++) {
    Ensemble m;
    Rng init, fit;
    rng_init(&init, 62, RNG_STREAM_INIT);
    cr_assert_eq(ensemble_init(&m, &p, 1, 1, &init, err, sizeof err), 0, "%s", err);
    rng_init(&fit, 63, RNG_STREAM_MODEL);
    EnsembleStats st = ensemble_train_weighted(&m, &rb, k ? w : NULL, &fit);
    region_errors(&m, &errA[k], &errB[k]);
    printf("capacity: %s fit, %d epochs: error %.4f on A, %.4f on B\n", k ? "TOM" : "uniform",
           st.epochs, errA[k], errB[k]);
    ensemble_free(&m);
  }
  printf("capacity: %.2f s in all\n", now() - t0);
  // the dual, approximately the exact ratio: B's weights near 0.997, A's near 0
  cr_expect_lt(fabs(wB - 0.997), 0.15, "B's mean weight %g (exact 0.997)", wB);
  cr_expect_lt(wA, 0.15 * wB, "A's mean weight %g against B's %g (exact 0.0066)", wA, wB);
  cr_expect_lt(errB[1], errB[0] - 0.1, "B: TOM %g, uniform %g", errB[1], errB[0]);
  cr_expect_lt(errB[1], 0.15, "B: TOM's fit should follow B's rule (error %g)", errB[1]);
  cr_expect_gt(errA[1], errA[0], "A: TOM %g, uniform %g", errA[1], errA[0]);
  free(w);
  model_weights_free(&mw);
  replay_free(&rb);
}

// ---- 6. checkpoints ----

static void fill_episodes(Replay *rb, size_t n, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  for (size_t i = 0; i < n; i++) {
    double o = rng_uniform_range(&r, -1, 1), a = rng_uniform_range(&r, -1, 1);
    add_scalar(rb, o, a, o - a, i % 7 == 6, 0);
  }
}

// tom's discriminator, small and quick
static WeightsParams disc_params(int recent) {
  WeightsParams p = tom_params(recent);
  p.disc_hidden = 8;
  p.disc_epochs = 30;
  p.disc_batch = 16;
  p.disc_lr = 1e-2;
  return p;
}

// The state a fill leaves (the stream, the dual; tom's discriminator is fresh at every fill)
// carries through a checkpoint: the next fills of the loaded copy equal the uninterrupted ones
Test(model_weights, checkpoint_round_trip) {
  const char *names[] = {"tom-binary", "tom"};
  for (int k = 0; k < 2; k++) {
    WeightsParams p = disc_params(15);
    Replay rb;
    cr_assert_eq(replay_init(&rb, 80, 1, 1, err, sizeof err), 0, "%s", err);
    fill_episodes(&rb, 50, 4);
    ModelWeights a, b, c;
    int tb = weighting(names[k]);
    cr_assert_eq(model_weights_init(&a, tb, &p, 1, 1, 80, 1, "", 5, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_weights_init(&b, tb, &p, 1, 1, 80, 1, "", 6, err, sizeof err), 0, "%s", err);
    cr_assert_eq(model_weights_init(&c, tb, &p, 1, 1, 80, 1, "", 6, err, sizeof err), 0, "%s", err);
    a.policy = b.policy = c.policy = uniform_policy;
    a.policy_ctx = b.policy_ctx = c.policy_ctx = (void *)&ONE;
    double wa[80], wb[80], wc[80];
    cr_assert_eq(model_weights_fill(&a, &rb, wa), 1);   // a round of training before the save

    char dir[] = "/tmp/mb_mw_XXXXXX", path[64];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ck.bin", dir);
    CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
    cr_assert(w, "%s", err);
    model_weights_save(&a, w);
    cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
    CkptReader *ck = ckpt_open(path, "test", err, sizeof err);
    cr_assert(ck, "%s", err);
    cr_assert_eq(model_weights_load(&b, ck, err, sizeof err), 0, "%s", err);
    ckpt_close(ck);
    unlink(path);
    rmdir(dir);

    // the next two fills (on more data) of the uninterrupted and of the loaded weighting
    for (int round = 0; round < 2; round++) {
      fill_episodes(&rb, 10, 7 + round);
      cr_assert_eq(model_weights_fill(&a, &rb, wa), 1);
      cr_assert_eq(model_weights_fill(&b, &rb, wb), 1);
      cr_assert_eq(model_weights_fill(&c, &rb, wc), 1);
      cr_expect_arr_eq(wa, wb, rb.size * sizeof *wa, "%s, round %d: weights after the load differ",
                       names[k], round);
      cr_expect_eq(memcmp(&a.last, &b.last, sizeof a.last), 0, "%s: statistics differ", names[k]);
      cr_expect_arr_eq(a.dual.q.p.w, b.dual.q.p.w, a.dual.q.p.n * sizeof(float));
      cr_expect_eq(a.dual.opt.t, b.dual.opt.t);
      // without the load (another seed's network and stream) the weights differ
      cr_expect_neq(memcmp(wa, wc, rb.size * sizeof *wa), 0, "the test would not see a lost state");
      cr_expect_eq(isnan(a.last.disc_acc), k == 0, "%s: disc_acc %g", names[k], a.last.disc_acc);
    }
    model_weights_free(&a);
    model_weights_free(&b);
    model_weights_free(&c);
    replay_free(&rb);
  }
}

// tom on a replay whose recent transitions differ from the old ones (other states, another law):
// the discriminator tells them apart, its logit (the reward) is higher on the recent ones, and
// the weights, like tom-binary's, are higher there too (the policy's occupancy, not the reward,
// sets them; the replay's accuracy counts the recent rows among the replay's, so it stays low)
Test(model_weights, tom_rewards_the_recent_transitions) {
  enum { N = 240, RECENT = 60 };
  Replay rb;
  cr_assert_eq(replay_init(&rb, 300, 1, 1, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 12, RNG_STREAM_DATA);
  for (int i = 0; i < N; i++) {
    int recent = i >= N - RECENT;
    double o = rng_uniform_range(&r, recent ? 0.0 : -1.0, recent ? 1.0 : 0.0);
    double a = rng_uniform_range(&r, -1, 1);
    add_scalar(&rb, o, a, recent ? o - a : o + a, i % 20 == 19, 0);
  }
  double cur[2], old[2];
  const char *names[] = {"tom", "tom-binary"};
  for (int k = 0; k < 2; k++) {
    WeightsParams p = disc_params(RECENT);
    p.disc_hidden = 16;
    p.disc_epochs = 100;
    p.q_steps = 300;
    p.q_lr = 3e-3;
    ModelWeights mw;
    cr_assert_eq(model_weights_init(&mw, weighting(names[k]), &p, 1, 1, 300, 1, "", 3, err,
                                    sizeof err), 0, "%s", err);
    mw.policy = uniform_policy;
    mw.policy_ctx = (void *)&ONE;
    double w[N];
    cr_assert_eq(model_weights_fill(&mw, &rb, w), 1);
    ModelWeightStats st = mw.last;
    printf("%s: old_weight %.3f, cur_weight %.3f, dual loss %.4f, discriminator accuracy %.3f, "
           "loss %.4f\n", names[k], st.old_weight, st.cur_weight, st.dual_loss, st.disc_acc,
           st.disc_loss);
    cur[k] = st.cur_weight, old[k] = st.old_weight;
    cr_expect(isfinite(st.dual_loss));
    if (k == 0) {
      cr_expect_gt(st.disc_acc, 0.7, "accuracy %g", st.disc_acc);
      cr_expect(isfinite(st.disc_loss));
      // the reward the dual saw: the logit of the trained network, higher on the recent rows
      TomDisc *d = mw.disc;
      float x[3], lg;
      double mcur = 0.0, mold = 0.0;
      for (int i = 0; i < N; i++) {
        size_t sl = replay_slot(&rb, (size_t)i);
        x[0] = rb.obs[sl], x[1] = rb.act[sl], x[2] = rb.next_obs[sl];
        tom_disc_logit(d, x, 1, &lg);
        if (i >= N - RECENT) mcur += lg / RECENT;
        else mold += lg / (N - RECENT);
      }
      printf("tom: mean logit %.3f on the recent rows, %.3f on the old\n", mcur, mold);
      cr_expect_gt(mcur, mold + 1.0);
    } else {
      cr_expect(isnan(st.disc_acc) && isnan(st.disc_loss));
    }
    model_weights_free(&mw);
  }
  for (int k = 0; k < 2; k++)
    cr_expect_gt(cur[k], 1.2 * old[k], "%s: cur_weight %g, old_weight %g", names[k], cur[k],
                 old[k]);
  replay_free(&rb);
}

// ---- 7. bad input ----

Test(model_weights, refused_inputs) {
  WeightsParams p = tom_params(100);
  ModelWeights mw;
  // the recent transitions must be fewer than the buffer keeps
  cr_expect_eq(model_weights_init(&mw, weighting("tom-binary"), &p, 1, 1, 100, 1, "", 1, err,
                                  sizeof err), -1);
  cr_expect(strstr(err, "weights.recent"), "message '%s'", err);
  model_weights_free(&mw);
  cr_expect_eq(model_weights_init(&mw, weighting("tom-binary"), &p, 1, 1, 101, 1, "", 1, err,
                                  sizeof err), 0, "%s", err);
  model_weights_free(&mw);
  // recency keeps no recent pool: any capacity
  cr_expect_eq(model_weights_init(&mw, weighting("recency"), &p, 1, 1, 10, 0, "", 1, err,
                                  sizeof err), 0, "%s", err);
  model_weights_free(&mw);

  // without a policy: the rows that need one refuse, naming themselves; the others accept
  int needing = 0;
  p.recent = 10;
  for (int k = 0; k < MODEL_NWEIGHTINGS; k++) {
    const ModelWeighting *row = &MODEL_WEIGHTINGS[k];
    int rc = model_weights_init(&mw, k, &p, 1, 1, 100, 0, "the test has no policy", 1, err,
                                sizeof err);
    if (row->needs_policy) {
      needing++;
      cr_expect_eq(rc, -1, "%s accepted no policy", row->name);
      cr_expect(strstr(err, row->name) && strstr(err, "the test has no policy"), "message '%s'",
                err);
    } else {
      cr_expect_eq(rc, 0, "%s: %s", row->name, err);
    }
    model_weights_free(&mw);
  }
  cr_expect_eq(MODEL_WEIGHTINGS[weighting("tom-binary")].needs_policy, 0);
  cr_expect_eq(MODEL_WEIGHTINGS[weighting("recency")].needs_policy, 0);
  printf("refused inputs: %d of %d weightings need a policy\n", needing, MODEL_NWEIGHTINGS);
}
