// replay: float32 ring buffer of transitions (see replay.h).
#include "replay.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fail.h"

static void *alloc(size_t bytes) { return malloc(bytes ? bytes : 1); }

int replay_init(Replay *rb, size_t cap, int obs_dim, int act_dim, char *err, size_t errsz) {
  memset(rb, 0, sizeof *rb);
  if (cap < 1) return fail_msg(err, errsz, "replay buffer: capacity 0 (at least 1 row needed)");
  if (obs_dim < 1 || act_dim < 0)
    return fail_msg(err, errsz, "replay buffer: observation size %d, action size %d", obs_dim,
                    act_dim);
  size_t O = (size_t)obs_dim, A = (size_t)act_dim;
  // bytes per row: obs and next_obs, act, rew in float; two flags
  size_t per_row = (2 * O + A + 1) * sizeof(float) + 2;
  if (cap > (size_t)-1 / per_row)
    return fail_msg(err, errsz, "replay buffer: %zu rows of %zu bytes overflow the address space",
                    cap, per_row);
  rb->cap = cap;
  rb->obs_dim = obs_dim;
  rb->act_dim = act_dim;
  // malloc, not calloc: pages are touched only when rows are written. A capacity too large for
  // memory is the user's error, so it is reported, not an exit. Separate arrays let the sanitizers
  // catch a row overrun.
  int ok = (rb->obs = alloc(cap * O * sizeof(float))) &&
           (rb->act = alloc(cap * A * sizeof(float))) && (rb->rew = alloc(cap * sizeof(float))) &&
           (rb->next_obs = alloc(cap * O * sizeof(float))) && (rb->term = alloc(cap)) &&
           (rb->trunc = alloc(cap));
  if (!ok) {
    replay_free(rb);
    return fail_msg(err, errsz, "replay buffer: cannot allocate %zu bytes (%zu rows of %zu bytes): "
                    "out of memory", cap * per_row, cap, per_row);
  }
  return 0;
}

void replay_free(Replay *rb) {
  free(rb->obs);
  free(rb->act);
  free(rb->rew);
  free(rb->next_obs);
  free(rb->term);
  free(rb->trunc);
  memset(rb, 0, sizeof *rb);
}

void replay_add(Replay *rb, const double *obs, const double *act, double rew,
                const double *next_obs, int terminated, int truncated) {
  size_t O = (size_t)rb->obs_dim, A = (size_t)rb->act_dim, s = rb->next;
  float *o = rb->obs + s * O, *a = rb->act + s * A, *no = rb->next_obs + s * O;
  for (size_t j = 0; j < O; j++) o[j] = (float)obs[j];
  for (size_t j = 0; j < A; j++) a[j] = (float)act[j];
  for (size_t j = 0; j < O; j++) no[j] = (float)next_obs[j];
  rb->rew[s] = (float)rew;
  rb->term[s] = terminated != 0;
  rb->trunc[s] = truncated != 0;
  rb->next = s + 1 == rb->cap ? 0 : s + 1;
  if (rb->size < rb->cap) rb->size++;
}

size_t replay_slot(const Replay *rb, size_t i) {
  assert(i < rb->size);
  // the oldest row sits `size` slots behind `next`
  size_t start = rb->next >= rb->size ? rb->next - rb->size : rb->next + rb->cap - rb->size;
  size_t s = start + i;
  return s >= rb->cap ? s - rb->cap : s;
}

int replay_batch_init(ReplayBatch *b, int B, int obs_dim, int act_dim, char *err, size_t errsz) {
  memset(b, 0, sizeof *b);
  if (B < 1 || obs_dim < 1 || act_dim < 0)
    return fail_msg(err, errsz, "replay batch: %d rows, observation size %d, action size %d", B,
                    obs_dim, act_dim);
  size_t n = (size_t)B, O = (size_t)obs_dim, A = (size_t)act_dim;
  b->B = B;
  b->obs = xmalloc(n * O, sizeof(float), "replay batch");
  b->act = xmalloc(n * A, sizeof(float), "replay batch");
  b->rew = xmalloc(n, sizeof(float), "replay batch");
  b->next_obs = xmalloc(n * O, sizeof(float), "replay batch");
  b->term = xmalloc(n, sizeof(float), "replay batch");
  b->trunc = xmalloc(n, sizeof(float), "replay batch");
  return 0;
}

void replay_batch_free(ReplayBatch *b) {
  free(b->obs);
  free(b->act);
  free(b->rew);
  free(b->next_obs);
  free(b->term);
  free(b->trunc);
  memset(b, 0, sizeof *b);
}

// copy the row at slot s into row i of out
static void copy_row(const Replay *rb, size_t s, ReplayBatch *out, size_t i) {
  size_t O = (size_t)rb->obs_dim, A = (size_t)rb->act_dim;
  memcpy(out->obs + i * O, rb->obs + s * O, O * sizeof(float));
  if (A) memcpy(out->act + i * A, rb->act + s * A, A * sizeof(float));
  memcpy(out->next_obs + i * O, rb->next_obs + s * O, O * sizeof(float));
  out->rew[i] = rb->rew[s];
  out->term[i] = rb->term[s] ? 1.0f : 0.0f;
  out->trunc[i] = rb->trunc[s] ? 1.0f : 0.0f;
}

