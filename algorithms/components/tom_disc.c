// tom_disc: TOM's discriminator (see tom_disc.h).
//
// Forward, row by row (row vectors, layers stored (in, out) as nn.h):
//   z = tanh(x J + bJ)       J (P, 3K) block-diagonal: Ws, Wa, Wn on the s, a, s' columns
//   h = tanh(z W1 + b1)      D = h w2 + b2
// Input gradient of one row:
//   delta = w2 * (1 - h^2)              (H)    dD/d(z W1 + b1)
//   gz    = delta W1^T                  (3K)   dD/dz
//   g     = (gz * (1 - z^2)) J^T        (P)    dD/dx
// Penalty of the row, p = (||g|| - 1)^2, and its gradient: with gbar = 2 (||g|| - 1) g / ||g||
// (0 when ||g|| = 0), gzbar = (gbar J) * (1 - z^2) (z is fixed: the branches are not trained),
// deltabar = gzbar W1 and hbar = deltabar * w2 * (-2 h), so
//   dW1 += gzbar^T delta (through gz = delta W1^T)  +  z^T (hbar * (1 - h^2)) (through h)
//   db1 += hbar * (1 - h^2),  dw2 += deltabar * (1 - h^2),  db2 gets nothing.
// The BCE rows' gradients join the second dW1 term: the cur, dat and interpolate rows are one
// (3n)-row block, so one GEMM takes all of z^T dA.
#include "tom_disc.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
// OpenBLAS's cblas.h pulls in <complex.h>, whose macro I would clash with the letters
#undef I

#include "fail.h"

// ---- layout ----

static int width_in(const TomDisc *d) { return 2 * d->O + d->A; }   // P

static int branch_k(const TomDisc *d) { return d->H / 2; }          // K

// trunk arena: W1 (3K, H), b1 (H), w2 (H), b2 (1)
static float *W1_of(float *p) { return p; }
static size_t b1_off(const TomDisc *d) { return (size_t)3 * branch_k(d) * d->H; }
static size_t w2_off(const TomDisc *d) { return b1_off(d) + (size_t)d->H; }
static size_t b2_off(const TomDisc *d) { return w2_off(d) + (size_t)d->H; }

// J (P, 3K) and bJ (3K) from the branch arena Ws (O, K), bs, Wa (A, K), ba, Wn (O, K), bn
static void build_blocks(TomDisc *d) {
  int O = d->O, A = d->A, K = branch_k(d), P = width_in(d), K3 = 3 * K;
  const float *w = d->branch.w;
  memset(d->J, 0, (size_t)P * K3 * sizeof *d->J);
  const int rows0[3] = {0, O, O + A}, nin[3] = {O, A, O};
  for (int b = 0; b < 3; b++) {
    const float *W = w, *bias = w + (size_t)nin[b] * K;
    for (int i = 0; i < nin[b]; i++)
      memcpy(d->J + (size_t)(rows0[b] + i) * K3 + (size_t)b * K, W + (size_t)i * K,
             (size_t)K * sizeof *W);
    memcpy(d->bJ + (size_t)b * K, bias, (size_t)K * sizeof *bias);
    w = bias + K;
  }
}

// ---- set-up ----

// W (in, out) and b (out) ~ U(-1/sqrt(in), 1/sqrt(in)): nn.h's NN_INIT_TORCH for one layer
static float *torch_linear(float *p, int in, int out, Rng *r) {
  float bound = (float)(1.0 / sqrt((double)in));
  rng_fill_uniformf(r, p, (size_t)in * out, -bound, bound);
  rng_fill_uniformf(r, p + (size_t)in * out, (size_t)out, -bound, bound);
  return p + (size_t)in * out + out;
}

