// fit: regress a noisy sine with an MLP trained by Adam.
//
// The smallest complete program on the mirrorbench harness and the template for new programs:
// one parameter table, a training loop with periodic evaluation, CSV logs, checkpoints, and a
// --resume that continues bit-for-bit. Each step draws a minibatch x ~ U(-pi, pi),
// y = sin(x) + N(0, noise^2) and takes one Adam step on the mean squared error; an evaluation is
// the mean squared error against the noiseless sine on a fixed grid of 201 points.
//
// Output in --out: train.csv  step,loss,wall_s       (minibatch loss every fit.log_every steps)
//                  eval.csv   step,eval,mse,wall_s   (test error at each evaluation)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "fail.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"
#include "run.h"

#define FIT_PARAMS(X)                                                         \
  X(INT, hidden, "32", "[1, 4096]", "width of each hidden layer")             \
  X(INT, layers, "2", "[1, 6]", "number of hidden layers")                    \
  X(CHOICE, activation, "tanh", "relu|tanh|swish", "hidden activation")      \
  X(INT, batch_size, "64", "[1, 65536]", "samples per step")                 \
  X(REAL, lr, "0.003", "(0, 1]", "Adam learning rate")                       \
  X(REAL, noise, "0.1", "[0, 10]", "standard deviation of the label noise")  \
  X(INT, log_every, "100", "[1, 1e9]", "steps between rows of train.csv")
PARAMS_DEFINE(FitParams, fit_params_register, FIT_PARAMS)

// fit's defaults for the harness: a budget that fits the sine well in seconds
static const CfgDefault FIT_DEFAULTS[] = {
    {"run.steps", "5000"},
    {"run.eval_every", "1000"},
    {"run.checkpoint_every", "1000"},
};

static const NnAct activations[] = {NN_RELU, NN_TANH, NN_SWISH};   // order of the choice
enum { GRID = 201 };
static const double pi = 3.14159265358979323846;

typedef struct {
  Mlp net;           // 1 -> hidden x layers -> 1
  MlpWork work;
  Optim adam;
  Rng data;          // training samples
  float *x, *y, *dy; // (B, 1)
} Fit;

// ---- ALGO LOGIC ----

// one Adam step on a fresh minibatch; returns its loss
static double train_step(Fit *f, const FitParams *p) {
  int B = (int)p->batch_size;
  for (int i = 0; i < B; i++) {
    double x = rng_uniform_range(&f->data, -pi, pi);
    f->x[i] = (float)x;
    f->y[i] = (float)(sin(x) + p->noise * rng_normal(&f->data));
  }
  const float *pred = mlp_forward(&f->net, &f->work, f->x, B);
  double loss = nn_mse(f->dy, pred, f->y, (size_t)B);
  nn_zero_grad(&f->net.p);
  mlp_backward(&f->net, &f->work, f->dy, NULL);
  optim_step(&f->adam, f->net.p.w, f->net.p.g);
  return loss;
}

// mean squared error against the noiseless sine on a fixed grid
static double evaluate(Fit *f) {
  float x[GRID], y[GRID], d[GRID];
  MlpWork w;
  char err[256];
  if (mlp_work_init(&w, &f->net, GRID, err, sizeof err)) fail_run("%s", err);
  for (int i = 0; i < GRID; i++) {
    x[i] = (float)(-pi + 2 * pi * i / (GRID - 1));
    y[i] = (float)sin(x[i]);
  }
  double mse = nn_mse(d, mlp_forward(&f->net, &w, x, GRID), y, GRID);
  mlp_work_free(&w);
  return mse;
}

// ---- HARNESS ----

static double log_eval(Run *run, Fit *f) {
  double mse = evaluate(f);
  csv_i(&run->eval, run->step);
  csv_i(&run->eval, run->eval_index++);
  csv_d(&run->eval, mse);
  csv_d(&run->eval, run_wall(run));
  csv_end(&run->eval);
  progress_eval(&run->progress, mse);
  return mse;
}

// what a checkpoint holds: the network and the data stream, and the optimiser (as "adam")
static int fields(const Fit *f, CkptField c[2]) {
  c[0] = (CkptField){"net", f->net.p.w, f->net.p.n * sizeof(float)};
  c[1] = (CkptField){"rng.data", (void *)&f->data, sizeof f->data};
  return 2;
}

static void save(const Fit *f, CkptWriter *w) {
  CkptField c[2];
  ckpt_put_fields(w, "", c, fields(f, c));
  optim_save(&f->adam, w, "adam");
}

static void load(Fit *f, CkptReader *r) {
  char err[4400];
  CkptField c[2];
  if (ckpt_get_fields(r, "", c, fields(f, c), err, sizeof err) ||
      optim_load(&f->adam, r, "adam", err, sizeof err))
    fail_run("cannot resume: %s", err);
}

int main(int argc, char **argv) {
  Cli cli;
  FitParams p;
  cli_init(&cli, argv[0], "Fit a noisy sine with an MLP (the harness example)", 0);
  fit_params_register(&cli.cfg, "fit", &p);
  CFG_SET_DEFAULTS(&cli.cfg, FIT_DEFAULTS);
  cli_parse(&cli, argc, argv);
  cli_finish(&cli);

  // build the network, its optimiser and the data stream, all from run.seed
  Fit f;
  char err[256];
  int sizes[8] = {1};
  for (int l = 1; l <= p.layers; l++) sizes[l] = (int)p.hidden;
  sizes[p.layers + 1] = 1;
  if (mlp_init(&f.net, 1, (int)p.layers + 1, sizes, activations[p.activation], NN_IDENTITY, err,
               sizeof err) ||
      mlp_work_init(&f.work, &f.net, (int)p.batch_size, err, sizeof err) ||
      optim_init(&f.adam, optim_adam((float)p.lr), f.net.p.n, 0, err, sizeof err))
    fail_run("%s", err);
  Rng init;
  rng_init(&init, (uint32_t)cli.run.seed, RNG_STREAM_INIT);
  mlp_init_weights(&f.net, NN_INIT_TORCH, &init);
  rng_init(&f.data, (uint32_t)cli.run.seed, RNG_STREAM_DATA);
  f.x = xmalloc((size_t)p.batch_size, sizeof(float), "minibatch");
  f.y = xmalloc((size_t)p.batch_size, sizeof(float), "minibatch");
  f.dy = xmalloc((size_t)p.batch_size, sizeof(float), "minibatch");

  Run run;
  double mse = NAN;
  CkptReader *ck = run_start(&run, &cli, "step,loss,wall_s", "step,eval,mse,wall_s", NULL);
  if (ck) {
    load(&f, ck);
    ckpt_close(ck);
  } else if (run_eval_due(&run)) {
    mse = log_eval(&run, &f);   // step 0
  }

  while (run.step < cli.run.steps) {
    double loss = train_step(&f, &p);
    run.step++;
    if (run.step % p.log_every == 0) {
      csv_i(&run.train, run.step);
      csv_d(&run.train, loss);
      csv_d(&run.train, run_wall(&run));
      csv_end(&run.train);
    }
    if (run_eval_due(&run)) mse = log_eval(&run, &f);
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      save(&f, w);
      run_checkpoint_commit(&run, w);
    }
    run_progress(&run);
  }

  printf("%s: test mse %.6g after %lld steps (%s)\n", cli.prog, mse,
         (long long)run.step, cli.out);
  run_finish(&run);
  free(f.x), free(f.y), free(f.dy);
  optim_free(&f.adam);
  mlp_work_free(&f.work);
  mlp_free(&f.net);
  cli_free(&cli);
  return EXIT_OK;
}
