#!/bin/sh
# The results aggregator: summary files from fake run directories, hand-computed numbers,
# missing and malformed runs, option errors, and byte-identical outputs for the same inputs.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
agg="$MB_BUILDDIR/analysis/aggregate"
cd "$T" || exit 99

# mkrun DIR FINAL SEED: evaluations at step 0 (both episodes return 100, above every final score)
# and at step 1000 (episodes FINAL - 1 and FINAL + 1, mean FINAL), the manifest of a run of Hopper
# with SEED, then DONE
mkrun() {
  mkdir -p "$1"
  printf '[meta]\nprogram = sac\n\n[run]\nenv = Hopper\nseed = %s\n' "$3" >"$1/manifest.ini"
  printf 'step,eval,episode,return,length,wall_s\n' >"$1/eval.csv"
  printf '0,0,0,100,1000,0.1\n0,0,1,100,1000,0.1\n' >>"$1/eval.csv"
  printf '1000,1,0,%s,1000,0.2\n1000,1,1,%s,1000,0.2\n' $(($2 - 1)) $(($2 + 1)) >>"$1/eval.csv"
  : >"$1/DONE"
}
# has FILE LINE-REGEX: FILE has a whole line matching it
has() {
  grep -qx "$2" "$1" || fail "$1 has no line '$2'; it holds: $(cat "$1")"
}
mkrun runs/s1 1 1; mkrun runs/s2 2 2; mkrun runs/s3 3 3; mkrun runs/s4 10 4
mkrun runs/d1 4 1; mkrun runs/d2 6 2
cat >jobs.txt <<'JOBS'
# label task seed dir
sac Hopper 1 runs/s1
sac Hopper 2 runs/s2

sac Hopper 3 runs/s3
sac Hopper 4 runs/s4
demo_rl Hopper 1 runs/d1
demo_rl Hopper 2 runs/d2
JOBS
printf 'Hopper 0 2\n' >ref.txt
x='[^,]*'   # any one CSV field

expect 0 "Usage: aggregate" $agg --help
expect 0 "6 runs in 2 groups" $agg --jobs jobs.txt --out out --reference ref.txt --reps 200
has out/curves.csv "label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi,diverged"
has out/final.csv "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged"
has out/normalized.csv "label,tasks,runs,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged"
# the last evaluations of sac are 1, 2, 3, 10 (the first ones, 100, are better): mean 16 / 4 = 4,
# IQM (2 + 3) / 2 = 2.5; demo_rl's are 4 and 6: mean and IQM 5 (n = 2 drops nothing)
has out/final.csv "sac,Hopper,4,4,$x,$x,2.5,$x,$x,0"
has out/final.csv "demo_rl,Hopper,2,5,$x,$x,5,$x,$x,0"
# every run returns 100 at step 0: the interval is the point
has out/curves.csv "sac,Hopper,0,4,100,100,100,100,0"
has out/curves.csv "sac,Hopper,1000,4,4,2.5,$x,$x,0"
[ "$(grep -c '^sac,Hopper,' out/curves.csv)" -eq 2 ] || fail "sac's curve has steps 0 and 1000"
# normalised by (x - 0) / (2 - 0): 0.5, 1, 1.5, 5: mean 2, IQM (1 + 1.5) / 2 = 1.25
has out/normalized.csv "sac,1,4,2,$x,$x,1.25,$x,$x,0"
has out/final.md '| demo_rl | Hopper | 2 | 5.0 \[.*\] | 5.0 \[.*\] |'
has out/final.tex 'demo\\_rl & Hopper & 2 & 5.0 \[.*\] & 5.0 \[.*\] \\\\'
has out/final.tex '\\bottomrule'
# the areas under the curves: from 100 at step 0 to FINAL at 1000, (100 + FINAL) / 2: sac 50.5, 51,
# 51.5, 55 (mean 52, IQM (51 + 51.5) / 2 = 51.25), demo_rl 52 and 53; normalised by / 2
has out/auc.csv "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged"
has out/auc.csv "sac,Hopper,4,52,$x,$x,51.25,$x,$x,0"
has out/auc.csv "demo_rl,Hopper,2,52.5,$x,$x,52.5,$x,$x,0"
has out/auc.md '| sac | Hopper | 4 | 51.2 \[.*\] | 52.0 \[.*\] |'
has out/auc.tex 'demo\\_rl & Hopper & 2 & 52.5 \[.*\] & 52.5 \[.*\] \\\\'
has out/auc_normalized.csv "label,tasks,runs,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged"
has out/auc_normalized.csv "sac,1,4,26,$x,$x,25.625,$x,$x,0"
ls out | grep -q '\.tmp$' && fail "temporary files left in out"

