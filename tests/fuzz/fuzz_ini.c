// Fuzz target: the INI reader (cfg_read_bytes, the reader under cfg_read_file) and the assignment
// of what it read to a table of every parameter type, then the INI written from the result, which
// must read back to the same values.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzzlib.h"

#define A_PARAMS(X)                                              \
  X(INT, batch, "256", "[1, 65536]", "batch")                    \
  X(INT, steps, "1000", "[0, inf]", "budget")                    \
  X(REAL, gamma, "0.99", "[0, 1)", "discount")                   \
  X(REAL, zmax, "inf", "[0.7, inf]", "height")                   \
  X(BOOL, twin, "true", "", "twin")                              \
  X(CHOICE, utility, "exp", "exp|elite|cost", "utility")         \
  X(STR, name, "HalfCheetah", "nonempty", "task")                \
  X(STR, note, "", "", "text")
PARAMS_DEFINE(AParams, a_register, A_PARAMS)

#define B_PARAMS(X) X(REAL, mass, "1", "(0, 100]", "mass") X(INT, seed, "0", "[0, 1e9]", "seed")
PARAMS_DEFINE(BParams, b_register, B_PARAMS)

static void setup(Config *c, AParams *a, BParams *b) {
  cfg_init(c);
  a_register(c, "run", a);
  b_register(c, "env", b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char err[4096];
  Config c;
  AParams a;
  BParams b;
  setup(&c, &a, &b);
  int rc = cfg_read_bytes(&c, (const char *)data, n, "fuzz.ini", CFG_FILE, err, sizeof err);
  FUZZ_CHECK(rc == 0 || strncmp(err, "fuzz.ini", 8) == 0, "message without the file: %s", err);
  if (rc == 0 && cfg_apply(&c, 1, err, sizeof err) == 0) {
    // what the manifest would hold reads back to the same values
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_CHECK(f, "open_memstream");
    cfg_write_ini(&c, f);
    fclose(f);
    Config d;
    AParams a2;
    BParams b2;
    setup(&d, &a2, &b2);
    int back = cfg_read_string(&d, text, "back.ini", CFG_MANIFEST, err, sizeof err) ||
               cfg_apply(&d, 1, err, sizeof err);
    // a string value may not survive (leading blanks, ';'), but what was accepted must read
    FUZZ_CHECK(back == 0, "the written INI does not read back: %s\n%s", err, text);
    FUZZ_CHECK(a.batch == a2.batch && a.steps == a2.steps && b.seed == b2.seed,
               "integers differ after the round trip");
    FUZZ_CHECK(memcmp(&a.gamma, &a2.gamma, sizeof a.gamma) == 0 &&
               memcmp(&b.mass, &b2.mass, sizeof b.mass) == 0, "reals differ after the round trip");
    FUZZ_CHECK(a.twin == a2.twin && a.utility == a2.utility, "bool or choice differs");
    cfg_free(&d);
    free(text);
  }
  cfg_free(&c);
  return 0;
}
