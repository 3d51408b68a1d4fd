#!/bin/sh
# The report's build (paper/build, behind `make paper`): without pdflatex it says what to install
# and fails (exit 1) without writing; with pdflatex, from a small results directory, it includes
# the figure and the table the sweep made, a placeholder for the others, and a budget note full of
# TeX's special characters; a TeX error fails the build and keeps the previous PDF.
. "${MB_SRCDIR:-.}/tests/testlib.sh"
b="$MB_SRCDIR/paper/build"
R="$T/results"

# a sweep's results, reduced to what the report reads: figure main with its PDF, its table and its
# profile note; the other figures absent
mkdir -p "$R/main/summary"
echo main >"$R/figures.txt"
printf 'figure main\nprofile quick\nnote 2 seeds x 5_000 steps & 50%% of N {40} #1 $x ~y ^z\n' \
  >"$R/main/profile.txt"
printf '\\begin{tabular}{lr}\nlabel & IQM \\\\\nsentinel & 123.4 \\\\\n\\end{tabular}\n' \
  >"$R/main/summary/final.tex"

expect 2 "Usage: paper/build" "$b" "$MB_SRCDIR" "$R"
expect 1 "pdflatex is not installed" "$b" "$MB_SRCDIR" "$R" "$T/out/paper.pdf" "$T/no/pdflatex"
[ -e "$T/out/paper.pdf" ] && fail "a build without pdflatex wrote the PDF"

if [ -z "${MB_PDFLATEX:-}" ]; then
  echo "pdflatex not installed (configure found none): the report itself is not built here"
  exit 0
fi
command -v gnuplot >/dev/null 2>&1 || fail "gnuplot not found"
gnuplot -e "set terminal pdfcairo size 4in,2in; set output '$R/main/main.pdf'; plot sin(x)" ||
  fail "gnuplot could not draw the test figure"

expect 0 "make paper: $T/out/paper.pdf" "$b" "$MB_SRCDIR" "$R" "$T/out/paper.pdf" "$MB_PDFLATEX"
[ "$(head -c 4 "$T/out/paper.pdf")" = "%PDF" ] || fail "paper.pdf is not a PDF"
log="$T/out/paper.log"
# TeX breaks its log lines at 79 characters: join them before looking for paths
tr -d '\n' <"$log" >"$T/log1"
grep -q "$R/main/main.pdf" "$T/log1" || fail "the report did not include main/main.pdf"
grep -q "$R/main/summary/final.tex" "$T/log1" || fail "the report did not include main's table"
grep -q "$R/layer/" "$T/log1" && fail "the report read a layer file that does not exist"
echo "ok: the report holds the sweep's figure and table and placeholders for the rest"

# a broken table: pdflatex fails, the build says so (exit 1), the previous PDF stays
cp "$T/out/paper.pdf" "$T/before.pdf"
printf '\\begin{tabular}{lr}\n\\undefinedcontrolsequence\n' >"$R/main/summary/final.tex"
expect 1 "make paper: pdflatex failed" "$b" "$MB_SRCDIR" "$R" "$T/out/paper.pdf" "$MB_PDFLATEX"
cmp -s "$T/before.pdf" "$T/out/paper.pdf" || fail "a failed build replaced the PDF"
echo "ok: a TeX error fails the build and keeps the previous PDF"
