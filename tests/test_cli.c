// Tests of cli (flags, precedence, run directory, resume) and run (schedule, checkpoints).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "run.h"

#define P_PARAMS(X)                                           \
  X(INT, batch, "256", "[1, 65536]", "minibatch size")        \
  X(REAL, gamma, "0.99", "[0, 1)", "discount")
PARAMS_DEFINE(PParams, p_register, P_PARAMS)

static char dir[64];
static pid_t owner;

// also runs when a test ends through exit(), which skips the suite's .fini
static void remove_tmp(void) {
  char cmd[128];
  if (getpid() != owner || !dir[0]) return;   // not in forked children
  if (chdir("/")) return;
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
  dir[0] = 0;
}

static void enter_tmp(void) {
  strcpy(dir, "/tmp/mb_cli_XXXXXX");
  cr_assert(mkdtemp(dir));
  cr_assert_eq(chdir(dir), 0);
  owner = getpid();
  atexit(remove_tmp);
}
TestSuite(cli, .init = enter_tmp, .fini = remove_tmp);

static Cli cli;
static PParams pp;

// parse a command line given as one string (words separated by single spaces)
static void parse(const char *line, int flags) {
  static char buf[1024];
  char *argv[64];
  int argc = 0;
  snprintf(buf, sizeof buf, "%s", line);
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) argv[argc++] = tok;
  argv[argc] = NULL;
  cli_init(&cli, argv[0], "test program", flags);
  p_register(&cli.cfg, "p", &pp);
  cli_parse(&cli, argc, argv);
  cli_finish(&cli);
}

// the same in a child process: its exit status, and what it printed in out
static int parse_child(const char *line, int flags, char *out, size_t n) {
  int fd[2];
  cr_assert_eq(pipe(fd), 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    dup2(fd[1], 2);
    close(fd[0]);
    parse(line, flags);
    exit(0);
  }
  close(fd[1]);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < n && (r = read(fd[0], out + got, n - 1 - got)) > 0) got += (size_t)r;
  out[got] = 0;
  close(fd[0]);
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
}

// a run that has started (a log row): one the next command would otherwise take over
static void mark_started(const char *run) {
  char path[256];
  snprintf(path, sizeof path, "%s/eval.csv", run);
  write_file(path, "step,eval,wall_s\n0,0,0\n");
}

#define EXPECT(line, flags, code, text)                                              \
  do {                                                                               \
    char out_[4096];                                                                 \
    int rc_ = parse_child(line, flags, out_, sizeof out_);                           \
    cr_assert_eq(rc_, code, "'%s' exited %d, not %d:\n%s", line, rc_, code, out_);   \
    cr_assert(strstr(out_, text), "'%s' printed:\n%s\nwithout '%s'", line, out_, text); \
  } while (0)

// ---- exit codes (Criterion checks the worker's status) ----

Test(cli, unknown_option_exits_2, .exit_code = 2) { parse("prog --stpes 5", CLI_ENV); }
Test(cli, bad_number_exits_2, .exit_code = 2) { parse("prog --steps many", CLI_ENV); }
Test(cli, bad_set_exits_2, .exit_code = 2) { parse("prog --set p.batch", 0); }
Test(cli, bad_config_exits_2, .exit_code = 2) { parse("prog --config missing.ini", 0); }
Test(cli, help_exits_0, .exit_code = 0) { parse("prog --help", 0); }
Test(cli, version_exits_0, .exit_code = 0) { parse("prog --version", 0); }

// ---- messages ----

