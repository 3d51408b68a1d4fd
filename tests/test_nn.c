// Tests of nn: float32 gradients against central differences of double-precision reference
// implementations written here, ensembles against separate networks, the parameter utilities,
// initialisation, losses and soft bounds.
//
// Error measure of a gradient g against its reference r (n values):
//   max_i |g_i - r_i| / max(max_i |r_i|, 1e-3)
// The references run in double and the differences use h = 1e-6 relative, so their own error is
// near 1e-9; what remains is float32 rounding in the library, 6e-8 per operation. The largest
// errors measured here are 3.1e-7 (gradients) and 1.4e-7 (forward values), so the bounds below
// leave a margin of about 10 and still catch any wrong term (a scale error of 1e-4 fails).
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nn.h"
#include "simd.h"
#include "rng.h"

#define GRAD_TOL 3e-6
#define FWD_TOL 1e-6

static char err[256];

// ---- double-precision references ----

static double ref_sigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

static double ref_act(double z, NnAct act) {
  switch (act) {
  case NN_RELU: return z > 0 ? z : 0.0;
  case NN_TANH: return tanh(z);
  case NN_SWISH: return z * ref_sigmoid(z);
  default: return z;
  }
}

static void ref_dense(double *y, const double *x, const double *W, const double *b, int E, int B,
                      int I, int O) {
  for (int e = 0; e < E; e++)
    for (int r = 0; r < B; r++)
      for (int o = 0; o < O; o++) {
        double s = b[e * O + o];
        for (int i = 0; i < I; i++) s += x[(e * B + r) * I + i] * W[(e * I + i) * O + o];
        y[(e * B + r) * O + o] = s;
      }
}

// forward pass of m's architecture on double parameters w (m's layout); out is (E, B, O_last).
// Returns the smallest |pre-activation| over ReLU layers (distance to the kink), else inf.
static double ref_mlp(double *out, const Mlp *m, const double *w, const double *x, int B) {
  int E = m->E;
  double kink = INFINITY;
  size_t nin = (size_t)E * B * m->layer[0].in;
  double *in = dalloc(nin);
  memcpy(in, x, nin * sizeof *in);
  for (int l = 0; l < m->nlayers; l++) {
    const NnLayer *L = &m->layer[l];
    size_t n = (size_t)E * B * L->out;
    double *z = dalloc(n);
    ref_dense(z, in, w + L->w_off, w + L->b_off, E, B, L->in, L->out);
    for (size_t k = 0; k < n; k++) {
      if (L->act == NN_RELU && fabs(z[k]) < kink) kink = fabs(z[k]);
      z[k] = ref_act(z[k], L->act);
    }
    free(in);
    in = z;
  }
  memcpy(out, in, (size_t)E * B * mlp_out(m) * sizeof *out);
  free(in);
  return kink;
}

