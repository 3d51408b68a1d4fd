// Tests of replay: the ring order, flags, uniform sampling, checkpoints and large capacities.
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "replay.h"
#include "rng.h"

#ifdef __SANITIZE_ADDRESS__
// let an impossible allocation return NULL (as it does without ASan) instead of aborting, so the
// out-of-memory message can be tested
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

static char err[1024];

enum { O = 3, A = 2 };

// transition k: obs (k, k + 0.5, -k), act (2k, 1/(k+1)), rew 10 + k, next_obs obs + 1,
// terminated when k % 3 == 0, truncated when k % 5 == 0
static void add_k(Replay *rb, int k) {
  double obs[O] = {k, k + 0.5, -k}, next[O] = {k + 1, k + 1.5, 1 - k};
  double act[A] = {2 * k, 1.0 / (k + 1)};
  replay_add(rb, obs, act, 10 + k, next, k % 3 == 0, k % 5 == 0);
}

// row i of b holds transition k
static void check_row(const ReplayBatch *b, int i, int k) {
  float want_obs[O] = {(float)k, (float)(k + 0.5), (float)-k};
  float want_next[O] = {(float)(k + 1), (float)(k + 1.5), (float)(1 - k)};
  float want_act[A] = {(float)(2 * k), (float)(1.0 / (k + 1))};
  for (int j = 0; j < O; j++) {
    cr_assert_eq(b->obs[i * O + j], want_obs[j], "row %d obs[%d] = %g, transition %d has %g", i, j,
                 b->obs[i * O + j], k, want_obs[j]);
    cr_assert_eq(b->next_obs[i * O + j], want_next[j], "row %d next_obs[%d] = %g, expected %g", i,
                 j, b->next_obs[i * O + j], want_next[j]);
  }
  for (int j = 0; j < A; j++)
    cr_assert_eq(b->act[i * A + j], want_act[j], "row %d act[%d] = %g, expected %g", i, j,
                 b->act[i * A + j], want_act[j]);
  cr_assert_eq(b->rew[i], (float)(10 + k), "row %d rew %g, transition %d", i, b->rew[i], k);
  cr_assert_eq(b->term[i], k % 3 == 0 ? 1.0f : 0.0f, "row %d term %g", i, b->term[i]);
  cr_assert_eq(b->trunc[i], k % 5 == 0 ? 1.0f : 0.0f, "row %d trunc %g", i, b->trunc[i]);
}

Test(replay, init_errors) {
  Replay rb;
  cr_assert_eq(replay_init(&rb, 0, 3, 1, err, sizeof err), -1, "capacity 0 accepted");
  cr_assert(strstr(err, "capacity 0"), "message '%s'", err);
  cr_assert_eq(replay_init(&rb, 10, 0, 1, err, sizeof err), -1, "obs_dim 0 accepted");
  cr_assert_eq(replay_init(&rb, 10, 3, -1, err, sizeof err), -1, "act_dim -1 accepted");
  cr_assert_eq(replay_init(&rb, (size_t)-1 / 8, 400, 6, err, sizeof err), -1, "overflow accepted");
  cr_assert(strstr(err, "overflow"), "message '%s'", err);
  // 1e13 rows of 3230 bytes (3.2e16 bytes, beyond any address space) is a user's mistake: an
  // error message, not an exit (under ASan one "failed to allocate" warning line is expected)
  cr_assert_eq(replay_init(&rb, 10000000000000u, 400, 6, err, sizeof err), -1, "1e13 rows");
  cr_assert(strstr(err, "cannot allocate 32300000000000000 bytes"), "message '%s'", err);
  cr_assert_null(rb.obs, "a failed init leaves pointers behind");
  ReplayBatch b;
  cr_assert_eq(replay_batch_init(&b, 0, 3, 1, err, sizeof err), -1, "batch of 0 accepted");
}