void tom_disc_reset(TomDisc *d, Rng *init) {
  int K = branch_k(d);
  float *p = d->branch.w;
  p = torch_linear(p, d->O, K, init);
  p = torch_linear(p, d->A, K, init);
  torch_linear(p, d->O, K, init);
  p = torch_linear(d->trunk.w, 3 * K, d->H, init);
  torch_linear(p, d->H, 1, init);
  nn_zero_grad(&d->trunk);
  OptimSpec s = d->opt.s;
  optim_free(&d->opt);
  // cannot fail: the same spec and size succeeded in tom_disc_init
  if (optim_init(&d->opt, s, d->trunk.n, 0, NULL, 0) != 0) fail_run("tom_disc: optimiser reset");
}

int tom_disc_init(TomDisc *d, int O, int A, int H, double lr, int rows, Rng *init, char *err,
                  size_t errsz) {
  memset(d, 0, sizeof *d);
  if (O < 1 || A < 1)
    return fail_msg(err, errsz, "tom_disc: observation and action dimensions %d, %d must be at "
                    "least 1", O, A);
  if (H < 2 || H % 2)
    return fail_msg(err, errsz, "tom_disc: hidden width %d must be even and at least 2", H);
  if (rows < 1) return fail_msg(err, errsz, "tom_disc: %d rows, must be at least 1", rows);
  if (H > 1 << 16 || O > 1 << 20 || A > 1 << 20 || rows > 1 << 24)
    return fail_msg(err, errsz, "tom_disc: sizes O %d, A %d, H %d, rows %d are too large", O, A,
                    H, rows);
  if (!(lr >= 0.0) || !isfinite(lr))
    return fail_msg(err, errsz, "tom_disc: learning rate %g must be finite and >= 0", lr);
  d->O = O;
  d->A = A;
  d->H = H;
  d->rows = rows;
  int K = H / 2, P = 2 * O + A;
  size_t nb = (size_t)(2 * O + A) * K + 3 * (size_t)K, nt = (size_t)3 * K * H + 2 * (size_t)H + 1;
  if (optim_init(&d->opt, optim_adam((float)lr), nt, 0, err, errsz) != 0) return -1;
  d->branch.n = nb;
  d->branch.w = xcalloc(nb, sizeof(float), "tom_disc branches");
  d->branch.g = xcalloc(nb, sizeof(float), "tom_disc branch gradients");
  d->trunk.n = nt;
  d->trunk.w = xcalloc(nt, sizeof(float), "tom_disc trunk");
  d->trunk.g = xcalloc(nt, sizeof(float), "tom_disc trunk gradients");
  size_t r3 = (size_t)3 * rows;
  d->J = xmalloc((size_t)P * 3 * K, sizeof(float), "tom_disc scratch");
  d->bJ = xmalloc((size_t)3 * K, sizeof(float), "tom_disc scratch");
  d->x = xmalloc(r3 * P, sizeof(float), "tom_disc scratch");
  d->z = xmalloc(r3 * 3 * K, sizeof(float), "tom_disc scratch");
  d->h = xmalloc(r3 * H, sizeof(float), "tom_disc scratch");
  d->logit = xmalloc(r3, sizeof(float), "tom_disc scratch");
  d->da = xmalloc(r3 * H, sizeof(float), "tom_disc scratch");
  d->delta = xmalloc((size_t)rows * H, sizeof(float), "tom_disc scratch");
  d->gz = xmalloc((size_t)rows * 3 * K, sizeof(float), "tom_disc scratch");
  d->gx = xmalloc((size_t)rows * P, sizeof(float), "tom_disc scratch");
  d->u = xmalloc((size_t)rows, sizeof(float), "tom_disc scratch");
  d->dw2 = xmalloc((size_t)H, sizeof(double), "tom_disc scratch");
  tom_disc_reset(d, init);
  return 0;
}

void tom_disc_free(TomDisc *d) {
  float *f[] = {d->branch.w, d->branch.g, d->trunk.w, d->trunk.g, d->J, d->bJ, d->x, d->z,
                d->h, d->logit, d->da, d->delta, d->gz, d->gx, d->u};
  for (size_t k = 0; k < sizeof f / sizeof *f; k++) free(f[k]);
  free(d->dw2);
  optim_free(&d->opt);
  memset(d, 0, sizeof *d);
}