static double dot(const double *a, const double *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

// ---- dense layer ----

typedef struct {
  int E, B, I, O;
} DenseCase;

typedef struct {
  DenseCase c;
  double *x, *W, *b, *cy, *y;   // cy weights the loss L = sum cy * y
} DenseCtx;

static double dense_loss(void *p) {
  DenseCtx *d = p;
  ref_dense(d->y, d->x, d->W, d->b, d->c.E, d->c.B, d->c.I, d->c.O);
  return dot(d->cy, d->y, (size_t)d->c.E * d->c.B * d->c.O);
}

ParameterizedTestParameters(nn, dense_gradients) {
  static DenseCase cases[] = {{1, 5, 7, 3}, {3, 5, 7, 3}, {2, 1, 1, 1}, {1, 4, 9, 6}, {2, 3, 2, 9}};
  return cr_make_param_array(DenseCase, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(DenseCase *c, nn, dense_gradients) {
  int E = c->E, B = c->B, I = c->I, O = c->O;
  size_t nx = (size_t)E * B * I, nw = (size_t)E * I * O, nb = (size_t)E * O, ny = (size_t)E * B * O;
  float *x = falloc(nx), *W = falloc(nw), *b = falloc(nb), *dy = falloc(ny), *y = falloc(ny);
  float *dx = falloc(nx), *dW = falloc(nw), *db = falloc(nb);
  fill(x, nx, -1, 1, 1), fill(W, nw, -1, 1, 2), fill(b, nb, -1, 1, 3), fill(dy, ny, -1, 1, 4);
  nn_dense_forward(y, x, W, b, E, B, I, O);

  DenseCtx d = {*c, to_double(x, nx), to_double(W, nw), to_double(b, nb), to_double(dy, ny),
                dalloc(ny)};
  dense_loss(&d);
  cr_expect_leq(rel_err(y, d.y, ny), FWD_TOL, "forward: %g", rel_err(y, d.y, ny));

  // parameter gradients accumulate onto what is there; dx is overwritten
  for (size_t i = 0; i < nw; i++) dW[i] = 1.0f;
  for (size_t i = 0; i < nb; i++) db[i] = 1.0f;
  for (size_t i = 0; i < nx; i++) dx[i] = NAN;
  nn_dense_backward(dx, dW, db, dy, x, W, E, B, I, O);

  double *fd = dalloc(nx + nw + nb);
  fd_grad(fd, d.x, nx, dense_loss, &d);
  fd_grad(fd + nx, d.W, nw, dense_loss, &d);
  fd_grad(fd + nx + nw, d.b, nb, dense_loss, &d);
  double ex = rel_err(dx, fd, nx), eW = rel_err_off(dW, 1.0f, fd + nx, nw),
         eb = rel_err_off(db, 1.0f, fd + nx + nw, nb);
  cr_expect_leq(ex, GRAD_TOL, "dx: %g", ex);
  cr_expect_leq(eW, GRAD_TOL, "dW: %g", eW);
  cr_expect_leq(eb, GRAD_TOL, "db: %g", eb);

  // without dx the parameter gradients are the same
  float *dW2 = falloc(nw), *db2 = falloc(nb);
  for (size_t i = 0; i < nw; i++) dW2[i] = 1.0f;
  for (size_t i = 0; i < nb; i++) db2[i] = 1.0f;
  nn_dense_backward(NULL, dW2, db2, dy, x, W, E, B, I, O);
  cr_expect_arr_eq(dW2, dW, nw * sizeof *dW);
  cr_expect_arr_eq(db2, db, nb * sizeof *db);

  free(x), free(W), free(b), free(dy), free(y), free(dx), free(dW), free(db), free(dW2), free(db2);
  free(d.x), free(d.W), free(d.b), free(d.cy), free(d.y), free(fd);
}

// ---- activations ----

typedef struct {
  NnAct act;
} ActCase;

ParameterizedTestParameters(nn, activations) {
  static ActCase cases[] = {{NN_IDENTITY}, {NN_RELU}, {NN_TANH}, {NN_SWISH}};
  return cr_make_param_array(ActCase, cases, sizeof cases / sizeof *cases);
}

// forward per element against the double function (relative, with an absolute floor far below
// any value that matters), backward against its central difference
ParameterizedTest(ActCase *c, nn, activations) {
  enum { N = 203 };   // odd, so the tail of the 16-lane loops runs too
  float z[N], h[N], dh[N], dz[N], buf[N];
  fill(z, N, -8, 8, 5);
  fill(dh, N, -1, 1, 6);
  // far values check that the sigmoid and tanh neither overflow nor lose the sign
  z[0] = -100, z[1] = -30, z[2] = 30, z[3] = 100, z[4] = -87.5f, z[5] = 1e-3f, z[6] = -1e-3f;
  for (int i = 0; i < N; i++)
    if (fabsf(z[i]) < 1e-3f) z[i] = 1e-3f;   // away from ReLU's kink
  nn_act_forward(h, z, N, c->act);
  nn_act_backward(dz, dh, z, h, N, c->act);
  double dref[N];
  for (int i = 0; i < N; i++) {
    double ref = ref_act(z[i], c->act);
    cr_expect_leq(fabs(h[i] - ref), 1e-6 * fabs(ref) + 1e-30, "act(%.9g) = %.9g, not %.17g", z[i],
                  h[i], ref);
    double e = 1e-6 * fmax(1.0, fabs(z[i]));
    dref[i] = dh[i] * (ref_act(z[i] + e, c->act) - ref_act(z[i] - e, c->act)) / (2 * e);
  }
  double eg = rel_err(dz, dref, N);
  cr_expect_leq(eg, GRAD_TOL, "backward: %g", eg);
  for (int i = 0; i < N; i++) cr_expect(isfinite(h[i]) && isfinite(dz[i]));
  // in place gives the same bits
  memcpy(buf, z, sizeof buf);
  nn_act_forward(buf, buf, N, c->act);
  cr_expect_arr_eq(buf, h, sizeof h);
  memcpy(buf, dh, sizeof buf);
  nn_act_backward(buf, buf, z, h, N, c->act);
  cr_expect_arr_eq(buf, dz, sizeof dz);
}

// a diverging network must show NaN, not hide it behind an activation
Test(nn, activations_keep_nan) {
  static const NnAct acts[] = {NN_IDENTITY, NN_RELU, NN_TANH, NN_SWISH};
  for (int k = 0; k < 4; k++) {
    float z[5] = {1, NAN, -1, 2, NAN}, h[5];
    nn_act_forward(h, z, 5, acts[k]);
    cr_expect(isnan(h[1]) && isnan(h[4]), "activation %d", (int)acts[k]);
    cr_expect(!isnan(h[0]) && !isnan(h[2]) && !isnan(h[3]), "activation %d", (int)acts[k]);
  }
}

// ---- networks ----

typedef struct {
  NnAct hidden, out;
  int E, nlayers;
} MlpCase;

typedef struct {
  const Mlp *m;
  int B;
  double *w, *x, *cy, *y;
} MlpCtx;

static double mlp_loss(void *p) {
  MlpCtx *c = p;
  ref_mlp(c->y, c->m, c->w, c->x, c->B);
  return dot(c->cy, c->y, (size_t)c->m->E * c->B * mlp_out(c->m));
}

ParameterizedTestParameters(nn, mlp_gradients) {
  static MlpCase cases[] = {
      {NN_RELU, NN_IDENTITY, 2, 3},  {NN_TANH, NN_IDENTITY, 2, 3},
      {NN_SWISH, NN_IDENTITY, 2, 3}, {NN_IDENTITY, NN_IDENTITY, 2, 3},
      {NN_SWISH, NN_TANH, 1, 4},     {NN_TANH, NN_SWISH, 3, 1},
      {NN_RELU, NN_RELU, 1, 2},
  };
  return cr_make_param_array(MlpCase, cases, sizeof cases / sizeof *cases);
}

// L = sum cy * mlp(x): gradients of all parameters and of the input
ParameterizedTest(MlpCase *c, nn, mlp_gradients) {
  static const int sizes[] = {4, 6, 5, 3, 7};
  int sz[NN_MAX_LAYERS + 1];
  memcpy(sz, sizes, sizeof sizes);
  sz[c->nlayers] = 3;
  Mlp m;
  MlpWork w;
  int B = 5, E = c->E;
  cr_assert_eq(mlp_init(&m, E, c->nlayers, sz, c->hidden, c->out, err, sizeof err), 0, "%s", err);
  // a workspace for more rows than used: the pass must work on the first B
  cr_assert_eq(mlp_work_init(&w, &m, B + 2, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 7, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  size_t nx = (size_t)E * B * mlp_in(&m), ny = (size_t)E * B * mlp_out(&m);
  float *x = falloc(nx), *dy = falloc(ny), *dx = falloc(nx);
  fill(x, nx, -2, 2, 8);
  fill(dy, ny, -1, 1, 9);

  const float *y = mlp_forward(&m, &w, x, B);
  cr_assert_eq(w.rows, B);
  MlpCtx ctx = {&m, B, to_double(m.p.w, m.p.n), to_double(x, nx), to_double(dy, ny), dalloc(ny)};
  double kink = ref_mlp(ctx.y, &m, ctx.w, ctx.x, B);
  cr_assert_gt(kink, 1e-4, "a ReLU input at %g is too near 0 for finite differences", kink);
  double ef = rel_err(y, ctx.y, ny);
  cr_expect_leq(ef, FWD_TOL, "forward: %g", ef);

  nn_zero_grad(&m.p);
  for (size_t i = 0; i < nx; i++) dx[i] = NAN;
  mlp_backward(&m, &w, dy, dx);
  double *fd = dalloc(m.p.n + nx);
  fd_grad(fd, ctx.w, m.p.n, mlp_loss, &ctx);
  fd_grad(fd + m.p.n, ctx.x, nx, mlp_loss, &ctx);
  double ep = rel_err(m.p.g, fd, m.p.n), ex = rel_err(dx, fd + m.p.n, nx);
  cr_expect_leq(ep, GRAD_TOL, "parameters: %g", ep);
  cr_expect_leq(ex, GRAD_TOL, "input: %g", ex);

  // a second backward accumulates (the same gradient again); dx NULL skips only dx
  float *g1 = falloc(m.p.n);
  memcpy(g1, m.p.g, m.p.n * sizeof *g1);
  mlp_backward(&m, &w, dy, NULL);
  for (size_t i = 0; i < m.p.n; i++)
    cr_expect_float_eq(m.p.g[i], 2.0f * g1[i], 1e-6f * (1.0f + fabsf(g1[i])), "param %zu", i);
  nn_zero_grad(&m.p);
  mlp_backward(&m, &w, dy, NULL);
  cr_expect_arr_eq(m.p.g, g1, m.p.n * sizeof *g1);

  free(x), free(dy), free(dx), free(fd), free(g1);
  free(ctx.w), free(ctx.x), free(ctx.cy), free(ctx.y);
  mlp_work_free(&w);
  mlp_free(&m);
}

// ---- ensembles against separate networks ----

// copies member e of ensemble src into the plain network dst (same architecture, E = 1)
static void take_member(Mlp *dst, const Mlp *src, int e) {
  for (int l = 0; l < src->nlayers; l++) {
    const NnLayer *L = &src->layer[l];
    size_t nw = (size_t)L->in * L->out, nb = (size_t)L->out;
    memcpy(dst->p.w + dst->layer[l].w_off, src->p.w + L->w_off + e * nw, nw * sizeof(float));
    memcpy(dst->p.w + dst->layer[l].b_off, src->p.w + L->b_off + e * nb, nb * sizeof(float));
  }
}

static void expect_member_grads(const Mlp *one, const Mlp *ens, int e) {
  for (int l = 0; l < ens->nlayers; l++) {
    const NnLayer *L = &ens->layer[l];
    size_t nw = (size_t)L->in * L->out, nb = (size_t)L->out;
    cr_expect_arr_eq(one->p.g + one->layer[l].w_off, ens->p.g + L->w_off + e * nw,
                     nw * sizeof(float), "dW of layer %d member %d", l, e);
    cr_expect_arr_eq(one->p.g + one->layer[l].b_off, ens->p.g + L->b_off + e * nb,
                     nb * sizeof(float), "db of layer %d member %d", l, e);
  }
}

typedef struct {
  NnAct act;
} EnsCase;

ParameterizedTestParameters(nn, ensemble_equals_separate_networks) {
  static EnsCase cases[] = {{NN_RELU}, {NN_SWISH}, {NN_TANH}};
  return cr_make_param_array(EnsCase, cases, sizeof cases / sizeof *cases);
}

// bitwise: each member runs the same sgemm calls and the same elementwise arithmetic
ParameterizedTest(EnsCase *c, nn, ensemble_equals_separate_networks) {
  enum { E = 3, B = 11 };
  static const int sizes[] = {5, 9, 7, 2};
  Mlp ens, one;
  MlpWork we, wo;
  cr_assert_eq(mlp_init(&ens, E, 3, sizes, c->act, NN_IDENTITY, err, sizeof err), 0);
  cr_assert_eq(mlp_init(&one, 1, 3, sizes, c->act, NN_IDENTITY, err, sizeof err), 0);
  cr_assert_eq(mlp_work_init(&we, &ens, B, err, sizeof err), 0);
  cr_assert_eq(mlp_work_init(&wo, &one, B, err, sizeof err), 0);
  Rng r;
  rng_init(&r, 11, RNG_STREAM_INIT);
  mlp_init_weights(&ens, NN_INIT_TORCH, &r);
  float x[E * B * 5], dy[E * B * 2], dx[E * B * 5], dx1[B * 5];
  fill(x, E * B * 5, -1, 1, 12);
  fill(dy, E * B * 2, -1, 1, 13);
  const float *y = mlp_forward(&ens, &we, x, B);
  nn_zero_grad(&ens.p);
  mlp_backward(&ens, &we, dy, dx);
  for (int e = 0; e < E; e++) {
    take_member(&one, &ens, e);
    const float *y1 = mlp_forward(&one, &wo, x + e * B * 5, B);
    cr_expect_arr_eq(y1, y + e * B * 2, B * 2 * sizeof *y1, "output of member %d", e);
    nn_zero_grad(&one.p);
    mlp_backward(&one, &wo, dy + e * B * 2, dx1);
    expect_member_grads(&one, &ens, e);
    cr_expect_arr_eq(dx1, dx + e * B * 5, sizeof dx1, "dx of member %d", e);
  }
  mlp_work_free(&we), mlp_work_free(&wo);
  mlp_free(&ens), mlp_free(&one);
}

Test(nn, dense_ensemble_equals_separate_layers) {
  enum { E = 3, B = 5, I = 7, O = 3 };
  float x[E * B * I], W[E * I * O], b[E * O], y[E * B * O], dy[E * B * O];
  float dx[E * B * I], dW[E * I * O] = {0}, db[E * O] = {0};
  fill(x, sizeof x / sizeof *x, -1, 1, 14), fill(W, sizeof W / sizeof *W, -1, 1, 15);
  fill(b, sizeof b / sizeof *b, -1, 1, 16), fill(dy, sizeof dy / sizeof *dy, -1, 1, 17);
  nn_dense_forward(y, x, W, b, E, B, I, O);
  nn_dense_backward(dx, dW, db, dy, x, W, E, B, I, O);
  for (int e = 0; e < E; e++) {
    float y1[B * O], dx1[B * I], dW1[I * O] = {0}, db1[O] = {0};
    nn_dense_forward(y1, x + e * B * I, W + e * I * O, b + e * O, 1, B, I, O);
    nn_dense_backward(dx1, dW1, db1, dy + e * B * O, x + e * B * I, W + e * I * O, 1, B, I, O);
    cr_expect_arr_eq(y1, y + e * B * O, sizeof y1);
    cr_expect_arr_eq(dx1, dx + e * B * I, sizeof dx1);
    cr_expect_arr_eq(dW1, dW + e * I * O, sizeof dW1);
    cr_expect_arr_eq(db1, db + e * O, sizeof db1);
  }
}

// ---- construction ----

Test(nn, arena_layout) {
  static const int sizes[] = {3, 4, 2};
  Mlp m;
  cr_assert_eq(mlp_init(&m, 2, 2, sizes, NN_TANH, NN_IDENTITY, err, sizeof err), 0);
  cr_expect_eq(m.E, 2);
  cr_expect_eq(m.nlayers, 2);
  cr_expect_eq(mlp_in(&m), 3);
  cr_expect_eq(mlp_out(&m), 2);
  // layer 0: W 2*3*4 at 0, b 2*4 at 24; layer 1: W 2*4*2 at 32, b 2*2 at 48
  cr_expect_eq(m.layer[0].w_off, 0);
  cr_expect_eq(m.layer[0].b_off, 24);
  cr_expect_eq(m.layer[1].w_off, 32);
  cr_expect_eq(m.layer[1].b_off, 48);
  cr_expect_eq(m.p.n, 52);
  cr_expect_eq(m.layer[0].act, NN_TANH);
  cr_expect_eq(m.layer[1].act, NN_IDENTITY);
  for (size_t i = 0; i < m.p.n; i++) cr_expect(m.p.w[i] == 0.0f && m.p.g[i] == 0.0f);
  mlp_free(&m);
}

Test(nn, init_errors) {
  Mlp m;
  MlpWork w;
  int ok[] = {3, 4, 2}, zero[] = {3, 0, 2};
  err[0] = 0;
  cr_expect_eq(mlp_init(&m, 0, 2, ok, NN_RELU, NN_IDENTITY, err, sizeof err), -1);
  cr_expect_neq(err[0], 0);
  cr_expect_eq(mlp_init(&m, 1, 0, ok, NN_RELU, NN_IDENTITY, err, sizeof err), -1);
  cr_expect_eq(mlp_init(&m, 1, NN_MAX_LAYERS + 1, ok, NN_RELU, NN_IDENTITY, err, sizeof err), -1);
  cr_expect_eq(mlp_init(&m, 1, 2, ok, (NnAct)7, NN_IDENTITY, err, sizeof err), -1);
  err[0] = 0;
  cr_expect_eq(mlp_init(&m, 1, 2, zero, NN_RELU, NN_IDENTITY, err, sizeof err), -1);
  cr_expect_neq(strstr(err, "size"), NULL, "%s", err);
  cr_assert_eq(mlp_init(&m, 1, 2, ok, NN_RELU, NN_IDENTITY, NULL, 0), 0);
  err[0] = 0;
  cr_expect_eq(mlp_work_init(&w, &m, 0, err, sizeof err), -1);
  cr_expect_neq(err[0], 0);
  mlp_free(&m);
}

// ---- initialisation ----

Test(nn, init_torch_bounds) {
  static const int sizes[] = {4, 64, 100, 3};
  Mlp m;
  Rng r;
  cr_assert_eq(mlp_init(&m, 2, 3, sizes, NN_RELU, NN_IDENTITY, err, sizeof err), 0);
  rng_init(&r, 1, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  for (int l = 0; l < 3; l++) {
    const NnLayer *L = &m.layer[l];
    float bound = 1.0f / sqrtf((float)L->in);
    size_t nw = 2 * (size_t)L->in * L->out, nb = 2 * (size_t)L->out;
    const float *W = m.p.w + L->w_off, *b = m.p.w + L->b_off;
    float wmax = 0, bmax = 0;
    size_t wdiff = 0, bdiff = 0;
    for (size_t i = 0; i < nw; i++) {
      cr_expect_leq(fabsf(W[i]), bound, "layer %d W %g", l, W[i]);
      wmax = fmaxf(wmax, fabsf(W[i]));
      wdiff += i > 0 && W[i] != W[i - 1];
    }
    for (size_t i = 0; i < nb; i++) {
      cr_expect_leq(fabsf(b[i]), bound, "layer %d b %g", l, b[i]);
      bmax = fmaxf(bmax, fabsf(b[i]));
      bdiff += i > 0 && b[i] != b[i - 1];
    }
    // the draws fill the interval and differ: not all equal, not a narrower range
    cr_expect_gt(wmax, 0.9f * bound, "layer %d", l);
    cr_expect_eq(wdiff, nw - 1, "layer %d", l);
    cr_expect_eq(bdiff, nb - 1, "layer %d", l);
    cr_expect_gt(bmax, 0.5f * bound, "layer %d", l);
  }
  mlp_free(&m);
}

Test(nn, init_truncnorm) {
  static const int sizes[] = {100, 100, 25};
  Mlp m;
  Rng r;
  cr_assert_eq(mlp_init(&m, 3, 2, sizes, NN_SWISH, NN_IDENTITY, err, sizeof err), 0);
  rng_init(&r, 2, RNG_STREAM_INIT);
  for (size_t i = 0; i < m.p.n; i++) m.p.w[i] = 1.0f;   // biases must be reset to 0
  mlp_init_weights(&m, NN_INIT_TRUNCNORM, &r);
  for (int l = 0; l < 2; l++) {
    const NnLayer *L = &m.layer[l];
    double s = 1.0 / (2.0 * sqrt(L->in));
    size_t nw = 3 * (size_t)L->in * L->out;
    const float *W = m.p.w + L->w_off;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < nw; i++) {
      cr_expect_leq(fabsf(W[i]), 2 * s * (1 + 1e-7), "layer %d W %g", l, W[i]);
      sum += W[i], sq += (double)W[i] * W[i];
    }
    for (int i = 0; i < 3 * L->out; i++) cr_expect_eq(m.p.w[L->b_off + i], 0.0f);
    // N(0, 1) truncated to +-2 has standard deviation 0.8796; 30000 and 7500 draws
    double sd = sqrt(sq / nw - (sum / nw) * (sum / nw)) / s;
    cr_expect(fabs(sd - 0.8796) < 0.03, "layer %d: sd/s = %g", l, sd);
    cr_expect(fabs(sum / nw) / s < 0.05, "layer %d: mean/s = %g", l, sum / nw / s);
  }
  mlp_free(&m);
}

Test(nn, init_is_a_function_of_the_stream) {
  static const int sizes[] = {3, 8, 2};
  Mlp a, b;
  Rng r;
  cr_assert_eq(mlp_init(&a, 2, 2, sizes, NN_RELU, NN_IDENTITY, err, sizeof err), 0);
  cr_assert_eq(mlp_init(&b, 2, 2, sizes, NN_RELU, NN_IDENTITY, err, sizeof err), 0);
  for (int how = NN_INIT_TORCH; how <= NN_INIT_TRUNCNORM; how++) {
    rng_init(&r, 5, RNG_STREAM_INIT);
    mlp_init_weights(&a, how, &r);
    rng_init(&r, 5, RNG_STREAM_INIT);
    mlp_init_weights(&b, how, &r);
    cr_expect_arr_eq(a.p.w, b.p.w, a.p.n * sizeof(float));
    rng_init(&r, 6, RNG_STREAM_INIT);
    mlp_init_weights(&b, how, &r);
    cr_expect(memcmp(a.p.w, b.p.w, a.p.n * sizeof(float)) != 0);
  }
  mlp_free(&a), mlp_free(&b);
}

// ---- parameter utilities ----

static void make_params(NnParams *p, size_t n, uint32_t seed) {
  p->n = n;
  p->w = falloc(n);
  p->g = falloc(n);
  fill(p->w, n, -3, 3, seed);
  fill(p->g, n, -3, 3, seed + 100);
}

static void free_params(NnParams *p) { free(p->w), free(p->g); }

Test(nn, polyak_is_exact) {
  enum { N = 37 };
  NnParams t, s;
  make_params(&t, N, 1);
  make_params(&s, N, 2);
  float before[N];
  memcpy(before, t.w, sizeof before);
  float tau = 0.005f;
  nn_polyak(&t, &s, tau);
  for (int i = 0; i < N; i++) {
    float want = (1.0f - tau) * before[i] + tau * s.w[i];
    cr_expect_eq(t.w[i], want, "%d: %.9g != %.9g", i, t.w[i], want);
  }
  // tau = 1 copies, tau = 0 keeps
  nn_polyak(&t, &s, 1.0f);
  cr_expect_arr_eq(t.w, s.w, N * sizeof(float));
  memcpy(before, t.w, sizeof before);
  fill(s.w, N, -3, 3, 9);
  nn_polyak(&t, &s, 0.0f);
  cr_expect_arr_eq(t.w, before, sizeof before);
  free_params(&t), free_params(&s);
}

Test(nn, copy_and_zero_grad) {
  enum { N = 29 };
  NnParams a, b;
  make_params(&a, N, 3);
  make_params(&b, N, 4);
  float g[N];
  memcpy(g, b.g, sizeof g);
  nn_copy(&b, &a);
  cr_expect_arr_eq(b.w, a.w, N * sizeof(float));
  cr_expect_arr_eq(b.g, g, sizeof g);   // only the parameters are copied
  float w[N];
  memcpy(w, a.w, sizeof w);
  nn_zero_grad(&a);
  for (int i = 0; i < N; i++) cr_expect_eq(a.g[i], 0.0f);
  cr_expect_arr_eq(a.w, w, sizeof w);
  free_params(&a), free_params(&b);
}

// ---- weight decay ----

typedef struct {
  const Mlp *m;
  const float *coef;
  double *w;
} WdCtx;

static double wd_ref(void *p) {
  WdCtx *c = p;
  double s = 0.0;
  for (int l = 0; l < c->m->nlayers; l++) {
    const NnLayer *L = &c->m->layer[l];
    size_t nw = (size_t)c->m->E * L->in * L->out;
    for (size_t i = 0; i < nw; i++) s += 0.5 * c->coef[l] * c->w[L->w_off + i] * c->w[L->w_off + i];
  }
  return s;
}

Test(nn, weight_decay) {
  static const int sizes[] = {3, 5, 4, 2};
  static const float coef[] = {2.5e-5f, 5e-5f, 1e-4f};
  Mlp m;
  Rng r;
  cr_assert_eq(mlp_init(&m, 2, 3, sizes, NN_SWISH, NN_IDENTITY, err, sizeof err), 0);
  rng_init(&r, 3, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  for (size_t i = 0; i < m.p.n; i++) m.p.g[i] = 1.0f;
  double v = mlp_weight_decay(&m, coef);
  WdCtx c = {&m, coef, to_double(m.p.w, m.p.n)};
  double ref = wd_ref(&c);
  cr_expect(fabs(v - ref) <= 1e-12 * ref, "%.17g vs %.17g", v, ref);
  // the gradients (~1e-5) are added to 1: right to the rounding of that sum, FLT_EPSILON / 2
  double *fd = dalloc(m.p.n);
  fd_grad(fd, c.w, m.p.n, wd_ref, &c);
  for (size_t i = 0; i < m.p.n; i++)
    cr_expect_leq(fabs(m.p.g[i] - (1.0 + fd[i])), FLT_EPSILON / 2 + 1e-12, "%zu: %.9g vs %.17g", i,
                  m.p.g[i], 1.0 + fd[i]);
  // biases get nothing
  for (int l = 0; l < 3; l++)
    for (int i = 0; i < 2 * m.layer[l].out; i++) cr_expect_eq(m.p.g[m.layer[l].b_off + i], 1.0f);
  free(c.w), free(fd);
  mlp_free(&m);
}

// weight decay gradients without the offset, so the relative check is sharp
Test(nn, weight_decay_gradient) {
  static const int sizes[] = {3, 5, 2};
  static const float coef[] = {0.3f, 0.7f};
  Mlp m;
  Rng r;
  cr_assert_eq(mlp_init(&m, 3, 2, sizes, NN_RELU, NN_IDENTITY, err, sizeof err), 0);
  rng_init(&r, 4, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  mlp_weight_decay(&m, coef);
  WdCtx c = {&m, coef, to_double(m.p.w, m.p.n)};
  double *fd = dalloc(m.p.n);
  fd_grad(fd, c.w, m.p.n, wd_ref, &c);
  double e = rel_err(m.p.g, fd, m.p.n);
  cr_expect_leq(e, GRAD_TOL, "%g", e);
  free(c.w), free(fd);
  mlp_free(&m);
}

// ---- losses ----

typedef struct {
  size_t n;
  double *a, *b, *t;   // pred or mean, logvar, target
} LossCtx;

static double mse_ref(void *p) {
  LossCtx *c = p;
  double s = 0;
  for (size_t i = 0; i < c->n; i++) s += (c->a[i] - c->t[i]) * (c->a[i] - c->t[i]);
  return s / c->n;
}

static double nll_ref(void *p) {
  LossCtx *c = p;
  double s = 0;
  for (size_t i = 0; i < c->n; i++) {
    double r = c->t[i] - c->a[i];
    s += 0.5 * (r * r * exp(-c->b[i]) + c->b[i]);
  }
  return s / c->n;
}

Test(nn, mse) {
  enum { N = 23 };
  float p[N], t[N], d[N];
  fill(p, N, -2, 2, 20), fill(t, N, -2, 2, 21);
  double v = nn_mse(d, p, t, N);
  LossCtx c = {N, to_double(p, N), NULL, to_double(t, N)};
  double ref = mse_ref(&c), fd[N];
  cr_expect(fabs(v - ref) <= 1e-14 * ref, "%.17g vs %.17g", v, ref);
  fd_grad(fd, c.a, N, mse_ref, &c);
  cr_expect_leq(rel_err(d, fd, N), GRAD_TOL, "%g", rel_err(d, fd, N));
  free(c.a), free(c.t);
}

Test(nn, gauss_nll) {
  enum { N = 31 };
  float m[N], lv[N], t[N], dm[N], dlv[N];
  fill(m, N, -2, 2, 22), fill(lv, N, -6, 1, 23), fill(t, N, -2, 2, 24);
  double v = nn_gauss_nll(dm, dlv, m, lv, t, N);
  LossCtx c = {N, to_double(m, N), to_double(lv, N), to_double(t, N)};
  double ref = nll_ref(&c), fd[N];
  cr_expect(fabs(v - ref) <= 1e-12 * fabs(ref), "%.17g vs %.17g", v, ref);
  fd_grad(fd, c.a, N, nll_ref, &c);
  cr_expect_leq(rel_err(dm, fd, N), GRAD_TOL, "dmean %g", rel_err(dm, fd, N));
  fd_grad(fd, c.b, N, nll_ref, &c);
  cr_expect_leq(rel_err(dlv, fd, N), GRAD_TOL, "dlogvar %g", rel_err(dlv, fd, N));
  free(c.a), free(c.b), free(c.t);
}

// ---- soft bounds ----

enum { SB_ROWS = 6, SB_D = 4 };

typedef struct {
  double x[SB_ROWS * SB_D], hi[SB_D], lo[SB_D], c[SB_ROWS * SB_D];
} SbCtx;

static double ref_softplus(double t) { return log1p(exp(t)); }

static void sb_ref_forward(double *y, const SbCtx *s) {
  for (int r = 0; r < SB_ROWS; r++)
    for (int j = 0; j < SB_D; j++) {
      double t = s->hi[j] - ref_softplus(s->hi[j] - s->x[r * SB_D + j]);
      y[r * SB_D + j] = s->lo[j] + ref_softplus(t - s->lo[j]);
    }
}

static double sb_loss(void *p) {
  SbCtx *s = p;
  double y[SB_ROWS * SB_D];
  sb_ref_forward(y, s);
  return dot(s->c, y, SB_ROWS * SB_D);
}

Test(nn, softbound) {
  enum { N = SB_ROWS * SB_D };
  float x[N], hi[SB_D] = {0.5f, 0.25f, 1.0f, -0.5f}, lo[SB_D] = {-10, -8, -12, -6};
  float dy[N], y[N], dx[N], dhi[SB_D], dlo[SB_D];
  // inside, near and beyond both bounds
  fill(x, N, -14, 3, 25);
  fill(dy, N, -1, 1, 26);
  x[0] = 20, x[1] = -40, x[2] = 0.9f, x[3] = -6.1f;
  nn_softbound_forward(y, x, SB_ROWS, SB_D, hi, lo);
  SbCtx s;
  for (int i = 0; i < N; i++) s.x[i] = x[i], s.c[i] = dy[i];
  for (int j = 0; j < SB_D; j++) s.hi[j] = hi[j], s.lo[j] = lo[j];
  double yr[N];
  sb_ref_forward(yr, &s);
  for (int i = 0; i < N; i++) {
    // float arithmetic: lo + softplus(t - lo) cancels against lo, so the error is a few ulp
    // of |lo| + |hi| rather than of y
    int j = i % SB_D;
    cr_expect_leq(fabs(y[i] - yr[i]), 1e-6 * fabs(yr[i]) + 2.5e-7 * (fabsf(lo[j]) + fabsf(hi[j])),
                  "y[%d] %.9g vs %.17g", i, y[i], yr[i]);
    // the composition stays between lo (exactly: softplus >= 0) and lo + softplus(hi - lo), a
    // little above hi (up to the same few ulp)
    double top = lo[j] + ref_softplus((double)hi[j] - lo[j]);
    cr_expect(y[i] >= lo[j] && y[i] <= top + 2.5e-7 * (fabsf(lo[j]) + fabsf(hi[j])), "%d: %.9g", i,
              y[i]);
  }
  for (int j = 0; j < SB_D; j++) dhi[j] = dlo[j] = 1.0f;
  nn_softbound_backward(dx, dhi, dlo, dy, x, SB_ROWS, SB_D, hi, lo);
  double fd[N];
  fd_grad(fd, s.x, N, sb_loss, &s);
  cr_expect_leq(rel_err(dx, fd, N), GRAD_TOL, "dx %g", rel_err(dx, fd, N));
  fd_grad(fd, s.hi, SB_D, sb_loss, &s);
  cr_expect_leq(rel_err_off(dhi, 1.0f, fd, SB_D), GRAD_TOL, "dhi %g",
                rel_err_off(dhi, 1.0f, fd, SB_D));
  fd_grad(fd, s.lo, SB_D, sb_loss, &s);
  cr_expect_leq(rel_err_off(dlo, 1.0f, fd, SB_D), GRAD_TOL, "dlo %g",
                rel_err_off(dlo, 1.0f, fd, SB_D));
}

// far outside the bounds softplus must neither overflow nor return NaN; the limits are
// lo + softplus(hi - lo) above and lo below, and the bound gradients tend to s(hi - lo) and
// 1 - s(hi - lo) above, 0 and 1 below (s the logistic function)
Test(nn, softbound_extremes) {
  float x[4] = {1e30f, -1e30f, 200, -200}, hi[1] = {0.5f}, lo[1] = {-10}, y[4], dx[4];
  float dy[4] = {1, 1, 1, 1}, dhi[1] = {0}, dlo[1] = {0};
  nn_softbound_forward(y, x, 4, 1, hi, lo);
  nn_softbound_backward(dx, dhi, dlo, dy, x, 4, 1, hi, lo);
  double top = -10 + ref_softplus(10.5), s = ref_sigmoid(10.5);
  cr_expect_float_eq(y[0], top, 1e-6);
  cr_expect_float_eq(y[1], -10.0, 1e-6);
  cr_expect_float_eq(y[2], top, 1e-6);
  cr_expect_float_eq(y[3], -10.0, 1e-6);
  for (int i = 0; i < 4; i++) cr_expect(isfinite(dx[i]) && fabsf(dx[i]) < 1e-6f, "%g", dx[i]);
  cr_expect_float_eq(dhi[0], 2 * s, 1e-6, "%.9g", dhi[0]);
  cr_expect_float_eq(dlo[0], 2 * (1 - s) + 2, 1e-6, "%.9g", dlo[0]);
}

// the SSE2, AVX2 and AVX-512 builds of the elementwise kernels give the same bits (those the
// CPU has): activations both ways, a whole network forward and backward, the soft bounds
Test(nn, same_on_every_instruction_set) {
  enum { E = 2, B = 37, N = 4001 };
  static const int sizes[] = {7, 45, 45, 5};
  static float z[N], dh[N], want[4][N], got[4][N];
  fill(z, N, -30, 30, 41);
  // and the edges of the kernels' comparisons (simd_lanes.inc makes them in integer arithmetic
  // below AVX-512): zeros, infinities, the smallest and largest floats, either side of the
  // exponential's cut at -87 (NaN is left out: which operand's NaN an operation returns, and so
  // its sign, is not pinned across sets)
  static const float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e-45f, -1e-45f, FLT_MIN,
                               -FLT_MIN, FLT_MAX, -FLT_MAX, 87.0f, -87.0f, 1.41421356f, 88.0f,
                               -88.0f, 1e30f, -1e30f};
  enum { NE = sizeof edge / sizeof *edge };
  for (int i = 0; i < NE; i++) {
    z[i] = edge[i];
    z[NE + i] = nextafterf(edge[i], INFINITY);
    z[2 * NE + i] = nextafterf(edge[i], -INFINITY);
  }
  fill(dh, N, -1, 1, 42);
  float hi[5] = {0.5f, 0.2f, 1.0f, -0.5f, 0.0f}, lo[5] = {-10, -8, -12, -6, -9};
  Mlp m;
  MlpWork w;
  char err[256];
  cr_assert_eq(mlp_init(&m, E, 3, sizes, NN_SWISH, NN_IDENTITY, err, sizeof err), 0);
  cr_assert_eq(mlp_work_init(&w, &m, B, err, sizeof err), 0);
  Rng r;
  rng_init(&r, 3, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  float *x = malloc((size_t)E * B * 7 * sizeof *x), *dy = malloc((size_t)E * B * 5 * sizeof *dy);
  float *out0 = malloc((size_t)E * B * 5 * sizeof *out0), *g0 = malloc(m.p.n * sizeof *g0);
  fill(x, (size_t)E * B * 7, -2, 2, 43);
  fill(dy, (size_t)E * B * 5, -1, 1, 44);
  int best = simd_use(-1);
  for (int level = 0; level <= best; level++) {
    cr_assert_eq(simd_use(level), level);
    float(*o)[N] = level == 0 ? want : got;
    nn_act_forward(o[0], z, N, NN_SWISH);
    nn_act_backward(o[1], dh, z, o[0], N, NN_SWISH);
    nn_act_forward(o[2], z, N, NN_RELU);
    nn_softbound_forward(o[3], z, N / 5, 5, hi, lo);
    nn_zero_grad(&m.p);
    const float *out = mlp_forward(&m, &w, x, B);
    mlp_backward(&m, &w, dy, NULL);
    if (level == 0) {
      memcpy(out0, out, (size_t)E * B * 5 * sizeof *out);
      memcpy(g0, m.p.g, m.p.n * sizeof *g0);
      continue;
    }
    const char *name = simd_name(level);
    for (int k = 0; k < 4; k++) cr_expect_arr_eq(got[k], want[k], sizeof want[k], "%s %d", name, k);
    cr_expect_arr_eq(out, out0, (size_t)E * B * 5 * sizeof *out, "%s network output", name);
    cr_expect_arr_eq(m.p.g, g0, m.p.n * sizeof *g0, "%s network gradient", name);
  }
  simd_use(-1);
  cr_log_info("instruction sets compared: sse2 to %s", simd_name(best));
  free(x), free(dy), free(out0), free(g0);
  mlp_work_free(&w);
  mlp_free(&m);
}

// one member alone gives block e of the ensemble pass to the bit; the input-only backward gives
// mlp_backward's dx to the bit and leaves the parameter gradients as they were
Test(nn, member_forward_and_input_backward) {
  enum { E = 3, B = 5 };
  int sizes[] = {4, 7, 6, 2};
  Mlp m;
  MlpWork w, w1;
  cr_assert_eq(mlp_init(&m, E, 3, sizes, NN_SWISH, NN_IDENTITY, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mlp_work_init(&w, &m, B, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mlp_work_init(&w1, &m, B, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 3, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  float x[E * B * 4], dy[E * B * 2], dx[E * B * 4], dx2[E * B * 4];
  fill(x, sizeof x / sizeof *x, -1, 1, 4);
  fill(dy, sizeof dy / sizeof *dy, -1, 1, 5);
  const float *y = mlp_forward(&m, &w, x, B);
  for (int e = 0; e < E; e++) {
    const float *ye = mlp_member_forward(&m, e, &w1, x + e * B * 4, B);
    cr_expect_arr_eq(ye, y + e * B * 2, B * 2 * sizeof(float), "member %d", e);
  }
  nn_zero_grad(&m.p);
  mlp_backward(&m, &w, dy, dx);
  float *g = falloc(m.p.n);
  memcpy(g, m.p.g, m.p.n * sizeof *g);
  mlp_forward(&m, &w, x, B);
  mlp_backward_input(&m, &w, dy, dx2);
  cr_expect_arr_eq(dx2, dx, sizeof dx);
  cr_expect_arr_eq(m.p.g, g, m.p.n * sizeof *g, "the input-only pass changed gradients");
  free(g);
  mlp_work_free(&w);
  mlp_work_free(&w1);
  mlp_free(&m);
}

// columns behind a stop-gradient: mlp_last_columns_backward gives those columns' share of the last
// layer's gradient and nothing below it
Test(nn, last_columns_train_the_last_layer_only) {
  enum { B = 9, I = 5, H = 7, O = 6, C0 = 4, NC = 2 };
  const int sizes[3] = {I, H, O};
  Mlp m;
  MlpWork w;
  cr_assert_eq(mlp_init(&m, 1, 2, sizes, NN_RELU, NN_IDENTITY, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mlp_work_init(&w, &m, B, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, 3, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  float x[B * I], dy[B * O], dy_top[B * O], dcols[B * NC];
  fill(x, B * I, -1, 1, 4);
  fill(dy, B * O, -1, 1, 5);
  memcpy(dy_top, dy, sizeof dy);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < NC; j++) {
      dcols[b * NC + j] = dy[b * O + C0 + j];
      dy_top[b * O + C0 + j] = 0.0f;
    }
  float *full = malloc(m.p.n * sizeof *full), *top = malloc(m.p.n * sizeof *top);
  mlp_forward(&m, &w, x, B);
  nn_zero_grad(&m.p);
  mlp_backward(&m, &w, dy, NULL);   // every column through the whole network
  memcpy(full, m.p.g, m.p.n * sizeof *full);
  nn_zero_grad(&m.p);
  mlp_backward(&m, &w, dy_top, NULL);   // without the columns
  memcpy(top, m.p.g, m.p.n * sizeof *top);
  mlp_last_columns_backward(&m, &w, C0, NC, dcols);
  const NnLayer *L = &m.layer[1];
  for (size_t i = 0; i < m.p.n; i++) {
    int last = i >= L->w_off;   // the arena holds layer 0, then layer 1
    int col = i >= L->b_off ? (int)(i - L->b_off) : (int)((i - L->w_off) % O);
    if (last && col >= C0 && col < C0 + NC)
      cr_expect_float_eq(m.p.g[i], full[i], 1e-6f, "parameter %zu: %g, with the columns %g", i,
                         m.p.g[i], full[i]);
    else
      cr_expect_eq(m.p.g[i], top[i], "parameter %zu: changed by the columns", i);
  }
  free(full), free(top);
  mlp_work_free(&w);
  mlp_free(&m);
}
