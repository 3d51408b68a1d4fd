#!/bin/sh
# ars: the same seed gives identical logs and policies, another seed does not; the thread count
# changes nothing (also across a resume); a resumed run (after a checkpoint, and after kill -9)
# equals one never interrupted; bad input exits 2; and mbenv runs the saved policy from the
# evaluation's start states to the same return.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
ars="$MB_BUILDDIR/algorithms/ars/ars"
mbenv="$MB_BUILDDIR/envs/mbenv"
cd "$T" || exit 99
args="--env InvertedPendulum --steps 30000 --eval-every 5000 --checkpoint-every 5000 --quiet"

$ars $args --threads 2 --out a >/dev/null || fail "first run"
$ars $args --threads 2 --out b >/dev/null || fail "second run"
same_logs a b && cmp -s a/policy.txt b/policy.txt || fail "the same seed gave different results"
$ars $args --threads 2 --seed 2 --out c >/dev/null || fail "seed 2"
same_logs a c && fail "seed 2 gave the same logs as seed 1"
echo "ok: same seed identical, other seed differs"
[ "$(head -1 a/train.csv)" = \
  "step,iteration,return_mean,return_max,return_std,length_mean,sigma_r,wall_s" ] ||
  fail "train.csv header"
[ "$(sed -n 2p a/eval.csv | cut -d, -f1-3)" = "0,0,0" ] || fail "the first evaluation is at step 0"
last=$(tail -1 a/train.csv | cut -d, -f1)
[ "$last" -ge 30000 ] && [ "$(tail -1 a/eval.csv | cut -d, -f1)" = "$last" ] ||
  fail "the last evaluation is at the last step"
grep -q '^threads = 2$' a/manifest.ini || fail "the manifest records [exec] threads"

$ars $args --threads 1 --out t1 >/dev/null || fail "one thread"
same_logs a t1 && cmp -s a/policy.txt t1/policy.txt || fail "1 and 2 threads differ"
echo "ok: 1 and 2 threads give identical logs and policies"

# a run stopped after its last checkpoint with rows written after it, the last one half
# written, resumes (with another thread count) to exactly the uninterrupted run
cp -r a d
rm d/DONE d/policy.txt
printf '29999,99,1' >>d/train.csv
$ars --out d --resume --threads 1 --quiet >/dev/null || fail "resume"
same_logs a d && cmp -s a/policy.txt d/policy.txt ||
  fail "the resumed run differs from the uninterrupted one"
[ -f d/DONE ] || fail "no DONE after resuming"
echo "ok: resume from the last checkpoint, with another --threads"

# acceleration (ars.optimism): ogd with beta 0 is plain ARS to the bit; ogd (beta adapting) and
# extragrad are reproducible, differ from plain ARS and resume exactly from a checkpoint (ogd's
# last steps and beta are in it); extragrad's iterations take twice the rollouts
$ars $args --threads 2 --set ars.optimism=ogd --set ars.beta=0 --out o0 >/dev/null || fail "ogd beta 0"
# (ogd's train.csv has a beta column more, all zeros here: compared without it)
awk -F, 'NR > 1 && $8 != 0 { bad = 1 } END { exit bad }' o0/train.csv || fail "ogd beta 0 logged a beta"
cut -d, -f1-7,9 o0/train.csv >o0.csv && mv o0.csv o0/train.csv
same_logs a o0 && cmp -s a/policy.txt o0/policy.txt || fail "ogd with beta 0 is not plain ARS"
for opt in ogd extragrad; do
  oa="--set ars.optimism=$opt"
  [ $opt = ogd ] && oa="$oa --set ars.adapt_beta=true"
  $ars $args $oa --out "$opt.1" >/dev/null || fail "ars $opt"
  $ars $args $oa --out "$opt.2" >/dev/null || fail "ars $opt again"
  same_logs "$opt.1" "$opt.2" || fail "ars $opt: the same seed gave different logs"
  same_logs a "$opt.1" && fail "ars $opt gave plain ARS's logs"
  cp -r "$opt.1" "$opt.3"
  rm "$opt.3/DONE" "$opt.3/policy.txt"
  $ars --out "$opt.3" --resume --quiet >/dev/null || fail "ars $opt: resume"
  same_logs "$opt.1" "$opt.3" && cmp -s "$opt.1/policy.txt" "$opt.3/policy.txt" ||
    fail "ars $opt: the resumed run differs from the uninterrupted one"
