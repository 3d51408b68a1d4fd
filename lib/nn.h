// nn: float32 dense networks on cblas_sgemm, batch-major, with batched ensembles.
//
// Letters used for shapes: E ensemble members, B rows (batch) per member, I inputs, O outputs.
// Every layer is an ensemble layer: E members with their own weights, computed in one call; E = 1
// is an ordinary layer. Tensors are row-major; member e's block comes first, so x is (E, B, I).
//
// A network keeps every parameter in one arena (NnParams.w); gradients (NnParams.g) and optimiser
// moments use the same layout, so zeroing, Adam, Polyak averaging and checkpoints are flat loops.
// Backward functions accumulate parameter gradients (+=) and write input gradients (=).
#ifndef MB_NN_H
#define MB_NN_H

#include <stddef.h>
#include "rng.h"

#define NN_MAX_LAYERS 8

typedef enum { NN_IDENTITY, NN_RELU, NN_TANH, NN_SWISH } NnAct;

typedef enum {
  NN_INIT_TORCH,      // W, b ~ U(-1/sqrt(I), 1/sqrt(I)): PyTorch's nn.Linear default (SAC codes)
  NN_INIT_TRUNCNORM,  // W ~ N(0, s^2) cut at +-2s, s = 1/(2 sqrt(I)), b = 0 (PETS ensembles)
  NN_INIT_XAVIER      // W ~ U(-sqrt(6/(I+O)), sqrt(6/(I+O))), b = 0: xavier_uniform_ (TOM's dual Q)
} NnInit;

typedef struct {
  size_t n;   // number of floats
  float *w;   // parameters (n)
  float *g;   // gradients (n), same layout as w
} NnParams;

typedef struct {
  int in, out;    // I, O per member
  NnAct act;      // activation applied to the layer's output
  size_t w_off;   // W (E, I, O) starts at p.w + w_off
  size_t b_off;   // b (E, O) starts at p.w + b_off
} NnLayer;

typedef struct {
  int E;                          // ensemble members (1 = plain network)
  int nlayers;
  NnLayer layer[NN_MAX_LAYERS];
  NnParams p;
} Mlp;

// Activations of one forward pass, kept for the backward pass. One workspace per concurrent use
// of a network (e.g. critic on replay actions and critic on policy actions need two).
typedef struct {
  int E, B;                       // sizes it was made for (B = maximum rows per member)
  int rows;                       // rows per member of the last forward
  float *x;                       // copy of the input (E, B, I0)
  float *z[NN_MAX_LAYERS];        // pre-activations (E, B, O_l)
  float *h[NN_MAX_LAYERS];        // post-activations (E, B, O_l); aliases z[l] for NN_IDENTITY
  float *d[2];                    // backward scratch (E, B, max width)
} MlpWork;

// ---- layer kernels ----

// y (E, B, O) = x (E, B, I) W (E, I, O) + b (E, O), member by member.
void nn_dense_forward(float *y, const float *x, const float *W, const float *b,
                      int E, int B, int I, int O);

// dW (E, I, O) += x^T dy and db (E, O) += column sums of dy if dW != NULL; dx (E, B, I) = dy W^T
// if dx != NULL.
void nn_dense_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                       const float *W, int E, int B, int I, int O);

// h = act(z), n elements (h may equal z).
void nn_act_forward(float *h, const float *z, size_t n, NnAct act);

// dz = dh * act'(z), where h = act(z) (dz may equal dh).
void nn_act_backward(float *dz, const float *dh, const float *z, const float *h, size_t n,
                     NnAct act);

// ---- networks ----

// sizes has nlayers + 1 entries: input, hidden..., output. Hidden layers use `hidden`, the last
// layer uses `out`. Returns 0, or -1 with a message in err.
int mlp_init(Mlp *m, int E, int nlayers, const int *sizes, NnAct hidden, NnAct out,
             char *err, size_t errsz);
void mlp_free(Mlp *m);
void mlp_init_weights(Mlp *m, NnInit how, Rng *r);
int mlp_in(const Mlp *m);
int mlp_out(const Mlp *m);

int mlp_work_init(MlpWork *w, const Mlp *m, int B, char *err, size_t errsz);
void mlp_work_free(MlpWork *w);

// Forward pass of B <= w->B rows per member: x is (E, B, I0); returns the output (E, B, O_last),
// which lives in w until the next forward.
const float *mlp_forward(const Mlp *m, MlpWork *w, const float *x, int B);

// Backward pass of the last forward on w: dy is dL/doutput (E, B, O_last). Accumulates dL/dparams
// into m->p.g; writes dL/dx (E, B, I0) when dx != NULL.
void mlp_backward(Mlp *m, MlpWork *w, const float *dy, float *dx);

// The same backward pass without the parameter gradients (m->p.g untouched): dx (E, B, I0) only,
// e.g. an actor's loss through a critic that it does not train.
void mlp_backward_input(const Mlp *m, MlpWork *w, const float *dy, float *dx);

// Forward pass of member e alone on B <= w->B rows x (B, I0), in w's buffers (member block 0):
// the same values as block e of an ensemble pass. Returns the output (B, O_last).
// The parameter gradient of the last layer's output columns [c0, c0 + n) alone, from dy (E, B, n)
// = dL/d(those columns) of the last forward on w: dW[:, c0:c0+n] += x^T dy, db[c0:c0+n] += column
// sums, nothing into the layers below. For outputs that read a shared trunk through a
// stop-gradient (a mixture policy's gate): pass zeros for those columns to mlp_backward, then
// call this.
void mlp_last_columns_backward(Mlp *m, const MlpWork *w, int c0, int n, const float *dy);

const float *mlp_member_forward(const Mlp *m, int e, MlpWork *w, const float *x, int B);

// L2 penalty 0.5 * sum_l coef[l] * ||W_l||^2 on weights (not biases), summed over members: adds
// its gradient to m->p.g and returns its value (PETS-style per-layer weight decay).
double mlp_weight_decay(Mlp *m, const float *coef);

void nn_zero_grad(NnParams *p);
void nn_copy(NnParams *dst, const NnParams *src);            // same n required

// Polyak averaging: target <- (1 - tau) * target + tau * src.
void nn_polyak(NnParams *target, const NnParams *src, float tau);

// ---- losses (value returned in double; gradients written, not accumulated) ----

// mean over n of (pred - target)^2.
double nn_mse(float *dpred, const float *pred, const float *target, size_t n);

// mean over n of 0.5 * ((target - mean)^2 * exp(-logvar) + logvar): Gaussian negative
// log-likelihood without the constant (the PETS model loss).
double nn_gauss_nll(float *dmean, float *dlogvar, const float *mean, const float *logvar,
                    const float *target, size_t n);

// Soft bounds of a predicted log-variance, per output column j of a (rows, D) array (PETS):
//   y = hi_j - softplus(hi_j - x);  y = lo_j + softplus(y - lo_j).
void nn_softbound_forward(float *y, const float *x, size_t rows, int D, const float *hi,
                          const float *lo);

// Backward of nn_softbound_forward: writes dx (rows, D); accumulates dhi (D), dlo (D).
void nn_softbound_backward(float *dx, float *dhi, float *dlo, const float *dy, const float *x,
                           size_t rows, int D, const float *hi, const float *lo);

#endif
