#!/bin/sh
# pmd: the tabular study runs in well under a second per run, the same seed gives the same logs
# and the same MDP to every method, a resumed run writes the rows of an uninterrupted one, the
# Q-evaluation log counts two evaluations an iteration for the two-pass methods, and bad input is
# refused with exit 2.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
pmd="$MB_BUILDDIR/algorithms/pmd/pmd"
cd "$T" || exit 99

same_all() {
  for f in train.csv eval.csv subopt.csv subopt_q.csv; do
    sed 's/,[^,]*$//' "$1/$f" >"$T/y1"
    sed 's/,[^,]*$//' "$2/$f" >"$T/y2"
    cmp -s "$T/y1" "$T/y2" || return 1
  done
}

for m in pmd lookahead extragradient correction momentum pi; do
  args="--set pmd.method=$m --set pmd.noise_std=0.5 --steps 20 --checkpoint-every 5 --quiet"
  $pmd $args --out "$m.1" >/dev/null || fail "pmd $m"
  $pmd $args --out "$m.2" >/dev/null || fail "pmd $m again"
  same_all "$m.1" "$m.2" || fail "pmd $m: the same seed gave different logs"
  cp -r "$m.1" "$m.3"
  rm "$m.3/DONE"
  printf '17,1' >>"$m.3/train.csv"
  $pmd --out "$m.3" --resume --quiet >/dev/null || fail "pmd $m: resume"
  same_all "$m.1" "$m.3" || fail "pmd $m: the resumed run differs from the uninterrupted one"
done
echo "ok: every method is reproducible and resumes exactly (noisy Q)"

# the two-pass methods evaluate Q twice an iteration: subopt_q.csv's steps are 0, 2, 4, ...
awk -F, 'NR > 1 && $1 != 2 * (NR - 2) { bad = 1 } END { exit bad }' extragradient.1/subopt_q.csv ||
  fail "extragradient's Q evaluations: $(cut -d, -f1 extragradient.1/subopt_q.csv | tr '\n' ' ')"
awk -F, 'NR > 1 && $1 != NR - 2 { bad = 1 } END { exit bad }' pmd.1/subopt_q.csv ||
  fail "pmd's Q evaluations: $(cut -d, -f1 pmd.1/subopt_q.csv | tr '\n' ' ')"
# the same MDP for every method: the same first suboptimality (the same initial policy)
[ "$(sed -n 2p pmd.1/subopt.csv | cut -d, -f4)" = "$(sed -n 2p momentum.1/subopt.csv | cut -d, -f4)" ] ||
  fail "pmd and momentum start from different MDPs or policies"
# policy iteration ends at V* (suboptimality 0 up to rounding), exact Q
$pmd --set pmd.method=pi --steps 10 --out pi.x --quiet >/dev/null || fail "pmd pi"
awk -F, 'END { exit !($4 < 1e-9) }' pi.x/subopt.csv || fail "policy iteration: $(tail -n 1 pi.x/subopt.csv)"
echo "ok: Q evaluations counted per method; one MDP per seed; policy iteration reaches V*"

# a two-state MDP logs its policy in algo.csv, one row per state and evaluation
$pmd --env tiny4 --steps 5 --out tiny --quiet >/dev/null || fail "tiny MDP"
[ "$(head -n 1 tiny/algo.csv)" = "step,state,a0,a1,a2,wall_s" ] || fail "algo.csv: $(head -n 1 tiny/algo.csv)"
[ "$(($(wc -l <tiny/algo.csv) - 1))" -eq 12 ] || fail "algo.csv: expected 12 rows"
echo "ok: the tiny MDP's policy in algo.csv"

expect 2 "tiny MDP 2: the two-state MDPs are tiny0, tiny1, tiny3 and tiny4" $pmd --env tiny2
expect 2 "run.env = Hopper: the MDPs are random, tiny0, tiny1, tiny3 and tiny4" $pmd --env Hopper
expect 2 "run.env = tiny03" $pmd --env tiny03
expect 2 "random MDP: 12 successors per action, allowed 1 to the 10 states" \
  $pmd --set mdp.states=10 --set mdp.branches=12
expect 2 "pmd.method: expected one of" $pmd --set pmd.method=nesterov
expect 2 "mdp.gamma" $pmd --set mdp.gamma=1
[ -e runs ] && fail "a refused configuration left a run directory behind"
echo "ok: bad input is refused"
