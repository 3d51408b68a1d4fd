// manifest: write and check a run's manifest.ini (see manifest.h).
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fail.h"

int file_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errsz) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return fail_msg(err, errsz, "%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return fail_msg(err, errsz, "%s: cannot create: %s", tmp, strerror(errno));
  const char *p = data;
  size_t left = n;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return fail_msg(err, errsz, "%s: cannot write: %s", tmp, strerror(e));
    }
    p += w, left -= (size_t)w;
  }
  if (fsync(fd) || close(fd)) {
    int e = errno;
    unlink(tmp);
    return fail_msg(err, errsz, "%s: cannot write: %s", tmp, strerror(e));
  }
  if (rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    return fail_msg(err, errsz, "%s: cannot rename into place: %s", path, strerror(e));
  }
  // make the rename itself durable
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  int dfd = open(slash ? (*dir ? dir : "/") : ".", O_RDONLY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

// one `key = value` line that a config reader accepts: no newlines, within inih's line length
static void put_meta(FILE *f, const char *key, const char *value) {
  char v[200];
  int room = 190 - (int)strlen(key) - 3;
  if (room < 8) room = 8;
  snprintf(v, sizeof v, "%s", value);
  for (char *s = v; *s; s++)
    if (*s == '\n' || *s == '\r') *s = ' ';
  if ((int)strlen(v) > room) strcpy(v + room - 3, "...");
  fprintf(f, "%s = %s\n", key, v);
}

int manifest_write(const char *path, const Config *cfg, char *const (*meta)[2], int nmeta,
                   char *err, size_t errsz) {
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  if (!f) return fail_msg(err, errsz, "%s: out of memory", path);
  const char *prog = "PROGRAM";
  for (int i = 0; i < nmeta; i++)
    if (strcmp(meta[i][0], "program") == 0) prog = meta[i][1];
  fprintf(f, "; mirrorbench run manifest. Rerun: %s --config THIS_FILE --out NEW_DIR\n", prog);
  fprintf(f, "; ([meta] is provenance; configuration readers skip it)\n[meta]\n");
  for (int i = 0; i < nmeta; i++) put_meta(f, meta[i][0], meta[i][1]);
  fputc('\n', f);
  cfg_write_ini(cfg, f);
  if (fclose(f)) {
    free(text);
    return fail_msg(err, errsz, "%s: out of memory", path);
  }
  int rc = file_write_atomic(path, text, n, err, errsz);
  free(text);
  return rc;
}

// the parameters recorded in rec (read from `name`) against cfg's current values
static int compare(const Config *rec, const char *name, const Config *cfg, char *err,
                   size_t errsz) {
  char diff[2048] = "", now[PARAM_STR_MAX + 32], then[PARAM_STR_MAX + 32], key[256];
  size_t used = 0;
  int ndiff = 0;
  // recorded parameters against the current values ([exec] settings do not change results)
  for (int i = 0; i < rec->npend; i++) {
    const CfgAssign *a = &rec->pend[i];
    if (strcmp(a->section, "exec") == 0) continue;
    snprintf(key, sizeof key, "%s.%s", a->section, a->key);
    const ParamRef *p = cfg_find(cfg, key);
    if (!p) {
      if (used < sizeof diff)
        used += snprintf(diff + used, sizeof diff - used, "\n  %s: recorded, unknown here", key);
      ndiff++;
      continue;
    }
    cfg_canonical(p, a->value, then, sizeof then);
    cfg_format(p, now, sizeof now);
    if (strcmp(now, then)) {
      if (used < sizeof diff)
        used += snprintf(diff + used, sizeof diff - used, "\n  %s: %s in the run, %s now", key,
                         then, now);
      ndiff++;
    }
  }
  // current parameters missing from the record: added since the run began; at its default a
  // new parameter reproduces the earlier results (tests/golden.sh holds seams to that), else it
  // differs
  for (int s = 0; s < cfg->nsec; s++)
    for (int j = 0; j < cfg->sec[s].n && strcmp(cfg->sec[s].name, "exec"); j++) {
      const ParamRef *p = &cfg->sec[s].refs[j];
      int found = 0;
      for (int i = 0; i < rec->npend && !found; i++)
        found = strcmp(rec->pend[i].section, cfg->sec[s].name) == 0 &&
                strcmp(rec->pend[i].key, p->name) == 0;
      if (found) continue;
      cfg_canonical(p, p->def, then, sizeof then);
      cfg_format(p, now, sizeof now);
      if (strcmp(now, then) == 0) continue;
      if (used < sizeof diff)
        used += snprintf(diff + used, sizeof diff - used,
                         "\n  %s.%s: not in the run's record (a parameter added since), %s now",
                         cfg->sec[s].name, p->name, now);
      ndiff++;
    }
  if (ndiff)
    return fail_msg(err, errsz, "%s: %d parameter%s differ%s from the run being resumed:%s", name,
                    ndiff, ndiff > 1 ? "s" : "", ndiff > 1 ? "" : "s", diff);
  return 0;
}

int manifest_check(const char *path, const Config *cfg, char *err, size_t errsz) {
  Config rec;
  cfg_init(&rec);
  int rc = cfg_read_file(&rec, path, CFG_MANIFEST, err, errsz) ||
           compare(&rec, path, cfg, err, errsz) ? -1 : 0;
  cfg_free(&rec);
  return rc;
}

int manifest_check_text(const char *text, const char *name, const Config *cfg, char *err,
                        size_t errsz) {
  Config rec;
  cfg_init(&rec);
  int rc = cfg_read_string(&rec, text, name, CFG_MANIFEST, err, errsz) ||
           compare(&rec, name, cfg, err, errsz) ? -1 : 0;
  cfg_free(&rec);
  return rc;
}