Test(cli, usage_errors_say_what_and_why) {
  EXPECT("prog --stpes 5", CLI_ENV, 2, "prog: unknown option '--stpes' (did you mean '--steps'?)");
  EXPECT("prog --stpes 5", CLI_ENV, 2, "Try 'prog --help'");
  EXPECT("prog --steps", CLI_ENV, 2, "prog: --steps needs a value");
  EXPECT("prog --steps 0", CLI_ENV, 2,
         "prog: --steps: run.steps: expected an integer in [1, 1e12], got '0'");
  EXPECT("prog --seed -1", CLI_ENV, 2, "run.seed: expected an integer in [0, 4294967295]");
  EXPECT("prog --set p.batch", 0, 2, "--set: expected KEY=VALUE, got 'p.batch'");
  EXPECT("prog --set p.bach=3", 0, 2, "--set: unknown key 'bach' in [p] (did you mean 'batch'?)");
  EXPECT("prog --set q.batch=3", 0, 2, "--set: unknown section [q]");
  EXPECT("prog --set batch=3", 0, 2, "did you mean p.batch?");
  EXPECT("prog --progress=sometimes", 0, 2, "expected one of auto|always|never");
  EXPECT("prog stray", 0, 2, "unexpected argument 'stray'");
  EXPECT("prog --resume=yes", 0, 2, "--resume takes no value");
  EXPECT("prog --config missing.ini", 0, 2, "missing.ini: cannot open: No such file or directory");
  // a program without a task has no --env
  EXPECT("prog --env Hopper", 0, 2, "unknown option '--env'");
  EXPECT("prog --set run.env=Hopper", 0, 2, "unknown key 'env' in [run]");
}

Test(cli, config_file_errors_name_the_line) {
  write_file("bad.ini", "[p]\nbatch = 4\n\ngamma = 2\n");
  EXPECT("prog --config bad.ini", 0, 2, "prog: bad.ini:4: p.gamma: expected a number in "
                                        "[0, 1), got '2'");
}

Test(cli, help_lists_flags_and_parameters) {
  EXPECT("prog --help", CLI_ENV, 0, "Usage: prog [OPTION]...");
  EXPECT("prog --help", CLI_ENV, 0, "--eval-episodes N");
  EXPECT("prog --help", CLI_ENV, 0, "p.batch");
  EXPECT("prog --help", CLI_ENV, 0, "Exit status: 0 success, 1 the run failed, 2 usage");
  EXPECT("prog --version", 0, 0, "prog (mirrorbench) ");
}

// ---- values and precedence ----

Test(cli, precedence_defaults_config_set_flags) {
  write_file("a.ini", "[run]\nsteps = 10\nseed = 4\n[p]\nbatch = 8\ngamma = 0.5\n");
  write_file("b.ini", "[p]\ngamma = 0.25\n");
  parse("prog --steps 30 --set run.steps=20 --config a.ini --config b.ini --set p.batch=16 "
        "--out r --quiet",
        0);
  cr_assert_eq(cli.run.steps, 30);      // flag > set > file
  cr_assert_eq(cli.run.seed, 4);        // file > default
  cr_assert_eq(pp.batch, 16);           // set > file
  cr_assert_eq(pp.gamma, 0.25);         // later file > earlier file
  cr_assert_eq(cli.run.eval_every, 5000);
}

Test(cli, equals_form_and_defaults_out) {
  parse("prog --env=Hopper --seed=7 --quiet", CLI_ENV);
  cr_assert_str_eq(cli.run.env, "Hopper");
  cr_assert_str_eq(cli.out, "runs/prog-Hopper-seed7");
  struct stat st;
  cr_assert_eq(stat("runs/prog-Hopper-seed7/manifest.ini", &st), 0);
}

// ---- run directory ----

Test(cli, manifest_reruns_the_run) {
  parse("prog --out r1 --set p.batch=12 --steps 99 --quiet", 0);
  cli_free(&cli);
  // the manifest as a config reproduces every parameter
  parse("prog --config r1/manifest.ini --out r2 --quiet", 0);
  cr_assert_eq(pp.batch, 12);
  cr_assert_eq(cli.run.steps, 99);
}

