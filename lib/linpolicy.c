// linpolicy: linear policy, its action and its text file (see linpolicy.h).
#include "linpolicy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fail.h"
#include "infile.h"
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
  dst->checksum = src->checksum;
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

// the whole file, checksum line included, in a new buffer
static int format(const LinPolicy *p, char **buf, size_t *len) {
  int O = p->obs_dim, A = p->act_dim;
  FILE *f = open_memstream(buf, len);
  if (!f) return -1;
  fprintf(f, "%s %d\n", LINPOLICY_MAGIC, LINPOLICY_VERSION);
  fprintf(f, "task %s\nobs %d\nact %d\nclip %s\n", p->task, O, A, p->clip ? "yes" : "no");
  put_row(f, "low", p->low, A);
  put_row(f, "high", p->high, A);
  fprintf(f, "count %lld\n", (long long)p->norm.count);
  put_row(f, "mean", p->norm.mean, O);
  put_row(f, "m2", p->norm.m2, O);
  for (int i = 0; i < A; i++) put_row(f, "M", p->m + (size_t)i * O, O);
  // the bytes so far are final once flushed: the checksum covers exactly them
  int bad = fflush(f) != 0;
  if (!bad) fprintf(f, "checksum " DIGEST_FMT "\n", digest_bytes(*buf, *len));
  bad |= ferror(f) != 0;
  bad |= fclose(f) != 0;
  if (bad) {
    free(*buf);
    *buf = NULL;
  }
  return bad ? -1 : 0;
}

int linpolicy_write(const LinPolicy *p, FILE *f) {
  char *buf;
  size_t len;
  if (format(p, &buf, &len)) return -1;
  int rc = fwrite(buf, 1, len, f) == len && !ferror(f) ? 0 : -1;
  free(buf);
  return rc;
}

int linpolicy_save(const LinPolicy *p, const char *path, char *err, size_t errsz) {
  char *buf;
  size_t len;
  if (format(p, &buf, &len))
    return fail_msg(err, errsz, "%s: cannot format the policy: %s", path, strerror(errno));
  int rc = file_write_atomic(path, buf, len, err, errsz);
  free(buf);
  return rc;
}

//---------------- reading ----------------

// the file's bytes, read a line at a time
typedef struct {
  const char *data;
  size_t n, pos;   // pos: where the next line starts
  const char *name;
  char *line;      // the current line, NUL-terminated, its comment cut off
  size_t cap;
  int lineno;
  char **tok;      // (ntok) words of the current line
  int ntok, tokcap;
} Reader;

// split rd->line in place into words
static void split(Reader *rd) {
  rd->ntok = 0;
  char *s = rd->line;
  for (;;) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    if (!*s) break;
    if (rd->ntok == rd->tokcap) {
      rd->tokcap = rd->tokcap ? 2 * rd->tokcap : 64;
      char **t = realloc(rd->tok, (size_t)rd->tokcap * sizeof *t);
      if (!t) fail_run("out of memory reading %s", rd->name);
      rd->tok = t;
    }
    rd->tok[rd->ntok++] = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') s++;
    if (*s) *s++ = 0;
  }
}

// Copy the next line into rd->line: 1, 0 at the end of the file, -1 (err) for a control character
// other than tab or the \r of a CRLF line end (a NUL would silently end the line)
static int raw_line(Reader *rd, char *err, size_t errsz) {
  if (rd->pos >= rd->n) return 0;
  const char *s = rd->data + rd->pos, *nl = memchr(s, '\n', rd->n - rd->pos);
  size_t len = nl ? (size_t)(nl - s) + 1 : rd->n - rd->pos;
  rd->pos += len;
  rd->lineno++;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    int crlf = c == '\r' && i + 2 == len && s[i + 1] == '\n';
    if ((c < 0x20 && c != '\t' && c != '\n' && !crlf) || c == 0x7f)
      return fail_msg(err, errsz, "%s:%d: control character 0x%02x (a binary file?)", rd->name,
                      rd->lineno, c);
  }
  if (len + 1 > rd->cap) {
    char *t = realloc(rd->line, len + 1);
    if (!t) fail_run("out of memory reading %s", rd->name);
    rd->line = t, rd->cap = len + 1;
  }
  memcpy(rd->line, s, len);
  rd->line[len] = 0;
  return 1;
}

// the next line with words on it (comments and blank lines skipped): 1, 0 at the end, -1 (err)
static int next_line(Reader *rd, char *err, size_t errsz) {
  int rc;
  while ((rc = raw_line(rd, err, errsz)) > 0) {
    char *hash = strchr(rd->line, '#');
    if (hash) *hash = 0;
    split(rd);
    if (rd->ntok) return 1;
  }
  return rc;
}

