// run: logs, schedule, wall clock and checkpoints of one run (see run.h).
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "fail.h"
#include "manifest.h"

static void open_log(Run *r, CsvLog *log, const char *name, const char *header, int64_t keep) {
  char path[4200], err[4400];
  cli_path(r->cli, name, path, sizeof path);
  if (csv_open(log, path, header, keep, err, sizeof err)) fail_run("%s", err);
}

// the resolved parameters as INI text (the manifest's tables), for the checkpoint to carry
static char *params_text(const Config *cfg) {
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  if (!f) fail_run("out of memory");
  cfg_write_ini(cfg, f);
  if (fclose(f)) fail_run("out of memory");
  return text;
}

// A checkpoint belongs to one run: its parameters (so a checkpoint or manifest copied from
// another run is refused) and the digests of the files it read. Checkpoints of builds before
// this record neither and are taken as they are.
static void check_binding(Run *r, CkptReader *ck) {
  char err[4400], tag[128];
  int64_t size = ckpt_field_size(ck, "run.params");
  if (size < 0) {
    fail_warn("%s: written by an earlier build: its parameters and inputs are not checked",
              r->ckpt_path);
    return;
  }
  char *text = xmalloc((size_t)size + 1, 1, "checkpoint parameters");
  if (ckpt_get(ck, "run.params", text, (size_t)size, err, sizeof err))
    fail_run("cannot resume: %s", err);
  text[size] = 0;
  if (manifest_check_text(text, r->ckpt_path, &r->cli->cfg, err, sizeof err))
    fail_run("cannot resume: %s (a checkpoint of another run?)", err);
  free(text);
  for (int i = 0; i < r->cli->ninput; i++) {
    uint64_t then;
    snprintf(tag, sizeof tag, "run.input.%s", r->cli->input[i].name);
    if (ckpt_get(ck, tag, &then, sizeof then, err, sizeof err))
      fail_run("cannot resume: %s: the run read no input %s", r->ckpt_path, r->cli->input[i].name);
    if (then != r->cli->input[i].digest)
      fail_run("cannot resume: input %s differs from the one the run started with (digest "
               DIGEST_FMT " then, " DIGEST_FMT " now)",
               r->cli->input[i].name, then, r->cli->input[i].digest);
  }
}

// the divergence hook: say where, and leave the marker that tells sweeps and the aggregator
static void diverged(const char *what, void *ctx) {
  Run *r = ctx;
  char path[4200], line[1400], err[4400];
  int n = snprintf(line, sizeof line, "diverged at step %lld: %s\n", (long long)r->step, what);
  fprintf(stderr, "%s: %s: %s", r->cli->prog, r->cli->out, line);
  cli_path(r->cli, "DIVERGED", path, sizeof path);
  if (file_write_atomic(path, line, (size_t)n, err, sizeof err)) fprintf(stderr, "%s\n", err);
}

CkptReader *run_start(Run *r, Cli *cli, const char *train_header, const char *eval_header,
                      const char *algo_header) {
  memset(r, 0, sizeof *r);
  r->cli = cli;
  r->has_algo = algo_header != NULL;
  r->t_start = progress_now();
  r->last_eval = -1;
  r->next_checkpoint = cli->run.checkpoint_every;
  cli_path(cli, "checkpoint.bin", r->ckpt_path, sizeof r->ckpt_path);

  // a run killed before its first checkpoint starts over
  struct stat st;
  CkptReader *ck = NULL;
  int64_t rows[3] = {-1, -1, -1};
  if (cli->resuming && stat(r->ckpt_path, &st) == 0) {
    char err[4400];
    ck = ckpt_open(r->ckpt_path, cli->prog, err, sizeof err);
    if (!ck || ckpt_get_i64(ck, "run.step", &r->step, err, sizeof err) ||
        ckpt_get_i64(ck, "run.eval_index", &r->eval_index, err, sizeof err) ||
        ckpt_get_f64(ck, "run.wall", &r->wall_before, err, sizeof err) ||
        ckpt_get(ck, "run.rows", rows, sizeof rows, err, sizeof err) ||
        ckpt_get_i64(ck, "run.next_eval", &r->next_eval, err, sizeof err) ||
        ckpt_get_i64(ck, "run.last_eval", &r->last_eval, err, sizeof err) ||
        ckpt_get_i64(ck, "run.next_checkpoint", &r->next_checkpoint, err, sizeof err))
      fail_run("cannot resume: %s", err);
    check_binding(r, ck);
  } else if (!cli->resuming && cli->ninput) {
    cli_write_manifest(cli);   // with the inputs' digests in [meta]
  }
  r->params = params_text(&cli->cfg);
  fail_on_diverged(diverged, r);
  open_log(r, &r->train, "train.csv", train_header, rows[0]);
  open_log(r, &r->eval, "eval.csv", eval_header, rows[1]);
  if (r->has_algo) open_log(r, &r->algo, "algo.csv", algo_header, rows[2]);
  progress_init(&r->progress, stderr, cli->quiet ? PROGRESS_NEVER : cli->progress, cli->prog,
                cli->run.steps, r->step);
  return ck;
}

