#!/usr/bin/env bash
# make fuzz: runs every libFuzzer target of build tree $1 for $2 seconds from its committed
# seeds (fuzz/corpus/NAME/, read only), new inputs going to $1/corpus/NAME/, crashes to
# $1/crashes/. Prints a line a target with its executions; exits 1 when one found a bug.
set -u
B=$1 SECONDS_EACH=$2 status=0
mkdir -p "$B/crashes"
for bin in "$B"/fuzz/fuzz_*; do
  name=${bin##*/fuzz_}
  mkdir -p "$B/corpus/$name" "fuzz/corpus/$name"
  log="$B/fuzz-$name.log"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=3072 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$B/crashes/$name-" \
    "$B/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    echo "fuzz $name: ${runs:-?} executions in ${SECONDS_EACH} s, no crash"
  else
    status=1
    echo "fuzz $name: FAILED after ${runs:-?} executions (exit $rc); the input is in $B/crashes/, the log $log:"
    grep -m5 -E "ERROR|runtime error|SUMMARY" "$log" | sed 's/^/  /'
  fi
done
exit $status