Test(cli, existing_runs_are_protected) {
  char out[4096];
  cr_assert_eq(parse_child("prog --out r --quiet", 0, out, sizeof out), 0, "%s", out);
  // a run that never started (only its manifest) is taken over, also by other parameters
  EXPECT("prog --out r --set p.batch=3", 0, 0, "r: taking over a run that never started");
  mark_started("r");
  EXPECT("prog --out r", 0, 2, "r holds a run already; pass --resume to continue it");
  mkdir("other", 0777);
  write_file("other/notes.txt", "mine");
  EXPECT("prog --out other", 0, 2, "other exists and is not a run directory");
  EXPECT("prog --out other --resume", 0, 2, "other exists and is not a run directory");
}

Test(cli, resume_takes_the_recorded_parameters) {
  char out[4096];
  cr_assert_eq(parse_child("prog --out r --set p.batch=12 --quiet", 0, out, sizeof out), 0);
  mark_started("r");
  // nothing but --out: the manifest supplies the parameters
  parse("prog --out r --resume --quiet", 0);
  cr_assert(cli.resuming);
  cr_assert_eq(pp.batch, 12);
}

Test(cli, resume_refuses_changed_parameters) {
  char out[4096];
  cr_assert_eq(parse_child("prog --out r --set p.batch=12 --quiet", 0, out, sizeof out), 0);
  mark_started("r");
  EXPECT("prog --out r --resume --set p.batch=16 --steps 5", 0, 2, "2 parameters differ");
  EXPECT("prog --out r --resume --set p.batch=16", 0, 2, "p.batch: 12 in the run, 16 now");
  // restating the same values is fine
  EXPECT("prog --out r --resume --set p.batch=12", 0, 0, "resuming r");
}

Test(cli, resume_without_a_run_starts_one) {
  parse("prog --out fresh --resume --quiet", 0);
  cr_assert(!cli.resuming);
  struct stat st;
  cr_assert_eq(stat("fresh/manifest.ini", &st), 0);
}

Test(cli, finished_runs_are_not_rerun) {
  parse("prog --out r --quiet", 0);
  cli_done(&cli);
  cli_free(&cli);   // releases the directory
  EXPECT("prog --out r --resume", 0, 0, "r: already finished; nothing to do");
  EXPECT("prog --out r", 0, 2, "this run has finished (DONE exists)");
}

// ---- run: schedule, logs and checkpoints ----

Test(cli, evaluation_and_checkpoint_schedule) {
  parse("prog --out r --steps 25 --eval-every 10 --checkpoint-every 10 --quiet", 0);
  Run run;
  cr_assert_null(run_start(&run, &cli, "step,x,wall_s", "step,eval,y,wall_s", NULL));
  int evals = 0, ckpts = 0;
  for (run.step = 0; run.step <= 25; run.step++) {
    evals += run_eval_due(&run);
    ckpts += run_checkpoint_due(&run);
  }
  cr_assert_eq(evals, 4, "steps 0, 10, 20 and the last, 25");
  cr_assert_eq(ckpts, 2, "steps 10 and 20");
  run_finish(&run);
  remove("r/DONE");
  cli_free(&cli);

  // a program that advances by whole episodes passes the multiples instead of landing on them
  parse("prog --out r2 --steps 25 --eval-every 10 --checkpoint-every 10 --quiet", 0);
  cr_assert_null(run_start(&run, &cli, "step,x,wall_s", "step,eval,y,wall_s", NULL));
  int64_t at_eval[8], at_ckpt[8];
  evals = ckpts = 0;
  for (run.step = 0; run.step < 25 + 7; run.step += 7) {
    if (run_eval_due(&run)) at_eval[evals++] = run.step;
    if (run_checkpoint_due(&run)) at_ckpt[ckpts++] = run.step;
    cr_assert(!run_eval_due(&run), "an evaluation is due once");
  }
  cr_assert_eq(evals, 4);
  cr_assert(at_eval[0] == 0 && at_eval[1] == 14 && at_eval[2] == 21 && at_eval[3] == 28);
  cr_assert_eq(ckpts, 2);
  cr_assert(at_ckpt[0] == 14 && at_ckpt[1] == 21);
  run_finish(&run);
  struct stat st;
  cr_assert_eq(stat("r2/DONE", &st), 0);
}

