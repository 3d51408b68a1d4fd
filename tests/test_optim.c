// Tests of optim: Adam and AdamW against hand-computed steps and an independent double-precision
// loop of the textbook recurrence, gradient-norm clipping, and a small end-to-end fit.
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn.h"
#include "optim.h"
#include "rng.h"

static char err[256];

// x[i] ~ U[-1, 1) from a fixed stream of seed
static void fill_uniform(float *x, size_t n, uint32_t seed) {
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  rng_fill_uniformf(&r, x, n, -1.0f, 1.0f);
}

// adam's moments, its state arrays 0 and 1 (float)
#define M(o) ((float *)(o).state[0])
#define V(o) ((float *)(o).state[1])
static const double pi = 3.14159265358979323846;

Test(optim, init_defaults_and_errors) {
  Optim a;
  cr_assert_eq(optim_init(&a, optim_adam(3e-4f), 5, 0, err, sizeof err), 0, "%s", err);
  cr_expect_eq(a.n, 5);
  cr_expect_eq(a.s.lr, 3e-4f);
  cr_expect_eq(a.s.beta1, 0.9f);
  cr_expect_eq(a.s.beta2, 0.999f);
  cr_expect_eq(a.s.eps, 1e-8f);
  cr_expect_eq(a.s.weight_decay, 0.0f);
  cr_expect_eq(a.t, 0);
  for (int i = 0; i < 5; i++) cr_expect(M(a)[i] == 0.0f && V(a)[i] == 0.0f);
  optim_free(&a);
  err[0] = 0;
  cr_expect_eq(optim_init(&a, optim_adam(-1.0f), 5, 0, err, sizeof err), -1);
  cr_expect_neq(strstr(err, "learning rate"), NULL, "%s", err);
  cr_expect_eq(optim_init(&a, optim_adam(NAN), 5, 0, err, sizeof err), -1);
  cr_expect_eq(optim_init(&a, optim_adam(INFINITY), 5, 0, NULL, 0), -1);
}

// m1 = (1 - b1) g and v1 = (1 - b2) g^2, so mhat = g, vhat = g^2: the first step is
// lr g / (|g| + eps), i.e. lr sign(g) for any |g| >> eps, whatever the gradient's scale
Test(optim, first_step_is_lr_sign_g) {
  enum { N = 8 };
  float w[N] = {0.5f, -0.25f, 2.0f, -3.0f, 0.0f, 1.0f, -1.0f, 10.0f};
  float g[N] = {1e-3f, -1e-3f, 4.0f, -250.0f, 1e3f, -0.5f, 0.75f, -1e-5f};
  float w0[N];
  memcpy(w0, w, sizeof w);
  Optim a;
  cr_assert_eq(optim_init(&a, optim_adam(1e-3f), N, 0, err, sizeof err), 0);
  optim_step(&a, w, g);
  cr_expect_eq(a.t, 1);
  for (int i = 0; i < N; i++) {
    double want = w0[i] - 1e-3 * (g[i] > 0 ? 1 : -1);
    cr_expect_leq(fabs(w[i] - want), 4 * FLT_EPSILON * fmax(fabs(w0[i]), 1e-3) + 1e-3 * 1e-5,
                  "w[%d] = %.9g, want %.9g", i, w[i], want);
    // the moments are the float32 recurrences
    cr_expect_eq(M(a)[i], (1.0f - 0.9f) * g[i]);
    cr_expect_eq(V(a)[i], (1.0f - 0.999f) * g[i] * g[i]);
  }
  optim_free(&a);
}

