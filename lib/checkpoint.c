// checkpoint: named binary fields in one verified file (see checkpoint.h).
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "digest.h"
#include "fail.h"
#include "infile.h"

static const char magic[8] = {'M', 'B', 'C', 'K', 'P', 'T', '\r', '\n'};

enum {
  TAG_MAX = 64,       // longest tag (checkpoint.h)
  KIND_MAX = 4096,    // longest program name accepted (a longer kind length means corruption)
  MSG_MAX = 1024,
  CHUNK = 1 << 20     // read buffer while verifying
};

// ---- writer ---------------------------------------------------------------------------------

struct CkptWriter {
  FILE *f;
  char *path, *tmp;
  Digest hash;
  uint64_t count;       // fields written
  char **tags;          // (count) for the uniqueness check
  size_t tags_cap;
  int failed;
  char msg[MSG_MAX];    // first error
};

static void w_fail_errno(CkptWriter *w, const char *what) {
  if (w->failed) return;
  w->failed = 1;
  snprintf(w->msg, sizeof w->msg, "%s: %s: %s", w->tmp, what, strerror(errno));
}

// write and hash
static void w_write(CkptWriter *w, const void *data, size_t n) {
  if (w->failed || n == 0) return;
  if (fwrite(data, 1, n, w->f) != n) {
    w_fail_errno(w, "cannot write");
    return;
  }
  digest_update(&w->hash, data, n);
}

static void w_free(CkptWriter *w) {
  for (uint64_t i = 0; i < w->count; i++) free(w->tags[i]);
  free(w->tags);
  free(w->path);
  free(w->tmp);
  free(w);
}

static char *xstrdup(const char *s, const char *what) {
  size_t n = strlen(s) + 1;
  char *d = xmalloc(n, 1, what);
  memcpy(d, s, n);
  return d;
}

CkptWriter *ckpt_begin(const char *path, const char *kind, char *err, size_t errsz) {
  size_t klen = strlen(kind);
  if (klen == 0 || klen > KIND_MAX) {
    fail_msg(err, errsz, "%s: program name of %zu bytes (1 to %d allowed)", path, klen, KIND_MAX);
    return NULL;
  }
  CkptWriter *w = xcalloc(1, sizeof *w, "checkpoint writer");
  w->path = xstrdup(path, "checkpoint path");
  size_t plen = strlen(path);
  w->tmp = xmalloc(plen + 5, 1, "checkpoint path");
  memcpy(w->tmp, path, plen);
  memcpy(w->tmp + plen, ".tmp", 5);
  w->f = fopen(w->tmp, "wb");
  if (!w->f) {
    fail_msg(err, errsz, "%s: %s", w->tmp, strerror(errno));
    w_free(w);
    return NULL;
  }
  digest_init(&w->hash);
  uint32_t version = CKPT_VERSION, kl = (uint32_t)klen;
  w_write(w, magic, sizeof magic);
  w_write(w, &version, sizeof version);
  w_write(w, &kl, sizeof kl);
  w_write(w, kind, klen);
  return w;
}

void ckpt_put(CkptWriter *w, const char *tag, const void *data, size_t size) {
  if (w->failed) return;
  size_t tlen = strlen(tag);
  // a tag length of 0 is the end mark, so empty tags cannot be stored
  if (tlen == 0 || tlen > TAG_MAX) {
    w->failed = 1;
    snprintf(w->msg, sizeof w->msg, "%s: tag '%.80s' has %zu bytes (1 to %d allowed)", w->path, tag,
             tlen, TAG_MAX);
    return;
  }
  if (size > 0 && !data) {
    w->failed = 1;
    snprintf(w->msg, sizeof w->msg, "%s: field '%s' has %zu bytes but no data", w->path, tag, size);
    return;
  }
  for (uint64_t i = 0; i < w->count; i++) {
    if (strcmp(w->tags[i], tag) == 0) {
      w->failed = 1;
      snprintf(w->msg, sizeof w->msg, "%s: duplicate field '%s'", w->path, tag);
      return;
    }
  }
  if (w->count == w->tags_cap) {
    size_t cap = w->tags_cap ? 2 * w->tags_cap : 16;
    char **t = xmalloc(cap, sizeof *t, "checkpoint tags");
    if (w->count) memcpy(t, w->tags, w->count * sizeof *t);
    free(w->tags);
    w->tags = t;
    w->tags_cap = cap;
  }
  w->tags[w->count++] = xstrdup(tag, "checkpoint tag");
  uint32_t tl = (uint32_t)tlen;
  uint64_t sz = size;
  w_write(w, &tl, sizeof tl);
  w_write(w, tag, tlen);
  w_write(w, &sz, sizeof sz);
  w_write(w, data, size);
}

