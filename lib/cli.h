// cli: the command line and run directory every program shares.
//
// Harness flags (every program):
//   --env NAME --seed N --steps N --eval-every N --eval-episodes N --checkpoint-every N
//       dedicated flags for the [run] parameters (--env and --eval-episodes only where the program
//       has an environment)
//   --out DIR          run directory (manifest.ini, CSV logs, checkpoint, DONE)
//   --config FILE      INI file of parameters (repeatable; later files win)
//   --set KEY=VALUE    one parameter, e.g. --set sac.batch_size=64 (repeatable; later wins)
//   --resume           continue the run in --out from its checkpoint (or start it if it has none)
//   --progress=auto|always|never, --quiet, --help, --version
//   --print-config     print every resolved parameter (an INI file, like the manifest's tables)
//                      and exit 0 without touching --out
// Precedence: defaults < the run's manifest (with --resume) < --config < --set < dedicated flags.
//
// A program reads like this:
//   Cli cli;
//   cli_init(&cli, argv[0], "soft actor-critic", CLI_ENV);
//   sac_params_register(&cli.cfg, "sac", &sac);
//   cli_parse(&cli, argc, argv);     // exits 2 on bad input, 0 after --help / --version
//   ... register sections that depend on parsed values (e.g. the task's [env] options) ...
//   cli_finish(&cli);                // prepares --out, writes or checks manifest.ini
//   ... run; cli_done(&cli) writes DONE last ...
#ifndef MB_CLI_H
#define MB_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "progress.h"

#define RUN_PARAMS(X)                                                                        \
  X(STR, env, "InvertedPendulum", "nonempty", "task (mbenv list shows them)")                \
  X(INT, seed, "1", "[0, 4294967295]", "base seed: every random stream derives from it")     \
  X(INT, steps, "100000", "[1, 1e12]", "training budget in environment steps")               \
  X(INT, eval_every, "5000", "[0, 1e12]", "evaluate every this many steps (0: start and end)") \
  X(INT, eval_episodes, "5", "[1, 10000]", "episodes per evaluation")                        \
  X(INT, checkpoint_every, "10000", "[0, 1e12]", "checkpoint every this many steps (0: never)")
PARAMS_STRUCT(RunParams, RUN_PARAMS)

enum { CLI_ENV = 1 };   // the program trains on a task: it has run.env and run.eval_episodes

#define CLI_MAX_FLAGS 16
#define CLI_MAX_META 32
#define CLI_MAX_INPUTS 4

typedef struct {
  const char *flag;      // "--threads"
  const char *key;       // "ars.threads"
  const char *metavar;   // "N" (shown in --help)
} CliFlag;

typedef struct {
  const char *prog;      // program name
  const char *summary;   // one line for --help
  int flags;             // CLI_ENV or 0
  Config cfg;
  RunParams run;         // the [run] section
  // options that do not change results (not parameters, not in the manifest's tables)
  char out[4096];
  bool resume, quiet, print_config;
  ProgressMode progress;
  // state after cli_finish
  bool resuming;         // --resume found a manifest in out: the program may load its checkpoint
  char cmdline[1024];
  CliFlag extra[CLI_MAX_FLAGS];
  int nextra;
  char *meta[CLI_MAX_META][2];   // provenance written to the manifest's [meta] (owned)
  int nmeta;
  int lock_fd;           // the run directory, held with an exclusive flock while the run lives
  size_t made_len;       // length of the highest directory of --out that cli_finish made (0:
                         // none; an abandoned run removes them again)
  struct { char name[64]; uint64_t digest; } input[CLI_MAX_INPUTS];   // files the run reads
  int ninput;
} Cli;

// Start a command line for program argv0 with the [run] section registered.
void cli_init(Cli *c, const char *argv0, const char *summary, int flags);

// A dedicated flag for one parameter, e.g. cli_flag(&cli, "--threads", "ars.threads", "N").
void cli_flag(Cli *c, const char *flag, const char *key, const char *metavar);

// Provenance for the manifest's [meta] section (e.g. "mujoco", "2.2.2").
void cli_meta(Cli *c, const char *key, const char *value);

// Parse argv: flags, config files, the manifest of a resumed run; apply what is registered.
// Bad input prints `prog: ...` and exits 2; --help and --version print and exit 0.
void cli_parse(Cli *c, int argc, char **argv);

// Apply the rest (unknown sections are now errors), then prepare the run directory:
//   - the directory is locked (flock) for the life of the process: a second program on the same
//     --out exits 1 at once and changes nothing;
//   - fresh run: --out must not exist or be empty; manifest.ini is written;
//   - --resume: a finished run (DONE) exits 0 with a note, a diverged one (DIVERGED) exits 1; a
//     run with a manifest must have the same parameters (exit 2 listing the differences) and
//     sets c->resuming; otherwise fresh.
//   - a run that never started (no checkpoint, no marker, no log with a data row: it failed or
//     was killed before its first step) is taken over by the next command, fresh.
// A fresh run that fails before it starts (any fail_* exit) leaves nothing behind: its files and
// the directories cli_finish made are removed.
// Prints the non-default parameters to stderr unless --quiet.
void cli_finish(Cli *c);

// A file the run reads (a policy, a model), called after cli_finish with the name of the
// parameter that names it (e.g. "layer.policy"; exit 2 when it cannot be read). copy: the run keeps its own copy, out/inputs/NAME, which a resumed run reads
// instead of the original, so a later change of the original cannot alter it; otherwise only its
// digest is kept. The digest goes to the manifest's [meta] (input.NAME) and to every checkpoint,
// and a resume whose input differs from the checkpoint's is refused (run_start). Writes the path
// to read into use (n bytes). Exits 1 when the file cannot be read or copied.
void cli_input(Cli *c, const char *name, const char *path, bool copy, char *use, size_t n);

// (Re)write manifest.ini from the parameters and [meta] (cli_finish and run_start call it).
void cli_write_manifest(Cli *c);

// "out/name" into buf.
void cli_path(const Cli *c, const char *name, char *buf, size_t n);

// Write the DONE marker (last file of a finished run). Exits 1 if it cannot.
void cli_done(const Cli *c);

// Release the run directory (its lock) and free what the Cli holds.
void cli_free(Cli *c);

#endif
