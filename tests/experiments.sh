#!/bin/sh
# The experiment recipes and the sweep runner: every profile expands (each command checked by its
# program) into job lists and commands whose counts are the recipes' labels x tasks x seeds; the
# smoke profile runs end to end (through GNU parallel when it is installed, else through runs.mk
# with make -j2), every figure is aggregated and drawn (PNG, PDF, tables, figures.md), and drawn
# again gives the same bytes; a rerun skips the finished runs, a run without DONE runs again with
# its progress line and its figure is redrawn; bad recipe lines and unknown profiles exit 2.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
x="$MB_SRCDIR/experiments"
make=${MAKE:-make}
# the sweeps' makes are not part of a `make check` that may be running this test
unset MAKEFLAGS MFLAGS MAKELEVEL
R="$T/r"
cd "$T" || exit 99
now() { awk 'BEGIN { srand(); print srand() }'; }

expand() { "$x/expand" --check --bin "$MB_BUILDDIR" --src "$MB_SRCDIR" "$@"; }

# labels x tasks x seeds of each figure under smoke (1 seed everywhere)
#   ablations 8 x 2, ars 4 x 3, compute 7 x 1, layer 2 x 2, main 2 x 4, planner 36 x 1,
#   pmoe 4 x 4 + 2 x 2, tom 4 x 4 + 2 x 2, acceleration 6 x 2 x 2 seeds, acceleration-ars 5 x 3,
#   acceleration-mpc 4 x 1, acceleration-sac 2 x 2
expect_runs="ablations 16
acceleration-ars 15
acceleration-mpc 4
acceleration-sac 4
acceleration 24
ars 12
compute 7
layer 4
main 8
planner 36
pmoe 20
tom 20"
total=170
# the other profiles: quick (ablations 8x2x1, ars 4x3x2, compute 7x1x1, layer 2x(2+1), main
# 2x4x2, planner 36x1x1, pmoe 20x2, tom 20x2, acceleration 12x20, acceleration-ars 15x2,
# acceleration-mpc 4x3, acceleration-sac 4x2) and paper (8x2x5, 4x3x3, 7x1x3, 2x2x5, 2x4x5,
# 36x1x3, 20x5, 20x5, 12x50, 15x3, 4x5, 4x5)
# (the recipes' order: acceleration-*.recipe sort before acceleration.recipe)
all="ablations acceleration-ars acceleration-mpc acceleration-sac acceleration ars compute layer main
  planner pmoe tom"
all=$(echo $all)
expect 0 "expand: profile quick: 475 runs of $all" expand quick "$T/rq"
expect 0 "expand: profile paper: 1190 runs of" expand paper "$T/rp"
expect 0 "expand: profile smoke: $total runs of $all" \
  expand smoke "$R"

# the job lists: counts, fields, DIR = R/FIGURE/LABEL/TASK/seedN; the commands in the same order
[ "$(tr '\n' ' ' <"$R/figures.txt")" = "$all " ] ||
  fail "figures.txt: $(cat "$R/figures.txt")"
: >dirs.txt
echo "$expect_runs" | while read -r fig n; do
  got=$(grep -vc '^#' "$R/$fig/jobs.txt")
  [ "$got" -eq "$n" ] || fail "$fig/jobs.txt has $got runs, expected $n"
  grep -q "^profile smoke$" "$R/$fig/profile.txt" || fail "$fig/profile.txt does not name the profile"
  grep -v '^#' "$R/$fig/jobs.txt" | awk -v r="$R" -v fig="$fig" '
    NF != 4 || $4 != r "/" fig "/" $1 "/" $2 "/seed" $3 { print "bad job line: " $0; bad = 1 }
    { print $4 >> "dirs.txt" }
    END { exit bad }' || fail "$fig/jobs.txt"
