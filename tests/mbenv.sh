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
