#!/bin/sh
# The example program: the same seed gives identical logs (wall time aside), another seed does
# not, and a run resumed after being killed equals a run never interrupted.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
fit="$MB_BUILDDIR/examples/fit"
args="--steps 3000 --eval-every 500 --checkpoint-every 1000 --quiet"

$fit $args --out "$T/a" >/dev/null || fail "first run"
$fit $args --out "$T/b" >/dev/null || fail "second run"
same_logs "$T/a" "$T/b" || fail "the same seed gave different logs"
[ "$(wc -l <"$T/a/eval.csv")" -eq 8 ] || fail "expected 7 evaluations (steps 0, 500, ..., 3000)"
$fit $args --seed 2 --out "$T/c" >/dev/null || fail "seed 2"
same_logs "$T/a" "$T/c" && fail "seed 2 gave the same logs as seed 1"
echo "ok: same seed identical, other seed differs"

# a run stopped after its last checkpoint (step 2000) with rows written after it, the last one
# half written, resumes to exactly the uninterrupted logs
cp -r "$T/a" "$T/d"
rm "$T/d/DONE"
printf '2100,0.5' >>"$T/d/train.csv"
$fit --out "$T/d" --resume --quiet >/dev/null || fail "resume"
same_logs "$T/a" "$T/d" || fail "the resumed run differs from the uninterrupted one"
[ -f "$T/d/DONE" ] || fail "no DONE after resuming"
echo "ok: resume from the last checkpoint"

# a real kill -9 in the middle of a longer run
long="--steps 150000 --eval-every 10000 --checkpoint-every 5000 --quiet"
$fit $long --out "$T/e" >/dev/null || fail "long run"
$fit $long --out "$T/f" >/dev/null &
pid=$!
i=0
while [ ! -f "$T/f/checkpoint.bin" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f "$T/f/DONE" ] && echo "note: the run finished before it could be killed"
$fit --out "$T/f" --resume --quiet >/dev/null || fail "resume after kill -9"
same_logs "$T/e" "$T/f" || fail "the run resumed after kill -9 differs from the uninterrupted one"
echo "ok: resume after kill -9"
