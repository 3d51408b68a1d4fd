#!/bin/sh
# The example program: bad input gives a clear message and exit 2, a failed run exit 1, and a
# corrupted or truncated checkpoint is refused.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
fit="$MB_BUILDDIR/examples/fit"
cd "$T" || exit 99

expect 2 "fit: unknown option '--stpes' (did you mean '--steps'?)" $fit --stpes 10
expect 2 "fit: --set: fit.lr: expected a number in (0, 1], got '0'" $fit --set fit.lr=0
expect 2 "fit: --set: fit.activation: expected one of relu|tanh|swish, got 'gelu'" \
  $fit --set fit.activation=gelu
expect 2 "fit: --steps: run.steps: expected an integer in [1, 1e12], got '-3'" $fit --steps -3
expect 2 "unknown option '--env'" $fit --env Hopper
printf '[fit]\nhidden = 8\nlayers 3\n' >bad.ini
expect 2 "fit: bad.ini:3: malformed line" $fit --config bad.ini
printf '[fit]\nhiden = 8\n' >bad.ini
expect 2 "fit: bad.ini:2: unknown key 'hiden' in [fit] (did you mean 'hidden'?)" $fit --config bad.ini
expect 0 "Usage: fit" $fit --help
expect 0 "fit (mirrorbench)" $fit --version

# a finished run
expect 0 "fit: test mse" $fit --steps 200 --eval-every 100 --checkpoint-every 100 --out r --quiet
[ -f r/DONE ] && [ -f r/manifest.ini ] || fail "a finished run has DONE and manifest.ini"
expect 2 "r: this run has finished (DONE exists)" $fit --out r
expect 0 "r: already finished" $fit --out r --resume
# the manifest is a config that repeats the run
expect 0 "fit: test mse" $fit --config r/manifest.ini --out r2 --quiet
same_logs r r2 || fail "rerunning from the manifest gave different logs"

# resuming with other parameters, and with a damaged checkpoint
rm r/DONE
expect 2 "r holds a run already; pass --resume" $fit --out r
expect 2 "fit.hidden: 32 in the run, 16 now" $fit --out r --resume --set fit.hidden=16
cp r/checkpoint.bin good.bin
printf 'X' | dd of=r/checkpoint.bin bs=1 seek=400 conv=notrunc 2>/dev/null
expect 1 "fit: cannot resume: r/checkpoint.bin: checksum mismatch" $fit --out r --resume
head -c 150 good.bin >r/checkpoint.bin
expect 1 "fit: cannot resume: r/checkpoint.bin: truncated" $fit --out r --resume
cp good.bin r/checkpoint.bin
expect 0 "fit: test mse" $fit --out r --resume

# a directory that cannot be created is a run failure
expect 1 "cannot create directory" $fit --out /proc/mirrorbench/x --quiet
