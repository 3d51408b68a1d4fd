// csvlog: fixed-schema CSV logs, one row at a time, flushed per row.
//
// Numbers are printed under the C locale (the suite never calls setlocale): integers as %lld,
// doubles as %.17g (they round-trip exactly), float32 values as %.9g. A killed run therefore leaves
// complete rows up to the last one written; on resume the file is cut back to the number of rows
// the checkpoint recorded, so a resumed log equals an uninterrupted one. Every write is checked:
// a log that cannot be written ends the run (exit 1) rather than losing rows silently.
#ifndef MB_CSVLOG_H
#define MB_CSVLOG_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

typedef struct {
  FILE *f;
  char path[4096];
  int ncols;       // columns of the header
  int col;         // columns written in the current row
  int64_t rows;    // data rows in the file
  int failed;      // an I/O error happened
  int err;         // its errno
} CsvLog;

// Open `path` with header `header` (comma-separated column names).
// keep_rows < 0: create or truncate the file and write the header.
// keep_rows >= 0: resume: the file must exist with exactly this header and at least keep_rows data
// rows; rows after the first keep_rows are removed. Returns 0 or -1 with err.
int csv_open(CsvLog *c, const char *path, const char *header, int64_t keep_rows, char *err,
             size_t errsz);

void csv_i(CsvLog *c, long long v);
void csv_d(CsvLog *c, double v);
void csv_f(CsvLog *c, float v);

// End the row: newline and flush. The number of values must match the header (a mismatch is a
// programming error and aborts). A row that could not be written (disk full, I/O error) stops
// the program with exit 1 naming the file: `rows` counts only rows the system has accepted.
void csv_end(CsvLog *c);

// Flush and fsync, so that the rows counted are on disk (before a checkpoint records them);
// a failure stops the program like csv_end's.
void csv_sync(CsvLog *c);

// Close; a failed write or close stops the program like csv_end's.
void csv_close(CsvLog *c);

#endif