done || exit 1
[ "$(wc -l <dirs.txt)" -eq $total ] || fail "the job lists hold $(wc -l <dirs.txt) runs"
[ -z "$(sort dirs.txt | uniq -d)" ] || fail "run directories used twice: $(sort dirs.txt | uniq -d)"
[ "$(wc -l <"$R/commands.txt")" -eq $total ] || fail "commands.txt: expected $total lines"
awk '{ if ($(NF - 3) != "--out" || $(NF - 1) != "--resume" || $NF != "--quiet" || $1 !~ /^\//)
         { print "bad command: " $0; bad = 1 }
       print $(NF - 2) }
     END { exit bad }' "$R/commands.txt" >cmd_dirs.txt || fail "commands.txt: $(cat cmd_dirs.txt)"
cmp -s dirs.txt cmd_dirs.txt || fail "commands.txt and the job lists name different directories"
while read -r prog _; do [ -x "$prog" ] || fail "not a program: $prog"; done <"$R/commands.txt"
[ "$(grep -c '^$(call mb_run,/.*): | sweep-start$' "$R/runs.mk")" -eq $total ] || fail "runs.mk: not $total runs"
echo "ok: $total runs, one directory each, in the job lists, commands.txt and runs.mk"

# the sweep: GNU parallel's path when it is there, else runs.mk (both run experiments/run-one)
t0=$(now)
if command -v parallel >/dev/null 2>&1; then
  how="experiments/run-parallel --jobs 2"
  "$x/run-parallel" "$R" --jobs 2 >sweep.out 2>&1 || fail "run-parallel: $(tail -n 20 sweep.out)"
  $make -f "$R/runs.mk" -j2 all >summary.out 2>&1 || fail "runs.mk summaries: $(cat summary.out)"
  grep -q '^\[' summary.out && fail "runs.mk ran runs again after run-parallel: $(cat summary.out)"
  cat summary.out >>sweep.out
else
  how="make -f runs.mk -j2"
  $make -f "$R/runs.mk" -j2 all >sweep.out 2>&1 || fail "runs.mk: $(tail -n 20 sweep.out)"
fi
t1=$(now)
sweep_s=$((t1 - t0))
lines=$(grep -c "^\[[0-9]*/$total\] [^ ]* [^ ]* seed [0-9]*: done in [0-9]*s (ETA [0-9hms]*)$" sweep.out)
[ "$lines" -eq $total ] || fail "expected $total progress lines, got $lines: $(cat sweep.out)"
grep -q "^\[$total/$total\] .*(ETA 0s)$" sweep.out || fail "no [$total/$total] line: $(cat sweep.out)"
while read -r d; do [ -f "$d/DONE" ] || fail "$d: no DONE"; done <dirs.txt
echo "$expect_runs" | while read -r fig n; do
  s="$R/$fig/summary"
  [ "$(head -n 1 "$s/curves.csv")" = "label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi,diverged" ] ||
    fail "$s/curves.csv: bad or missing header"
  [ "$(head -n 1 "$s/final.csv")" = "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged" ] ||
    fail "$s/final.csv: bad or missing header"
  # one group per (label, task) of the job list (as many as runs where one seed runs)
  g=$(grep -v '^#' "$R/$fig/jobs.txt" | cut -d' ' -f1,2 | sort -u | wc -l)
  [ "$g" -le "$n" ] && [ "$(($(wc -l <"$s/final.csv") - 1))" -eq "$g" ] ||
    fail "$s/final.csv: expected $g groups"
done || exit 1
# every figure has the areas under its curves, one row per group like final.csv
echo "$expect_runs" | while read -r fig n; do
  s="$R/$fig/summary/auc.csv"
  [ "$(head -n 1 "$s")" = "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged" ] ||
    fail "$s: bad or missing header"
  [ "$(cut -d, -f1,2 "$s")" = "$(cut -d, -f1,2 "$R/$fig/summary/final.csv")" ] ||
    fail "$s: not final.csv's groups"
done || exit 1
# the figures with reference scores (main, ablations, pmoe) have normalised scores, of the final
# evaluations and of the areas, one row per label
for fig in main ablations pmoe; do
  for f in normalized.csv auc_normalized.csv; do
    s="$R/$fig/summary/$f"
    [ "$(head -n 1 "$s")" = "label,tasks,runs,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged" ] ||
      fail "$s: bad or missing header"
    [ "$(($(wc -l <"$s") - 1))" -eq "$(grep -v '^#' "$R/$fig/jobs.txt" | cut -d' ' -f1 | sort -u | wc -l)" ] ||
      fail "$s: not one row per label"
  done
