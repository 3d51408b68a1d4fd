// agg: job lists, run logs, groups, statistics and the summary files (see agg.h).
#include "agg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fail.h"
#include "infile.h"
#include "manifest.h"

// ---- small helpers ----

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = xmalloc(n, 1, "string");
  memcpy(d, s, n);
  return d;
}

// dir/name, without doubling a trailing slash of dir
static char *join(const char *dir, const char *name) {
  size_t d = strlen(dir);
  while (d > 1 && dir[d - 1] == '/') d--;
  char *p = xmalloc(d + strlen(name) + 2, 1, "path");
  sprintf(p, "%.*s/%s", (int)d, dir, name);
  return p;
}

// Split s at whitespace in place into at most max fields; returns the number of fields found
// (also those beyond max, so a caller can tell "too many").
static int split_ws(char *s, char **f, int max) {
  int k = 0;
  for (;;) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f') s++;
    if (!*s) return k;
    if (k < max) f[k] = s;
    k++;
    while (*s && !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f'))
      s++;
    if (*s) *s++ = 0;
  }
}

int agg_parse_uint(const char *s, uint64_t max, uint64_t *out) {
  if (!*s) return -1;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10) return -1;   // v * 10 + d > max
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

// the whole of s is one number (strtod's syntax, under the C locale)
static int parse_double(const char *s, double *out) {
  char *end;
  if (!*s) return -1;
  // subnormals set ERANGE yet read back exactly, and overflow shows as an infinity: errno says
  // nothing the callers' checks do not
  *out = strtod(s, &end);
  return *end ? -1 : 0;
}

// ---- the job list ----

static void jobs_push(AggJobs *jobs, size_t *room, char **f, uint32_t seed, int line) {
  if (jobs->n == *room) {
    *room = *room ? 2 * *room : 16;
    jobs->job = realloc(jobs->job, *room * sizeof *jobs->job);
    if (!jobs->job) fail_run("out of memory reading a job list");
  }
  AggJob *j = &jobs->job[jobs->n++];
  j->label = xstrdup(f[0]);
  j->task = xstrdup(f[1]);
  j->seed = seed;
  j->dir = xstrdup(f[3]);
  j->line = line;
}

int agg_jobs_read(AggJobs *jobs, const char *path, char *err, size_t errsz) {
  jobs->job = NULL;
  jobs->n = 0;
  FILE *f = infile_open(path, NULL, err, errsz);   // a regular file: a FIFO has no end
  if (!f) return -1;
  char *line = NULL;
  size_t cap = 0, room = 0;
  int lineno = 0, rc = 0;
  while (rc == 0 && getline(&line, &cap, f) >= 0) {
    lineno++;
    char *fld[4];
    int k = split_ws(line, fld, 4);
    if (k == 0 || fld[0][0] == '#') continue;
    if (k != 4) {
      rc = fail_msg(err, errsz, "%s:%d: %d field%s, expected 4: LABEL TASK SEED DIR", path, lineno,
                    k, k == 1 ? "" : "s");
      break;
    }
    // names become CSV fields, which are written unquoted
    for (int i = 0; i < 2 && rc == 0; i++)
      if (strpbrk(fld[i], ",\""))
        rc = fail_msg(err, errsz, "%s:%d: %s '%s' contains a comma or a quote", path, lineno,
                      i ? "TASK" : "LABEL", fld[i]);
    uint64_t seed = 0;
    if (rc == 0 && agg_parse_uint(fld[2], UINT32_MAX, &seed))
      rc = fail_msg(err, errsz, "%s:%d: bad seed '%s' (expected an integer in [0, 4294967295])",
                    path, lineno, fld[2]);
    for (size_t i = 0; i < jobs->n && rc == 0; i++) {
      const AggJob *o = &jobs->job[i];
      if (o->seed == seed && !strcmp(o->label, fld[0]) && !strcmp(o->task, fld[1]))
        rc = fail_msg(err, errsz, "%s:%d: run %s %s seed %llu is listed twice (lines %d and %d)",
                      path, lineno, fld[0], fld[1], (unsigned long long)seed, o->line, lineno);
    }
    if (rc == 0) jobs_push(jobs, &room, fld, (uint32_t)seed, lineno);
  }
  if (rc == 0 && ferror(f)) rc = fail_msg(err, errsz, "%s: cannot read: %s", path, strerror(errno));
  free(line);
  fclose(f);
  if (rc == 0 && jobs->n == 0) rc = fail_msg(err, errsz, "%s: no runs listed", path);
  if (rc) agg_jobs_free(jobs);
  return rc;
}

void agg_jobs_free(AggJobs *jobs) {
  for (size_t i = 0; i < jobs->n; i++) {
    free(jobs->job[i].label);
    free(jobs->job[i].task);
    free(jobs->job[i].dir);
  }
  free(jobs->job);
  jobs->job = NULL;
  jobs->n = 0;
}

static int exists(const char *dir, const char *name) {
  char *p = join(dir, name);
  struct stat st;
  int ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
  free(p);
  return ok;
}

