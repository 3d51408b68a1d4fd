// Tests of config (parameter tables, INI files, precedence, messages) and manifest.
#include <criterion/criterion.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "manifest.h"

#define T_PARAMS(X)                                                  \
  X(INT, batch, "256", "[1, 65536]", "minibatch size")               \
  X(INT, steps, "1000", "[1, 1e12]", "budget")                       \
  X(REAL, gamma, "0.99", "[0, 1)", "discount")                       \
  X(REAL, lr, "3e-4", "(0, 1]", "learning rate")                     \
  X(BOOL, twin, "true", "", "twin critics")                          \
  X(CHOICE, utility, "exp", "exp|elite|cost", "planner utility")     \
  X(STR, name, "HalfCheetah", "nonempty", "task")                    \
  X(STR, note, "", "", "free text")                                \
  X(REAL, zmax, "inf", "[0, inf]", "upper height limit")
PARAMS_DEFINE(TParams, t_register, T_PARAMS)

#define U_PARAMS(X) X(REAL, mass, "1", "(0, 100]", "pole mass")
PARAMS_DEFINE(UParams, u_register, U_PARAMS)

static Config cfg;
static TParams tp;
static char err[4096];

static void setup(void) {
  cfg_init(&cfg);
  t_register(&cfg, "t", &tp);
}
static void teardown(void) { cfg_free(&cfg); }

TestSuite(config, .init = setup, .fini = teardown);

// apply an INI text; returns the status and leaves the message in err
static int ini(const char *text) {
  err[0] = 0;
  if (cfg_read_string(&cfg, text, "x.ini", CFG_FILE, err, sizeof err)) return -1;
  return cfg_apply(&cfg, 1, err, sizeof err);
}

static int set(const char *key, const char *value, CfgLevel level) {
  err[0] = 0;
  if (cfg_push(&cfg, key, value, level, "--set", err, sizeof err)) return -1;
  return cfg_apply(&cfg, 1, err, sizeof err);
}

#define HAS(s) cr_assert(strstr(err, s), "message '%s' lacks '%s'", err, s)

Test(config, defaults_fill_the_struct) {
  cr_assert_eq(tp.batch, 256);
  cr_assert_eq(tp.steps, 1000);
  cr_assert_eq(tp.gamma, 0.99);
  cr_assert_eq(tp.lr, 3e-4);
  cr_assert(tp.twin);
  cr_assert_eq(tp.utility, 0);
  cr_assert_str_eq(tp.name, "HalfCheetah");
  cr_assert_str_eq(tp.note, "");
}

Test(config, every_type_parses) {
  cr_assert_eq(ini("[t]\nbatch = 64\nsteps = 1e6\ngamma = 0.5\nlr = 1\ntwin = off\n"
                   "utility = elite\nname = Hopper\nnote = a b c\n"),
               0, "%s", err);
  cr_assert_eq(tp.batch, 64);
  cr_assert_eq(tp.steps, 1000000);   // integral reals are integers
  cr_assert_eq(tp.gamma, 0.5);
  cr_assert_eq(tp.lr, 1.0);          // closed upper end
  cr_assert(!tp.twin);
  cr_assert_eq(tp.utility, 1);
  cr_assert_str_eq(tp.name, "Hopper");
  cr_assert_str_eq(tp.note, "a b c");
}

// an infinite value only where the range closes at infinity
Test(config, infinity_where_the_range_allows_it) {
  cr_assert(isinf(tp.zmax) && tp.zmax > 0, "default inf");
  cr_assert_eq(set("t.zmax", "2", CFG_SET), 0, "%s", err);
  cr_assert_eq(tp.zmax, 2.0);
  cr_assert_eq(set("t.zmax", "INF", CFG_SET), 0, "%s", err);
  cr_assert(isinf(tp.zmax));
  cr_assert_eq(set("t.gamma", "inf", CFG_SET), -1);
  char buf[32];
  cfg_format(cfg_find(&cfg, "t.zmax"), buf, sizeof buf);
  cr_assert_str_eq(buf, "inf");
}

Test(config, booleans_in_all_spellings) {
  const char *yes[] = {"true", "YES", "on", "1"}, *no[] = {"False", "no", "OFF", "0"};
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(set("t.twin", no[i], CFG_SET), 0, "%s", err);
    cr_assert(!tp.twin, "%s", no[i]);
    cr_assert_eq(set("t.twin", yes[i], CFG_SET), 0, "%s", err);
    cr_assert(tp.twin, "%s", yes[i]);
  }
  cr_assert_eq(set("t.twin", "maybe", CFG_SET), -1);
  HAS("expected a boolean");
}

