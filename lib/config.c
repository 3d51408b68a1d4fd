// config: typed parameter tables, INI files and assignments (see config.h).
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ini.h>

#include "fail.h"
#include "infile.h"

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n, 1, "configuration text"), s, n);
}

//---------------- ranges ----------------

typedef struct {
  double lo, hi;
  int lo_open, hi_open;
} Interval;

// parse "[lo, hi]" with ( ) for open ends; returns 0 or -1
static int parse_interval(const char *s, Interval *iv) {
  char *end;
  while (isspace((unsigned char)*s)) s++;
  if (*s != '[' && *s != '(') return -1;
  iv->lo_open = *s++ == '(';
  iv->lo = strtod(s, &end);
  if (end == s) return -1;
  s = end;
  while (isspace((unsigned char)*s)) s++;
  if (*s++ != ',') return -1;
  iv->hi = strtod(s, &end);
  if (end == s) return -1;
  s = end;
  while (isspace((unsigned char)*s)) s++;
  if (*s != ']' && *s != ')') return -1;
  iv->hi_open = *s++ == ')';
  while (isspace((unsigned char)*s)) s++;
  return *s || iv->lo > iv->hi ? -1 : 0;
}

static int in_interval(const Interval *iv, double v) {
  if (iv->lo_open ? !(v > iv->lo) : !(v >= iv->lo)) return 0;
  if (iv->hi_open ? !(v < iv->hi) : !(v <= iv->hi)) return 0;
  return 1;
}

// index of `name` in "a|b|c", or -1
static int choice_index(const char *choices, const char *name) {
  size_t len = strlen(name);
  int i = 0;
  for (const char *s = choices;; i++) {
    const char *bar = strchr(s, '|');
    size_t n = bar ? (size_t)(bar - s) : strlen(s);
    if (n == len && strncmp(s, name, n) == 0) return i;
    if (!bar) return -1;
    s = bar + 1;
  }
}

// copy the name with index i of "a|b|c" into buf
static void choice_name(const char *choices, int i, char *buf, size_t n) {
  const char *s = choices;
  for (; i > 0 && s; i--) {
    s = strchr(s, '|');
    if (s) s++;
  }
  if (!s) s = "?";
  const char *bar = strchr(s, '|');
  snprintf(buf, n, "%.*s", (int)(bar ? (size_t)(bar - s) : strlen(s)), s);
}

static const char *type_word(ParamType t) {
  switch (t) {
  case P_INT: return "an integer";
  case P_REAL: return "a number";
  case P_BOOL: return "a boolean (true/false, yes/no, on/off, 1/0)";
  case P_CHOICE: return "one of";
  case P_STR: return "a string";
  }
  return "?";
}

// "an integer in [1, 65536]", "one of exp|elite", "a nonempty string of at most 159 characters"
static void describe(const ParamRef *p, char *buf, size_t n) {
  switch (p->type) {
  case P_INT:
  case P_REAL: snprintf(buf, n, "%s in %s", type_word(p->type), p->range); break;
  case P_CHOICE: snprintf(buf, n, "one of %s", p->range); break;
  case P_BOOL: snprintf(buf, n, "%s", type_word(p->type)); break;
  case P_STR:
    snprintf(buf, n, "a %sstring of at most %d characters",
             strcmp(p->range, "nonempty") == 0 ? "nonempty " : "", PARAM_STR_MAX - 1);
    break;
  }
}

//---------------- values ----------------

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  size_t i = 0;
  while (isspace((unsigned char)s[i])) i++;
  memmove(s, s + i, n - i + 1);
}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*s && !*end && !errno) {
    *out = v;
    return 0;
  }
  // integral values written as reals, e.g. 1e6 steps
  errno = 0;
  double d = strtod(s, &end);
  if (!*s || *end || errno || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
    return -1;
  *out = (int64_t)d;
  return 0;
}

static int parse_bool(const char *s, bool *out) {
  static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *out = true, 0;
    if (strcasecmp(s, no[i]) == 0) return *out = false, 0;
  }
  return -1;
}