int agg_eval_name_ok(const char *name) {
  return *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

const char *agg_run_missing(const char *dir, const char *eval) {
  static char why[320];
  struct stat st;
  if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return "no directory";
  if (exists(dir, AGG_DIVERGED_FILE)) return NULL;
  if (!exists(dir, "DONE")) return "no DONE";
  if (!exists(dir, eval)) {
    snprintf(why, sizeof why, "no %s", eval);
    return why;
  }
  return NULL;
}

int agg_run_diverged(const char *dir, char *why, size_t whysz, char *err, size_t errsz) {
  if (!exists(dir, AGG_DIVERGED_FILE)) return 0;
  if (exists(dir, "DONE"))
    return fail_msg(err, errsz, "%s: both DONE and %s (a run ends one way)", dir,
                    AGG_DIVERGED_FILE);
  char *path = join(dir, AGG_DIVERGED_FILE);
  FILE *f = infile_open(path, NULL, NULL, 0);   // the marker's presence was checked before
  char buf[1024];
  size_t n = 0;
  if (f) {
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
  }
  buf[n] = 0;
  int rc = 0;
  // exactly "diverged at step N: WHAT\n": one line, N digits, WHAT not empty
  const char *p = buf + strlen("diverged at step "), *nl = memchr(buf, '\n', n);
  size_t digits = 0;
  if (!f) {
    rc = fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
  } else if (strlen(buf) != n || n == sizeof buf - 1 || !nl || nl != buf + n - 1 ||
             strncmp(buf, "diverged at step ", strlen("diverged at step ")) ||
             (digits = strspn(p, "0123456789")) == 0 || strncmp(p + digits, ": ", 2) ||
             p + digits + 2 >= nl) {
    rc = fail_msg(err, errsz, "%s:1: not one line 'diverged at step N: WHAT': '%.80s'", path,
                  buf);
  } else {
    snprintf(why, whysz, "%.*s", (int)(nl - buf), buf);
    rc = 1;
  }
  free(path);
  return rc;
}

size_t agg_report_missing(const AggJobs *jobs, const char *eval, FILE *f) {
  size_t missing = 0;
  for (size_t i = 0; i < jobs->n; i++) {
    const AggJob *j = &jobs->job[i];
    const char *why = agg_run_missing(j->dir, eval);
    if (!why) continue;
    fprintf(f, "%s: missing run %s %s seed %lu: %s (%s)\n", fail_prog(), j->label, j->task,
            (unsigned long)j->seed, j->dir, why);
    missing++;
  }
  return missing;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = 0;
  return s;
}

int agg_manifest_check(const char *dir, const char *task, uint32_t seed, int job_line,
                       char *err, size_t errsz) {
  char *path = join(dir, "manifest.ini");
  FILE *f = infile_open(path, NULL, err, errsz);
  if (!f) {
    size_t used = strlen(err);
    if (used < errsz) snprintf(err + used, errsz - used, " (every run writes one)");
    free(path);
    return -1;
  }
  // the few keys read, with inih's rules: [section], key = value, ';' comments after a blank
  enum { PROGRAM, ENV, SEED, NKEYS };
  static const char *const sec[NKEYS] = {"meta", "run", "run"};
  static const char *const key[NKEYS] = {"program", "env", "seed"};
  char *val[NKEYS] = {NULL, NULL, NULL};
  int at[NKEYS] = {0, 0, 0};
  char *line = NULL, section[64] = "";
  size_t cap = 0;
  int lineno = 0, rc = 0;
  while (rc == 0 && getline(&line, &cap, f) >= 0) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == ';' || *s == '#') continue;
    if (*s == '[') {
      char *end = strchr(s, ']');
      snprintf(section, sizeof section, "%.*s", end ? (int)(end - s - 1) : 0, s + 1);
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) continue;   // not ours to judge: the programs read their manifests themselves
    *eq = 0;
    char *k = trim(s), *v = eq + 1;
    for (char *c = v; *c; c++)
      if (*c == ';' && (c == v || c[-1] == ' ' || c[-1] == '\t')) {
        *c = 0;
        break;
      }
    v = trim(v);
    for (int i = 0; i < NKEYS; i++) {
      if (strcmp(section, sec[i]) || strcmp(k, key[i])) continue;
      if (val[i])
        rc = fail_msg(err, errsz, "%s:%d: [%s] %s given twice (line %d)", path, lineno, sec[i],
                      key[i], at[i]);
      else
        val[i] = xstrdup(v), at[i] = lineno;
    }
  }
  if (rc == 0 && ferror(f)) rc = fail_msg(err, errsz, "%s: cannot read: %s", path, strerror(errno));
  fclose(f);
  free(line);
  for (int i = 0; i < NKEYS && rc == 0; i++)
    if (!val[i] || !*val[i])
      rc = fail_msg(err, errsz, "%s: no [%s] %s (not a run's manifest)", path, sec[i], key[i]);
  // the job list's names are what the runs are grouped and labelled by: a run of another task or
  // seed under them would mix data silently
  if (rc == 0 && strcmp(val[ENV], task))
    rc = fail_msg(err, errsz, "%s:%d: env = %s, but the job list (line %d) runs %s", path,
                  at[ENV], val[ENV], job_line, task);
  uint64_t sd;
  if (rc == 0 && (agg_parse_uint(val[SEED], UINT32_MAX, &sd) || sd != seed))
    rc = fail_msg(err, errsz, "%s:%d: seed = %s, but the job list (line %d) has seed %lu", path,
                  at[SEED], val[SEED], job_line, (unsigned long)seed);
  for (int i = 0; i < NKEYS; i++) free(val[i]);
  free(path);
  return rc;
}

