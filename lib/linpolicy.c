// linpolicy: linear policy, its action and its text file (see linpolicy.h).
#include "linpolicy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"
#include "manifest.h"

// limits that keep a malformed file from asking for absurd allocations
enum { LINPOLICY_DIM_MAX = 1000000 };
#define LINPOLICY_SIZE_MAX 100000000.0

static int task_name_ok(const char *task) {
  size_t n = strlen(task);
  if (n == 0 || n >= LINPOLICY_TASK_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (isspace((unsigned char)task[i]) || task[i] == '#') return 0;
  return 1;
}

int linpolicy_init(LinPolicy *p, const char *task, int obs_dim, int act_dim, char *err,
                   size_t errsz) {
  memset(p, 0, sizeof *p);
  if (!task_name_ok(task))
    return fail_msg(err, errsz, "linear policy: bad task name '%s' (1 to %d characters, no spaces)",
                    task, LINPOLICY_TASK_MAX - 1);
  if (obs_dim < 1 || act_dim < 1 || obs_dim > LINPOLICY_DIM_MAX || act_dim > LINPOLICY_DIM_MAX ||
      (double)obs_dim * act_dim > LINPOLICY_SIZE_MAX)
    return fail_msg(err, errsz, "linear policy: bad dimensions obs %d, act %d", obs_dim, act_dim);
  if (norm_init(&p->norm, obs_dim, err, errsz)) return -1;
  snprintf(p->task, sizeof p->task, "%s", task);
  p->obs_dim = obs_dim;
  p->act_dim = act_dim;
  p->m = xcalloc((size_t)act_dim * (size_t)obs_dim, sizeof *p->m, "policy matrix");
  p->std = xmalloc((size_t)obs_dim, sizeof *p->std, "policy std");
  p->low = xmalloc((size_t)act_dim, sizeof *p->low, "action bounds");
  p->high = xmalloc((size_t)act_dim, sizeof *p->high, "action bounds");
  for (int i = 0; i < act_dim; i++) p->low[i] = -INFINITY, p->high[i] = INFINITY;
  linpolicy_sync(p);
  return 0;
}

void linpolicy_free(LinPolicy *p) {
  norm_free(&p->norm);
  free(p->m);
  free(p->std);
  free(p->low);
  free(p->high);
  memset(p, 0, sizeof *p);
}

void linpolicy_copy(LinPolicy *dst, const LinPolicy *src) {
  if (dst == src) return;
  size_t O = (size_t)src->obs_dim, A = (size_t)src->act_dim;
  if (dst->obs_dim != src->obs_dim || dst->act_dim != src->act_dim) {
    fprintf(stderr, "%s: internal error: linpolicy_copy between different dimensions\n",
            fail_prog());
    abort();
  }
  memcpy(dst->task, src->task, sizeof dst->task);
  memcpy(dst->m, src->m, A * O * sizeof *dst->m);
  norm_copy(&dst->norm, &src->norm);
  memcpy(dst->std, src->std, O * sizeof *dst->std);
  dst->clip = src->clip;
  memcpy(dst->low, src->low, A * sizeof *dst->low);
  memcpy(dst->high, src->high, A * sizeof *dst->high);
}

void linpolicy_sync(LinPolicy *p) { norm_std(&p->norm, p->std); }

void linpolicy_act_with(const LinPolicy *p, const double *m, const double *obs, double *act) {
  enum { BLOCK = 256 };
  int O = p->obs_dim, A = p->act_dim;
  double y[BLOCK];
  for (int i = 0; i < A; i++) act[i] = 0.0;
  // normalise a block of the observation once, then add its share to every action; each act[i]
  // still sums over j in order
  for (int j0 = 0; j0 < O; j0 += BLOCK) {
    int n = O - j0 < BLOCK ? O - j0 : BLOCK;
    for (int j = 0; j < n; j++) y[j] = (obs[j0 + j] - p->norm.mean[j0 + j]) / p->std[j0 + j];
    for (int i = 0; i < A; i++) {
      const double *row = m + (size_t)i * O + j0;
      double s = act[i];
      for (int j = 0; j < n; j++) s += row[j] * y[j];
      act[i] = s;
    }
  }
  if (p->clip)
    for (int i = 0; i < A; i++)
      act[i] = act[i] < p->low[i] ? p->low[i] : act[i] > p->high[i] ? p->high[i] : act[i];
}

void linpolicy_act(const LinPolicy *p, const double *obs, double *act) {
  linpolicy_act_with(p, p->m, obs, act);
}

void linpolicy_fn(void *ctx, const double *obs, double *act) { linpolicy_act(ctx, obs, act); }

//---------------- writing ----------------

static void put_row(FILE *f, const char *key, const double *x, int n) {
  fputs(key, f);
  for (int i = 0; i < n; i++) fprintf(f, " %.17g", x[i]);
  fputc('\n', f);
}

int linpolicy_write(const LinPolicy *p, FILE *f) {
  int O = p->obs_dim, A = p->act_dim;
  fprintf(f, "%s %d\n", LINPOLICY_MAGIC, LINPOLICY_VERSION);
  fprintf(f, "task %s\nobs %d\nact %d\nclip %s\n", p->task, O, A, p->clip ? "yes" : "no");
  put_row(f, "low", p->low, A);
  put_row(f, "high", p->high, A);
  fprintf(f, "count %lld\n", (long long)p->norm.count);
  put_row(f, "mean", p->norm.mean, O);
  put_row(f, "m2", p->norm.m2, O);
  for (int i = 0; i < A; i++) put_row(f, "M", p->m + (size_t)i * O, O);
  return ferror(f) ? -1 : 0;
}

int linpolicy_save(const LinPolicy *p, const char *path, char *err, size_t errsz) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return fail_msg(err, errsz, "%s: cannot format the policy: %s", path, strerror(errno));
  int bad = linpolicy_write(p, f);
  bad |= fclose(f) != 0;
  int rc = bad ? fail_msg(err, errsz, "%s: cannot format the policy", path)
               : file_write_atomic(path, buf, len, err, errsz);
  free(buf);
  return rc;
}

