// mkseeds DIR: the seed inputs of the fuzz targets that only the library can write (checkpoints,
// a saved policy with its checksum), so that they follow the current formats. tests/fuzz.sh runs
// it, then adds the text seeds kept in tests/fuzz/seeds/ and a real manifest.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "fail.h"
#include "linpolicy.h"

static void subdir(char *buf, size_t n, const char *dir, const char *name) {
  snprintf(buf, n, "%s/%s", dir, name);
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) fail_run("%s: cannot create: %s", buf, strerror(errno));
}

int main(int argc, char **argv) {
  fail_set_prog(argv[0]);
  if (argc != 2) fail_usage("usage: mkseeds DIR");
  char d[4096], path[4200], err[1024];

  // checkpoints of kind "fuzz" with the tags fuzz_checkpoint reads back
  subdir(d, sizeof d, argv[1], "checkpoint");
  snprintf(path, sizeof path, "%s/small.bin", d);
  CkptWriter *w = ckpt_begin(path, "fuzz", err, sizeof err);
  if (!w) fail_run("%s", err);
  ckpt_put_i64(w, "step", 1234);
  double x[3] = {0.5, -1.0, 1e300};
  ckpt_put(w, "x", x, sizeof x);
  ckpt_put(w, "empty", NULL, 0);
  if (ckpt_commit(w, err, sizeof err)) fail_run("%s", err);
  snprintf(path, sizeof path, "%s/fields.bin", d);
  if (!(w = ckpt_begin(path, "fuzz", err, sizeof err))) fail_run("%s", err);
  float wts[16];
  for (int i = 0; i < 16; i++) wts[i] = (float)i / 3.0f;
  uint32_t rng[4] = {1, 2, 3, 4};
  CkptField f[] = {{"m", wts, sizeof wts}, {"v", wts + 8, 8 * sizeof *wts}};
  ckpt_put(w, "w", wts, sizeof wts);
  ckpt_put(w, "rng", rng, sizeof rng);
  ckpt_put_fields(w, "opt", f, 2);
  if (ckpt_commit(w, err, sizeof err)) fail_run("%s", err);

  // a saved policy: what ars and demo_layer write, checksum line included
  subdir(d, sizeof d, argv[1], "policy");
  LinPolicy p;
  if (linpolicy_init(&p, "CartpoleBalance", 5, 2, err, sizeof err)) fail_run("%s", err);
  for (int i = 0; i < 10; i++) p.m[i] = (i - 4.5) / 7.0;
  double obs[5] = {0.1, -0.2, 0.3, 1.5, -2};
  for (int k = 0; k < 3; k++, obs[0] += 1) norm_update(&p.norm, obs);
  p.clip = 1;
  for (int i = 0; i < 2; i++) p.low[i] = -1, p.high[i] = 1;
  linpolicy_sync(&p);
  snprintf(path, sizeof path, "%s/saved.txt", d);
  if (linpolicy_save(&p, path, err, sizeof err)) fail_run("%s", err);
  linpolicy_free(&p);
  return 0;
}