// ---- one run ----

static void curve_push(AggCurve *c, size_t *room, int64_t step) {
  if (c->n == *room) {
    *room = *room ? 2 * *room : 64;
    c->step = realloc(c->step, *room * sizeof *c->step);
    c->ret = realloc(c->ret, *room * sizeof *c->ret);
    if (!c->step || !c->ret) fail_run("out of memory reading an evaluation log");
  }
  c->step[c->n] = step;
  c->ret[c->n] = 0.0;
  c->n++;
}

int agg_curve_read(AggCurve *c, const char *path, char *err, size_t errsz) {
  static const char *cols[6] = {"step", "eval", "episode", "return", "length", "wall_s"};
  c->step = NULL;
  c->ret = NULL;
  c->n = 0;
  FILE *f = infile_open(path, NULL, err, errsz);   // a regular file: a FIFO has no end
  if (!f) return -1;
  char *line = NULL;
  size_t cap = 0, room = 0;
  int lineno = 0, rc = 0;
  ssize_t len;
  uint64_t eval = 0;     // index of the evaluation being read
  uint64_t episode = 0;  // its last episode index
  double sum = 0.0;      // of its returns, in file order
  long long count = 0;   // its rows
  long long per = 0;     // rows of the first evaluation: every evaluation has as many
  while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (lineno == 1) {
      if (strcmp(line, AGG_EVAL_HEADER))
        rc = fail_msg(err, errsz, "%s:1: bad header '%.80s' (expected %s)", path, line,
                      AGG_EVAL_HEADER);
      continue;
    }
    char *fld[6];
    int k = 0;
    for (char *s = line;; s++) {
      char *comma = strchr(s, ',');
      if (k < 6) fld[k] = s;
      k++;
      if (!comma) break;
      *comma = 0;
      s = comma;
    }
    if (k != 6) {
      rc = fail_msg(err, errsz, "%s:%d: %d column%s, expected 6 (%s)", path, lineno, k,
                    k == 1 ? "" : "s", AGG_EVAL_HEADER);
      break;
    }
    uint64_t v[6];   // the integer columns
    double d[6];     // the real ones
    for (int i = 0; i < 6 && rc == 0; i++) {
      int real = i == 3 || i == 5;
      if (real ? parse_double(fld[i], &d[i]) : agg_parse_uint(fld[i], INT64_MAX, &v[i]))
        rc = fail_msg(err, errsz, "%s:%d: %s: not %s: '%.40s'", path, lineno, cols[i],
                      real ? "a number" : "a non-negative integer", fld[i]);
    }
    if (rc) break;
    // the programs write finite numbers only: anything else is a damaged file
    for (int i = 3; i <= 5 && rc == 0; i += 2)
      if (!isfinite(d[i]))
        rc = fail_msg(err, errsz, "%s:%d: %s is not finite: '%s'", path, lineno, cols[i], fld[i]);
    if (rc == 0 && v[4] == 0)
      rc = fail_msg(err, errsz, "%s:%d: length 0 (an episode has at least one step)", path,
                    lineno);
    if (rc) break;
    int64_t step = (int64_t)v[0];
    // envs/episodes.c writes evaluation 0, 1, 2, ... (run->eval_index), each as episodes 0, 1,
    // ..., E - 1 at one step, the steps strictly increasing: a repeated, lost or moved row
    // breaks that order and is named here instead of being averaged in
    if (c->n > 0 && v[1] == eval) {
      // another episode of the same evaluation
      if (v[2] != episode + 1)
        rc = fail_msg(err, errsz, "%s:%d: episode %llu after episode %llu of evaluation %llu "
                      "(expected %llu: a repeated or lost row)", path, lineno,
                      (unsigned long long)v[2], (unsigned long long)episode,
                      (unsigned long long)eval, (unsigned long long)episode + 1);
      else if (step != c->step[c->n - 1])
        rc = fail_msg(err, errsz, "%s:%d: step %lld in evaluation %llu, which is at step %lld",
                      path, lineno, (long long)step, (unsigned long long)eval,
                      (long long)c->step[c->n - 1]);
      if (rc) break;
      episode = v[2];
      sum += d[3];
      count++;
      continue;
    }
    if (c->n == 0 && v[1] != 0)
      rc = fail_msg(err, errsz, "%s:%d: the first evaluation is %llu (expected 0)", path, lineno,
                    (unsigned long long)v[1]);
    if (c->n > 0) {
      int64_t prev = c->step[c->n - 1];
      if (c->n == 1) per = count;
      if (v[1] < eval)
        rc = fail_msg(err, errsz, "%s:%d: evaluation index %llu after %llu", path, lineno,
                      (unsigned long long)v[1], (unsigned long long)eval);
      else if (v[1] != eval + 1)
        rc = fail_msg(err, errsz, "%s:%d: evaluation %llu after %llu (expected %llu: lost rows)",
                      path, lineno, (unsigned long long)v[1], (unsigned long long)eval,
                      (unsigned long long)eval + 1);
      else if (step < prev)
        rc = fail_msg(err, errsz, "%s:%d: step %lld decreases (previous evaluation at %lld)",
                      path, lineno, (long long)step, (long long)prev);
      else if (step == prev)
        rc = fail_msg(err, errsz, "%s:%d: evaluation %llu repeats step %lld", path, lineno,
                      (unsigned long long)v[1], (long long)step);
      else if (count != per)
        rc = fail_msg(err, errsz, "%s:%d: evaluation %llu has %lld episodes, evaluation 0 has "
                      "%lld (lost or repeated rows)", path, lineno - 1, (unsigned long long)eval,
                      count, per);
      if (rc) break;
      c->ret[c->n - 1] = sum / (double)count;
    }
    if (rc == 0 && v[2] != 0)
      rc = fail_msg(err, errsz, "%s:%d: evaluation %llu starts at episode %llu (expected 0)",
                    path, lineno, (unsigned long long)v[1], (unsigned long long)v[2]);
    if (rc) break;
    curve_push(c, &room, step);
    eval = v[1];
    episode = 0;
    sum = d[3];
    count = 1;
  }
  // the last evaluation complete too
  if (rc == 0 && c->n > 1 && count != per)
    rc = fail_msg(err, errsz, "%s:%d: evaluation %llu has %lld episodes, evaluation 0 has %lld "
                  "(lost or repeated rows)", path, lineno, (unsigned long long)eval, count, per);
  if (rc == 0 && ferror(f)) rc = fail_msg(err, errsz, "%s: cannot read: %s", path, strerror(errno));
  free(line);
  fclose(f);
  if (rc == 0 && lineno == 0)
    rc = fail_msg(err, errsz, "%s:1: empty file (expected the header %s)", path, AGG_EVAL_HEADER);
  else if (rc == 0 && c->n == 0)
    rc = fail_msg(err, errsz, "%s:%d: no evaluation rows", path, lineno);
  if (rc) {
    agg_curve_free(c);
    return rc;
  }
  c->ret[c->n - 1] = sum / (double)count;
  return 0;
}

