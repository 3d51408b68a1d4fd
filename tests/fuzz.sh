#!/bin/sh
# Fuzz the readers of every input a run takes (INI configs, linear policies, checkpoints, CSV logs
# and eval.csv) with libFuzzer for a short fixed budget: a fixed -seed and -runs, so the same
# inputs every time. Any crash, sanitizer report, leak, hang (-timeout) or broken invariant of a
# target fails the test and leaves the input in the log. Skips (77) when configure found no clang
# that links -fsanitize=fuzzer,address. Longer runs: tests/fuzz/README.md.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
F="$MB_BUILDDIR/tests/fuzz"
for t in ini policy checkpoint csv; do
  if [ ! -x "$F/fuzz_$t" ]; then
    echo "SKIP: no fuzz targets built (configure found no clang linking -fsanitize=fuzzer,address;"
    echo "      on Debian: apt-get install clang libclang-rt-14-dev, then ./configure again)"
    exit 77
  fi
done
cd "$T" || exit 99

# seeds: the formats as the library writes them, the kept text seeds, real configs
mkdir seeds && "$F/mkseeds" seeds || fail "mkseeds"
for t in ini policy csv; do
  mkdir -p "seeds/$t" && cp "$MB_SRCDIR/tests/fuzz/seeds/$t/"* "seeds/$t/" || fail "seeds of $t"
done
cp "$MB_SRCDIR/algorithms/demorl/code.ini" "$MB_SRCDIR/algorithms/demorl/paper.ini" seeds/ini/ &&
  "$MB_BUILDDIR/examples/fit" --print-config >seeds/ini/fit.ini || fail "ini seeds"

# runs per target: about 10 s each on one core of the development machine
for spec in ini:500000 policy:1000000 checkpoint:100000 csv:300000; do
  t=${spec%%:*} runs=${spec#*:}
  mkdir "corpus_$t" && cp "seeds/$t/"* "corpus_$t/"
  ASAN_OPTIONS=detect_leaks=1 "$F/fuzz_$t" -seed=1 -runs="$runs" -max_len=8192 -timeout=10 \
    -artifact_prefix="$T/crash_$t-" "corpus_$t" >"fuzz_$t.log" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "fuzz_$t.log" >&2
    for a in "$T"/crash_"$t"-*; do [ -f "$a" ] && { echo "input:" >&2; od -c "$a" | head -n 20 >&2; }; done
    fail "fuzz_$t: exit $rc"
  fi
  echo "ok: fuzz_$t: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "fuzz_$t.log")"
done
