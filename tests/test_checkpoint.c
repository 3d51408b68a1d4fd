// Tests of checkpoint: round trips, every corruption and truncation refused, atomic replacement.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "rng.h"

static char dir[64];
static char path[128];
static char err[2048];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/mb_ckpt_XXXXXX");
  cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/ck.bin", dir);
  err[0] = 0;
}

static void teardown(void) {
  DIR *d = opendir(dir);
  if (!d) return;
  char p[512];
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(dir);
}

TestSuite(checkpoint, .init = setup, .fini = teardown);

#define HAS(s) cr_assert(strstr(err, s), "message '%s' lacks '%s'", err, s)

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static unsigned char *slurp(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  cr_assert(f, "%s: %s", p, strerror(errno));
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  unsigned char *b = malloc(*n ? *n : 1);
  cr_assert_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static void spit(const char *p, const void *b, size_t n) {
  FILE *f = fopen(p, "wb");
  cr_assert(f, "%s: %s", p, strerror(errno));
  cr_assert_eq(fwrite(b, 1, n, f), n);
  fclose(f);
}

// a small checkpoint of kind "sac" with a few fields
static void write_small(const char *p, int64_t step) {
  CkptWriter *w = ckpt_begin(p, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  float v[5] = {1.5f, -2.0f, 0.25f, 3e-8f, 7.0f};
  ckpt_put_i64(w, "run.step", step);
  ckpt_put_f64(w, "run.wall", 12.5);
  ckpt_put(w, "net", v, sizeof v);
  ckpt_put(w, "empty", NULL, 0);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
}

static uint64_t bits(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

static double from_bits(uint64_t b) {
  double x;
  memcpy(&x, &b, sizeof x);
  return x;
}

Test(checkpoint, round_trip_bit_exact) {
  // doubles whose bits must survive: NaNs with payloads (quiet and signalling), -0, inf, subnormal
  uint64_t special[] = {0x7ff8000000000123ull, 0x7ff0000000000001ull, 0xfff8deadbeef0001ull,
                        0x8000000000000000ull, 0x7ff0000000000000ull, 0x0000000000000001ull};
  enum { BIG = 100003 };
  unsigned char *big = malloc(BIG);
  Rng g;
  rng_init(&g, 1, RNG_STREAM_DATA);
  for (int i = 0; i < BIG; i++) big[i] = (unsigned char)rng_u32(&g);
  char tag64[65];
  memset(tag64, 'k', 64);
  tag64[64] = 0;

  CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put_i64(w, "i64", INT64_MIN + 3);
  ckpt_put_f64(w, "nan", from_bits(0x7ff8000000000123ull));
  ckpt_put(w, "special", special, sizeof special);
  ckpt_put(w, "empty", NULL, 0);
  ckpt_put(w, "big", big, BIG);
  ckpt_put_i64(w, tag64, 64);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);

  CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
  cr_assert(r, "%s", err);
  cr_assert_eq(ckpt_field_size(r, "big"), BIG);
  cr_assert_eq(ckpt_field_size(r, "empty"), 0);
  cr_assert_eq(ckpt_field_size(r, "absent"), -1);
  // read in another order than written
  unsigned char *back = malloc(BIG);
  cr_assert_eq(ckpt_get(r, "big", back, BIG, err, sizeof err), 0, "%s", err);
  cr_assert(memcmp(back, big, BIG) == 0, "big field differs");
  uint64_t sp[6];
  cr_assert_eq(ckpt_get(r, "special", sp, sizeof sp, err, sizeof err), 0, "%s", err);
  for (int i = 0; i < 6; i++)
    cr_assert_eq(sp[i], special[i], "special[%d] = %016llx, expected %016llx", i,
                 (unsigned long long)sp[i], (unsigned long long)special[i]);
  double nan;
  cr_assert_eq(ckpt_get_f64(r, "nan", &nan, err, sizeof err), 0, "%s", err);
  cr_assert_eq(bits(nan), 0x7ff8000000000123ull, "NaN bits %016llx", (unsigned long long)bits(nan));
  int64_t i64, k;
  cr_assert_eq(ckpt_get_i64(r, "i64", &i64, err, sizeof err), 0, "%s", err);
  cr_assert_eq(i64, INT64_MIN + 3);
  cr_assert_eq(ckpt_get(r, "empty", NULL, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ckpt_get_i64(r, tag64, &k, err, sizeof err), 0, "%s", err);
  cr_assert_eq(k, 64);
  ckpt_close(r);
  free(back);
  free(big);
}

Test(checkpoint, every_flipped_byte_is_refused) {
  write_small(path, 7);
  size_t n;
  unsigned char *orig = slurp(path, &n);
  CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
  cr_assert(r, "the intact file must open: %s", err);
  ckpt_close(r);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.bin", dir);
  // three different flips of every byte: lowest bit, highest bit, all bits
  const unsigned char masks[] = {0x01, 0x80, 0xff};
  for (size_t i = 0; i < n; i++) {
    for (size_t m = 0; m < sizeof masks; m++) {
      orig[i] ^= masks[m];
      spit(bad, orig, n);
      orig[i] ^= masks[m];
      err[0] = 0;
      r = ckpt_open(bad, "sac", err, sizeof err);
      cr_assert_null(r, "byte %zu of %zu xor %02x was accepted", i, n, masks[m]);
      cr_assert(strncmp(err, bad, strlen(bad)) == 0, "byte %zu: message '%s' names no path", i,
                err);
    }
  }
  free(orig);
}

Test(checkpoint, flips_in_a_large_field_are_refused) {
  // 3 MiB + 13 bytes: the reader hashes in 1 MiB chunks, so flip bytes near chunk boundaries
  enum { N = (3 << 20) + 13 };
  unsigned char *data = malloc(N);
  Rng g;
  rng_init(&g, 2, RNG_STREAM_DATA);
  for (int i = 0; i < N; i++) data[i] = (unsigned char)rng_u32(&g);
  CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put(w, "data", data, N);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  size_t n;
  unsigned char *file = slurp(path, &n);
  size_t off = n - N - 20;   // the data ends 20 bytes (end mark) before the end of the file
  const size_t at[] = {0, 1, 7, 8, 31, 32, (1 << 20) - 1, 1 << 20, (2 << 20) + 5, N - 1};
  for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
    file[off + at[k]] ^= 0x10;
    spit(path, file, n);
    file[off + at[k]] ^= 0x10;
    CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
    cr_assert_null(r, "flip at data byte %zu accepted", at[k]);
    HAS("checksum mismatch: the file is corrupted");
  }
  spit(path, file, n);
  CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
  cr_assert(r, "restored file: %s", err);
  ckpt_close(r);
  free(file);
  free(data);
}

Test(checkpoint, every_truncation_is_refused) {
  write_small(path, 7);
  size_t n;
  unsigned char *orig = slurp(path, &n);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/bad.bin", dir);
  for (size_t len = 0; len < n; len++) {
    spit(bad, orig, len);
    err[0] = 0;
    CkptReader *r = ckpt_open(bad, "sac", err, sizeof err);
    cr_assert_null(r, "prefix of %zu of %zu bytes accepted", len, n);
    if (len > 0)
      cr_assert(strstr(err, "truncated"), "prefix of %zu bytes: message '%s'", len, err);
  }
  // and one byte too many
  unsigned char *longer = malloc(n + 1);
  memcpy(longer, orig, n);
  longer[n] = 0;
  spit(bad, longer, n + 1);
  cr_assert_null(ckpt_open(bad, "sac", err, sizeof err), "a trailing byte was accepted");
  HAS("after the end mark");
  free(longer);
  free(orig);
}

Test(checkpoint, wrong_kind) {
  write_small(path, 1);
  cr_assert_null(ckpt_open(path, "ars", err, sizeof err));
  char want[256];
  snprintf(want, sizeof want, "%s: written by 'sac', not 'ars'", path);
  cr_assert_str_eq(err, want);
}

Test(checkpoint, newer_version) {
  write_small(path, 1);
  size_t n;
  unsigned char *b = slurp(path, &n);
  uint32_t v = 2;
  memcpy(b + 8, &v, sizeof v);   // the version follows the 8-byte magic
  spit(path, b, n);
  cr_assert_null(ckpt_open(path, "sac", err, sizeof err));
  char want[256];
  snprintf(want, sizeof want, "%s: format version 2; this build reads version 1", path);
  cr_assert_str_eq(err, want);
  free(b);
}

Test(checkpoint, text_file_and_empty_file) {
  const char *text = "[sac]\nlr = 3e-4\n";
  spit(path, text, strlen(text));
  cr_assert_null(ckpt_open(path, "sac", err, sizeof err));
  char want[256];
  snprintf(want, sizeof want, "%s: not a mirrorbench checkpoint", path);
  cr_assert_str_eq(err, want);
  spit(path, "", 0);
  cr_assert_null(ckpt_open(path, "sac", err, sizeof err));
  cr_assert_str_eq(err, want);
}

Test(checkpoint, missing_file_and_directory) {
  cr_assert_null(ckpt_open(path, "sac", err, sizeof err));
  char want[256];
  snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
  cr_assert_str_eq(err, want);
  cr_assert_null(ckpt_open(dir, "sac", err, sizeof err));
  snprintf(want, sizeof want, "%s: not a regular file (a directory)", dir);
  cr_assert_str_eq(err, want);
  // a writer into a missing directory fails at once, naming the temporary file
  char p[200];
  snprintf(p, sizeof p, "%s/no/such/ck.bin", dir);
  cr_assert_null(ckpt_begin(p, "sac", err, sizeof err));
  snprintf(want, sizeof want, "%s.tmp: %s", p, strerror(ENOENT));
  cr_assert_str_eq(err, want);
}

Test(checkpoint, missing_tag_and_size_mismatch) {
  write_small(path, 3);
  CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
  cr_assert(r, "%s", err);
  char want[300];
  int64_t v;
  cr_assert_eq(ckpt_get_i64(r, "x", &v, err, sizeof err), -1);
  snprintf(want, sizeof want, "%s: no field 'x'", path);
  cr_assert_str_eq(err, want);
  float net[4];
  cr_assert_eq(ckpt_get(r, "net", net, sizeof net, err, sizeof err), -1);
  snprintf(want, sizeof want,
           "%s: field 'net' has 20 bytes, expected 16 (written with a different configuration?)",
           path);
  cr_assert_str_eq(err, want);
  // the reader still works after a refused get
  cr_assert_eq(ckpt_get_i64(r, "run.step", &v, err, sizeof err), 0, "%s", err);
  cr_assert_eq(v, 3);
  ckpt_close(r);
}

Test(checkpoint, commit_leaves_no_temporary) {
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  cr_assert(exists(tmp), "the writer writes %s", tmp);
  cr_assert(!exists(path), "nothing at PATH before the commit");
  ckpt_put_i64(w, "a", 1);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  cr_assert(!exists(tmp), "%s left after commit", tmp);
  cr_assert(exists(path), "no checkpoint after commit");
}

Test(checkpoint, abort_removes_temporary) {
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put_i64(w, "a", 1);
  ckpt_abort(w);
  cr_assert(!exists(tmp), "%s left after abort", tmp);
  cr_assert(!exists(path), "abort created the checkpoint");
}

Test(checkpoint, uncommitted_writer_keeps_old_checkpoint) {
  write_small(path, 100);
  CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put_i64(w, "run.step", 200);
  // while the new one is being written (and after it is abandoned) PATH is the old checkpoint
  for (int pass = 0; pass < 2; pass++) {
    CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
    cr_assert(r, "%s", err);
    int64_t step;
    cr_assert_eq(ckpt_get_i64(r, "run.step", &step, err, sizeof err), 0, "%s", err);
    cr_assert_eq(step, 100, "pass %d: step %lld", pass, (long long)step);
    ckpt_close(r);
    if (pass == 0) ckpt_abort(w);
  }
  // a committed writer replaces it
  write_small(path, 300);
  CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
  cr_assert(r, "%s", err);
  int64_t step;
  cr_assert_eq(ckpt_get_i64(r, "run.step", &step, err, sizeof err), 0, "%s", err);
  cr_assert_eq(step, 300);
  ckpt_close(r);
}

Test(checkpoint, duplicate_tag_fails_at_commit) {
  write_small(path, 5);
  CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put_i64(w, "a", 1);
  ckpt_put_i64(w, "b", 2);
  ckpt_put_i64(w, "a", 3);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), -1, "a duplicate tag was committed");
  char want[256];
  snprintf(want, sizeof want, "%s: duplicate field 'a'", path);
  cr_assert_str_eq(err, want);
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  cr_assert(!exists(tmp), "%s left after a failed commit", tmp);
  CkptReader *r = ckpt_open(path, "sac", err, sizeof err);
  cr_assert(r, "the old checkpoint must survive: %s", err);
  int64_t step;
  cr_assert_eq(ckpt_get_i64(r, "run.step", &step, err, sizeof err), 0, "%s", err);
  cr_assert_eq(step, 5);
  ckpt_close(r);
}

