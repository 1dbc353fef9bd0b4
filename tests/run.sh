#!/usr/bin/env bash
# Runs every cmocka test program given, then one summary line: "tests: N passed, N failed".
# A program that crashes or prints no cmocka summary counts as one failure.
set -u
pass=0; fail=0; bad=""
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR)|^\[  PASSED  \]|Test failed|ERROR' | sed "s|^|$(basename "$t"): |"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; printf '%s\n' "$out" | tail -20; fi
  [ "$f" != 0 ] && bad="$bad $(basename "$t")"
  pass=$((pass + p)); fail=$((fail + f))
done
[ -n "$bad" ] && echo "failing programs:$bad"
echo "tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