int cfg_parse_value(const ParamRef *p, const char *text, char *err, size_t errsz) {
  char v[PARAM_STR_MAX + 64], want[256];
  if (strlen(text) >= sizeof v) text = "(a value that is far too long)";
  snprintf(v, sizeof v, "%s", text);
  trim(v);
  describe(p, want, sizeof want);
  // values with a '#' comment: inih strips only ';' comments
  const char *hint = strchr(v, '#') ? " (comments in INI files start with ';')" : "";
  Interval iv;
  switch (p->type) {
  case P_INT: {
    int64_t x;
    if (parse_int(v, &x) || parse_interval(p->range, &iv) || !in_interval(&iv, (double)x))
      return fail_msg(err, errsz, "expected %s, got '%s'%s", want, v, hint);
    *(int64_t *)p->ptr = x;
    return 0;
  }
  case P_REAL: {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    // infinities pass only where the range has a closed infinite end, e.g. [0.7, inf]
    if (!*v || *end || (errno == ERANGE && isfinite(x)) || isnan(x) ||
        parse_interval(p->range, &iv) || !in_interval(&iv, x))
      return fail_msg(err, errsz, "expected %s, got '%s'%s", want, v, hint);
    *(double *)p->ptr = x;
    return 0;
  }
  case P_BOOL:
    if (parse_bool(v, (bool *)p->ptr))
      return fail_msg(err, errsz, "expected %s, got '%s'%s", want, v, hint);
    return 0;
  case P_CHOICE: {
    int i = choice_index(p->range, v);
    if (i < 0) return fail_msg(err, errsz, "expected %s, got '%s'%s", want, v, hint);
    *(int *)p->ptr = i;
    return 0;
  }
  case P_STR:
    // strings are taken as written (only the surrounding spaces go)
    if (strlen(v) >= PARAM_STR_MAX || (!*v && strcmp(p->range, "nonempty") == 0))
      return fail_msg(err, errsz, "expected %s, got '%s'", want, v);
    // a manifest must read back exactly, and ';' would start a comment there
    if (strchr(v, ';')) return fail_msg(err, errsz, "strings cannot contain ';', got '%s'", v);
    memcpy(p->ptr, v, strlen(v) + 1);
    return 0;
  }
  return fail_msg(err, errsz, "unknown parameter type");
}

void cfg_format(const ParamRef *p, char *buf, size_t n) {
  switch (p->type) {
  case P_INT: snprintf(buf, n, "%" PRId64, *(const int64_t *)p->ptr); break;
  case P_REAL: {
    // the shortest text that reads back as the same double
    double x = *(const double *)p->ptr;
    for (int prec = 6; prec <= 17; prec++) {
      snprintf(buf, n, "%.*g", prec, x);
      if (strtod(buf, NULL) == x) break;
    }
    break;
  }
  case P_BOOL: snprintf(buf, n, "%s", *(const bool *)p->ptr ? "true" : "false"); break;
  case P_CHOICE: choice_name(p->range, *(const int *)p->ptr, buf, n); break;
  case P_STR: snprintf(buf, n, "%s", (const char *)p->ptr); break;
  }
}

void cfg_canonical(const ParamRef *p, const char *text, char *buf, size_t n) {
  union {
    int64_t i;
    double r;
    bool b;
    int c;
    char s[PARAM_STR_MAX];
  } slot;
  ParamRef tmp = *p;
  tmp.ptr = &slot;
  char why[512];
  if (cfg_parse_value(&tmp, text, why, sizeof why) == 0) cfg_format(&tmp, buf, n);
  else snprintf(buf, n, "%s", text);
}

//---------------- sections ----------------

static CfgSection *find_section(const Config *c, const char *name) {
  for (int i = 0; i < c->nsec; i++)
    if (strcmp(c->sec[i].name, name) == 0) return (CfgSection *)&c->sec[i];
  return NULL;
}

static int find_param(const CfgSection *s, const char *key) {
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->refs[i].name, key) == 0) return i;
  return -1;
}

// split "section.key" at the first dot into the two buffers; -1 if there is no dot
static int split_key(const char *key, char *sec, size_t ns, char *name, size_t nn) {
  const char *dot = strchr(key, '.');
  if (!dot || dot == key || !dot[1]) return -1;
  snprintf(sec, ns, "%.*s", (int)(dot - key), key);
  snprintf(name, nn, "%s", dot + 1);
  return 0;
}

