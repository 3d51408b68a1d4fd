// Tests of stats: mean, std, quantiles, IQM and the stratified bootstrap.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "rng.h"
#include "stats.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

// |got - want| <= tol, printing both
#define NEAR(got, want, tol)                                                                  \
  do {                                                                                        \
    double g_ = (got), w_ = (want);                                                           \
    cr_assert(fabs(g_ - w_) <= (tol), "%s = %.17g, expected %.17g (tol %g)", #got, g_, w_,    \
              (double)(tol));                                                                 \
  } while (0)

Test(stats, mean_and_std_known_answers) {
  double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
  // mean 40 / 8 = 5; squared deviations 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32; std sqrt(32 / 7)
  NEAR(stats_mean(x, LEN(x)), 5.0, 0.0);
  NEAR(stats_std(x, LEN(x)), sqrt(32.0 / 7.0), 1e-15);
  NEAR(stats_std(x, 1), 0.0, 0.0);
  NEAR(stats_std(x, 0), 0.0, 0.0);
  NEAR(stats_mean(x, 1), 2.0, 0.0);
  cr_assert(isnan(stats_mean(x, 0)), "mean of nothing is NaN");
  // a large common offset must not swamp the spread: 1e9 + {1, 2, 3} has std exactly 1
  double y[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
  NEAR(stats_std(y, 3), 1.0, 0.0);
}

Test(stats, quantile_linear_interpolation) {
  double s[] = {1, 2, 3, 4, 5};
  NEAR(stats_quantile_sorted(s, 5, 0.0), 1.0, 0.0);
  NEAR(stats_quantile_sorted(s, 5, 1.0), 5.0, 0.0);
  NEAR(stats_quantile_sorted(s, 5, 0.5), 3.0, 0.0);    // position 0.5 * 4 = 2
  NEAR(stats_quantile_sorted(s, 5, 0.25), 2.0, 0.0);   // position 1
  NEAR(stats_quantile_sorted(s, 5, 0.1), 1.4, 1e-15);  // position 0.4: 1 + 0.4 * (2 - 1)
  NEAR(stats_quantile_sorted(s, 5, 0.95), 4.8, 1e-15); // position 3.8: 4 + 0.8 * (5 - 4)
  double t[] = {1, 2, 3, 4};
  NEAR(stats_quantile_sorted(t, 4, 0.5), 2.5, 0.0);    // position 1.5 (numpy: 2.5)
  NEAR(stats_quantile_sorted(t, 4, 0.9), 3.7, 1e-15);  // position 2.7: 3 + 0.7
  double u[] = {10, 20};
  NEAR(stats_quantile_sorted(u, 2, 0.3), 13.0, 1e-14); // position 0.3: 10 + 0.3 * 10
  double one[] = {42};
  NEAR(stats_quantile_sorted(one, 1, 0.7), 42.0, 0.0);
  // an order statistic next to an infinity stays what it is
  double inf[] = {1, 2, INFINITY};
  NEAR(stats_quantile_sorted(inf, 3, 0.5), 2.0, 0.0);
}

Test(stats, sort_ascending_nan_last) {
  double x[] = {3, -1, NAN, 2.5, -INFINITY, 0, 2.5};
  stats_sort(x, LEN(x));
  double want[] = {-INFINITY, -1, 0, 2.5, 2.5, 3};
  for (size_t i = 0; i < LEN(want); i++)
    cr_assert_eq(x[i], want[i], "x[%zu] = %g, expected %g", i, x[i], want[i]);
  cr_assert(isnan(x[6]), "NaN sorts last, got %g", x[6]);
}

Test(stats, iqm_hand_computed) {
  // n = 1: floor(1/4) = 0 dropped: 7
  double a[] = {7};
  NEAR(stats_iqm(a, LEN(a)), 7.0, 0.0);
  // n = 4: drop 1 each end of 1 2 3 4: (2 + 3) / 2 = 2.5
  double b[] = {4, 1, 3, 2};
  NEAR(stats_iqm(b, LEN(b)), 2.5, 0.0);
  // n = 5: drop 1 each end of 1 3 5 7 10: (3 + 5 + 7) / 3 = 5
  double c[] = {10, 1, 7, 3, 5};
  NEAR(stats_iqm(c, LEN(c)), 5.0, 0.0);
  // n = 6: drop 1 each end of -50 1 2 3 6 100: (1 + 2 + 3 + 6) / 4 = 3
  // (dropping ceil(1.5) = 2 would give 2.5)
  double d[] = {6, 100, 1, 2, 3, -50};
  NEAR(stats_iqm(d, LEN(d)), 3.0, 0.0);
  // n = 8: drop 2 each end of 0 0 1 2 4 8 100 1000: (1 + 2 + 4 + 8) / 4 = 3.75
  double e[] = {100, 0, 8, 1000, 2, 0, 4, 1};
  NEAR(stats_iqm(e, LEN(e)), 3.75, 0.0);
  // n = 10: drop 2 each end of 0 0 0 1 2 3 5 8 13 1000: (0 + 1 + 2 + 3 + 5 + 8) / 6 = 19 / 6
  // (dropping 3 would give 11 / 4)
  double f[] = {13, 0, 1000, 5, 0, 3, 8, 1, 2, 0};
  double f0[LEN(f)];
  memcpy(f0, f, sizeof f);
  NEAR(stats_iqm(f, LEN(f)), 19.0 / 6.0, 1e-15);
  cr_assert(memcmp(f, f0, sizeof f) == 0, "stats_iqm modified its input");
}

static double first(const double *x, size_t n) {
  (void)n;
  return x[0];
}

Test(stats, bootstrap_one_stratum_exact_interval) {
  // replicate means of {1, 2, 3} lie in {1, 4/3, ..., 3}; the mean is 1 only when all three
  // draws are 1, probability 1/27 = 3.7% > 2.5%, so with 10000 replicates about 370 (sd 19) of
  // the sorted replicates equal 1 and the 2.5% position 249.975 lies inside that block (needs
  // >= 251, 6 sd below the expectation); the same holds for 3 at the top
  double x[] = {1, 2, 3};
  size_t n[] = {3};
  Rng r;
  rng_init(&r, 1, RNG_STREAM_BOOTSTRAP);
  Interval iv;
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 10000, 0.95, &r), 0);
  NEAR(iv.point, 2.0, 0.0);
  NEAR(iv.lo, 1.0, 0.0);
  NEAR(iv.hi, 3.0, 0.0);
}

