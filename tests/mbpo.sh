#!/bin/sh
# mbpo: learns InvertedPendulum in a few thousand steps; a run is reproducible and resumes
# exactly (the model pool and the weighting's dual in the checkpoint); the weightings run in it;
# bad input is refused with exit 2.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
mbpo="$MB_BUILDDIR/algorithms/mbpo/mbpo"
dmd="$MB_BUILDDIR/algorithms/dmd_mpc/dmd_mpc"
cd "$T" || exit 99

# every log of two run directories, without the timing column (wall_s, last)
same_all() {
  for f in train.csv eval.csv algo.csv model.csv fit.csv rollout.csv; do
    [ -f "$1/$f" ] && [ -f "$2/$f" ] || return 1
    sed 's/,[^,]*$//' "$1/$f" >"$T/y1"
    sed 's/,[^,]*$//' "$2/$f" >"$T/y2"
    cmp -s "$T/y1" "$T/y2" || return 1
  done
}

# small: a short run with every part at work (fits, rollouts of length 1..3, updates, checkpoints)
small="--env InvertedPendulum --steps 600 --eval-every 300 --eval-episodes 1 --checkpoint-every 250
  --set env.max_steps=100 --set mbpo.init_steps=200 --set mbpo.epoch_length=200
  --set mbpo.model_every=100 --set mbpo.rollout_batch=200 --set mbpo.rollout_max_length=3
  --set mbpo.rollout_min_epoch=0 --set mbpo.rollout_max_epoch=1 --set mbpo.updates=4
  --set sac.hidden_size=16 --set sac.batch_size=32 --set sac.log_every=20
  --set ensemble.members=3 --set ensemble.elites=2 --set ensemble.hidden_layers=2
  --set ensemble.hidden_size=16 --set ensemble.max_epochs=5 --quiet"
for w in uniform tom-binary tom; do
  tw="--set ensemble.weights=$w --set weights.recent=100 --set weights.q_steps=20 --set weights.q_batch=32 --set weights.q_hidden=16
    --set weights.disc_epochs=5 --set weights.disc_hidden=16 --set weights.disc_batch=32"
  $mbpo $small $tw --out "$w.1" >/dev/null || fail "mbpo ($w)"
  $mbpo $small $tw --out "$w.2" >/dev/null || fail "mbpo ($w) again"
  same_all "$w.1" "$w.2" || fail "mbpo ($w): the same seed gave different logs"
  cp -r "$w.1" "$w.3"
  rm "$w.3/DONE"
  printf '450,1' >>"$w.3/algo.csv"
  $mbpo --out "$w.3" --resume --quiet >/dev/null || fail "mbpo ($w): resume"
  same_all "$w.1" "$w.3" || fail "mbpo ($w): the resumed run differs from the uninterrupted one"
  echo "ok: mbpo with ensemble.weights=$w is reproducible and resumes exactly"
done
# the rollouts grew to length 3 on the schedule, and the pool with them
awk -F, 'NR > 1 { len[$3] = 1 } END { exit !(len[1] && len[3]) }' uniform.1/rollout.csv ||
  fail "rollout lengths in rollout.csv: $(cut -d, -f3 uniform.1/rollout.csv | tr '\n' ' ')"
# uniform weighs nothing; tom-binary weighs the recent transitions above the old ones
awk -F, 'NR > 1 && ($2 != 1 || $3 != 1) { bad = 1 } END { exit bad }' uniform.1/fit.csv ||
  fail "uniform weights in fit.csv: $(cat uniform.1/fit.csv)"
awk -F, 'NR > 1 && $8 != "nan" { n++; if ($3 > $2) up++ } END { exit !(n > 0 && up == n) }' \
  tom-binary.1/fit.csv || fail "tom-binary: cur_weight should exceed old_weight: $(cat tom-binary.1/fit.csv)"
# tom: its discriminator's accuracy and loss at every weighted fit, blank (nan) for tom-binary
awk -F, 'NR > 1 && $8 != "nan" { n++; if ($9 == "nan" || $10 == "nan" || $9 < 0 || $9 > 1) bad = 1 }
  END { exit bad || !n }' tom.1/fit.csv || fail "tom: discriminator columns of fit.csv: $(cat tom.1/fit.csv)"
