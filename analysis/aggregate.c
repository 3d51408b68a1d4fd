// aggregate: summarise finished runs into learning curves, final-score tables, areas under the
// curves and normalised scores (analysis/agg.h does the work; this file is the command line).
//
//   aggregate --jobs FILE --out DIR [--eval NAME] [--reference FILE] [--reps N] [--seed N]
//             [--conf C] [--allow-missing]
//
// Nothing is written unless every input is sound: a missing run (without --allow-missing), a
// malformed evaluation log or DIVERGED file, or a manifest of another task or seed stops the
// program before it creates DIR. A diverged run is an outcome, counted, not a missing run.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "fail.h"

static void usage(FILE *f) {
  fprintf(f,
          "Usage: aggregate --jobs FILE --out DIR [--eval NAME] [--reference FILE] [--reps N]\n"
          "                 [--seed N] [--conf C] [--allow-missing]\n"
          "Summarise finished runs: learning curves, final scores, areas under the curves and\n"
          "normalised scores, as the mean and the interquartile mean (IQM) over seeds with\n"
          "percentile-bootstrap intervals.\n\n"
          "  --jobs FILE       one run per line: LABEL TASK SEED DIR ('#' starts a comment line);\n"
          "                    the runs of one LABEL and TASK are a group\n"
          "  --out DIR         where the summaries go (made if missing)\n"
          "  --eval NAME       the evaluation log read in each run directory: a file name with\n"
          "                    eval.csv's columns (default eval.csv; e.g. eval_mpc.csv)\n"
          "  --reference FILE  lines TASK LOW HIGH: also write scores (x - LOW) / (HIGH - LOW)\n"
          "                    pooled over tasks per label, bootstrap stratified by task (of the\n"
          "                    final scores and of the AUCs)\n"
          "  --reps N          bootstrap replicates (default 2000, at least 100)\n"
          "  --seed N          seed of the bootstrap stream (default 0)\n"
          "  --conf C          interval level in (0, 1) (default 0.95)\n"
          "  --allow-missing   aggregate the runs with DONE and the log, warn about the rest\n\n"
          "Writes curves.csv (per group and evaluation every run has: mean, IQM and its\n"
          "interval), final.csv, final.md and final.tex (the last evaluation of each run: mean\n"
          "and IQM with intervals), with --reference normalized.csv, then auc.csv, auc.md and\n"
          "auc.tex (the same of each run's area under its curve: the trapezoidal area from the\n"
          "first evaluation to the last over that span of steps, the curve's average) and, with\n"
          "--reference, auc_normalized.csv. A run's score at a step is the mean return of that\n"
          "evaluation's episodes (eval.csv or --eval NAME).\n"
          "A run with DIVERGED (and no DONE) is left out of every statistic and counted: each\n"
          "CSV ends with a column diverged, the tables say \"4/5, 1 diverged\", and a group\n"
          "whose runs all diverged has empty cells (\"all diverged\" in the tables).\n"
          "Exit status: 0 success, 1 missing or malformed runs, 2 usage error.\n");
}

int main(int argc, char **argv) {
  fail_set_prog(argv[0]);
  const char *jobs_path = NULL, *out = NULL, *ref_path = NULL, *eval = AGG_EVAL_FILE;
  AggOptions o = {.reps = 2000, .conf = 0.95, .seed = 0};
  int allow_missing = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *eq = strchr(arg, '=');
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout);
      return EXIT_OK;
    }
    if (!strcmp(arg, "--version")) {
      printf("aggregate (mirrorbench) %s\n", MB_VERSION);
      return EXIT_OK;
    }
    if (!strcmp(arg, "--allow-missing")) {
      allow_missing = 1;
      continue;
    }
    if (strncmp(arg, "--", 2)) fail_usage("unexpected argument '%s'", arg);
    // --name value or --name=value; the name is checked before a value is taken
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
    static const char *known[] = {"--jobs", "--out",  "--reference", "--reps",
                                  "--seed", "--conf", "--eval"};
    int k = 0, nk = (int)(sizeof known / sizeof known[0]);
    while (k < nk && strcmp(name, known[k])) k++;
    if (k == nk) {
      if (!strcmp(name, "--allow-missing")) fail_usage("--allow-missing takes no value");
      fail_usage("unknown option '%s'", name);
    }
    const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
    if (!value) fail_usage("%s needs a value", name);
    uint64_t u;
    char *end;
    switch (k) {
      case 0: jobs_path = value; break;
      case 1: out = value; break;
      case 2: ref_path = value; break;
      case 3:
        if (agg_parse_uint(value, 100000000, &u) || u < 100)
          fail_usage("--reps: expected an integer in [100, 1e8], got '%s'", value);
        o.reps = (int)u;
        break;
      case 4:
        if (agg_parse_uint(value, UINT32_MAX, &u))
          fail_usage("--seed: expected an integer in [0, 4294967295], got '%s'", value);
        o.seed = (uint32_t)u;
        break;
      case 5:
        o.conf = strtod(value, &end);
        if (!*value || *end || !(o.conf > 0.0 && o.conf < 1.0))
          fail_usage("--conf: expected a number in (0, 1), got '%s'", value);
        break;
      default:
        // a name, not a path: every run directory holds its own
        if (!agg_eval_name_ok(value))
          fail_usage("--eval: expected a file name without '/' (e.g. eval_mpc.csv), got '%s'",
                     value);
        eval = value;
    }
  }
  if (!jobs_path) fail_usage("--jobs FILE is required");
  if (!out || !*out) fail_usage("--out DIR is required");

  char err[8192];
  AggJobs jobs;
  AggRefs refs = {NULL, 0};
  if (agg_jobs_read(&jobs, jobs_path, err, sizeof err)) fail_usage("%s", err);
  if (ref_path && agg_refs_read(&refs, ref_path, err, sizeof err)) fail_usage("%s", err);
  size_t missing = agg_report_missing(&jobs, eval, stderr);
  if (missing && !allow_missing)
    fail_run("%zu of %zu runs missing: nothing written (--allow-missing aggregates the others)",
             missing, jobs.n);
  if (missing) fail_warn("%zu of %zu runs missing: aggregating the others", missing, jobs.n);

  AggSet set;
  agg_set_init(&set);
  if (agg_set_load(&set, &jobs, eval, err, sizeof err)) fail_run("%s", err);
  if (set.n == 0) fail_run("no complete runs: nothing written");
  if (agg_write_all(&set, ref_path ? &refs : NULL, out, &o, err, sizeof err)) fail_run("%s", err);
  size_t runs = 0, diverged = 0;
  for (size_t i = 0; i < set.n; i++) runs += set.group[i].n, diverged += set.group[i].diverged;
  int other = strcmp(eval, AGG_EVAL_FILE) != 0;
  char dv[64] = "";   // said only when there are some: the line is unchanged otherwise
  if (diverged) snprintf(dv, sizeof dv, " and %zu diverged", diverged);
  printf("aggregate: %zu runs%s%s%s%s in %zu groups -> %s/{curves,final}.csv final.md "
         "final.tex%s auc.{csv,md,tex}%s\n",
         runs, other ? " (" : "", other ? eval : "", other ? ")" : "", dv, set.n, out,
         ref_path ? " normalized.csv" : "", ref_path ? " auc_normalized.csv" : "");
  agg_set_free(&set);
  agg_refs_free(&refs);
  agg_jobs_free(&jobs);
  return EXIT_OK;
}