Test(replay, ring_order_and_wrap_around) {
  Replay rb;
  ReplayBatch b;
  cr_assert_eq(replay_init(&rb, 5, O, A, err, sizeof err), 0, "%s", err);
  cr_assert_eq(replay_batch_init(&b, 5, O, A, err, sizeof err), 0, "%s", err);
  size_t slots[5];
  for (int k = 0; k < 3; k++) add_k(&rb, k);
  cr_assert_eq(rb.size, 3);
  cr_assert_eq(rb.next, 3);
  for (size_t i = 0; i < 3; i++) cr_assert_eq(replay_slot(&rb, i), i, "slot of row %zu", i);
  // cap + k adds with k = 3: the oldest row is transition 3 (the 4th added), in slot 3
  for (int k = 3; k < 8; k++) add_k(&rb, k);
  cr_assert_eq(rb.size, 5);
  cr_assert_eq(rb.next, 3);
  size_t want[5] = {3, 4, 0, 1, 2};
  for (size_t i = 0; i < 5; i++) {
    slots[i] = replay_slot(&rb, i);
    cr_assert_eq(slots[i], want[i], "row %zu in slot %zu, expected %zu", i, slots[i], want[i]);
  }
  replay_gather(&rb, slots, 5, &b);
  for (int i = 0; i < 5; i++) check_row(&b, i, 3 + i);
  // gather of fewer rows than the batch holds, in any order
  size_t some[2] = {1, 4};
  replay_gather(&rb, some, 2, &b);
  check_row(&b, 0, 6);
  check_row(&b, 1, 4);
  replay_batch_free(&b);
  replay_free(&rb);
}

Test(replay, flags_kept_apart_as_floats) {
  Replay rb;
  ReplayBatch b;
  replay_init(&rb, 4, 1, 1, err, sizeof err);
  replay_batch_init(&b, 4, 1, 1, err, sizeof err);
  double o = 0.1, a = -0.3;
  int flags[4][2] = {{0, 0}, {1, 0}, {0, 1}, {7, -2}};   // any nonzero is true
  for (int i = 0; i < 4; i++) replay_add(&rb, &o, &a, 0.7, &o, flags[i][0], flags[i][1]);
  size_t slots[4] = {0, 1, 2, 3};
  replay_gather(&rb, slots, 4, &b);
  float term[4] = {0, 1, 0, 1}, trunc[4] = {0, 0, 1, 1};
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(rb.term[i], term[i] != 0, "stored term[%d] = %d", i, rb.term[i]);
    cr_assert_eq(b.term[i], term[i], "term[%d] = %g", i, b.term[i]);
    cr_assert_eq(b.trunc[i], trunc[i], "trunc[%d] = %g", i, b.trunc[i]);
    cr_assert_eq(b.obs[i], 0.1f, "obs stored as float: %.9g", b.obs[i]);
    cr_assert_eq(b.act[i], -0.3f, "act stored as float: %.9g", b.act[i]);
    cr_assert_eq(b.rew[i], 0.7f, "rew stored as float: %.9g", b.rew[i]);
  }
  replay_batch_free(&b);
  replay_free(&rb);
}

// sample n draws from rb (rewards 10 + k for k in [lo, lo + m)) and return the chi-square
// statistic of the counts per transition; every reward must belong to a stored row
static double sample_chi2(const Replay *rb, int lo, int m, int draws, uint32_t seed) {
  ReplayBatch b;
  replay_batch_init(&b, 250, rb->obs_dim, rb->act_dim, err, sizeof err);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_REPLAY);
  int *count = calloc((size_t)m, sizeof *count);
  for (int done = 0; done < draws; done += 250) {
    replay_sample(rb, &r, 250, &b);
    for (int i = 0; i < 250; i++) {
      int k = (int)b.rew[i] - 10;
      cr_assert(k >= lo && k < lo + m && b.rew[i] == 10 + k,
                "sampled reward %g is no stored row (transitions %d..%d)", b.rew[i], lo,
                lo + m - 1);
      count[k - lo]++;
    }
  }
  double e = (double)draws / m, chi2 = 0.0;
  for (int i = 0; i < m; i++) chi2 += (count[i] - e) * (count[i] - e) / e;
  free(count);
  replay_batch_free(&b);
  return chi2;
}