awk -F, 'NR > 1 && ($9 != "nan" || $10 != "nan") { bad = 1 } END { exit bad }' tom-binary.1/fit.csv ||
  fail "tom-binary has discriminator statistics: $(cat tom-binary.1/fit.csv)"
echo "ok: fit.csv: uniform weighs alike, tom-binary weighs the newest transitions up, tom logs its discriminator"
# recency and weighted rollout starts run
$mbpo $small --set ensemble.weights=recency --set mbpo.weighted_starts=true --out rec >/dev/null ||
  fail "mbpo with recency weights and weighted starts"
same_all uniform.1 rec && fail "recency weights gave the uniform run"
echo "ok: recency weights with weighted rollout starts"

# a resumed run cannot change its weighting (its checkpoint's weights state belongs to the old
# one): a configuration error; a damaged checkpoint (a byte of the weights state flipped) is a
# run failure, as every damaged checkpoint of the suite, and the checkpoint is left as it was
cp -r tom-binary.1 tb
rm tb/DONE
expect 2 "ensemble.weights" $mbpo --out tb --resume --set ensemble.weights=uniform
cp -r tom.1 tc
rm tc/DONE
off=$(grep -abo 'weights.dual' tc/checkpoint.bin | head -n 1 | cut -d: -f1)
[ -n "$off" ] || fail "no weights.dual entry in tom's checkpoint"
cp tc/checkpoint.bin good.bin
printf 'X' | dd of=tc/checkpoint.bin bs=1 seek=$((off + 40)) conv=notrunc 2>/dev/null
cp tc/checkpoint.bin bad.bin
expect 1 "cannot resume: tc/checkpoint.bin: checksum mismatch" $mbpo --out tc --resume --quiet
cmp -s tc/checkpoint.bin bad.bin || fail "a refused resume changed the checkpoint"
cp good.bin tc/checkpoint.bin
$mbpo --out tc --resume --quiet >/dev/null || fail "tom: resume from the intact checkpoint"

# learning: InvertedPendulum balanced (>= 950 in every evaluation episode) within 6000 steps (seed 2
# reaches 1000 at step 5000 on the machine this was written on, seed 1 at 7000; SAC alone, same
# networks and seed, one update per step, is at 100 after 12000)
learn="--env InvertedPendulum --seed 2 --steps 6000 --eval-every 1000 --eval-episodes 3
  --set mbpo.init_steps=500 --set mbpo.rollout_batch=2000 --set mbpo.epoch_length=500
  --set ensemble.hidden_size=64 --set ensemble.hidden_layers=3 --set ensemble.max_epochs=20
  --set sac.hidden_size=64 --set sac.batch_size=128 --quiet"
$mbpo $learn --out learn >/dev/null || fail "mbpo on InvertedPendulum"
awk -F, 'NR > 1 { if ($4 < 950) low[$1] = 1; seen[$1] = 1 }
  END { for (s in seen) if (!(s in low)) { print s; exit 0 } exit 1 }' learn/eval.csv >first ||
  fail "mbpo never balanced InvertedPendulum: $(cut -d, -f1,4 learn/eval.csv | tr '\n' ' ')"
echo "ok: mbpo balances InvertedPendulum (every episode >= 950) at step $(cat first)"

# bad input
expect 2 "mbpo.model_every: 2000 is longer than an epoch" $mbpo --set mbpo.model_every=2000
expect 2 "weights.recent = 1000: the recent transitions must be fewer than the 500" \
  $mbpo --set ensemble.weights=tom-binary --set sac.buffer_size=500
expect 2 "ensemble.weights: expected one of" $mbpo --set ensemble.weights=oracle
expect 2 "mbpo.rollout_max_epoch" $mbpo --set mbpo.rollout_max_length=5 --set mbpo.rollout_min_epoch=10 \
  --set mbpo.rollout_max_epoch=10
expect 2 "the model pool would hold" $mbpo --set mbpo.rollout_batch=1e8 --set mbpo.retain_epochs=100
expect 0 "weights.recent" $mbpo --help
expect 2 "weights.recent = 1000: the recent transitions must be fewer than the 800" \
  $dmd --model ensemble --set ensemble.weights=tom-binary --set dmd.buffer_size=800
expect 2 "ensemble.weights=tom needs the program's policy, and dmd_mpc has no parametric policy" \
  $dmd --model ensemble --set ensemble.weights=tom
[ -e runs ] && fail "a refused configuration left a run directory behind"
echo "ok: refused configurations create nothing"