Test(checkpoint, bad_tags_fail_at_commit) {
  char tag65[66];
  memset(tag65, 't', 65);
  tag65[65] = 0;
  const char *tags[] = {tag65, ""};
  const char *say[] = {"has 65 bytes", "has 0 bytes"};
  for (int i = 0; i < 2; i++) {
    CkptWriter *w = ckpt_begin(path, "sac", err, sizeof err);
    cr_assert(w, "%s", err);
    ckpt_put_i64(w, tags[i], 1);
    ckpt_put_i64(w, "fine", 2);
    cr_assert_eq(ckpt_commit(w, err, sizeof err), -1, "tag %d was accepted", i);
    HAS(say[i]);
    cr_assert(!exists(path), "a failed commit created the checkpoint");
  }
}

Test(checkpoint, layout_matches_the_header) {
  // build the file checkpoint.h describes byte by byte; the checksum is pinned (files written by
  // this version must stay readable, so the checksum function may not change within version 1)
  CkptWriter *w = ckpt_begin(path, "ars", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put_i64(w, "n", 5);
  ckpt_put(w, "xy", "abc", 3);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  unsigned char want[128];
  size_t k = 0;
  uint32_t u32;
  uint64_t u64;
  int64_t i64 = 5;
#define PUT(p, n) (memcpy(want + k, p, n), k += n)
  PUT("MBCKPT\r\n", 8);
  u32 = 1, PUT(&u32, 4);       // version
  u32 = 3, PUT(&u32, 4);       // kind length
  PUT("ars", 3);
  u32 = 1, PUT(&u32, 4);       // field "n": tag length, tag, size, data
  PUT("n", 1);
  u64 = 8, PUT(&u64, 8);
  PUT(&i64, 8);
  u32 = 2, PUT(&u32, 4);       // field "xy"
  PUT("xy", 2);
  u64 = 3, PUT(&u64, 8);
  PUT("abc", 3);
  u32 = 0, PUT(&u32, 4);       // end mark: tag length 0, field count
  u64 = 2, PUT(&u64, 8);
#undef PUT
  size_t n;
  unsigned char *got = slurp(path, &n);
  cr_assert_eq(n, k + 8, "file of %zu bytes, expected %zu", n, k + 8);
  for (size_t i = 0; i < k; i++)
    cr_assert_eq(got[i], want[i], "byte %zu: %02x, expected %02x", i, got[i], want[i]);
  uint64_t sum;
  memcpy(&sum, got + k, 8);
  cr_assert_eq(sum, 0x6e423bbcc1f04462ull, "checksum %016llx", (unsigned long long)sum);
  free(got);
}

// ---- an owner's fields ----

// one list writes and reads: tags prefix.name (name alone without a prefix), the same bytes as
// field-by-field puts; a size that differs names the field
Test(checkpoint, fields_round_trip_as_plain_puts) {
  double a[3] = {1.5, -2.0, 3.25}, a2[3] = {0};
  int64_t n = 42, n2 = 0;
  CkptField f[2] = {{"a", a, sizeof a}, {"n", &n, sizeof n}};
  CkptWriter *w = ckpt_begin(path, "test", err, sizeof err);
  cr_assert(w, "%s", err);
  ckpt_put_fields(w, "owner", f, 2);
  ckpt_put_fields(w, "", f + 1, 1);
  cr_assert_eq(ckpt_commit(w, err, sizeof err), 0, "%s", err);
  CkptReader *r = ckpt_open(path, "test", err, sizeof err);
  cr_assert(r, "%s", err);
  // the plain reads of the tags an owner used before the lists
  cr_assert_eq(ckpt_get(r, "owner.a", a2, sizeof a2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ckpt_get_i64(r, "owner.n", &n2, err, sizeof err), 0, "%s", err);
  cr_expect_arr_eq(a2, a, sizeof a);
  cr_expect_eq(n2, 42);
  cr_expect_eq(ckpt_field_size(r, "n"), 8);
  // and the list reads back
  memset(a2, 0, sizeof a2);
  n2 = 0;
  CkptField g[2] = {{"a", a2, sizeof a2}, {"n", &n2, sizeof n2}};
  cr_assert_eq(ckpt_get_fields(r, "owner", g, 2, err, sizeof err), 0, "%s", err);
  cr_expect_arr_eq(a2, a, sizeof a);
  cr_expect_eq(n2, 42);
  CkptField bad = {"a", a2, 2 * sizeof(double)};
  cr_expect_eq(ckpt_get_fields(r, "owner", &bad, 1, err, sizeof err), -1);
  cr_expect_neq(strstr(err, "'owner.a' has 24 bytes, expected 16"), NULL, "%s", err);
  ckpt_close(r);
}

// a FIFO with no writer would block a plain fopen forever: the timeout turns that into a failure
Test(checkpoint, only_regular_files_are_read, .timeout = 10) {
  char fifo[160];
  snprintf(fifo, sizeof fifo, "%s/fifo.bin", dir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_assert_null(ckpt_open(fifo, "sac", err, sizeof err));
  HAS(": not a regular file (a FIFO or pipe)");
  HAS(fifo);
  cr_assert_null(ckpt_open("/dev/zero", "sac", err, sizeof err));
  HAS("/dev/zero: not a regular file (a character device)");
}