# the same inputs give the same bytes; another bootstrap seed other intervals
expect 0 "6 runs" $agg --jobs jobs.txt --out out_b --reference ref.txt --reps 200
expect 0 "6 runs" $agg --jobs jobs.txt --out out_c --reference ref.txt --reps 200 --seed 1
for f in curves.csv final.csv final.md final.tex normalized.csv auc.csv auc.md auc.tex \
  auc_normalized.csv; do
  cmp -s "out/$f" "out_b/$f" || fail "$f differs between two identical runs"
done
cmp -s out/final.csv out_c/final.csv && fail "--seed 1 gave the same intervals as --seed 0"

# a run without DONE: named, exit 1, nothing written; --allow-missing goes on with a warning
rm runs/s3/DONE
expect 1 "aggregate: missing run sac Hopper seed 3: runs/s3 (no DONE)" \
  $agg --jobs jobs.txt --out out2
[ -e out2 ] && fail "a missing run must not leave outputs"
cp jobs.txt jobs2.txt
echo 'sac Hopper 9 runs/nope' >>jobs2.txt
expect 1 "missing run sac Hopper seed 9: runs/nope (no directory)" $agg --jobs jobs2.txt --out out2
[ -e out2 ] && fail "a missing run must not leave outputs"
expect 0 "warning: 1 of 6 runs missing" $agg --jobs jobs.txt --out out3 --allow-missing --reps 100
# without seed 3: 1, 2, 10
has out3/final.csv "sac,Hopper,3,$x,$x,$x,$x,$x,$x,0"
: >runs/s3/DONE

# a malformed eval.csv row: exit 1 naming the file and line
sed -i '4s/.*/1000,1,0,abc,1000,0.2/' runs/s4/eval.csv
expect 1 "aggregate: runs/s4/eval.csv:4: return: not a number: 'abc'" \
  $agg --jobs jobs.txt --out out4
[ -e out4 ] && fail "a malformed run must not leave outputs"
mkrun runs/s4 10 4
# a repeated row (a log appended twice) and a row of the wrong width: named, never averaged in
sed -i '4p' runs/s4/eval.csv
expect 1 "aggregate: runs/s4/eval.csv:5: episode 0 after episode 0 of evaluation 1" \
  $agg --jobs jobs.txt --out out4
mkrun runs/s4 10 4
sed -i '5s/,0.2$//' runs/s4/eval.csv
expect 1 "aggregate: runs/s4/eval.csv:5: 5 columns, expected 6" $agg --jobs jobs.txt --out out4
mkrun runs/s4 10 4
# a run directory of another task or seed than the job list says
sed -i 's/^seed = 4$/seed = 3/' runs/s4/manifest.ini
expect 1 "aggregate: runs/s4/manifest.ini:6: seed = 3, but the job list (line 6) has seed 4" \
  $agg --jobs jobs.txt --out out4
sed -i 's/^seed = 3$/seed = 4/; s/^env = Hopper$/env = Walker2d/' runs/s4/manifest.ini
expect 1 "aggregate: runs/s4/manifest.ini:5: env = Walker2d, but the job list (line 6) runs Hopper" \
  $agg --jobs jobs.txt --out out4
[ -e out4 ] && fail "a run of another task must not leave outputs"
mkrun runs/s4 10 4

# a diverged run (DIVERGED, no DONE) is an outcome: left out of the statistics, counted, and the
# other outputs are those of the runs without it plus the column
expect 0 "6 runs in 2 groups" $agg --jobs jobs.txt --out outd0 --reference ref.txt --reps 200
printf 'diverged at step 700: Q loss is nan\n' >runs/s4/DIVERGED
rm runs/s4/DONE
grep -v 'runs/s4$' jobs.txt >jobs3.txt
expect 0 "aggregate: warning: run sac Hopper seed 4 diverged (diverged at step 700: Q loss is nan): left out, counted" \
  $agg --jobs jobs.txt --out outd --reference ref.txt --reps 200
expect 0 "aggregate: 5 runs and 1 diverged in 2 groups" \
  $agg --jobs jobs.txt --out outd --reference ref.txt --reps 200
expect 0 "5 runs in 2 groups" $agg --jobs jobs3.txt --out outd3 --reference ref.txt --reps 200
# without seed 4's 10: 1, 2, 3, mean and IQM 2 (n = 3 drops nothing)
has outd/final.csv "sac,Hopper,3,2,$x,$x,2,$x,$x,1"
has outd/final.md '| sac | Hopper | 3/4, 1 diverged | 2.0 \[.*\] | 2.0 \[.*\] |'
has outd/final.tex 'sac & Hopper & 3/4, 1 diverged & 2.0 \[.*\] & 2.0 \[.*\] \\\\'
has outd/normalized.csv "sac,1,3,1,$x,$x,1,$x,$x,1"
has outd/auc.csv "sac,Hopper,3,51,$x,$x,51,$x,$x,1"
# the same numbers as a job list without that run: only the counts differ
for f in curves.csv final.csv normalized.csv auc.csv auc_normalized.csv; do
  sed 's/,[^,]*$//' "outd/$f" >d.cut
  sed 's/,[^,]*$//' "outd3/$f" >d3.cut
  cmp -s d.cut d3.cut || fail "$f: a diverged run changed the numbers: $(diff d.cut d3.cut)"
