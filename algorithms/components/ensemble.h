// ensemble: a probabilistic ensemble dynamics model (PETS / MBPO lineage, as the authors' code).
//
// E members, each an MLP (O + A) -> hidden (Swish) -> 2 (1 + O) predicting a Gaussian over
// y = [reward, next_obs - obs]: a mean (1 + O) and a log-variance (1 + O) softly bounded to
// [min_logvar, max_logvar] (nn_softbound; both bounds fixed, as the authors' code). Inputs are
// standardised with the mean and std of the training split (std < 1e-12 -> 1), refitted at every
// training call; targets are not normalised. All members run in one ensemble pass (nn.h, E rows
// blocks).
//
// Training (ensemble_train) on a set of transitions: a random holdout split (holdout fraction);
// epochs in which every member sees its own random permutation of the training split in
// minibatches; loss per member: mean over the batch and the 1 + O outputs of
// (mu - y)^2 exp(-logvar) + logvar, summed over members, plus per-layer L2 weight decay
// 0.5 wd_l ||W_l||^2 with wd = weight_decay x (1, 2, 3, ..., 3, 4): 1 and 2 for the first two
// layers, 3 for the other hidden ones, 4 for the output layer (PETS: 2.5e-5 ... 1e-4); Adam.
// After each epoch the holdout MSE of each member's mean is measured; a member improves when
// (best - now) / best > improvement; training stops when no member has improved for more than
// patience epochs, or after max_epochs (a cap the authors' code does not have: a deviation).
// With no holdout rows (holdout 0, or too few transitions) the training split stands in for it.
// Weights persist between calls (warm start). The elites are the members with the lowest holdout
// MSE after the last epoch.
//
// Letters: E members, L elites, n rows, O observation and A action dimensions. Actions are in
// whatever space the caller trains with (the planner's unit box [-1, 1]^A).
#ifndef MB_ENSEMBLE_H
#define MB_ENSEMBLE_H

#include <stdint.h>

#include "checkpoint.h"
#include "config.h"
#include "env.h"
#include "nn.h"
#include "optim.h"
#include "replay.h"
#include "model_weights.h"
#include "planner.h"
#include "rng.h"

#define ENSEMBLE_PARAMS(X)                                                                      \
  X(INT, members, "7", "[1, 64]", "ensemble members E")                                        \
  X(INT, elites, "5", "[1, 64]", "members used for planning: the lowest holdout errors")       \
  X(INT, hidden_layers, "4", "[1, 6]", "hidden layers of each member")                         \
  X(INT, hidden_size, "200", "[1, 4096]", "units per hidden layer (Swish)")                    \
  X(REAL, lr, "1e-3", "(0, 1]", "Adam learning rate")                                          \
  X(REAL, weight_decay, "2.5e-5", "[0, 1]", "L2 weight of layer 1; layer l gets it times 1, 2, 3, 3, 4, ...") \
  X(INT, batch_size, "256", "[1, 65536]", "minibatch per member")                              \
  X(REAL, holdout, "0.2", "[0, 0.9]", "fraction of the data held out for early stopping")      \
  X(INT, patience, "5", "[0, 1000]", "epochs without improvement before stopping")             \
  X(REAL, improvement, "0.01", "[0, 1]", "relative holdout improvement that counts")            \
  X(INT, max_epochs, "200", "[1, 1e6]", "cap on epochs per training call (not in the authors' code)") \
  X(INT, epoch_batches, "0", "[0, 1e9]", "minibatches per epoch, rows drawn with replacement (0: one pass over the split; TOM code: 100)") \
  X(REAL, max_logvar, "0.5", "[-100, 100]", "upper soft bound of the predicted log-variance")  \
  X(REAL, min_logvar, "-10", "[-100, 100]", "lower soft bound of the predicted log-variance") \
  X(CHOICE, weights, "uniform", MODEL_WEIGHTING_NAMES, "per-transition weights of the fit (model_weights.h)")
PARAMS_DEFINE(EnsembleParams, ensemble_params_register, ENSEMBLE_PARAMS)

typedef struct {
  int epochs;            // epochs run
  double train_loss;     // mean training loss of the last epoch (per member, without decay)
  double holdout_mse;    // mean holdout MSE of the elites after the last epoch
  int stopped_early;     // 1 if patience ended training, 0 if max_epochs did
} EnsembleStats;

typedef struct {
  int E, L, O, A;        // members, elites, dimensions
  EnsembleParams p;
  Mlp net;               // E members: (O + A) -> hidden -> 2 (1 + O)
  Mlp elite;             // L members: copies of the elite members (planning runs only these)
  int elite_idx[64];     // (L) member index of each elite, best first
  double *in_mean, *in_std;   // (O + A) input standardisation
  float *hi, *lo;        // (1 + O) log-variance bounds
  Optim opt;             // adam
  int trained;           // 1 after the first training call
  double mse[64];        // (E) holdout MSE of each member after the last epoch
  size_t *split;         // (n) the last call's split: positions i of replay_slot(rb, i), the
  size_t nhold, ntrain;  //     nhold holdout rows first, then the ntrain training rows
  // scratch
  MlpWork work;          // training and holdout passes (E, batch)
  MlpWork pwork;         // prediction passes of the elites (L, prows)
  int prows;             // rows per member pwork was made for
  MlpWork awork;         // prediction passes of all members (E, arows)
  int arows;
  void *scratch;         // the other buffers (ensemble.c)
} Ensemble;