void ckpt_put_i64(CkptWriter *w, const char *tag, int64_t v) { ckpt_put(w, tag, &v, sizeof v); }

void ckpt_put_f64(CkptWriter *w, const char *tag, double v) { ckpt_put(w, tag, &v, sizeof v); }

// fsync the directory holding path, so the rename itself is durable
static int sync_dir(const char *path, char *err, size_t errsz) {
  const char *slash = strrchr(path, '/');
  char *dir;
  if (!slash) {
    dir = xstrdup(".", "checkpoint directory");
  } else {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    dir = xmalloc(n + 1, 1, "checkpoint directory");
    memcpy(dir, path, n);
    dir[n] = 0;
  }
  int rc = 0, fd = open(dir, O_RDONLY | O_DIRECTORY);
  // some file systems cannot sync a directory (EINVAL); the rename is still done
  if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
    rc = fail_msg(err, errsz, "%s: cannot sync directory %s: %s", path, dir, strerror(errno));
  if (fd >= 0) close(fd);
  free(dir);
  return rc;
}

int ckpt_commit(CkptWriter *w, char *err, size_t errsz) {
  uint32_t end = 0;
  uint64_t count = w->count;
  w_write(w, &end, sizeof end);
  w_write(w, &count, sizeof count);
  uint64_t sum = digest_final(&w->hash);
  if (!w->failed && fwrite(&sum, sizeof sum, 1, w->f) != 1) w_fail_errno(w, "cannot write");
  if (!w->failed && fflush(w->f) != 0) w_fail_errno(w, "cannot write");
  if (!w->failed && fsync(fileno(w->f)) != 0) w_fail_errno(w, "cannot sync");
  if (fclose(w->f) != 0) w_fail_errno(w, "cannot close");
  w->f = NULL;
  if (!w->failed && rename(w->tmp, w->path) != 0) {
    w->failed = 1;
    snprintf(w->msg, sizeof w->msg, "%s: cannot rename %s over it: %s", w->path, w->tmp,
             strerror(errno));
  }
  if (w->failed) {
    remove(w->tmp);
    fail_msg(err, errsz, "%s", w->msg);
    w_free(w);
    return -1;
  }
  int rc = sync_dir(w->path, err, errsz);
  w_free(w);
  return rc;
}

void ckpt_abort(CkptWriter *w) {
  if (!w) return;
  if (w->f) fclose(w->f);
  remove(w->tmp);
  w_free(w);
}

// ---- reader ---------------------------------------------------------------------------------

typedef struct {
  char tag[TAG_MAX + 1];
  uint64_t size;
  off_t offset;   // of the data in the file
} Field;

struct CkptReader {
  FILE *f;
  char *path;
  Field *fields;   // (nfields)
  size_t nfields, cap;
};

void ckpt_close(CkptReader *r) {
  if (!r) return;
  if (r->f) fclose(r->f);
  free(r->fields);
  free(r->path);
  free(r);
}

// read exactly n bytes into p and hash them; 0, or -1 at the end of the file or on an error
static int r_read(FILE *f, Digest *h, void *p, size_t n) {
  if (n && fread(p, 1, n, f) != n) return -1;
  if (h) digest_update(h, p, n);
  return 0;
}

// the message for a read that came up short: an I/O error, or the file ends `where`
static CkptReader *r_short(CkptReader *r, char *err, size_t errsz, const char *where) {
  if (ferror(r->f))
    fail_msg(err, errsz, "%s: cannot read: %s", r->path, strerror(errno));
  else
    fail_msg(err, errsz, "%s: truncated: the file ends %s", r->path, where);
  ckpt_close(r);
  return NULL;
}

static CkptReader *r_bad(CkptReader *r) {
  ckpt_close(r);
  return NULL;
}

