// bench_nn: speed of the network kernels as a fraction of this machine's float32 GEMM peak.
//
// Single-threaded throughout. The peak is the best sgemm rate over a few large square sizes; a
// network's rate counts only its GEMM flops (2 B I O per layer per member for the forward pass,
// as much again for dW and for each dx computed), so the fraction says how much of the time goes
// to the GEMMs and how well OpenBLAS does at these shapes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"
#include "nn.h"
#include "peak.h"
#include "rng.h"
#include "simd.h"

typedef struct {
  Mlp m;
  MlpWork w;
  int B;
  float *x, *dy, *dx;   // (E, B, I0), (E, B, O), (E, B, I0)
} Net;

static void run_net(void *ctx) {
  Net *n = ctx;
  mlp_forward(&n->m, &n->w, n->x, n->B);
  mlp_backward(&n->m, &n->w, n->dy, n->dx);
}

// times one forward + backward (dx included), prints its row of the table, returns its fraction
// of the peak
static double bench_net(const char *name, int E, int B, int nlayers, const int *sizes, NnAct act,
                      double peak, Rng *r) {
  Net n = {.B = B};
  char err[256];
  if (mlp_init(&n.m, E, nlayers, sizes, act, NN_IDENTITY, err, sizeof err) ||
      mlp_work_init(&n.w, &n.m, B, err, sizeof err))
    fail_run("%s", err);
  mlp_init_weights(&n.m, NN_INIT_TORCH, r);
  size_t nx = (size_t)E * B * sizes[0], ny = (size_t)E * B * sizes[nlayers];
  n.x = xmalloc(nx, sizeof(float), "input");
  n.dx = xmalloc(nx, sizeof(float), "input gradient");
  n.dy = xmalloc(ny, sizeof(float), "output gradient");
  rng_fill_uniformf(r, n.x, nx, -1.0f, 1.0f);
  rng_fill_uniformf(r, n.dy, ny, -1.0f, 1.0f);
  // forward, dW and dx: three GEMMs of 2 B I O flops per layer and member
  double flops = 0.0;
  for (int l = 0; l < nlayers; l++) flops += 3.0 * 2.0 * E * (double)B * sizes[l] * sizes[l + 1];
  double t = best_time(run_net, &n);
  double gf = flops / t * 1e-9;
  printf("%-31s %8.1f %8.3f %8.1f %6.1f%%\n", name, flops * 1e-6, t * 1e3, gf, 100.0 * gf / peak);
  free(n.x), free(n.dx), free(n.dy);
  mlp_work_free(&n.w);
  mlp_free(&n.m);
  return gf / peak;
}

// The elementwise kernels on one elite model step's hidden activations of the planner (5 members
// x 420 rows x 4 layers x 200: 1.68M values, 6.7 MB, beyond the caches), in ns per value beside a
// copy loop of the same size (the memory bound a kernel reading one array and writing one meets)
typedef struct {
  size_t n;
  float *z, *h, *d, *hi, *lo;   // (n) each; (36) bounds, the model's output width
  Rng r;
} Elem;

static void run_copy(void *ctx) {
  Elem *e = ctx;
  memcpy(e->h, e->z, e->n * sizeof *e->h);
}
static void run_swish(void *ctx) {
  Elem *e = ctx;
  nn_act_forward(e->h, e->z, e->n, NN_SWISH);
}
static void run_swish_grad(void *ctx) {
  Elem *e = ctx;
  nn_act_backward(e->d, e->z, e->z, e->h, e->n, NN_SWISH);
}
static void run_relu(void *ctx) {
  Elem *e = ctx;
  nn_act_forward(e->h, e->z, e->n, NN_RELU);
}
static void run_softbound(void *ctx) {
  Elem *e = ctx;
  nn_softbound_forward(e->h, e->z, e->n / 36, 36, e->hi, e->lo);
}
static void run_normal(void *ctx) {
  Elem *e = ctx;
  rng_fill_normalf(&e->r, e->h, e->n, 0.0f, 1.0f);
}

static void bench_elementwise(Rng *r) {
  Elem e = {.n = (size_t)5 * 420 * 4 * 200};
  e.z = xmalloc(e.n, sizeof(float), "input");
  e.h = xmalloc(e.n, sizeof(float), "output");
  e.d = xmalloc(e.n, sizeof(float), "gradient");
  e.hi = xmalloc(36, sizeof(float), "bounds");
  e.lo = xmalloc(36, sizeof(float), "bounds");
  rng_fill_uniformf(r, e.z, e.n, -6.0f, 6.0f);
  for (int j = 0; j < 36; j++) e.hi[j] = 0.5f, e.lo[j] = -10.0f;
  rng_init(&e.r, 1, RNG_STREAM_INIT);
  static const struct {
    const char *name;
    Work f;
  } k[] = {{"copy", run_copy},         {"swish", run_swish},     {"swish'", run_swish_grad},
           {"relu", run_relu},         {"softbound", run_softbound}, {"normal", run_normal}};
  enum { NK = sizeof k / sizeof *k };
  printf("\nelementwise kernels, ns per value over %zu values (one core; target 1.5)\n%-8s",
         e.n, "set");
  for (int i = 0; i < NK; i++) printf(" %9s", k[i].name);
  printf("\n");
  int best = simd_use(-1);
  for (int level = 0; level <= best; level++) {
    simd_use(level);
    printf("%-8s", simd_name(level));
    for (int i = 0; i < NK; i++) printf(" %9.2f", best_time(k[i].f, &e) / (double)e.n * 1e9);
    printf("\n");
  }
  simd_use(-1);
  free(e.z), free(e.h), free(e.d), free(e.hi), free(e.lo);
}

int main(int argc, char **argv) {
  (void)argc;
  Rng r;
  double peak = bench_start(argv[0], &r);
  printf("%-31s %8s %8s %8s %7s\n", "forward+backward, dx included", "MFLOP", "ms", "GFLOP/s",
         "of peak");
  // SAC critic on HalfCheetah: obs 17 + act 6 -> 256 -> 256 -> 1, ReLU, batch 256
  static const int sac[] = {23, 256, 256, 1};
  double sac_frac = bench_net("SAC 23-256-256-1 relu B256", 1, 256, 3, sac, NN_RELU, peak, &r);
  // PETS ensemble: 7 members, 4 x 200 Swish, mean and log-variance of reward + 17 obs deltas
  static const int pets[] = {23, 200, 200, 200, 200, 36};
  bench_net("PETS 7x 23-4x200-36 swish B420", 7, 420, 5, pets, NN_SWISH, peak, &r);
  printf("\nSAC target: 60%% of peak, measured %.1f%%%s\n", 100.0 * sac_frac,
         sac_frac >= 0.6 ? "" : " (below target)");
  bench_elementwise(&r);
  return EXIT_OK;
}
