// Tests of linpolicy: the action as documented (normalisation, std floor, clipping), the text file
// (bit-exact round trip, the documented example, malformed files refused with FILE:LINE), file
// recognition and the task check.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "linpolicy.h"
#include "rng.h"

static char err[4096];

// a policy with every field set to something non-trivial
static void filled(LinPolicy *p, int O, int A, uint32_t seed) {
  cr_assert_eq(linpolicy_init(p, "HalfCheetah", O, A, err, sizeof err), 0, "%s", err);
  Rng r;
  rng_init(&r, seed, RNG_STREAM_DATA);
  for (int i = 0; i < O * A; i++) p->m[i] = rng_normal(&r) * pow(10.0, rng_below(&r, 9) - 4.0);
  double *x = malloc((size_t)O * sizeof *x);
  for (int n = 0; n < 37; n++) {
    for (int j = 0; j < O; j++) x[j] = 3.0 * j + rng_normal(&r) * (j + 1) / 7.0;
    norm_update(&p->norm, x);
  }
  free(x);
  linpolicy_sync(p);
  p->clip = 1;
  for (int i = 0; i < A; i++) p->low[i] = -0.4 - i, p->high[i] = 1.0 / 3.0 + i;
}

static LinPolicy parse(const char *text, int *rc) {
  LinPolicy p;
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  cr_assert_not_null(f);
  *rc = linpolicy_read(&p, f, "p.txt", err, sizeof err);
  fclose(f);
  return p;
}

