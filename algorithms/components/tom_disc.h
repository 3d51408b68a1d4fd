// tom_disc: TOM's discriminator (Ma et al., arXiv 2305.12663; the authors' Discriminator_SAS),
// between the recent transitions (label 1) and the whole replay (label label_dat, 0.1 in the
// authors' code), whose logit is TOM's reward: log sigma(D) - log(1 - sigma(D)) = D.
//
// A row x = (s, a, s') has O + A + O floats, not normalised. Three fixed branches, each Linear
// then tanh: s -> H/2, a -> H/2, s' -> H/2, concatenated into z (3 (H/2)); a trained trunk
// Linear(3 (H/2), H), tanh, Linear(H, 1) gives the logit D(x). Every layer starts from PyTorch's
// nn.Linear default (NN_INIT_TORCH: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))), drawn in the
// authors' module order: the s, a, s' branches (W then b each), then the trunk (W1, b1, w2, b2).
// Only the trunk is trained (the authors' optimiser holds trunk.parameters() alone), so the
// branches keep their random initial weights: Adam, PyTorch's defaults.
//
// Loss of one step on n recent rows x_cur and n replay rows x_dat (the authors truncate the
// replay batch to the recent batch's size):
//   L = mean_i BCE(D(x_cur_i), 1) + mean_i BCE(D(x_dat_i), label_dat)
//       + lambda mean_i (||grad_x D(xt_i)||_2 - 1)^2,   xt_i = u_i x_cur_i + (1 - u_i) x_dat_i,
// BCE(l, y) = max(l, 0) - l y + log(1 + exp(-|l|)), one u_i ~ U[0, 1) per row, the input gradient
// taken through the fixed branches. Its trunk gradient is derived by hand (double
// back-propagation through one tanh layer, tom_disc.c); where ||grad_x D|| = 0 the penalty's
// gradient is 0, as torch's norm. With lambda = 0 the interpolates are not computed at all.
//
// The authors' defaults: H 256, lr 3e-4, label_dat 0.1, lambda 10, 100 epochs of minibatches of
// 256 over a recent pool of 1000 rows; a fresh network every round.
//
// Letters: O observation and A action dimensions (both >= 1), P = 2O + A inputs, K = H/2 units
// per branch, n rows, R recent rows, N replay rows.
#ifndef MB_TOM_DISC_H
#define MB_TOM_DISC_H

#include <stddef.h>

#include "nn.h"
#include "optim.h"
#include "rng.h"

typedef struct {
  int O, A, H;            // observation, action dims; hidden width H (branches H/2 each)
  NnParams branch;        // the three fixed branches' weights and biases (never trained):
                          //   Ws (O, K), bs (K), Wa (A, K), ba (K), Wn (O, K), bn (K)
  NnParams trunk;         // W1 (3(H/2), H), b1 (H), w2 (H, 1), b2 (1): the trained part (w and g)
  Optim opt;              // adam on trunk
  int rows;               // rows per call the scratch holds
  // scratch (tom_disc.c): one loss call runs cur, dat and the interpolates as 3n rows
  float *J, *bJ;          // (P, 3K), (3K) the branches as one block-diagonal layer, from branch
  float *x;               // (3 rows, P) inputs: cur, dat, interpolates
  float *z;               // (3 rows, 3K) branch features
  float *h;               // (3 rows, H) trunk hidden units
  float *logit;           // (3 rows) D
  float *da;              // (3 rows, H) dL/d(trunk pre-activation)
  float *delta;           // (rows, H) dD/d(trunk pre-activation) of the interpolates
  float *gz;              // (rows, 3K) dD/d(x J + bJ), then the penalty's gradient of dD/dz
  float *gx;              // (rows, P) the input gradients grad_x D of the interpolates
  float *u;               // (rows) interpolation coefficients of tom_disc_step
  double *dw2;            // (H) the gradient of w2, accumulated in double
} TomDisc;

// A network for O, A with hidden width H (even, >= 2), Adam learning rate lr, scratch for up to
// `rows` rows per call; weights from init. Returns 0 or -1 with err.
int tom_disc_init(TomDisc *d, int O, int A, int H, double lr, int rows, Rng *init, char *err,
                  size_t errsz);
void tom_disc_free(TomDisc *d);

// Fresh weights from init and a fresh optimiser (each round starts over)
void tom_disc_reset(TomDisc *d, Rng *init);

// logits of n rows x (n, O + A + O) into out (n), n <= rows
void tom_disc_logit(TomDisc *d, const float *x, int n, float *out);

// The input gradients grad_x D of n rows x (n, P) into gx (n, P), n <= rows: the ones the
// penalty uses (exposed for tests).
void tom_disc_input_grad(TomDisc *d, const float *x, int n, float *gx);

// the loss above on x_cur, x_dat (n, 2O + A each) with interpolation coefficients u (n); writes
// its gradient into d->trunk.g (zeroed first). Returns the loss; *gp (may be NULL) gets the
// penalty's share. n <= rows.
double tom_disc_loss(TomDisc *d, const float *x_cur, const float *x_dat, const float *u, int n,
                     double label_dat, double lambda, double *gp);

// one Adam step: draws u (n) from r (rng_fill_uniformf, even when lambda = 0), tom_disc_loss,
// optim_step. Returns the loss.
double tom_disc_step(TomDisc *d, const float *x_cur, const float *x_dat, int n, double label_dat,
                     double lambda, Rng *r);

// A round as the authors' code trains it: reset from init, then `epochs` passes over the recent
// rows cur (R, 2O + A) and the replay rows dat (N, 2O + A). Each pass is one zip of two fresh
// shuffled loaders, as each of the authors' update calls: the recent rows in a new random order
// cut into minibatches of `batch` (the last one short), the k-th paired with the k-th minibatch
// of a new random order of the replay, truncated to its size (both to the shorter one, should the
// replay's be shorter); the pass ends with the shorter loader, so min(ceil(R / batch),
// ceil(N / batch)) steps. Draws from r, per pass: the recent order (Fisher-Yates from the top,
// rng_below(i + 1) for i = R-1 down to 1), then the replay's first min(N, steps batch) positions
// (a partial Fisher-Yates from the bottom, rng_below(N - i) for i = 0, 1, ..., on the order the
// last pass left), then each step's u. batch <= rows; R, N >= 1; epochs >= 0.
// Returns the mean loss of the last epoch (NaN for 0 epochs); a loss that is not finite is a
// divergence (fail_diverged). *acc (may be NULL: not measured) gets the accuracy afterwards,
// (share of cur with logit > 0 + share of dat with logit < 0) / 2, over all R and N rows (in
// chunks of `rows`).
double tom_disc_train(TomDisc *d, const float *cur, size_t R, const float *dat, size_t N,
                      int epochs, int batch, double label_dat, double lambda, Rng *init, Rng *r,
                      double *acc);

#endif