//---------------- reading ----------------

typedef struct {
  FILE *f;
  const char *name;
  char *line;
  size_t cap;
  int lineno;
  char **tok;   // (ntok) words of the current line
  int ntok, tokcap;
} Reader;

// split rd->line in place into words
static void split(Reader *rd) {
  rd->ntok = 0;
  char *s = rd->line;
  for (;;) {
    while (*s && isspace((unsigned char)*s)) s++;
    if (!*s) break;
    if (rd->ntok == rd->tokcap) {
      rd->tokcap = rd->tokcap ? 2 * rd->tokcap : 64;
      char **t = realloc(rd->tok, (size_t)rd->tokcap * sizeof *t);
      if (!t) fail_run("out of memory reading %s", rd->name);
      rd->tok = t;
    }
    rd->tok[rd->ntok++] = s;
    while (*s && !isspace((unsigned char)*s)) s++;
    if (*s) *s++ = 0;
  }
}

// the next line with words on it (comments and blank lines skipped); 0 at the end of the file
static int next_line(Reader *rd) {
  while (getline(&rd->line, &rd->cap, rd->f) > 0) {
    rd->lineno++;
    char *hash = strchr(rd->line, '#');
    if (hash) *hash = 0;
    split(rd);
    if (rd->ntok) return 1;
  }
  return 0;
}

// the next line must be `key` followed by exactly n values
static int want(Reader *rd, const char *key, int n, char *err, size_t errsz) {
  if (!next_line(rd))
    return fail_msg(err, errsz, "%s:%d: the file ends early; expected '%s'", rd->name,
                    rd->lineno + 1, key);
  if (strcmp(rd->tok[0], key) != 0)
    return fail_msg(err, errsz, "%s:%d: expected '%s', got '%.40s'", rd->name, rd->lineno, key,
                    rd->tok[0]);
  if (rd->ntok - 1 != n)
    return fail_msg(err, errsz, "%s:%d: %s: expected %d value%s, got %d", rd->name, rd->lineno,
                    key, n, n == 1 ? "" : "s", rd->ntok - 1);
  return 0;
}

static int get_int(Reader *rd, const char *key, long long lo, long long hi, long long *v,
                   char *err, size_t errsz) {
  if (want(rd, key, 1, err, errsz)) return -1;
  char *end;
  errno = 0;
  *v = strtoll(rd->tok[1], &end, 10);
  if (*end || errno || *v < lo || *v > hi)
    return fail_msg(err, errsz, "%s:%d: %s: expected an integer in [%lld, %lld], got '%.40s'",
                    rd->name, rd->lineno, key, lo, hi, rd->tok[1]);
  return 0;
}

// n numbers into x; finite: refuse infinities too (NaN is always refused)
static int get_row(Reader *rd, const char *key, int n, int finite, double *x, char *err,
                   size_t errsz) {
  if (want(rd, key, n, err, errsz)) return -1;
  for (int i = 0; i < n; i++) {
    const char *t = rd->tok[i + 1];
    char *end;
    double v = strtod(t, &end);
    if (*end || end == t || isnan(v) || (finite && !isfinite(v)))
      return fail_msg(err, errsz, "%s:%d: %s: value %d is not a %snumber: '%.40s'", rd->name,
                      rd->lineno, key, i + 1, finite ? "finite " : "", t);
    x[i] = v;
  }
  return 0;
}

