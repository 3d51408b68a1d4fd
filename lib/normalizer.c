// normalizer: running per-dimension mean and variance, mergeable (see normalizer.h).
#include "normalizer.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

int norm_init(Normalizer *z, int dim, char *err, size_t errsz) {
  memset(z, 0, sizeof *z);
  if (dim < 1) return fail_msg(err, errsz, "normalizer: dimension %d (at least 1 needed)", dim);
  z->dim = dim;
  z->mean = xcalloc((size_t)dim, sizeof *z->mean, "normalizer mean");
  z->m2 = xcalloc((size_t)dim, sizeof *z->m2, "normalizer m2");
  return 0;
}

void norm_free(Normalizer *z) {
  free(z->mean);
  free(z->m2);
  memset(z, 0, sizeof *z);
}

void norm_reset(Normalizer *z) {
  z->count = 0;
  memset(z->mean, 0, (size_t)z->dim * sizeof *z->mean);
  memset(z->m2, 0, (size_t)z->dim * sizeof *z->m2);
}

void norm_update(Normalizer *z, const double *x) {
  z->count++;
  double inv = 1.0 / (double)z->count;
  for (int d = 0; d < z->dim; d++) {
    double delta = x[d] - z->mean[d];
    z->mean[d] += delta * inv;
    z->m2[d] += delta * (x[d] - z->mean[d]);
  }
}

// fold (nb, mean_b, m2_b) into z (Chan et al.)
static void merge_stats(Normalizer *z, int64_t nb, const double *mean_b, const double *m2_b) {
  if (nb == 0) return;
  if (z->count == 0) {
    z->count = nb;
    memcpy(z->mean, mean_b, (size_t)z->dim * sizeof *z->mean);
    memcpy(z->m2, m2_b, (size_t)z->dim * sizeof *z->m2);
    return;
  }
  double na = (double)z->count, nbd = (double)nb, n = na + nbd;
  double wb = nbd / n, wab = na * nbd / n;
  for (int d = 0; d < z->dim; d++) {
    double delta = mean_b[d] - z->mean[d];
    z->mean[d] += delta * wb;
    z->m2[d] += m2_b[d] + delta * delta * wab;
  }
  z->count += nb;
}

void norm_update_batch(Normalizer *z, const double *x, size_t n) {
  if (n == 0) return;
  size_t dim = (size_t)z->dim;
  double *mean = xcalloc(dim, sizeof *mean, "normalizer batch");   // (dim)
  double *m2 = xcalloc(dim, sizeof *m2, "normalizer batch");       // (dim)
  // two passes over the rows: the mean, then squared deviations from it (exact up to rounding,
  // however large the offset of the data)
  for (size_t i = 0; i < n; i++)
    for (size_t d = 0; d < dim; d++) mean[d] += x[i * dim + d];
  for (size_t d = 0; d < dim; d++) mean[d] /= (double)n;
  for (size_t i = 0; i < n; i++) {
    for (size_t d = 0; d < dim; d++) {
      double dev = x[i * dim + d] - mean[d];
      m2[d] += dev * dev;
    }
  }
  merge_stats(z, (int64_t)n, mean, m2);
  free(mean);
  free(m2);
}

void norm_merge(Normalizer *dst, const Normalizer *src) {
  assert(dst->dim == src->dim);
  merge_stats(dst, src->count, src->mean, src->m2);
}

void norm_var(const Normalizer *z, double *var) {
  for (int d = 0; d < z->dim; d++)
    var[d] = z->count < 2 ? 0.0 : z->m2[d] / (double)(z->count - 1);
}

void norm_std(const Normalizer *z, double *std) {
  norm_var(z, std);
  for (int d = 0; d < z->dim; d++) std[d] = z->count < 2 || std[d] < 1e-16 ? 1.0 : sqrt(std[d]);
}

void norm_apply(const Normalizer *z, const double *x, double *y, size_t n) {
  size_t dim = (size_t)z->dim;
  double *inv = xmalloc(dim, sizeof *inv, "normalizer scale");   // (dim)
  norm_std(z, inv);
  for (size_t d = 0; d < dim; d++) inv[d] = 1.0 / inv[d];
  for (size_t i = 0; i < n; i++)
    for (size_t d = 0; d < dim; d++) y[i * dim + d] = (x[i * dim + d] - z->mean[d]) * inv[d];
  free(inv);
}

void norm_copy(Normalizer *dst, const Normalizer *src) {
  if (dst == src) return;
  // dst may be zeroed or hold another dimension: give it src's
  if (dst->dim != src->dim || !dst->mean) {
    free(dst->mean);
    free(dst->m2);
    dst->dim = src->dim;
    dst->mean = xmalloc((size_t)src->dim, sizeof *dst->mean, "normalizer mean");
    dst->m2 = xmalloc((size_t)src->dim, sizeof *dst->m2, "normalizer m2");
  }
  dst->count = src->count;
  memcpy(dst->mean, src->mean, (size_t)src->dim * sizeof *dst->mean);
  memcpy(dst->m2, src->m2, (size_t)src->dim * sizeof *dst->m2);
}

// dimension, sample count, mean and m2 (dim each) through the given places
static int fields(int64_t *dim, int64_t *count, double *mean, double *m2, size_t bytes,
                  CkptField f[4]) {
  f[0] = (CkptField){"dim", dim, sizeof *dim};
  f[1] = (CkptField){"count", count, sizeof *count};
  f[2] = (CkptField){"mean", mean, bytes};
  f[3] = (CkptField){"m2", m2, bytes};
  return 4;
}

void norm_save(const Normalizer *z, CkptWriter *w, const char *prefix) {
  int64_t dim = z->dim, count = z->count;
  CkptField f[4];
  size_t bytes = (size_t)z->dim * sizeof(double);
  ckpt_put_fields(w, prefix, f, fields(&dim, &count, z->mean, z->m2, bytes, f));
}

int norm_load(Normalizer *z, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  int64_t dim, count;
  CkptField f[4];
  // read into scratch first so a failed load leaves z as it was
  size_t bytes = (size_t)z->dim * sizeof(double);
  double *mean = xmalloc((size_t)z->dim, sizeof *mean, "normalizer mean");   // (dim)
  double *m2 = xmalloc((size_t)z->dim, sizeof *m2, "normalizer m2");         // (dim)
  fields(&dim, &count, mean, m2, bytes, f);
  int rc = -1;
  // the dimension first, for a message that names it
  if (ckpt_get_fields(r, prefix, f, 1, err, errsz)) goto out;
  if (dim != z->dim) {
    fail_msg(err, errsz, "normalizer '%s': the checkpoint has dimension %lld, this run %d", prefix,
             (long long)dim, z->dim);
    goto out;
  }
  if (ckpt_get_fields(r, prefix, f + 1, 3, err, errsz)) goto out;
  if (count < 0) {
    fail_msg(err, errsz, "normalizer '%s': sample count %lld in the checkpoint", prefix,
             (long long)count);
    goto out;
  }
  z->count = count;
  memcpy(z->mean, mean, bytes);
  memcpy(z->m2, m2, bytes);
  rc = 0;
out:
  free(mean);
  free(m2);
  return rc;
}
