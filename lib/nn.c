// nn: dense ensemble layers, activations, MLPs, losses and soft bounds (see nn.h).
#include "nn.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
// OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the shape letter
#undef I

#include "fail.h"

// ---- elementwise kernels ----

// the table of nn_simd.inc, one per instruction set
typedef struct {
  void (*act_forward)(float *h, const float *z, size_t n, NnAct act);   // ReLU, Swish
  void (*relu_backward)(float *dz, const float *dh, const float *z, size_t n);
  void (*swish_backward)(float *dz, const float *dh, const float *z, const float *h, size_t n);
  void (*bias_act)(float *h, float *z, const float *b, int B, int O, NnAct act);
  void (*add_rows)(float *acc, const float *x, int B, int O);
  void (*softbound_forward)(float *y, const float *x, size_t n, int D, const float *hi,
                            const float *lo);
} NnKernels;

#define SIMD_KERNELS "nn_simd.inc"
#include "simd_build.h"

static const NnKernels *kern(void) { return SIMD_TABLE(kernels)[simd_level()]; }

// ---- layer kernels ----

// one member: z (B, O) = x (B, I) W (I, O) + b (O), h = act(z) (h may equal z). sgemm writes
// x W and the bias goes in with the activation, in one pass over z while it is in cache.
static void dense_act(float *h, float *z, const float *x, const float *W, const float *b, int B,
                      int I, int O, NnAct act) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, O, I, 1.0f, x, I, W, O, 0.0f, z, O);
  if (act != NN_TANH) {
    kern()->bias_act(h, z, b, B, O, act);
    return;
  }
  kern()->bias_act(z, z, b, B, O, NN_IDENTITY);
  for (size_t i = 0; i < (size_t)B * O; i++) h[i] = tanhf(z[i]);
}

void nn_dense_forward(float *y, const float *x, const float *W, const float *b,
                      int E, int B, int I, int O) {
  for (int e = 0; e < E; e++)
    dense_act(y + (size_t)e * B * O, y + (size_t)e * B * O, x + (size_t)e * B * I,
              W + (size_t)e * I * O, b + (size_t)e * O, B, I, O, NN_IDENTITY);
}

void nn_dense_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                       const float *W, int E, int B, int I, int O) {
  for (int e = 0; e < E; e++) {
    const float *dye = dy + (size_t)e * B * O;      // (B, O)
    if (dW) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, O, B, 1.0f, x + (size_t)e * B * I,
                  I, dye, O, 1.0f, dW + (size_t)e * I * O, O);
      // column sums in the vector unit: cheaper than a GEMM against a ones vector
      kern()->add_rows(db + (size_t)e * O, dye, B, O);
    }
    if (dx)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, I, O, 1.0f, dye, O,
                  W + (size_t)e * I * O, O, 0.0f, dx + (size_t)e * B * I, I);
  }
}

void nn_act_forward(float *h, const float *z, size_t n, NnAct act) {
  switch (act) {
  case NN_IDENTITY:
    if (h != z) memmove(h, z, n * sizeof *h);
    break;
  case NN_RELU:
  case NN_SWISH:
    kern()->act_forward(h, z, n, act);
    break;
  case NN_TANH:
    for (size_t i = 0; i < n; i++) h[i] = tanhf(z[i]);
    break;
  }
}

void nn_act_backward(float *dz, const float *dh, const float *z, const float *h, size_t n,
                     NnAct act) {
  switch (act) {
  case NN_IDENTITY:
    if (dz != dh) memmove(dz, dh, n * sizeof *dz);
    break;
  case NN_RELU:
    kern()->relu_backward(dz, dh, z, n);
    break;
  case NN_TANH:
    for (size_t i = 0; i < n; i++) dz[i] = dh[i] * (1.0f - h[i] * h[i]);
    break;
  case NN_SWISH:
    kern()->swish_backward(dz, dh, z, h, n);
    break;
  }
}

// ---- networks ----

static int act_known(NnAct a) {
  return a == NN_IDENTITY || a == NN_RELU || a == NN_TANH || a == NN_SWISH;
}

