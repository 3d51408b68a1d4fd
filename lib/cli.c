// cli: command line and run directory shared by every program (see cli.h).
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include "digest.h"
#include "fail.h"
#include "infile.h"
#include "manifest.h"
#include "rng.h"
#include "simd.h"

// the dedicated flags of the [run] parameters
static const CliFlag run_flags[] = {
    {"--env", "run.env", "NAME"},
    {"--seed", "run.seed", "N"},
    {"--steps", "run.steps", "N"},
    {"--eval-every", "run.eval_every", "N"},
    {"--eval-episodes", "run.eval_episodes", "N"},
    {"--checkpoint-every", "run.checkpoint_every", "N"},
};
enum { NRUN_FLAGS = sizeof run_flags / sizeof run_flags[0] };

static int is_env_param(const char *name) {
  return strcmp(name, "env") == 0 || strcmp(name, "eval_episodes") == 0;
}

void cli_init(Cli *c, const char *argv0, const char *summary, int flags) {
  memset(c, 0, sizeof *c);
  fail_set_prog(argv0);
  c->prog = fail_prog();
  c->summary = summary;
  c->flags = flags;
  c->progress = PROGRESS_AUTO;
  c->lock_fd = -1;
  cfg_init(&c->cfg);
  // [run]; programs without a task have no env and no evaluation episodes
  RunParams *params_ = &c->run;
  const ParamRef all[] = {RUN_PARAMS(PARAM_REF_)};
  ParamRef keep[sizeof all / sizeof all[0]];
  int n = 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if ((flags & CLI_ENV) || !is_env_param(all[i].name)) keep[n++] = all[i];
  cfg_add_section(&c->cfg, "run", keep, n);
  // single-threaded BLAS: runs are parallel across processes, and reductions stay reproducible
  openblas_set_num_threads(1);
}

void cli_flag(Cli *c, const char *flag, const char *key, const char *metavar) {
  if (c->nextra == CLI_MAX_FLAGS || !cfg_find(&c->cfg, key)) {
    fprintf(stderr, "%s: internal error: flag %s for unknown parameter %s\n", c->prog, flag, key);
    abort();
  }
  c->extra[c->nextra++] = (CliFlag){flag, key, metavar};
}

void cli_meta(Cli *c, const char *key, const char *value) {
  if (c->nmeta == CLI_MAX_META) return;
  c->meta[c->nmeta][0] = strdup(key);
  c->meta[c->nmeta][1] = strdup(value);
  if (!c->meta[c->nmeta][0] || !c->meta[c->nmeta][1]) fail_run("out of memory");
  c->nmeta++;
}

void cli_free(Cli *c) {
  fail_on_exit(NULL, NULL);
  if (c->lock_fd >= 0) close(c->lock_fd);   // releases the run directory
  c->lock_fd = -1;
  for (int i = 0; i < c->nmeta; i++) free(c->meta[i][0]), free(c->meta[i][1]);
  cfg_free(&c->cfg);
}

void cli_path(const Cli *c, const char *name, char *buf, size_t n) {
  if (snprintf(buf, n, "%s/%s", c->out, name) >= (int)n)
    fail_usage("--out %s: path too long", c->out);
}

//---------------- parsing ----------------

// the flag entry for `name` among the run flags the program has and its extra flags
static const CliFlag *find_flag(const Cli *c, const char *name) {
  for (int i = 0; i < NRUN_FLAGS; i++)
    if (strcmp(run_flags[i].flag, name) == 0 && cfg_find(&c->cfg, run_flags[i].key))
      return &run_flags[i];
  for (int i = 0; i < c->nextra; i++)
    if (strcmp(c->extra[i].flag, name) == 0) return &c->extra[i];
  return NULL;
}

static void print_flag(FILE *f, const char *flag, const char *meta, const char *what) {
  char left[64];
  snprintf(left, sizeof left, "%s%s%s", flag, meta ? " " : "", meta ? meta : "");
  fprintf(f, "  %-26s %s\n", left, what);
}