static void table_error(const char *section, const ParamRef *p, const char *why) {
  fprintf(stderr, "%s: internal error: parameter table [%s] %s: %s\n", fail_prog(), section,
          p->name, why);
  abort();
}

void cfg_init(Config *c) { memset(c, 0, sizeof *c); }

void cfg_add_section(Config *c, const char *name, const ParamRef *refs, int n) {
  CfgSection *s = find_section(c, name);
  if (!s) {
    if (c->nsec == CFG_MAX_SECTIONS || strlen(name) >= sizeof s->name || strchr(name, '.'))
      table_error(name, refs, "too many sections or a bad section name");
    s = &c->sec[c->nsec++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
  }
  s->refs = realloc(s->refs, (size_t)(s->n + n) * sizeof *s->refs);
  s->level = realloc(s->level, (size_t)(s->n + n) * sizeof *s->level);
  s->own_def = realloc(s->own_def, (size_t)(s->n + n) * sizeof *s->own_def);
  if (!s->refs || !s->level || !s->own_def) fail_run("out of memory for parameter tables");
  for (int i = 0; i < n; i++) {
    const ParamRef *p = &refs[i];
    char err[256];
    Interval iv;
    if (find_param(s, p->name) >= 0) table_error(name, p, "key defined twice");
    if ((p->type == P_INT || p->type == P_REAL) && parse_interval(p->range, &iv))
      table_error(name, p, "range is not an interval like [0, 1)");
    if (p->type == P_CHOICE && (!*p->range || strstr(p->range, "||")))
      table_error(name, p, "choice list is not like a|b|c");
    if (cfg_parse_value(p, p->def, err, sizeof err)) table_error(name, p, err);
    s->refs[s->n] = *p;
    s->level[s->n] = CFG_DEFAULT;
    s->own_def[s->n] = NULL;
    s->n++;
  }
}

void cfg_set_default(Config *c, const char *key, const char *value) {
  char sec[64], name[128], err[256];
  CfgSection *s = split_key(key, sec, sizeof sec, name, sizeof name) ? NULL : find_section(c, sec);
  int i = s ? find_param(s, name) : -1;
  if (i < 0) {
    fprintf(stderr, "%s: internal error: no parameter %s to set a default for\n", fail_prog(), key);
    abort();
  }
  ParamRef *p = &s->refs[i];
  if (cfg_parse_value(p, value, err, sizeof err)) table_error(sec, p, err);
  free(s->own_def[i]);
  s->own_def[i] = xstrdup(value);
  p->def = s->own_def[i];
}

void cfg_set_defaults(Config *c, const CfgDefault *d, int n) {
  for (int k = 0; k < n; k++) cfg_set_default(c, d[k].key, d[k].value);
}

void cfg_free(Config *c) {
  for (int i = 0; i < c->nsec; i++) {
    for (int j = 0; j < c->sec[i].n; j++) free(c->sec[i].own_def[j]);
    free(c->sec[i].refs);
    free(c->sec[i].level);
    free(c->sec[i].own_def);
  }
  for (int i = 0; i < c->npend; i++) {
    free(c->pend[i].section);
    free(c->pend[i].key);
    free(c->pend[i].value);
    free(c->pend[i].origin);
  }
  free(c->pend);
  memset(c, 0, sizeof *c);
}

const ParamRef *cfg_find(const Config *c, const char *key) {
  char sec[64], name[128];
  if (split_key(key, sec, sizeof sec, name, sizeof name)) return NULL;
  const CfgSection *s = find_section(c, sec);
  int i = s ? find_param(s, name) : -1;
  return i < 0 ? NULL : &s->refs[i];
}

//---------------- suggestions ----------------

// edit distance, for "did you mean"
static int distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > 63 || nb > 63) return 99;
  int row[64];
  for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

// closest of n names to `word` within a small distance, or NULL
static const char *closest(const char *word, const char *const *names, int n) {
  const char *best = NULL;
  int bestd = (int)strlen(word) / 3 + 1;
  if (bestd > 3) bestd = 3;
  for (int i = 0; i < n; i++) {
    int d = distance(word, names[i]);
    if (d <= bestd && (!best || d < bestd)) best = names[i], bestd = d;
  }
  return best;
}