done
echo "ok: the smoke sweep ran end to end through $how in $sweep_s s, every figure aggregated"

# every figure drawn: a PNG and a PDF, their magic bytes, the extra tables with their headers,
# and the index linking every PNG
magic() { dd if="$1" bs="$2" count=1 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
echo "$expect_runs" | while read -r fig n; do
  for f in "$R/$fig/$fig.png" "$R/$fig/$fig.pdf"; do
    [ -s "$f" ] || fail "$f: missing or empty"
  done
  [ "$(magic "$R/$fig/$fig.png" 8)" = 89504e470d0a1a0a ] || fail "$fig.png is not a PNG"
  [ "$(magic "$R/$fig/$fig.pdf" 5)" = 255044462d ] || fail "$fig.pdf is not a PDF"
  grep -qF "]($fig/$fig.png)" "$R/figures.md" || fail "figures.md does not link $fig/$fig.png"
done || exit 1
# header FILE LINE [ROWS]: FILE's first line, and its number of rows after it
header() {
  [ "$(head -n 1 "$1")" = "$2" ] || fail "$1: header '$(head -n 1 "$1" 2>/dev/null)', expected $2"
  [ $# -lt 3 ] || [ "$(($(wc -l <"$1") - 1))" -eq "$3" ] || fail "$1: expected $3 rows: $(cat "$1")"
}
curves_h="label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi,diverged"
final_h="label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi,diverged"
# smoke's demorl runs evaluate the planner (eval_mpc.csv), the layer's runs the policy alone
header "$R/main/summary-mpc/curves.csv" "$curves_h"
header "$R/main/summary-mpc/final.csv" "$final_h" 4
header "$R/layer/summary-policy/final.csv" "$final_h" 4
header "$R/layer/summary/layer.csv" \
  "task,condition,seeds,layer_iqm,layer_lo,layer_hi,policy_iqm,policy_lo,policy_hi,diverged" 4
header "$R/planner/summary/planner.csv" "task,gamma,utility,samples,seeds,iqm,iqm_lo,iqm_hi,diverged" 36
header "$R/ablations/summary/ablations.csv" "$final_h" 16
header "$R/pmoe/summary/pmoe.csv" \
  "label,task,seeds,final_iqm,final_lo,final_hi,auc_iqm,auc_lo,auc_hi,diverged" 20
header "$R/pmoe/summary/pmoe-normalized.csv" \
  "label,tasks,runs,final_iqm,final_lo,final_hi,auc_iqm,auc_lo,auc_hi,diverged" 6
# pmoe's table holds final.csv's IQM and auc.csv's, group by group
awk -F, 'FNR == 1 { f++; next } f == 1 { fin[FNR] = $7; next } f == 2 { auc[FNR] = $7; next }
  $4 != fin[FNR] || $7 != auc[FNR] { print "row " FNR ": " $0; bad = 1 } END { exit bad }' \
  "$R/pmoe/summary/final.csv" "$R/pmoe/summary/auc.csv" "$R/pmoe/summary/pmoe.csv" >bad.out ||
  fail "pmoe.csv: $(cat bad.out)"
# tom: the steps to the baseline's final score beside the final IQM, one row per group (the
# baselines reach their own score: share 1, or blank when that happens at step 0; no threshold,
# and so no steps, where the baseline gained nothing over its first evaluation); the model's
# error at every fit as curves, newest and oldest, for every run; its picture
header "$R/tom/summary/tom.csv" \
  "label,task,seeds,final_iqm,final_lo,final_hi,threshold,steps,share,diverged" 20
awk -F, 'FNR == 1 { f++; next } f == 1 { fin[FNR] = $7; next }
  $4 != fin[FNR] || ($1 ~ /^(mbpo|demorl)$/ && $7 != "" && $7 != $4) ||
  ($1 ~ /^(mbpo|demorl)$/ && $9 != "" && $9 != "1.000") || ($7 == "" && $8 != "") {
    print "row " FNR ": " $0; bad = 1 }
  END { exit bad }' "$R/tom/summary/final.csv" "$R/tom/summary/tom.csv" >bad.out ||
  fail "tom.csv: $(cat bad.out)"
for which in new old; do
  header "$R/tom/summary-model-$which/final.csv" "$final_h" 20
done
[ "$(magic "$R/tom/tom-model.png" 8)" = 89504e470d0a1a0a ] || fail "tom-model.png is not a PNG"
grep -qF "](tom/tom-model.png)" "$R/figures.md" || fail "figures.md does not link tom-model.png"
# acceleration: the suboptimality against iterations and against Q evaluations, every run
for which in subopt subopt-q; do
  header "$R/acceleration/summary-$which/final.csv" "$final_h" 12
done
header "$R/acceleration/summary/acceleration.csv" \
  "label,task,seeds,final_iqm,final_lo,final_hi,mean_iqm,mean_lo,mean_hi,diverged" 12
header "$R/acceleration-ars/summary/acceleration-ars.csv" \
  "label,task,seeds,threshold,reached,steps_median,share,final_iqm,final_lo,final_hi,diverged" 15
header "$R/acceleration-mpc/summary/acceleration-mpc.csv" \
  "label,task,seeds,return_iqm,return_lo,return_hi,plan_iqm,plan_min,plan_max,diverged" 4
# every planner run has its planner's return, and ars its threshold from thresholds.txt
awk -F, 'NR > 1 && $7 == "" { print "bad row: " $0; bad = 1 } END { exit bad }' \
  "$R/acceleration-mpc/summary/acceleration-mpc.csv" >bad.out || fail "acceleration-mpc.csv: $(cat bad.out)"
awk -F, 'NR > 1 && $4 != 325 && $4 != 3120 && $4 != 3430 { print "bad row: " $0; bad = 1 }
  END { exit bad }' "$R/acceleration-ars/summary/acceleration-ars.csv" >bad.out ||
  fail "acceleration-ars.csv: $(cat bad.out)"
header "$R/compute/summary/compute-runs.csv" \
  "label,task,seed,steps,train_s,s_per_1k_steps,plan_steps,plan_ms,diverged" 7
header "$R/compute/summary/compute.csv" \
  "label,task,seeds,s_per_1k_steps,s_per_1k_min,s_per_1k_max,plan_ms,plan_ms_min,plan_ms_max,diverged" 7
# every compute run has a time per step, and the planners (not sac) a time per plan
awk -F, 'NR > 1 && ($6 == "" || ($1 == "sac") != ($8 == "")) { print "bad row: " $0; bad = 1 }
  END { exit bad }' "$R/compute/summary/compute-runs.csv" >bad.out || fail "compute-runs.csv: $(cat bad.out)"
for t in layer compute pmoe tom acceleration acceleration-ars acceleration-mpc; do
  grep -q '^| --- ' "$R/$t/summary/$t.md" || fail "$t.md: no Markdown table"
  grep -q '^\\bottomrule' "$R/$t/summary/$t.tex" || fail "$t.tex: no LaTeX table"
  grep -qF "$(sed -n 3p "$R/$t/summary/$t.md")" "$R/figures.md" || fail "figures.md lacks the $t table"
done
grep -qF "1 seed x 200 steps, 50-step episodes" "$R/figures.md" || fail "figures.md lacks the notes"
echo "ok: every figure drawn (PNG and PDF), its tables written and indexed in figures.md"

# a rerun skips every finished run: nothing started (the logs are untouched), quickly
sum0=$(cat "$R"/*/*/*/seed*.log | cksum)
t0=$(now)
if command -v parallel >/dev/null 2>&1; then
  "$x/run-parallel" "$R" --jobs 2 >rerun.out 2>&1 || fail "run-parallel again: $(cat rerun.out)"
  grep -q '^\[' rerun.out && fail "run-parallel ran finished runs again: $(cat rerun.out)"
  grep -q "run-parallel: $total of $total runs done" rerun.out || fail "run-parallel: $(cat rerun.out)"
fi
$make -f "$R/runs.mk" -j2 all >rerun.out 2>&1 || fail "runs.mk again: $(cat rerun.out)"
grep -q -e '^\[' -e aggregate -e '^plot' rerun.out &&
  fail "runs.mk did something on a finished sweep: $(cat rerun.out)"
t1=$(now)
[ "$(cat "$R"/*/*/*/seed*.log | cksum)" = "$sum0" ] || fail "a rerun started finished runs"
# quickly: in seconds, or (on a loaded machine) a small part of the sweep's time
[ $((t1 - t0)) -le 30 ] || [ $((5 * (t1 - t0))) -le $sweep_s ] ||
  fail "the rerun of a finished sweep took $((t1 - t0)) s (the sweep $sweep_s s)"
echo "ok: a rerun skips the $total finished runs ($((t1 - t0)) s)"

# drawn again from the same summaries: the same PNG and tables, byte for byte (the PDFs may
# differ in their creation date, and compute's tables are wall times, but of the same runs)
mkdir keep
for fig in $all; do
  cp "$R/$fig/$fig.png" "keep/$fig.png"
  [ "$fig" != tom ] || cp "$R/tom/tom-model.png" keep/tom-model.png
  # the summary (remade only by aggregate) and what plot adds: summary-* and tables
  ls "$R/$fig"/summary*/* >"keep/$fig.list"
  i=0
  while read -r f; do i=$((i + 1)); cp "$f" "keep/$fig.$i"; done <"keep/$fig.list"
done
sleep 1   # a clock-dependent output would show
for fig in $all; do
  expect 0 "plot: $R/$fig/$fig.png $fig.pdf" "$x/plot" "$R" "$fig"
  cmp -s "$R/$fig/$fig.png" "keep/$fig.png" || fail "$fig.png differs when drawn again"
  [ "$fig" != tom ] || cmp -s "$R/tom/tom-model.png" keep/tom-model.png ||
    fail "tom-model.png differs when drawn again"
  i=0
  while read -r f; do
    i=$((i + 1))
    cmp -s "$f" "keep/$fig.$i" || fail "$f differs when made again"
  done <"keep/$fig.list"
done
echo "ok: drawn again, the PNGs and tables are byte-identical"

# a run without DONE (killed at its end) runs again through its rule and reports; the summary
# of its figure is made again, and the figure drawn again
d=$(awk '$1 == "V2" && $2 == "Swimmer" { print $4 }' "$R/ars/jobs.txt")
rm "$d/DONE"
$make -f "$R/runs.mk" -j2 all >again.out 2>&1 || fail "runs.mk after removing DONE: $(cat again.out)"
grep -q "^\[$total/$total\] V2 Swimmer seed 1: done in [0-9]*s (ETA 0s)$" again.out ||
  fail "no progress line for the rerun: $(cat again.out)"
[ "$(grep -c '^\[' again.out)" -eq 1 ] || fail "more than one run ran: $(cat again.out)"
grep -q "aggregate: 12 runs in 12 groups" again.out || fail "ars summary not remade: $(cat again.out)"
grep -q "^plot: $R/ars/ars.png ars.pdf$" again.out || fail "ars figure not redrawn: $(cat again.out)"
[ -f "$d/DONE" ] || fail "$d: no DONE after the rerun"
echo "ok: a run without DONE runs again"

# a diverged run (DIVERGED, no DONE) is an outcome: the next make does not run it, remakes its
# figure's summary once (counting it) and shows it in the caption and the index; the make after
# that does nothing
rm "$d/DONE"
printf 'diverged at step 40: a test\n' >"$d/DIVERGED"
$make -f "$R/runs.mk" -j2 all >div.out 2>&1 || fail "runs.mk with a diverged run: $(cat div.out)"
grep -q '^\[' div.out && fail "runs.mk ran a diverged run: $(cat div.out)"
grep -q "aggregate: 11 runs and 1 diverged in 12 groups" div.out || fail "ars summary: $(cat div.out)"
grep -q "^V2,Swimmer,0,,,,,,,1$" "$R/ars/summary/final.csv" ||
  fail "ars final.csv: $(cat "$R/ars/summary/final.csv")"
grep -q "^| V2 | Swimmer | 0/1, 1 diverged | all diverged | all diverged |$" "$R/figures.md" ||
  fail "figures.md does not show the diverged run"
grep -q "^smoke profile, 11/12 runs, 1 diverged" "$R/figures.md" || fail "figures.md: no 11/12 runs"
$make -f "$R/runs.mk" -j2 all >div2.out 2>&1 || fail "runs.mk again: $(cat div2.out)"
grep -q -e '^\[' -e aggregate -e '^plot' div2.out && fail "runs.mk did something again: $(cat div2.out)"
echo "ok: a diverged run is counted, not rerun"

# without MPC evaluation rows (quick's demorl runs) main has no MPC series, and no error
for f in "$R"/main/demorl/*/seed1/eval_mpc.csv; do head -n 1 "$f" >"$f.new" && mv "$f.new" "$f"; done
expect 0 "plot: $R/main/main.png main.pdf" "$x/plot" "$R" main
[ -e "$R/main/summary-mpc" ] && fail "summary-mpc left without MPC rows"
# plot's errors: an unknown figure (2), a figure without its summary (1)
expect 2 "plot: no figure script $MB_SRCDIR/experiments/figures/nope.gp" "$x/plot" "$R" nope
rm "$R/ars/summary/final.csv"
expect 1 "plot: no $R/ars/summary/final.csv (make -f $R/runs.mk ars makes the summary)" \
  "$x/plot" "$R" ars
echo "ok: main without MPC rows; plot's errors"

# run-one on fake programs: a run that diverges (exit 1 leaving DIVERGED) is reported and exits 0,
# and is then skipped like a finished one; two run-one of one line at once: the second refuses,
# writing nothing; run-parallel counts the diverged runs
R3=$T/r3
mkdir -p "$R3"
cat >fake <<'FAKE'
#!/bin/sh
# fake MODE --out DIR ...: diverge, or sleep then finish
mkdir -p "$3"
echo "fake $1 running"
case $1 in
  diverge) printf 'diverged at step 7: fake loss is nan\n' >"$3/DIVERGED"; exit 1 ;;
  slow) sleep 3; : >"$3/DONE" ;;