CkptReader *ckpt_open(const char *path, const char *kind, char *err, size_t errsz) {
  CkptReader *r = xcalloc(1, sizeof *r, "checkpoint reader");
  r->path = xstrdup(path, "checkpoint path");
  // a regular file only, opened without waiting for a FIFO's writer (infile.h); its size bounds
  // every length read from it
  uint64_t fsize;
  r->f = infile_open(path, &fsize, err, errsz);
  if (!r->f) return r_bad(r);

  Digest h;
  digest_init(&h);
  char head[8];
  size_t got = fread(head, 1, sizeof head, r->f);
  if (got < sizeof head && ferror(r->f)) return r_short(r, err, errsz, "inside the header");
  // a short file that starts like a checkpoint was cut off; anything else is not one
  if (got == 0 || memcmp(head, magic, got) != 0) {
    fail_msg(err, errsz, "%s: not a mirrorbench checkpoint", path);
    return r_bad(r);
  }
  if (got < sizeof head) return r_short(r, err, errsz, "inside the header");
  digest_update(&h, head, sizeof head);

  uint32_t version, klen;
  if (r_read(r->f, &h, &version, sizeof version))
    return r_short(r, err, errsz, "inside the header");
  if (version != CKPT_VERSION) {
    fail_msg(err, errsz, "%s: format version %u; this build reads version %u", path,
             (unsigned)version, CKPT_VERSION);
    return r_bad(r);
  }
  if (r_read(r->f, &h, &klen, sizeof klen)) return r_short(r, err, errsz, "inside the header");
  if (klen == 0 || klen > KIND_MAX) {
    fail_msg(err, errsz, "%s: corrupted: program name of %u bytes", path, (unsigned)klen);
    return r_bad(r);
  }
  char file_kind[KIND_MAX + 1];
  if (r_read(r->f, &h, file_kind, klen)) return r_short(r, err, errsz, "inside the header");
  file_kind[klen] = 0;

  // walk the fields, hashing everything, up to the end mark
  uint64_t pos = 16 + (uint64_t)klen;   // bytes consumed
  unsigned char *buf = xmalloc(CHUNK, 1, "checkpoint read buffer");
  CkptReader *ret = NULL;
  for (;;) {
    uint32_t tlen;
    if (r_read(r->f, &h, &tlen, sizeof tlen)) {
      r_short(r, err, errsz, "before the end mark");
      goto done;
    }
    pos += sizeof tlen;
    if (tlen == 0) break;
    // a file that grew after it was opened must not lead the walk past the size it had
    if (pos > fsize) {
      fail_msg(err, errsz, "%s: changed while being read: it grew past its %llu bytes", path,
               (unsigned long long)fsize);
      goto bad;
    }
    if (tlen > TAG_MAX) {
      fail_msg(err, errsz, "%s: corrupted: a tag of %u bytes after %zu fields", path,
               (unsigned)tlen, r->nfields);
      goto bad;
    }
    Field fd;
    uint64_t size;
    if (r_read(r->f, &h, fd.tag, tlen) || r_read(r->f, &h, &size, sizeof size)) {
      r_short(r, err, errsz, "inside a field header");
      goto done;
    }
    fd.tag[tlen] = 0;
    pos += tlen + sizeof size;
    if (pos > fsize) {
      fail_msg(err, errsz, "%s: changed while being read: it grew past its %llu bytes", path,
               (unsigned long long)fsize);
      goto bad;
    }
    if (strlen(fd.tag) != tlen) {
      fail_msg(err, errsz, "%s: corrupted: a tag contains a zero byte", path);
      goto bad;
    }
    if (size > fsize - pos) {
      fail_msg(err, errsz, "%s: truncated: field '%s' has %llu bytes but the file ends %llu bytes "
               "later", path, fd.tag, (unsigned long long)size,
               (unsigned long long)(fsize - pos));
      goto bad;
    }
    for (size_t i = 0; i < r->nfields; i++) {
      if (strcmp(r->fields[i].tag, fd.tag) == 0) {
        fail_msg(err, errsz, "%s: corrupted: field '%s' appears twice", path, fd.tag);
        goto bad;
      }
    }
    fd.size = size;
    fd.offset = (off_t)pos;
    for (uint64_t left = size; left > 0;) {
      size_t n = left < CHUNK ? (size_t)left : CHUNK;
      if (r_read(r->f, &h, buf, n)) {
        r_short(r, err, errsz, "inside a field");
        goto done;
      }
      left -= n;
    }
    pos += size;
    if (r->nfields == r->cap) {
      size_t cap = r->cap ? 2 * r->cap : 32;
      Field *t = xmalloc(cap, sizeof *t, "checkpoint index");
      if (r->nfields) memcpy(t, r->fields, r->nfields * sizeof *t);
      free(r->fields);
      r->fields = t;
      r->cap = cap;
    }
    r->fields[r->nfields++] = fd;
  }
  uint64_t count, sum;
  if (r_read(r->f, &h, &count, sizeof count) || r_read(r->f, NULL, &sum, sizeof sum)) {
    r_short(r, err, errsz, "inside the end mark");
    goto done;
  }
  pos += sizeof count + sizeof sum;
  if (digest_final(&h) != sum) {
    fail_msg(err, errsz, "%s: checksum mismatch: the file is corrupted", path);
    goto bad;
  }
  if (count != r->nfields) {
    fail_msg(err, errsz, "%s: corrupted: the end mark counts %llu fields, the file holds %zu", path,
             (unsigned long long)count, r->nfields);
    goto bad;
  }
  if (pos != fsize || fgetc(r->f) != EOF) {
    fail_msg(err, errsz, "%s: corrupted: %llu unexpected bytes after the end mark", path,
             (unsigned long long)(fsize - pos));
    goto bad;
  }
  if (strcmp(file_kind, kind) != 0) {
    fail_msg(err, errsz, "%s: written by '%s', not '%s'", path, file_kind, kind);
    goto bad;
  }
  ret = r;
  goto done;
bad:
  ckpt_close(r);
done:
  free(buf);
  return ret;
}