int mlp_init(Mlp *m, int E, int nlayers, const int *sizes, NnAct hidden, NnAct out,
             char *err, size_t errsz) {
  memset(m, 0, sizeof *m);
  if (E < 1) return fail_msg(err, errsz, "mlp: ensemble size %d must be at least 1", E);
  if (nlayers < 1 || nlayers > NN_MAX_LAYERS)
    return fail_msg(err, errsz, "mlp: %d layers, must be 1 to %d", nlayers, NN_MAX_LAYERS);
  if (!act_known(hidden) || !act_known(out))
    return fail_msg(err, errsz, "mlp: unknown activation (hidden %d, output %d)", (int)hidden,
                    (int)out);
  for (int l = 0; l <= nlayers; l++)
    if (sizes[l] < 1)
      return fail_msg(err, errsz, "mlp: layer size %d is %d, must be at least 1", l, sizes[l]);
  // one arena: per layer W (E, I, O) then b (E, O), its size in bytes checked for overflow
  size_t n = 0;
  for (int l = 0; l < nlayers; l++) {
    size_t per = (size_t)sizes[l] * (size_t)sizes[l + 1] + (size_t)sizes[l + 1];
    if (per > (SIZE_MAX / sizeof(float) - n) / (size_t)E)
      return fail_msg(err, errsz, "mlp: layer %d (%d x %d x %d) is too large", l, E, sizes[l],
                      sizes[l + 1]);
    NnLayer *L = &m->layer[l];
    L->in = sizes[l];
    L->out = sizes[l + 1];
    L->act = l + 1 < nlayers ? hidden : out;
    L->w_off = n;
    n += (size_t)E * (size_t)sizes[l] * (size_t)sizes[l + 1];
    L->b_off = n;
    n += (size_t)E * (size_t)sizes[l + 1];
  }
  m->E = E;
  m->nlayers = nlayers;
  m->p.n = n;
  m->p.w = xcalloc(n, sizeof(float), "network parameters");
  m->p.g = xcalloc(n, sizeof(float), "network gradients");
  return 0;
}

void mlp_free(Mlp *m) {
  free(m->p.w);
  free(m->p.g);
  memset(m, 0, sizeof *m);
}

void mlp_init_weights(Mlp *m, NnInit how, Rng *r) {
  for (int l = 0; l < m->nlayers; l++) {
    const NnLayer *L = &m->layer[l];
    size_t nw = (size_t)m->E * L->in * L->out, nb = (size_t)m->E * L->out;
    float *W = m->p.w + L->w_off, *b = m->p.w + L->b_off;
    if (how == NN_INIT_TORCH) {
      float bound = (float)(1.0 / sqrt((double)L->in));
      rng_fill_uniformf(r, W, nw, -bound, bound);
      rng_fill_uniformf(r, b, nb, -bound, bound);
    } else if (how == NN_INIT_XAVIER) {
      float bound = (float)sqrt(6.0 / (double)(L->in + L->out));
      rng_fill_uniformf(r, W, nw, -bound, bound);
      memset(b, 0, nb * sizeof *b);
    } else {
      double s = 0.5 / sqrt((double)L->in);
      for (size_t i = 0; i < nw; i++) W[i] = (float)(s * rng_truncnormal(r, -2.0, 2.0));
      memset(b, 0, nb * sizeof *b);
    }
  }
}

int mlp_in(const Mlp *m) { return m->layer[0].in; }

int mlp_out(const Mlp *m) { return m->layer[m->nlayers - 1].out; }

int mlp_work_init(MlpWork *w, const Mlp *m, int B, char *err, size_t errsz) {
  memset(w, 0, sizeof *w);
  if (B < 1) return fail_msg(err, errsz, "mlp workspace: %d rows, must be at least 1", B);
  size_t rows = (size_t)m->E * (size_t)B;
  int wmax = 1;
  for (int l = 0; l < m->nlayers; l++)
    if (m->layer[l].out > wmax) wmax = m->layer[l].out;
  int in = m->layer[0].in;
  if (rows > SIZE_MAX / sizeof(float) / (size_t)(wmax > in ? wmax : in))
    return fail_msg(err, errsz, "mlp workspace: %d x %d rows is too large", m->E, B);
  w->E = m->E;
  w->B = B;
  w->x = xmalloc(rows * (size_t)in, sizeof(float), "network workspace");
  for (int l = 0; l < m->nlayers; l++) {
    size_t n = rows * (size_t)m->layer[l].out;
    w->z[l] = xmalloc(n, sizeof(float), "network workspace");
    w->h[l] = m->layer[l].act == NN_IDENTITY ? w->z[l]
                                              : xmalloc(n, sizeof(float), "network workspace");
  }
  for (int k = 0; k < 2; k++)
    w->d[k] = xmalloc(rows * (size_t)wmax, sizeof(float), "network workspace");
  return 0;
}