static void usage(const Cli *c) {
  FILE *f = stdout;
  fprintf(f, "Usage: %s [OPTION]...\n%s.\n\nRun options:\n", c->prog, c->summary);
  for (int i = 0; i < NRUN_FLAGS; i++) {
    const ParamRef *p = cfg_find(&c->cfg, run_flags[i].key);
    char what[256];
    if (!p) continue;
    snprintf(what, sizeof what, "set %s", run_flags[i].key);
    print_flag(f, run_flags[i].flag, run_flags[i].metavar, what);
  }
  for (int i = 0; i < c->nextra; i++) {
    char what[256];
    snprintf(what, sizeof what, "set %s", c->extra[i].key);
    print_flag(f, c->extra[i].flag, c->extra[i].metavar, what);
  }
  print_flag(f, "--out", "DIR", "run directory (default runs/PROGRAM[-ENV]-seedN)");
  print_flag(f, "--config", "FILE", "read parameters from an INI file (repeatable)");
  print_flag(f, "--set", "KEY=VALUE", "set one parameter, e.g. --set run.seed=3 (repeatable)");
  print_flag(f, "--resume", NULL, "continue the run in --out from its last checkpoint");
  print_flag(f, "--progress", "WHEN", "progress line on stderr: auto, always or never");
  print_flag(f, "--quiet", NULL, "no progress line and no parameter summary");
  print_flag(f, "--print-config", NULL, "print every resolved parameter as INI and exit");
  print_flag(f, "--help", NULL, "show this help and exit");
  print_flag(f, "--version", NULL, "show the version and exit");
  fprintf(f, "\nParameters (precedence: defaults < --config < --set < the flags above):\n");
  cfg_print_help(&c->cfg, f);
  fprintf(f, "\nOutput in --out: manifest.ini (every parameter; a valid --config), CSV logs,\n"
             "checkpoint.bin, and DONE when the run has finished.\n"
             "Exit status: 0 success, 1 the run failed, 2 usage or configuration error.\n");
}

static void version(const Cli *c) {
  printf("%s (mirrorbench) %s\n", c->prog, MB_VERSION);
  printf("BLAS: %s\n", openblas_get_config());
  printf("SIMD: %s\n", simd_name(simd_level()));
}

// suggest the closest known flag for an unknown one
static void unknown_option(const Cli *c, const char *name) {
  static const char *fixed[] = {"--out", "--config", "--set", "--resume", "--progress",
                                "--quiet", "--print-config", "--help", "--version"};
  const char *cands[64];
  int n = 0;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) cands[n++] = fixed[i];
  for (int i = 0; i < NRUN_FLAGS; i++)
    if (cfg_find(&c->cfg, run_flags[i].key)) cands[n++] = run_flags[i].flag;
  for (int i = 0; i < c->nextra; i++) cands[n++] = c->extra[i].flag;
  // a flag that shares a long prefix is a likely typo
  const char *best = NULL;
  size_t bestlen = 3;
  for (int i = 0; i < n; i++) {
    size_t k = 0;
    while (name[k] && name[k] == cands[i][k]) k++;
    if (k > bestlen) best = cands[i], bestlen = k;
  }
  if (best) fail_usage("unknown option '%s' (did you mean '%s'?)", name, best);
  fail_usage("unknown option '%s'", name);
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

