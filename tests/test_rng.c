// Tests of rng: Philox known answers, stream identity, and the distributions' moments.
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <Random123/philox.h>

#include "rng.h"
#include "simd.h"

enum { BIG = 1000000 };

// |got - want| <= k standard errors, printing all three
#define WITHIN(what, got, want, se, k)                                                          \
  cr_assert(fabs((got) - (want)) <= (k) * (se), "%s: %.10g, expected %.10g (se %.3g, %g se)",   \
            what, (double)(got), (double)(want), (double)(se), (double)(k))

// ---- the raw generator ----------------------------------------------------------------------

// the four words of the block at (block index, sub) of (seed, stream)
static void block(uint32_t seed, uint32_t stream, uint64_t sub, uint64_t index, uint32_t out[4]) {
  Rng r;
  rng_init_sub(&r, seed, stream, sub);
  // the block index lives in ctr[0..1]; start there as if `index` blocks had been drawn
  r.ctr[0] = (uint32_t)index;
  r.ctr[1] = (uint32_t)(index >> 32);
  for (int i = 0; i < 4; i++) out[i] = rng_u32(&r);
}

Test(rng, philox_known_answers) {
  // Random123's tests/kat_vectors, the "philox4x32 10" lines: counter (4 words), key (2 words),
  // output (4 words). rng maps counter = (block lo, block hi, sub lo, sub hi), key = (seed, stream)
  static const uint32_t kat[3][10] = {
      {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
       0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
       0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
       0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
  for (int v = 0; v < 3; v++) {
    const uint32_t *k = kat[v];
    uint32_t out[4];
    block(k[4], k[5], (uint64_t)k[3] << 32 | k[2], (uint64_t)k[1] << 32 | k[0], out);
    for (int i = 0; i < 4; i++)
      cr_assert_eq(out[i], k[6 + i], "vector %d word %d: %08x, expected %08x", v, i, out[i],
                   k[6 + i]);
  }
  // the first vector straight from the public API: seed 0, stream 0, substream 0, draws 0..3
  Rng r;
  rng_init(&r, 0, 0);
  cr_assert_eq(rng_u32(&r), 0x6627e8d5u);
  cr_assert_eq(rng_u32(&r), 0xe169c58du);
  cr_assert_eq(rng_u32(&r), 0xbc57ac4cu);
  cr_assert_eq(rng_u32(&r), 0x9b00dbd8u);
}

Test(rng, block_counter_and_u64) {
  // draws 4k..4k+3 are block k; the block index carries from the low into the high word
  Rng r;
  rng_init_sub(&r, 11, 3, 0x123456789abcdefull);
  philox4x32_key_t key = {{11, 3}};
  for (uint32_t b = 0; b < 3; b++) {
    philox4x32_ctr_t c = {{b, 0, 0x89abcdef, 0x01234567}};
    philox4x32_ctr_t want = philox4x32(c, key);
    for (int i = 0; i < 4; i++) {
      uint32_t got = rng_u32(&r);
      cr_assert_eq(got, want.v[i], "block %u word %d: %08x, expected %08x", b, i, got, want.v[i]);
    }
  }
  r.ctr[0] = 0xffffffff;
  r.pos = 4;
  (void)rng_u32(&r);   // block (2^32 - 1, 0)
  r.pos = 4;
  philox4x32_ctr_t c = {{0, 1, 0x89abcdef, 0x01234567}};
  philox4x32_ctr_t want = philox4x32(c, key);
  cr_assert_eq(rng_u32(&r), want.v[0], "no carry into the high word of the block index");
  // u64: two consecutive words, the first high
  Rng a, b;
  rng_init(&a, 5, 6);
  rng_init(&b, 5, 6);
  for (int i = 0; i < 10; i++) {
    uint64_t hi = rng_u32(&a), lo = rng_u32(&a), w = rng_u64(&b);
    cr_assert_eq(w, hi << 32 | lo, "draw %d: %016llx", i, (unsigned long long)w);
  }
}

Test(rng, streams_are_reproducible_and_distinct) {
  Rng a, b;
  rng_init_sub(&a, 42, RNG_STREAM_EVAL, 7);
  rng_init_sub(&b, 42, RNG_STREAM_EVAL, 7);
  for (int i = 0; i < 1000; i++) {
    double x = rng_normal(&a), y = rng_normal(&b);
    cr_assert(memcmp(&x, &y, sizeof x) == 0, "draw %d: %.17g vs %.17g", i, x, y);
  }
  cr_assert(memcmp(&a, &b, sizeof a) == 0, "states differ after the same draws");
  // another seed, stream or substream: 64 words, of which no more than a couple may coincide
  // by chance (expected 64 * 2^-32)
  uint32_t base[64], other[64];
  Rng r;
  rng_init_sub(&r, 42, 5, 7);
  for (int i = 0; i < 64; i++) base[i] = rng_u32(&r);
  const uint32_t seeds[3][2] = {{43, 5}, {42, 6}, {42, 5}};
  const uint64_t subs[3] = {7, 7, 8};
  for (int v = 0; v < 3; v++) {
    rng_init_sub(&r, seeds[v][0], seeds[v][1], subs[v]);
    int same = 0;
    for (int i = 0; i < 64; i++) other[i] = rng_u32(&r), same += other[i] == base[i];
    cr_assert(same <= 1, "variant %d shares %d of 64 words with the base stream", v, same);
  }
  // substream 2^32 (high word) differs from substream 0
  Rng s0, s32;
  rng_init_sub(&s0, 1, 1, 0);
  rng_init_sub(&s32, 1, 1, 1ull << 32);
  cr_assert_neq(rng_u64(&s0), rng_u64(&s32), "the high word of the substream is ignored");
}

// ---- integers -------------------------------------------------------------------------------

Test(rng, below_one_is_zero) {
  Rng r;
  rng_init(&r, 3, 3);
  for (int i = 0; i < 1000; i++) cr_assert_eq(rng_below(&r, 1), 0u);
}

// chi-square of counts against equal expectation
static double chi2(const long *count, int k, long n) {
  double e = (double)n / k, s = 0.0;
  for (int i = 0; i < k; i++) s += (count[i] - e) * (count[i] - e) / e;
  return s;
}

Test(rng, below_is_uniform) {
  // chi-square with k - 1 degrees of freedom: mean k - 1, sd sqrt(2 (k - 1)); bound 6 sd above
  Rng r;
  rng_init(&r, 4, RNG_STREAM_DATA);
  const uint64_t ns[3] = {10, 7, 1000};
  for (int t = 0; t < 3; t++) {
    int k = (int)ns[t];
    long *count = calloc((size_t)k, sizeof *count);
    for (long i = 0; i < BIG; i++) {
      uint64_t x = rng_below(&r, ns[t]);
      cr_assert(x < ns[t], "rng_below(%llu) = %llu", (unsigned long long)ns[t],
                (unsigned long long)x);
      count[x]++;
    }
    double c = chi2(count, k, BIG), bound = (k - 1) + 6 * sqrt(2.0 * (k - 1));
    cr_assert(c < bound, "n = %d: chi2 %.1f >= %.1f", k, c, bound);
    free(count);
  }
  // n = 3 * 2^62: plain x % n would put half the draws in the lowest third (2^64 mod n = 2^62
  // values map there twice); uniform gives thirds
  long third[3] = {0};
  uint64_t n = 3ull << 62;
  for (long i = 0; i < 100000; i++) third[rng_below(&r, n) >> 62]++;
  double c = chi2(third, 3, 100000);
  cr_assert(c < 2 + 6 * 2, "thirds %ld %ld %ld: chi2 %.1f (modulo bias?)", third[0], third[1],
            third[2], c);
}

// ---- uniform and normal ---------------------------------------------------------------------

Test(rng, uniform_moments) {
  // mean 1/2 (se sqrt(1/12 / n)); variance 1/12 (se sqrt((1/80 - 1/144) / n)); 5 se
  Rng r;
  rng_init(&r, 5, RNG_STREAM_DATA);
  double s = 0.0, q = 0.0;
  for (long i = 0; i < BIG; i++) {
    double u = rng_uniform(&r);
    cr_assert(u >= 0.0 && u < 1.0, "uniform %.17g", u);
    double k = u * 0x1.0p53;
    cr_assert(k == floor(k), "uniform %.17g is not a multiple of 2^-53", u);
    s += u;
    q += (u - 0.5) * (u - 0.5);
  }
  WITHIN("mean", s / BIG, 0.5, sqrt(1.0 / 12 / BIG), 5);
  WITHIN("variance", q / BIG, 1.0 / 12, sqrt((1.0 / 80 - 1.0 / 144) / BIG), 5);
}

Test(rng, uniform_range_stays_half_open) {
  Rng r;
  rng_init(&r, 6, RNG_STREAM_DATA);
  for (long i = 0; i < 100000; i++) {
    double x = rng_uniform_range(&r, -3.0, 2.5);
    cr_assert(x >= -3.0 && x < 2.5, "uniform_range(-3, 2.5) = %.17g", x);
  }
  // intervals narrow for their magnitude: lo + (hi - lo) u rounds to hi for many u
  const double iv[3][2] = {{1e15, 1e15 + 1}, {1.0, 0x1.0000000000001p0}, {-1e-300, 0.0}};
  for (int t = 0; t < 3; t++) {
    for (long i = 0; i < 10000; i++) {
      double x = rng_uniform_range(&r, iv[t][0], iv[t][1]);
      cr_assert(x >= iv[t][0] && x < iv[t][1], "uniform_range(%.17g, %.17g) = %.17g", iv[t][0],
                iv[t][1], x);
    }
  }
}

Test(rng, normal_moments) {
  // N(0, 1) over 1e6 draws; standard errors of mean, variance, skewness and excess kurtosis
  // are sqrt(1/n), sqrt(2/n), sqrt(6/n), sqrt(24/n); 5 se each
  Rng r;
  rng_init(&r, 7, RNG_STREAM_DATA);
  double *x = malloc(BIG * sizeof *x);
  double m = 0.0;
  for (long i = 0; i < BIG; i++) m += x[i] = rng_normal(&r);
  m /= BIG;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (long i = 0; i < BIG; i++) {
    double d = x[i] - m;
    m2 += d * d, m3 += d * d * d, m4 += d * d * d * d;
  }
  m2 /= BIG, m3 /= BIG, m4 /= BIG;
  WITHIN("mean", m, 0.0, sqrt(1.0 / BIG), 5);
  WITHIN("variance", m2, 1.0, sqrt(2.0 / BIG), 5);
  WITHIN("skewness", m3 / pow(m2, 1.5), 0.0, sqrt(6.0 / BIG), 5);
  WITHIN("excess kurtosis", m4 / (m2 * m2) - 3.0, 0.0, sqrt(24.0 / BIG), 5);
  // and the tails: P(|Z| > 3) = 0.0026998, binomial se
  long tail = 0;
  for (long i = 0; i < BIG; i++) tail += fabs(x[i]) > 3.0;
  double p = erfc(3.0 / sqrt(2.0));
  WITHIN("P(|Z| > 3)", (double)tail / BIG, p, sqrt(p * (1 - p) / BIG), 5);
  free(x);
}

// ---- truncated normal -----------------------------------------------------------------------

typedef struct {
  double lo, hi;
} TnCase;

// P(Z > x)
static double upper(double x) { return 0.5 * erfc(x / sqrt(2.0)); }

// P(a <= Z <= b), without cancellation in either tail
static double mass(double a, double b) {
  if (a >= 0) return upper(a) - upper(b);
  if (b <= 0) return upper(-b) - upper(-a);
  return 0.5 * (erf(b / sqrt(2.0)) - erf(a / sqrt(2.0)));
}

static double phi(double x) { return isinf(x) ? 0.0 : exp(-0.5 * x * x) / 2.5066282746310002; }

static double xphi(double x) { return isinf(x) ? 0.0 : x * phi(x); }

ParameterizedTestParameters(rng, truncnormal) {
  static TnCase iv[] = {{-2, 2},       {-0.01, 2},     {0.5, 0.6},        {3, INFINITY},
                           {-INFINITY, -4}, {5, 5.5},     {0.001, 500},      {-1e-3, 1e-3},
                           {-INFINITY, 0.5}, {-30, -29.9}};
  return cr_make_param_array(TnCase, iv, sizeof iv / sizeof iv[0]);
}

ParameterizedTest(TnCase *p, rng, truncnormal) {
  // analytic moments of N(0, 1) on [a, b] with Z = P(a <= X <= b):
  //   mean = (phi(a) - phi(b)) / Z, var = 1 + (a phi(a) - b phi(b)) / Z - mean^2;
  // the sample mean has se sqrt(var / n), the sample variance sqrt((m4 - var^2) / n) with m4 the
  // sample fourth central moment, and P(X <= mean) a binomial se; all within 5 se
  double a = p->lo, b = p->hi;
  double Z = mass(a, b);
  double mean = (phi(a) - phi(b)) / Z, var = 1.0 + (xphi(a) - xphi(b)) / Z - mean * mean;
  double below = mass(a, mean) / Z;
  Rng r;
  rng_init(&r, 8, RNG_STREAM_DATA);
  double *x = malloc(BIG * sizeof *x);
  double s = 0.0;
  long nb = 0;
  for (long i = 0; i < BIG; i++) {
    x[i] = rng_truncnormal(&r, a, b);
    cr_assert(x[i] >= a && x[i] <= b, "[%g, %g]: draw %ld = %.17g", a, b, i, x[i]);
    s += x[i];
    nb += x[i] <= mean;
  }
  double m = s / BIG, m2 = 0.0, m4 = 0.0;
  for (long i = 0; i < BIG; i++) {
    double d = x[i] - m;
    m2 += d * d, m4 += d * d * d * d;
  }
  m2 /= BIG, m4 /= BIG;
  cr_assert(var > 0.0 && Z > 0.0, "[%g, %g]: bad analytic moments", a, b);
  cr_assert(fabs(m - mean) <= 5 * sqrt(var / BIG), "[%g, %g]: mean %.10g, expected %.10g", a, b,
            m, mean);
  cr_assert(fabs(m2 - var) <= 5 * sqrt((m4 - m2 * m2) / BIG),
            "[%g, %g]: variance %.10g, expected %.10g", a, b, m2, var);
  cr_assert(fabs((double)nb / BIG - below) <= 5 * sqrt(below * (1 - below) / BIG),
            "[%g, %g]: P(X <= mean) %.6f, expected %.6f", a, b, (double)nb / BIG, below);
  free(x);
}

// ---- fills ----------------------------------------------------------------------------------

// the fill's normal for output i of a fill starting at block `first` (the layout of rng.h): the
// same 31-bit uniforms through the double Box-Muller transform
static double fill_reference(const Rng *r0, uint64_t first, size_t i) {
  size_t chunk = i / 64, k = i % 64, lanes = 16;
  size_t pair = k / (2 * lanes), lane = k % lanes;
  int use_sin = (int)(k / lanes) % 2;
  uint32_t w[4];
  Rng r = *r0;
  uint64_t index = first + chunk * lanes + lane;
  r.ctr[0] = (uint32_t)index;
  r.ctr[1] = (uint32_t)(index >> 32);
  r.pos = 4;
  for (int j = 0; j < 4; j++) w[j] = rng_u32(&r);
  float u = ((float)(int32_t)(w[2 * pair] >> 1) + 0.5f) * 0x1p-31f;
  double rad = sqrt(-2.0 * log((double)u));
  double ang = 6.283185307179586 * (double)w[2 * pair + 1] * 0x1p-32;
  return rad * (use_sin ? sin(ang) : cos(ang));
}

Test(rng, fill_normalf_is_box_muller_of_whole_blocks) {
  enum { N = 1000 };   // not a multiple of 64: the last group is partial
  float out[N];
  Rng a, ref;
  rng_init_sub(&a, 9, RNG_STREAM_INIT, 5);
  a.ctr[0] = 0xfffffff7u;   // so the block index carries into its high word inside a group
  rng_u32(&a);              // half a block used: the fill starts at the next one
  ref = a;
  uint64_t first = 0xfffffff8u;
  rng_fill_normalf(&a, out, N, 3.0f, 2.0f);
  double worst = 0.0;
  for (int i = 0; i < N; i++) {
    double z = fill_reference(&ref, first, (size_t)i), want = 3.0 + 2.0 * z;
    // float arithmetic: a few ulp of the terms summed
    double tol = 2e-7 * (3.0 + 2.0 * (1.0 + fabs(z)));
    cr_assert_leq(fabs(out[i] - want), tol, "out[%d] = %.9g, expected %.9g", i, out[i], want);
    worst = fmax(worst, fabs(out[i] - want) / tol);
  }
  // 1000 normals take 16 groups of 16 blocks: the next draw is the first word of block
  // first + 256
  uint32_t w[4];
  Rng b = ref;
  b.ctr[0] = (uint32_t)(first + 256);
  b.ctr[1] = (uint32_t)((first + 256) >> 32);
  b.pos = 4;
  for (int j = 0; j < 4; j++) w[j] = rng_u32(&b);
  cr_assert_eq(rng_u32(&a), w[0]);
  cr_assert_eq(rng_u32(&a), w[1]);
  rng_fill_normalf(&a, out, 0, 0.0f, 1.0f);   // n = 0 draws nothing
  cr_assert_eq(rng_u32(&a), w[2]);
  cr_log_info("worst error %.2f of the tolerance", worst);
}

Test(rng, fill_normalf_moments_and_tails) {
  Rng r;
  rng_init(&r, 7, RNG_STREAM_DATA);
  float *f = malloc(BIG * sizeof *f);
  rng_fill_normalf(&r, f, BIG, 0.0f, 1.0f);
  double m = 0.0;
  for (long i = 0; i < BIG; i++) m += f[i];
  m /= BIG;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  long tail3 = 0, tail4 = 0;
  for (long i = 0; i < BIG; i++) {
    double d = f[i] - m;
    m2 += d * d, m3 += d * d * d, m4 += d * d * d * d;
    tail3 += fabsf(f[i]) > 3.0f;
    tail4 += fabsf(f[i]) > 4.0f;
  }
  m2 /= BIG, m3 /= BIG, m4 /= BIG;
  WITHIN("mean", m, 0.0, sqrt(1.0 / BIG), 5);
  WITHIN("variance", m2, 1.0, sqrt(2.0 / BIG), 5);
  WITHIN("skewness", m3 / pow(m2, 1.5), 0.0, sqrt(6.0 / BIG), 5);
  WITHIN("excess kurtosis", m4 / (m2 * m2) - 3.0, 0.0, sqrt(24.0 / BIG), 5);
  double p3 = erfc(3.0 / sqrt(2.0)), p4 = erfc(4.0 / sqrt(2.0));
  WITHIN("P(|Z| > 3)", (double)tail3 / BIG, p3, sqrt(p3 * (1 - p3) / BIG), 5);
  WITHIN("P(|Z| > 4)", (double)tail4 / BIG, p4, sqrt(p4 * (1 - p4) / BIG), 5);
  free(f);
}

// the SSE2, AVX2 and AVX-512 builds of the fill give the same bits (those the CPU has)
Test(rng, fill_normalf_same_on_every_instruction_set) {
  enum { N = 3000 };
  static float want[N], got[N];
  int best = simd_use(-1);
  for (int level = 0; level <= best; level++) {
    cr_assert_eq(simd_use(level), level);
    Rng r;
    rng_init_sub(&r, 11, RNG_STREAM_MODEL, 3);
    r.ctr[0] = 0xfffffff8u;   // the block index carries into its high word inside a group
    rng_fill_normalf(&r, level == 0 ? want : got, N, 0.5f, 1.5f);
    if (level > 0)
      cr_expect_arr_eq(got, want, sizeof want, "%s differs from sse2", simd_name(level));
    cr_assert_eq(r.ctr[1], 1u);
  }
  simd_use(-1);
  cr_log_info("instruction sets compared: sse2 to %s", simd_name(best));
}

Test(rng, fill_uniformf) {
  enum { N = 200000 };
  float *out = malloc(BIG * sizeof *out);
  Rng r;
  rng_init(&r, 10, RNG_STREAM_INIT);
  rng_fill_uniformf(&r, out, N, -1.0f, 1.0f);
  double s = 0.0, q = 0.0;
  for (int i = 0; i < N; i++) {
    cr_assert(out[i] >= -1.0f && out[i] < 1.0f, "out[%d] = %.9g", i, out[i]);
    s += out[i], q += (double)out[i] * out[i];
  }
  // U[-1, 1): mean 0 (se sqrt(1/3 / n)), E[x^2] = 1/3 (se sqrt((1/5 - 1/9) / n)); 5 se
  WITHIN("mean", s / N, 0.0, sqrt(1.0 / 3 / N), 5);
  WITHIN("E[x^2]", q / N, 1.0 / 3, sqrt((0.2 - 1.0 / 9) / N), 5);
  // [100, 101) in float: 100 + u rounds up to 101 for u > 1 - 2^-18, a few times per million
  rng_fill_uniformf(&r, out, BIG, 100.0f, 101.0f);
  for (long i = 0; i < BIG; i++)
    cr_assert(out[i] >= 100.0f && out[i] < 101.0f, "out[%ld] = %.9g outside [100, 101)", i, out[i]);
  free(out);
}