void agg_curve_free(AggCurve *c) {
  free(c->step);
  free(c->ret);
  c->step = NULL;
  c->ret = NULL;
  c->n = 0;
}

// ---- groups ----

void agg_set_init(AggSet *s) {
  s->group = NULL;
  s->n = 0;
}

void agg_set_free(AggSet *s) {
  for (size_t i = 0; i < s->n; i++) {
    AggGroup *g = &s->group[i];
    for (size_t r = 0; r < g->n; r++) agg_curve_free(&g->run[r]);
    free(g->run);
    free(g->label);
    free(g->task);
  }
  free(s->group);
  agg_set_init(s);
}

static AggGroup *set_group(AggSet *s, const char *label, const char *task) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->group[i].label, label) && !strcmp(s->group[i].task, task)) return &s->group[i];
  s->group = realloc(s->group, (s->n + 1) * sizeof *s->group);
  if (!s->group) fail_run("out of memory: run groups");
  AggGroup *g = &s->group[s->n++];
  g->label = xstrdup(label);
  g->task = xstrdup(task);
  g->run = NULL;
  g->n = 0;
  g->diverged = 0;
  return g;
}

void agg_set_add(AggSet *s, const char *label, const char *task, AggCurve *c) {
  AggGroup *g = set_group(s, label, task);
  g->run = realloc(g->run, (g->n + 1) * sizeof *g->run);
  if (!g->run) fail_run("out of memory: runs of %s %s", label, task);
  g->run[g->n++] = *c;
  c->step = NULL;
  c->ret = NULL;
  c->n = 0;
}

const AggGroup *agg_set_find(const AggSet *s, const char *label, const char *task) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->group[i].label, label) && !strcmp(s->group[i].task, task)) return &s->group[i];
  return NULL;
}