static const Field *find(const CkptReader *r, const char *tag) {
  for (size_t i = 0; i < r->nfields; i++)
    if (strcmp(r->fields[i].tag, tag) == 0) return &r->fields[i];
  return NULL;
}

int64_t ckpt_field_size(const CkptReader *r, const char *tag) {
  const Field *fd = find(r, tag);
  return fd ? (int64_t)fd->size : -1;
}

int ckpt_get(CkptReader *r, const char *tag, void *data, size_t size, char *err, size_t errsz) {
  const Field *fd = find(r, tag);
  if (!fd) return fail_msg(err, errsz, "%s: no field '%s'", r->path, tag);
  if (fd->size != size)
    return fail_msg(err, errsz, "%s: field '%s' has %llu bytes, expected %zu (written with a "
                    "different configuration?)", r->path, tag, (unsigned long long)fd->size, size);
  if (size == 0) return 0;
  if (fseeko(r->f, fd->offset, SEEK_SET) != 0)
    return fail_msg(err, errsz, "%s: cannot read field '%s': %s", r->path, tag, strerror(errno));
  if (fread(data, 1, size, r->f) != size) {
    if (ferror(r->f))
      return fail_msg(err, errsz, "%s: cannot read field '%s': %s", r->path, tag,
                      strerror(errno));
    return fail_msg(err, errsz, "%s: cannot read field '%s': the file shrank after it was opened",
                    r->path, tag);
  }
  return 0;
}

int ckpt_get_i64(CkptReader *r, const char *tag, int64_t *v, char *err, size_t errsz) {
  return ckpt_get(r, tag, v, sizeof *v, err, errsz);
}

int ckpt_get_f64(CkptReader *r, const char *tag, double *v, char *err, size_t errsz) {
  return ckpt_get(r, tag, v, sizeof *v, err, errsz);
}

// ---- an owner's checkpoint from one description ----

void ckpt_tag(char *tag, size_t n, const char *prefix, const char *name) {
  snprintf(tag, n, "%s%s%s", prefix, *prefix ? "." : "", name);
}

void ckpt_put_fields(CkptWriter *w, const char *prefix, const CkptField *f, int n) {
  char tag[128];   // longer than any tag, so an overlong one is refused by ckpt_put
  for (int k = 0; k < n; k++) {
    ckpt_tag(tag, sizeof tag, prefix, f[k].name);
    ckpt_put(w, tag, f[k].data, f[k].size);
  }
}

int ckpt_get_fields(CkptReader *r, const char *prefix, const CkptField *f, int n, char *err,
                    size_t errsz) {
  char tag[128];   // longer than any tag, so an overlong one is refused by ckpt_put
  for (int k = 0; k < n; k++) {
    ckpt_tag(tag, sizeof tag, prefix, f[k].name);
    if (ckpt_get(r, tag, f[k].data, f[k].size, err, errsz)) return -1;
  }
  return 0;
}