// L = w^2 / 2 from w = 1 with lr 0.1 (so g = w), by hand in double:
//   t = 1: g 1, m 0.1, v 0.001, mhat 1, vhat 1,                      w 1 - 0.1 / (1 + 1e-8)
//          = 0.900000001
//   t = 2: g 0.900000001, m 0.09 + 0.09 = 0.18, v 0.000999 + 0.00081 = 0.001809,
//          mhat 0.18 / 0.19 = 0.947368422, vhat 0.001809 / 0.001999 = 0.904952477,
//          w 0.900000001 - 0.1 * 0.947368422 / (0.951290953 + 1e-8) = 0.800412230
//   t = 3: w 0.701586275
Test(optim, hand_computed_steps) {
  float w = 1.0f, g;
  Optim a;
  cr_assert_eq(optim_init(&a, optim_adam(0.1f), 1, 0, err, sizeof err), 0);
  static const double want[] = {0.900000001, 0.800412230, 0.701586275};
  for (int t = 0; t < 3; t++) {
    g = w;
    optim_step(&a, &w, &g);
    cr_expect_leq(fabs(w - want[t]), 2e-7, "step %d: %.9g, want %.9g", t + 1, w, want[t]);
  }
  optim_free(&a);
}

typedef struct {
  int decoupled;
  float wd;
} AdamCase;

ParameterizedTestParameters(optim, matches_textbook_recurrence) {
  static AdamCase cases[] = {{0, 0.0f}, {0, 0.05f}, {1, 0.05f}};
  return cr_make_param_array(AdamCase, cases, sizeof cases / sizeof *cases);
}

