// run: the life of one run after cli_finish: its logs, schedule, wall clock and checkpoints.
//
// Every program logs train.csv (one row per training episode or log interval), eval.csv (one row
// per evaluation episode) and optionally algo.csv, all starting with `step` and ending with
// `wall_s`. Evaluation happens at step 0, every run.eval_every steps and at the last step;
// checkpoints every run.checkpoint_every steps hold the harness state (step, log rows, wall time)
// plus whatever the program adds, so a resumed run writes the same rows as one never stopped.
#ifndef MB_RUN_H
#define MB_RUN_H

#include <stdint.h>
#include "checkpoint.h"
#include "cli.h"
#include "csvlog.h"
#include "progress.h"

#define RUN_MAX_EXTRA 8

typedef struct {
  Cli *cli;
  CsvLog train, eval, algo;   // algo is open only if the program gave it a header
  int has_algo;
  CsvLog extra[RUN_MAX_EXTRA];   // further logs opened with run_open_log
  char extra_name[RUN_MAX_EXTRA][64];
  int nextra;
  Progress progress;
  int64_t step;               // environment steps done (the program advances it)
  int64_t eval_index;         // evaluations done (eval.csv's `eval` column)
  int64_t next_eval;          // step from which the next periodic evaluation is due
  int64_t last_eval;          // step of the last evaluation (-1: none yet)
  int64_t next_checkpoint;    // step from which the next checkpoint is due
  double wall_before;         // wall seconds of earlier segments of a resumed run
  double t_start;             // monotonic clock when this segment started
  char ckpt_path[4200];
  char *params;               // the resolved parameters as INI text, kept in every checkpoint
} Run;

// Open the logs. On a fresh start (or a resume that finds no checkpoint) the logs are created and
// NULL is returned. When resuming from a checkpoint, the checkpoint must belong to this run (its
// recorded parameters and input digests equal the current ones, else exit 1 naming what
// differs), the harness state is restored, the logs are cut back to the rows it recorded, and
// the open reader is returned: the program reads its own fields, then calls ckpt_close.
// algo_header may be NULL. From here on fail_diverged reports the step and writes DIVERGED in the
// run directory. Exits 1 on failure.
CkptReader *run_start(Run *r, Cli *cli, const char *train_header, const char *eval_header,
                      const char *algo_header);

// Another log of the run (e.g. model.csv, eval_mpc.csv): created fresh, or, when ck is the
// reader run_start returned, cut back to the rows the checkpoint recorded. Call it right after
// run_start (before closing ck). Exits 1 on failure.
CsvLog *run_open_log(Run *r, CkptReader *ck, const char *file, const char *header);

// Wall-clock seconds of the whole run so far (all segments).
double run_wall(const Run *r);

// Is an evaluation due at r->step: at step 0, the first time the step reaches each multiple of
// eval_every (programs that advance by whole episodes pass multiples), and at the last step?
// Returns 1 once per due evaluation (it marks it taken): call it once per loop iteration.
int run_eval_due(Run *r);

// Is a checkpoint due: the first time the step reaches each multiple of checkpoint_every, never
// at step 0 nor at the end? Returns 1 once per due checkpoint.
int run_checkpoint_due(Run *r);

// Start a checkpoint with the harness state in it (with the parameters and input digests); the
// program adds its fields, then calls run_checkpoint_commit, which syncs the logs to disk first
// (exits 1 if either cannot be written; the previous checkpoint then stays in place).
CkptWriter *run_checkpoint_begin(Run *r);
void run_checkpoint_commit(Run *r, CkptWriter *w);

// Progress line update (cheap; call every step).
void run_progress(Run *r);

// Sync and close the logs, finish the progress line, write DONE. Exits 1 if a log could not be
// written.
void run_finish(Run *r);

#endif
