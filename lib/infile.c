// infile: inputs opened only when they are regular files, read whole up to a bound (see infile.h).
#include "infile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fail.h"

static const char *kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO or pipe";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a plain file";
}

FILE *infile_open(const char *path, uint64_t *size, char *err, size_t errsz) {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    fail_msg(err, errsz, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
    close(fd);
    return NULL;
  }
  // a regular file reads the same either way; clear the flag so stdio sees ordinary reads
  int fl = fcntl(fd, F_GETFL);
  FILE *f = NULL;
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 || !(f = fdopen(fd, "rb"))) {
    fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (size) *size = (uint64_t)st.st_size;
  return f;
}

void infile_size_text(size_t bytes, char *buf, size_t n) {
  if (bytes >= ((size_t)1 << 20) && bytes % ((size_t)1 << 20) == 0)
    snprintf(buf, n, "%zu MiB", bytes >> 20);
  else if (bytes >= 1024 && bytes % 1024 == 0)
    snprintf(buf, n, "%zu KiB", bytes >> 10);
  else
    snprintf(buf, n, "%zu bytes", bytes);
}

int infile_slurp(FILE *f, const char *name, size_t max, const char *what, char **data, size_t *n,
                 char *err, size_t errsz) {
  *data = NULL;
  *n = 0;
  size_t cap = 0, len = 0;
  char *buf = NULL;
  for (;;) {
    // grow by doubling, never past max + 2: one byte over the bound says the file is too large
    if (len + 1 >= cap) {
      size_t want = cap ? 2 * cap : 4096;
      if (want > max + 2) want = max + 2;
      if (want <= len + 1) break;
      char *t = realloc(buf, want);
      if (!t) {
        free(buf);
        return fail_msg(err, errsz, "%s: out of memory reading %zu bytes", name, want);
      }
      buf = t, cap = want;
    }
    size_t got = fread(buf + len, 1, cap - 1 - len, f);
    len += got;
    if (len > max) break;
    if (got == 0) break;
  }
  if (ferror(f)) {
    free(buf);
    return fail_msg(err, errsz, "%s: cannot read: %s", name, strerror(errno));
  }
  if (len > max) {
    char b[32];
    infile_size_text(max, b, sizeof b);
    free(buf);
    return fail_msg(err, errsz, "%s: larger than %s, the bound for %s", name, b, what);
  }
  if (!buf) buf = xmalloc(1, 1, "file contents");
  buf[len] = 0;
  *data = buf;
  *n = len;
  return 0;
}

int infile_read(const char *path, size_t max, const char *what, char **data, size_t *n, char *err,
                size_t errsz) {
  *data = NULL;
  *n = 0;
  FILE *f = infile_open(path, NULL, err, errsz);
  if (!f) return -1;
  int rc = infile_slurp(f, path, max, what, data, n, err, errsz);
  fclose(f);
  return rc;
}