// the next line must be `key` followed by exactly n values
static int want(Reader *rd, const char *key, int n, char *err, size_t errsz) {
  int rc = next_line(rd, err, errsz);
  if (rc < 0) return -1;
  if (rc == 0)
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
  int first = raw_line(rd, err, errsz);
  if (first < 0) return -1;
  if (first == 0) return fail_msg(err, errsz, "%s: empty file; expected a linear policy", rd->name);
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
  // every number takes at least two bytes (a digit and a separator): a short file cannot hold
  // large dimensions, and must not get their allocation (a few bytes would ask for gigabytes);
  // small ones are read, so that a cut file says where it ends
  double values = (double)O * (double)A + 2.0 * (double)O + 2.0 * (double)A;
  if (values > 65536 && 2.0 * values > (double)(rd->n - rd->pos))
    return fail_msg(err, errsz, "%s:%d: obs %lld and act %lld need %.0f numbers, more than the "
                    "%zu bytes left in the file can hold", rd->name, rd->lineno, O, A, values,
                    rd->n - rd->pos);
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
  int more = next_line(rd, err, errsz);
  if (more < 0) return -1;
  if (more)
    return fail_msg(err, errsz, "%s:%d: unexpected '%.40s' after the last row of M (A = %lld)%s",
                    rd->name, rd->lineno, rd->tok[0], A,
                    strcmp(rd->tok[0], "checksum") == 0 ? " (a checksum line must be the last)"
                                                        : "");
  linpolicy_sync(p);
  return 0;
}

// The checksum line, if the file's last line is one: its offset (the bytes it covers), its line
// number and the recorded sum. 0 none, 1 found, -1 (err) a malformed checksum line.
static int find_checksum(const char *data, size_t n, const char *name, size_t *start, int *lineno,
                         uint64_t *sum, char *err, size_t errsz) {
  size_t end = n;
  if (end && data[end - 1] == '\n') end--;
  if (end && data[end - 1] == '\r') end--;
  size_t b = end;
  while (b > 0 && data[b - 1] != '\n') b--;
  static const char key[] = "checksum";
  size_t kl = sizeof key - 1;
  if (end - b <= kl || memcmp(data + b, key, kl) != 0 || (data[b + kl] != ' ' && data[b + kl] != '\t'))
    return 0;
  *start = b;
  *lineno = 1;
  for (size_t i = 0; i < b; i++) *lineno += data[i] == '\n';
  const char *h = data + b + kl;
  size_t hl = end - b - kl;
  while (hl && (*h == ' ' || *h == '\t')) h++, hl--;
  while (hl && (h[hl - 1] == ' ' || h[hl - 1] == '\t')) hl--;
  int ok = hl == 16;
  uint64_t v = 0;
  for (size_t i = 0; ok && i < hl; i++) {
    int c = (unsigned char)h[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
            c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) ok = 0;
    v = v << 4 | (uint64_t)d;
  }
  if (!ok)
    return fail_msg(err, errsz, "%s:%d: checksum: expected 16 hex digits, got '%.*s'", name,
                    *lineno, (int)(hl < 40 ? hl : 40), h);
  *sum = v;
  return 1;
}

int linpolicy_parse(LinPolicy *p, const char *data, size_t n, const char *name, char *err,
                    size_t errsz) {
  memset(p, 0, sizeof *p);
  // the checksum first: a changed file says so, not which of its lines no longer parses
  size_t start = n;
  int lineno = 0;
  uint64_t sum = 0;
  int has = find_checksum(data, n, name, &start, &lineno, &sum, err, errsz);
  if (has < 0) return -1;
  if (has) {
    uint64_t got = digest_bytes(data, start);
    if (got != sum)
      return fail_msg(err, errsz, "%s: checksum mismatch: the file was changed or damaged after "
                      "it was written (recorded " DIGEST_FMT ", contents give " DIGEST_FMT ")",
                      name, sum, got);
  }
  Reader rd = {.data = data, .n = start, .name = name};
  int rc = read_body(&rd, p, err, errsz);
  if (rc) linpolicy_free(p);
  else p->checksum = has;
  free(rd.line);
  free(rd.tok);
  return rc;
}

int linpolicy_read(LinPolicy *p, FILE *f, const char *name, char *err, size_t errsz) {
  char *data;
  size_t n;
  memset(p, 0, sizeof *p);
  if (infile_slurp(f, name, INFILE_TEXT_MAX, "a policy file", &data, &n, err, errsz)) return -1;
  int rc = linpolicy_parse(p, data, n, name, err, errsz);
  free(data);
  return rc;
}

int linpolicy_load(LinPolicy *p, const char *path, char *err, size_t errsz) {
  char *data;
  size_t n;
  memset(p, 0, sizeof *p);
  if (infile_read(path, INFILE_TEXT_MAX, "a policy file", &data, &n, err, errsz)) return -1;
  int rc = linpolicy_parse(p, data, n, path, err, errsz);
  free(data);
  return rc;
}

int linpolicy_sniff(const char *path) {
  // only a regular file can be a policy (linpolicy_load refuses the rest); anything else is
  // left unread for the caller's other reader
  FILE *f = infile_open(path, NULL, NULL, 0);
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