// ---- forward and input gradient ----

// z, h and logit of the m rows in d->x (rows offset0 .. offset0 + m of the scratch)
static void forward(TomDisc *d, size_t off, int m) {
  int K3 = 3 * branch_k(d), H = d->H, P = width_in(d);
  float *z = d->z + off * K3, *h = d->h + off * H, *lg = d->logit + off;
  const float *w = d->trunk.w;
  nn_dense_forward(z, d->x + off * P, d->J, d->bJ, 1, m, P, K3);
  nn_act_forward(z, z, (size_t)m * K3, NN_TANH);
  nn_dense_forward(h, z, W1_of((float *)w), w + b1_off(d), 1, m, K3, H);
  nn_act_forward(h, h, (size_t)m * H, NN_TANH);
  nn_dense_forward(lg, h, w + w2_off(d), w + b2_off(d), 1, m, H, 1);
}

// delta, gz (dD/dz, then dD/d(x J + bJ) in place) and gx (dD/dx) of m rows of the last
// forward, starting at scratch row off
static void input_grad(TomDisc *d, size_t off, int m) {
  int K3 = 3 * branch_k(d), H = d->H, P = width_in(d);
  const float *z = d->z + off * K3, *h = d->h + off * H, *w2 = d->trunk.w + w2_off(d);
  for (int i = 0; i < m; i++)
    for (int k = 0; k < H; k++) {
      float hk = h[(size_t)i * H + k];
      d->delta[(size_t)i * H + k] = w2[k] * (1.0f - hk * hk);
    }
  nn_dense_backward(d->gz, NULL, NULL, d->delta, z, d->trunk.w, 1, m, K3, H);
  // gx = (gz * (1 - z^2)) J^T
  for (size_t j = 0; j < (size_t)m * K3; j++) d->gz[j] *= 1.0f - z[j] * z[j];
  nn_dense_backward(d->gx, NULL, NULL, d->gz, NULL, d->J, 1, m, P, K3);
}

void tom_disc_logit(TomDisc *d, const float *x, int n, float *out) {
  assert(n >= 0 && n <= d->rows);
  if (n == 0) return;
  build_blocks(d);
  memcpy(d->x, x, (size_t)n * width_in(d) * sizeof *x);
  forward(d, 0, n);
  memcpy(out, d->logit, (size_t)n * sizeof *out);
}

void tom_disc_input_grad(TomDisc *d, const float *x, int n, float *gx) {
  assert(n >= 0 && n <= d->rows);
  if (n == 0) return;
  build_blocks(d);
  memcpy(d->x, x, (size_t)n * width_in(d) * sizeof *x);
  forward(d, 0, n);
  input_grad(d, 0, n);
  memcpy(gx, d->gx, (size_t)n * width_in(d) * sizeof *gx);
}

// ---- loss ----

// max(l, 0) - l y + log(1 + exp(-|l|))
static double bce(double l, double y) { return (l > 0.0 ? l : 0.0) - l * y + log1p(exp(-fabs(l))); }

static double sigmoid(double l) {
  return l >= 0.0 ? 1.0 / (1.0 + exp(-l)) : exp(l) / (1.0 + exp(l));
}

