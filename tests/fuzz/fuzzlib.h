// fuzzlib: what the fuzz targets share: a private directory for the files some readers need, and
// writing the fuzzer's bytes to one of them.
#ifndef MB_FUZZLIB_H
#define MB_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// a directory of this process (libFuzzer's -fork/-jobs workers each get their own)
static inline const char *fuzz_dir(void) {
  static char dir[256];
  if (!dir[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mb_fuzz_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
      perror("fuzz: mkdtemp");
      abort();
    }
  }
  return dir;
}

// path = fuzz_dir()/name holding the n bytes
static inline void fuzz_file(char *path, size_t psz, const char *name, const uint8_t *data,
                             size_t n) {
  snprintf(path, psz, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
    perror(path);
    abort();
  }
}

// a broken invariant of a reader: print and abort, which libFuzzer reports as a crash
#define FUZZ_CHECK(cond, ...)                         \
  do {                                                \
    if (!(cond)) {                                    \
      fprintf(stderr, "fuzz: invariant failed: " __VA_ARGS__); \
      fputc('\n', stderr);                            \
      abort();                                        \
    }                                                 \
  } while (0)

#endif