int agg_set_load(AggSet *s, const AggJobs *jobs, const char *eval, char *err, size_t errsz) {
  // every group first, so the order is that of the job list even when a group's first run is
  // missing
  for (size_t i = 0; i < jobs->n; i++) set_group(s, jobs->job[i].label, jobs->job[i].task);
  for (size_t i = 0; i < jobs->n; i++) {
    const AggJob *j = &jobs->job[i];
    if (agg_run_missing(j->dir, eval)) continue;
    if (agg_manifest_check(j->dir, j->task, j->seed, j->line, err, errsz)) return -1;
    char why[1024];
    int dv = agg_run_diverged(j->dir, why, sizeof why, err, errsz);
    if (dv < 0) return -1;
    if (dv) {
      fail_warn("run %s %s seed %lu diverged (%s): left out, counted", j->label, j->task,
                (unsigned long)j->seed, why);
      set_group(s, j->label, j->task)->diverged++;
      continue;
    }
    char *path = join(j->dir, eval);
    AggCurve c;
    int rc = agg_curve_read(&c, path, err, errsz);
    free(path);
    if (rc) return -1;
    agg_set_add(s, j->label, j->task, &c);
  }
  size_t kept = 0;
  for (size_t i = 0; i < s->n; i++) {
    AggGroup *g = &s->group[i];
    if (g->n == 0 && g->diverged == 0) {
      fail_warn("no runs of %s %s: left out", g->label, g->task);
      free(g->label);
      free(g->task);
      free(g->run);
      continue;
    }
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t r = 0; r < g->n; r++) {
      int64_t last = g->run[r].step[g->run[r].n - 1];
      lo = last < lo ? last : lo;
      hi = last > hi ? last : hi;
    }
    // final scores of runs with different budgets are compared as they are; say so (ARS's
    // seeds end up to an iteration apart: differences under 5% are not worth a word)
    if (g->n > 0 && 20 * (hi - lo) > hi)
      fail_warn("%s %s: the runs' last evaluations are at different steps (%lld to %lld)",
                g->label, g->task, (long long)lo, (long long)hi);
    s->group[kept++] = *g;
  }
  s->n = kept;
  return 0;
}

// ---- statistics ----

// The options are the caller's to check (agg_write_all does); bad ones here are a bug.
static void boot(Interval *out, const double *x, const size_t *n, size_t S, StatFn stat,
                 const AggOptions *o, Rng *r) {
  if (stats_bootstrap(out, x, n, S, stat, o->reps, o->conf, r))
    fail_run("bootstrap: bad arguments (reps %d, conf %g, %zu strata)", o->reps, o->conf, S);
}

size_t agg_group_curve(const AggGroup *g, AggPoint **pts, const AggOptions *o, Rng *r) {
  *pts = NULL;
  if (g->n == 0) return 0;
  size_t R = g->n, np = 0;
  const AggCurve *c0 = &g->run[0];
  size_t *at = xcalloc(R, sizeof *at, "curve positions");   // (R) next evaluation of each run
  double *v = xmalloc(R, sizeof *v, "curve values");         // (R)
  *pts = xmalloc(c0->n, sizeof **pts, "curve points");       // at most run 0's evaluations
  for (size_t i = 0; i < c0->n; i++) {
    int64_t step = c0->step[i], first = step;
    // another run's evaluation is the same one when it lies closer to this step than half the
    // way to run 0's nearer neighbour: ARS evaluates at the end of an iteration, so its seeds
    // reach an evaluation point a few hundred steps apart; without a neighbour, only the step
    int64_t gap = 0;
    if (i > 0) gap = step - c0->step[i - 1];
    if (i + 1 < c0->n && (gap == 0 || c0->step[i + 1] - step < gap)) gap = c0->step[i + 1] - step;
    int all = 1;
    v[0] = c0->ret[i];
    // steps increase in every run, so each run's position only moves forward
    for (size_t k = 1; k < R && all; k++) {
      const AggCurve *c = &g->run[k];
      while (at[k] + 1 < c->n && llabs(c->step[at[k] + 1] - step) <= llabs(c->step[at[k]] - step))
        at[k]++;
      int64_t d = at[k] < c->n ? llabs(c->step[at[k]] - step) : 0;
      if (at[k] == c->n || (d != 0 && d >= gap - d)) {
        all = 0;
      } else {
        v[k] = c->ret[at[k]];
        if (c->step[at[k]] < first) first = c->step[at[k]];
        at[k]++;
      }
    }
    if (!all) continue;
    AggPoint *p = &(*pts)[np++];
    p->step = first;
    p->seeds = R;
    p->mean = stats_mean(v, R);
    boot(&p->iqm, v, &R, 1, stats_iqm, o, r);
  }
  free(at);
  free(v);
  return np;
}

// A run's score: its final evaluation, or its AUC.
typedef double (*RunScore)(const AggCurve *c);

static double final_score(const AggCurve *c) {
  return c->ret[c->n - 1];
}

// The mean and IQM of the group's scores (normalised by ref unless NULL), in that order.
static void group_scores(const AggGroup *g, RunScore score, const AggRef *ref, AggSummary *out,
                         const AggOptions *o, Rng *r) {
  out->runs = g->n;
  out->diverged = g->diverged;
  if (g->n == 0) {
    out->mean = out->iqm = (Interval){NAN, NAN, NAN};
    return;
  }
  double *v = xmalloc(g->n, sizeof *v, "run scores");   // (n)
  for (size_t k = 0; k < g->n; k++) {
    v[k] = score(&g->run[k]);
    if (ref) v[k] = agg_normalize(v[k], ref);
  }
  boot(&out->mean, v, &g->n, 1, stats_mean, o, r);
  boot(&out->iqm, v, &g->n, 1, stats_iqm, o, r);
  free(v);
}

