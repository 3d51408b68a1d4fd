// progress: one status line on stderr (see progress.h).
#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(Progress *p, FILE *out, ProgressMode mode, const char *label, int64_t total,
                   int64_t start) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->tty = isatty(fileno(out));
  p->enabled = mode == PROGRESS_ALWAYS || (mode == PROGRESS_AUTO && p->tty);
  p->label = label;
  p->total = total;
  p->start = p->step = start;
  p->t0 = p->t_last = progress_now();
}

// "1h02m", "3m05s", "42s"
static void fmt_duration(double s, char *buf, size_t n) {
  long t = (long)(s + 0.5);
  if (s < 0 || s > 1e8) snprintf(buf, n, "?");
  else if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, n, "%lds", t);
}

int progress_format(const Progress *p, double now, char *buf, size_t n) {
  double dt = now - p->t0, done = (double)(p->step - p->start);
  double rate = dt > 0 ? done / dt : 0;
  char eta[32], ev[48] = "";
  fmt_duration(rate > 0 ? (double)(p->total - p->step) / rate : -1, eta, sizeof eta);
  if (p->has_eval) snprintf(ev, sizeof ev, "  eval %.6g", p->last_eval);
  return snprintf(buf, n, "%s: step %lld/%lld (%.0f%%)  %.0f steps/s  ETA %s%s", p->label,
                  (long long)p->step, (long long)p->total,
                  p->total ? 100.0 * (double)p->step / (double)p->total : 0.0, rate, eta, ev);
}

static void print(Progress *p, double now, int final) {
  char line[256];
  int len = progress_format(p, now, line, sizeof line);
  if (p->tty) {
    // redraw in place, blanking what is left of a longer previous line
    int pad = p->width > len ? p->width - len : 0;
    fprintf(p->out, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
    p->width = len;
  } else {
    fprintf(p->out, "%s\n", line);
  }
  fflush(p->out);
  p->t_last = now;
}

void progress_update_at(Progress *p, int64_t step, double now) {
  p->step = step;
  if (!p->enabled) return;
  if (now - p->t_last >= (p->tty ? 0.25 : 30.0)) print(p, now, 0);
}

void progress_update(Progress *p, int64_t step) {
  if (p->enabled) progress_update_at(p, step, progress_now());
  else p->step = step;
}

void progress_eval(Progress *p, double ret) {
  p->last_eval = ret;
  p->has_eval = 1;
}

void progress_finish(Progress *p) {
  if (p->enabled) print(p, progress_now(), 1);
}
