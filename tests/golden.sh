#!/bin/sh
# Pinned results: a short fixed-seed run of every program, and the digest of each CSV it writes
# (timing columns removed), compared with tests/golden/*.txt. A refactor must change no digest.
# Digests hold for the MuJoCo and OpenBLAS builds and the instruction set they were recorded on
# (each file's "# platform:" line), so there is one file per platform; on a platform with no file
# the test skips (exit 77) and says so.
#
# A change that is meant to alter results re-records them, and its commit says why:
#   make golden-record          (runs this script with --record)
# Recording writes this platform's file and deletes the others' (they no longer hold): record
# again on those machines to pin them there too. To pin one more platform without a change to
# results, run `tests/golden.sh --add` there (with MB_SRCDIR and MB_BUILDDIR set): it keeps the rest.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
B=$MB_BUILDDIR
goldir="$MB_SRCDIR/tests/golden"
record=0 keep=0
[ "${1:-}" = --record ] && record=1
[ "${1:-}" = --add ] && record=1 keep=1
cd "$T" || exit 99
presets="$MB_SRCDIR/algorithms/demorl"

# name and command line of each pinned run; every run writes its CSVs into the folder `name`
runs() {
  cat <<EOF
sac $B/algorithms/sac/sac --env Hopper --seed 3 --steps 800 --eval-every 400 --eval-episodes 1 --set sac.random_steps=300 --set sac.hidden_size=32 --set sac.batch_size=32 --set sac.log_every=20
ars $B/algorithms/ars/ars --env Swimmer --seed 3 --steps 12000 --eval-every 4000 --eval-episodes 1 --set env.max_steps=200 --set ars.directions=4 --set ars.top=2
dmd_mpc_sim $B/algorithms/dmd_mpc/dmd_mpc --env CartpoleSwingup --model sim --seed 3 --steps 60 --eval-every 30 --eval-episodes 1 --set env.max_steps=30 --set planner.horizon=10 --set planner.samples=16
dmd_mpc_ensemble $B/algorithms/dmd_mpc/dmd_mpc --env InvertedPendulum --model ensemble --seed 3 --steps 300 --eval-every 150 --eval-episodes 1 --set env.max_steps=100 --set dmd.train_every=100 --set ensemble.members=3 --set ensemble.elites=2 --set ensemble.hidden_layers=2 --set ensemble.hidden_size=16 --set ensemble.max_epochs=5 --set planner.horizon=5 --set planner.samples=10 --set planner.iterations=2 --set planner.particles=2
demorl $B/algorithms/demorl/demorl --config $presets/code.ini --env Hopper --seed 3 --steps 700 --eval-every 350 --eval-episodes 1 --set sac.random_steps=200 --set sac.update_every=25 --set sac.gradient_steps=25 --set sac.hidden_size=32 --set sac.batch_size=32 --set sac.log_every=25 --set demorl.model_every=200 --set ensemble.members=3 --set ensemble.elites=2 --set ensemble.hidden_layers=2 --set ensemble.hidden_size=16 --set ensemble.max_epochs=5 --set planner.samples=10 --set planner.particles=2 --set planner.iterations=2 --set planner.mixture=0.2
demo_layer $B/algorithms/demo_layer/demo_layer --env CartpoleBalance --seed 3 --steps 200 --eval-every 100 --eval-episodes 1 --set env.max_steps=100 --set layer.ars_steps=2e4 --set layer.policy_scale=0.5 --set planner.samples=20
mbpo $B/algorithms/mbpo/mbpo --env InvertedPendulum --seed 3 --steps 400 --eval-every 200 --eval-episodes 1 --set env.max_steps=100 --set mbpo.init_steps=200 --set mbpo.epoch_length=200 --set mbpo.model_every=100 --set mbpo.rollout_batch=200 --set mbpo.updates=4 --set sac.hidden_size=16 --set sac.batch_size=32 --set sac.log_every=20 --set ensemble.members=3 --set ensemble.elites=2 --set ensemble.hidden_layers=2 --set ensemble.hidden_size=16 --set ensemble.max_epochs=5 --set ensemble.weights=tom --set weights.recent=100 --set weights.q_steps=20 --set weights.q_hidden=16 --set weights.q_batch=32 --set weights.disc_epochs=3 --set weights.disc_hidden=16 --set weights.disc_batch=32
pmd $B/algorithms/pmd/pmd --seed 3 --steps 10 --set pmd.method=correction --set pmd.noise_std=0.5 --set mdp.states=20 --set mdp.actions=4
fit $B/examples/fit --seed 3 --steps 600
EOF
}