// a resumed run restores the harness state and cuts the logs back to the checkpoint
Test(cli, resume_restores_state_and_cuts_logs) {
  parse("prog --out r --steps 100 --quiet", 0);
  Run run;
  cr_assert_null(run_start(&run, &cli, "step,x,wall_s", "step,eval,y,wall_s", "step,z,wall_s"));
  for (int i = 0; i < 3; i++) {
    csv_i(&run.train, i), csv_d(&run.train, 0.5 * i), csv_d(&run.train, 0), csv_end(&run.train);
  }
  run.step = 30;
  run.eval_index = 2;
  CsvLog *extra = run_open_log(&run, NULL, "model.csv", "step,m");
  csv_i(extra, 1), csv_i(extra, 2), csv_end(extra);
  CkptWriter *w = run_checkpoint_begin(&run);
  ckpt_put_i64(w, "mine", 42);
  run_checkpoint_commit(&run, w);
  // rows after the checkpoint, then the process dies
  csv_i(&run.train, 9), csv_d(&run.train, 9), csv_d(&run.train, 0), csv_end(&run.train);
  csv_i(&run.algo, 9), csv_d(&run.algo, 9), csv_d(&run.algo, 0), csv_end(&run.algo);
  csv_i(extra, 9), csv_i(extra, 9), csv_end(extra);
  run_finish(&run);
  remove("r/DONE");
  cli_free(&cli);

  parse("prog --out r --resume --quiet", 0);
  CkptReader *ck = run_start(&run, &cli, "step,x,wall_s", "step,eval,y,wall_s", "step,z,wall_s");
  cr_assert_not_null(ck);
  extra = run_open_log(&run, ck, "model.csv", "step,m");
  cr_assert_eq(extra->rows, 1, "the extra log is cut back too");
  int64_t mine;
  char err[512];
  cr_assert_eq(ckpt_get_i64(ck, "mine", &mine, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mine, 42);
  ckpt_close(ck);
  cr_assert_eq(run.step, 30);
  cr_assert_eq(run.eval_index, 2);
  cr_assert_eq(run.train.rows, 3);
  cr_assert_eq(run.algo.rows, 0);
  run_finish(&run);
  FILE *f = fopen("r/train.csv", "r");
  char text[256] = "";
  cr_assert_eq(fread(text, 1, sizeof text - 1, f) > 0, 1);
  fclose(f);
  cr_assert_str_eq(text, "step,x,wall_s\n0,0,0\n1,0.5,0\n2,1,0\n");
}

Test(cli, corrupted_checkpoint_fails_the_run) {
  char out[4096];
  parse("prog --out r --quiet", 0);
  Run run;
  run_start(&run, &cli, "step,wall_s", "step,eval,wall_s", NULL);
  run.step = 10;
  run_checkpoint_commit(&run, run_checkpoint_begin(&run));
  run_finish(&run);
  remove("r/DONE");
  cli_free(&cli);
  // flip one byte in the middle
  FILE *f = fopen("r/checkpoint.bin", "r+");
  fseek(f, 40, SEEK_SET);
  int c = fgetc(f);
  fseek(f, 40, SEEK_SET);
  fputc(c ^ 0x10, f);
  fclose(f);
  fflush(NULL);
  int fd[2];
  cr_assert_eq(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 2);
    parse("prog --out r --resume --quiet", 0);
    run_start(&run, &cli, "step,wall_s", "step,eval,wall_s", NULL);
    exit(0);
  }
  close(fd[1]);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < sizeof out && (r = read(fd[0], out + got, sizeof out - 1 - got)) > 0)
    got += (size_t)r;
  out[got] = 0;
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, out);
  cr_assert(strstr(out, "prog: cannot resume: r/checkpoint.bin: "), "%s", out);
}