Test(stats, bootstrap_two_values) {
  // replicate means of {0, 1}: 0 (1/4), 0.5 (1/2), 1 (1/4); the 5% and 95% points fall inside
  // the blocks of 0 and 1 (about 2500 of 10000 replicates each, 500 needed)
  double x[] = {0, 1};
  size_t n[] = {2};
  Rng r;
  rng_init(&r, 2, RNG_STREAM_BOOTSTRAP);
  Interval iv;
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 10000, 0.9, &r), 0);
  NEAR(iv.point, 0.5, 0.0);
  NEAR(iv.lo, 0.0, 0.0);
  NEAR(iv.hi, 1.0, 0.0);
}

Test(stats, bootstrap_is_stratified) {
  // resampling within each stratum always draws three 0s and three 10s: every replicate mean is
  // 5, so the interval is the point; pooled resampling would spread it over [0, 10]
  double x[] = {0, 0, 0, 10, 10, 10};
  size_t n[] = {3, 3};
  Rng r;
  rng_init(&r, 3, RNG_STREAM_BOOTSTRAP);
  Interval iv;
  cr_assert_eq(stats_bootstrap(&iv, x, n, 2, stats_mean, 2000, 0.95, &r), 0);
  NEAR(iv.point, 5.0, 0.0);
  NEAR(iv.lo, 5.0, 0.0);
  NEAR(iv.hi, 5.0, 0.0);
  // the strata are resampled independently: with S = 2 strata {0, 1} and {5}, the first value
  // of a replicate is 0 or 1, never 5
  double y[] = {0, 1, 5};
  size_t m[] = {2, 1};
  cr_assert_eq(stats_bootstrap(&iv, y, m, 2, first, 1000, 0.5, &r), 0);
  cr_assert(iv.lo >= 0.0 && iv.hi <= 1.0, "first value interval [%g, %g]", iv.lo, iv.hi);
}

