#!/bin/sh
# The demo_layer program on Cartpole balance with a heavier pole (0.5 kg, nominal 0.1): a linear
# policy trained here by ARS on the nominal task and then weakened (its matrix times 0.3) scores
# clearly higher through the layer (the nominal simulator as its model) than alone; a rerun from
# the saved policy file gives identical logs; a resumed run (policy trained in the run) equals the
# uninterrupted one; the learned-model layer is reproducible; bad input is refused with exit 2.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
layer="$MB_BUILDDIR/algorithms/demo_layer/demo_layer"
cd "$T" || exit 99

base="--env CartpoleBalance --set env.pole_mass=0.5 --set env.max_steps=300
  --set layer.policy_scale=0.3 --steps 600 --eval-every 300 --eval-episodes 2
  --checkpoint-every 200 --threads 2 --quiet"
# shellcheck disable=SC2086 # option lists
$layer $base --set layer.ars_steps=2e6 --out a >/dev/null || fail "demo_layer with ARS in the run"
[ -s a/policy.txt ] && [ -s a/ars.csv ] || fail "no policy.txt or ars.csv from the run's ARS"
mean() { awk -F, 'NR > 1 { s += $4; n++ } END { printf "%.6g", s / n }' "$1"; }
with=$(mean a/eval.csv)
without=$(mean a/eval_policy.csv)
awk -v a="$with" -v b="$without" 'BEGIN { exit !(a > 1.3 * b && a > b + 60) }' ||
  fail "the layer's return $with is not clearly above the weakened policy's $without"
echo "ok: weakened policy with the layer $with, without $without (of 300)"
[ "$(wc -l <a/speed.csv)" -eq 7 ] || fail "speed.csv: expected 3 evaluations of 2 episodes"

# log $1 of run directories $2 and $3 is the same without its wall_s column
same_log() {
  sed 's/,[^,]*$//' "$2/$1" >"$T/y1" && sed 's/,[^,]*$//' "$3/$1" >"$T/y2" && cmp -s "$T/y1" "$T/y2"
}

# the same policy from its file: the same logs (the file keeps M and the statistics exactly)
$layer $base --policy a/policy.txt --out b >/dev/null || fail "demo_layer --policy"
same_logs a b && same_log eval_policy.csv a b && same_log speed.csv a b ||
  fail "the run from policy.txt differs from the run that trained it"
echo "ok: a rerun from the policy file is identical"

# resume: the policy comes back from the run's policy.txt
cp -r a c
rm c/DONE
printf '500,3' >>c/train.csv
$layer --out c --resume --quiet >/dev/null || fail "resume"
same_logs a c && same_log eval_policy.csv a c && same_log speed.csv a c ||
  fail "the resumed run differs from the uninterrupted one"
echo "ok: resume"

# a real kill -9 after the first checkpoint
$layer $base --policy a/policy.txt --steps 900 --out k1 >/dev/null || fail "long run"
$layer $base --policy a/policy.txt --steps 900 --out k2 >/dev/null &
pid=$!
i=0
while [ ! -f k2/checkpoint.bin ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f k2/DONE ] && echo "note: the run finished before it could be killed"
$layer --out k2 --resume --quiet >/dev/null || fail "resume after kill -9"
same_logs k1 k2 && same_log eval_policy.csv k1 k2 ||
  fail "the run resumed after kill -9 differs from the uninterrupted one"
echo "ok: resume after kill -9"

# the layer on an ensemble learned online: reproducible, and it trains
small="--env CartpoleBalance --model ensemble --policy a/policy.txt --steps 300 --eval-every 300
  --eval-episodes 1 --set env.max_steps=150 --set layer.train_every=100
  --set ensemble.members=3 --set ensemble.elites=2 --set ensemble.hidden_layers=2
  --set ensemble.hidden_size=16 --set ensemble.max_epochs=5 --set planner.tail_steps=10
  --set planner.samples=10 --set planner.mixture=0.1 --quiet"
$layer $small --out e1 >/dev/null || fail "ensemble layer"
$layer $small --out e2 >/dev/null || fail "ensemble layer again"
same_logs e1 e2 && same_log eval_policy.csv e1 e2 && same_log model.csv e1 e2 ||
  fail "the ensemble layer is not reproducible"
[ "$(wc -l <e1/model.csv)" -eq 4 ] || fail "model.csv: expected 3 trainings"
echo "ok: the learned-model layer is reproducible"
# TOM's weights with the linear policy as pi: the fits after the recent pool is full are
# weighted, with the dual's and the discriminator's statistics in fit.csv
$layer $small --set ensemble.weights=tom --set weights.recent=100 --set weights.q_steps=20 \
  --set weights.q_hidden=16 --set weights.q_batch=32 --set weights.disc_epochs=3 \
  --set weights.disc_hidden=16 --set weights.disc_batch=32 --out e4 >/dev/null ||
  fail "ensemble layer with tom weights"
awk -F, 'NR > 1 && $8 != "nan" { n++; if ($9 == "nan" || $3 == 1) bad = 1 } END { exit bad || !n }' \
  e4/fit.csv || fail "tom in demo_layer: fit.csv $(cat e4/fit.csv)"
echo "ok: the learned-model layer fits with TOM's weights"

# the learned-model layer with ARS trained in the run: every log of both (five extra logs)
# shellcheck disable=SC2086 # option lists
$layer $(echo "$small" | sed 's|--policy a/policy.txt||') --set layer.ars_steps=3000 --out e3 \
  >/dev/null || fail "ensemble layer with ARS in the run"
for f in ars.csv model.csv plan.csv speed.csv eval_policy.csv policy.txt; do
  [ -s "e3/$f" ] || fail "ensemble layer with ARS in the run: no $f"
done
echo "ok: the learned-model layer with ARS in the run writes all its logs"

expect 2 "layer.policy: $T/missing.txt" $layer --policy "$T/missing.txt"
printf 'mirrorbench-linear-policy 1\ntask InvertedPendulum\nobs 4\nact 1\nclip no\nlow -3\nhigh 3
count 0\nmean 0 0 0 0\nm2 0 0 0 0\nM 1 2 3 4\n' >ip.txt
expect 2 "layer.policy: ip.txt has 4 observations and 1 actions; CartpoleBalance has 5 and 1" \
  $layer --policy ip.txt
expect 2 "planner.prior_mean" $layer --set planner.mixture=0
expect 2 "layer.model: expected one of sim|ensemble, got 'oracle'" $layer --model oracle
[ -e runs ] && fail "a refused configuration left a run directory behind"
echo "ok: refused configurations create nothing"
