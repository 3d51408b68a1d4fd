// digest: a fast 64-bit checksum of byte streams (see digest.h).
#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fail.h"

// Four 64-bit lanes; word k of the byte stream (8 bytes, zero-padded at the end) goes to lane
// k % 4, whose state h becomes step(h, m) = rotl((h ^ m) * K, 29) with K odd. For a fixed word m
// the step is a bijection of h (xor, multiplication by an odd number mod 2^64 and rotation are
// all invertible); for a fixed h it is injective in m (the same maps applied to h ^ m). Changing
// any single byte changes exactly one word: the lanes agree up to that word, the changed step
// gives that lane a different state, and every later step of that lane is a bijection, so the
// lane ends different. The lanes are folded as h = step(step(step(h0, h1), h2), h3), which is
// injective in each lane with the others fixed (bijective in h0, injective in h1..h3), then the
// length is folded in the same way and a bijective finaliser mixes the bits. So any single-byte
// change changes the checksum; other corruptions go unnoticed with probability about 2^-64.
// Four independent lanes keep four multiplications in flight: several GB/s.

static const uint64_t hash_k = 0x9e3779b97f4a7c15ull;

static inline uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

static inline uint64_t step(uint64_t h, uint64_t m) { return rotl((h ^ m) * hash_k, 29); }

static inline uint64_t load64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

void digest_init(Digest *s) {
  memset(s, 0, sizeof *s);
  s->h[0] = 0x6a09e667f3bcc908ull;
  s->h[1] = 0xbb67ae8584caa73bull;
  s->h[2] = 0x3c6ef372fe94f82bull;
  s->h[3] = 0xa54ff53a5f1d36f1ull;
}

static void digest_blocks(Digest *s, const unsigned char *p, size_t nblocks) {
  uint64_t h0 = s->h[0], h1 = s->h[1], h2 = s->h[2], h3 = s->h[3];
  for (size_t i = 0; i < nblocks; i++, p += 32) {
    h0 = step(h0, load64(p));
    h1 = step(h1, load64(p + 8));
    h2 = step(h2, load64(p + 16));
    h3 = step(h3, load64(p + 24));
  }
  s->h[0] = h0, s->h[1] = h1, s->h[2] = h2, s->h[3] = h3;
}

void digest_update(Digest *s, const void *data, size_t n) {
  const unsigned char *p = data;
  s->len += n;
  if (s->npart) {
    size_t take = 32 - s->npart < n ? 32 - s->npart : n;
    memcpy(s->part + s->npart, p, take);
    s->npart += take, p += take, n -= take;
    if (s->npart < 32) return;
    digest_blocks(s, s->part, 1);
    s->npart = 0;
  }
  digest_blocks(s, p, n / 32);
  p += n / 32 * 32;
  n %= 32;
  memcpy(s->part, p, n);
  s->npart = n;
}

uint64_t digest_final(const Digest *s) {
  Digest t = *s;
  // the tail, zero-padded to whole words, goes to lanes 0, 1, ... as it would in a full block
  memset(t.part + t.npart, 0, 32 - t.npart);
  for (size_t w = 0; w * 8 < t.npart; w++) t.h[w] = step(t.h[w], load64(t.part + 8 * w));
  uint64_t h = step(step(step(t.h[0], t.h[1]), t.h[2]), t.h[3]);
  h = step(h, t.len);
  // murmur3's 64-bit finaliser (a bijection)
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint64_t digest_bytes(const void *data, size_t n) {
  Digest d;
  digest_init(&d);
  digest_update(&d, data, n);
  return digest_final(&d);
}

int digest_file(const char *path, uint64_t *sum, char *err, size_t errsz) {
  FILE *f = fopen(path, "rb");
  if (!f) return fail_msg(err, errsz, "%s: cannot open: %s", path, strerror(errno));
  Digest d;
  digest_init(&d);
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) digest_update(&d, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad) return fail_msg(err, errsz, "%s: cannot read", path);
  *sum = digest_final(&d);
  return 0;
}
