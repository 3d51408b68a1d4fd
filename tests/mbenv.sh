#!/bin/sh
# mbenv: list, info, rollouts with every policy kind, the CSV, exact replay of an action file,
# and the error messages.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
mbenv="$MB_BUILDDIR/envs/mbenv"
cd "$T" || exit 99

expect 0 "HalfCheetah" $mbenv list
[ "$($mbenv list | wc -l)" -eq 12 ] || fail "mbenv list should show 12 tasks"
expect 0 "nq nv nu       6 6 3" $mbenv info Hopper
expect 0 "observation    11" $mbenv info Hopper
expect 0 "dt             0.008 s (timestep 0.002 s x frame skip 4)" $mbenv info Hopper
expect 0 "env.ctrl_cost_weight" $mbenv info Hopper
expect 0 "time limit     50 steps" $mbenv info Reacher

# a zero policy on HalfCheetah never terminates: two full episodes
expect 0 "length 1000" $mbenv rollout HalfCheetah --policy zero --episodes 2 --seed 3

# one row per step; episode, t, 6 actions, reward, terminated, truncated, 17 observations
$mbenv rollout HalfCheetah --policy random --episodes 1 --seed 4 --csv run.csv >/dev/null ||
  fail "rollout with --csv"
[ "$(wc -l <run.csv)" -eq 1001 ] || fail "run.csv should have a header and 1000 rows"
[ "$(head -1 run.csv | tr ',' '\n' | wc -l)" -eq 28 ] || fail "run.csv should have 28 columns"
echo "ok: csv layout"

# the actions of that run, replayed from the same seed, give the same rows
cut -d, -f3-8 run.csv | tail -n +2 >actions.txt
$mbenv rollout HalfCheetah --policy actions.txt --episodes 1 --seed 4 --csv replay.csv >/dev/null ||
  fail "replay"
cmp -s run.csv replay.csv || fail "replaying the actions from the same seed changed the rows"
echo "ok: an action file replays exactly"
head -3 actions.txt >short.txt
expect 0 "end of file" $mbenv rollout HalfCheetah --policy short.txt --episodes 1

# errors
expect 2 "mbenv: unknown task 'Hoper' (did you mean Hopper?)" $mbenv rollout Hoper
expect 2 "unknown command 'rolout'" $mbenv rolout Hopper
expect 2 "rollout needs a TASK" $mbenv rollout
expect 2 "--episodes: rollout.episodes: expected an integer in [1, 1000000], got '0'" \
  $mbenv rollout Hopper --episodes 0
expect 2 "--policy nofile: cannot open" $mbenv rollout Hopper --policy nofile
printf '0.1 0.2 0.3\n0.1 0.2\n' >bad.txt
expect 2 "bad.txt:2: 2 values; the task's action has 3" $mbenv rollout Hopper --policy bad.txt
expect 2 "unknown option '--episodes'" $mbenv info Hopper --episodes 3
expect 2 "env.model /nonexistent.xml: cannot read" $mbenv info Hopper --set env.model=/nonexistent.xml
expect 2 "unknown key 'bogus' in [env]" $mbenv info Hopper --set env.bogus=1

# a linear-policy file (recognised by its first line) acts on each observation; M = 0 with empty
# statistics is the zero policy
lin() {   # lin TASK OBS ACT CLIP LOW HIGH ROW: one row of M repeated ACT times
  printf 'mirrorbench-linear-policy 1\ntask %s\nobs %s\nact %s\nclip %s\nlow %s\nhigh %s\n' \
    "$1" "$2" "$3" "$4" "$5" "$6"
  printf 'count 0\nmean%s\nm2%s\n' "$(printf ' 0%.0s' $(seq "$2"))" "$(printf ' 0%.0s' $(seq "$2"))"
  for _ in $(seq "$3"); do printf 'M %s\n' "$7"; done
}
lin InvertedPendulum 4 1 no -3 3 "0 0 0 0" >zero_lin.txt
$mbenv rollout InvertedPendulum --policy zero --episodes 2 --seed 5 --csv z1.csv >/dev/null &&
  $mbenv rollout InvertedPendulum --policy zero_lin.txt --episodes 2 --seed 5 --csv z2.csv \
    >/dev/null || fail "rollout with a linear policy"
cmp -s z1.csv z2.csv || fail "a zero linear policy should equal --policy zero"
echo "ok: a zero linear policy equals the zero policy"
# a large gain, clipped to the bounds
lin InvertedPendulum 4 1 yes -3 3 "100 100 100 100" >big.txt
$mbenv rollout InvertedPendulum --policy big.txt --episodes 1 --csv big.csv >/dev/null ||
  fail "clipped linear policy"
awk -F, 'NR > 1 { if ($3 > 3 || $3 < -3) bad = 1; if ($3 == 3 || $3 == -3) hit = 1 }
  END { exit !(hit && !bad) }' big.csv || fail "clip yes should keep actions within [-3, 3]"
echo "ok: clip yes keeps actions within the bounds"
expect 2 "on InvertedPendulum (observation 4, action 1); this task is Hopper (observation 11" \
  $mbenv rollout Hopper --policy zero_lin.txt
sed 's/^clip no/clip maybe/' zero_lin.txt >bad_lin.txt
expect 2 "--policy bad_lin.txt:5: clip: expected yes or no, got 'maybe'" \
  $mbenv rollout InvertedPendulum --policy bad_lin.txt
head -10 zero_lin.txt >short_lin.txt
expect 2 "short_lin.txt:11: the file ends early: row 1 of M (A = 1 rows) missing" \
  $mbenv rollout InvertedPendulum --policy short_lin.txt