void cli_parse(Cli *c, int argc, char **argv) {
  char err[2048];
  const char *configs[64];
  int nconfig = 0;

  // remember the command line for the manifest
  size_t used = 0;
  for (int i = 0; i < argc && used < sizeof c->cmdline; i++)
    used += snprintf(c->cmdline + used, sizeof c->cmdline - used, "%s%s", i ? " " : "",
                     i ? argv[i] : c->prog);

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(c);
      exit(EXIT_OK);
    }
    if (strncmp(arg, "--", 2) != 0) fail_usage("unexpected argument '%s'", arg);
    // --name=value or --name value
    char name[64];
    const char *eq = strchr(arg, '='), *value = NULL;
    snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
    if (eq) value = eq + 1;
    int is_switch = strcmp(name, "--resume") == 0 || strcmp(name, "--quiet") == 0 ||
                    strcmp(name, "--version") == 0 || strcmp(name, "--print-config") == 0;
    const CliFlag *fl = find_flag(c, name);
    int known = is_switch || fl || strcmp(name, "--out") == 0 || strcmp(name, "--config") == 0 ||
                strcmp(name, "--set") == 0 || strcmp(name, "--progress") == 0;
    if (!known) unknown_option(c, name);
    if (is_switch) {
      if (value) fail_usage("%s takes no value", name);
    } else if (!value) {
      if (i + 1 >= argc) fail_usage("%s needs a value", name);
      value = argv[++i];
    }

    if (strcmp(name, "--version") == 0) {
      version(c);
      exit(EXIT_OK);
    } else if (strcmp(name, "--resume") == 0) {
      c->resume = true;
    } else if (strcmp(name, "--quiet") == 0) {
      c->quiet = true;
    } else if (strcmp(name, "--print-config") == 0) {
      c->print_config = true;
    } else if (strcmp(name, "--out") == 0) {
      if (!*value || strlen(value) >= sizeof c->out - 64)
        fail_usage("--out: bad directory '%s'", value);
      snprintf(c->out, sizeof c->out, "%s", value);
    } else if (strcmp(name, "--progress") == 0) {
      if (strcmp(value, "auto") == 0) c->progress = PROGRESS_AUTO;
      else if (strcmp(value, "always") == 0) c->progress = PROGRESS_ALWAYS;
      else if (strcmp(value, "never") == 0) c->progress = PROGRESS_NEVER;
      else fail_usage("--progress: expected one of auto|always|never, got '%s'", value);
    } else if (strcmp(name, "--config") == 0) {
      if (nconfig == 64) fail_usage("--config: too many files");
      configs[nconfig++] = value;
    } else if (strcmp(name, "--set") == 0) {
      const char *e = strchr(value, '=');
      char key[256];
      if (!e || e == value) fail_usage("--set: expected KEY=VALUE, got '%s'", value);
      snprintf(key, sizeof key, "%.*s", (int)(e - value), value);
      if (cfg_push(&c->cfg, key, e + 1, CFG_SET, "--set", err, sizeof err)) fail_usage("%s", err);
    } else {
      if (cfg_push(&c->cfg, fl->key, value, CFG_FLAG, fl->flag, err, sizeof err))
        fail_usage("%s", err);
    }
  }

  // files in order; a resumed run's manifest is the base layer under everything given now
  for (int i = 0; i < nconfig; i++)
    if (cfg_read_file(&c->cfg, configs[i], CFG_FILE, err, sizeof err)) fail_usage("%s", err);
  if (c->resume && *c->out) {
    char path[4200];
    cli_path(c, "manifest.ini", path, sizeof path);
    if (file_exists(path) && cfg_read_file(&c->cfg, path, CFG_MANIFEST, err, sizeof err))
      fail_usage("%s", err);
  }
  if (cfg_apply(&c->cfg, 0, err, sizeof err)) fail_usage("%s", err);
}

//---------------- run directory ----------------

static int dir_is_empty(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 1;
  struct dirent *e;
  int empty = 1;
  while (empty && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
  closedir(d);
  return empty;
}

// mkdir -p; *made = the length of the path of the highest directory it made (0: none)
static int make_dirs(const char *path, size_t *made) {
  char buf[4200];
  size_t n = (size_t)snprintf(buf, sizeof buf, "%s", path);
  *made = 0;
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char keep = buf[i];
    buf[i] = 0;
    if (mkdir(buf, 0777) == 0) {
      if (!*made) *made = i;
    } else if (errno != EEXIST) {
      return -1;
    }
    buf[i] = keep;
  }
  return 0;
}

static void standard_meta(Cli *c) {
  char buf[256], host[128] = "unknown";
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  cli_meta(c, "program", c->prog);
  cli_meta(c, "version", MB_VERSION);
  cli_meta(c, "command", c->cmdline);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cli_meta(c, "started_utc", buf);
  gethostname(host, sizeof host - 1);
  cli_meta(c, "host", host);
  cli_meta(c, "blas", openblas_get_config());
  cli_meta(c, "blas_core", openblas_get_corename());
  cli_meta(c, "blas_threads", "1");
  cli_meta(c, "simd", simd_name(simd_level()));
  snprintf(buf, sizeof buf,
           "init %d, reset %d, explore %d, replay %d, eval %d (sub = episode), planner %d, "
           "model %d, weights %d, rollout %d",
           RNG_STREAM_INIT, RNG_STREAM_RESET, RNG_STREAM_EXPLORE, RNG_STREAM_REPLAY,
           RNG_STREAM_EVAL, RNG_STREAM_PLANNER, RNG_STREAM_MODEL, RNG_STREAM_WEIGHTS,
           RNG_STREAM_ROLLOUT);
  cli_meta(c, "rng_streams", buf);
}