done
# every run of a group diverged: its row has no numbers, never a 0
for r in d1 d2; do printf 'diverged at step 0: observation is inf\n' >runs/$r/DIVERGED; rm runs/$r/DONE; done
expect 0 "3 runs and 3 diverged in 2 groups" $agg --jobs jobs.txt --out outd2 --reps 200
has outd2/final.csv "demo_rl,Hopper,0,,,,,,,2"
has outd2/final.md '| demo_rl | Hopper | 0/2, 2 diverged | all diverged | all diverged |'
grep -q '^demo_rl,' outd2/curves.csv && fail "a group of diverged runs has a curve"
# a malformed DIVERGED, or one next to DONE, is an error naming it
printf 'diverged at step 7\n' >runs/d1/DIVERGED
expect 1 "aggregate: runs/d1/DIVERGED:1: not one line 'diverged at step N: WHAT'" \
  $agg --jobs jobs.txt --out outd4
: >runs/d2/DONE
printf 'diverged at step 7: x\n' >runs/d1/DIVERGED
expect 1 "aggregate: runs/d2: both DONE and DIVERGED" $agg --jobs jobs.txt --out outd4
[ -e outd4 ] && fail "a bad DIVERGED must not leave outputs"
rm -f runs/*/DIVERGED
mkrun runs/s4 10 4; mkrun runs/d1 4 1; mkrun runs/d2 6 2

# --eval NAME: another log with eval.csv's columns, its errors under its own name
for r in s1 s2 s3 s4 d1 d2; do
  sed 's/^1000,1,\([01]\),[^,]*,/1000,1,\1,7,/' "runs/$r/eval.csv" >"runs/$r/eval_mpc.csv"
done
expect 0 "aggregate: 6 runs (eval_mpc.csv) in 2 groups" \
  $agg --jobs jobs.txt --out out6 --eval eval_mpc.csv --reps 100
has out6/final.csv "sac,Hopper,4,7,7,7,7,7,7,0"
rm runs/d2/eval_mpc.csv
expect 1 "aggregate: missing run demo_rl Hopper seed 2: runs/d2 (no eval_mpc.csv)" \
  $agg --jobs jobs.txt --out out7 --eval=eval_mpc.csv
printf 'step,eval,episode,return,length,wall_s\n' >runs/d2/eval_mpc.csv
expect 1 "aggregate: runs/d2/eval_mpc.csv:1: no evaluation rows" \
  $agg --jobs jobs.txt --out out7 --eval eval_mpc.csv
[ -e out7 ] && fail "a bad log must not leave outputs"
expect 2 "aggregate: --eval: expected a file name without '/' (e.g. eval_mpc.csv), got 'x/eval.csv'" \
  $agg --jobs jobs.txt --out out7 --eval x/eval.csv
expect 2 "aggregate: --eval needs a value" $agg --jobs jobs.txt --out out7 --eval
[ -e out7 ] && fail "a usage error must not leave outputs"

# usage errors: exit 2, nothing written
expect 2 "aggregate: unknown option '--bogus'" $agg --jobs jobs.txt --out out5 --bogus
expect 2 "aggregate: --reps: expected an integer in [100, 1e8], got '5'" \
  $agg --jobs jobs.txt --out out5 --reps 5
expect 2 "aggregate: --conf: expected a number in (0, 1), got '1.5'" \
  $agg --jobs jobs.txt --out out5 --conf=1.5
expect 2 "aggregate: --out DIR is required" $agg --jobs jobs.txt
expect 2 "aggregate: --seed needs a value" $agg --jobs jobs.txt --out out5 --seed
printf 'sac Hopper 1 runs/s1\nsac Hopper x runs/s2\n' >bad.txt
expect 2 "aggregate: bad.txt:2: bad seed 'x'" $agg --jobs bad.txt --out out5
printf 'sac Hopper 1 runs/s1\nsac Hopper 1 runs/s2\n' >bad.txt
expect 2 "aggregate: bad.txt:2: run sac Hopper seed 1 is listed twice (lines 1 and 2)" \
  $agg --jobs bad.txt --out out5
printf 'Hopper 0\n' >badref.txt
expect 2 "aggregate: badref.txt:1: 2 fields, expected 3" \
  $agg --jobs jobs.txt --out out5 --reference badref.txt
[ -e out5 ] && fail "a usage error must not leave outputs"
exit 0