Test(linpolicy, round_trip_is_bit_exact) {
  LinPolicy p, q;
  filled(&p, 17, 6, 1);
  p.low[2] = -INFINITY, p.high[2] = INFINITY;
  p.m[5] = -0.0;
  char path[] = "/tmp/mb_linpolicy_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(linpolicy_save(&p, path, err, sizeof err), 0, "%s", err);
  cr_assert_eq(linpolicy_load(&q, path, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(q.task, "HalfCheetah");
  cr_assert_eq(q.obs_dim, 17);
  cr_assert_eq(q.act_dim, 6);
  cr_assert_eq(q.clip, 1);
  cr_assert_eq(q.norm.count, 37);
  cr_assert_eq(memcmp(q.m, p.m, 17 * 6 * sizeof *p.m), 0, "M differs after the round trip");
  cr_assert_eq(memcmp(q.norm.mean, p.norm.mean, 17 * sizeof(double)), 0);
  cr_assert_eq(memcmp(q.norm.m2, p.norm.m2, 17 * sizeof(double)), 0);
  cr_assert_eq(memcmp(q.std, p.std, 17 * sizeof(double)), 0, "std is recomputed identically");
  cr_assert_eq(memcmp(q.low, p.low, 6 * sizeof(double)), 0);
  cr_assert_eq(memcmp(q.high, p.high, 6 * sizeof(double)), 0);
  // the same actions, and saving again gives the same bytes
  double obs[17], a1[6], a2[6];
  for (int j = 0; j < 17; j++) obs[j] = sin(j) * 5;
  linpolicy_act(&p, obs, a1);
  linpolicy_act(&q, obs, a2);
  cr_assert_eq(memcmp(a1, a2, sizeof a1), 0);
  char *t1 = NULL, *t2 = NULL;
  size_t n1, n2;
  FILE *f1 = open_memstream(&t1, &n1), *f2 = open_memstream(&t2, &n2);
  linpolicy_write(&p, f1), linpolicy_write(&q, f2);
  fclose(f1), fclose(f2);
  cr_assert_eq(n1, n2);
  cr_assert_eq(memcmp(t1, t2, n1), 0);
  cr_assert(linpolicy_sniff(path));
  unlink(path);
  free(t1), free(t2);
  linpolicy_free(&p), linpolicy_free(&q);
}

// the example of the header, with comments and blank lines, at small dimensions
Test(linpolicy, documented_format) {
  const char *text = "mirrorbench-linear-policy 1\n"
                     "# trained by ars\n"
                     "task Hopper\n"
                     "obs 3   # O\n"
                     "act 2\n"
                     "\n"
                     "clip yes\n"
                     "low -1 -inf\n"
                     "high\t1 inf\n"
                     "count 10\n"
                     "mean 0.5 -2 1e-3\n"
                     "m2 9 0 36\n"
                     "M 1 2 3\n"
                     "M -4 0.25 1e2\n"
                     "\n";
  int rc;
  LinPolicy p = parse(text, &rc);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_str_eq(p.task, "Hopper");
  cr_assert_eq(p.obs_dim, 3);
  cr_assert_eq(p.act_dim, 2);
  cr_assert_eq(p.clip, 1);
  cr_assert(p.low[0] == -1 && isinf(p.low[1]) && p.low[1] < 0);
  cr_assert(p.high[0] == 1 && isinf(p.high[1]) && p.high[1] > 0);
  cr_assert_eq(p.norm.count, 10);
  cr_assert(p.norm.mean[1] == -2 && p.norm.mean[2] == 1e-3);
  cr_assert(p.m[2] == 3 && p.m[3] == -4 && p.m[5] == 100);
  // std: sqrt(9 / 9) = 1, floor 1 for the dimension that never moved, sqrt(36 / 9) = 2
  cr_assert(p.std[0] == 1 && p.std[1] == 1 && p.std[2] == 2);
  linpolicy_free(&p);
}

// a = clip(M (x - mean) / std)
Test(linpolicy, action_as_documented) {
  LinPolicy p;
  filled(&p, 5, 3, 2);
  double var[5], obs[5] = {1, -2, 30, 4.5, 0}, act[3];
  norm_var(&p.norm, var);
  p.clip = 0;
  linpolicy_act(&p, obs, act);
  for (int i = 0; i < 3; i++) {
    double want = 0;
    for (int j = 0; j < 5; j++)
      want += p.m[i * 5 + j] * ((obs[j] - p.norm.mean[j]) / sqrt(var[j]));
    cr_assert(fabs(act[i] - want) <= 1e-12 * (1 + fabs(want)), "act[%d] %.17g, want %.17g", i,
              act[i], want);
  }
  // clipped to the bounds
  for (int i = 0; i < 15; i++) p.m[i] = i % 2 ? 50 : -50;
  p.clip = 1;
  linpolicy_act(&p, obs, act);
  for (int i = 0; i < 3; i++) cr_assert(act[i] == p.low[i] || act[i] == p.high[i]);
  // another matrix through the same normalisation
  double m2[15] = {0}, act2[3];
  m2[3 * 5 - 1] = 2;   // act[2] = 2 * y_4
  p.clip = 0;
  linpolicy_act_with(&p, m2, obs, act2);
  cr_assert(act2[0] == 0 && act2[1] == 0);
  cr_assert(fabs(act2[2] - 2 * (0 - p.norm.mean[4]) / sqrt(var[4])) < 1e-12);
  linpolicy_free(&p);

  // an empty normaliser is the identity; a single sample centres but does not scale
  LinPolicy q;
  cr_assert_eq(linpolicy_init(&q, "Swimmer", 2, 1, err, sizeof err), 0);
  q.m[0] = 2, q.m[1] = -3;
  double x[2] = {0.5, 4}, a;
  linpolicy_act(&q, x, &a);
  cr_assert(a == 2 * 0.5 - 3 * 4);
  norm_update(&q.norm, (double[]){1, 1});
  linpolicy_sync(&q);
  linpolicy_act(&q, x, &a);
  cr_assert(a == 2 * -0.5 - 3 * 3);
  linpolicy_free(&q);
}

// observations longer than the block size of the implementation
Test(linpolicy, wide_observation) {
  LinPolicy p;
  filled(&p, 700, 2, 3);
  p.clip = 0;
  double *obs = malloc(700 * sizeof *obs), act[2], var[700];
  for (int j = 0; j < 700; j++) obs[j] = cos(j);
  norm_var(&p.norm, var);
  linpolicy_act(&p, obs, act);
  for (int i = 0; i < 2; i++) {
    double want = 0;
    for (int j = 0; j < 700; j++)
      want += p.m[i * 700 + j] * ((obs[j] - p.norm.mean[j]) / sqrt(var[j]));
    cr_assert(fabs(act[i] - want) <= 1e-9 * (1 + fabs(want)));
  }
  free(obs);
  linpolicy_free(&p);
}

static const char *good_head = "mirrorbench-linear-policy 1\ntask T\nobs 2\nact 1\nclip no\n";

// text (after good_head when it starts with '+') is refused with a message containing want
static void refused(const char *text, const char *want) {
  char buf[1024];
  if (text[0] == '+') snprintf(buf, sizeof buf, "%s%s", good_head, text + 1);
  else snprintf(buf, sizeof buf, "%s", text);
  int rc;
  err[0] = 0;
  LinPolicy p = parse(buf, &rc);
  cr_assert_eq(rc, -1, "accepted:\n%s", buf);
  cr_assert(strstr(err, want), "message '%s', expected '%s'", err, want);
  cr_assert_null(p.m, "a refused file leaves the policy empty");
}

Test(linpolicy, malformed_files_refused) {
  refused("", "p.txt: empty file");
  refused("0.1 0.2\n", "p.txt:1: not a linear-policy file");
  refused("mirrorbench-linear-policy 2\n", "p.txt:1: format version '2'; this program reads "
          "version 1");
  refused("mirrorbench-linear-policy 1\ntask\n", "p.txt:2: task: expected 1 value, got 0");
  refused("mirrorbench-linear-policy 1\ntask T\nact 1\n", "p.txt:3: expected 'obs', got 'act'");
  refused("mirrorbench-linear-policy 1\ntask T\nobs 0\n", "p.txt:3: obs: expected an integer in "
          "[1, 1000000], got '0'");
  refused("mirrorbench-linear-policy 1\ntask T\nobs two\n", "obs: expected an integer");
  refused("mirrorbench-linear-policy 1\ntask T\nobs 2\nact 1\nclip maybe\n",
          "p.txt:5: clip: expected yes or no, got 'maybe'");
  refused("+low -1 -1\n", "p.txt:6: low: expected 1 value, got 2");
  refused("+low -1\nhigh -2\n", "p.txt:7: high: value 1 (-2) is below low (-1)");
  refused("+low -1\nhigh nan\n", "p.txt:7: high: value 1 is not a number: 'nan'");
  refused("+low -1\nhigh 1\ncount -1\n", "p.txt:8: count: expected an integer");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 inf\n", "p.txt:9: mean: value 2 is not a finite "
          "number: 'inf'");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 -1\n", "p.txt:10: m2: value 2 is negative");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nM 1 2x\n",
          "p.txt:11: M: value 2 is not a finite number: '2x'");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nM 1\n", "p.txt:11: M: expected 2 values, "
          "got 1");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\n", "p.txt:11: the file ends early: row 1 "
          "of M (A = 1 rows) missing");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\n", "p.txt:10: the file ends early; expected 'm2'");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nM 1 2\nM 3 4\n",
          "p.txt:12: unexpected 'M' after the last row of M (A = 1)");
  // an unreadable path
  LinPolicy p;
  cr_assert_eq(linpolicy_load(&p, "/nonexistent/policy.txt", err, sizeof err), -1);
  cr_assert(strstr(err, "/nonexistent/policy.txt: cannot open"), "%s", err);
}