double tom_disc_loss(TomDisc *d, const float *x_cur, const float *x_dat, const float *u, int n,
                     double label_dat, double lambda, double *gp) {
  assert(n >= 1 && n <= d->rows);
  int K3 = 3 * branch_k(d), H = d->H, P = width_in(d);
  int pen = lambda != 0.0;
  int m = pen ? 3 * n : 2 * n;   // rows: cur, dat, then the interpolates
  size_t nP = (size_t)n * P;
  build_blocks(d);
  memcpy(d->x, x_cur, nP * sizeof *x_cur);
  memcpy(d->x + nP, x_dat, nP * sizeof *x_dat);
  if (pen) {
    float *xt = d->x + 2 * nP;
    for (int i = 0; i < n; i++) {
      float ui = u[i], vi = 1.0f - ui;
      for (int j = 0; j < P; j++) {
        size_t k = (size_t)i * P + j;
        xt[k] = ui * x_cur[k] + vi * x_dat[k];
      }
    }
  }
  forward(d, 0, m);

  nn_zero_grad(&d->trunk);
  float *g = d->trunk.g, *dW1 = W1_of(g), *db1 = g + b1_off(d), *dw2 = g + w2_off(d);
  const float *W1 = d->trunk.w, *w2 = d->trunk.w + w2_off(d);
  double lcur = 0.0, ldat = 0.0, db2 = 0.0, *dw2_acc = d->dw2;
  memset(dw2_acc, 0, (size_t)H * sizeof *dw2_acc);

  // BCE rows: dL/dD = (sigma(D) - y) / n; dA = dL/dD w2 (1 - h^2)
  for (int i = 0; i < 2 * n; i++) {
    double l = d->logit[i], y = i < n ? 1.0 : label_dat;
    if (i < n) lcur += bce(l, y);
    else ldat += bce(l, y);
    double dl = (sigmoid(l) - y) / n;
    float dlf = (float)dl;
    db2 += dl;
    const float *hi = d->h + (size_t)i * H;
    float *dai = d->da + (size_t)i * H;
    for (int k = 0; k < H; k++) {
      dw2_acc[k] += dl * hi[k];
      dai[k] = dlf * w2[k] * (1.0f - hi[k] * hi[k]);
    }
  }

  double pen_sum = 0.0;
  if (pen) {
    size_t off = (size_t)2 * n;
    input_grad(d, off, n);   // delta, gx of the interpolates
    // gbar = (lambda / n) 2 (||g|| - 1) g / ||g||, in place of gx
    for (int i = 0; i < n; i++) {
      float *gi = d->gx + (size_t)i * P;
      double s = 0.0;
      for (int j = 0; j < P; j++) s += (double)gi[j] * gi[j];
      double norm = sqrt(s), c = norm - 1.0;
      pen_sum += c * c;
      float f = norm > 0.0 ? (float)(lambda / n * 2.0 * c / norm) : 0.0f;
      for (int j = 0; j < P; j++) gi[j] *= f;
    }
    // gzbar = (gbar J) * (1 - z^2), in place of gz
    const float *zt = d->z + off * K3;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, K3, P, 1.0f, d->gx, P, d->J, K3,
                0.0f, d->gz, K3);
    for (size_t j = 0; j < (size_t)n * K3; j++) d->gz[j] *= 1.0f - zt[j] * zt[j];
    // dW1 += gzbar^T delta
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K3, H, n, 1.0f, d->gz, K3, d->delta, H,
                1.0f, dW1, H);
    // deltabar = gzbar W1, into the interpolates' rows of da
    float *dat = d->da + off * H;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, K3, 1.0f, d->gz, K3, W1, H,
                0.0f, dat, H);
    const float *ht = d->h + off * H;
    for (int i = 0; i < n; i++) {
      float *di = dat + (size_t)i * H;
      const float *hi = ht + (size_t)i * H;
      for (int k = 0; k < H; k++) {
        float q = 1.0f - hi[k] * hi[k];
        dw2_acc[k] += (double)di[k] * q;
        di[k] *= w2[k] * -2.0f * hi[k] * q;   // hbar (1 - h^2)
      }
    }
  }
  // dW1 += z^T dA and db1 += column sums of dA over all m rows (the BCE rows and, for the
  // penalty, the rows through h)
  nn_dense_backward(NULL, dW1, db1, d->da, d->z, W1, 1, m, K3, H);
  for (int k = 0; k < H; k++) dw2[k] = (float)dw2_acc[k];
  g[b2_off(d)] = (float)db2;

  double gpv = pen ? lambda * pen_sum / n : 0.0;
  if (gp) *gp = gpv;
  return lcur / n + ldat / n + gpv;
}

