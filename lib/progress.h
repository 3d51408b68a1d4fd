// progress: one status line on stderr for long runs.
//
// On a terminal the line is redrawn in place (at most 4 times a second). Elsewhere (logs, CI) it is
// off by default; with PROGRESS_ALWAYS a plain line is printed at most every 30 seconds and once at
// the end. The line shows step/total, percent, steps per second, ETA and the last evaluation
// return.
#ifndef MB_PROGRESS_H
#define MB_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef enum { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } ProgressMode;

typedef struct {
  FILE *out;
  int enabled;       // 0 for NEVER, and for AUTO when out is not a terminal
  int tty;           // redraw in place
  const char *label;
  int64_t total, start;   // total steps; step at which timing started (resume)
  double t0, t_last;      // monotonic seconds: start, last print
  int64_t step;
  double last_eval;
  int has_eval;
  int width;              // characters of the last in-place line (to clear it)
} Progress;

// Monotonic clock in seconds.
double progress_now(void);

// AUTO: only on a terminal. ALWAYS: also elsewhere, as plain periodic lines. NEVER: silent.
// `start` is the step the run starts (or resumes) from; rates count from there.
void progress_init(Progress *p, FILE *out, ProgressMode mode, const char *label, int64_t total,
                   int64_t start);

// Report the current step; prints if it is time to.
void progress_update(Progress *p, int64_t step);

// Same with an explicit clock reading (tests).
void progress_update_at(Progress *p, int64_t step, double now);

// Record the latest evaluation return for the line.
void progress_eval(Progress *p, double ret);

// Print the final line (and end the in-place line with a newline).
void progress_finish(Progress *p);

// Format the status line into buf (steps per second and ETA from the clock reading `now`).
int progress_format(const Progress *p, double now, char *buf, size_t n);

#endif
