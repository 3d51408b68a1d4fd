// fail: error reporting and exit codes (see fail.h).
#include "fail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char prog[64] = "mirrorbench";

void fail_set_prog(const char *argv0) {
  const char *base = strrchr(argv0, '/');
  base = base ? base + 1 : argv0;
  // libtool-style wrappers name the real binary lt-NAME
  if (strncmp(base, "lt-", 3) == 0) base += 3;
  snprintf(prog, sizeof prog, "%s", base);
}

const char *fail_prog(void) { return prog; }

static void (*exit_hook)(void *);
static void *exit_ctx;
static void (*diverged_hook)(const char *, void *);
static void *diverged_ctx;

void fail_on_exit(void (*fn)(void *), void *ctx) { exit_hook = fn, exit_ctx = ctx; }

void fail_on_diverged(void (*fn)(const char *, void *), void *ctx) {
  diverged_hook = fn, diverged_ctx = ctx;
}

// run the exit hook once (a hook that fails must not loop back into itself)
static _Noreturn void leave(int code) {
  void (*fn)(void *) = exit_hook;
  exit_hook = NULL;
  if (fn) fn(exit_ctx);
  exit(code);
}

static void vreport(const char *tag, const char *fmt, va_list ap) {
  fprintf(stderr, "%s: %s", prog, tag);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void fail_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("", fmt, ap);
  va_end(ap);
  fprintf(stderr, "Try '%s --help' for more information.\n", prog);
  leave(EXIT_USAGE);
}

void fail_run(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("", fmt, ap);
  va_end(ap);
  leave(EXIT_RUN);
}

void fail_diverged(const char *fmt, ...) {
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  for (char *s = what; *s; s++)   // one line in the marker
    if (*s == '\n' || *s == '\r') *s = ' ';
  void (*fn)(const char *, void *) = diverged_hook;
  diverged_hook = NULL;
  if (fn) fn(what, diverged_ctx);   // reports and writes the marker
  else fprintf(stderr, "%s: diverged: %s\n", prog, what);
  leave(EXIT_RUN);
}

void fail_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("warning: ", fmt, ap);
  va_end(ap);
}

int fail_msg(char *err, size_t errsz, const char *fmt, ...) {
  if (err && errsz) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static void *checked(void *p, size_t n, size_t size, const char *what) {
  if (!p && n && size)
    fail_run("out of memory: cannot allocate %zu x %zu bytes for %s", n, size, what);
  return p;
}

void *xmalloc(size_t n, size_t size, const char *what) {
  if (size && n > (size_t)-1 / size)
    fail_run("cannot allocate %zu x %zu bytes for %s: size overflows", n, size, what);
  size_t bytes = n * size;
  return checked(malloc(bytes ? bytes : 1), n, size, what);
}

void *xcalloc(size_t n, size_t size, const char *what) {
  if (size && n > (size_t)-1 / size)
    fail_run("cannot allocate %zu x %zu bytes for %s: size overflows", n, size, what);
  return checked(calloc(n ? n : 1, size ? size : 1), n, size, what);
}
