# Helpers for the shell tests (sourced). Each test gets a fresh temporary directory $T.
set -u
: "${MB_BUILDDIR:=.}" "${MB_SRCDIR:=.}"
T=$(mktemp -d "${TMPDIR:-/tmp}/mbtest.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect CODE TEXT COMMAND...: the command exits with CODE and prints TEXT (stdout or stderr)
expect() {
  code=$1 text=$2
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  [ "$rc" -eq "$code" ] || fail "'$*' exited $rc, expected $code; it printed: $out"
  case $out in *"$text"*) ;; *) fail "'$*' printed: $out; expected to see: $text" ;; esac
  echo "ok: $* -> $rc"
}

# the CSV logs of two run directories are identical once the wall_s column (last) is removed
same_logs() {
  for f in train.csv eval.csv; do
    [ -f "$1/$f" ] && [ -f "$2/$f" ] || return 1
    sed 's/,[^,]*$//' "$1/$f" >"$T/x1"
    sed 's/,[^,]*$//' "$2/$f" >"$T/x2"
    cmp -s "$T/x1" "$T/x2" || return 1
  done
  return 0
}
