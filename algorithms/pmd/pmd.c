// pmd: policy mirror descent and its accelerated variants (lookahead, extragradient, optimistic
// correction, lazy momentum; policy iteration for reference) on a tabular MDP with exact or noisy
// Q: the tabular study of "Acceleration in Policy Optimization" (Chelu et al., arXiv 2306.10587)
// with the update rules of the follow-up's code (pmd_core.h). A step is one outer iteration.
//
// The task (run.env, --env) is the MDP: `random`, drawn from (run.seed, RNG_STREAM_DATA) with
// the sizes of [mdp] (tabular.h), or one of the follow-up's two-state MDPs, tiny0, tiny1, tiny3
// and tiny4. The same seed gives the same MDP to every method, so the methods' runs pair up seed
// by seed. run.eval_episodes is not used (an evaluation is exact).
//
// Output in --out (subopt = V*(rho) - V^{pi_t}(rho), V(rho) = sum_s rho(s) V(s), not scaled by
// 1 - gamma):
//   train.csv     step,qevals,inner,value,subopt,eta_mean,wall_s  one row per iteration (step t:
//                 pi_t after t iterations; eta_mean the mean over states of 1 / ie, the last pass's
//                 step size, nan when a state's is infinite or for pi)
//   eval.csv      step,eval,episode,return,length,wall_s  at each evaluation: return = V^{pi_t}(rho)
//   subopt.csv    the same rows with return = subopt: the aggregator's curves against iterations
//   subopt_q.csv  the same with step = Q evaluations done: curves against evaluations
//   algo.csv      step,state,a0,a1,...  pi_t at every evaluation, for MDPs of at most 4 states
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fail.h"
#include "pmd_core.h"
#include "run.h"
#include "tabular.h"

#define MDP_PARAMS(X)                                                                            \
  X(INT, states, "100", "[1, 4096]", "random: states")                                           \
  X(INT, actions, "10", "[1, 4096]", "random: actions")                                          \
  X(INT, branches, "5", "[1, 4096]", "random: successors of each state-action pair")             \
  X(REAL, gamma, "0.95", "[0, 1)", "random: discount")                                           \
  X(REAL, r_scale, "100", "(0, 1e6]", "random: rewards of reaching a state ~ U(0, r_scale)")
PARAMS_DEFINE(MdpParams, mdp_params_register, MDP_PARAMS)

// the follow-up's random-MDP study: 10 iterations, every one evaluated
static const CfgDefault PMD_DEFAULTS[] = {
    {"run.env", "random"},
    {"run.eval_episodes", "1"},
    {"run.steps", "20"},
    {"run.eval_every", "1"},
    {"run.checkpoint_every", "10"},
};

#define EVAL_HEADER "step,eval,episode,return,length,wall_s"

// one evaluation row: step, index, episode 0, value, length 1
static void eval_row(CsvLog *log, int64_t step, int64_t index, double v, double wall) {
  csv_i(log, step);
  csv_i(log, index);
  csv_i(log, 0);
  csv_d(log, v);
  csv_i(log, 1);
  csv_d(log, wall);
  csv_end(log);
}

// the MDP named `name` (run.env): random, or tiny<id>. Returns 0 or -1 with err.
static int open_mdp(TabMdp *m, const char *name, const MdpParams *mp, Rng *rng, char *err,
                    size_t errsz) {
  if (strcmp(name, "random") == 0)
    return tab_random(m, (int)mp->states, (int)mp->actions, (int)mp->branches, mp->gamma,
                      mp->r_scale, rng, err, errsz);
  const char *digits = strncmp(name, "tiny", 4) == 0 ? name + 4 : "";
  if (strlen(digits) == 1 && digits[0] >= '0' && digits[0] <= '9')
    return tab_tiny(m, digits[0] - '0', err, errsz);
  return fail_msg(err, errsz, "run.env = %s: the MDPs are random, tiny0, tiny1, tiny3 and tiny4",
                  name);
}

// the value V^{pi_t}(rho) of the current policy into *value (pi (S, A) and v (S) scratch), and
// its suboptimality
static double measure(TabMdp *m, const Pmd *x, double best, double *pi, double *v, double *value) {
  pmd_policy(x, pi);
  tab_evaluate(m, pi, v, NULL, NULL);
  *value = tab_value_rho(m, v);
  if (!isfinite(*value)) fail_diverged("pmd: the policy's value is %g", *value);
  return best - *value;
}