// L = sum a_i (w_i - c_i)^2 / 2 for 25 steps, against a double loop of the recurrence:
//   (decoupled) w <- w (1 - lr wd);  (L2) g <- g + wd w;
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//   w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// float32 keeps w to half an ulp at each of the (at most) two roundings of w per step, so after t
// steps it may be t ulp(w) away: the bound used, t * 2 FLT_EPSILON max(|w|, 1)
ParameterizedTest(AdamCase *c, optim, matches_textbook_recurrence) {
  enum { N = 6, STEPS = 25 };
  static const float a_[N] = {1.0f, 0.1f, 10.0f, 3.0f, 0.5f, 100.0f};
  static const float c_[N] = {0.3f, -2.0f, 1.5f, 0.0f, 4.0f, -0.7f};
  float w[N] = {1.0f, 1.0f, -1.0f, 0.25f, 2.0f, 0.0f}, g[N];
  double wd_[N], m[N] = {0}, v[N] = {0};
  for (int i = 0; i < N; i++) wd_[i] = w[i];
  const double lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = c->wd;
  Optim a;
  cr_assert_eq(optim_init(&a, optim_adam(0.01f), N, 0, err, sizeof err), 0);
  a.s.weight_decay = c->wd;
  a.s.decoupled = c->decoupled;
  for (int t = 1; t <= STEPS; t++) {
    for (int i = 0; i < N; i++) g[i] = a_[i] * (w[i] - c_[i]);
    optim_step(&a, w, g);
    for (int i = 0; i < N; i++) {
      double gi = a_[i] * (wd_[i] - c_[i]);
      if (c->decoupled) wd_[i] *= 1 - lr * wd;
      else gi += wd * wd_[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      wd_[i] -= lr * (m[i] / (1 - pow(b1, t))) / (sqrt(v[i] / (1 - pow(b2, t))) + eps);
    }
    for (int i = 0; i < N; i++)
      cr_expect_leq(fabs(w[i] - wd_[i]), t * 2 * FLT_EPSILON * fmax(fabs(wd_[i]), 1.0),
                    "step %d w[%d]: %.9g vs %.9g", t, i, w[i], wd_[i]);
  }
  cr_expect_eq(a.t, STEPS);
  optim_free(&a);
}

// w = 1, g = -0.05, wd = 0.1, lr = 0.1:
//   no decay:  the step follows -g:                 w = 1 + 0.1               = 1.1
//   L2:        g + wd w = 0.05 flips the sign:      w = 1 - 0.1               = 0.9
//   decoupled: shrink first, then follow -g:        w = 1 (1 - 0.01) + 0.1    = 1.09
Test(optim, weight_decay_first_steps) {
  static const struct {
    float wd;
    int decoupled;
    double want;
  } cases[] = {{0.0f, 0, 1.1}, {0.1f, 0, 0.9}, {0.1f, 1, 1.09}};
  for (int k = 0; k < 3; k++) {
    float w = 1.0f, g = -0.05f;
    Optim a;
    cr_assert_eq(optim_init(&a, optim_adam(0.1f), 1, 0, err, sizeof err), 0);
    a.s.weight_decay = cases[k].wd;
    a.s.decoupled = cases[k].decoupled;
    optim_step(&a, &w, &g);
    cr_expect_leq(fabs(w - cases[k].want), 3e-7, "case %d: %.9g, want %.9g", k, w, cases[k].want);
    optim_free(&a);
  }
}

Test(optim, grad_norm) {
  float g[] = {3.0f, 0.0f, -4.0f};
  cr_expect_eq(grad_norm(g, 3), 5.0);
  // squares beyond float range are fine in double
  float big[] = {3e30f, -4e30f};
  cr_expect_leq(fabs(grad_norm(big, 2) / 5e30 - 1), 1e-7);
  cr_expect_eq(grad_norm(g, 0), 0.0);
}

Test(optim, grad_clip_norm) {
  enum { N = 100 };
  float g[N], keep[N];
  Rng r;
  rng_init(&r, 1, RNG_STREAM_DATA);
  rng_fill_normalf(&r, g, N, 0.0f, 1.0f);
  double before = grad_norm(g, N);
  cr_assert_gt(before, 5.0);
  // above the bound: rescaled onto it, direction kept, the old norm returned
  memcpy(keep, g, sizeof g);
  cr_expect_eq(grad_clip_norm(g, N, 1.0), before);
  cr_expect_leq(fabs(grad_norm(g, N) - 1.0), 1e-6, "%.9g", grad_norm(g, N));
  for (int i = 0; i < N; i++) cr_expect_leq(fabs(g[i] - keep[i] / before), 1e-7);
  // below the bound: untouched
  memcpy(keep, g, sizeof g);
  double n1 = grad_norm(g, N);
  cr_expect_eq(grad_clip_norm(g, N, 2.0), n1);
  cr_expect_arr_eq(g, keep, sizeof g);
  float h[] = {3.0f, 4.0f};
  cr_expect_eq(grad_clip_norm(h, 2, 10.0), 5.0);
  cr_expect(h[0] == 3.0f && h[1] == 4.0f);
  // just above the bound still clips
  cr_expect_eq(grad_clip_norm(h, 2, 4.5), 5.0);
  cr_expect_float_eq(h[0], 2.7f, 3e-7f);
  cr_expect_float_eq(h[1], 3.6f, 3e-7f);
  cr_expect_float_eq(grad_clip_norm(h, 2, 1.0), 4.5, 1e-6);
  cr_expect_float_eq(h[0], 0.6f, 1e-7f);
  cr_expect_float_eq(h[1], 0.8f, 1e-7f);
}

// 1 -> 32 -> 32 -> 1 tanh fitted to sin(x) on 128 fixed points of [-pi, pi] with full-batch
// Adam (lr 0.01): the mean squared error must fall below 1e-5 (from 0.73) within 1000 steps
// (it takes 422)
Test(optim, fits_a_sine) {
  enum { B = 128, STEPS = 1000 };
  static const int sizes[] = {1, 32, 32, 1};
  Mlp m;
  MlpWork w;
  Optim a;
  Rng r;
  cr_assert_eq(mlp_init(&m, 1, 3, sizes, NN_TANH, NN_IDENTITY, err, sizeof err), 0);
  cr_assert_eq(mlp_work_init(&w, &m, B, err, sizeof err), 0);
  cr_assert_eq(optim_init(&a, optim_adam(0.01f), m.p.n, 0, err, sizeof err), 0);
  rng_init(&r, 1, RNG_STREAM_INIT);
  mlp_init_weights(&m, NN_INIT_TORCH, &r);
  rng_init(&r, 1, RNG_STREAM_DATA);
  float x[B], y[B], dy[B];
  for (int i = 0; i < B; i++) {
    x[i] = (float)rng_uniform_range(&r, -pi, pi);
    y[i] = sinf(x[i]);
  }
  double first = nn_mse(dy, mlp_forward(&m, &w, x, B), y, B), loss = first;
  int step = 0;
  while (step < STEPS && loss >= 1e-5) {
    loss = nn_mse(dy, mlp_forward(&m, &w, x, B), y, B);
    nn_zero_grad(&m.p);
    mlp_backward(&m, &w, dy, NULL);
    optim_step(&a, m.p.w, m.p.g);
    step++;
  }
  cr_expect_lt(loss, 1e-5, "loss %g after %d steps (from %g)", loss, step, first);
  cr_log_info("sine fit: loss %g -> %g in %d steps", first, loss, step);
  optim_free(&a);
  mlp_work_free(&w);
  mlp_free(&m);
}

// ---- the table of kinds ----

// every kind, saved after a few steps and loaded into a fresh optimiser, continues with the same
// bits as the original; a float-only kind refuses double parameters
Test(optim, every_kind_resumes_bit_identically) {
  enum { N = 6 };
  char path[64];
  snprintf(path, sizeof path, "/tmp/mb_optim_%d.ckpt", (int)getpid());
  const char *names[] = {"adam", "sgd", "oadam", "ogd"};
  for (int k = 0; k <= OPTIM_OGD; k++) {
    OptimSpec s = k == OPTIM_ADAM ? optim_adam(0.05f) : k == OPTIM_SGD ? optim_sgd(0.05f)
                : k == OPTIM_OADAM ? optim_oadam(0.05f) : optim_ogd(0.05f, 0.7, 0.1, 2.0);
    if (k != OPTIM_OGD) s.weight_decay = 0.01f;
    Optim a, b;
    cr_assert_eq(optim_init(&a, s, N, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(optim_init(&b, s, N, 0, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(OPTIM_KINDS[k].name, names[k]);
    float w[N], wb[N], g[N];
    fill_uniform(w, N, 1);
    for (int t = 0; t < 3; t++) {
      for (int i = 0; i < N; i++) g[i] = w[i] * w[i] - 0.5f * (float)i;
      optim_step(&a, w, g);
    }
    CkptWriter *cw = ckpt_begin(path, "test", err, sizeof err);
    cr_assert(cw, "%s", err);
    optim_save(&a, cw, "opt");
    cr_assert_eq(ckpt_commit(cw, err, sizeof err), 0, "%s", err);
    CkptReader *r = ckpt_open(path, "test", err, sizeof err);
    cr_assert(r, "%s", err);
    cr_assert_eq(optim_load(&b, r, "opt", err, sizeof err), 0, "%s", err);
    cr_expect_eq(ckpt_field_size(r, "opt.t"), 8);
    cr_expect_eq(ckpt_field_size(r, "opt.m"), k == OPTIM_ADAM || k == OPTIM_OADAM ? N * 4 : -1);
    cr_expect_eq(ckpt_field_size(r, "opt.beta"), k == OPTIM_OGD ? 8 : -1);
    ckpt_close(r);
    cr_expect_eq(b.t, 3);
    memcpy(wb, w, sizeof w);
    for (int t = 0; t < 3; t++) {
      for (int i = 0; i < N; i++) g[i] = w[i] * w[i] - 0.5f * (float)i;
      optim_step(&a, w, g);
      optim_step(&b, wb, g);
    }
    cr_expect_arr_eq(w, wb, sizeof w, "kind %s: the loaded optimiser went elsewhere",
                     OPTIM_KINDS[k].name);
    cr_expect_eq(memcmp(&a.beta, &b.beta, sizeof a.beta), 0, "kind %s: beta", OPTIM_KINDS[k].name);
    optim_free(&a);
    optim_free(&b);
  }
  unlink(path);
  Optim d;
  cr_expect_eq(optim_init(&d, optim_adam(0.1f), N, 1, err, sizeof err), -1);
  cr_expect_neq(strstr(err, "double"), NULL, "%s", err);
}

// sgd: w -= lr (g + wd w) in float; ascending in double adds lr g with the double learning rate
// unrounded (ARS's step size over b sigma_R)
Test(optim, sgd_steps_exactly) {
  float w[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.25f, 1.0f, -4.0f};
  Optim a;
  OptimSpec s = optim_sgd(0.5f);
  s.weight_decay = 0.5f;
  cr_assert_eq(optim_init(&a, s, 3, 0, err, sizeof err), 0, "%s", err);
  optim_step(&a, w, g);
  cr_expect_eq(w[0], 1.0f - 0.5f * (0.25f + 0.5f * 1.0f));
  cr_expect_eq(w[1], -2.0f - 0.5f * (1.0f + 0.5f * -2.0f));
  cr_expect_eq(w[2], 0.5f - 0.5f * (-4.0f + 0.5f * 0.5f));
  optim_free(&a);
  double wd[2] = {1.0, -1.0}, gd[2] = {0.3, 0.7};
  OptimSpec up = optim_sgd(0.0f);
  up.maximize = 1;
  cr_assert_eq(optim_init(&a, up, 2, 1, err, sizeof err), 0, "%s", err);
  a.s.lr = 0.1 / 3.0;
  optim_step_d(&a, wd, gd);
  cr_expect_eq(wd[0], 1.0 + (0.1 / 3.0) * 0.3);
  cr_expect_eq(wd[1], -1.0 + (0.1 / 3.0) * 0.7);
  optim_free(&a);
}

// ---- the optimistic kinds (seed-variants 3.4) ----

// ogd with beta 0 is sgd to the bit, descending and ascending, in float and double
Test(optim, ogd_beta_zero_is_sgd) {
  enum { N = 5 };
  for (int up = 0; up < 2; up++) {
    OptimSpec a = optim_sgd(0.03f), b = optim_ogd(0.03f, 0.0, 0.0, 0.0);
    a.maximize = b.maximize = up;
    Optim oa, ob, da, db;
    cr_assert_eq(optim_init(&oa, a, N, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(optim_init(&ob, b, N, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(optim_init(&da, a, N, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(optim_init(&db, b, N, 1, err, sizeof err), 0, "%s", err);
    float w1[N], w2[N], g[N];
    double v1[N], v2[N], h[N];
    fill_uniform(w1, N, 3);
    memcpy(w2, w1, sizeof w1);
    for (int i = 0; i < N; i++) v1[i] = v2[i] = w1[i];
    for (int t = 0; t < 6; t++) {
      for (int i = 0; i < N; i++) g[i] = sinf(3.0f * w1[i] + (float)t), h[i] = g[i];
      optim_step(&oa, w1, g), optim_step(&ob, w2, g);
      optim_step_d(&da, v1, h), optim_step_d(&db, v2, h);
    }
    cr_expect_arr_eq(w1, w2, sizeof w1, "ogd with beta 0 is not sgd (float, maximize %d)", up);
    cr_expect_arr_eq(v1, v2, sizeof v1, "ogd with beta 0 is not sgd (double, maximize %d)", up);
    optim_free(&oa), optim_free(&ob), optim_free(&da), optim_free(&db);
  }
}

// min_x max_y x y with exact gradients (x descends on y, y ascends on x), from (1, 1):
// simultaneous gradient steps spiral outward (|z| grows by sqrt(1 + lr^2) a step), the
// optimistic steps (beta 1) converge to the equilibrium (0, 0)
Test(optim, bilinear_game) {
  const double lr = 0.1;
  for (int kind = 0; kind < 2; kind++) {
    OptimSpec sx = kind ? optim_ogd((float)lr, 1.0, 0.0, 1.0) : optim_sgd((float)lr), sy = sx;
    sy.maximize = 1;
    Optim ox, oy;
    cr_assert_eq(optim_init(&ox, sx, 1, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(optim_init(&oy, sy, 1, 1, err, sizeof err), 0, "%s", err);
    double x = 1.0, y = 1.0;
    for (int t = 0; t < 2000; t++) {
      double gx = y, gy = x;   // d(xy)/dx, d(xy)/dy at the same point: simultaneous
      optim_step_d(&ox, &x, &gx);
      optim_step_d(&oy, &y, &gy);
    }
    double r = sqrt(x * x + y * y);
    printf("bilinear game, %s: |z| = %.3g after 2000 steps (from 1.41)\n", kind ? "ogd" : "gd", r);
    if (kind) cr_expect_lt(r, 1e-3, "optimistic steps did not converge: |z| = %g", r);
    else cr_expect_gt(r, 100.0, "simultaneous gradient steps did not spiral out: |z| = %g", r);
    optim_free(&ox), optim_free(&oy);
  }
}

// oadam: its first step is Adam's; later steps are w -= 2 u_t - u_{t-1} with Adam's u_t, the
// moments being Adam's (recomputed here in double)
Test(optim, oadam_steps) {
  enum { N = 4, T = 5 };
  Optim o, a;
  cr_assert_eq(optim_init(&o, optim_oadam(0.01f), N, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(optim_init(&a, optim_adam(0.01f), N, 0, err, sizeof err), 0, "%s", err);
  float w[N], wa[N], g[N];
  fill_uniform(w, N, 5);
  memcpy(wa, w, sizeof w);
  double m[N] = {0}, v[N] = {0}, up[N] = {0}, ref[N], worst = 0.0;
  for (int i = 0; i < N; i++) ref[i] = w[i];
  for (int t = 1; t <= T; t++) {
    for (int i = 0; i < N; i++) g[i] = cosf(2.0f * w[i]) + 0.1f * (float)(t * i);
    for (int i = 0; i < N; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * (double)g[i] * g[i];
      double u = 0.01 * (m[i] / (1 - pow(0.9, t))) / (sqrt(v[i] / (1 - pow(0.999, t))) + 1e-8);
      ref[i] -= t == 1 ? u : 2 * u - up[i];
      up[i] = u;
    }
    optim_step(&o, w, g);
    if (t == 1) {
      optim_step(&a, wa, g);
      cr_expect_arr_eq(w, wa, sizeof w, "oadam's first step is not Adam's");
    }
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(w[i] - ref[i]));
  }
  printf("oadam: %d steps, largest difference to the double reference %.2g\n", T, worst);
  cr_expect_lt(worst, 1e-6, "oadam off its rule by %g", worst);
  optim_free(&o), optim_free(&a);
}

// the hypergradient of beta: descending f(w) = -|w|^2 / 2 (the gradient keeps its direction and
// grows, so the change of step points the way the objective improves) beta rises to its cap;
// descending f(w) = |w|^2 / 2 at a rate past 1 every step overshoots and flips the gradient's
// sign, and beta falls to 0
Test(optim, hypergradient_beta) {
  enum { N = 3 };
  const float rates[2] = {0.05f, 1.5f};
  for (int k = 0; k < 2; k++) {
    Optim o;
    cr_assert_eq(optim_init(&o, optim_ogd(rates[k], 0.5, 0.05, 2.0), N, 0, err, sizeof err), 0,
                 "%s", err);
    float w[N] = {1.0f, -2.0f, 0.5f}, g[N];
    double first = -1.0;
    for (int t = 0; t < 40; t++) {
      for (int i = 0; i < N; i++) g[i] = k == 0 ? -w[i] : w[i];   // of -+|w|^2 / 2
      optim_step(&o, w, g);
      if (t == 3) first = o.beta;
    }
    printf("hypergradient, rate %.2f: beta 0.5 -> %.3g after 4 steps -> %.3g after 40\n",
           rates[k], first, o.beta);
    if (k == 0) cr_expect(first > 0.5 && o.beta == 2.0, "aligned steps: beta %g, %g", first, o.beta);
    else cr_expect(first < 0.5 && o.beta == 0.0, "overshooting steps: beta %g, %g", first, o.beta);
    optim_free(&o);
  }
  Optim bad;
  cr_expect_eq(optim_init(&bad, optim_ogd(0.1f, 3.0, 0.0, 2.0), 2, 0, err, sizeof err), -1);
  cr_expect(strstr(err, "beta_max"), "message '%s'", err);
}