Test(linpolicy, sniff_and_check) {
  char path[] = "/tmp/mb_linpolicy_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, "0.1 0.2 0.3\n", 12), 12);
  close(fd);
  cr_assert_not(linpolicy_sniff(path), "an action file is not a policy file");
  cr_assert_not(linpolicy_sniff("/nonexistent"));
  LinPolicy p;
  filled(&p, 4, 1, 4);
  cr_assert_eq(linpolicy_save(&p, path, err, sizeof err), 0, "%s", err);
  cr_assert(linpolicy_sniff(path));
  unlink(path);
  cr_assert_eq(linpolicy_check(&p, "HalfCheetah", 4, 1, err, sizeof err), 0);
  cr_assert_eq(linpolicy_check(&p, "Hopper", 11, 3, err, sizeof err), -1);
  cr_assert(strstr(err, "the policy was trained on HalfCheetah (observation 4, action 1); this "
                        "task is Hopper (observation 11, action 3)"), "%s", err);
  linpolicy_free(&p);
  cr_assert_eq(linpolicy_init(&p, "has space", 1, 1, err, sizeof err), -1);
  cr_assert_eq(linpolicy_init(&p, "T", 0, 1, err, sizeof err), -1);
}

// ---- the checksum line, and inputs that must end ----

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  char *buf = malloc(1 << 20);
  *n = fread(buf, 1, 1 << 20, f);
  fclose(f);
  buf[*n] = 0;
  return buf;
}

static void spit(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, n, f), n);
  cr_assert_eq(fclose(f), 0);
}

Test(linpolicy, saved_files_end_with_their_checksum) {
  LinPolicy p, q;
  filled(&p, 5, 2, 7);
  char path[] = "/tmp/mb_linpolicy_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(linpolicy_save(&p, path, err, sizeof err), 0, "%s", err);
  size_t n;
  char *text = slurp(path, &n);
  // the last line is the digest of every byte before it
  cr_assert(n > 27 && text[n - 1] == '\n');
  char *last = text + n - 26;
  cr_assert_eq(strncmp(last, "checksum ", 9), 0, "last line: %s", last);
  char want[32];
  snprintf(want, sizeof want, "checksum " DIGEST_FMT "\n", digest_bytes(text, (size_t)(last - text)));
  cr_assert_str_eq(last, want);
  cr_assert_eq(linpolicy_load(&q, path, err, sizeof err), 0, "%s", err);
  cr_assert_eq(q.checksum, 1, "a saved file's checksum is verified");
  cr_assert_eq(memcmp(q.m, p.m, 10 * sizeof *p.m), 0);
  linpolicy_free(&q);

  // one digit of M changed: refused, naming the checksum, before the rows are read
  char *row = strstr(text, "\nM ");
  cr_assert_not_null(row);
  char *digit = row + 3;
  while (*digit < '0' || *digit > '9') digit++;
  *digit = *digit == '9' ? '8' : *digit + 1;
  spit(path, text, n);
  cr_assert_eq(linpolicy_load(&q, path, err, sizeof err), -1);
  cr_assert(strstr(err, ": checksum mismatch: the file was changed or damaged after it was "
                        "written (recorded "), "%s", err);
  cr_assert(strstr(err, path), "%s", err);
  cr_assert_null(q.m);

  // without the checksum line (hand-written, or from an earlier build): loaded, flagged
  spit(path, text, (size_t)(last - text));
  cr_assert_eq(linpolicy_load(&q, path, err, sizeof err), 0, "%s", err);
  cr_assert_eq(q.checksum, 0);
  linpolicy_free(&q);
  free(text);
  unlink(path);
  linpolicy_free(&p);
}