void agg_group_final(const AggGroup *g, AggSummary *out, const AggOptions *o, Rng *r) {
  group_scores(g, final_score, NULL, out, o, r);
}

// ---- area under the curve ----

double agg_run_auc(const AggCurve *c) {
  if (c->n == 1) return c->ret[0];
  // the trapezoids between consecutive evaluations
  double area = 0.0;
  for (size_t i = 1; i < c->n; i++)
    area += 0.5 * (double)(c->step[i] - c->step[i - 1]) * (c->ret[i - 1] + c->ret[i]);
  return area / (double)(c->step[c->n - 1] - c->step[0]);
}

void agg_group_auc(const AggGroup *g, const AggRef *ref, AggSummary *out, const AggOptions *o,
                   Rng *r) {
  group_scores(g, agg_run_auc, ref, out, o, r);
}

// ---- normalised scores ----

int agg_refs_read(AggRefs *refs, const char *path, char *err, size_t errsz) {
  refs->ref = NULL;
  refs->n = 0;
  FILE *f = infile_open(path, NULL, err, errsz);   // a regular file: a FIFO has no end
  if (!f) return -1;
  char *line = NULL;
  size_t cap = 0;
  int lineno = 0, rc = 0;
  int *lines = NULL;   // (n) where each reference was given
  while (rc == 0 && getline(&line, &cap, f) >= 0) {
    lineno++;
    char *fld[3];
    int k = split_ws(line, fld, 3);
    if (k == 0 || fld[0][0] == '#') continue;
    if (k != 3) {
      rc = fail_msg(err, errsz, "%s:%d: %d field%s, expected 3: TASK LOW HIGH", path, lineno, k,
                    k == 1 ? "" : "s");
      break;
    }
    double lh[2];
    for (int i = 0; i < 2 && rc == 0; i++)
      if (parse_double(fld[1 + i], &lh[i]) || !isfinite(lh[i]))
        rc = fail_msg(err, errsz, "%s:%d: %s: not a finite number: '%.40s'", path, lineno,
                      i ? "HIGH" : "LOW", fld[1 + i]);
    if (rc == 0 && lh[0] == lh[1])
      rc = fail_msg(err, errsz, "%s:%d: LOW and HIGH are both %g (nothing to normalise by)",
                    path, lineno, lh[0]);
    for (size_t i = 0; i < refs->n && rc == 0; i++)
      if (!strcmp(refs->ref[i].task, fld[0]))
        rc = fail_msg(err, errsz, "%s:%d: task %s has a reference already (line %d)", path,
                      lineno, fld[0], lines[i]);
    if (rc) break;
    refs->ref = realloc(refs->ref, (refs->n + 1) * sizeof *refs->ref);
    lines = realloc(lines, (refs->n + 1) * sizeof *lines);
    if (!refs->ref || !lines) fail_run("out of memory reading %s", path);
    refs->ref[refs->n] = (AggRef){xstrdup(fld[0]), lh[0], lh[1]};
    lines[refs->n++] = lineno;
  }
  if (rc == 0 && ferror(f)) rc = fail_msg(err, errsz, "%s: cannot read: %s", path, strerror(errno));
  free(lines);
  free(line);
  fclose(f);
  if (rc) agg_refs_free(refs);
  return rc;
}

void agg_refs_free(AggRefs *refs) {
  for (size_t i = 0; i < refs->n; i++) free(refs->ref[i].task);
  free(refs->ref);
  refs->ref = NULL;
  refs->n = 0;
}

const AggRef *agg_refs_find(const AggRefs *refs, const char *task) {
  for (size_t i = 0; i < refs->n; i++)
    if (!strcmp(refs->ref[i].task, task)) return &refs->ref[i];
  return NULL;
}

double agg_normalize(double x, const AggRef *ref) {
  return (x - ref->low) / (ref->high - ref->low);
}

// Per label, a score of its runs normalised and pooled over its tasks with a reference.
static size_t normalized_by(const AggSet *s, const AggRefs *refs, RunScore score, AggNorm **out,
                            const AggOptions *o, Rng *r) {
  size_t total = 0, nl = 0;
  for (size_t i = 0; i < s->n; i++) total += s->group[i].n;
  *out = xmalloc(s->n ? s->n : 1, sizeof **out, "normalised scores");   // at most one per group
  double *x = xmalloc(total ? total : 1, sizeof *x, "normalised scores");   // (runs) by task
  size_t *n = xmalloc(s->n ? s->n : 1, sizeof *n, "strata");               // (tasks)
  for (size_t i = 0; i < s->n; i++) {
    const char *label = s->group[i].label;
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(s->group[j].label, label);
    if (seen) continue;
    // this label's groups are its tasks: one stratum each, its seeds resampled within it
    size_t S = 0, runs = 0, diverged = 0;
    for (size_t j = i; j < s->n; j++) {
      const AggGroup *g = &s->group[j];
      const AggRef *ref = agg_refs_find(refs, g->task);
      if (strcmp(g->label, label) || !ref) continue;
      diverged += g->diverged;
      if (g->n == 0) continue;
      for (size_t k = 0; k < g->n; k++)
        x[runs + k] = agg_normalize(score(&g->run[k]), ref);
      runs += g->n;
      n[S++] = g->n;
    }
    if (S == 0 && diverged == 0) continue;
    AggNorm *a = &(*out)[nl++];
    a->label = label;
    a->tasks = S;
    a->runs = runs;
    a->diverged = diverged;
    a->score.runs = runs;
    a->score.diverged = diverged;
    if (S == 0) {
      a->score.mean = a->score.iqm = (Interval){NAN, NAN, NAN};
      continue;
    }
    boot(&a->score.mean, x, n, S, stats_mean, o, r);
    boot(&a->score.iqm, x, n, S, stats_iqm, o, r);
  }
  free(x);
  free(n);
  return nl;
}