// an evaluation: eval.csv, subopt.csv, subopt_q.csv and, for small MDPs, the policy in algo.csv
static void log_eval(Run *run, CsvLog *sub, CsvLog *subq, const Pmd *x, const double *pi,
                     double value, double gap) {
  int64_t e = run->eval_index++;
  double wall = run_wall(run);
  eval_row(&run->eval, run->step, e, value, wall);
  eval_row(sub, run->step, e, gap, wall);
  eval_row(subq, x->qevals, e, gap, wall);
  for (int s = 0; run->has_algo && s < x->S; s++) {
    csv_i(&run->algo, run->step);
    csv_i(&run->algo, s);
    for (int a = 0; a < x->A; a++) csv_d(&run->algo, pi[s * x->A + a]);
    csv_d(&run->algo, wall);
    csv_end(&run->algo);
  }
  progress_eval(&run->progress, gap);
}

int main(int argc, char **argv) {
  Cli cli;
  PmdParams p;
  MdpParams mp;
  cli_init(&cli, argv[0], "Policy mirror descent and its accelerated variants on a tabular MDP",
           CLI_ENV);
  pmd_params_register(&cli.cfg, "pmd", &p);
  mdp_params_register(&cli.cfg, "mdp", &mp);
  CFG_SET_DEFAULTS(&cli.cfg, PMD_DEFAULTS);
  cli_parse(&cli, argc, argv);
  char err[512];
  TabMdp m;
  Rng mdp_rng;
  rng_init(&mdp_rng, (uint32_t)cli.run.seed, RNG_STREAM_DATA);
  int bad = open_mdp(&m, cli.run.env, &mp, &mdp_rng, err, sizeof err);
  if (bad) fail_usage("%s", err);
  cli_finish(&cli);

  int S = m.S, A = m.A;
  double *vstar = xmalloc((size_t)S, sizeof *vstar, "values");
  double *v = xmalloc((size_t)S, sizeof *v, "values");
  double *pi = xmalloc((size_t)S * A, sizeof *pi, "policy");
  tab_optimal(&m, vstar, NULL);
  double best = tab_value_rho(&m, vstar);
  Pmd x;
  if (pmd_init(&x, &m, &p, (uint32_t)cli.run.seed, err, sizeof err)) fail_run("%s", err);

  char algo_header[256];
  int k = snprintf(algo_header, sizeof algo_header, "step,state");
  for (int a = 0; a < A && a < 8; a++)
    k += snprintf(algo_header + k, sizeof algo_header - (size_t)k, ",a%d", a);
  snprintf(algo_header + k, sizeof algo_header - (size_t)k, ",wall_s");
  Run run;
  CkptReader *ck = run_start(&run, &cli, "step,qevals,inner,value,subopt,eta_mean,wall_s",
                             EVAL_HEADER, S <= 4 && A <= 8 ? algo_header : NULL);
  CsvLog *sub = run_open_log(&run, ck, "subopt.csv", EVAL_HEADER);
  CsvLog *subq = run_open_log(&run, ck, "subopt_q.csv", EVAL_HEADER);
  if (ck) {
    if (pmd_load(&x, ck, err, sizeof err)) fail_run("cannot resume: %s", err);
    ckpt_close(ck);
  }
  double value, gap = measure(&m, &x, best, pi, v, &value);
  if (!ck && run_eval_due(&run)) log_eval(&run, sub, subq, &x, pi, value, gap);
  while (run.step < cli.run.steps) {
    pmd_iterate(&x);
    run.step++;
    gap = measure(&m, &x, best, pi, v, &value);
    double eta = 0.0;
    int finite = p.method != PMD_PI;
    for (int s = 0; s < S; s++) finite &= !isinf(x.ie[s]) && x.ie[s] > 0.0, eta += 1.0 / x.ie[s];
    csv_i(&run.train, run.step);
    csv_i(&run.train, x.qevals);
    csv_i(&run.train, x.inner);
    csv_d(&run.train, value);
    csv_d(&run.train, gap);
    csv_d(&run.train, finite ? eta / S : NAN);
    csv_d(&run.train, run_wall(&run));
    csv_end(&run.train);
    if (run_eval_due(&run)) log_eval(&run, sub, subq, &x, pi, value, gap);
    if (run_checkpoint_due(&run)) {
      CkptWriter *w = run_checkpoint_begin(&run);
      pmd_save(&x, w);
      run_checkpoint_commit(&run, w);
    }
    run_progress(&run);
  }
  printf("%s: suboptimality %.6g after %lld iterations, %lld Q evaluations (%s)\n", cli.prog, gap,
         (long long)run.step, (long long)x.qevals, cli.out);
  run_finish(&run);
  pmd_free(&x);
  tab_free(&m);
  free(vstar), free(v), free(pi);
  cli_free(&cli);
  return EXIT_OK;
}