static void suggest_key(const CfgSection *s, const char *key, char *buf, size_t n) {
  const char *names[256];
  int m = 0;
  for (int i = 0; i < s->n && m < 256; i++) names[m++] = s->refs[i].name;
  const char *best = closest(key, names, m);
  if (best) snprintf(buf, n, " (did you mean '%s'?)", best);
  else snprintf(buf, n, "; see --help for the keys of [%s]", s->name);
}

static void suggest_section(const Config *c, const char *sec, char *buf, size_t n) {
  const char *names[CFG_MAX_SECTIONS];
  size_t used = 0;
  used += snprintf(buf, n, "; known sections:");
  for (int i = 0; i < c->nsec; i++) {
    names[i] = c->sec[i].name;
    if (used < n) used += snprintf(buf + used, n - used, " [%s]", c->sec[i].name);
  }
  const char *best = closest(sec, names, c->nsec);
  if (best && used < n) snprintf(buf + used, n - used, " (did you mean [%s]?)", best);
}

//---------------- assignments ----------------

static void push(Config *c, const char *sec, const char *key, const char *value, CfgLevel level,
                 const char *origin) {
  if (c->npend == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 32;
    c->pend = realloc(c->pend, (size_t)c->cap * sizeof *c->pend);
    if (!c->pend) fail_run("out of memory for configuration");
  }
  c->pend[c->npend++] = (CfgAssign){xstrdup(sec), xstrdup(key), xstrdup(value), level,
                                    xstrdup(origin)};
}

int cfg_push(Config *c, const char *key, const char *value, CfgLevel level, const char *origin,
             char *err, size_t errsz) {
  char sec[64], name[128];
  if (split_key(key, sec, sizeof sec, name, sizeof name)) {
    // point at the registered sections that have this key
    char also[512] = "";
    size_t used = 0;
    for (int i = 0; i < c->nsec; i++)
      if (find_param(&c->sec[i], key) >= 0 && used < sizeof also)
        used += snprintf(also + used, sizeof also - used, "%s%s.%s", used ? " or " : "",
                         c->sec[i].name, key);
    if (used)
      return fail_msg(err, errsz, "%s: '%s': keys are written section.key (did you mean %s?)",
                      origin, key, also);
    return fail_msg(err, errsz, "%s: '%s': keys are written section.key, e.g. run.seed", origin,
                    key);
  }
  push(c, sec, name, value, level, origin);
  return 0;
}

static int apply_one(Config *c, const CfgAssign *a, int *applied, char *err, size_t errsz) {
  *applied = 0;
  CfgSection *s = find_section(c, a->section);
  if (!s) return 0;
  *applied = 1;
  int i = find_param(s, a->key);
  if (i < 0) {
    char hint[256];
    suggest_key(s, a->key, hint, sizeof hint);
    return fail_msg(err, errsz, "%s: unknown key '%s' in [%s]%s", a->origin, a->key, s->name, hint);
  }
  if (a->level < s->level[i]) return 0;   // a higher level already set it
  char why[512];
  if (cfg_parse_value(&s->refs[i], a->value, why, sizeof why))
    return fail_msg(err, errsz, "%s: %s.%s: %s", a->origin, s->name, a->key, why);
  s->level[i] = a->level;
  return 0;
}

int cfg_apply(Config *c, int final, char *err, size_t errsz) {
  int kept = 0, rc = 0;
  for (int i = 0; i < c->npend; i++) {
    CfgAssign *a = &c->pend[i];
    int applied = 0;
    if (rc == 0) {
      if (apply_one(c, a, &applied, err, errsz)) rc = -1;
      else if (!applied && final) {
        char hint[512];
        suggest_section(c, a->section, hint, sizeof hint);
        rc = fail_msg(err, errsz, "%s: unknown section [%s]%s", a->origin, a->section, hint);
      }
    }
    if (applied || rc) {
      free(a->section), free(a->key), free(a->value), free(a->origin);
    } else {
      c->pend[kept++] = *a;
    }
  }
  c->npend = kept;
  return rc;
}

//---------------- INI files ----------------

