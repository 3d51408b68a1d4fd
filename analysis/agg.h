// agg: the results aggregator's reusable part (the aggregate program is its command line).
//
// A job list names the runs (`LABEL TASK SEED DIR` per line); the runs of one (LABEL, TASK) are a
// group. A run's learning curve is, per evaluation, (step, mean return of that evaluation's
// episodes) read from DIR/eval.csv (or another log with its columns); its final score is the
// last evaluation's mean (the headline metric: the final evaluation, never the best). Groups
// report the mean and the interquartile mean over runs with percentile-bootstrap intervals
// (stats.h, rliable's protocol).
//
// A run's area under the curve (AUC, the PMOE paper's metric) is the trapezoidal area under its
// learning curve divided by its span of steps: the curve's average over environment steps.
//
// Determinism: every interval comes from one Rng started at (seed, RNG_STREAM_BOOTSTRAP) and used
// in a fixed order: curves.csv (groups in order, steps in order), then final.csv (groups in
// order, the mean before the IQM), then normalized.csv (labels in order, the mean before the
// IQM), then auc.csv (groups in order, the mean before the IQM), then auc_normalized.csv (labels
// in order, the mean before the IQM); the AUC's draws come last, so the outputs before them are
// what they were before the AUC existed. The outputs depend on nothing but the inputs and the
// options, byte for byte.
//
// Errors are reported through (err, errsz) as `FILE:LINE: what`; exiting is the program's part.
#ifndef MB_AGG_H
#define MB_AGG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rng.h"
#include "stats.h"

// ---- the job list ----

typedef struct {
  char *label, *task;   // no whitespace, commas or quotes (they become CSV fields)
  uint32_t seed;
  char *dir;            // as written: relative paths are relative to the current directory
  int line;             // line in the job list
} AggJob;

typedef struct {
  AggJob *job;   // (n) in file order
  size_t n;
} AggJobs;

// Read a job list: blank lines and lines starting with '#' are skipped; every other line is
// LABEL TASK SEED DIR. A wrong field count, a bad seed, a comma in a name, a duplicate
// (LABEL, TASK, SEED) (naming both lines) or a list without runs is an error.
int agg_jobs_read(AggJobs *jobs, const char *path, char *err, size_t errsz);
void agg_jobs_free(AggJobs *jobs);

// The per-run evaluation log read by default; the programs write others with the same columns
// (eval_mpc.csv, eval_policy.csv), which a caller may name instead.
#define AGG_EVAL_FILE "eval.csv"

// A usable evaluation log name: a bare file name (not empty, no '/', not . or ..).
int agg_eval_name_ok(const char *name);

// A run whose parameters, losses or observations stopped being finite writes DIR/DIVERGED
// (atomically) instead of DONE and exits 1: exactly one line `diverged at step N: WHAT\n` (N an
// integer, WHAT text). It is an outcome, not a missing run: it is left out of every mean, IQM and
// curve and counted in the group's `diverged` column.
#define AGG_DIVERGED_FILE "DIVERGED"

// Why a run directory cannot be aggregated from its log `eval` (a file name, e.g.
// AGG_EVAL_FILE): "no directory", "no DONE" or "no EVAL" (e.g. "no eval.csv"), in a static
// buffer valid until the next call; NULL when the run has both DONE and that log, or has
// DIVERGED (agg_run_diverged tells the two apart).
const char *agg_run_missing(const char *dir, const char *eval);

// 0 when DIR has no DIVERGED; 1 when it has, with its line (without the newline) in why; -1 with
// err `DIR/DIVERGED:1: what` when the file is not that one line, or `DIR: ...` when DIR has DONE
// too (a run ends one way).
int agg_run_diverged(const char *dir, char *why, size_t whysz, char *err, size_t errsz);

// Print `PROG: missing run LABEL TASK seed N: DIR (why)` to f for every run agg_run_missing
// finds incomplete; returns their number.
size_t agg_report_missing(const AggJobs *jobs, const char *eval, FILE *f);

