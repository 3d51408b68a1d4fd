#!/bin/sh
# Faults a long sweep meets, each of which must stop a run honestly and leave it resumable (or
# leave nothing at all): a write that fails (a file size limit standing in for a full disk), a
# second launch on the same run directory, a checkpoint, manifest or input file from another
# run, a learner that diverges, and a run that fails or dies before its first step.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
ars="$MB_BUILDDIR/algorithms/ars/ars"
layer="$MB_BUILDDIR/algorithms/demo_layer/demo_layer"
cd "$T" || exit 99
args="--env Swimmer --steps 60000 --eval-every 10000 --eval-episodes 10 --checkpoint-every 10000
  --quiet"
# shellcheck disable=SC2086 # option lists
$ars $args --out ref >/dev/null || fail "the uninterrupted run"

# 1. writes that fail: the limit lets the manifest and the checkpoint (about 1.1 kB each) through
# and stops eval.csv (2.7 kB at the end) part way; the run ends with exit 1 naming the file, and
# once the limit is gone --resume gives exactly the uninterrupted logs. (ulimit -f counts 512-byte
# blocks in dash, 1024 in bash: both limits fall between.)
for lim in 3 5; do
  rm -rf w
  out=$(sh -c 'trap "" XFSZ; ulimit -f "$0"; exec "$@"' $lim $ars $args --out w 2>&1)
  rc=$?
  [ $rc -eq 1 ] || fail "a failed write (limit $lim) exited $rc: $out"
  case $out in *"w/eval.csv: cannot write: File too large"*) ;;
    *) fail "the message does not name the file: $out" ;; esac
  [ -f w/DONE ] && fail "DONE after a failed write"
  $ars $args --out w --resume >/dev/null || fail "resume after the failed write"
  same_logs ref w && cmp -s ref/policy.txt w/policy.txt ||
    fail "resumed after a failed write (limit $lim): the logs differ from the uninterrupted run"
done
echo "ok: a failed write stops the run with exit 1 naming the file; resumed, the logs are exact"