Test(linpolicy, malformed_checksum_lines_refused) {
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nM 1 2\nchecksum 12ab\n",
          "p.txt:12: checksum: expected 16 hex digits, got '12ab'");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nM 1 2\nchecksum 0123456789abcdeg\n",
          "p.txt:12: checksum: expected 16 hex digits");
  // a checksum line that is not the last
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nM 1 2\nchecksum 0123456789abcdef\n# x\n",
          "p.txt:12: unexpected 'checksum' after the last row of M (A = 1) (a checksum line must "
          "be the last)");
  refused("+low -1\nhigh 1\ncount 3\nmean 0 0\nm2 1 1\nchecksum 0123456789abcdef\nM 1 2\n",
          "p.txt:11: expected 'M', got 'checksum'");
}

Test(linpolicy, control_characters_refused_naming_the_line) {
  refused("+low -1\nhigh 1\ncount 3\nmean 0\x01 0\n", "p.txt:9: control character 0x01");
  refused("mirrorbench-linear-policy 1\x0b\n", "p.txt:1: control character 0x0b");
  refused("+low -1\rhigh 1\n", "p.txt:6: control character 0x0d");
  // a NUL would end the line for a C reader: here it is an error
  static const char nul[] = "mirrorbench-linear-policy 1\ntask T\nobs 2\x00 junk\n";
  LinPolicy p;
  cr_assert_eq(linpolicy_parse(&p, nul, sizeof nul - 1, "p.txt", err, sizeof err), -1);
  cr_assert(strstr(err, "p.txt:3: control character 0x00"), "%s", err);
  // CRLF line ends and tabs are text
  const char *crlf = "mirrorbench-linear-policy 1\r\ntask T\r\nobs 1\r\nact 1\r\nclip no\r\n"
                     "low\t-1\r\nhigh 1\r\ncount 0\r\nmean 0\r\nm2 0\r\nM 2\r\n";
  cr_assert_eq(linpolicy_parse(&p, crlf, strlen(crlf), "p.txt", err, sizeof err), 0, "%s", err);
  cr_assert_eq(p.m[0], 2);
  linpolicy_free(&p);
}

// a FIFO with no writer would block a plain fopen forever: the timeout turns that into a failure
Test(linpolicy, only_regular_files_are_read, .timeout = 10) {
  char d[] = "/tmp/mb_linpolicy_XXXXXX", fifo[64];
  cr_assert(mkdtemp(d));
  snprintf(fifo, sizeof fifo, "%s/fifo", d);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  LinPolicy p;
  cr_assert_eq(linpolicy_load(&p, fifo, err, sizeof err), -1);
  cr_assert(strstr(err, ": not a regular file (a FIFO or pipe)"), "%s", err);
  cr_assert_not(linpolicy_sniff(fifo), "sniffing does not wait for a writer either");
  cr_assert_eq(linpolicy_load(&p, "/dev/zero", err, sizeof err), -1);
  cr_assert(strstr(err, "/dev/zero: not a regular file (a character device)"), "%s", err);
  cr_assert_not(linpolicy_sniff("/dev/zero"));
  cr_assert_eq(linpolicy_load(&p, d, err, sizeof err), -1);
  cr_assert(strstr(err, ": not a regular file (a directory)"), "%s", err);
  // beyond 16 MiB (a sparse file of zeros: only the size is looked at first)
  char big[64];
  snprintf(big, sizeof big, "%s/big", d);
  spit(big, "", 0);
  cr_assert_eq(truncate(big, (16 << 20) + 1), 0);
  cr_assert_eq(linpolicy_load(&p, big, err, sizeof err), -1);
  cr_assert(strstr(err, ": larger than 16 MiB, the bound for a policy file"), "%s", err);
  unlink(big);
  unlink(fifo);
  rmdir(d);
}

Test(linpolicy, dimensions_the_file_cannot_hold_are_refused_before_allocating) {
  // 800 MB of matrix asked for by 50 bytes
  refused("mirrorbench-linear-policy 1\ntask T\nobs 1000000\nact 100\nclip no\n",
          "p.txt:4: obs 1000000 and act 100 need 102000200 numbers, more than the 8 bytes left "
          "in the file can hold");
}