static int read_body(Reader *rd, LinPolicy *p, char *err, size_t errsz) {
  // the first line names the format and its version
  if (getline(&rd->line, &rd->cap, rd->f) <= 0)
    return fail_msg(err, errsz, "%s: empty file; expected a linear policy", rd->name);
  rd->lineno = 1;
  split(rd);
  if (rd->ntok < 1 || strcmp(rd->tok[0], LINPOLICY_MAGIC) != 0)
    return fail_msg(err, errsz, "%s:1: not a linear-policy file (its first line must be '%s %d')",
                    rd->name, LINPOLICY_MAGIC, LINPOLICY_VERSION);
  if (rd->ntok != 2 || strcmp(rd->tok[1], "1") != 0)
    return fail_msg(err, errsz, "%s:1: format version '%.20s'; this program reads version %d",
                    rd->name, rd->ntok > 1 ? rd->tok[1] : "", LINPOLICY_VERSION);

  char task[LINPOLICY_TASK_MAX];
  long long O, A, count, clip;
  if (want(rd, "task", 1, err, errsz)) return -1;
  if (strlen(rd->tok[1]) >= sizeof task)
    return fail_msg(err, errsz, "%s:%d: task: name longer than %d characters", rd->name,
                    rd->lineno, LINPOLICY_TASK_MAX - 1);
  snprintf(task, sizeof task, "%s", rd->tok[1]);
  if (get_int(rd, "obs", 1, LINPOLICY_DIM_MAX, &O, err, errsz) ||
      get_int(rd, "act", 1, LINPOLICY_DIM_MAX, &A, err, errsz))
    return -1;
  if ((double)O * (double)A > LINPOLICY_SIZE_MAX)
    return fail_msg(err, errsz, "%s:%d: a %lld x %lld matrix is too large", rd->name, rd->lineno,
                    A, O);
  if (want(rd, "clip", 1, err, errsz)) return -1;
  if (strcmp(rd->tok[1], "yes") == 0) clip = 1;
  else if (strcmp(rd->tok[1], "no") == 0) clip = 0;
  else
    return fail_msg(err, errsz, "%s:%d: clip: expected yes or no, got '%.40s'", rd->name,
                    rd->lineno, rd->tok[1]);

  if (linpolicy_init(p, task, (int)O, (int)A, err, errsz)) return -1;
  p->clip = (int)clip;
  if (get_row(rd, "low", (int)A, 0, p->low, err, errsz) ||
      get_row(rd, "high", (int)A, 0, p->high, err, errsz))
    return -1;
  for (int i = 0; i < A; i++)
    if (!(p->low[i] <= p->high[i]))
      return fail_msg(err, errsz, "%s:%d: high: value %d (%g) is below low (%g)", rd->name,
                      rd->lineno, i + 1, p->high[i], p->low[i]);
  if (get_int(rd, "count", 0, INT64_MAX, &count, err, errsz)) return -1;
  p->norm.count = count;
  if (get_row(rd, "mean", (int)O, 1, p->norm.mean, err, errsz) ||
      get_row(rd, "m2", (int)O, 1, p->norm.m2, err, errsz))
    return -1;
  for (int j = 0; j < O; j++)
    if (p->norm.m2[j] < 0)
      return fail_msg(err, errsz, "%s:%d: m2: value %d is negative (%g)", rd->name, rd->lineno,
                      j + 1, p->norm.m2[j]);
  for (int i = 0; i < A; i++)
    if (get_row(rd, "M", (int)O, 1, p->m + (size_t)i * O, err, errsz)) {
      if (strstr(err, "the file ends early"))
        fail_msg(err, errsz, "%s:%d: the file ends early: row %d of M (A = %lld rows) missing",
                 rd->name, rd->lineno + 1, i + 1, A);
      return -1;
    }
  if (next_line(rd))
    return fail_msg(err, errsz, "%s:%d: unexpected '%.40s' after the last row of M (A = %lld)",
                    rd->name, rd->lineno, rd->tok[0], A);
  if (ferror(rd->f)) return fail_msg(err, errsz, "%s: read error", rd->name);
  linpolicy_sync(p);
  return 0;
}

int linpolicy_read(LinPolicy *p, FILE *f, const char *name, char *err, size_t errsz) {
  Reader rd = {f, name, NULL, 0, 0, NULL, 0, 0};
  memset(p, 0, sizeof *p);
  int rc = read_body(&rd, p, err, errsz);
  if (rc) linpolicy_free(p);
  free(rd.line);
  free(rd.tok);
  return rc;
}

int linpolicy_load(LinPolicy *p, const char *path, char *err, size_t errsz) {
  memset(p, 0, sizeof *p);
  FILE *f = fopen(path, "r");
  if (!f) return fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
  int rc = linpolicy_read(p, f, path, err, errsz);
  fclose(f);
  return rc;
}

int linpolicy_sniff(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char head[64] = "";
  size_t ml = strlen(LINPOLICY_MAGIC);
  size_t n = fread(head, 1, ml + 1, f);
  fclose(f);
  return n == ml + 1 && memcmp(head, LINPOLICY_MAGIC, ml) == 0 &&
         (head[ml] == ' ' || head[ml] == '\t');
}

int linpolicy_check(const LinPolicy *p, const char *task, int obs_dim, int act_dim, char *err,
                    size_t errsz) {
  if (strcmp(p->task, task) != 0 || p->obs_dim != obs_dim || p->act_dim != act_dim)
    return fail_msg(err, errsz,
                    "the policy was trained on %s (observation %d, action %d); this task is %s "
                    "(observation %d, action %d)",
                    p->task, p->obs_dim, p->act_dim, task, obs_dim, act_dim);
  return 0;
}
