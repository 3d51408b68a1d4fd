// checkpoint: named binary fields in one file, verified on reading.
//
// File layout (all integers little-endian as written by this machine):
//   "MBCKPT\r\n" (8 bytes) | format version (u32) | kind length (u32) | kind (program name)
//   then fields: tag length (u32) | tag | size (u64) | size bytes of data
//   then the end mark: tag length 0 (u32) | field count (u64) | checksum (u64) of all before it.
// A writer writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory, so PATH is
// always either the old or the new complete checkpoint. A reader checks the magic, version, kind,
// the field structure and the checksum of the whole file before any field is read, so a truncated
// or corrupted file is refused with a message saying which.
#ifndef MB_CHECKPOINT_H
#define MB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_VERSION 1u

typedef struct CkptWriter CkptWriter;
typedef struct CkptReader CkptReader;

// Start writing checkpoint `path` for program `kind`. NULL with a message in err on failure.
CkptWriter *ckpt_begin(const char *path, const char *kind, char *err, size_t errsz);

// Append a field. Tags are unique, at most 64 bytes. Errors are remembered and reported by commit.
void ckpt_put(CkptWriter *w, const char *tag, const void *data, size_t size);
void ckpt_put_i64(CkptWriter *w, const char *tag, int64_t v);
void ckpt_put_f64(CkptWriter *w, const char *tag, double v);

// Finish: end mark, flush, fsync, rename, fsync the directory. Frees w. Returns 0 or -1 with err
// (and the temporary file removed).
int ckpt_commit(CkptWriter *w, char *err, size_t errsz);

// Give up: remove the temporary file and free w.
void ckpt_abort(CkptWriter *w);

// Open and verify checkpoint `path` written for `kind`. NULL with a message in err when the file
// is missing, unreadable, not a checkpoint, of another version or kind, truncated or corrupted.
CkptReader *ckpt_open(const char *path, const char *kind, char *err, size_t errsz);

// Read field `tag` into data; its stored size must equal `size`. Returns 0 or -1 with err.
int ckpt_get(CkptReader *r, const char *tag, void *data, size_t size, char *err, size_t errsz);
int ckpt_get_i64(CkptReader *r, const char *tag, int64_t *v, char *err, size_t errsz);
int ckpt_get_f64(CkptReader *r, const char *tag, double *v, char *err, size_t errsz);

// Size of field `tag`, or -1 if absent.
int64_t ckpt_field_size(const CkptReader *r, const char *tag);

void ckpt_close(CkptReader *r);

// ---- an owner's checkpoint from one description ----
//
// An owner lists what outlives it once, as fields {name, data, size}; the same list writes and
// reads it (save: ckpt_put_fields; load: ckpt_get_fields, then any checks of what was read).
// Counters are int64_t fields of 8 bytes, as ckpt_put_i64 writes them.
typedef struct {
  const char *name;   // tag after the owner's prefix
  void *data;
  size_t size;        // bytes
} CkptField;

// tag = "prefix.name", or "name" when prefix is empty (n bytes at most).
void ckpt_tag(char *tag, size_t n, const char *prefix, const char *name);

// Write / read the n fields under prefix. get: 0, or -1 with err naming the field.
void ckpt_put_fields(CkptWriter *w, const char *prefix, const CkptField *f, int n);
int ckpt_get_fields(CkptReader *r, const char *prefix, const CkptField *f, int n, char *err,
                    size_t errsz);

#endif
