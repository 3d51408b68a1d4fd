// normalizer: running mean and variance per dimension (Welford), mergeable (Chan et al.'s
// parallel form), for observation normalisation. Statistics are kept in double.
#ifndef MB_NORMALIZER_H
#define MB_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>
#include "checkpoint.h"

typedef struct {
  int dim;
  int64_t count;   // samples seen
  double *mean;    // (dim)
  double *m2;      // (dim) sum of squared deviations from the mean
} Normalizer;

int norm_init(Normalizer *z, int dim, char *err, size_t errsz);
void norm_free(Normalizer *z);
void norm_reset(Normalizer *z);

// Add one sample x (dim).
void norm_update(Normalizer *z, const double *x);

// Add n samples x (n, dim): their mean and m2 are computed in two passes (mean, then squared
// deviations) and merged.
void norm_update_batch(Normalizer *z, const double *x, size_t n);

// dst <- statistics of the union of the samples of dst and src (same dim).
void norm_merge(Normalizer *dst, const Normalizer *src);

// Sample variance m2 / (count - 1) per dimension (0 when count < 2).
void norm_var(const Normalizer *z, double *var);

// Standard deviation used for normalising: sqrt(var), or 1 where var < 1e-16 or count < 2
// (a dimension that never moved passes through centred, not blown up).
void norm_std(const Normalizer *z, double *std);

// y = (x - mean) / std, n rows of dim (y may equal x).
void norm_apply(const Normalizer *z, const double *x, double *y, size_t n);

// dst (initialised by norm_init, or zeroed) becomes a copy of src, taking src's dim.
void norm_copy(Normalizer *dst, const Normalizer *src);

// Save / restore as fields PREFIX.dim, .count, .mean, .m2; load refuses another dim.
void norm_save(const Normalizer *z, CkptWriter *w, const char *prefix);
int norm_load(Normalizer *z, CkptReader *r, const char *prefix, char *err, size_t errsz);

#endif