// inih calls the reader once per line; it counts lines for messages, strips leading blanks (an
// indented line would otherwise continue the previous value), reports over-long lines, and stops
// at the first control character (a NUL would cut the line short in inih's view, and a binary file
// read as INI should say what it is, not which of its lines looks malformed)
typedef struct {
  const char *p, *end;   // the text left to read
  int line;
  int long_line;         // first line longer than inih's buffer
  int ctrl_line;         // line of the first control character, which ends the reading
  unsigned ctrl;         // that character
} Reader;

// tab is a blank, and the \r of a CRLF line end is a line end (inih strips it as trailing space)
static int is_ctrl(const Reader *r, int c) {
  if (c == '\t' || c == '\n') return 0;
  if (c == '\r') return !(r->p == r->end || *r->p == '\n');
  return c < 0x20 || c == 0x7f;
}

static char *read_line(char *buf, int num, void *stream) {
  Reader *r = stream;
  int n = 0, truncated = 0;
  if (r->ctrl_line) return NULL;
  while (r->p < r->end) {
    int c = (unsigned char)*r->p++;
    if (is_ctrl(r, c)) {
      r->ctrl_line = r->line + 1, r->ctrl = (unsigned)c;
      return NULL;
    }
    if (n == 0 && (c == ' ' || c == '\t')) continue;
    if (n < num - 2) buf[n++] = (char)c;
    else if (c != '\n' && c != '\r') truncated = 1;
    if (c == '\n') break;
  }
  if (n == 0) return NULL;   // the end (a line always keeps its newline)
  r->line++;
  if (truncated && !r->long_line) r->long_line = r->line;
  if (n == 0 || buf[n - 1] != '\n') buf[n++] = '\n';
  buf[n] = 0;
  return buf;
}

typedef struct {
  Config *cfg;
  Reader *rd;
  const char *name;
  CfgLevel level;
  int skip;             // inside a meta section
  int err_line;         // first error found by the handler
  char err[512];
  char **seen;          // "section.key" read from this file, for duplicates
  int *seen_line;
  int nseen;
} IniCtx;

static int on_entry(void *user, const char *section, const char *name, const char *value) {
  IniCtx *x = user;
  int line = x->rd->line;
  if (x->err_line) return 1;
  if (strcmp(section, "meta") == 0 || strncmp(section, "meta.", 5) == 0) return 1;
  if (!*section) {
    x->err_line = line;
    snprintf(x->err, sizeof x->err, "'%s' is outside any section; put it under a [section] line",
             name);
    return 1;
  }
  char key[256], origin[4096 + 16];
  snprintf(key, sizeof key, "%s.%s", section, name);
  for (int i = 0; i < x->nseen; i++)
    if (strcmp(x->seen[i], key) == 0) {
      x->err_line = line;
      snprintf(x->err, sizeof x->err, "%s is set twice in this file (first on line %d)", key,
               x->seen_line[i]);
      return 1;
    }
  x->seen = realloc(x->seen, (size_t)(x->nseen + 1) * sizeof *x->seen);
  x->seen_line = realloc(x->seen_line, (size_t)(x->nseen + 1) * sizeof *x->seen_line);
  if (!x->seen || !x->seen_line) fail_run("out of memory reading %s", x->name);
  x->seen[x->nseen] = xstrdup(key);
  x->seen_line[x->nseen++] = line;
  snprintf(origin, sizeof origin, "%s:%d", x->name, line);
  push(x->cfg, section, name, value, x->level, origin);
  return 1;
}

