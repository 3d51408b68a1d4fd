// rng: counter-based random streams (Philox4x32-10 from Random123).
//
// A stream is keyed by (seed, stream id) and optionally a substream index; draw k of a stream is a
// pure function of (seed, stream, sub, k). The whole state is this small struct, so saving a stream
// in a checkpoint is copying it, and any stream can be regenerated without replaying the others.
// Nothing in the suite draws randomness from anywhere else.
#ifndef MB_RNG_H
#define MB_RNG_H

#include <stddef.h>
#include <stdint.h>

// Fixed stream ids: every program derives all its streams from --seed with these.
enum {
  RNG_STREAM_INIT = 1,       // network and policy initialisation
  RNG_STREAM_RESET = 2,      // training-environment reset noise
  RNG_STREAM_EXPLORE = 3,    // exploration: random actions, action noise, ARS directions
  RNG_STREAM_REPLAY = 4,     // minibatch indices
  RNG_STREAM_EVAL = 5,       // evaluation episode j uses substream j: same start states everywhere
  RNG_STREAM_PLANNER = 6,    // MPC sampling
  RNG_STREAM_MODEL = 7,      // model training: holdout split, bootstrap batches
  RNG_STREAM_BOOTSTRAP = 8,  // analysis: bootstrap resampling
  RNG_STREAM_DATA = 9,       // synthetic data (examples, tests)
  RNG_STREAM_WEIGHTS = 10,   // weightings of the model fit (model_weights.h)
  RNG_STREAM_ROLLOUT = 11    // model rollouts (mbpo: start states, actions, the model's draws)
};

typedef struct {
  uint32_t key[2];   // seed, stream id
  uint32_t ctr[4];   // block index (low, high word), substream (low, high word)
  uint32_t buf[4];   // the current output block
  int pos;           // next unused word of buf; 4 when buf is spent
  int has_spare;     // Box-Muller keeps its second normal here
  double spare;
} Rng;

// Start stream `stream` of `seed` at draw 0 (substream 0).
void rng_init(Rng *r, uint32_t seed, uint32_t stream);

// Start substream `sub` of stream `stream` (e.g. evaluation episode `sub`).
void rng_init_sub(Rng *r, uint32_t seed, uint32_t stream, uint64_t sub);

uint32_t rng_u32(Rng *r);
uint64_t rng_u64(Rng *r);

// Uniform integer in [0, n), n >= 1, without modulo bias.
uint64_t rng_below(Rng *r, uint64_t n);

// Uniform double in [0, 1) with 53 random bits.
double rng_uniform(Rng *r);

// Uniform double in [lo, hi).
double rng_uniform_range(Rng *r, double lo, double hi);

// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
double rng_normal(Rng *r);

// Standard normal conditioned on [lo, hi] (lo < hi; either may be infinite). Exact rejection
// samplers chosen by the interval (normal, uniform or exponential proposals), so tails and narrow
// intervals far from 0 stay cheap.
double rng_truncnormal(Rng *r, double lo, double hi);

// out[i] = mean + std * N(0, 1), i < n, in bulk: 16 whole Philox blocks per 64 normals (a last
// partial group still takes 16), starting at the next unused block (the rest of a half-used one
// is skipped; rng_normal's spare is left alone). A float Box-Muller transform with 31-bit
// uniforms, so |z| < 6.7; within a few float ulp of the double transform. Not the same numbers
// as calls of rng_normal.
void rng_fill_normalf(Rng *r, float *out, size_t n, float mean, float std);

// out[i] ~ U[lo, hi), i < n.
void rng_fill_uniformf(Rng *r, float *out, size_t n, float lo, float hi);

#endif
