// replay: ring buffer of transitions for off-policy learning and model fitting.
//
// Rows hold (obs, act, rew, next_obs, terminated, truncated) in float32; terminated (the task
// ended: no bootstrap) and truncated (time limit or divergence: bootstrap) are kept apart. Memory
// is allocated once for the capacity; indices are size_t, so 1e6 rows of 400-dim observations
// (about 3.2 GB) are fine.
#ifndef MB_REPLAY_H
#define MB_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include "checkpoint.h"
#include "rng.h"

typedef struct {
  size_t cap;           // capacity in rows
  size_t size;          // filled rows (<= cap)
  size_t next;          // slot the next row is written to
  int obs_dim, act_dim; // O, A
  float *obs;           // (cap, O)
  float *act;           // (cap, A)
  float *rew;           // (cap)
  float *next_obs;      // (cap, O)
  uint8_t *term;        // (cap) 1 if the episode terminated at this transition
  uint8_t *trunc;       // (cap) 1 if it was cut off (time limit) at this transition
} Replay;

// A minibatch in float arrays; term and trunc as 0/1 floats for arithmetic.
typedef struct {
  int B;                // rows allocated
  float *obs, *act, *rew, *next_obs, *term, *trunc;   // (B, O), (B, A), (B), (B, O), (B), (B)
} ReplayBatch;

// Returns 0, or -1 with a message (sizes, or memory) in err.
int replay_init(Replay *rb, size_t cap, int obs_dim, int act_dim, char *err, size_t errsz);
void replay_free(Replay *rb);

// Add one transition, overwriting the oldest row when full.
void replay_add(Replay *rb, const double *obs, const double *act, double rew,
                const double *next_obs, int terminated, int truncated);

// Slot of the i-th oldest stored row, i < size.
size_t replay_slot(const Replay *rb, size_t i);

int replay_batch_init(ReplayBatch *b, int B, int obs_dim, int act_dim, char *err, size_t errsz);
void replay_batch_free(ReplayBatch *b);

// The rows first..b->B-1 of b as a batch of their own (no copy: it points into b), e.g. to fill
// one batch from two buffers.
ReplayBatch replay_batch_tail(const ReplayBatch *b, int first, int obs_dim, int act_dim);

// Draw B rows uniformly with replacement from the stored rows (size >= 1) into out: row i is the
// slot replay_slot(rb, rng_below(r, size)).
void replay_sample(const Replay *rb, Rng *r, int B, ReplayBatch *out);

// Copy the rows at the given slots into out (B <= out->B).
void replay_gather(const Replay *rb, const size_t *slots, int B, ReplayBatch *out);

// Save / restore the whole buffer (only the filled rows are written, oldest first). Load checks
// that capacity and dimensions match and puts the rows in slots 0..size-1, so replay_slot order
// and samples are unchanged. Tags are prefixed with `prefix`.
void replay_save(const Replay *rb, CkptWriter *w, const char *prefix);
int replay_load(Replay *rb, CkptReader *r, const char *prefix, char *err, size_t errsz);

#endif