size_t agg_normalized(const AggSet *s, const AggRefs *refs, AggNorm **out, const AggOptions *o,
                      Rng *r) {
  return normalized_by(s, refs, final_score, out, o, r);
}

size_t agg_auc_normalized(const AggSet *s, const AggRefs *refs, AggNorm **out,
                          const AggOptions *o, Rng *r) {
  return normalized_by(s, refs, agg_run_auc, out, o, r);
}

// ---- outputs ----

// mkdir -p
static int make_dirs(const char *path) {
  char *buf = xstrdup(path);
  int rc = 0;
  for (char *s = buf + 1; *s && rc == 0; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(buf, 0777) && errno != EEXIST) rc = -1;
    *s = '/';
  }
  if (rc == 0 && mkdir(buf, 0777) && errno != EEXIST) rc = -1;
  free(buf);
  return rc;
}

// A file's text is built in memory and written whole (file_write_atomic: temporary + rename).
typedef struct {
  FILE *f;
  char *text;
  size_t len;
} Text;

static FILE *text_open(Text *t) {
  t->text = NULL;
  t->len = 0;
  t->f = open_memstream(&t->text, &t->len);
  if (!t->f) fail_run("out of memory: output text");
  return t->f;
}

static int text_write(Text *t, const char *dir, const char *name, char *err, size_t errsz) {
  if (fclose(t->f)) fail_run("out of memory: output text");
  char *path = join(dir, name);
  int rc = file_write_atomic(path, t->text, t->len, err, errsz);
  free(path);
  free(t->text);
  return rc;
}

// a statistic of no runs (all diverged) is an empty cell, never a number
static void csv_interval(FILE *f, const Interval *iv) {
  if (isnan(iv->point)) fputs(",,,", f);
  else fprintf(f, ",%.17g,%.17g,%.17g", iv->point, iv->lo, iv->hi);
}

// the seeds cell of a table: "4", or "4/5, 1 diverged"
static void seeds_cell(FILE *f, const AggSummary *a) {
  if (a->diverged == 0) fprintf(f, "%zu", a->runs);
  else fprintf(f, "%zu/%zu, %zu diverged", a->runs, a->runs + a->diverged, a->diverged);
}

// a name in a Markdown table cell: '|' would end the cell
static void md_name(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputc('\\', f);
    fputc(*s, f);
  }
}

// a name in LaTeX text: its specials as the characters themselves
static void tex_name(FILE *f, const char *s) {
  for (; *s; s++) {
    const char *w = NULL;
    switch (*s) {
      case '\\': w = "\\textbackslash{}"; break;
      case '~': w = "\\textasciitilde{}"; break;
      case '^': w = "\\textasciicircum{}"; break;
      // OT1 fonts print these three as other glyphs
      case '|': w = "\\textbar{}"; break;
      case '<': w = "\\textless{}"; break;
      case '>': w = "\\textgreater{}"; break;
      // after \\ a row starting with [ would be read as an optional argument
      case '[': w = "{[}"; break;
      case ']': w = "{]}"; break;
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        fputc('\\', f);
        break;
    }
    if (w) fputs(w, f);
    else fputc(*s, f);
  }
}

static void table_cell(FILE *f, const Interval *iv) {
  if (isnan(iv->point)) fputs("all diverged", f);
  else fprintf(f, "%.1f [%.1f, %.1f]", iv->point, iv->lo, iv->hi);
}