Test(replay, sampling_is_uniform_over_filled_rows) {
  // chi-square with m - 1 degrees of freedom has mean m - 1 and sd sqrt(2 (m - 1)); the bound is
  // 6 sd above the mean
  Replay rb;
  replay_init(&rb, 100, O, A, err, sizeof err);
  // poison every slot, so an unfilled row would show reward -1
  for (size_t s = 0; s < rb.cap; s++) rb.rew[s] = -1.0f;
  for (int k = 0; k < 37; k++) add_k(&rb, k);
  double chi2 = sample_chi2(&rb, 0, 37, 100000, 1);
  cr_assert(chi2 < 36 + 6 * sqrt(72.0), "partly filled: chi2 %.1f with 36 dof", chi2);
  replay_free(&rb);
  // wrapped: cap 50 after 130 adds holds transitions 80..129
  replay_init(&rb, 50, O, A, err, sizeof err);
  for (int k = 0; k < 130; k++) add_k(&rb, k);
  chi2 = sample_chi2(&rb, 80, 50, 100000, 2);
  cr_assert(chi2 < 49 + 6 * sqrt(98.0), "wrapped: chi2 %.1f with 49 dof", chi2);
  replay_free(&rb);
  // a ring that starts anywhere (next moved by hand) still samples only its rows
  replay_init(&rb, 40, O, A, err, sizeof err);
  for (size_t s = 0; s < rb.cap; s++) rb.rew[s] = -1.0f;
  rb.next = 35;
  for (int k = 0; k < 9; k++) add_k(&rb, k);
  chi2 = sample_chi2(&rb, 0, 9, 20000, 3);
  cr_assert(chi2 < 8 + 6 * 4.0, "moved ring: chi2 %.1f with 8 dof", chi2);
  replay_free(&rb);
}

Test(replay, same_stream_same_batches) {
  Replay rb;
  ReplayBatch b1, b2;
  replay_init(&rb, 64, O, A, err, sizeof err);
  replay_batch_init(&b1, 32, O, A, err, sizeof err);
  replay_batch_init(&b2, 32, O, A, err, sizeof err);
  for (int k = 0; k < 100; k++) add_k(&rb, k);
  Rng r1, r2;
  rng_init(&r1, 9, RNG_STREAM_REPLAY);
  rng_init(&r2, 9, RNG_STREAM_REPLAY);
  replay_sample(&rb, &r1, 32, &b1);
  replay_sample(&rb, &r2, 32, &b2);
  cr_assert(memcmp(b1.obs, b2.obs, 32 * O * sizeof(float)) == 0, "same stream, other batch");
  cr_assert(memcmp(b1.rew, b2.rew, 32 * sizeof(float)) == 0, "same stream, other batch");
  replay_batch_free(&b1);
  replay_batch_free(&b2);
  replay_free(&rb);
}

// rows of a and b agree byte for byte in age order
static void same_rows(const Replay *a, const Replay *b) {
  cr_assert_eq(a->size, b->size, "sizes %zu and %zu", a->size, b->size);
  size_t O_ = (size_t)a->obs_dim, A_ = (size_t)a->act_dim;
  for (size_t i = 0; i < a->size; i++) {
    size_t s = replay_slot(a, i), t = replay_slot(b, i);
    cr_assert(memcmp(a->obs + s * O_, b->obs + t * O_, O_ * sizeof(float)) == 0, "obs row %zu", i);
    cr_assert(memcmp(a->act + s * A_, b->act + t * A_, A_ * sizeof(float)) == 0, "act row %zu", i);
    cr_assert(memcmp(a->next_obs + s * O_, b->next_obs + t * O_, O_ * sizeof(float)) == 0,
              "next_obs row %zu", i);
    cr_assert(memcmp(&a->rew[s], &b->rew[t], sizeof(float)) == 0, "rew row %zu", i);
    cr_assert_eq(a->term[s], b->term[t], "term row %zu", i);
    cr_assert_eq(a->trunc[s], b->trunc[t], "trunc row %zu", i);
  }
}