done
# ogd logs the beta of every step: the adapted one moves off its start, plain ARS has no column
head -1 ogd.1/train.csv | grep -q ',sigma_r,beta,wall_s$' || fail "ogd train.csv: no beta column"
head -1 a/train.csv | grep -q beta && fail "plain ARS's train.csv has a beta column"
[ "$(awk -F, 'NR > 1 { print $8 }' ogd.1/train.csv | sort -u | wc -l)" -gt 1 ] ||
  fail "the adapted beta never moved: $(cut -d, -f8 ogd.1/train.csv | tr '\n' ' ')"
# steps per iteration: extragrad's first iteration took the rollouts of two
s1=$(sed -n 2p a/train.csv | cut -d, -f1)
s2=$(sed -n 2p extragrad.1/train.csv | cut -d, -f1)
[ "$s2" -gt "$s1" ] || fail "extragrad's first iteration took $s2 steps, plain ARS's $s1"
expect 2 "ars.beta = 3 is above ars.beta_max = 2" $ars --set ars.optimism=ogd --set ars.beta=3 \
  --set ars.adapt_beta=true --out x
expect 2 "ars.adapt_beta adapts the beta of ars.optimism=ogd; with ars.optimism=extragrad there is no beta" \
  $ars --set ars.optimism=extragrad --set ars.adapt_beta=true --out x
expect 2 "ars.optimism: expected one of none|ogd|extragrad" $ars --set ars.optimism=nesterov --out x
echo "ok: ars.optimism: ogd at beta 0 is ARS; ogd and extragrad reproducible and resumable"

# a real kill -9 in the middle of a longer run
long="--env InvertedPendulum --steps 400000 --eval-every 50000 --checkpoint-every 20000 --quiet"
$ars $long --out e >/dev/null || fail "long run"
$ars $long --out f >/dev/null &
pid=$!
i=0
while [ ! -f f/checkpoint.bin ] && [ $i -lt 600 ]; do sleep 0.02; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f f/DONE ] && echo "note: the run finished before it could be killed"
$ars --out f --resume --quiet >/dev/null || fail "resume after kill -9"
same_logs e f && cmp -s e/policy.txt f/policy.txt ||
  fail "the run resumed after kill -9 differs from the uninterrupted one"
echo "ok: resume after kill -9"

# mbenv replays the final policy from the evaluation's first start state (substream 0 of the
# seed's evaluation stream in both): the same return as the final evaluation's episode 0
check_replay() {   # check_replay RUN TASK SEED
  want=$(awk -F, -v s="$(tail -1 "$1/eval.csv" | cut -d, -f1)" \
    '$1 == s && $3 == 0 { printf "%.6f", $4 }' "$1/eval.csv")
  got=$($mbenv rollout "$2" --policy "$1/policy.txt" --episodes 1 --seed "$3" |
    awk '$1 == "0" { print $2 }')
  [ -n "$want" ] && [ "$want" = "$got" ] ||
    fail "mbenv on $1/policy.txt returned '$got'; the final evaluation's episode 0 '$want'"
  echo "ok: mbenv reproduces the final evaluation of $2 ($got)"
}
check_replay a InvertedPendulum 1
$ars --env Swimmer --seed 3 --steps 20000 --eval-every 10000 --set ars.directions=1 --quiet \
  --out s >/dev/null || fail "Swimmer run"
check_replay s Swimmer 3

# errors
expect 2 "ars: --threads: exec.threads: expected an integer in [1, 1024], got '0'" \
  $ars --threads 0 --out x
expect 2 "unknown option '--thread' (did you mean '--threads'?)" $ars --thread 2 --out x
expect 2 "ars: ars.top: 9 is more than ars.directions (8)" $ars --set ars.top=9 --out x
expect 2 "ars: ars.shift: expected auto or a finite number, got 'abc'" \
  $ars --set ars.shift=abc --out x
expect 2 "ars.step_size: expected a number in (0, inf), got '0'" \
  $ars --set ars.step_size=0 --out x
expect 2 "unknown key 'normalise' in [ars] (did you mean 'normalize'?)" \
  $ars --set ars.normalise=false --out x
printf '[ars]\ndirections = many\n' >bad.ini
expect 2 "bad.ini:2: ars.directions: expected an integer in [1, 100000], got 'many'" \
  $ars --config bad.ini --out x
expect 2 "unknown task 'Hoper' (did you mean Hopper?)" $ars --env Hoper --out x
[ -e x ] && fail "a refused command line created its run directory"
rm d/DONE
expect 2 "ars.directions: 8 in the run, 4 now" $ars --out d --resume --set ars.directions=4
expect 0 "Usage: ars" $ars --help
expect 0 "ars.top" $ars --help