# the digest of a CSV without its timing columns (named wall_s or *_ms)
digest() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) keep[i] = $i != "wall_s" && $i !~ /_ms$/ }
    { s = ""; for (i = 1; i <= NF; i++) if (keep[i]) s = s (s == "" ? "" : ",") $i; print s }' "$1" |
    sha256sum | cut -c1-16
}

# what the digests depend on, read from a run's manifest: MuJoCo, OpenBLAS and its core, the
# elementwise kernels' instruction set
runs | while read -r name cmd; do
  # shellcheck disable=SC2086 # the command line is a list of words
  $cmd --out "$name" --quiet >"$name.out" 2>&1 || fail "$name: exited $?: $(cat "$name.out")"
done || exit 1
# mbenv writes one CSV and has no manifest
$B/envs/mbenv rollout Hopper --policy random --episodes 2 --seed 3 --csv mbenv.csv >/dev/null ||
  fail "mbenv rollout"
platform=$(awk -F' = ' '$1 ~ /^(mujoco|blas|blas_core|simd)$/ { printf "%s%s=%s", s, $1, $2; s = "; " }' \
  sac/manifest.ini)

{
  echo "# platform: $platform"
  for f in mbenv.csv */*.csv; do printf '%s %s\n' "$f" "$(digest "$f")"; done
} >now.txt
[ "$(grep -c csv now.txt)" -ge 20 ] || fail "too few CSVs: $(cat now.txt)"

# the file pinned for this platform, if any
golden=
for f in "$goldir"/*.txt; do
  [ -f "$f" ] && [ "$(sed -n 's/^# platform: //p' "$f")" = "$platform" ] && golden=$f
done

if [ $record = 1 ]; then
  mkdir -p "$goldir"
  if [ -z "$golden" ]; then # named by BLAS core and instruction set, e.g. zen-avx2.txt
    golden="$goldir/$(awk -F' = ' '$1 == "blas_core" { c = $2 } $1 == "simd" { s = $2 }
      END { print tolower(c) "-" s }' sac/manifest.ini).txt"
  fi
  [ $keep = 1 ] || for f in "$goldir"/*.txt; do
    [ -f "$f" ] && [ "$f" != "$golden" ] && rm -f "$f" && echo "deleted $f (recorded elsewhere)"
  done
  {
    echo "# Digests of the pinned runs of tests/golden.sh (CSV without timing columns)."
    echo "# Re-record with 'make golden-record' only for a change meant to alter results, and say"
    echo "# why in its commit. Recorded $(date -u +%Y-%m-%d) at $(git -C "$MB_SRCDIR" rev-parse --short HEAD 2>/dev/null)."
    cat now.txt
  } >"$golden"
  echo "recorded $(grep -c csv now.txt) digests into $golden ($platform)"
  exit 0
fi

if [ -z "$golden" ]; then
  echo "SKIP: no digests recorded on this machine's platform [$platform]; recorded on:"
  for f in "$goldir"/*.txt; do [ -f "$f" ] && echo "      $(sed -n 's/^# platform: //p' "$f")"; done
  echo "      Results are only pinned on the same builds and instruction set."
  exit 77
fi
grep -v '^#' "$golden" >want.txt
grep -v '^#' now.txt >got.txt
if ! cmp -s want.txt got.txt; then
  diff want.txt got.txt >&2
  fail "results changed against $(basename "$golden") (lines above: < pinned, > now). If the
      change is meant, run 'make golden-record' and say why in the commit; if not, the change
      altered results."
fi
echo "ok: $(wc -l <got.txt) digests unchanged against $(basename "$golden") ($platform)"
