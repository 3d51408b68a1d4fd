// csvlog: fixed-schema CSV logs flushed per row (see csvlog.h).
#include "csvlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fail.h"

static int count_cols(const char *header) {
  int n = 1;
  for (const char *s = header; *s; s++) n += *s == ',';
  return n;
}

// keep the header and the first keep_rows data rows of an existing log, drop the rest
static int cut_back(CsvLog *c, const char *header, int64_t keep_rows, char *err, size_t errsz) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len = getline(&line, &cap, c->f);
  size_t hl = strlen(header);
  if (len < 0 || (size_t)len != hl + 1 || strncmp(line, header, hl) || line[hl] != '\n') {
    free(line);
    return fail_msg(err, errsz, "%s: header differs from '%s' (a log of another program?)",
                    c->path, header);
  }
  int64_t rows = 0;
  while (rows < keep_rows && (len = getline(&line, &cap, c->f)) > 0 && line[len - 1] == '\n')
    rows++;
  free(line);
  if (rows < keep_rows)
    return fail_msg(err, errsz, "%s: has %lld complete rows, the checkpoint recorded %lld",
                    c->path, (long long)rows, (long long)keep_rows);
  off_t end = ftello(c->f);
  if (end < 0 || fflush(c->f) || ftruncate(fileno(c->f), end) || fseeko(c->f, end, SEEK_SET))
    return fail_msg(err, errsz, "%s: cannot cut back to %lld rows: %s", c->path,
                    (long long)keep_rows, strerror(errno));
  c->rows = rows;
  return 0;
}

int csv_open(CsvLog *c, const char *path, const char *header, int64_t keep_rows, char *err,
             size_t errsz) {
  memset(c, 0, sizeof *c);
  snprintf(c->path, sizeof c->path, "%s", path);
  c->ncols = count_cols(header);
  c->f = fopen(path, keep_rows < 0 ? "w" : "r+");
  if (!c->f) return fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
  if (keep_rows >= 0) {
    if (cut_back(c, header, keep_rows, err, errsz)) {
      fclose(c->f);
      c->f = NULL;
      return -1;
    }
    return 0;
  }
  if (fprintf(c->f, "%s\n", header) < 0 || fflush(c->f)) {
    fclose(c->f);
    c->f = NULL;
    return fail_msg(err, errsz, "%s: cannot write: %s", path, strerror(errno));
  }
  return 0;
}

static void sep(CsvLog *c) {
  if (c->col == c->ncols) {
    fprintf(stderr, "%s: internal error: %s: more values than the %d columns\n", fail_prog(),
            c->path, c->ncols);
    abort();
  }
  if (c->col++ && !c->failed && fputc(',', c->f) == EOF) c->failed = 1, c->err = errno;
}

void csv_i(CsvLog *c, long long v) {
  sep(c);
  if (!c->failed && fprintf(c->f, "%lld", v) < 0) c->failed = 1, c->err = errno;
}

void csv_d(CsvLog *c, double v) {
  sep(c);
  if (!c->failed && fprintf(c->f, "%.17g", v) < 0) c->failed = 1, c->err = errno;
}

void csv_f(CsvLog *c, float v) {
  sep(c);
  if (!c->failed && fprintf(c->f, "%.9g", (double)v) < 0) c->failed = 1, c->err = errno;
}

// a row that did not reach the file ends the run: nothing may be counted (in a checkpoint's
// rows) that is not on disk, and --resume cuts the partial row away
static _Noreturn void write_failed(CsvLog *c) {
  fail_run("%s: cannot write: %s; the run stops here (--resume continues from the last "
           "checkpoint once the disk has room)",
           c->path, strerror(c->err ? c->err : EIO));
}

void csv_end(CsvLog *c) {
  if (c->col != c->ncols) {
    fprintf(stderr, "%s: internal error: %s: row of %d values for %d columns\n", fail_prog(),
            c->path, c->col, c->ncols);
    abort();
  }
  c->col = 0;
  if (!c->failed && (fputc('\n', c->f) == EOF || fflush(c->f))) c->failed = 1, c->err = errno;
  if (c->failed) write_failed(c);
  c->rows++;
}

void csv_sync(CsvLog *c) {
  if (c->f && (fflush(c->f) || fsync(fileno(c->f)))) {
    c->err = errno;
    write_failed(c);
  }
}

void csv_close(CsvLog *c) {
  if (!c->f) return;
  int bad = fclose(c->f);
  c->f = NULL;
  if (bad || c->failed) {
    if (bad) c->err = errno;
    write_failed(c);
  }
}