// Check the table's cross-field rules (elites <= members, min_logvar < max_logvar, sizes).
// Returns 0 or -1 with err.
int ensemble_params_check(const EnsembleParams *p, char *err, size_t errsz);

int ensemble_init(Ensemble *m, const EnsembleParams *p, int obs_dim, int act_dim, Rng *init,
                  char *err, size_t errsz);
void ensemble_free(Ensemble *m);

// Train on the n transitions of rb (all stored rows), drawing the split and the permutations
// from r. Returns the statistics of this call.
EnsembleStats ensemble_train(Ensemble *m, const Replay *rb, Rng *r);

// The same with per-transition weights w (rb->size, positions in replay_slot order; NULL: the
// unweighted fit above): a weighted bootstrap, each member's epoch drawing ntrain training rows
// with replacement, row i with probability w_i / (the training split's sum of w), one uniform
// draw from r per row after the split; the holdout MSE weighted by w. A split whose weights are
// all 0 is fitted (or measured) unweighted.
EnsembleStats ensemble_train_weighted(Ensemble *m, const Replay *rb, const double *w, Rng *r);

// One row of the weighted bootstrap: the first k with cum[k] > u, u uniform in [0, cum[n-1])
// from one draw of r, for cumulative weights cum (n, non-decreasing, cum[n-1] > 0); a row of
// weight 0 is never drawn.
size_t ensemble_draw_weighted(const double *cum, size_t n, Rng *r);

// Predict one step for rows of the L elites (all E members when all != 0): obs (M, n, O) and
// act (M, n, A) with M = L (or E); member k uses block k. Writes the sampled next observation
// (M, n, O) and reward (M, n): y = mean + exp(logvar / 2) * eps, eps ~ N(0, 1) from r, drawn
// member by member, row by row, the reward's first (M n (1 + O) normals); with r == NULL the
// means. Returns M.
int ensemble_predict(Ensemble *m, const float *obs, const float *act, int n, int all, Rng *r,
                     float *next_obs, float *rew);

// The Gaussians behind ensemble_predict: mean (M, n, 1 + O) and bounded log-variance
// (M, n, 1 + O) of y = [reward, next_obs - obs] for the same rows. Returns M.
int ensemble_gaussian(Ensemble *m, const float *obs, const float *act, int n, int all,
                      float *mean, float *logvar);

// Predict one step for n rows, each through one elite (one of the E members when all != 0) drawn
// uniformly from r (the authors' actor rollouts): obs (n, O), act (n, A) -> next_obs (n, O),
// rew (n), sampled from r: first the n members (rng_below(r, L or E), row by row), then the
// n (1 + O) normals, row by row, reward first.
void ensemble_predict_random(Ensemble *m, const float *obs, const float *act, int n, int all,
                             Rng *r, float *next_obs, float *rew);

// One minibatch of the training loss: x (E, B, O + A) standardised inputs and y (E, B, 1 + O)
// targets, member e on block e, B <= batch_size. Returns the loss above summed over members,
// without the decay; writes its gradient plus the decay's into m->net.p.g (zeroed first) and the
// decay to *decay when not NULL. Training calls it before each Adam step (exposed for tests).
double ensemble_batch_loss(Ensemble *m, const float *x, const float *y, int B, double *decay);

void ensemble_save(const Ensemble *m, CkptWriter *w, const char *prefix);
int ensemble_load(Ensemble *m, CkptReader *r, const char *prefix, char *err, size_t errsz);

// ---- the ensemble as a planning model (ensemble_model.c) ----

// Rows are predicted observations: mode 0 propagates every row through each elite (each member
// its own trajectory, R = L, or E with all_members), mode 1 through one elite drawn per row and
// step (with all_members, one of the E members). Rewards are the model's; `done` is the task's
// env_is_terminal on the predicted observation (task may be NULL: never done).
typedef struct {
  Ensemble *m;
  const Env *task;        // for env_is_terminal only
  int all_members;        // plan with all E members instead of the L elites
  double *start;          // (O) the observation rows start from
  float *rows;            // (R, n, O) each copy's current observation
  int n, mode, cap;
  // scratch
  float *acts;            // (R, n, A) the action replicated per copy
  double *obs1;           // (O) one row in double for env_is_terminal
} EnsembleModel;

void ensemble_model_init(EnsembleModel *em, Ensemble *m, const Env *task, int all_members,
                         PlanModel *out);
void ensemble_model_free(EnsembleModel *em);

// Put the model at observation obs (O).
void ensemble_model_start(EnsembleModel *em, const double *obs);

#endif
