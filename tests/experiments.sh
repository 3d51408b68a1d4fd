#!/bin/sh
# The experiment recipes and the sweep runner: every profile expands (each command checked by its
# program) into job lists and commands whose counts are the recipes' labels x tasks x seeds; the
# smoke profile runs end to end (through GNU parallel when it is installed, else through runs.mk
# with make -j2) and every figure is aggregated; a rerun skips the finished runs, a run without
# DONE runs again with its progress line; bad recipe lines and unknown profiles exit 2.
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
#   ablations 8 x 2, ars 4 x 3, compute 7 x 1, layer 2 x 2, main 2 x 4, planner 36 x 1
expect_runs="ablations 16
ars 12
compute 7
layer 4
main 8
planner 36"
total=83
# the other profiles: quick (ablations 8x2x1, ars 4x3x2, compute 7x1x1, layer 2x(2+1), main
# 2x4x2, planner 36x1x1) and paper (8x2x5, 4x3x3, 7x1x3, 2x2x5, 2x4x5, 36x1x3)
expect 0 "expand: profile quick: 105 runs of ablations ars compute layer main planner" \
  expand quick "$T/rq"
expect 0 "expand: profile paper: 305 runs of" expand paper "$T/rp"
expect 0 "expand: profile smoke: $total runs of ablations ars compute layer main planner" \
  expand smoke "$R"

# the job lists: counts, fields, DIR = R/FIGURE/LABEL/TASK/seedN; the commands in the same order
[ "$(tr '\n' ' ' <"$R/figures.txt")" = "ablations ars compute layer main planner " ] ||
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
[ "$(grep -c '^/.*/DONE: | sweep-start$' "$R/runs.mk")" -eq $total ] || fail "runs.mk: not $total runs"
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
lines=$(grep -c "^\[[0-9]*/$total\] [^ ]* [^ ]* seed 1: done in [0-9]*s (ETA [0-9hms]*)$" sweep.out)
[ "$lines" -eq $total ] || fail "expected $total progress lines, got $lines: $(cat sweep.out)"
grep -q "^\[$total/$total\] .*(ETA 0s)$" sweep.out || fail "no [$total/$total] line: $(cat sweep.out)"
while read -r d; do [ -f "$d/DONE" ] || fail "$d: no DONE"; done <dirs.txt
echo "$expect_runs" | while read -r fig n; do
  s="$R/$fig/summary"
  [ "$(head -n 1 "$s/curves.csv")" = "label,task,step,seeds,mean,iqm,iqm_lo,iqm_hi" ] ||
    fail "$s/curves.csv: bad or missing header"
  [ "$(head -n 1 "$s/final.csv")" = "label,task,seeds,mean,mean_lo,mean_hi,iqm,iqm_lo,iqm_hi" ] ||
    fail "$s/final.csv: bad or missing header"
  # one group per (label, task): with one seed, as many as runs
  [ "$(($(wc -l <"$s/final.csv") - 1))" -eq "$n" ] || fail "$s/final.csv: expected $n groups"
done || exit 1
echo "ok: the smoke sweep ran end to end through $how in $sweep_s s, every figure aggregated"

# a rerun skips every finished run: nothing started (the logs are untouched), quickly
sum0=$(cat "$R"/*/*/*/seed*.log | cksum)
t0=$(now)
if command -v parallel >/dev/null 2>&1; then
  "$x/run-parallel" "$R" --jobs 2 >rerun.out 2>&1 || fail "run-parallel again: $(cat rerun.out)"
  grep -q '^\[' rerun.out && fail "run-parallel ran finished runs again: $(cat rerun.out)"
  grep -q "run-parallel: $total of $total runs done" rerun.out || fail "run-parallel: $(cat rerun.out)"
fi
$make -f "$R/runs.mk" -j2 all >rerun.out 2>&1 || fail "runs.mk again: $(cat rerun.out)"
grep -q -e '^\[' -e aggregate rerun.out && fail "runs.mk did something on a finished sweep: $(cat rerun.out)"
t1=$(now)
[ "$(cat "$R"/*/*/*/seed*.log | cksum)" = "$sum0" ] || fail "a rerun started finished runs"
# quickly: in seconds, or (on a loaded machine) a small part of the sweep's time
[ $((t1 - t0)) -le 30 ] || [ $((5 * (t1 - t0))) -le $sweep_s ] ||
  fail "the rerun of a finished sweep took $((t1 - t0)) s (the sweep $sweep_s s)"
echo "ok: a rerun skips the $total finished runs ($((t1 - t0)) s)"

# a run without DONE (killed at its end) runs again through its rule and reports; the summary
# of its figure is made again
d=$(awk '$1 == "V2" && $2 == "Swimmer" { print $4 }' "$R/ars/jobs.txt")
rm "$d/DONE"
$make -f "$R/runs.mk" -j2 all >again.out 2>&1 || fail "runs.mk after removing DONE: $(cat again.out)"
grep -q "^\[$total/$total\] V2 Swimmer seed 1: done in [0-9]*s (ETA 0s)$" again.out ||
  fail "no progress line for the rerun: $(cat again.out)"
[ "$(grep -c '^\[' again.out)" -eq 1 ] || fail "more than one run ran: $(cat again.out)"
grep -q "aggregate: 12 runs in 12 groups" again.out || fail "ars summary not remade: $(cat again.out)"
[ -f "$d/DONE" ] || fail "$d: no DONE after the rerun"
echo "ok: a run without DONE runs again"

# bad recipes and profiles: exit 2, naming FILE:LINE, nothing written
printf '# a bad recipe\nrun a sac Hopper\nfrobnicate x\nseeds * * 2\n' >bad.recipe
expect 2 "expand: $T/bad.recipe:3: unknown keyword \"frobnicate\"" expand smoke "$T/r2" "$T/bad.recipe"
printf 'run a sac Hopper\nsteps smoke * ten\n' >bad2.recipe
expect 2 "expand: $T/bad2.recipe:2: steps \"ten\"" expand smoke "$T/r2" "$T/bad2.recipe"
printf 'run a sac Hopper --set sac.hidden_sise=3\n' >bad3.recipe
expect 2 "expand: $T/bad3.recipe:1: a Hopper: sac: --set: unknown key 'hidden_sise'" \
  expand smoke "$T/r2" "$T/bad3.recipe"
expect 2 "expand: unknown profile 'huge' (the profiles: smoke quick paper)" expand huge "$T/r2"
[ -e "$T/r2" ] && fail "a refused expansion wrote $T/r2"
echo "ok: bad recipes and profiles are refused"
