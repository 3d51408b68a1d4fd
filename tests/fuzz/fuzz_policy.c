// Fuzz target: the linear-policy reader (linpolicy_parse, under linpolicy_load). An accepted
// policy acts, and writes a file that reads back bit-exactly, checksum verified.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "linpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char err[4096];
  LinPolicy p, q;
  if (linpolicy_parse(&p, (const char *)data, n, "fuzz.txt", err, sizeof err)) {
    FUZZ_CHECK(strncmp(err, "fuzz.txt", 8) == 0, "message without the file: %s", err);
    FUZZ_CHECK(p.m == NULL, "a refused file left a policy");
    return 0;
  }
  double *obs = calloc((size_t)p.obs_dim, sizeof *obs), *act = calloc((size_t)p.act_dim, 8);
  FUZZ_CHECK(obs && act, "out of memory");
  linpolicy_act(&p, obs, act);
  if (p.clip)
    for (int i = 0; i < p.act_dim; i++)
      FUZZ_CHECK(isnan(act[i]) || (act[i] >= p.low[i] && act[i] <= p.high[i]),
                 "a clipped action outside its bounds");
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  FUZZ_CHECK(f && linpolicy_write(&p, f) == 0 && fclose(f) == 0, "cannot write");
  FUZZ_CHECK(linpolicy_parse(&q, text, len, "back.txt", err, sizeof err) == 0,
             "the written policy does not read back: %s", err);
  FUZZ_CHECK(q.checksum == 1, "the written policy has no checksum");
  size_t O = (size_t)p.obs_dim, A = (size_t)p.act_dim;
  FUZZ_CHECK(q.obs_dim == p.obs_dim && q.act_dim == p.act_dim && q.clip == p.clip &&
             q.norm.count == p.norm.count && strcmp(q.task, p.task) == 0 &&
             memcmp(q.m, p.m, O * A * sizeof *p.m) == 0 &&
             memcmp(q.norm.mean, p.norm.mean, O * sizeof(double)) == 0 &&
             memcmp(q.norm.m2, p.norm.m2, O * sizeof(double)) == 0 &&
             memcmp(q.low, p.low, A * sizeof *p.low) == 0 &&
             memcmp(q.high, p.high, A * sizeof *p.high) == 0,
             "the round trip is not bit-exact");
  linpolicy_free(&q);
  linpolicy_free(&p);
  free(text);
  free(obs);
  free(act);
  return 0;
}
