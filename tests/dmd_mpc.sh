#!/bin/sh
# dmd_mpc: planning with the simulator balances InvertedPendulum for a whole episode and swings
# Cartpole up; the learned-model run is reproducible and resumes exactly; bad input is refused.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
dmd="$MB_BUILDDIR/algorithms/dmd_mpc/dmd_mpc"
mbenv="$MB_BUILDDIR/envs/mbenv"
cd "$T" || exit 99

# evaluation return of the last evaluation of run directory $1
last_return() { tail -1 "$1/eval.csv" | cut -d, -f4; }

# the simulator model (program defaults: horizon 25, 50 samples, 3 iterations); one training
# step, so the run is two evaluation episodes of 1000 steps (steps 0 and 1)
$dmd --env InvertedPendulum --model sim --steps 1 --eval-episodes 1 --out ip --quiet >/dev/null ||
  fail "dmd_mpc on InvertedPendulum"
for r in $(cut -d, -f4 ip/eval.csv | tail -n +2); do
  [ "$r" = 1000 ] || fail "InvertedPendulum evaluation return $r, expected the full 1000"
done
echo "ok: the simulator model holds InvertedPendulum for whole episodes"

# Cartpole swingup: the zero force scores ~0 over 300 steps; the MPC (0.6 s horizon) swings up
zero=$($mbenv rollout CartpoleSwingup --policy zero --episodes 1 --set env.max_steps=300 |
  awk '/^return/ {print $2}')
$dmd --env CartpoleSwingup --model sim --steps 1 --eval-episodes 1 --set env.max_steps=300 \
  --set planner.horizon=60 --out cp --quiet >/dev/null || fail "dmd_mpc on CartpoleSwingup"
awk -v r="$(last_return cp)" -v z="$zero" 'BEGIN { exit !(r > 50 && r > 100 * z) }' ||
  fail "CartpoleSwingup: MPC return $(last_return cp) is not well above the zero force's $zero"
echo "ok: CartpoleSwingup $(last_return cp) vs zero force $zero"

# the learned model, small: same seed, same logs; another seed differs; resume equals the run
small="--env InvertedPendulum --model ensemble --steps 300 --eval-every 150 --eval-episodes 1
  --checkpoint-every 100 --set env.max_steps=100 --set dmd.train_every=100
  --set ensemble.members=3 --set ensemble.elites=2 --set ensemble.hidden_layers=2
  --set ensemble.hidden_size=16 --set ensemble.max_epochs=5 --set planner.horizon=5
  --set planner.samples=10 --set planner.iterations=2 --set planner.particles=2 --quiet"
# all four logs, without their timing columns (wall_s; algo.csv also solve_ms)
same_all() {
  same_logs "$1" "$2" || return 1
  for f in algo.csv model.csv; do
    cut="s/,[^,]*$//"
    [ $f = algo.csv ] && cut="s/,[^,]*,[^,]*$//"
    sed "$cut" "$1/$f" >"$T/y1"
    sed "$cut" "$2/$f" >"$T/y2"
    cmp -s "$T/y1" "$T/y2" || return 1
  done
}
$dmd $small --out e1 >/dev/null || fail "ensemble run"
$dmd $small --out e2 >/dev/null || fail "ensemble run again"
same_all e1 e2 || fail "the same seed gave different logs"
[ "$(wc -l <e1/model.csv)" -eq 4 ] || fail "model.csv should have 3 trainings"
$dmd $small --seed 2 --out e3 >/dev/null || fail "ensemble run, seed 2"
same_all e1 e3 && fail "seed 2 gave the same logs"
echo "ok: the ensemble run is reproducible"
cp -r e1 e4
rm e4/DONE
printf '250,1' >>e4/algo.csv
$dmd --out e4 --resume --quiet >/dev/null || fail "resume"
same_all e1 e4 || fail "the resumed run differs from the uninterrupted one"
echo "ok: resume"

# acceleration (planner.optimism): ogd at beta 0 is the base planner to the bit; ogd and extragrad
# (split: the base's rollouts) are reproducible, differ from it and resume exactly (ogd's hint is
# in the checkpoint)
$dmd $small --set planner.optimism=ogd --set planner.beta=0 --out o0 >/dev/null || fail "ogd beta 0"
same_all e1 o0 || fail "planner.optimism=ogd with beta 0 is not the base planner"
for opt in "ogd" "extragrad --set planner.split=true"; do
  oa="--set planner.optimism=$opt"
  n=${opt%% *}
  $dmd $small $oa --out "$n.1" >/dev/null || fail "planner $n"
  $dmd $small $oa --out "$n.2" >/dev/null || fail "planner $n again"
  same_all "$n.1" "$n.2" || fail "planner $n: the same seed gave different logs"
  same_all e1 "$n.1" && fail "planner $n gave the base planner's logs"
  cp -r "$n.1" "$n.3"
  rm "$n.3/DONE"
  $dmd --out "$n.3" --resume --quiet >/dev/null || fail "planner $n: resume"
  same_all "$n.1" "$n.3" || fail "planner $n: the resumed run differs from the uninterrupted one"
done
echo "ok: planner.optimism: ogd at beta 0 is the base; ogd and extragrad reproducible and resumable"

expect 2 "dmd.model: expected one of sim|ensemble, got 'oracle'" $dmd --model oracle
expect 2 "ensemble.elites (9) must not exceed ensemble.members (7)" $dmd --set ensemble.elites=9
expect 2 "planner.elites (60) must not exceed planner.samples (50)" $dmd --set planner.utility=elite \
  --set planner.elites=60
expect 2 "planner.split splits the rounds of planner.optimism=extragrad; with planner.optimism=ogd there is one round" \
  $dmd --set planner.optimism=ogd --set planner.split=true
expect 2 "planner.beta: expected a number in [0, 10], got '11'" $dmd --set planner.optimism=ogd --set planner.beta=11
expect 0 "planner.keep_mean" $dmd --help
[ -e runs ] && fail "a refused configuration left a run directory behind"
echo "ok: refused configurations create nothing"
