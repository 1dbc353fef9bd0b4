#!/usr/bin/env bash
# The targets of the shipped bird detector: digital silence, white noise at −20 dBFS and a
# 50 Hz hum at −20 dBFS get P(bird) < 0.1, and the example blackbird still > 0.5. The sounds
# are made here (awk writes 16-bit PCM WAV bytes as printf escapes; no Python). Part of
# `make test`; `make model-check MODEL=FILE` runs it on another model. Run from the repository
# root; the binary is $EARSIGHT_BIN (default build/earsight). Prints cmocka-style summary lines.
source tests/clitest.sh

# wav FILE KIND — 2 s of 16-bit mono at 22.05 kHz: silence (all zeros), white (Gaussian, RMS
# −20 dBFS re 1.0) or hum (a 50 Hz sine, RMS −20 dBFS).
wav() {
  printf '%b' "$(awk -v kind="$2" '
    function le(v, n,  i, s) { s = ""; for (i = 0; i < n; i++) { s = s sprintf("\\x%02x", v % 256); v = int(v / 256) } return s }
    BEGIN {
      sr = 22050; n = 2 * sr; srand(1); pi = atan2(0, -1)
      printf "RIFF%sWAVEfmt %s%s%s%s%s%s%sdata%s", le(36 + 2 * n, 4), le(16, 4), le(1, 2), le(1, 2),
             le(sr, 4), le(2 * sr, 4), le(2, 2), le(16, 2), le(2 * n, 4)
      for (i = 0; i < n; i++) {
        v = 0
        if (kind == "white") v = 0.1 * sqrt(-2 * log(1 - rand())) * cos(2 * pi * rand())
        if (kind == "hum") v = 0.1 * sqrt(2) * sin(2 * pi * 50 * i / sr)
        s = int(v * 32767 + (v < 0 ? -0.5 : 0.5)); s = s > 32767 ? 32767 : s < -32768 ? -32768 : s
        printf "%s", le(s < 0 ? s + 65536 : s, 2)
      } }')" >"$1"
}

for k in silence white hum; do wav "$tmp/$k.wav" $k; done
cp assets/examples/animals__birds__blackbird.ogg "$tmp/"
printf 'path,hasbird\nsilence.wav,0\nwhite.wav,0\nhum.wav,0\nanimals__birds__blackbird.ogg,1\n' >"$tmp/l.csv"

# the sounds are what they say: 88244 bytes (a 44-byte header and 2 s of samples)
n=$(cat "$tmp/silence.wav" "$tmp/white.wav" "$tmp/hum.wav" | wc -c)
[ "$n" = $((3 * 88244)) ] && ok "three WAVs of 2 s" || bad "three WAVs of 2 s" "$n bytes"

"$es" eval ${MODEL:+-m "$MODEL"} --data "$tmp/l.csv" --json >"$tmp/eval.json" 2>"$tmp/err"
rc=$?
[ "$rc" = 0 ] && ok "eval of the model" || bad "eval of the model" "exit $rc: $(head -c 300 "$tmp/err")"

# p_bird FILE — the second probability eval gives that file
p_bird() {
  grep -o "\"path\":\"$1\"[^}]*\"probs\":\[[^]]*\]" "$tmp/eval.json" | sed 's/.*"probs":\[[^,]*,\([^]]*\)\]/\1/'
}
# check FILE below|above LIMIT
check() {
  local p; p=$(p_bird "$1")
  if [ -z "$p" ]; then bad "P(bird) of $1" "not in eval's JSON: $(head -c 300 "$tmp/eval.json")"; return; fi
  if awk -v p="$p" -v l="$3" -v w="$2" 'BEGIN {exit !(w == "below" ? p < l : p > l)}'; then
    ok "P(bird) of $1 is $2 $3 ($p)"
  else
    bad "P(bird) of $1" "$p, not $2 $3"
  fi
}
check silence.wav below 0.1
check white.wav below 0.1
check hum.wav below 0.1
check animals__birds__blackbird.ogg above 0.5
summary
