// tabular: finite discounted MDPs, solved exactly (see tabular.h).
#include "tabular.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

static void alloc(TabMdp *m, int S, int A, double gamma) {
  m->S = S, m->A = A, m->gamma = gamma;
  m->P = xcalloc((size_t)S * A * S, sizeof *m->P, "MDP transitions");
  m->r = xcalloc((size_t)S * A, sizeof *m->r, "MDP rewards");
  m->rho = xcalloc((size_t)S, sizeof *m->rho, "MDP start distribution");
  m->work = xcalloc((size_t)S * (S + 1), sizeof *m->work, "MDP solver");
}

void tab_free(TabMdp *m) {
  free(m->P), free(m->r), free(m->rho), free(m->work);
  memset(m, 0, sizeof *m);
}

// The follow-up code's tiny_mdps.py, by id: A, gamma, r (s, a) row major, P(s'|s, a) by row
// (s, a). Ids 0, 1 and 3 have 2 actions; 4 has 3.
typedef struct {
  int id, A;
  double gamma, r[6], P[6][2];
} Tiny;

static const Tiny TINY[] = {
    {0, 2, 0.9, {0.06, 0.38, -0.13, 0.64}, {{0.01, 0.99}, {0.92, 0.08}, {0.08, 0.92}, {0.70, 0.30}}},
    {1, 2, 0.9, {0.88, -0.02, -0.98, 0.42}, {{0.96, 0.04}, {0.19, 0.81}, {0.43, 0.57}, {0.72, 0.28}}},
    {3, 2, 0.9, {-0.45, -0.1, 0.5, 0.5}, {{0.7, 0.3}, {0.99, 0.01}, {0.2, 0.8}, {0.99, 0.01}}},
    {4, 3, 0.8, {-0.1, -1.0, 0.1, 0.4, 1.5, 0.1},
     {{0.9, 0.1}, {0.2, 0.8}, {0.7, 0.3}, {0.05, 0.95}, {0.25, 0.75}, {0.3, 0.7}}},
};

int tab_tiny(TabMdp *m, int id, char *err, size_t errsz) {
  memset(m, 0, sizeof *m);
  for (size_t k = 0; k < sizeof TINY / sizeof *TINY; k++) {
    const Tiny *t = &TINY[k];
    if (t->id != id) continue;
    alloc(m, 2, t->A, t->gamma);
    for (int sa = 0; sa < 2 * t->A; sa++) {
      m->r[sa] = t->r[sa];
      m->P[sa * 2] = t->P[sa][0], m->P[sa * 2 + 1] = t->P[sa][1];
    }
    m->rho[0] = m->rho[1] = 0.5;
    return 0;
  }
  return fail_msg(err, errsz, "tiny MDP %d: the two-state MDPs are tiny0, tiny1, tiny3 and tiny4", id);
}

// p (n) ~ Dirichlet(1, ..., 1): normalised Exp(1) draws
static void dirichlet1(Rng *rng, double *p, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += p[i] = -log1p(-rng_uniform(rng));
  for (int i = 0; i < n; i++) p[i] = s > 0.0 ? p[i] / s : 1.0 / n;
}

int tab_random(TabMdp *m, int S, int A, int branches, double gamma, double r_scale, Rng *rng,
               char *err, size_t errsz) {
  memset(m, 0, sizeof *m);
  if (S < 1 || S > 4096 || A < 1 || A > 4096)
    return fail_msg(err, errsz, "random MDP: %d states and %d actions (each 1 to 4096)", S, A);
  if (branches < 1 || branches > S)
    return fail_msg(err, errsz, "random MDP: %d successors per action, allowed 1 to the %d states",
                    branches, S);
  alloc(m, S, A, gamma);
  int *idx = xmalloc((size_t)S, sizeof *idx, "MDP successors");
  double *p = xmalloc((size_t)branches, sizeof *p, "MDP successors");
  for (int s = 0; s < S; s++)
    for (int a = 0; a < A; a++) {
      // the first `branches` of a partial Fisher-Yates shuffle of 0..S-1
      for (int i = 0; i < S; i++) idx[i] = i;
      for (int i = 0; i < branches; i++) {
        int j = i + (int)rng_below(rng, (uint64_t)(S - i)), tmp = idx[i];
        idx[i] = idx[j], idx[j] = tmp;
      }
      dirichlet1(rng, p, branches);
      for (int i = 0; i < branches; i++) m->P[((size_t)s * A + a) * S + idx[i]] = p[i];
    }
  double *u = xmalloc((size_t)S, sizeof *u, "MDP rewards");
  for (int s = 0; s < S; s++) u[s] = rng_uniform_range(rng, 0.0, r_scale);
  for (size_t sa = 0; sa < (size_t)S * A; sa++) {
    double e = 0.0;
    for (int s2 = 0; s2 < S; s2++) e += m->P[sa * S + s2] * u[s2];
    m->r[sa] = e;
  }
  dirichlet1(rng, m->rho, S);
  free(idx), free(p), free(u);
  return 0;
}