ReplayBatch replay_batch_tail(const ReplayBatch *b, int first, int obs_dim, int act_dim) {
  size_t O = (size_t)obs_dim, A = (size_t)act_dim, f = (size_t)first;
  return (ReplayBatch){.B = b->B - first,
                       .obs = b->obs + f * O,
                       .act = b->act + f * A,
                       .rew = b->rew + f,
                       .next_obs = b->next_obs + f * O,
                       .term = b->term + f,
                       .trunc = b->trunc + f};
}

void replay_sample(const Replay *rb, Rng *r, int B, ReplayBatch *out) {
  assert(rb->size >= 1 && B <= out->B);
  // a uniform age, mapped to its slot: only filled rows, wherever the ring starts
  for (int i = 0; i < B; i++) copy_row(rb, replay_slot(rb, rng_below(r, rb->size)), out, (size_t)i);
}

void replay_gather(const Replay *rb, const size_t *slots, int B, ReplayBatch *out) {
  assert(B <= out->B);
  for (int i = 0; i < B; i++) {
    assert(slots[i] < rb->cap);
    copy_row(rb, slots[i], out, (size_t)i);
  }
}

// ---- checkpoints ----------------------------------------------------------------------------
//
// The filled rows are saved oldest first, as at most two runs of slots: [start, start + head)
// and, when the ring wraps, [0, size - head) under the tag with ".wrap". Loading puts them back
// in slots 0 .. size-1, so the i-th oldest row (and every sample drawn) is the same after a load.

// the header: capacity, dimensions, rows, rows before the wrap, through v (5)
static int header(int64_t v[5], CkptField f[5]) {
  static const char *const names[5] = {"cap", "obs_dim", "act_dim", "size", "head"};
  for (int k = 0; k < 5; k++) f[k] = (CkptField){names[k], &v[k], sizeof v[k]};
  return 5;
}

typedef struct {
  const char *name, *wrap;   // tags of the two runs
  size_t width;              // bytes per row
} Column;

static void columns(const Replay *rb, Column c[6], void *base[6]) {
  size_t O = (size_t)rb->obs_dim * sizeof(float), A = (size_t)rb->act_dim * sizeof(float);
  c[0] = (Column){"obs", "obs.wrap", O};
  c[1] = (Column){"act", "act.wrap", A};
  c[2] = (Column){"rew", "rew.wrap", sizeof(float)};
  c[3] = (Column){"next_obs", "next_obs.wrap", O};
  c[4] = (Column){"term", "term.wrap", 1};
  c[5] = (Column){"trunc", "trunc.wrap", 1};
  base[0] = rb->obs, base[1] = rb->act, base[2] = rb->rew;
  base[3] = rb->next_obs, base[4] = rb->term, base[5] = rb->trunc;
}

void replay_save(const Replay *rb, CkptWriter *w, const char *prefix) {
  char tag[256], wrap[256];
  size_t start = rb->size ? replay_slot(rb, 0) : 0;
  size_t head = rb->cap - start < rb->size ? rb->cap - start : rb->size;
  int64_t v[5] = {(int64_t)rb->cap, rb->obs_dim, rb->act_dim, (int64_t)rb->size, (int64_t)head};
  CkptField f[5];
  ckpt_put_fields(w, prefix, f, header(v, f));
  Column c[6];
  void *base[6];
  columns(rb, c, base);
  for (int k = 0; k < 6; k++) {
    const char *p = base[k];
    ckpt_tag(tag, sizeof tag, prefix, c[k].name);
    ckpt_tag(wrap, sizeof wrap, prefix, c[k].wrap);
    ckpt_put(w, tag, p + start * c[k].width, head * c[k].width);
    ckpt_put(w, wrap, p, (rb->size - head) * c[k].width);
  }
}

int replay_load(Replay *rb, CkptReader *r, const char *prefix, char *err, size_t errsz) {
  char tag[256], wrap[256];
  int64_t v[5];
  CkptField f[5];
  if (ckpt_get_fields(r, prefix, f, header(v, f), err, errsz)) return -1;
  if (v[0] != (int64_t)rb->cap || v[1] != rb->obs_dim || v[2] != rb->act_dim)
    return fail_msg(err, errsz, "replay buffer '%s': the checkpoint holds capacity %lld with "
                    "observation size %lld and action size %lld; this run has %zu, %d and %d",
                    prefix, (long long)v[0], (long long)v[1], (long long)v[2], rb->cap,
                    rb->obs_dim, rb->act_dim);
  if (v[3] < 0 || v[3] > v[0] || v[4] < 0 || v[4] > v[3])
    return fail_msg(err, errsz, "replay buffer '%s': %lld rows (%lld before the wrap) in the "
                    "checkpoint", prefix, (long long)v[3], (long long)v[4]);
  size_t size = (size_t)v[3], head = (size_t)v[4];
  Column c[6];
  void *base[6];
  columns(rb, c, base);
  for (int k = 0; k < 6; k++) {
    char *p = base[k];
    ckpt_tag(tag, sizeof tag, prefix, c[k].name);
    ckpt_tag(wrap, sizeof wrap, prefix, c[k].wrap);
    if (ckpt_get(r, tag, p, head * c[k].width, err, errsz) ||
        ckpt_get(r, wrap, p + head * c[k].width, (size - head) * c[k].width, err, errsz)) {
      // the rows are overwritten in place; leave a consistent, empty buffer behind
      rb->size = rb->next = 0;
      return -1;
    }
  }
  rb->size = size;
  rb->next = size == rb->cap ? 0 : size;
  return 0;
}
