// stats: summary statistics and the stratified bootstrap (see stats.h).
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

double stats_mean(const double *x, size_t n) {
  if (n == 0) return NAN;
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += x[i];
  return s / (double)n;
}

double stats_std(const double *x, size_t n) {
  if (n < 2) return 0.0;
  // two passes: squared deviations from the mean lose nothing to a large common offset
  double m = stats_mean(x, n), s = 0.0;
  for (size_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
  return sqrt(s / (double)(n - 1));
}

double stats_quantile_sorted(const double *sorted, size_t n, double q) {
  if (n == 0 || isnan(q)) return NAN;
  if (q <= 0.0) return sorted[0];
  if (q >= 1.0) return sorted[n - 1];
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  double frac = pos - (double)i;
  // an exact order statistic needs no neighbour (and stays finite next to an infinity)
  if (frac == 0.0 || i + 1 >= n) return sorted[i];
  return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

// ascending, NaN last (as numpy sorts)
static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  if (isnan(a) || isnan(b)) return (isnan(a) != 0) - (isnan(b) != 0);
  return (a > b) - (a < b);
}

void stats_sort(double *x, size_t n) {
  if (n > 1) qsort(x, n, sizeof *x, cmp_double);
}

double stats_iqm(const double *x, size_t n) {
  if (n == 0) return NAN;
  double *s = xmalloc(n, sizeof *s, "interquartile mean");   // (n)
  memcpy(s, x, n * sizeof *s);
  stats_sort(s, n);
  size_t cut = n / 4;   // scipy's trim_mean cuts int(0.25 * n) from each end
  double m = stats_mean(s + cut, n - 2 * cut);
  free(s);
  return m;
}

int stats_bootstrap(Interval *out, const double *x, const size_t *n, size_t S, StatFn stat,
                    int reps, double conf, Rng *r) {
  if (!out || !x || !n || S == 0 || !stat || reps < 1 || !(conf > 0.0 && conf < 1.0) || !r)
    return -1;
  size_t total = 0;
  for (size_t s = 0; s < S; s++) {
    if (n[s] == 0) return -1;
    total += n[s];
  }
  double *buf = xmalloc(total, sizeof *buf, "bootstrap resample");     // (total)
  double *rep = xmalloc((size_t)reps, sizeof *rep, "bootstrap replicates");   // (reps)
  for (int b = 0; b < reps; b++) {
    // each stratum draws only from itself, so every replicate keeps the design (seeds per task)
    size_t off = 0;
    for (size_t s = 0; s < S; s++) {
      for (size_t j = 0; j < n[s]; j++) buf[off + j] = x[off + rng_below(r, n[s])];
      off += n[s];
    }
    rep[b] = stat(buf, total);
  }
  stats_sort(rep, (size_t)reps);
  out->point = stat(x, total);
  out->lo = stats_quantile_sorted(rep, (size_t)reps, 0.5 * (1.0 - conf));
  out->hi = stats_quantile_sorted(rep, (size_t)reps, 0.5 * (1.0 + conf));
  free(rep);
  free(buf);
  return 0;
}