// Has the run in dir started: a checkpoint, a marker, or a log with a data row? A run that has
// not holds nothing a rerun could lose.
static int log_has_rows(const char *dir, const char *name) {
  char path[4400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ch, lines = 0;
  while (lines < 2 && (ch = getc(f)) != EOF) lines += ch == '\n';
  fclose(f);
  return lines >= 2 || (lines == 1 && ch != EOF);
}

static int has_started(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int started = 0;
  while (!started && (e = readdir(d))) {
    const char *n = e->d_name;
    size_t len = strlen(n);
    started = strcmp(n, "checkpoint.bin") == 0 || strcmp(n, "DONE") == 0 ||
              strcmp(n, "DIVERGED") == 0 ||
              (len > 4 && strcmp(n + len - 4, ".csv") == 0 && log_has_rows(dir, n));
  }
  closedir(d);
  return started;
}

// remove the files of a run that never started (the harness wrote all of them): the top level
// and inputs/
static int clear_run(const char *dir) {
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/inputs", dir);
  const char *dirs[2] = {sub, dir};
  for (int k = 0; k < 2; k++) {
    DIR *d = opendir(dirs[k]);
    if (!d) continue;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d))) {
      char path[4600];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(path, sizeof path, "%s/%s", dirs[k], e->d_name);
      if (k == 1 && strcmp(e->d_name, "inputs") == 0) bad |= rmdir(path) != 0;
      else bad |= unlink(path) != 0;
    }
    closedir(d);
    if (bad) return -1;
  }
  return 0;
}

// the exit hook of a fresh run: leave nothing behind while it has not started
static void abandon(void *ctx) {
  Cli *c = ctx;
  if (has_started(c->out)) return;
  clear_run(c->out);
  // the directories cli_finish made, from the run's up
  char buf[4200];
  size_t n = (size_t)snprintf(buf, sizeof buf, "%s", c->out);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  while (c->made_len && n >= c->made_len && rmdir(buf) == 0) {
    char *slash = strrchr(buf, '/');
    if (!slash) break;
    *slash = 0;
    n = (size_t)(slash - buf);
  }
}

// one writer per run directory: the lock dies with the process
static void lock_dir(Cli *c) {
  c->lock_fd = open(c->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->lock_fd < 0) fail_run("%s: cannot open: %s", c->out, strerror(errno));
  if (flock(c->lock_fd, LOCK_EX | LOCK_NB) == 0) return;
  if (errno == EWOULDBLOCK)
    fail_run("%s: another process is running in this directory (a second launch of the same "
             "run?); nothing was changed",
             c->out);
  // e.g. a network file system without flock: run, but say what is not guarded
  fail_warn("%s: cannot lock (%s): a second launch on it would not be detected", c->out,
            strerror(errno));
}

void cli_write_manifest(Cli *c) {
  char path[4200], err[4400];
  cli_path(c, "manifest.ini", path, sizeof path);
  if (manifest_write(path, &c->cfg, (char *const(*)[2])c->meta, c->nmeta, err, sizeof err))
    fail_run("%s", err);
}