// each bad value: the message names origin, key, what is allowed and what was given
Test(config, bad_values_are_refused_with_the_range) {
  struct { const char *key, *value, *want; } cases[] = {
      {"t.batch", "0", "expected an integer in [1, 65536], got '0'"},
      {"t.batch", "65537", "in [1, 65536]"},
      {"t.batch", "12abc", "got '12abc'"},
      {"t.batch", "1.5", "expected an integer"},
      {"t.batch", "", "got ''"},
      {"t.steps", "99999999999999999999", "expected an integer"},
      {"t.gamma", "1", "expected a number in [0, 1), got '1'"},   // open end
      {"t.gamma", "-0.1", "in [0, 1)"},
      {"t.gamma", "nan", "expected a number"},
      {"t.lr", "0", "in (0, 1]"},
      {"t.lr", "inf", "expected a number in (0, 1]"},
      {"t.zmax", "-inf", "expected a number in [0, inf]"},
      {"t.zmax", "1e999x", "got '1e999x'"},
      {"t.lr", "1e-3x", "got '1e-3x'"},
      {"t.utility", "mppi", "expected one of exp|elite|cost, got 'mppi'"},
      {"t.name", "", "nonempty string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cr_assert_eq(set(cases[i].key, cases[i].value, CFG_SET), -1, "%s=%s accepted", cases[i].key,
                 cases[i].value);
    HAS(cases[i].want);
    HAS("--set: ");
    HAS(cases[i].key);
  }
  // nothing changed
  cr_assert_eq(tp.batch, 256);
  cr_assert_eq(tp.gamma, 0.99);
}

// ';' starts an INI comment, so a string holding one could not be read back from a manifest
Test(config, strings_cannot_hold_semicolons) {
  cr_assert_eq(set("t.note", "a;b", CFG_SET), -1);
  HAS("cannot contain ';'");
}

Test(config, long_strings_are_refused) {
  char big[PARAM_STR_MAX + 10];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  cr_assert_eq(set("t.note", big, CFG_SET), -1);
  HAS("at most 159 characters");
  big[PARAM_STR_MAX - 1] = 0;   // 159 characters fit
  cr_assert_eq(set("t.note", big, CFG_SET), 0, "%s", err);
}

