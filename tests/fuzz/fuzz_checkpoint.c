// Fuzz target: the checkpoint reader (ckpt_open on the bytes as a file, then every field the
// suite's test checkpoints hold).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char path[512], err[2048];
  fuzz_file(path, sizeof path, "ck.bin", data, n);
  CkptReader *r = ckpt_open(path, "fuzz", err, sizeof err);
  if (!r) {
    FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0, "message without the file: %s", err);
    return 0;
  }
  // the tags of the seed checkpoints (tests/fuzz/mkseeds.c), and their sizes read back
  static const char *tags[] = {"step", "x", "w", "rng", "empty", "opt.m", "opt.v"};
  for (size_t i = 0; i < sizeof tags / sizeof *tags; i++) {
    int64_t size = ckpt_field_size(r, tags[i]);
    if (size < 0) continue;
    FUZZ_CHECK((uint64_t)size <= n, "field '%s' of %lld bytes in a file of %zu", tags[i],
               (long long)size, n);
    void *buf = malloc(size ? (size_t)size : 1);
    FUZZ_CHECK(buf, "out of memory");
    FUZZ_CHECK(ckpt_get(r, tags[i], buf, (size_t)size, err, sizeof err) == 0,
               "an indexed field does not read: %s", err);
    free(buf);
  }
  ckpt_close(r);
  return 0;
}
