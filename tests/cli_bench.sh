#!/usr/bin/env bash
# earsight bench from the command line: every method runs, --json gives every figure as a number
# (min <= median <= p90, the runs asked for, the threads of -j), the input from a .npy or random
# with the batch asked for, and the errors — a missing model is exit 1 with one line naming
# it, a bad method or count exit 2. Prints cmocka-style lines for tests/run.sh.
source tests/clitest.sh
fx=tests/fixtures/onnx
m=$fx/small_cnn.onnx
[ -x "$es" ] || { echo "no binary $es"; echo "[  FAILED  ] 1 test(s)"; exit 1; }

# field KEY — the number KEY has in $tmp/out (a JSON object on one line), or nothing
field() { grep -o "\"$1\":[-0-9.e+]*" "$tmp/out" | head -1 | cut -d: -f2; }

"$es" bench -m $m --runs 5 -j1 --json >"$tmp/out" 2>"$tmp/err"
if [ $? != 0 ]; then bad "bench --json" "exit: $(head -c 300 "$tmp/err")"
else
  missing=""
  for k in first_ms load_ms first_pass_ms min_ms median_ms p90_ms peak_rss_mb arena_mb runs batch threads; do
    [ -n "$(field $k)" ] || missing="$missing $k"
  done
  grep -q '"method":"forward"' "$tmp/out" || missing="$missing method"
  grep -q "\"model\":\"$m\"" "$tmp/out" || missing="$missing model"
  if [ -n "$missing" ]; then bad "bench --json" "no$missing in $(cat "$tmp/out")"
  elif ! awk -v a="$(field min_ms)" -v b="$(field median_ms)" -v c="$(field p90_ms)" \
         -v f="$(field first_ms)" -v p="$(field first_pass_ms)" -v r="$(field peak_rss_mb)" \
         -v z="$(field arena_mb)" 'BEGIN {exit !(0 < a && a <= b && b <= c && p <= f && r > 0 && z > 0)}'; then
    bad "bench --json" "figures out of order: $(cat "$tmp/out")"
  elif [ "$(field runs)" != 5 ] || [ "$(field threads)" != 1 ] || [ "$(field batch)" != 1 ]; then
    bad "bench --json" "runs/threads/batch: $(cat "$tmp/out")"
  else ok "bench --json: every figure, in order"; fi
fi

for method in forward grad guided gradcam ig smoothgrad occlusion train; do
  expect "bench --method $method" 0 "\"method\":\"$method\"" \
    "$es" bench -m $m --method $method --runs 1 --batch 2 -j1 --json
done
expect "bench --batch 3: the input has 3 rows" 0 '"input":\[3,1,20,16\]' \
  "$es" bench -m $m --batch 3 --runs 1 --json
expect "bench --input .npy" 0 '"input":\[1,1,20,16\]' \
  "$es" bench -m $m --input $fx/small_cnn.input.npy --runs 1 --json
expect "bench, text: warm min / median / p90" 0 "median .* ms, p90" "$es" bench -m $m --runs 2

expect "bench: missing model" 1 "^earsight: $tmp/nope.onnx: cannot open" "$es" bench -m "$tmp/nope.onnx"
expect "bench: bad method" 2 "^earsight: --method: " "$es" bench -m $m --method fastest
expect "bench: --runs 0" 2 "^earsight: --runs: " "$es" bench -m $m --runs 0
expect "bench: missing input file" 1 "^earsight: $tmp/nope.npy" "$es" bench -m $m --input "$tmp/nope.npy"
# OpenMP threads sleep between regions unless the user says otherwise: the running process's
# environment (it blocks reading a named pipe) has OMP_WAIT_POLICY=PASSIVE, or the user's value
wait_policy() { # ENV… — the OMP_WAIT_POLICY of an earsight blocked on a FIFO
  mkfifo "$tmp/fifo.npy"
  env "$@" "$es" predict -m $m "$tmp/fifo.npy" >/dev/null 2>&1 &
  local pid=$! i=0 got=
  while [ $i -lt 100 ] && [ -z "$got" ]; do # the pipe blocks it, after its start
    got=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep '^OMP_WAIT_POLICY=' | grep -v '^OMP_WAIT_POLICY=$')
    if [ -z "$got" ] && ls -l "/proc/$pid/fd" 2>/dev/null | grep -q fifo.npy; then got=none; fi
    sleep 0.05; i=$((i + 1))
  done
  kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$tmp/fifo.npy"
  echo "$got"
}
w=$(wait_policy -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_NUM_THREADS=2)
[ "$w" = OMP_WAIT_POLICY=PASSIVE ] && ok "threads sleep between regions by default" || bad "wait policy" "got '$w'"
w=$(wait_policy OMP_WAIT_POLICY=active OMP_NUM_THREADS=2)
[ "$w" = OMP_WAIT_POLICY=active ] && ok "the user's OMP_WAIT_POLICY wins" || bad "user's wait policy" "got '$w'"
summary
