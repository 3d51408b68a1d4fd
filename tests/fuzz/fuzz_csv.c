// Fuzz target: the two CSV readers: the log resume of csv_open (keep_rows >= 0 cuts a log back to
// the rows a checkpoint recorded) and the aggregator's eval.csv reader (agg_curve_read). The first
// byte chooses keep_rows, the rest is the file.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agg.h"
#include "csvlog.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char path[512], err[4096];
  if (n == 0) return 0;
  int64_t keep = data[0] % 16;
  fuzz_file(path, sizeof path, "eval.csv", data + 1, n - 1);

  AggCurve c;
  if (agg_curve_read(&c, path, err, sizeof err) == 0) {
    FUZZ_CHECK(c.n > 0, "a curve without points");
    for (size_t i = 0; i < c.n; i++) {
      FUZZ_CHECK(isfinite(c.ret[i]), "a non-finite point");
      FUZZ_CHECK(i == 0 || c.step[i] > c.step[i - 1], "steps not increasing");
    }
    agg_curve_free(&c);
  } else {
    FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0, "message without the file: %s", err);
  }

  CsvLog log;
  if (csv_open(&log, path, AGG_EVAL_HEADER, keep, err, sizeof err) == 0) {
    FUZZ_CHECK(log.rows == keep, "kept %lld rows, asked for %lld", (long long)log.rows,
               (long long)keep);
    csv_close(&log);   // a failed close ends the process (csvlog.h): the fuzzer reports it
    // the file is cut back: the header and exactly keep complete rows remain
    struct stat st;
    FUZZ_CHECK(stat(path, &st) == 0 && (size_t)st.st_size <= n - 1, "the log grew");
  }
  return 0;
}