esac
FAKE
chmod +x fake
printf '%s diverge --out %s --resume --quiet\n%s slow --out %s --resume --quiet\n' \
  "$T/fake" "$R3/f/a/T/seed1" "$T/fake" "$R3/f/b/T/seed1" >"$R3/commands.txt"
expect 0 "[1/2] a T seed 1: DIVERGED (diverged at step 7: fake loss is nan) after " \
  "$x/run-one" "$R3" 1
[ -f "$R3/f/a/T/seed1/DONE" ] && fail "a diverged run got DONE"
sum=$(cksum <"$R3/f/a/T/seed1.log")
out=$("$x/run-one" "$R3" 1 2>&1) || fail "run-one of a diverged run: exit $?: $out"
[ -z "$out" ] || fail "run-one of a diverged run printed: $out"
[ "$(cksum <"$R3/f/a/T/seed1.log")" = "$sum" ] || fail "run-one ran a diverged run again"
"$x/run-one" "$R3" 2 >first.out 2>&1 &
pid=$!
i=0
while ! grep -q 'fake slow running' "$R3/f/b/T/seed1.log" 2>/dev/null && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done
sum=$(cksum <"$R3/f/b/T/seed1.log")
ls -la "$R3/f/b/T/seed1" >before.ls
expect 1 "run-one: $R3/f/b/T/seed1 is being run by another process" "$x/run-one" "$R3" 2
[ "$(cksum <"$R3/f/b/T/seed1.log")" = "$sum" ] || fail "the refused run-one wrote to the log"
ls -la "$R3/f/b/T/seed1" >after.ls
cmp -s before.ls after.ls || fail "the refused run-one changed the run directory"
wait $pid || fail "the first run-one failed: $(cat first.out)"
grep -q "^\[2/2\] b T seed 1: done in" first.out || fail "first run-one: $(cat first.out)"
if command -v parallel >/dev/null 2>&1; then
  expect 0 "run-parallel: 1 of 2 runs done, 1 diverged in $R3" "$x/run-parallel" "$R3" --jobs 2
