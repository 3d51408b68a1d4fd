// digest: a fast 64-bit checksum of byte streams, for telling files and records apart.
//
// Not cryptographic: it detects corruption and accidental change (any single-byte change always
// changes it; other changes go unnoticed with probability about 2^-64), at several GB/s. The
// checkpoint's checksum, the policy files' checksum and the digests of a run's input files and
// parameters all use it, printed as 16 hex digits (DIGEST_FMT).
#ifndef MB_DIGEST_H
#define MB_DIGEST_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_FMT "%016" PRIx64

typedef struct {
  uint64_t h[4];
  uint64_t len;             // bytes hashed
  unsigned char part[32];   // bytes of an incomplete 32-byte block
  size_t npart;
} Digest;

void digest_init(Digest *d);
void digest_update(Digest *d, const void *data, size_t n);
uint64_t digest_final(const Digest *d);   // d stays usable

uint64_t digest_bytes(const void *data, size_t n);

// The digest of a whole file. Returns 0, or -1 with err naming the file.
int digest_file(const char *path, uint64_t *sum, char *err, size_t errsz);

#endif