void mlp_work_free(MlpWork *w) {
  free(w->x);
  for (int l = 0; l < NN_MAX_LAYERS; l++) {
    if (w->h[l] != w->z[l]) free(w->h[l]);
    free(w->z[l]);
  }
  free(w->d[0]);
  free(w->d[1]);
  memset(w, 0, sizeof *w);
}

const float *mlp_forward(const Mlp *m, MlpWork *w, const float *x, int B) {
  assert(w->E == m->E && B >= 1 && B <= w->B);
  int E = m->E;
  // the backward pass needs the input after the caller has reused its buffer
  memcpy(w->x, x, (size_t)E * B * m->layer[0].in * sizeof *x);
  w->rows = B;
  const float *in = w->x;   // (E, B, I_l)
  for (int l = 0; l < m->nlayers; l++) {
    const NnLayer *L = &m->layer[l];
    // member by member, so the activation reads z while sgemm has just left it in cache
    for (int e = 0; e < E; e++) {
      size_t yo = (size_t)e * B * L->out;
      dense_act(w->h[l] + yo, w->z[l] + yo, in + (size_t)e * B * L->in,
                m->p.w + L->w_off + (size_t)e * L->in * L->out,
                m->p.w + L->b_off + (size_t)e * L->out, B, L->in, L->out, L->act);
    }
    in = w->h[l];
  }
  return in;
}

// the backward pass; with params 0 only the input gradients (no parameter-gradient GEMMs)
static void backward(Mlp *m, MlpWork *w, const float *dy, float *dx, int params) {
  int E = m->E, B = w->rows;
  assert(w->E == E && B >= 1);
  // g holds dL/dh of the current layer: the caller's dy, then one of the two scratch buffers
  const float *g = dy;
  int cur = -1;   // index of the scratch buffer holding g, -1 for dy
  for (int l = m->nlayers - 1; l >= 0; l--) {
    const NnLayer *L = &m->layer[l];
    const float *dz = g;   // (E, B, O_l)
    if (L->act != NN_IDENTITY) {
      // in place when g is already ours; the caller's dy is read-only
      if (cur < 0) cur = 0;
      nn_act_backward(w->d[cur], g, w->z[l], w->h[l], (size_t)E * B * L->out, L->act);
      dz = w->d[cur];
    }
    int next = cur == 0 ? 1 : 0;
    float *dxl = l > 0 ? w->d[next] : dx;   // (E, B, I_l), NULL skips the first layer's dx
    const float *xl = l > 0 ? w->h[l - 1] : w->x;
    nn_dense_backward(dxl, params ? m->p.g + L->w_off : NULL, params ? m->p.g + L->b_off : NULL,
                      dz, xl, m->p.w + L->w_off, E, B, L->in, L->out);
    g = dxl;
    cur = next;
  }
}

void mlp_backward(Mlp *m, MlpWork *w, const float *dy, float *dx) { backward(m, w, dy, dx, 1); }

void mlp_backward_input(const Mlp *m, MlpWork *w, const float *dy, float *dx) {
  backward((Mlp *)m, w, dy, dx, 0);   // reads the parameters only
}

void mlp_last_columns_backward(Mlp *m, const MlpWork *w, int c0, int n, const float *dy) {
  const NnLayer *L = &m->layer[m->nlayers - 1];
  assert(c0 >= 0 && n >= 1 && c0 + n <= L->out);
  int B = w->rows, I = L->in, O = L->out;
  const float *x = m->nlayers > 1 ? w->h[m->nlayers - 2] : w->x;   // the layer's input (E, B, I)
  for (int e = 0; e < m->E; e++) {
    const float *xe = x + (size_t)e * B * I, *dye = dy + (size_t)e * B * n;
    float *dW = m->p.g + L->w_off + (size_t)e * I * O + c0;
    float *db = m->p.g + L->b_off + (size_t)e * O + c0;
    // dW[:, c0:c0+n] (row stride O) += x^T dy
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, n, B, 1.0f, xe, I, dye, n, 1.0f, dW, O);
    for (int b = 0; b < B; b++)
      for (int j = 0; j < n; j++) db[j] += dye[(size_t)b * n + j];
  }
}

const float *mlp_member_forward(const Mlp *m, int e, MlpWork *w, const float *x, int B) {
  assert(e >= 0 && e < m->E && B >= 1 && B <= w->B);
  const float *in = x;
  for (int l = 0; l < m->nlayers; l++) {
    const NnLayer *L = &m->layer[l];
    const float *W = m->p.w + L->w_off + (size_t)e * L->in * L->out;
    const float *b = m->p.w + L->b_off + (size_t)e * L->out;
    nn_dense_forward(w->z[l], in, W, b, 1, B, L->in, L->out);
    if (L->act != NN_IDENTITY) nn_act_forward(w->h[l], w->z[l], (size_t)B * L->out, L->act);
    in = w->h[l];
  }
  return in;
}