CsvLog *run_open_log(Run *r, CkptReader *ck, const char *file, const char *header) {
  char tag[128], err[4400];
  int64_t keep = -1;
  if (r->nextra == RUN_MAX_EXTRA)
    fail_run("internal error: more than %d extra logs", RUN_MAX_EXTRA);
  snprintf(tag, sizeof tag, "run.rows.%s", file);
  if (ck && ckpt_get_i64(ck, tag, &keep, err, sizeof err)) fail_run("cannot resume: %s", err);
  CsvLog *log = &r->extra[r->nextra];
  snprintf(r->extra_name[r->nextra], sizeof r->extra_name[0], "%s", file);
  r->nextra++;
  open_log(r, log, file, header, keep);
  return log;
}

double run_wall(const Run *r) { return r->wall_before + (progress_now() - r->t_start); }

// the first multiple of every above step
static int64_t next_multiple(int64_t step, int64_t every) { return (step / every + 1) * every; }

int run_eval_due(Run *r) {
  int64_t every = r->cli->run.eval_every, steps = r->cli->run.steps;
  if (r->step == r->last_eval) return 0;
  int periodic = every > 0 && r->step >= r->next_eval;
  if (!(r->last_eval < 0 || periodic || r->step >= steps)) return 0;
  r->last_eval = r->step;
  if (every > 0) r->next_eval = next_multiple(r->step, every);
  return 1;
}

int run_checkpoint_due(Run *r) {
  int64_t every = r->cli->run.checkpoint_every;
  if (every <= 0 || r->step < r->next_checkpoint || r->step >= r->cli->run.steps) return 0;
  r->next_checkpoint = next_multiple(r->step, every);
  return 1;
}

static void each_log(Run *r, void (*fn)(CsvLog *)) {
  fn(&r->train), fn(&r->eval);
  if (r->has_algo) fn(&r->algo);
  for (int i = 0; i < r->nextra; i++) fn(&r->extra[i]);
}

CkptWriter *run_checkpoint_begin(Run *r) {
  char err[4400];
  CkptWriter *w = ckpt_begin(r->ckpt_path, r->cli->prog, err, sizeof err);
  if (!w) fail_run("%s", err);
  int64_t rows[3] = {r->train.rows, r->eval.rows, r->has_algo ? r->algo.rows : -1};
  ckpt_put_i64(w, "run.step", r->step);
  ckpt_put_i64(w, "run.eval_index", r->eval_index);
  ckpt_put_f64(w, "run.wall", run_wall(r));
  ckpt_put(w, "run.rows", rows, sizeof rows);
  ckpt_put_i64(w, "run.next_eval", r->next_eval);
  ckpt_put_i64(w, "run.last_eval", r->last_eval);
  ckpt_put_i64(w, "run.next_checkpoint", r->next_checkpoint);
  ckpt_put(w, "run.params", r->params, strlen(r->params));
  for (int i = 0; i < r->cli->ninput; i++) {
    char tag[128];
    snprintf(tag, sizeof tag, "run.input.%s", r->cli->input[i].name);
    ckpt_put(w, tag, &r->cli->input[i].digest, sizeof r->cli->input[i].digest);
  }
  for (int i = 0; i < r->nextra; i++) {
    char tag[128];
    snprintf(tag, sizeof tag, "run.rows.%s", r->extra_name[i]);
    ckpt_put_i64(w, tag, r->extra[i].rows);
  }
  return w;
}

void run_checkpoint_commit(Run *r, CkptWriter *w) {
  char err[4400];
  each_log(r, csv_sync);   // the rows the checkpoint counts reach the disk before it does
  if (ckpt_commit(w, err, sizeof err)) fail_run("cannot write checkpoint: %s", err);
}

void run_progress(Run *r) { progress_update(&r->progress, r->step); }

void run_finish(Run *r) {
  each_log(r, csv_sync);   // on disk before DONE says so
  each_log(r, csv_close);
  progress_finish(&r->progress);
  fail_on_diverged(NULL, NULL);
  free(r->params);
  r->params = NULL;
  cli_done(r->cli);
}
