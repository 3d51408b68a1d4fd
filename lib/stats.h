// stats: summary statistics and interval estimates for results over seeds (rliable's protocol).
#ifndef MB_STATS_H
#define MB_STATS_H

#include <stddef.h>
#include "rng.h"

typedef double (*StatFn)(const double *x, size_t n);

double stats_mean(const double *x, size_t n);

// Sample standard deviation (n - 1 in the denominator); 0 when n < 2.
double stats_std(const double *x, size_t n);

// Quantile q in [0, 1] of sorted data by linear interpolation between order statistics
// (numpy's default 'linear' method): position q * (n - 1).
double stats_quantile_sorted(const double *sorted, size_t n, double q);

// Interquartile mean: the mean after dropping floor(n / 4) values from each end of the sorted data
// (scipy.stats.trim_mean(x, 0.25), as rliable computes IQM).
double stats_iqm(const double *x, size_t n);

// Sort ascending in place.
void stats_sort(double *x, size_t n);

typedef struct {
  double point;   // statistic of the data itself
  double lo, hi;  // percentile interval
} Interval;

// Stratified bootstrap: x holds S strata one after another (stratum s has n[s] >= 1 values, e.g.
// the seeds of task s). Each of `reps` replicates resamples every stratum with replacement within
// itself and applies `stat` to the concatenation; the interval is the ((1-conf)/2, (1+conf)/2)
// percentiles of the replicates (linear interpolation). Returns 0, or -1 on bad arguments.
int stats_bootstrap(Interval *out, const double *x, const size_t *n, size_t S, StatFn stat,
                    int reps, double conf, Rng *r);

#endif
