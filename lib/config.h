// config: typed parameter tables, INI files and `section.key=value` assignments.
//
// A program declares each group of parameters once, as an X-macro list:
/*
     #define SAC_PARAMS(X) \
       X(INT,  batch_size, "256",  "[1, 65536]", "minibatch size") \
       X(REAL, gamma,      "0.99", "[0, 1)",     "discount")
     PARAMS_DEFINE(SacParams, sac_params_register, SAC_PARAMS)
*/
// which defines the struct (int64_t batch_size; double gamma;) and a function registering the
// table under an INI section. That one list drives the defaults, the INI keys (`[sac]`
// `batch_size = 64`, or `--set sac.batch_size=64`), `--help`, range checks and the manifest.
//
// Types and their ranges (the range text is shown verbatim in --help and error messages):
//   INT    int64_t  "[lo, hi]" with ( or ) for open ends; "inf" allowed; "1e6" accepted as a value
//   REAL   double   same interval syntax; "inf" is a value only where the range has a closed
//                   infinite end ("[0.7, inf]"); nan never
//   BOOL   bool     range ""; values true/false, yes/no, on/off, 1/0
//   CHOICE int      range "a|b|c"; the value is one of the names, stored as its index (0, 1, ...)
//   STR    char[]   range "" (anything) or "nonempty"; at most PARAM_STR_MAX - 1 characters
//
// Values arrive at increasing precedence levels (defaults < manifest < --config files < --set <
// dedicated flags); an assignment applies only over one of a lower or equal level, so the order
// in which sources are read does not matter. Each assignment remembers where it came from (file
// and line, or the flag), and every error names that origin, the key, and what is allowed.
#ifndef MB_CONFIG_H
#define MB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// inih reads lines of at most 199 characters, so `key = value` must fit in one
#define PARAM_STR_MAX 160

typedef enum { P_INT, P_REAL, P_BOOL, P_CHOICE, P_STR } ParamType;

typedef enum { CFG_DEFAULT, CFG_MANIFEST, CFG_FILE, CFG_SET, CFG_FLAG } CfgLevel;

typedef struct {
  const char *name;    // key within its section
  ParamType type;
  const char *def;     // default, as text
  const char *range;   // see above
  const char *help;
  void *ptr;           // the struct field
} ParamRef;

#define PARAM_FIELD_INT(n) int64_t n;
#define PARAM_FIELD_REAL(n) double n;
#define PARAM_FIELD_BOOL(n) bool n;
#define PARAM_FIELD_CHOICE(n) int n;
#define PARAM_FIELD_STR(n) char n[PARAM_STR_MAX];
#define PARAM_FIELD_(T, n, def, range, help) PARAM_FIELD_##T(n)
#define PARAM_REF_(T, n, def, range, help) {#n, P_##T, def, range, help, &params_->n},

// Define struct `Type` with one field per entry of LIST.
#define PARAMS_STRUCT(Type, LIST) typedef struct { LIST(PARAM_FIELD_) } Type;

// Define struct `Type` and `fn(cfg, section, params)` that registers the table under `section`
// (and sets every field to its default).
#define PARAMS_DEFINE(Type, fn, LIST)                                             \
  PARAMS_STRUCT(Type, LIST)                                                       \
  static inline void fn(Config *cfg_, const char *section_, Type *params_) {      \
    const ParamRef refs_[] = {LIST(PARAM_REF_)};                                  \
    cfg_add_section(cfg_, section_, refs_, (int)(sizeof refs_ / sizeof refs_[0])); \
  }

typedef struct {
  char *section, *key, *value;   // owned copies
  CfgLevel level;
  char *origin;                  // "FILE:LINE", "--set" or the flag, for messages
} CfgAssign;

typedef struct {
  char name[32];
  ParamRef *refs;    // (n)
  CfgLevel *level;   // (n) level of the value each parameter holds
  char **own_def;    // (n) defaults replaced by cfg_set_default (owned), else NULL
  int n;
} CfgSection;

#define CFG_MAX_SECTIONS 16

typedef struct {
  CfgSection sec[CFG_MAX_SECTIONS];
  int nsec;
  CfgAssign *pend;   // assignments read but not applied yet (their section may come later)
  int npend, cap;
} Config;

void cfg_init(Config *c);
void cfg_free(Config *c);

// Register (or extend) a section and set its parameters to their defaults. A malformed table
// (bad default, bad range, duplicate key) is a programming error: message and abort.
void cfg_add_section(Config *c, const char *name, const ParamRef *refs, int n);

// Replace the default of "section.key" (a program's own default for a shared table).
void cfg_set_default(Config *c, const char *key, const char *value);

// A program's own defaults for the tables it shares, kept in one list next to its own table with
// a comment per row citing where the value comes from; cfg_set_defaults applies the list.
typedef struct {
  const char *key, *value;   // "section.key", the default as text
} CfgDefault;
void cfg_set_defaults(Config *c, const CfgDefault *d, int n);
#define CFG_SET_DEFAULTS(c, list) cfg_set_defaults(c, list, (int)(sizeof list / sizeof *list))

// Queue an assignment of "section.key" = value. Returns 0, or -1 with err if key has no dot.
int cfg_push(Config *c, const char *key, const char *value, CfgLevel level, const char *origin,
             char *err, size_t errsz);

// Queue every `key = value` of an INI file; sections named meta or meta.* are skipped (run
// provenance in manifests). Syntax errors (malformed line, key outside a section, line too long,
// key repeated in the file, a control character other than tab or the \r of a CRLF line end)
// return -1 with "FILE:LINE: ..." in err; nothing of a file with an error is queued. Only a
// regular file of at most 16 MiB is read (infile.h): a device, FIFO or directory is refused
// before reading ("FILE: not a regular file (a FIFO or pipe)"), as is an unreadable file.
int cfg_read_file(Config *c, const char *path, CfgLevel level, char *err, size_t errsz);

// Same from a string; `name` stands for the file name in messages.
int cfg_read_string(Config *c, const char *text, const char *name, CfgLevel level, char *err,
                    size_t errsz);

// Same from n bytes, which may hold NULs (refused as control characters).
int cfg_read_bytes(Config *c, const char *data, size_t n, const char *name, CfgLevel level,
                   char *err, size_t errsz);

// Apply the queued assignments to the registered sections. Assignments to sections not
// registered yet stay queued, unless `final`, where they are errors. Returns 0 or -1 with err
// ("ORIGIN: section.key: expected ..., got '...'", "ORIGIN: unknown key ... (did you mean ...?)").
int cfg_apply(Config *c, int final, char *err, size_t errsz);

// The parameter "section.key", or NULL.
const ParamRef *cfg_find(const Config *c, const char *key);

// Canonical text of a parameter's current value (what the manifest holds).
void cfg_format(const ParamRef *p, char *buf, size_t n);

// Canonical text of `text` read as a value of p ('1e3' -> '1000'), or text itself if it does not
// parse.
void cfg_canonical(const ParamRef *p, const char *text, char *buf, size_t n);

// Parse `text` as a value of p (range checked) into p's field. Returns 0 or -1 with err
// ("expected an integer in [1, 65536], got 'x'").
int cfg_parse_value(const ParamRef *p, const char *text, char *err, size_t errsz);

// Write every section as INI (`[name]` then `key = value`).
void cfg_write_ini(const Config *c, FILE *f);

// List the parameters for --help: key, type and range, default, description.
void cfg_print_help(const Config *c, FILE *f);

// "section.key=value" for each parameter that differs from its default, comma-separated.
void cfg_changed(const Config *c, char *buf, size_t n);

#endif