// Check that DIR/manifest.ini is the record of a run of `task` with `seed` (the job list's, at
// line job_line): [meta] program present, [run] env == task and [run] seed == seed. A missing
// file or key, a key given twice in its section, or a value that disagrees is an error
// `FILE:LINE: what`.
int agg_manifest_check(const char *dir, const char *task, uint32_t seed, int job_line,
                       char *err, size_t errsz);

// ---- one run ----

// eval.csv's header: envs/episodes.h's EVAL_CSV_HEADER, repeated here because that header brings
// MuJoCo's (the tests check that the two agree)
#define AGG_EVAL_HEADER "step,eval,episode,return,length,wall_s"

typedef struct {
  int64_t *step;   // (n) environment steps of each evaluation, strictly increasing
  double *ret;     // (n) mean return over that evaluation's episodes
  size_t n;
} AggCurve;

// Read an evaluation log such as eval.csv (header step,eval,episode,return,length,wall_s; rows
// grouped by `eval`). The rows must be what envs/episodes.c writes: evaluations 0, 1, 2, ...,
// each of episodes 0, 1, ..., E - 1 (the same E in every evaluation) at one step, the steps
// strictly increasing. A bad header, a wrong column count, a field that does not parse, a
// non-finite return or wall_s, a length of 0, a step that decreases (or repeats in a new
// evaluation, or changes within one), an evaluation or episode index out of that order (a
// repeated or lost row), an evaluation with another number of episodes than the first, or a
// file without rows is an error `PATH:LINE: what`.
int agg_curve_read(AggCurve *c, const char *path, char *err, size_t errsz);
void agg_curve_free(AggCurve *c);

// ---- groups ----

typedef struct {
  char *label, *task;
  AggCurve *run;   // (n) in job-list order
  size_t n;
  size_t diverged;   // runs of the group that diverged (no curve: left out of every statistic)
} AggGroup;

typedef struct {
  AggGroup *group;   // (n) in order of first appearance in the job list
  size_t n;
} AggSet;

void agg_set_init(AggSet *s);
void agg_set_free(AggSet *s);

// Add a run to group (label, task), making the group at the end if it is new; takes over the
// curve's arrays (c is left empty).
void agg_set_add(AggSet *s, const char *label, const char *task, AggCurve *c);

// The group (label, task), or NULL.
const AggGroup *agg_set_find(const AggSet *s, const char *label, const char *task);

// Read the curve of every job whose run is complete (agg_run_missing is NULL) from its log
// DIR/eval, after agg_manifest_check of its directory, into groups, in order of the groups'
// first lines in the job list. A group left without runs is left out, and a group whose runs'
// last evaluations differ by more than 5% of the steps is kept; a warning names either. A run
// with DIVERGED (after agg_manifest_check) is counted in its group's `diverged` with a warning
// naming it, and its logs are not read; a group whose runs all diverged is kept (its statistics
// are NaN, its tables say so). Returns 0, or -1 with the first run's error.
int agg_set_load(AggSet *s, const AggJobs *jobs, const char *eval, char *err, size_t errsz);

// ---- statistics ----

typedef struct {
  int reps;        // bootstrap replicates (>= 1)
  double conf;     // interval level in (0, 1)
  uint32_t seed;   // of the bootstrap stream
} AggOptions;

typedef struct {
  int64_t step;
  size_t seeds;   // runs at this step (all of the group's)
  double mean;
  Interval iqm;   // point, and the bootstrap interval over runs
} AggPoint;

// The group's learning curve at the evaluations every run has, in increasing order: writes
// *pts (malloc'd, (return value) points; free it) and draws one IQM bootstrap per step from r.
// An evaluation of run 0 at step s is matched in another run by that run's nearest evaluation
// when it is at s, or nearer to s than half the way to s's nearer neighbour among run 0's
// evaluations (seeds of ARS reach an evaluation point at different steps); the point's step is
// the smallest of the matched steps.
size_t agg_group_curve(const AggGroup *g, AggPoint **pts, const AggOptions *o, Rng *r);