# 2. one writer per run directory: a second start, and a second resume, exit 1 at once, change
# nothing, and the first run ends as if alone
$ars $args --out two >/dev/null &
pid=$!
i=0   # eval.csv is made once the run holds its lock
while [ ! -f two/eval.csv ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -STOP $pid   # holding its lock, writing nothing: the directory can be compared exactly
trap 'kill -CONT $pid 2>/dev/null; rm -rf "$T"' EXIT
before=$(ls -l --full-time two)
expect 1 "two: another process is running in this directory" $ars $args --out two
expect 1 "two: another process is running in this directory" $ars $args --out two --resume
[ "$(ls -l --full-time two)" = "$before" ] || fail "the second launch changed the directory"
kill -CONT $pid
trap 'rm -rf "$T"' EXIT
wait $pid || fail "the first run failed next to a second launch"
same_logs ref two || fail "the first run's logs differ after a second launch"
cp -r ref again
rm again/DONE again/policy.txt again/checkpoint.bin   # a resume that starts over: seconds of work
$ars --out again --resume --quiet >/dev/null &
pid=$!
full=$(wc -l <ref/eval.csv)
i=0   # it holds its lock once it has started eval.csv over
while [ "$(wc -l <again/eval.csv)" -ge "$full" ] && [ $i -lt 600 ]; do
  sleep 0.05
  i=$((i + 1))
done
kill -STOP $pid
trap 'kill -CONT $pid 2>/dev/null; rm -rf "$T"' EXIT
expect 1 "again: another process is running in this directory" $ars --out again --resume
expect 1 "again: another process is running in this directory" $ars $args --out again
kill -CONT $pid
trap 'rm -rf "$T"' EXIT
wait $pid || fail "the resume next to a second one failed"
same_logs ref again || fail "the resumed run's logs differ after a second resume"
echo "ok: a second start or resume on a running directory exits 1 and changes nothing"

# 3. a checkpoint belongs to its run: another seed's checkpoint, or its manifest, is refused
# naming the parameter; so is a changed copy of an input file, while the original may change
$ars $args --seed 2 --steps 20000 --out s2 >/dev/null || fail "seed 2"
cp -r ref mix
rm mix/DONE
cp s2/checkpoint.bin mix/
expect 1 "run.seed: 2 in the run, 1 now" $ars --out mix --resume --quiet
cp ref/checkpoint.bin mix/
cp s2/manifest.ini mix/
expect 1 "run.seed: 1 in the run, 2 now" $ars --out mix --resume --quiet
grep -q "^input.env.model = [0-9a-f]\{16\} .*swimmer.xml" ref/manifest.ini ||
  fail "the manifest does not record the model file's digest"

$ars --env CartpoleBalance --steps 4000 --quiet --out pol >/dev/null ||
  fail "a policy for the layer"
cp pol/policy.txt mine.txt
small="--env CartpoleBalance --policy mine.txt --steps 300 --eval-every 300 --eval-episodes 1
  --checkpoint-every 100 --quiet"
$layer $small --out l1 >/dev/null || fail "demo_layer from a policy file"
cmp -s mine.txt l1/inputs/layer.policy || fail "the run keeps no copy of its policy"
cp -r l1 l2
rm l2/DONE
echo "# changed" >>mine.txt   # the original may change: the run reads its copy
$layer --out l2 --resume --quiet >/dev/null || fail "resume after the original policy changed"
same_logs l1 l2 || fail "the resumed layer run differs from the uninterrupted one"
rm l2/DONE
# a damaged copy fails its own checksum; another valid policy in its place fails the binding
sed 's/^count \(.*\)/count 1\1/' l1/inputs/layer.policy >l2/inputs/layer.policy
expect 2 "checksum mismatch" $layer --out l2 --resume --quiet
$ars --env CartpoleBalance --steps 4000 --seed 2 --quiet --out pol2 >/dev/null ||
  fail "another policy"
cp pol2/policy.txt l2/inputs/layer.policy
expect 1 "input layer.policy differs from the one the run started with" \
  $layer --out l2 --resume --quiet
echo "ok: checkpoints, manifests and input copies of other runs are refused, naming the difference"

# 4. divergence is a failure: a step size that overflows the policy ends the run with exit 1
# and a DIVERGED marker (no DONE), and --resume does not pretend to finish it
expect 1 "diverged at step" $ars --env Swimmer --steps 20000 --seed 3 --set ars.step_size=1e308 \
  --quiet --out div
[ -f div/DIVERGED ] && [ ! -f div/DONE ] || fail "no DIVERGED marker, or a DONE"
grep -q '^diverged at step [0-9]*: ars: ' div/DIVERGED || fail "marker: $(cat div/DIVERGED)"
expect 1 "this run diverged at step" $ars --out div --resume --quiet
# the aggregator leaves it out of the score and counts it
printf 'ars Swimmer 1 ref\nars Swimmer 3 div\n' >jobs.txt
"$MB_BUILDDIR/analysis/aggregate" --jobs jobs.txt --out agg >/dev/null 2>&1 || fail "aggregate"
want=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { print $c["seeds"], $c["diverged"], $c["mean"] }' agg/final.csv)
last=$(tail -1 ref/eval.csv | cut -d, -f2)
mean=$(awk -F, -v e="$last" 'NR > 1 && $2 == e { s += $4; n++ } END { printf "%.17g", s / n }' \
  ref/eval.csv)
[ "${want% *}" = "1 1" ] || fail "final.csv counts seeds and diverged as ${want% *}, expected 1 1"
awk -v a="${want##* }" -v b="$mean" 'BEGIN { d = a - b; exit !(d < 1e-9 && d > -1e-9) }' ||
  fail "the group's mean ${want##* } is not the finished run's final return $mean alone"
echo "ok: divergence ends the run with exit 1 and a DIVERGED marker; aggregate counts it apart"

# 5. a run that fails before its first step leaves nothing behind (here: a missing model file,
# in a new directory and in an empty one made beforehand), and one killed before its first step
# (only a manifest and log headers) is taken over by the corrected command, --resume or not
expect 2 "cannot read" $ars $args --set env.model="$T/none.xml" --out early
[ -e early ] && fail "a run that failed before its first step left its directory"
mkdir empty
expect 2 "cannot read" $ars $args --set env.model="$T/none.xml" --out empty
[ -d empty ] && [ -z "$(ls -A empty)" ] || fail "the run left files in the directory given"
expect 2 "layer.policy: $T/none.txt: cannot open" $layer $small --policy "$T/none.txt" --out early
[ -e early ] && fail "demo_layer left a directory after a bad policy file"
mkdir killed
cp ref/manifest.ini killed/
head -1 ref/train.csv >killed/train.csv
head -1 ref/eval.csv >killed/eval.csv
$ars $args --seed 3 --out killed --resume >/dev/null 2>&1 || fail "taking over a run never started"
grep -q "^seed = 3" killed/manifest.ini && [ -f killed/DONE ] || fail "not taken over"
echo "ok: nothing is left by a run that fails before it starts; one killed then is taken over"
