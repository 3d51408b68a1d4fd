// infile: opening the files a run reads (configs, policies, checkpoints) only when they end.
//
// A device (/dev/zero), a pipe or FIFO (`--config /dev/stdin`, a mkfifo path), a directory or a
// socket has no end a reader can trust, and opening a FIFO without a writer blocks forever. So an
// input is opened with O_NONBLOCK (which returns at once for a FIFO), checked with fstat to be a
// regular file, and only then read, blocking again. Text inputs are read whole, up to a bound, so a
// file that grows while it is read cannot keep a reader busy forever either.
#ifndef MB_INFILE_H
#define MB_INFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// The bound of infile_read for INI and policy files (the largest real ones are a few hundred kB).
#define INFILE_TEXT_MAX ((size_t)16 << 20)

// Open path for reading if it is a regular file. NULL with "PATH: not a regular file (a FIFO)" or
// "PATH: cannot open: why" in err. *size (if not NULL) gets the file's size at opening.
FILE *infile_open(const char *path, uint64_t *size, char *err, size_t errsz);

// Read all of f (at most max bytes) into a new NUL-terminated buffer (*data, *n bytes without the
// NUL; free it). `name` stands for the file in messages ("NAME: larger than 16 MiB, the bound for
// WHAT", "NAME: cannot read: why"). Returns 0 or -1 with err.
int infile_slurp(FILE *f, const char *name, size_t max, const char *what, char **data, size_t *n,
                 char *err, size_t errsz);

// infile_open then infile_slurp.
int infile_read(const char *path, size_t max, const char *what, char **data, size_t *n, char *err,
                size_t errsz);

// "16 MiB", "1 kB": a bound in words for messages.
void infile_size_text(size_t bytes, char *buf, size_t n);

#endif
