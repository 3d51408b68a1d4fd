// manifest: the record of a run, `manifest.ini`, which is itself a config that reruns it.
//
// Layout: a [meta] section of provenance (program, version, command line, start time, host, BLAS,
// random stream ids, and whatever the program adds, e.g. the MuJoCo version), which configuration
// readers skip, then every parameter section with every resolved value. `prog --config
// run/manifest.ini --out other` repeats the run; `prog --out run --resume` continues it.
#ifndef MB_MANIFEST_H
#define MB_MANIFEST_H

#include <stddef.h>
#include "config.h"

// Write `data` (n bytes) to path through path.tmp, fsync and rename: readers see the old file or
// the whole new one. Returns 0 or -1 with err.
int file_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errsz);

// Write the manifest atomically: [meta] from the key/value pairs, then the parameter sections.
int manifest_write(const char *path, const Config *cfg, char *const (*meta)[2], int nmeta,
                   char *err, size_t errsz);

// Compare the parameters in cfg with those recorded in the manifest at path. Returns 0 if every
// parameter has the same value, else -1 with the differing keys (and both values) in err.
// Section [exec] holds settings that do not change results (e.g. thread counts): recorded, not
// compared, so a run may resume with another value.
int manifest_check(const char *path, const Config *cfg, char *err, size_t errsz);

// The same for parameters recorded as INI text (a checkpoint's copy), `name` in messages.
int manifest_check_text(const char *text, const char *name, const Config *cfg, char *err,
                        size_t errsz);

#endif