static int read_ini(Config *c, Reader *rd, const char *name, CfgLevel level, char *err,
                    size_t errsz) {
  IniCtx x = {.cfg = c, .rd = rd, .name = name, .level = level};
  int first_pend = c->npend;
  int bad = ini_parse_stream(read_line, rd, on_entry, &x);
  for (int i = 0; i < x.nseen; i++) free(x.seen[i]);
  free(x.seen);
  free(x.seen_line);
  // the earliest of: an over-long line, a syntax error (inih's line), a handler error
  int line = 0;
  const char *why = NULL;
  char ctrl[64];
  if (rd->ctrl_line) {
    snprintf(ctrl, sizeof ctrl, "control character 0x%02x (a binary file?)", rd->ctrl);
    line = rd->ctrl_line, why = ctrl;
  }
  if (rd->long_line && (!line || rd->long_line < line))
    line = rd->long_line, why = "line is longer than 199 characters";
  if (bad > 0 && (!line || bad < line))
    line = bad, why = "malformed line: expected '[section]', 'key = value' or a ';' comment";
  if (x.err_line && (!line || x.err_line < line)) line = x.err_line, why = x.err;
  if (bad < 0) why = "cannot read";
  if (!why) return 0;
  // drop what this file queued: nothing of a bad file applies
  while (c->npend > first_pend) {
    CfgAssign *a = &c->pend[--c->npend];
    free(a->section), free(a->key), free(a->value), free(a->origin);
  }
  if (line) return fail_msg(err, errsz, "%s:%d: %s", name, line, why);
  return fail_msg(err, errsz, "%s: %s", name, why);
}

int cfg_read_file(Config *c, const char *path, CfgLevel level, char *err, size_t errsz) {
  char *text;
  size_t n;
  if (infile_read(path, INFILE_TEXT_MAX, "a config file", &text, &n, err, errsz)) return -1;
  Reader rd = {.p = text, .end = text + n};
  int rc = read_ini(c, &rd, path, level, err, errsz);
  free(text);
  return rc;
}

int cfg_read_string(Config *c, const char *text, const char *name, CfgLevel level, char *err,
                    size_t errsz) {
  Reader rd = {.p = text, .end = text + strlen(text)};
  return read_ini(c, &rd, name, level, err, errsz);
}

int cfg_read_bytes(Config *c, const char *data, size_t n, const char *name, CfgLevel level,
                   char *err, size_t errsz) {
  Reader rd = {.p = data, .end = data + n};
  return read_ini(c, &rd, name, level, err, errsz);
}

//---------------- output ----------------

void cfg_write_ini(const Config *c, FILE *f) {
  char v[PARAM_STR_MAX + 32];
  for (int i = 0; i < c->nsec; i++) {
    fprintf(f, "%s[%s]\n", i ? "\n" : "", c->sec[i].name);
    for (int j = 0; j < c->sec[i].n; j++) {
      cfg_format(&c->sec[i].refs[j], v, sizeof v);
      fprintf(f, "%s = %s\n", c->sec[i].refs[j].name, v);
    }
  }
}

void cfg_print_help(const Config *c, FILE *f) {
  char v[PARAM_STR_MAX + 32], want[256], key[128];
  for (int i = 0; i < c->nsec; i++) {
    fprintf(f, "\n  [%s]\n", c->sec[i].name);
    for (int j = 0; j < c->sec[i].n; j++) {
      const ParamRef *p = &c->sec[i].refs[j];
      snprintf(key, sizeof key, "%s.%s", c->sec[i].name, p->name);
      snprintf(v, sizeof v, "%s", p->def);
      describe(p, want, sizeof want);
      // a key too long for its column gets a line of its own
      if (strlen(key) > 30)
        fprintf(f, "  %s\n  %-30s %s; default %s\n", key, "", want, *v ? v : "''");
      else
        fprintf(f, "  %-30s %s; default %s\n", key, want, *v ? v : "''");
      fprintf(f, "  %-30s %s\n", "", p->help);
    }
  }
}

void cfg_changed(const Config *c, char *buf, size_t n) {
  size_t used = 0;
  char v[PARAM_STR_MAX + 32], d[PARAM_STR_MAX + 32];
  buf[0] = 0;
  for (int i = 0; i < c->nsec; i++)
    for (int j = 0; j < c->sec[i].n; j++) {
      const ParamRef *p = &c->sec[i].refs[j];
      if (c->sec[i].level[j] == CFG_DEFAULT) continue;
      // compare canonical forms: '1e3' and '1000' are the same value
      cfg_format(p, v, sizeof v);
      cfg_canonical(p, p->def, d, sizeof d);
      if (strcmp(v, d) == 0) continue;
      if (used < n)
        used += snprintf(buf + used, n - used, "%s%s.%s=%s", used ? ", " : "", c->sec[i].name,
                         p->name, v);
    }
}