fi
echo "ok: run-one reports diverged runs and keeps a second writer out"

# bad recipes and profiles: exit 2, naming FILE:LINE, nothing written
printf '# a bad recipe\nrun a sac Hopper\nfrobnicate x\nseeds * * 2\n' >bad.recipe
expect 2 "expand: $T/bad.recipe:3: unknown keyword \"frobnicate\"" expand smoke "$T/r2" "$T/bad.recipe"
printf 'run a sac Hopper\nsteps smoke * ten\n' >bad2.recipe
expect 2 "expand: $T/bad2.recipe:2: steps \"ten\"" expand smoke "$T/r2" "$T/bad2.recipe"
printf 'reference {src}/no/such.txt\nrun a sac Hopper\n' >bad4.recipe
expect 2 "expand: $T/bad4.recipe:1: reference \"{src}/no/such.txt\": no file $MB_SRCDIR/no/such.txt" \
  expand smoke "$T/r2" "$T/bad4.recipe"
printf 'run a sac Hopper --set sac.hidden_sise=3\n' >bad3.recipe
expect 2 "expand: $T/bad3.recipe:1: a Hopper: sac: --set: unknown key 'hidden_sise'" \
  expand smoke "$T/r2" "$T/bad3.recipe"
expect 2 "expand: unknown profile 'huge' (the profiles: smoke quick paper)" expand huge "$T/r2"
[ -e "$T/r2" ] && fail "a refused expansion wrote $T/r2"
# nothing written on any error: a bad line after good recipes and lines, a missing preset (also
# without --check), a missing program, an unwritable figure directory after a good figure
printf 'run a sac Hopper\nseeds * * 2\nrun b sac Walker2d\nsteps smoke b ten\n' >bad5.recipe
expect 2 "expand: bad5.recipe:4: steps \"ten\"" expand smoke "$T/r2" main bad5.recipe
printf 'run a demorl Hopper --config {src}/algorithms/demorl/nope.ini\n' >bad6.recipe
expect 2 "expand: bad6.recipe:1: --config $MB_SRCDIR/algorithms/demorl/nope.ini: no such file" \
  "$x/expand" --bin "$MB_BUILDDIR" --src "$MB_SRCDIR" smoke "$T/r2" main bad6.recipe
