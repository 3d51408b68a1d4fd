// fail: error reporting and exit codes shared by every program.
//
// Messages follow `prog: what: why` on stderr. Exit codes: 0 ok, 1 the run failed, 2 usage or
// configuration error. Library code reports recoverable errors through (err, errsz) buffers and
// leaves exiting to the program; only allocation failure, divergence and broken invariants exit
// from here.
#ifndef MB_FAIL_H
#define MB_FAIL_H

#include <stddef.h>

enum { EXIT_OK = 0, EXIT_RUN = 1, EXIT_USAGE = 2 };

// Set the program name used in messages (the basename of argv0).
void fail_set_prog(const char *argv0);

// The program name set by fail_set_prog ("mirrorbench" before that).
const char *fail_prog(void);

// Print "prog: message" and a hint to try --help, then exit 2.
_Noreturn void fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Print "prog: message" and exit 1.
_Noreturn void fail_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Divergence: a parameter, loss or value became NaN or infinite, so the run cannot go on and
// nothing it would report is a result. Calls the divergence hook with the message (the run
// harness prints it with the step and writes the run's DIVERGED marker), then exits 1.
_Noreturn void fail_diverged(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Hooks (one each; a later call replaces it, NULL removes it). The exit hook runs once before
// fail_usage, fail_run, fail_diverged or a failed allocation exits (the harness uses it to
// remove a run directory that never started). The divergence hook gets fail_diverged's message.
void fail_on_exit(void (*fn)(void *), void *ctx);
void fail_on_diverged(void (*fn)(const char *what, void *), void *ctx);

// Print "prog: warning: message" and go on.
void fail_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Format into an error buffer (snprintf that tolerates err == NULL); returns -1, so that
// `return fail_msg(...)` reports an error.
int fail_msg(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Allocation that never returns NULL: on failure prints the size and what it was for, exits 1.
// The product n*size is checked for overflow.
void *xmalloc(size_t n, size_t size, const char *what);
void *xcalloc(size_t n, size_t size, const char *what);

#endif
