#!/bin/sh
# The sac program on a tiny budget: the same seed gives identical logs (wall time aside), another
# seed does not, a run resumed from its checkpoint (cut short, or killed with kill -9) equals a run
# never interrupted, bad input gives a clear message and exit 2, and --help lists [sac].
. "${MB_SRCDIR:-.}/tests/testlib.sh"
sac="$MB_BUILDDIR/algorithms/sac/sac"
small="--env InvertedPendulum --quiet --set sac.hidden_size=16 --set sac.batch_size=32
  --set sac.random_steps=300 --set sac.log_every=100"
args="$small --steps 2500 --eval-every 500 --checkpoint-every 1000"

# train.csv and eval.csv (same_logs), and algo.csv, equal without their wall_s column
same_all() {
  same_logs "$1" "$2" || return 1
  sed 's/,[^,]*$//' "$1/algo.csv" >"$T/y1"
  sed 's/,[^,]*$//' "$2/algo.csv" >"$T/y2"
  cmp -s "$T/y1" "$T/y2"
}

# shellcheck disable=SC2086 # $args and $small are lists of options
$sac $args --out "$T/a" >/dev/null || fail "first run"
$sac $args --out "$T/b" >/dev/null || fail "second run"
same_all "$T/a" "$T/b" || fail "the same seed gave different logs"
[ "$(wc -l <"$T/a/eval.csv")" -eq 31 ] || fail "expected 6 evaluations of 5 episodes"
# updates after steps 301..2500, a row every 100 of them
[ "$(wc -l <"$T/a/algo.csv")" -eq 23 ] || fail "expected 22 rows in algo.csv"
head -1 "$T/a/algo.csv" | grep -qx 'step,update,q_loss,pi_loss,alpha,entropy,q_mean,wall_s' ||
  fail "algo.csv header"
$sac $args --seed 2 --out "$T/c" >/dev/null || fail "seed 2"
same_all "$T/a" "$T/c" && fail "seed 2 gave the same logs as seed 1"
echo "ok: same seed identical, other seed differs"

# a run stopped after its last checkpoint (step 2000) with rows written after it, the last one
# half written, resumes to exactly the uninterrupted logs
cp -r "$T/a" "$T/d"
rm "$T/d/DONE"
printf '2100,12,40' >>"$T/d/train.csv"
printf '2150,1850,0.5' >>"$T/d/algo.csv"
$sac --out "$T/d" --resume --quiet >/dev/null || fail "resume"
same_all "$T/a" "$T/d" || fail "the resumed run differs from the uninterrupted one"
[ -f "$T/d/DONE" ] || fail "no DONE after resuming"
echo "ok: resume from the last checkpoint"

# the mixture-of-experts head (sac.policy=pmoe): its diagnostics in algo.csv, resume to the same
# logs, and its run is not resumed with the gaussian head
pm="$args --set sac.policy=pmoe --set sac.experts=3"
$sac $pm --out "$T/p" >/dev/null || fail "pmoe run"
want="step,update,q_loss,pi_loss,alpha,entropy,q_mean"
want="$want,gate_entropy,gate_loss,expert_spread,usage_0,usage_1,usage_2,wall_s"
[ "$(head -1 "$T/p/algo.csv")" = "$want" ] || fail "pmoe algo.csv header: $(head -1 "$T/p/algo.csv")"
awk -F, 'NR > 1 { u = $11 + $12 + $13; if (u < 0.999 || u > 1.001) bad = 1 } END { exit bad }' \
  "$T/p/algo.csv" || fail "pmoe: the experts' usage does not sum to 1"
same_all "$T/a" "$T/p" && fail "pmoe gave the gaussian head's logs"
cp -r "$T/p" "$T/q"
rm "$T/q/DONE"
$sac --out "$T/q" --resume --quiet >/dev/null || fail "pmoe resume"
same_all "$T/p" "$T/q" || fail "the resumed pmoe run differs from the uninterrupted one"
rm "$T/q/DONE"
expect 2 "sac.policy: pmoe in the run, gaussian now" \
  $sac --out "$T/q" --resume --set sac.policy=gaussian
$sac $args --set sac.policy=pmoe --set sac.experts=1 --out "$T/p1" >/dev/null || fail "pmoe K=1"
same_logs "$T/a" "$T/p1" || fail "pmoe with one expert differs from the gaussian head"
echo "ok: pmoe logs its gate, resumes exactly, is refused as gaussian; one expert is gaussian"

# the optimistic actor (sac.actor_optimizer=oadam): another run than Adam's, reproducible, and
# resumed exactly (its last step u_{t-1} is in the checkpoint)
oa="$args --set sac.actor_optimizer=oadam"
$sac $oa --out "$T/o" >/dev/null || fail "oadam run"
$sac $oa --out "$T/o2" >/dev/null || fail "oadam run again"
same_all "$T/o" "$T/o2" || fail "oadam: the same seed gave different logs"
same_all "$T/a" "$T/o" && fail "oadam gave Adam's logs"
cp -r "$T/o" "$T/o3"
rm "$T/o3/DONE"
$sac --out "$T/o3" --resume --quiet >/dev/null || fail "oadam resume"
same_all "$T/o" "$T/o3" || fail "the resumed oadam run differs from the uninterrupted one"
echo "ok: the oadam actor is reproducible and resumes exactly"

# a real kill -9 in the middle of a longer run
long="$small --steps 30000 --eval-every 5000 --checkpoint-every 3000"
$sac $long --out "$T/e" >/dev/null || fail "long run"
$sac $long --out "$T/f" >/dev/null &
pid=$!
i=0
while [ ! -f "$T/f/checkpoint.bin" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f "$T/f/DONE" ] && echo "note: the run finished before it could be killed"
$sac --out "$T/f" --resume --quiet >/dev/null || fail "resume after kill -9"
same_all "$T/e" "$T/f" || fail "the run resumed after kill -9 differs from the uninterrupted one"
echo "ok: resume after kill -9"

# bad input
cd "$T" || exit 99
expect 2 "sac: --set: sac.batch_size: expected an integer in [1, 65536], got '0'" \
  $sac --set sac.batch_size=0
expect 2 "sac: --set: sac.gamma: expected a number in [0, 1], got '1.5'" $sac --set sac.gamma=1.5
expect 2 "sac: sac.log_std_min (3) must be below sac.log_std_max (2)" $sac --set sac.log_std_min=3
expect 2 "sac: unknown task 'Hoper' (did you mean Hopper?)" $sac --env Hoper
expect 2 "sac: unknown option '--stpes' (did you mean '--steps'?)" $sac --stpes 10
printf '[sac]\nhiden_size = 8\n' >bad.ini
expect 2 "sac: bad.ini:2: unknown key 'hiden_size' in [sac] (did you mean 'hidden_size'?)" \
  $sac --config bad.ini
expect 2 "unknown key" $sac --env InvertedPendulum --set env.pole_length=2
[ ! -e runs ] || fail "a refused command left a run directory"
cp -r "$T/a" g && rm g/DONE
expect 2 "sac.batch_size: 32 in the run, 64 now" $sac --out g --resume --set sac.batch_size=64
for key in hidden_layers hidden_size actor_lr critic_lr alpha_lr init_alpha gamma tau \
  log_std_min log_std_max batch_size buffer_size random_steps update_every gradient_steps \
  log_every; do
  expect 0 "sac.$key " $sac --help >/dev/null
done

# HalfCheetah is the default task
expect 0 "sac: evaluation return" $sac --steps 2 --eval-episodes 1 --out h --quiet
grep -qx 'env = HalfCheetah' h/manifest.ini || fail "the default task is not HalfCheetah"