Test(replay, save_load_round_trip) {
  char dir[] = "/tmp/mb_replay_XXXXXX", path[64];
  cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/ck.bin", dir);
  // empty, partly filled, exactly full, wrapped once, wrapped with next in the middle
  const int adds[] = {0, 7, 20, 27, 53};
  for (size_t c = 0; c < sizeof adds / sizeof adds[0]; c++) {
    Replay a, b;
    replay_init(&a, 20, O, A, err, sizeof err);
    replay_init(&b, 20, O, A, err, sizeof err);
    for (int k = 0; k < adds[c]; k++) add_k(&a, k);
    CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
    cr_assert(w, "%s", err);
    replay_save(&a, w, "rb");
    cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
    CkptReader *r = ckpt_open(path, "test", err, sizeof err);
    cr_assert(r, "%s", err);
    cr_assert_eq(replay_load(&b, r, "rb", err, sizeof err), 0, "%d adds: %s", adds[c], err);
    ckpt_close(r);
    same_rows(&a, &b);
    if (a.size > 0) {
      // the same stream samples the same rows from both
      ReplayBatch ba, bb;
      replay_batch_init(&ba, 16, O, A, err, sizeof err);
      replay_batch_init(&bb, 16, O, A, err, sizeof err);
      Rng ra, rbg;
      rng_init(&ra, 5, RNG_STREAM_REPLAY);
      rng_init(&rbg, 5, RNG_STREAM_REPLAY);
      replay_sample(&a, &ra, 16, &ba);
      replay_sample(&b, &rbg, 16, &bb);
      cr_assert(memcmp(ba.obs, bb.obs, 16 * O * sizeof(float)) == 0, "%d adds: samples differ",
                adds[c]);
      replay_batch_free(&ba);
      replay_batch_free(&bb);
    }
    // and both go on alike: the next adds replace the same (oldest) rows
    for (int k = 100; k < 105; k++) {
      add_k(&a, k);
      add_k(&b, k);
    }
    same_rows(&a, &b);
    replay_free(&a);
    replay_free(&b);
  }
  unlink(path);
  rmdir(dir);
}

Test(replay, load_refuses_other_shapes) {
  char dir[] = "/tmp/mb_replay_XXXXXX", path[64];
  cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/ck.bin", dir);
  Replay a;
  replay_init(&a, 20, O, A, err, sizeof err);
  for (int k = 0; k < 9; k++) add_k(&a, k);
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  replay_save(&a, w, "rb");
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  CkptReader *r = ckpt_open(path, "test", err, sizeof err);
  cr_assert(r, "%s", err);
  const int shape[3][3] = {{21, O, A}, {20, O + 1, A}, {20, O, A - 1}};
  for (int i = 0; i < 3; i++) {
    Replay b;
    replay_init(&b, (size_t)shape[i][0], shape[i][1], shape[i][2], err, sizeof err);
    double zero[8] = {0};
    replay_add(&b, zero, zero, 0, zero, 0, 0);
    cr_assert_eq(replay_load(&b, r, "rb", err, sizeof err), -1, "shape %d loaded", i);
    cr_assert(strstr(err, "capacity 20 with observation size 3 and action size 2"),
              "message '%s'", err);
    cr_assert_eq(b.size, 1, "a refused load changed the buffer");
    replay_free(&b);
  }
  Replay c;
  replay_init(&c, 20, O, A, err, sizeof err);
  cr_assert_eq(replay_load(&c, r, "other", err, sizeof err), -1, "a missing prefix loaded");
  cr_assert(strstr(err, "no field 'other.cap'"), "message '%s'", err);
  replay_free(&c);
  ckpt_close(r);
  replay_free(&a);
  unlink(path);
  rmdir(dir);
}