printf 'run a sac Hopper\nargs * a --config=/no/such.ini\n' >bad7.recipe
expect 2 "expand: bad7.recipe:2: --config /no/such.ini: no such file" expand smoke "$T/r2" bad7.recipe
printf 'run a nosuchprog Hopper\n' >bad8.recipe
expect 2 "expand: bad8.recipe:1: program $MB_BUILDDIR/algorithms/nosuchprog/nosuchprog not found" \
  expand smoke "$T/r2" main bad8.recipe
[ -e "$T/r2" ] && fail "a refused expansion wrote $T/r2"
mkdir r4 && : >r4/ars
expect 2 "expand: cannot create $T/r4/ars (nothing written)" expand smoke "$T/r4" main ars
[ "$(ls -A r4)" = ars ] || fail "a refused expansion left in r4: $(ls -A r4)"
: >r5
expect 2 "expand: cannot create $T/r5/sub (nothing written)" expand smoke "$T/r5/sub" main
# into an expanded directory whose figure directory became unwritable: the old files stay as
# they were, no temporary file is left
expand smoke "$T/r6" main ars >/dev/null 2>&1 || fail "expand smoke r6"
cp -r r6 r6.keep
rm -r r6/ars && : >r6/ars
expect 2 "expand: cannot create $T/r6/ars (nothing written)" expand smoke "$T/r6" main ars layer
cmp -s r6/commands.txt r6.keep/commands.txt || fail "a refused expansion changed commands.txt"
[ -z "$(find r6 -name '.expand.*')" ] || fail "temporary files left: $(find r6 -name '.expand.*')"
[ -e r6/layer ] && fail "a refused expansion made r6/layer"
echo "ok: bad recipes and profiles are refused"