typedef struct {
  size_t runs;       // used: the group's runs that did not diverge
  size_t diverged;   // left out; with runs == 0 the intervals are NaN
  Interval mean, iqm;
} AggSummary;

// The group's final scores (each run's last evaluation): the mean's bootstrap, then the IQM's.
void agg_group_final(const AggGroup *g, AggSummary *out, const AggOptions *o, Rng *r);

// ---- normalised scores ----

typedef struct {
  char *task;
  double low, high;   // e.g. random and expert returns; low != high
} AggRef;

typedef struct {
  AggRef *ref;   // (n)
  size_t n;
} AggRefs;

// Read a reference file: lines TASK LOW HIGH ('#' lines and blank lines skipped). A wrong field
// count, a number that does not parse or is not finite, LOW == HIGH, or a task given twice is an
// error `FILE:LINE: what`.
int agg_refs_read(AggRefs *refs, const char *path, char *err, size_t errsz);
void agg_refs_free(AggRefs *refs);
const AggRef *agg_refs_find(const AggRefs *refs, const char *task);

// (x - low) / (high - low): 0 at the low reference, 1 at the high one.
double agg_normalize(double x, const AggRef *ref);

// ---- area under the curve ----

// The run's normalised area under its learning curve: the trapezoidal integral of the mean
// evaluation return over environment steps from the first evaluation (step 0 in every program's
// log) to the last, divided by that span of steps. It is the curve's average over steps, in the
// units of the return: a constant curve's AUC is its value, a straight line's the mean of its
// ends. A curve of one evaluation has no span; its AUC is that evaluation's return.
double agg_run_auc(const AggCurve *c);

// The group's AUCs (agg_run_auc of each run), as agg_group_final: the mean's bootstrap, then the
// IQM's; with ref (not NULL) each AUC is agg_normalize'd first (the normalisation is affine, so
// the normalised AUC is the area under the normalised curve).
void agg_group_auc(const AggGroup *g, const AggRef *ref, AggSummary *out, const AggOptions *o,
                   Rng *r);

typedef struct {
  const char *label;   // borrowed from the set
  size_t tasks, runs;  // tasks with a reference and runs, and their runs
  size_t diverged;     // runs of the label's tasks with a reference that diverged
  AggSummary score;    // over the normalised final scores, strata = tasks (NaN without runs)
} AggNorm;

// Per label (first-appearance order), the normalised final scores pooled over its tasks that
// have a reference, with a bootstrap stratified by task (seeds resampled within each task; the
// mean's, then the IQM's). Labels with no such task are left out; a label whose runs on them all
// diverged has tasks = runs = 0 and NaN scores. Writes *out (malloc'd; free it)
// and returns the number of labels.
size_t agg_normalized(const AggSet *s, const AggRefs *refs, AggNorm **out, const AggOptions *o,
                      Rng *r);

// agg_normalized of the runs' AUCs (agg_run_auc) instead of their final scores.
size_t agg_auc_normalized(const AggSet *s, const AggRefs *refs, AggNorm **out,
                          const AggOptions *o, Rng *r);

// ---- outputs ----

// Write curves.csv, final.csv, final.md, final.tex, when refs is not NULL normalized.csv, then
// auc.csv, auc.md, auc.tex (the groups' AUCs, in final.csv's columns and final.md's tables) and,
// when refs is not NULL, auc_normalized.csv (normalized.csv's columns) into dir (made, with its
// parents, if missing), each through a temporary file renamed into place. Numbers in CSVs are
// %.17g, in the tables %.1f. Every CSV ends with a column `diverged`
// (the group's or label's diverged runs; `seeds` and `runs` count the runs used); a group whose
// runs all diverged has a final.csv row with empty statistics and "all diverged" in the tables,
// whose seeds cell reads "4/5, 1 diverged" when runs diverged (else the count alone, as before).
// Returns 0 or -1 with err.
int agg_write_all(const AggSet *s, const AggRefs *refs, const char *dir, const AggOptions *o,
                  char *err, size_t errsz);

// Strict unsigned decimal (digits only, no sign or spaces) up to max: 0 and *out, or -1.
int agg_parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
