# Sourced by the CLI checks (tests/cli_*.sh): the binary, a scratch folder, cmocka-style
# result lines for tests/run.sh, and the checks they share. Run from the repository root;
# the binary is $EARSIGHT_BIN (default build/earsight).
set -u
es=${EARSIGHT_BIN:-build/earsight}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "[       OK ] $1"; }
bad() { fail=$((fail + 1)); echo "[  FAILED  ] $1: $2"; }

# expect NAME STATUS PATTERN cmd… — exit status, and (for errors) one stderr line matching
# PATTERN; for success, PATTERN (if any) on stdout
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" != "$want" ]; then bad "$name" "exit $rc, wanted $want: $(head -c 300 "$tmp/err")"; return; fi
  if [ "$want" != 0 ]; then
    if [ "$(wc -l <"$tmp/err")" != 1 ]; then bad "$name" "stderr is not one line: $(cat "$tmp/err")"; return; fi
    if ! grep -q -- "$pat" "$tmp/err"; then bad "$name" "stderr '$(cat "$tmp/err")' lacks '$pat'"; return; fi
  elif [ -n "$pat" ] && ! grep -q -- "$pat" "$tmp/out"; then
    bad "$name" "stdout lacks '$pat': $(head -c 300 "$tmp/out")"; return
  fi
  ok "$name"
}

# png_size FILE — "W H" from the PNG's IHDR chunk (big-endian at bytes 16..23)
png_size() { od -An -v -t u1 -j 16 -N 8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }

# summary — the closing lines tests/run.sh reads; the status of the whole script
summary() {
  echo "[  PASSED  ] $pass test(s)."
  [ "$fail" = 0 ] || echo "[  FAILED  ] $fail test(s), listed above"
  [ "$fail" = 0 ]
}
