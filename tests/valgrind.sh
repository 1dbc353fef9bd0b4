#!/usr/bin/env bash
# make valgrind: every cmocka program and CLI check of build tree $1 under valgrind's memcheck
# (memory errors and definite leaks; tests/valgrind.supp silences the libraries' own), one
# thread. Every process writes its own log (named by time and PID: PIDs wrap around); a log
# with anything in it is a report, printed at the end. Hours on 2 cores, so not part of CI.
# The build must be one valgrind decodes: `make valgrind` compiles for x86-64-v3 (AVX2;
# valgrind 3.19 knows no AVX-512). VG_ONLY="test_viz cli_axes" runs just those.
# CLI checks that want the shipped detector's own answers fail with EARSIGHT_MODEL set to
# another model, and timed checks may time out: those are test failures, not reports.
set -u
b=${1:-build-vg}
root=$PWD
logs=$(mktemp -d /tmp/earsight-valgrind.XXXXXX)
vg="valgrind -q --error-exitcode=0 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions=$root/tests/valgrind.supp"
mkdir -p "$logs/bin"
cat >"$logs/bin/earsight" <<EOF
#!/bin/sh
exec $(echo $vg) --log-file=$logs/earsight-\$(date +%s%N)-%p.log $root/$b/earsight "\$@"
EOF
chmod +x "$logs/bin/earsight"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

wanted() { [ -z "${VG_ONLY:-}" ] || grep -qw -- "$1" <<<"$VG_ONLY"; }
failed=""
for t in "$b"/tests/test_*; do
  n=$(basename "$t"); wanted "$n" || continue
  $vg --log-file="$logs/$n-%p.log" "$t" >"$logs/$n.out" 2>&1 || failed="$failed $n"
  echo "$n: $(grep -E '^\[  (PASSED|FAILED)  \] [0-9]' "$logs/$n.out" | tr '\n' ' ')"
done
# cli_install installs and links the real build; cli_symbols reads the library's symbols
for s in tests/cli_*.sh; do
  n=$(basename "$s" .sh); wanted "$n" || continue
  case $n in cli_install | cli_symbols) continue ;; esac
  EARSIGHT_BIN=$logs/bin/earsight bash "$s" "$logs/bin" >"$logs/$n.out" 2>&1 || failed="$failed $n"
  echo "$n: $(grep -c '^\[       OK \]' "$logs/$n.out") passed, $(grep -c '^\[  FAILED  \] [^0-9]' "$logs/$n.out") failed"
done
reports=$(find "$logs" -name '*.log' -size +0)
for r in $reports; do echo "== $r"; head -40 "$r"; done
echo "valgrind: $(echo $reports | wc -w) process(es) with reports; logs in $logs"
[ -n "$failed" ] && echo "test failures under valgrind:$failed"
[ -z "$reports" ]