// write rows into the last slots of a buffer of cap rows of obs_dim floats and read them back
static void last_slots(size_t cap, int obs_dim) {
  Replay rb;
  if (replay_init(&rb, cap, obs_dim, 6, err, sizeof err) != 0) {
    cr_assert(strstr(err, "cannot allocate"), "%s", err);
    cr_skip_test("%s", err);   // a host without overcommit
  }
  double *obs = malloc((size_t)obs_dim * sizeof *obs);
  double *next = malloc((size_t)obs_dim * sizeof *next);
  double act[6] = {1, 2, 3, 4, 5, 6};
  rb.next = cap - 3;   // the last three slots, then the first two
  for (int k = 0; k < 5; k++) {
    for (int j = 0; j < obs_dim; j++) obs[j] = k * 1000 + j, next[j] = -obs[j];
    replay_add(&rb, obs, act, k, next, k == 4, 0);
  }
  cr_assert_eq(rb.size, 5);
  cr_assert_eq(rb.next, 2);
  cr_assert_eq(replay_slot(&rb, 0), cap - 3);
  cr_assert_eq(replay_slot(&rb, 2), cap - 1);
  cr_assert_eq(replay_slot(&rb, 3), 0);
  // the very last float of obs, read through a size_t offset
  float last = rb.obs[cap * (size_t)obs_dim - 1];
  cr_assert_eq(last, 2000.0f + obs_dim - 1, "obs[cap * O - 1] = %g", last);
  ReplayBatch b;
  replay_batch_init(&b, 5, obs_dim, 6, err, sizeof err);
  size_t slots[5];
  for (size_t i = 0; i < 5; i++) slots[i] = replay_slot(&rb, i);
  replay_gather(&rb, slots, 5, &b);
  for (int i = 0; i < 5; i++) {
    for (int j = 0; j < obs_dim; j += obs_dim - 1) {
      cr_assert_eq(b.obs[i * obs_dim + j], (float)(i * 1000 + j), "row %d obs[%d] = %g", i, j,
                   b.obs[i * obs_dim + j]);
      cr_assert_eq(b.next_obs[i * obs_dim + j], (float)-(i * 1000 + j), "row %d next_obs[%d]", i,
                   j);
    }
    cr_assert_eq(b.rew[i], (float)i);
    cr_assert_eq(b.act[i * 6 + 5], 6.0f);
    cr_assert_eq(b.term[i], i == 4 ? 1.0f : 0.0f);
  }
  replay_batch_free(&b);
  free(obs);
  free(next);
  replay_free(&rb);
}

Test(replay, capacity_of_a_million_rows) {
  // 1e6 rows of 400-dim observations: 3.2 GB reserved, only the pages written are touched
  last_slots(1000000, 400);
}

#ifndef __SANITIZE_ADDRESS__
// not under ASan: its shadow bookkeeping for 17.6 GB of reservations costs seconds and 1 GB
Test(replay, indices_beyond_2_to_the_31) {
  // 1e6 rows of 2200 floats: the last rows start at float index 2.2e9 > 2^31 (8.8 GB reserved
  // per observation array), where an int index would overflow
  last_slots(1000000, 2200);
}
#endif

// one batch filled from two buffers through replay_batch_tail: the first rows from one, the rest
// from the other, each row whole (as DeMoRL mixes real and model transitions)
Test(replay, batch_tail_fills_the_rest) {
  Replay a, b;
  ReplayBatch batch;
  cr_assert_eq(replay_init(&a, 4, O, A, err, sizeof err), 0, "%s", err);
  cr_assert_eq(replay_init(&b, 4, O, A, err, sizeof err), 0, "%s", err);
  cr_assert_eq(replay_batch_init(&batch, 5, O, A, err, sizeof err), 0, "%s", err);
  add_k(&a, 7);
  add_k(&b, 40);
  ReplayBatch rest = replay_batch_tail(&batch, 2, O, A);
  cr_assert_eq(rest.B, 3);
  Rng r;
  rng_init(&r, 1, RNG_STREAM_DATA);
  replay_sample(&a, &r, 2, &batch);
  replay_sample(&b, &r, 3, &rest);
  for (int i = 0; i < 2; i++) check_row(&batch, i, 7);
  for (int i = 2; i < 5; i++) check_row(&batch, i, 40);
  replay_batch_free(&batch);
  replay_free(&a);
  replay_free(&b);
}
