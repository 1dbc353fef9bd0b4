#!/usr/bin/env bash
# earsight plot from the command line: a spectrogram of a .npy and of a sound, overlays and the
# four panels, the PNG's size and tEXt chunks; errors — exit 1 with one line `earsight: …` for
# runtime errors, 2 for bad usage — and no PNG (nor a temporary file) left behind on failure.
# Run from the repository root; the binary is $EARSIGHT_BIN (default build/earsight).
source tests/clitest.sh
wav=tests/fixtures/onnx/chirp.wav

# png NAME FILE W H — a PNG of that size (IHDR width and height, big-endian at bytes 16..23)
png() {
  if [ ! -s "$2" ]; then bad "$1" "no file"; return; fi
  local sig wh
  sig=$(head -c 8 "$2" | od -An -t x1 | tr -d ' \n')
  wh=$(png_size "$2")
  if [ "$sig" != 89504e470d0a1a0a ]; then bad "$1" "not a PNG ($sig)"; return; fi
  if [ "$wh" != "$3 $4" ]; then bad "$1" "size $wh, wanted $3 $4"; return; fi
  ok "$1"
}

# nothing NAME — no PNG and no temporary file left in $tmp/out/
nothing() {
  if [ -n "$(ls -A "$tmp/o")" ]; then bad "$1" "left $(ls "$tmp/o")"; else ok "$1"; fi
}
mkdir -p "$tmp/o"

"$es" features "$wav" -o "$tmp/spec.npy" >/dev/null 2>&1 || bad "features for the plots" "failed"

# ---- pictures ---------------------------------------------------------------------------------
expect "plot a .npy" 0 "" "$es" plot "$tmp/spec.npy" -o "$tmp/a.png" --size 400x200
png "… is 400x200" "$tmp/a.png" 400 200
if grep -aq "earsight" "$tmp/a.png" && grep -aq "spectrogram" "$tmp/a.png"; then ok "… has its tEXt chunks"
else bad "… has its tEXt chunks" "no earsight/method text"; fi
expect "plot a sound with its waveform" 0 "" "$es" plot "$wav" --wave -o "$tmp/b.png"
png "… default size 1000x450" "$tmp/b.png" 1000 450
expect "plot with axes, cmap, dB range, title, json" 0 '"width": 500' \
  "$es" plot "$tmp/spec.npy" --sr 22050 --hop 315 --fmin 50 --mel-scale htk --cmap viridis \
  --db-range -60:0 --title "a chirp" --size 500x300 --json -o "$tmp/c.png"
for mode in heat blended masked alpha; do
  expect "overlay $mode" 0 "" "$es" plot "$tmp/spec.npy" --saliency "$tmp/spec.npy" \
    --overlay $mode --sign positive -o "$tmp/$mode.png" --size 300x200
done
expect "overlay heat, sign all" 0 "" "$es" plot "$wav" --saliency "$tmp/spec.npy" --overlay heat \
  --sign all -o "$tmp/all.png" --size 300x200
expect "quad" 0 "" "$es" plot "$wav" --saliency "$tmp/spec.npy" --quad -o "$tmp/q.png" --size 400x500
png "… is 400x500" "$tmp/q.png" 400 500

# ---- runtime errors: exit 1, nothing left ------------------------------------------------------
expect "unwritable output folder" 1 "$tmp/no/such/x.png" \
  "$es" plot "$tmp/spec.npy" -o "$tmp/no/such/x.png"
expect "missing input" 1 "$tmp/none.npy" "$es" plot "$tmp/none.npy" -o "$tmp/o/x.png"
nothing "… no PNG left"
expect "region too small" 1 "too small" "$es" plot "$tmp/spec.npy" -o "$tmp/o/x.png" --size 20x20
nothing "… no PNG left"
expect "saliency of the wrong shape" 1 "values, the spectrogram" \
  "$es" plot "$wav" --saliency "$tmp/spec.npy" --mels 40 -o "$tmp/o/x.png"
nothing "… no PNG left"

# ---- usage errors: exit 2 ----------------------------------------------------------------------
expect "size 0" 2 "--size" "$es" plot "$tmp/spec.npy" -o "$tmp/o/x.png" --size 0x10
expect "no output" 2 "no output" "$es" plot "$tmp/spec.npy"
expect "no input" 2 "no input" "$es" plot -o "$tmp/o/x.png"
expect "unknown colormap" 2 "unknown colormap 'jet'" "$es" plot "$tmp/spec.npy" --cmap jet -o "$tmp/o/x.png"
expect "bad dB range" 2 "--db-range" "$es" plot "$tmp/spec.npy" --db-range 5:1 -o "$tmp/o/x.png"
expect "masked cannot show sign all" 2 "sign all" \
  "$es" plot "$tmp/spec.npy" --saliency "$tmp/spec.npy" --overlay masked --sign all -o "$tmp/o/x.png"
expect "quad needs a saliency map" 2 "--quad needs" "$es" plot "$tmp/spec.npy" --quad -o "$tmp/o/x.png"
expect "unknown option" 2 "unknown option" "$es" plot "$tmp/spec.npy" --frobnicate -o "$tmp/o/x.png"
nothing "… no PNG left after usage errors"
expect "help plot" 0 "usage: earsight plot" "$es" help plot

summary
