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

// GCC vector extensions: the elementwise loops become branch-free SSE2 code (any x86-64) at -O2
// without machine flags. Tails go through the same lane code, so a value never depends on its
// position in the array (an ensemble member computes exactly what a lone network would).
enum { VL = 4 };
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));
typedef uint32_t vu __attribute__((vector_size(VL * sizeof(uint32_t))));

static inline vf vload(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }

// the first len < VL lanes, the rest zero
static inline vf vload_part(const float *p, size_t len) {
  float t[VL] = {0};
  memcpy(t, p, len * sizeof *p);
  return vload(t);
}

static inline void vstore_part(float *p, vf v, size_t len) {
  float t[VL];
  vstore(t, v);
  memcpy(p, t, len * sizeof *p);
}

// lanes of a where mask is set, else of b
static inline vf vselect(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }

// exp(t) for t <= 0: 2^k e^r with r = t - k log 2 in [-0.35, 0.35] (Cody-Waite split of log 2)
// and a degree-7 Taylor polynomial, within 2 ulp; arguments below -87 (results under 2^-125)
// give 0, so 2^k stays a normal float
static inline vf vexp_neg(vf t) {
  vi tiny = t < -87.0f;
  t = vselect(tiny, (vf){0} - 87.0f, t);
  // round to nearest by the 1.5 * 2^23 trick: exact while |t log2 e| < 2^22
  vf k = (t * 1.44269504f + 12582912.0f) - 12582912.0f;
  vf r = (t - k * 0.693359375f) - k * -2.12194440e-4f;
  vf p = (vf){0} + 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  vu scale = (vu)(__builtin_convertvector(k, vi) + 127) << 23;   // 2^k as float bits
  return vselect(tiny, (vf){0}, p * (vf)scale);
}

// logistic function, stable: exp only sees -|z|, and s(z) = e / (1 + e) for z < 0
static inline vf vsigmoid(vf z) {
  vi neg = z < 0.0f;
  vf e = vexp_neg(vselect(neg, z, -z));   // exp(-|z|)
  vf q = 1.0f / (1.0f + e);
  return vselect(neg, e * q, q);
}

// per-lane bodies of the kernels below; ReLU keeps NaN (it is not <= 0), as torch does
static inline vf relu_lane(vf z) { return (vf)(~(z <= 0.0f) & (vi)z); }

static inline vf relu_grad_lane(vf z, vf dh) { return (vf)((z > 0.0f) & (vi)dh); }

static inline vf swish_lane(vf z) { return z * vsigmoid(z); }

// d/dz z s(z) = s + z s (1 - s) = s + h (1 - s), with s recomputed from z
static inline vf swish_grad_lane(vf z, vf h, vf dh) {
  vf s = vsigmoid(z);
  return dh * (s + h * (1.0f - s));
}

// each kernel: whole blocks of VL, then the tail through zero-padded lanes
static void relu_forward(float *h, const float *z, size_t n) {
  size_t i = 0;
  for (; i + VL <= n; i += VL) vstore(h + i, relu_lane(vload(z + i)));
  if (i < n) vstore_part(h + i, relu_lane(vload_part(z + i, n - i)), n - i);
}

static void relu_backward(float *dz, const float *dh, const float *z, size_t n) {
  size_t i = 0;
  for (; i + VL <= n; i += VL) vstore(dz + i, relu_grad_lane(vload(z + i), vload(dh + i)));
  if (i < n) {
    size_t k = n - i;
    vstore_part(dz + i, relu_grad_lane(vload_part(z + i, k), vload_part(dh + i, k)), k);
  }
}

static void swish_forward(float *h, const float *z, size_t n) {
  size_t i = 0;
  for (; i + VL <= n; i += VL) vstore(h + i, swish_lane(vload(z + i)));
  if (i < n) vstore_part(h + i, swish_lane(vload_part(z + i, n - i)), n - i);
}

static void swish_backward(float *dz, const float *dh, const float *z, const float *h, size_t n) {
  size_t i = 0;
  for (; i + VL <= n; i += VL)
    vstore(dz + i, swish_grad_lane(vload(z + i), vload(h + i), vload(dh + i)));
  if (i < n) {
    size_t k = n - i;
    vf g = swish_grad_lane(vload_part(z + i, k), vload_part(h + i, k), vload_part(dh + i, k));
    vstore_part(dz + i, g, k);
  }
}

// acc (O) += the B rows of x (B, O), row after row (the order a scalar loop would use)
static void add_rows(float *acc, const float *x, int B, int O) {
  for (int r = 0; r < B; r++) {
    const float *row = x + (size_t)r * O;
    int o = 0;
    for (; o + VL <= O; o += VL) vstore(acc + o, vload(acc + o) + vload(row + o));
    for (; o < O; o++) acc[o] += row[o];
  }
}

// ---- layer kernels ----

void nn_dense_forward(float *y, const float *x, const float *W, const float *b,
                      int E, int B, int I, int O) {
  for (int e = 0; e < E; e++) {
    float *ye = y + (size_t)e * B * O;              // (B, O)
    const float *xe = x + (size_t)e * B * I;        // (B, I)
    const float *We = W + (size_t)e * I * O;        // (I, O)
    const float *be = b + (size_t)e * O;            // (O)
    // start from the bias so sgemm adds x W on top (beta = 1) instead of a second pass
    for (int r = 0; r < B; r++) memcpy(ye + (size_t)r * O, be, (size_t)O * sizeof *be);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, O, I, 1.0f, xe, I, We, O, 1.0f,
                ye, O);
  }
}

void nn_dense_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
                       const float *W, int E, int B, int I, int O) {
  for (int e = 0; e < E; e++) {
    const float *dye = dy + (size_t)e * B * O;      // (B, O)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, O, B, 1.0f, x + (size_t)e * B * I, I,
                dye, O, 1.0f, dW + (size_t)e * I * O, O);
    // column sums in the vector unit: cheaper than a GEMM against a ones vector
    add_rows(db + (size_t)e * O, dye, B, O);
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
    relu_forward(h, z, n);
    break;
  case NN_TANH:
    for (size_t i = 0; i < n; i++) h[i] = tanhf(z[i]);
    break;
  case NN_SWISH:
    swish_forward(h, z, n);
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
    relu_backward(dz, dh, z, n);
    break;
  case NN_TANH:
    for (size_t i = 0; i < n; i++) dz[i] = dh[i] * (1.0f - h[i] * h[i]);
    break;
  case NN_SWISH:
    swish_backward(dz, dh, z, h, n);
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
    nn_dense_forward(w->z[l], in, m->p.w + L->w_off, m->p.w + L->b_off, E, B, L->in, L->out);
    if (L->act != NN_IDENTITY)
      nn_act_forward(w->h[l], w->z[l], (size_t)E * B * L->out, L->act);
    in = w->h[l];
  }
  return in;
}

void mlp_backward(Mlp *m, MlpWork *w, const float *dy, float *dx) {
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
    nn_dense_backward(dxl, m->p.g + L->w_off, m->p.g + L->b_off, dz, xl, m->p.w + L->w_off, E,
                      B, L->in, L->out);
    g = dxl;
    cur = next;
  }
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
  for (size_t r = 0; r < rows; r++)
    for (int j = 0; j < D; j++) {
      size_t k = r * (size_t)D + (size_t)j;
      double t = hi[j] - softplus((double)hi[j] - x[k]);
      y[k] = (float)(lo[j] + softplus(t - lo[j]));
    }
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