// STEM.csv, STEM.md and STEM.tex of the groups' summaries sum (final.csv's columns and tables)
static int write_summaries(const AggSet *s, const AggSummary *sum, const char *dir,
                           const char *stem, char *err, size_t errsz) {
  Text t;
  char name[64];
  FILE *f = text_open(&t);
  fprintf(f, "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged\n");
  for (size_t i = 0; i < s->n; i++) {
    fprintf(f, "%s,%s,%zu", s->group[i].label, s->group[i].task, sum[i].runs);
    csv_interval(f, &sum[i].mean);
    csv_interval(f, &sum[i].iqm);
    fprintf(f, ",%zu\n", sum[i].diverged);
  }
  snprintf(name, sizeof name, "%s.csv", stem);
  if (text_write(&t, dir, name, err, errsz)) return -1;

  f = text_open(&t);
  fprintf(f, "| label | task | seeds | IQM [lo, hi] | mean [lo, hi] |\n"
             "| --- | --- | ---: | ---: | ---: |\n");
  for (size_t i = 0; i < s->n; i++) {
    fputs("| ", f);
    md_name(f, s->group[i].label);
    fputs(" | ", f);
    md_name(f, s->group[i].task);
    fputs(" | ", f);
    seeds_cell(f, &sum[i]);
    fputs(" | ", f);
    table_cell(f, &sum[i].iqm);
    fputs(" | ", f);
    table_cell(f, &sum[i].mean);
    fputs(" |\n", f);
  }
  snprintf(name, sizeof name, "%s.md", stem);
  if (text_write(&t, dir, name, err, errsz)) return -1;

  f = text_open(&t);
  fprintf(f, "\\begin{tabular}{llrrr}\n\\toprule\n"
             "label & task & seeds & IQM [lo, hi] & mean [lo, hi] \\\\\n\\midrule\n");
  for (size_t i = 0; i < s->n; i++) {
    tex_name(f, s->group[i].label);
    fputs(" & ", f);
    tex_name(f, s->group[i].task);
    fputs(" & ", f);
    seeds_cell(f, &sum[i]);
    fputs(" & ", f);
    table_cell(f, &sum[i].iqm);
    fputs(" & ", f);
    table_cell(f, &sum[i].mean);
    fputs(" \\\\\n", f);
  }
  fprintf(f, "\\bottomrule\n\\end{tabular}\n");
  snprintf(name, sizeof name, "%s.tex", stem);
  return text_write(&t, dir, name, err, errsz);
}

// normalized.csv's rows of na labels into dir/name
static int write_norm(const AggNorm *a, size_t na, const char *dir, const char *name, char *err,
                      size_t errsz) {
  Text t;
  FILE *f = text_open(&t);
  fprintf(f, "label,tasks,runs,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged\n");
  for (size_t i = 0; i < na; i++) {
    fprintf(f, "%s,%zu,%zu", a[i].label, a[i].tasks, a[i].runs);
    csv_interval(f, &a[i].score.mean);
    csv_interval(f, &a[i].score.iqm);
    fprintf(f, ",%zu\n", a[i].diverged);
  }
  return text_write(&t, dir, name, err, errsz);
}

int agg_write_all(const AggSet *s, const AggRefs *refs, const char *dir, const AggOptions *o,
                  char *err, size_t errsz) {
  if (o->reps < 1 || !(o->conf > 0.0 && o->conf < 1.0))
    return fail_msg(err, errsz, "bad bootstrap options: reps %d, conf %g", o->reps, o->conf);
  if (make_dirs(dir)) return fail_msg(err, errsz, "%s: cannot create: %s", dir, strerror(errno));
  Rng r;
  rng_init(&r, o->seed, RNG_STREAM_BOOTSTRAP);
  Text t;
  int rc = 0;

  FILE *f = text_open(&t);
  fprintf(f, "label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi,diverged\n");
  for (size_t i = 0; i < s->n; i++) {
    const AggGroup *g = &s->group[i];
    AggPoint *p;
    size_t np = agg_group_curve(g, &p, o, &r);
    for (size_t k = 0; k < np; k++)
      fprintf(f, "%s,%s,%lld,%zu,%.17g,%.17g,%.17g,%.17g,%zu\n", g->label, g->task,
              (long long)p[k].step, p[k].seeds, p[k].mean, p[k].iqm.point, p[k].iqm.lo,
              p[k].iqm.hi, g->diverged);
    free(p);
  }
  if (text_write(&t, dir, "curves.csv", err, errsz)) return -1;

  // (groups) the final scores, then (in the same array) the AUCs
  AggSummary *sum = xmalloc(s->n ? s->n : 1, sizeof *sum, "summaries");
  for (size_t i = 0; i < s->n; i++) agg_group_final(&s->group[i], &sum[i], o, &r);
  rc = write_summaries(s, sum, dir, "final", err, errsz);

  if (rc == 0 && refs) {
    for (size_t i = 0; i < s->n; i++) {
      const char *task = s->group[i].task;
      int seen = 0;
      for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(s->group[j].task, task);
      if (!seen && !agg_refs_find(refs, task))
        fail_warn("no reference for task %s: left out of normalized.csv", task);
    }
    AggNorm *a;
    size_t na = agg_normalized(s, refs, &a, o, &r);
    rc = write_norm(a, na, dir, "normalized.csv", err, errsz);
    free(a);
  }

  // the AUC after everything else: the draws above are those of a build without it
  if (rc == 0) {
    for (size_t i = 0; i < s->n; i++) agg_group_auc(&s->group[i], NULL, &sum[i], o, &r);
    rc = write_summaries(s, sum, dir, "auc", err, errsz);
  }
  if (rc == 0 && refs) {
    AggNorm *a;
    size_t na = agg_auc_normalized(s, refs, &a, o, &r);
    rc = write_norm(a, na, dir, "auc_normalized.csv", err, errsz);
    free(a);
  }
  free(sum);
  return rc;
}