Test(config, precedence_does_not_depend_on_order) {
  // the flag is queued first, the file last: the flag still wins
  cr_assert_eq(cfg_push(&cfg, "t.batch", "8", CFG_FLAG, "--batch", err, sizeof err), 0);
  cr_assert_eq(cfg_push(&cfg, "t.batch", "16", CFG_SET, "--set", err, sizeof err), 0);
  cr_assert_eq(cfg_push(&cfg, "t.gamma", "0.5", CFG_SET, "--set", err, sizeof err), 0);
  cr_assert_eq(cfg_read_string(&cfg, "[t]\nbatch = 32\ngamma = 0.7\nlr = 0.1\n", "a.ini",
                               CFG_FILE, err, sizeof err), 0);
  cr_assert_eq(cfg_read_string(&cfg, "[t]\nlr = 0.2\nsteps = 5\n", "m.ini", CFG_MANIFEST, err,
                               sizeof err), 0);
  cr_assert_eq(cfg_apply(&cfg, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(tp.batch, 8);      // flag > set > file
  cr_assert_eq(tp.gamma, 0.5);    // set > file
  cr_assert_eq(tp.lr, 0.1);       // file > manifest
  cr_assert_eq(tp.steps, 5);      // manifest > default
  // within a level the later assignment wins
  cr_assert_eq(set("t.batch", "3", CFG_FLAG), 0);
  cr_assert_eq(set("t.batch", "4", CFG_FLAG), 0);
  cr_assert_eq(tp.batch, 4);
}

Test(config, ini_syntax) {
  // comments, blank lines, indentation, ':' separator, inline ';' comment, meta skipped
  cr_assert_eq(ini("; comment\n# another\n\n[meta]\nanything = goes here\n[t]\n"
                   "  batch = 12   ; inline comment\n\tgamma: 0.25\n[meta.deps]\nx = y\n"),
               0, "%s", err);
  cr_assert_eq(tp.batch, 12);
  cr_assert_eq(tp.gamma, 0.25);
}

Test(config, indented_lines_are_not_continuations) {
  // inih would read an indented line as more of the previous value
  cr_assert_eq(ini("[t]\nbatch = 12\n    gamma = 0.5\n"), 0, "%s", err);
  cr_assert_eq(tp.batch, 12);
  cr_assert_eq(tp.gamma, 0.5);
}

Test(config, ini_errors_name_file_and_line) {
  cr_assert_eq(ini("[t]\nbatch = 12\nthis line is wrong\n"), -1);
  HAS("x.ini:3: malformed line");
  cr_assert_eq(tp.batch, 256, "nothing of a bad file applies");

  cr_assert_eq(ini("batch = 3\n"), -1);
  HAS("x.ini:1: 'batch' is outside any section");

  cr_assert_eq(ini("[t]\nbatch = 3\ngamma = 0.1\nbatch = 4\n"), -1);
  HAS("x.ini:4: t.batch is set twice in this file (first on line 2)");

  cr_assert_eq(ini("[t\nbatch = 3\n"), -1);
  HAS("x.ini:1: malformed line");

  char text[400] = "[t]\n; ";
  memset(text + 6, 'c', 250);
  strcpy(text + 256, "\nbatch = 3\n");
  cr_assert_eq(ini(text), -1);
  HAS("x.ini:2: line is longer than 199 characters");

  cr_assert_eq(ini("[t]\n\nbatch = zero\n"), -1);
  HAS("x.ini:3: t.batch: expected an integer in [1, 65536], got 'zero'");

  cr_assert_eq(ini("[t]\ngamma = 0.5 # half\n"), -1);
  HAS("comments in INI files start with ';'");
}

Test(config, unknown_keys_and_sections_suggest) {
  cr_assert_eq(ini("[t]\nbatch_size = 3\n"), -1);
  HAS("x.ini:2: unknown key 'batch_size' in [t]");
  cr_assert_eq(ini("[t]\nbacth = 3\n"), -1);
  HAS("(did you mean 'batch'?)");
  cr_assert_eq(ini("[tt]\nbatch = 3\n"), -1);
  HAS("x.ini:2: unknown section [tt]");   // the line of its first key
  HAS("known sections: [t]");
  HAS("did you mean [t]?");
  cr_assert_eq(set("batch", "3", CFG_SET), -1);
  HAS("keys are written section.key (did you mean t.batch?)");
}

Test(config, missing_file) {
  cr_assert_eq(cfg_read_file(&cfg, "/nonexistent/x.ini", CFG_FILE, err, sizeof err), -1);
  HAS("/nonexistent/x.ini: cannot open: No such file or directory");
}

// a fresh directory for files a test writes, removed by the test
static void tmp_dir(char *d, size_t n) {
  snprintf(d, n, "/tmp/mb_cfg_XXXXXX");
  cr_assert(mkdtemp(d));
}

static void rm_dir(const char *d) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", d);
  cr_assert_eq(system(cmd), 0);
}

// a FIFO with no writer would block a plain fopen forever: the timeout turns that into a failure
Test(config, only_regular_files_are_read, .timeout = 10) {
  char d[64], fifo[96];
  tmp_dir(d, sizeof d);
  snprintf(fifo, sizeof fifo, "%s/fifo.ini", d);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_assert_eq(cfg_read_file(&cfg, fifo, CFG_FILE, err, sizeof err), -1);
  HAS(": not a regular file (a FIFO or pipe)");
  HAS(fifo);
  cr_assert_eq(cfg_read_file(&cfg, "/dev/zero", CFG_FILE, err, sizeof err), -1);
  HAS("/dev/zero: not a regular file (a character device)");
  cr_assert_eq(cfg_read_file(&cfg, d, CFG_FILE, err, sizeof err), -1);
  HAS(": not a regular file (a directory)");
  rm_dir(d);
}

Test(config, files_beyond_the_bound_are_refused) {
  char d[64], big[96];
  tmp_dir(d, sizeof d);
  snprintf(big, sizeof big, "%s/big.ini", d);
  // one byte over 16 MiB, of comment lines: every line is valid, only the size is wrong
  FILE *f = fopen(big, "w");
  cr_assert_not_null(f);
  for (int i = 0; i < (16 << 20) / 64; i++) fprintf(f, ";%62s\n", "");
  fputc('\n', f);
  cr_assert_eq(fclose(f), 0);
  cr_assert_eq(cfg_read_file(&cfg, big, CFG_FILE, err, sizeof err), -1);
  HAS(": larger than 16 MiB, the bound for a config file");
  // exactly at the bound it is read
  cr_assert_eq(truncate(big, 16 << 20), 0);
  cr_assert_eq(cfg_read_file(&cfg, big, CFG_FILE, err, sizeof err), 0, "%s", err);
  rm_dir(d);
}

Test(config, control_characters_are_refused_naming_the_line) {
  cr_assert_eq(ini("[t]\nbatch = 1\x01\n"), -1);
  HAS("x.ini:2: control character 0x01");
  cr_assert_eq(tp.batch, 256, "nothing of a bad file applies");
  cr_assert_eq(ini("[t]\n; \x7f\n"), -1);
  HAS("x.ini:2: control character 0x7f");
  cr_assert_eq(ini("[t]\nbatch = 1\rgamma = 0.5\n"), -1);
  HAS("x.ini:2: control character 0x0d");
  // a NUL, which a C string cannot hold, through the byte reader and from a file
  static const char nul[] = "[t]\nbatch = 12\nname = a\0b\n";
  cr_assert_eq(cfg_read_bytes(&cfg, nul, sizeof nul - 1, "n.ini", CFG_FILE, err, sizeof err), -1);
  HAS("n.ini:3: control character 0x00");
  char d[64], path[96];
  tmp_dir(d, sizeof d);
  snprintf(path, sizeof path, "%s/nul.ini", d);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
  cr_assert_eq(fclose(f), 0);
  cr_assert_eq(cfg_read_file(&cfg, path, CFG_FILE, err, sizeof err), -1);
  HAS(":3: control character 0x00");
  rm_dir(d);
  // tabs and CRLF line ends are text
  cr_assert_eq(ini("[t]\r\nbatch\t=\t12\r\ngamma = 0.5\r\n"), 0, "%s", err);
  cr_assert_eq(tp.batch, 12);
  cr_assert_eq(tp.gamma, 0.5);
}

Test(config, sections_registered_later_get_their_values) {
  UParams up;
  cr_assert_eq(cfg_read_string(&cfg, "[u]\nmass = 2.5\n[t]\nbatch = 7\n", "x.ini", CFG_FILE, err,
                               sizeof err), 0);
  cr_assert_eq(cfg_apply(&cfg, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(tp.batch, 7);
  cr_assert_eq(cfg.npend, 1, "[u] waits for its table");
  u_register(&cfg, "u", &up);
  cr_assert_eq(up.mass, 1.0);
  cr_assert_eq(cfg_apply(&cfg, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(up.mass, 2.5);
}

Test(config, set_default) {
  cfg_set_default(&cfg, "t.batch", "32");
  cr_assert_eq(tp.batch, 32);
  cr_assert_str_eq(cfg_find(&cfg, "t.batch")->def, "32");
}

// a default outside its own range is a programming error
#define BAD_PARAMS(X) X(INT, n, "0", "[1, 2]", "bad")
PARAMS_DEFINE(BadParams, bad_register, BAD_PARAMS)

Test(config, bad_table_aborts, .signal = SIGABRT) {
  BadParams b;
  bad_register(&cfg, "bad", &b);
}

Test(config, format_is_short_and_exact) {
  char buf[64];
  const double xs[] = {0.99, 0.1, 3e-4, 1e-300, 123456789.123456789, 1.0 / 3, -0.0, 1e300};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    tp.gamma = xs[i];
    cfg_format(cfg_find(&cfg, "t.gamma"), buf, sizeof buf);
    cr_assert_eq(strtod(buf, NULL), xs[i], "%s does not read back", buf);
  }
  tp.gamma = 0.99;
  cfg_format(cfg_find(&cfg, "t.gamma"), buf, sizeof buf);
  cr_assert_str_eq(buf, "0.99");
  tp.utility = 2;
  cfg_format(cfg_find(&cfg, "t.utility"), buf, sizeof buf);
  cr_assert_str_eq(buf, "cost");
}

// writing the tables as INI and reading them back gives the same values, bit for bit
Test(config, ini_round_trip) {
  tp.gamma = 1.0 / 3;
  tp.lr = 1e-7;
  tp.batch = 77;
  tp.twin = false;
  tp.utility = 2;
  strcpy(tp.note, "with spaces, = signs and # marks");
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  cfg_write_ini(&cfg, f);
  fclose(f);
  TParams before = tp;
  Config c2;
  TParams t2;
  cfg_init(&c2);
  t_register(&c2, "t", &t2);
  cr_assert_eq(cfg_read_string(&c2, text, "w.ini", CFG_FILE, err, sizeof err), 0, "%s", err);
  cr_assert_eq(cfg_apply(&c2, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(t2.gamma, before.gamma);
  cr_assert_eq(t2.lr, before.lr);
  cr_assert_eq(t2.batch, before.batch);
  cr_assert_eq(t2.twin, before.twin);
  cr_assert_eq(t2.utility, before.utility);
  cr_assert_str_eq(t2.note, before.note);
  cfg_free(&c2);
  free(text);
}

Test(config, changed_lists_non_defaults) {
  char buf[512];
  cr_assert_eq(set("t.steps", "1e3", CFG_SET), 0);   // same value as the default
  cr_assert_eq(set("t.batch", "64", CFG_SET), 0);
  cfg_changed(&cfg, buf, sizeof buf);
  cr_assert_str_eq(buf, "t.batch=64");
}

Test(config, help_lists_every_key) {
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  cfg_print_help(&cfg, f);
  fclose(f);
  cr_assert(strstr(text, "t.batch"));
  cr_assert(strstr(text, "an integer in [1, 65536]; default 256"));
  cr_assert(strstr(text, "one of exp|elite|cost; default exp"));
  cr_assert(strstr(text, "planner utility"));
  free(text);
}

// ---- manifest ----

static char dir[64];
static void mkdir_tmp(void) {
  setup();
  strcpy(dir, "/tmp/mb_test_XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void rm_tmp(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
  teardown();
}
TestSuite(manifest, .init = mkdir_tmp, .fini = rm_tmp);

Test(manifest, written_atomically_and_reads_back_as_config) {
  char path[128], tmp[140];
  char *meta[2][2] = {{"program", "sac"}, {"command", "sac --seed 3\nwith a newline"}};
  snprintf(path, sizeof path, "%s/manifest.ini", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  tp.batch = 99;
  cr_assert_eq(manifest_write(path, &cfg, meta, 2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(access(tmp, F_OK), -1, "temporary file left behind");
  // a fresh table reads it as a config, [meta] skipped
  Config c2;
  TParams t2;
  cfg_init(&c2);
  t_register(&c2, "t", &t2);
  cr_assert_eq(cfg_read_file(&c2, path, CFG_FILE, err, sizeof err), 0, "%s", err);
  cr_assert_eq(cfg_apply(&c2, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(t2.batch, 99);
  cr_assert_eq(manifest_check(path, &c2, err, sizeof err), 0, "%s", err);
  cfg_free(&c2);
}

#define E_PARAMS(X) X(INT, threads, "2", "[0, 64]", "worker threads")
PARAMS_DEFINE(EParams, e_register, E_PARAMS)

// [exec] settings are recorded but a resume may change them
Test(manifest, exec_settings_are_not_compared) {
  char path[128];
  EParams ep;
  e_register(&cfg, "exec", &ep);
  snprintf(path, sizeof path, "%s/manifest.ini", dir);
  cr_assert_eq(manifest_write(path, &cfg, NULL, 0, err, sizeof err), 0, "%s", err);
  ep.threads = 8;
  cr_assert_eq(manifest_check(path, &cfg, err, sizeof err), 0, "%s", err);
  tp.batch = 3;
  cr_assert_eq(manifest_check(path, &cfg, err, sizeof err), -1);
  HAS("1 parameter differs");
}

Test(manifest, check_lists_differences) {
  char path[128];
  snprintf(path, sizeof path, "%s/manifest.ini", dir);
  cr_assert_eq(manifest_write(path, &cfg, NULL, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(manifest_check(path, &cfg, err, sizeof err), 0, "%s", err);
  tp.batch = 64;
  tp.gamma = 0.9;
  cr_assert_eq(manifest_check(path, &cfg, err, sizeof err), -1);
  HAS("2 parameters differ");
  HAS("t.batch: 256 in the run, 64 now");
  HAS("t.gamma: 0.99 in the run, 0.9 now");
  // a parameter the record lacks (added since the run began) is one only away from its default
  UParams up;
  tp.batch = 256, tp.gamma = 0.99;
  u_register(&cfg, "u", &up);
  cr_assert_eq(manifest_check(path, &cfg, err, sizeof err), 0, "%s", err);
  up.mass *= 2;
  cr_assert_eq(manifest_check(path, &cfg, err, sizeof err), -1);
  HAS("u.mass: not in the run's record");
}