double tom_disc_step(TomDisc *d, const float *x_cur, const float *x_dat, int n, double label_dat,
                     double lambda, Rng *r) {
  rng_fill_uniformf(r, d->u, (size_t)n, 0.0f, 1.0f);
  double loss = tom_disc_loss(d, x_cur, x_dat, d->u, n, label_dat, lambda, NULL);
  optim_step(&d->opt, d->trunk.w, d->trunk.g);
  return loss;
}

// ---- a round ----

// rows idx[0..n) of src (., P) into dst (n, P)
static void gather(float *dst, const float *src, const size_t *idx, int n, int P) {
  for (int i = 0; i < n; i++)
    memcpy(dst + (size_t)i * P, src + idx[i] * P, (size_t)P * sizeof *dst);
}

// the share of the n rows x (n, P) with logit > 0 (sign 1) or < 0 (sign -1), in chunks of rows
static double share(TomDisc *d, const float *x, size_t n, int sign, float *out) {
  size_t P = (size_t)width_in(d), hits = 0;
  for (size_t i0 = 0; i0 < n; i0 += (size_t)d->rows) {
    int m = (int)(n - i0 < (size_t)d->rows ? n - i0 : (size_t)d->rows);
    tom_disc_logit(d, x + i0 * P, m, out);
    for (int i = 0; i < m; i++) hits += sign > 0 ? out[i] > 0.0f : out[i] < 0.0f;
  }
  return (double)hits / (double)n;
}

double tom_disc_train(TomDisc *d, const float *cur, size_t R, const float *dat, size_t N,
                      int epochs, int batch, double label_dat, double lambda, Rng *init, Rng *r,
                      double *acc) {
  assert(R >= 1 && N >= 1 && epochs >= 0 && batch >= 1 && batch <= d->rows);
  int P = width_in(d);
  size_t b = (size_t)batch, nbc = (R + b - 1) / b, nbd = (N + b - 1) / b;
  size_t steps = nbc < nbd ? nbc : nbd, take = steps * b < N ? steps * b : N;
  size_t *pc = xmalloc(R, sizeof *pc, "tom_disc recent order");
  size_t *pd = xmalloc(N, sizeof *pd, "tom_disc replay order");
  float *xc = xmalloc(b * P, sizeof *xc, "tom_disc minibatch");
  float *xd = xmalloc(b * P, sizeof *xd, "tom_disc minibatch");
  float *out = acc ? xmalloc((size_t)d->rows, sizeof *out, "tom_disc logits") : NULL;
  for (size_t i = 0; i < R; i++) pc[i] = i;
  for (size_t i = 0; i < N; i++) pd[i] = i;
  tom_disc_reset(d, init);
  double mean = NAN;   // no epoch: the fresh network's logits
  for (int e = 0; e < epochs; e++) {
    for (size_t i = R; i-- > 1;) {
      size_t j = (size_t)rng_below(r, (uint64_t)i + 1), t = pc[i];
      pc[i] = pc[j];
      pc[j] = t;
    }
    for (size_t i = 0; i < take && i + 1 < N; i++) {
      size_t j = i + (size_t)rng_below(r, (uint64_t)(N - i)), t = pd[i];
      pd[i] = pd[j];
      pd[j] = t;
    }
    double sum = 0.0;
    for (size_t k = 0; k < steps; k++) {
      size_t c0 = k * b, nc = R - c0 < b ? R - c0 : b, nd = N - c0 < b ? N - c0 : b;
      int n = (int)(nc < nd ? nc : nd);
      gather(xc, cur, pc + c0, n, P);
      gather(xd, dat, pd + c0, n, P);
      sum += tom_disc_step(d, xc, xd, n, label_dat, lambda, r);
    }
    mean = sum / (double)steps;
    if (!isfinite(mean)) fail_diverged("tom_disc: training loss %g in epoch %d", mean, e + 1);
  }
  if (acc) *acc = 0.5 * (share(d, cur, R, 1, out) + share(d, dat, N, -1, out));
  free(pc);
  free(pd);
  free(xc);
  free(xd);
  free(out);
  return mean;
}
