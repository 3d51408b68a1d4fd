// Tests of progress: the status line, its pacing, and silence when off.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

Test(progress, line_shows_rate_eta_and_eval) {
  Progress p;
  char line[256];
  progress_init(&p, stderr, PROGRESS_NEVER, "sac", 1000, 200);
  p.t0 = 10.0;
  p.step = 400;
  progress_format(&p, 20.0, line, sizeof line);
  // 200 steps in 10 s: 20 steps/s; 600 steps left: 30 s
  cr_assert_str_eq(line, "sac: step 400/1000 (40%)  20 steps/s  ETA 30s");
  progress_eval(&p, 1234.5);
  p.step = 200 + 20 * 125;   // past the total: ETA cannot be negative
  p.total = 100000;
  progress_format(&p, 135.0, line, sizeof line);
  cr_assert_str_eq(line, "sac: step 2700/100000 (3%)  20 steps/s  ETA 1h21m  eval 1234.5");
}

// read what a progress line printed into a file
static void capture(ProgressMode mode, char *buf, size_t n) {
  FILE *f = tmpfile();
  cr_assert(f);
  Progress p;
  progress_init(&p, f, mode, "x", 100, 0);
  double t = p.t0;
  for (int s = 1; s <= 100; s++) progress_update_at(&p, s, t + s);   // one step per second
  progress_finish(&p);
  rewind(f);
  size_t got = fread(buf, 1, n - 1, f);
  buf[got] = 0;
  fclose(f);
}

static int count(const char *s, char c) {
  int n = 0;
  for (; *s; s++) n += *s == c;
  return n;
}

Test(progress, not_a_terminal) {
  char buf[4096];
  capture(PROGRESS_AUTO, buf, sizeof buf);
  cr_assert_str_eq(buf, "", "auto is silent off a terminal");
  capture(PROGRESS_NEVER, buf, sizeof buf);
  cr_assert_str_eq(buf, "");
  // always: plain lines every 30 s (at 30, 60, 90) and the final one, no carriage returns
  capture(PROGRESS_ALWAYS, buf, sizeof buf);
  cr_assert_eq(count(buf, '\n'), 4, "%s", buf);
  cr_assert_eq(count(buf, '\r'), 0);
  cr_assert(strstr(buf, "x: step 30/100 (30%)"), "%s", buf);
  cr_assert(strstr(buf, "x: step 100/100 (100%)"), "%s", buf);
}