double mlp_weight_decay(Mlp *m, const float *coef) {
  double total = 0.0;
  for (int l = 0; l < m->nlayers; l++) {
    const NnLayer *L = &m->layer[l];
    size_t n = (size_t)m->E * L->in * L->out;
    const float *W = m->p.w + L->w_off;
    float *dW = m->p.g + L->w_off;
    float c = coef[l];
    double sq = 0.0;
    for (size_t i = 0; i < n; i++) {
      sq += (double)W[i] * W[i];
      dW[i] += c * W[i];
    }
    total += 0.5 * c * sq;
  }
  return total;
}

void nn_zero_grad(NnParams *p) { memset(p->g, 0, p->n * sizeof *p->g); }

void nn_copy(NnParams *dst, const NnParams *src) {
  assert(dst->n == src->n);
  memcpy(dst->w, src->w, src->n * sizeof *src->w);
}

void nn_polyak(NnParams *target, const NnParams *src, float tau) {
  assert(target->n == src->n);
  float keep = 1.0f - tau;
  for (size_t i = 0; i < src->n; i++) target->w[i] = keep * target->w[i] + tau * src->w[i];
}

// ---- losses ----

double nn_mse(float *dpred, const float *pred, const float *target, size_t n) {
  double sum = 0.0, scale = 2.0 / (double)n;
  for (size_t i = 0; i < n; i++) {
    double r = (double)pred[i] - target[i];
    sum += r * r;
    dpred[i] = (float)(scale * r);
  }
  return sum / (double)n;
}

double nn_gauss_nll(float *dmean, float *dlogvar, const float *mean, const float *logvar,
                    const float *target, size_t n) {
  double sum = 0.0, inv_n = 1.0 / (double)n;
  for (size_t i = 0; i < n; i++) {
    double r = (double)target[i] - mean[i], inv_var = exp(-(double)logvar[i]);
    double q = r * r * inv_var;   // squared error in units of the variance
    sum += 0.5 * (q + logvar[i]);
    dmean[i] = (float)(-r * inv_var * inv_n);
    dlogvar[i] = (float)(0.5 * (1.0 - q) * inv_n);
  }
  return sum * inv_n;
}

// log(1 + exp(t)) without overflow, and accurate for large negative t
static double softplus(double t) { return (t > 0.0 ? t : 0.0) + log1p(exp(-fabs(t))); }

static double sigmoid(double t) {
  if (t >= 0.0) return 1.0 / (1.0 + exp(-t));
  double e = exp(t);
  return e / (1.0 + e);
}

void nn_softbound_forward(float *y, const float *x, size_t rows, int D, const float *hi,
                          const float *lo) {
  // the bounds tiled to D + SIMD_LANES columns, so that the lanes of a block starting at any
  // column j < D read them contiguously from j
  size_t T = (size_t)D + SIMD_LANES;
  float *tile = xmalloc(2 * T, sizeof *tile, "soft bounds");   // (2, T): hi, then lo
  for (size_t j = 0; j < T; j++) {
    tile[j] = hi[j % (size_t)D];
    tile[T + j] = lo[j % (size_t)D];
  }
  kern()->softbound_forward(y, x, rows * (size_t)D, D, tile, tile + T);
  free(tile);
}

void nn_softbound_backward(float *dx, float *dhi, float *dlo, const float *dy, const float *x,
                           size_t rows, int D, const float *hi, const float *lo) {
  // column by column so the bound gradients are summed in double before one float add
  for (int j = 0; j < D; j++) {
    double shi = 0.0, slo = 0.0;
    for (size_t r = 0; r < rows; r++) {
      size_t k = r * (size_t)D + (size_t)j;
      double s1 = sigmoid((double)hi[j] - x[k]);          // d softplus(hi - x)
      double t = hi[j] - softplus((double)hi[j] - x[k]);
      double s2 = sigmoid(t - lo[j]);                     // d softplus(t - lo)
      double g = dy[k];
      dx[k] = (float)(g * s2 * s1);
      shi += g * s2 * (1.0 - s1);
      slo += g * (1.0 - s2);
    }
    dhi[j] += (float)shi;
    dlo[j] += (float)slo;
  }
}
