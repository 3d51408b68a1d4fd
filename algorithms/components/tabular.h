// tabular: finite discounted MDPs, solved exactly (the setting of the acceleration study, Chelu
// et al., arXiv 2306.10587, and of its follow-up's code, veronicachelu/functional-acceleration-
// for-pmd: src/tiny_mdps.py, src/discounted_mdp.py).
//
// An MDP has S states, A actions, transitions P (S, A, S), expected rewards r (S, A), a discount
// gamma and a start distribution rho (S). A policy is a table pi (S, A) of probabilities (rows
// sum to 1). Everything is double precision; evaluation is a dense linear solve (Gaussian
// elimination with partial pivoting), so S up to a few hundred is cheap.
//
//   V^pi   = (I - gamma P_pi)^-1 r_pi              P_pi[s][s'] = sum_a pi(a|s) P[s][a][s']
//   Q^pi   = r + gamma P V^pi
//   d^pi   = (1 - gamma) rho^T (I - gamma P_pi)^-1  the normalised discounted occupancy (sums to 1)
//   V*     by policy iteration from V = 0, greedy ties to the lowest action index
#ifndef MB_TABULAR_H
#define MB_TABULAR_H

#include <stddef.h>

#include "rng.h"

typedef struct {
  int S, A;
  double gamma;
  double *P;     // (S, A, S) transition probabilities
  double *r;     // (S, A) expected rewards
  double *rho;   // (S) start distribution
  double *work;  // (S, S + 1) the solver's matrix (tabular.c)
} TabMdp;

// The follow-up code's two-state MDPs by their id there (0, 1, 3: two actions, gamma 0.9; 4: three
// actions, gamma 0.8), rho uniform. Returns 0, or -1 with err for another id.
int tab_tiny(TabMdp *m, int id, char *err, size_t errsz);

// A random MDP as the follow-up code's random_MDP: every (s, a) has `branches` distinct successors
// with Dirichlet(1) probabilities, the reward of reaching s' is u(s') ~ U(0, r_scale), so
// r(s, a) = sum_s' P(s'|s, a) u(s'), and rho ~ Dirichlet(1). All draws from rng (the original
// draws the Dirichlets from an unseeded generator: only the distribution is the same).
// Returns 0, or -1 with err for sizes out of range.
int tab_random(TabMdp *m, int S, int A, int branches, double gamma, double r_scale, Rng *rng,
               char *err, size_t errsz);
void tab_free(TabMdp *m);

// Exact evaluation of pi (S, A): V (S), Q (S, A), d (S); any output may be NULL.
void tab_evaluate(TabMdp *m, const double *pi, double *V, double *Q, double *d);

// V* (S) and an optimal deterministic policy act (S) (may be NULL) by policy iteration. Returns
// the number of improvement rounds.
int tab_optimal(TabMdp *m, double *V, int *act);

// sum_s rho(s) V(s)
double tab_value_rho(const TabMdp *m, const double *V);

// act (S): argmax_a Q[s][a], ties to the lowest index
void tab_greedy(const double *Q, int S, int A, int *act);

// pi (S, A) = softmax of the logits theta (S, A) row by row; logits may be -inf (not all of a row)
void tab_softmax(const double *theta, double *pi, int S, int A);

#endif
