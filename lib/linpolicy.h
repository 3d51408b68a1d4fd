// linpolicy: a linear policy on normalised observations (what ARS learns), and its text file.
//
// The action for an observation x (O) is
//   a_i = sum_j M[i][j] * y_j,   y_j = (x_j - mean_j) / std_j           (i < A, j < O)
// summed over j in order, then clipped to [low_i, high_i] when clip is set. mean and std come from
// the normaliser: std_j = sqrt(m2_j / (count - 1)), or 1 where that variance is below 1e-16 or
// count < 2 (norm_std). A normaliser that has seen nothing (count 0, mean 0) is the identity, so
// one representation serves ARS V1 (never updated) and V2 (updated from training states).
//
// File format, version 1 (UTF-8 text; `linpolicy_save` writes exactly this, numbers as %.17g, so
// a save/load round trip is bit-exact):
//
//   mirrorbench-linear-policy 1          first line, exactly: the format and its version
//   task HalfCheetah                     the task it was trained on (no spaces)
//   obs 17                               O, observation dimension
//   act 6                                A, action dimension
//   clip no                              yes: clip each action to [low, high]; no: as computed
//   low -1 -1 -1 -1 -1 -1                A numbers: the task's action bounds (may be -inf / inf)
//   high 1 1 1 1 1 1                     A numbers, high >= low
//   count 123456                         observations the normaliser has seen (>= 0)
//   mean 0.1 ...                         O finite numbers
//   m2 12.5 ...                          O finite numbers >= 0: sums of squared deviations
//   M 0.01 ...                           A lines, row i of M: O finite numbers each
//   checksum 0123456789abcdef            optional, the last line: digest_bytes (digest.h) of every
//                                        byte of the file before this line, 16 hex digits
//
// Keys come in this order, one per line, values separated by spaces or tabs. Blank lines and
// text after '#' are ignored (after the first line). Anything else, a missing or extra value, a
// line after the last row of M (other than the checksum line), or a control character other than
// tab or the \r of a CRLF line end is refused with "FILE:LINE: what".
//
// The checksum is verified before anything else is read: a file changed or damaged after it was
// written is refused with "FILE: checksum mismatch: ..." (recorded and computed sums). A file
// without the line (written by hand, or by a build before checksums were added) is accepted, as
// before: the library prints nothing, and sets `checksum` to 0 so that a caller may warn. The
// checksum line is not part of the format's version: files with it are still version 1, and
// earlier builds refuse them ("unexpected 'checksum' after the last row of M").
//
// Only a regular file of at most 16 MiB is read (infile.h): a device, a FIFO or a directory is
// refused before reading, with "FILE: not a regular file (...)".
#ifndef MB_LINPOLICY_H
#define MB_LINPOLICY_H

#include <stddef.h>
#include <stdio.h>

#include "normalizer.h"

#define LINPOLICY_MAGIC "mirrorbench-linear-policy"
#define LINPOLICY_VERSION 1
#define LINPOLICY_TASK_MAX 64

typedef struct {
  char task[LINPOLICY_TASK_MAX];   // the task it was trained on
  int obs_dim, act_dim;            // O, A
  double *m;                       // (A, O) row-major: row i gives action i
  Normalizer norm;                 // (O) observation statistics
  double *std;                     // (O) norm_std(&norm), kept current by linpolicy_sync
  int clip;                        // clip actions to [low, high]
  double *low, *high;              // (A) action bounds
  int checksum;                    // loaded from a file whose checksum line was verified (1), or
                                   // from a file without one (0); ignored by writing
} LinPolicy;

// M = 0, an empty normaliser (identity), no clipping, bounds (-inf, inf).
int linpolicy_init(LinPolicy *p, const char *task, int obs_dim, int act_dim, char *err,
                   size_t errsz);
void linpolicy_free(LinPolicy *p);

// dst (initialised with the same dimensions) becomes a copy of src.
void linpolicy_copy(LinPolicy *dst, const LinPolicy *src);

// Recompute the cached std after p->norm changed (loading does it).
void linpolicy_sync(LinPolicy *p);

// act (A) for obs (O) with the policy's own matrix.
void linpolicy_act(const LinPolicy *p, const double *obs, double *act);

// The same map with another matrix m (A, O) (e.g. a perturbed M); p is only read, so any number
// of threads may share it.
void linpolicy_act_with(const LinPolicy *p, const double *m, const double *obs, double *act);

// linpolicy_act as a PolicyFn (episodes.h): ctx is the LinPolicy.
void linpolicy_fn(void *ctx, const double *obs, double *act);

// Write the file format to f, checksum line included. Returns 0, or -1 if writing failed.
int linpolicy_write(const LinPolicy *p, FILE *f);

// Read the file format from f (to its end, at most 16 MiB) into p (uninitialised on entry;
// initialised only on success). `name` stands for the file in messages. Returns 0 or -1 with
// "NAME:LINE: ..." in err.
int linpolicy_read(LinPolicy *p, FILE *f, const char *name, char *err, size_t errsz);

// The same from the n bytes at data (which may hold anything, NULs included).
int linpolicy_parse(LinPolicy *p, const char *data, size_t n, const char *name, char *err,
                    size_t errsz);

// Save atomically to path (path.tmp, fsync, rename) / load from path.
int linpolicy_save(const LinPolicy *p, const char *path, char *err, size_t errsz);
int linpolicy_load(LinPolicy *p, const char *path, char *err, size_t errsz);

// 1 if the first line of the file at path names this format (any version), else 0 (also for
// anything but a regular file, which is not read).
int linpolicy_sniff(const char *path);

// Does the policy fit `task` with these dimensions? 0, or -1 with a message saying what differs.
int linpolicy_check(const LinPolicy *p, const char *task, int obs_dim, int act_dim, char *err,
                    size_t errsz);

#endif