Test(stats, bootstrap_width_matches_normal_theory) {
  // the percentile interval for the mean of n = 100 N(0, 1) values has half width about
  // 1.96 * s / sqrt(n) (times sqrt((n-1)/n) for the plug-in variance); the Monte Carlo error of
  // each end with 4000 replicates is about 2% of the half width, so 12% is over 4 sd
  enum { N = 100 };
  double x[N];
  Rng d;
  rng_init(&d, 4, RNG_STREAM_DATA);
  for (int i = 0; i < N; i++) x[i] = rng_normal(&d);
  size_t n[] = {N};
  Rng r;
  rng_init(&r, 4, RNG_STREAM_BOOTSTRAP);
  Interval iv;
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 4000, 0.95, &r), 0);
  double half = 1.959964 * stats_std(x, N) / sqrt(N) * sqrt((N - 1.0) / N);
  NEAR(iv.point, stats_mean(x, N), 0.0);
  NEAR(iv.hi - iv.point, half, 0.12 * half);
  NEAR(iv.point - iv.lo, half, 0.12 * half);
}

Test(stats, bootstrap_reproducible_and_point_is_stat_of_data) {
  double x[] = {0.3, 1.7, 2.2, 5.0, 0.1, 9.4, 3.3, 2.8, 4.4};
  size_t n[] = {4, 5};
  Rng r1, r2, r3;
  rng_init(&r1, 5, RNG_STREAM_BOOTSTRAP);
  rng_init(&r2, 5, RNG_STREAM_BOOTSTRAP);
  rng_init(&r3, 6, RNG_STREAM_BOOTSTRAP);
  Interval a, b, c;
  cr_assert_eq(stats_bootstrap(&a, x, n, 2, stats_iqm, 500, 0.95, &r1), 0);
  cr_assert_eq(stats_bootstrap(&b, x, n, 2, stats_iqm, 500, 0.95, &r2), 0);
  cr_assert_eq(stats_bootstrap(&c, x, n, 2, stats_iqm, 500, 0.95, &r3), 0);
  cr_assert(a.point == b.point && a.lo == b.lo && a.hi == b.hi,
            "same seed gave [%.17g, %.17g] and [%.17g, %.17g]", a.lo, a.hi, b.lo, b.hi);
  cr_assert(a.lo != c.lo || a.hi != c.hi, "another seed gave the same interval");
  NEAR(a.point, stats_iqm(x, 9), 0.0);
  cr_assert(a.lo <= a.hi, "[%g, %g]", a.lo, a.hi);
}

Test(stats, bootstrap_bad_arguments) {
  double x[] = {1, 2, 3};
  size_t n[] = {3}, n0[] = {3, 0};
  Rng r;
  rng_init(&r, 7, RNG_STREAM_BOOTSTRAP);
  Interval iv;
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 0, 0.95, &r), -1, "reps 0");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, -5, 0.95, &r), -1, "reps < 0");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 100, 0.0, &r), -1, "conf 0");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 100, 1.0, &r), -1, "conf 1");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 100, -0.5, &r), -1, "conf < 0");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 100, NAN, &r), -1, "conf NaN");
  cr_assert_eq(stats_bootstrap(&iv, x, n0, 2, stats_mean, 100, 0.95, &r), -1, "empty stratum");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 0, stats_mean, 100, 0.95, &r), -1, "no strata");
  cr_assert_eq(stats_bootstrap(&iv, x, n, 1, stats_mean, 1, 0.5, &r), 0, "reps 1 is fine");
}