// Solve (I - gamma P_pi) x = b, or its transpose, in place of b: Gaussian elimination with partial
// pivoting on m->work (S, S + 1). With gamma < 1 the matrix is strictly diagonally dominant by
// rows (each row of P_pi sums to 1), so it is never singular.
static void solve(TabMdp *m, const double *pi, double *b, int transpose) {
  int S = m->S, A = m->A, W = S + 1;
  double *M = m->work;
  for (int s = 0; s < S; s++) {
    for (int s2 = 0; s2 < S; s2++) {
      double p = 0.0;
      for (int a = 0; a < A; a++) p += pi[s * A + a] * m->P[((size_t)s * A + a) * S + s2];
      double v = (s == s2) - m->gamma * p;
      if (transpose) M[(size_t)s2 * W + s] = v;
      else M[(size_t)s * W + s2] = v;
    }
  }
  for (int s = 0; s < S; s++) M[(size_t)s * W + S] = b[s];
  for (int c = 0; c < S; c++) {
    int piv = c;
    for (int i = c + 1; i < S; i++)
      if (fabs(M[(size_t)i * W + c]) > fabs(M[(size_t)piv * W + c])) piv = i;
    if (piv != c)
      for (int j = c; j < W; j++) {
        double t = M[(size_t)c * W + j];
        M[(size_t)c * W + j] = M[(size_t)piv * W + j], M[(size_t)piv * W + j] = t;
      }
    for (int i = c + 1; i < S; i++) {
      double f = M[(size_t)i * W + c] / M[(size_t)c * W + c];
      if (f == 0.0) continue;
      for (int j = c; j < W; j++) M[(size_t)i * W + j] -= f * M[(size_t)c * W + j];
    }
  }
  for (int i = S - 1; i >= 0; i--) {
    double x = M[(size_t)i * W + S];
    for (int j = i + 1; j < S; j++) x -= M[(size_t)i * W + j] * b[j];
    b[i] = x / M[(size_t)i * W + i];
  }
}

void tab_evaluate(TabMdp *m, const double *pi, double *V, double *Q, double *d) {
  int S = m->S, A = m->A;
  if (V || Q) {
    double *v = V ? V : xmalloc((size_t)S, sizeof *v, "values");
    for (int s = 0; s < S; s++) {
      double e = 0.0;
      for (int a = 0; a < A; a++) e += pi[s * A + a] * m->r[s * A + a];
      v[s] = e;
    }
    solve(m, pi, v, 0);
    if (Q)
      for (size_t sa = 0; sa < (size_t)S * A; sa++) {
        double e = 0.0;
        for (int s2 = 0; s2 < S; s2++) e += m->P[sa * S + s2] * v[s2];
        Q[sa] = m->r[sa] + m->gamma * e;
      }
    if (!V) free(v);
  }
  if (d) {
    memcpy(d, m->rho, (size_t)S * sizeof *d);
    solve(m, pi, d, 1);
    for (int s = 0; s < S; s++) d[s] *= 1.0 - m->gamma;
  }
}

void tab_greedy(const double *Q, int S, int A, int *act) {
  for (int s = 0; s < S; s++) {
    int best = 0;
    for (int a = 1; a < A; a++)
      if (Q[s * A + a] > Q[s * A + best]) best = a;
    act[s] = best;
  }
}

int tab_optimal(TabMdp *m, double *V, int *act) {
  int S = m->S, A = m->A, rounds = 0;
  double *Q = xmalloc((size_t)S * A, sizeof *Q, "optimal Q");
  double *pi = xcalloc((size_t)S * A, sizeof *pi, "optimal policy");
  int *cur = xmalloc((size_t)S, sizeof *cur, "optimal policy");
  int *next = xmalloc((size_t)S, sizeof *next, "optimal policy");
  // Q of V = 0 is r: the first greedy policy is the myopic one
  memcpy(Q, m->r, (size_t)S * A * sizeof *Q);
  tab_greedy(Q, S, A, cur);
  for (;;) {
    memset(pi, 0, (size_t)S * A * sizeof *pi);
    for (int s = 0; s < S; s++) pi[s * A + cur[s]] = 1.0;
    tab_evaluate(m, pi, V, Q, NULL);
    rounds++;
    tab_greedy(Q, S, A, next);
    // a tie with the current action keeps it: policy iteration then stops
    int same = 1;
    for (int s = 0; s < S; s++) {
      if (next[s] != cur[s] && Q[s * A + next[s]] <= Q[s * A + cur[s]]) next[s] = cur[s];
      same &= next[s] == cur[s];
    }
    if (same || rounds > 10000) break;
    memcpy(cur, next, (size_t)S * sizeof *cur);
  }
  if (act) memcpy(act, cur, (size_t)S * sizeof *act);
  free(Q), free(pi), free(cur), free(next);
  return rounds;
}

double tab_value_rho(const TabMdp *m, const double *V) {
  double e = 0.0;
  for (int s = 0; s < m->S; s++) e += m->rho[s] * V[s];
  return e;
}

void tab_softmax(const double *theta, double *pi, int S, int A) {
  for (int s = 0; s < S; s++) {
    const double *t = theta + (size_t)s * A;
    double mx = -INFINITY, z = 0.0;
    for (int a = 0; a < A; a++) mx = t[a] > mx ? t[a] : mx;
    for (int a = 0; a < A; a++) z += pi[s * A + a] = exp(t[a] - mx);
    for (int a = 0; a < A; a++) pi[s * A + a] /= z;
  }
}