void cli_finish(Cli *c) {
  char err[4096], path[4200];
  if (cfg_apply(&c->cfg, 1, err, sizeof err)) fail_usage("%s", err);
  if (c->print_config) {   // what a run would use, without starting one
    cfg_write_ini(&c->cfg, stdout);
    exit(EXIT_OK);
  }

  if (!*c->out) {
    if (c->flags & CLI_ENV)
      snprintf(c->out, sizeof c->out, "runs/%s-%s-seed%lld", c->prog, c->run.env,
               (long long)c->run.seed);
    else
      snprintf(c->out, sizeof c->out, "runs/%s-seed%lld", c->prog, (long long)c->run.seed);
  }

  // the directory first, locked, so that every check below sees a state no one else changes
  if (make_dirs(c->out, &c->made_len))
    fail_run("%s: cannot create directory: %s", c->out, strerror(errno));
  lock_dir(c);

  cli_path(c, "DONE", path, sizeof path);
  if (file_exists(path)) {
    if (!c->resume)
      fail_usage("%s: this run has finished (DONE exists); choose another --out", c->out);
    if (!c->quiet) fprintf(stderr, "%s: %s: already finished; nothing to do\n", c->prog, c->out);
    exit(EXIT_OK);
  }
  cli_path(c, "DIVERGED", path, sizeof path);
  FILE *div = infile_open(path, NULL, NULL, 0);   // a regular file, or no marker
  if (div) {
    char line[1200] = "";
    if (!fgets(line, sizeof line, div)) snprintf(line, sizeof line, "(empty marker)");
    fclose(div);
    line[strcspn(line, "\n")] = 0;
    fail_run("%s: this run %s; nothing to do (delete %s to retry from its last checkpoint)",
             c->out, line, path);
  }
  cli_path(c, "manifest.ini", path, sizeof path);
  if (file_exists(path) && !has_started(c->out)) {
    if (clear_run(c->out))
      fail_run("%s: cannot clear the run that never started: %s", c->out, strerror(errno));
    if (!c->quiet)
      fprintf(stderr, "%s: %s: taking over a run that never started\n", c->prog, c->out);
  }
  if (file_exists(path)) {
    if (!c->resume)
      fail_usage("%s holds a run already; pass --resume to continue it, or choose another --out",
                 c->out);
    if (manifest_check(path, &c->cfg, err, sizeof err)) fail_usage("%s", err);
    c->resuming = true;
  } else if (!dir_is_empty(c->out)) {
    fail_usage("%s exists and is not a run directory (no manifest.ini); choose another --out",
               c->out);
  }

  if (!c->resuming) {
    fail_on_exit(abandon, c);
    standard_meta(c);
    cli_write_manifest(c);
  }
  if (!c->quiet) {
    char changed[2048];
    cfg_changed(&c->cfg, changed, sizeof changed);
    fprintf(stderr, "%s: %s %s (%s%s); all parameters in %s\n", c->prog,
            c->resuming ? "resuming" : "starting", c->out, *changed ? "" : "defaults",
            changed, path);
  }
}

void cli_input(Cli *c, const char *name, const char *path, bool copy, char *use, size_t n) {
  char err[4400], dst[4200], sub[4200];
  if (c->lock_fd < 0 || c->ninput == CLI_MAX_INPUTS) {
    fprintf(stderr, "%s: internal error: input %s before cli_finish or too many\n", c->prog,
            name);
    abort();
  }
  snprintf(use, n, "%s", path);
  int seen = 0;   // a second environment of the run reads the same model
  for (int i = 0; i < c->ninput && !seen; i++) seen = strcmp(c->input[i].name, name) == 0;
  if (copy) {
    cli_path(c, "inputs", sub, sizeof sub);
    if (snprintf(dst, sizeof dst, "%s/%s", sub, name) >= (int)sizeof dst)
      fail_usage("--out %s: path too long", c->out);
    // a resumed run keeps the copy it started with
    if (!seen && !(c->resuming && file_exists(dst))) {
      size_t len;
      char *data;
      if (infile_read(path, INFILE_TEXT_MAX, name, &data, &len, err, sizeof err))
        fail_usage("%s: %s", name, err);   // the file a parameter names
      if ((mkdir(sub, 0777) && errno != EEXIST) ||
          file_write_atomic(dst, data, len, err, sizeof err))
        fail_run("%s: cannot keep a copy of %s: %s", dst, path, *err ? err : strerror(errno));
      free(data);
    }
    snprintf(use, n, "%s", dst);
  }
  if (seen) return;
  uint64_t d;
  if (digest_file(use, &d, err, sizeof err)) fail_usage("%s: %s", name, err);
  snprintf(c->input[c->ninput].name, sizeof c->input[0].name, "%s", name);
  c->input[c->ninput++].digest = d;
  char meta[4400], key[80];
  snprintf(key, sizeof key, "input.%s", name);
  snprintf(meta, sizeof meta, DIGEST_FMT " %s%s", d, path, copy ? " (copied to inputs/)" : "");
  cli_meta(c, key, meta);
}

void cli_done(const Cli *c) {
  char path[4200], err[4300];
  cli_path(c, "DONE", path, sizeof path);
  if (file_write_atomic(path, "done\n", 5, err, sizeof err)) fail_run("%s", err);
}
