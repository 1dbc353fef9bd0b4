#!/usr/bin/env bash
# The option table (apps/opt.c) from the command line, verb by verb: `--opt=value`, bundled short
# flags and `--` work in every verb; a missing value, an out-of-range number, a non-number and an
# unknown flag each give one stderr line `earsight: …`, exit 2, and leave no file behind;
# `earsight help VERB` and `earsight VERB --help` print the same text. Prints cmocka-style lines.
source tests/clitest.sh
fx=tests/fixtures/onnx
m=$fx/small_cnn.onnx x=$fx/small_cnn.input.npy wav=$fx/chirp.wav
o=$tmp/o; mkdir -p "$o"

# works NAME OUT cmd…: exit 0 and OUT written (OUT "" when the verb writes no file)
works() {
  local name=$1 out=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  [ "$rc" = 0 ] || { bad "$name" "exit $rc: $(head -c 300 "$tmp/err")"; return; }
  [ -z "$out" ] || [ -s "$out" ] || { bad "$name" "no $out"; return; }
  ok "$name"; rm -f "$o"/*
}
# refuses NAME PATTERN cmd…: exit 2, one stderr line starting `earsight: ` with PATTERN, and
# nothing (not even a temporary file) in $o
refuses() {
  local name=$1 pat=$2; shift 2
  "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  [ "$rc" = 2 ] || { bad "$name" "exit $rc, wanted 2: $(head -c 300 "$tmp/err")"; return; }
  [ "$(wc -l <"$tmp/err")" = 1 ] || { bad "$name" "stderr is not one line: $(cat "$tmp/err")"; return; }
  grep -q "^earsight: " "$tmp/err" || { bad "$name" "'$(cat "$tmp/err")' lacks 'earsight: '"; return; }
  grep -q -- "$pat" "$tmp/err" || { bad "$name" "'$(cat "$tmp/err")' lacks '$pat'"; return; }
  [ -z "$(ls -A "$o")" ] || { bad "$name" "left $(ls -A "$o")"; rm -f "$o"/*; return; }
  ok "$name"
}
# usage_errors VERB "RANGE FLAG AND VALUE" "NON-NUMBER FLAG AND VALUE" FLAG-WITHOUT-VALUE cmd…:
# the four usage errors of one verb (no numbers to check when the flag is "")
usage_errors() {
  local v=$1 range=$2 nonnum=$3 last=$4; shift 4
  refuses "$v: unknown flag" "unknown option '--frobnicate'" "$@" --frobnicate
  refuses "$v: unknown flag with a value" "unknown option '--frobnicate'" "$@" --frobnicate=1
  refuses "$v: unknown short flag in a bundle" "unknown option '-Z'" "$@" -Z
  refuses "$v: $last without its value" "$last: needs a value" "$@" "$last"
  [ -z "$range" ] || refuses "$v: $range" "${range%% *}: needs" "$@" $range
  [ -z "$nonnum" ] || refuses "$v: $nonnum" "${nonnum%% *}: needs a" "$@" $nonnum
}

# fixtures: a model with features and labels (sonify), a labelled set (train, eval), a spectrogram
"$es" annotate -m $m --features $fx/small_cnn.features.json --labels bird,frog,noise \
  -o "$tmp/sc.onnx" -q || bad "annotate fixture" "failed"
for i in 1 2 3 4; do cp $wav "$tmp/c$i.wav"; done
printf 'path,hasbird\nc1.wav,1\nc2.wav,1\nc3.wav,0\nc4.wav,0\n' >"$tmp/l.csv"
"$es" features $wav -q -o "$tmp/spec.npy" || bad "features fixture" "failed"
"$es" train --data "$tmp/l.csv" --arch small-cnn --epochs 1 --steps 1 --batch 2 -q -o "$tmp/t.onnx" ||
  bad "train fixture" "failed"

# ---- annotate (no numbers among its flags) ----------------------------------------------------
works "annotate: --opt=value, bundle -qo" "$o/a.onnx" \
  "$es" annotate --model=$m --labels=a,b,c -qo "$o/a.onnx"
refuses "annotate: -- ends the flags" "unexpected argument '-q'" \
  "$es" annotate -m $m --labels a,b,c -o "$o/a.onnx" -- -q
usage_errors annotate "" "" --labels "$es" annotate -m $m --labels a,b,c -o "$o/a.onnx"

# ---- bench ------------------------------------------------------------------------------------
works "bench: --opt=value, bundle -qj1" "" "$es" bench --model=$m --runs=1 --method=grad -qj1
refuses "bench: -- ends the flags" "unexpected argument '--json'" "$es" bench -m $m --runs 1 -- --json
usage_errors bench "--runs 0" "--batch 1.5" --method "$es" bench -m $m --runs 1

# ---- eval -------------------------------------------------------------------------------------
works "eval: --opt=value, bundle -qj2" "$o/roc.png" \
  "$es" eval -m "$tmp/t.onnx" --data="$tmp/l.csv" -qj2 --png="$o/roc.png"
refuses "eval: -- ends the flags" "unexpected argument '-q'" \
  "$es" eval -m "$tmp/t.onnx" --data "$tmp/l.csv" --png "$o/roc.png" -- -q
usage_errors eval "-j 0" "-j 1.5" --data "$es" eval -m "$tmp/t.onnx" --data "$tmp/l.csv" --png "$o/roc.png"
refuses "eval: -j 100000" "-j: needs a whole number in \[1, 256\]" \
  "$es" eval -m "$tmp/t.onnx" --data "$tmp/l.csv" --png "$o/roc.png" -j 100000

# ---- features ---------------------------------------------------------------------------------
works "features: --opt=value, bundle -qj2" "$o/f.npy" \
  "$es" features --sr=16000 --n-fft=512 --output="$o/f.npy" -qj2 $wav
works "features: -- ends the flags" "$o/f.npy" "$es" features -o "$o/f.npy" -- $wav
usage_errors features "-j 257" "-j 1.5" -o "$es" features $wav -o "$o/f.npy"
refuses "features: a feature flag's bad value" "--n-fft" "$es" features $wav -o "$o/f.npy" --n-fft=x

# ---- info (no numbers among its flags) --------------------------------------------------------
works "info: --opt=value" "" "$es" info --model=$m --json
works "info: a short flag's attached value" "" "$es" info -m$m
works "info: -- ends the flags" "" "$es" info -- $m
usage_errors info "" "" --input "$es" info -m $m

# ---- maps -------------------------------------------------------------------------------------
works "maps: --opt=value, attached short values" "$o/m.png" \
  "$es" maps -m$m --input=$x --size=320x240 --png-level=1 -o"$o/m.png"
refuses "maps: -- ends the flags" "unexpected argument '--sort'" \
  "$es" maps -m $m --input $x -o "$o/m.png" -- --sort
usage_errors maps "--window -1" "--window 1.5" --layer "$es" maps -m $m --input $x -o "$o/m.png"

# ---- plot -------------------------------------------------------------------------------------
works "plot: --opt=value, bundle -qj2" "$o/p.png" \
  "$es" plot --size=400x200 --cmap=viridis -qj2 -o "$o/p.png" "$tmp/spec.npy"
works "plot: -- ends the flags" "$o/p.png" "$es" plot -o "$o/p.png" -- "$tmp/spec.npy"
usage_errors plot "--png-level 10" "--png-level x" --cmap "$es" plot "$tmp/spec.npy" -o "$o/p.png"

# ---- predict ----------------------------------------------------------------------------------
works "predict: --opt=value, bundle -qj2" "$o/y.npy" \
  "$es" predict --model=$m --input=$x -qj2 --output="$o/y.npy"
works "predict: -- ends the flags" "$o/y.npy" "$es" predict -m $m -o "$o/y.npy" -- $x
usage_errors predict "-j 0" "-j 2.5" --input "$es" predict -m $m -i $x -o "$o/y.npy"

# ---- saliency ---------------------------------------------------------------------------------
works "saliency: --opt=value, bundle -qj2" "$o/s.npy" \
  "$es" saliency --method=ig --steps=3 --window=2x2 -qj2 -m $m -o "$o/s.npy" --input=$x
works "saliency: -- ends the flags" "$o/s.npy" "$es" saliency --method grad -m $m -o "$o/s.npy" -- $x
usage_errors saliency "--steps 0" "--steps 1.5" --method "$es" saliency -m $m -i $x --method grad -o "$o/s.npy"
refuses "saliency: -j 100000" "-j: needs a whole number in \[1, 256\]" \
  "$es" saliency -m $m -i $x --method grad -o "$o/s.npy" -j 100000
refuses "saliency: --sigma nan" "--sigma" "$es" saliency -m $m -i $x --method grad -o "$o/s.npy" --sigma nan

# ---- sanity -----------------------------------------------------------------------------------
works "sanity: --opt=value, bundle -qj2" "$o/r.npy" \
  "$es" sanity --method=grad --layers=1 --mode=cascading -qj2 -m $m -o "$o/r.npy" --input=$x
works "sanity: -- ends the flags" "$o/r.npy" \
  "$es" sanity --method grad --layers 1 -q -m $m -o "$o/r.npy" -- $x
usage_errors sanity "--layers 0" "--layers 1.5" --mode "$es" sanity -m $m -i $x --method grad -o "$o/r.npy"

# ---- sonify -----------------------------------------------------------------------------------
works "sonify: --opt=value, bundle -qj2" "$o/h.wav" \
  "$es" sonify --keep=0.2 --method=grad -qj2 -m "$tmp/sc.onnx" --output="$o/h.wav" --input=$wav
works "sonify: -- ends the flags" "$o/h.wav" "$es" sonify -q -m "$tmp/sc.onnx" -o "$o/h.wav" -- $wav
usage_errors sonify "--keep 2" "--steps 1.5" --keep "$es" sonify -m "$tmp/sc.onnx" -i $wav -o "$o/h.wav"

# ---- train ------------------------------------------------------------------------------------
works "train: --opt=value, bundle -qj1" "$o/t.onnx" \
  "$es" train --data="$tmp/l.csv" --arch=small-cnn --epochs=1 --steps=1 --batch=2 -qj1 -o "$o/t.onnx"
refuses "train: -- ends the flags" "unexpected argument '-q'" \
  "$es" train --data "$tmp/l.csv" -o "$o/t.onnx" -- -q
usage_errors train "--epochs 0" "--steps 1.5" --data "$es" train --data "$tmp/l.csv" --arch small-cnn -o "$o/t.onnx"

# ---- weights ----------------------------------------------------------------------------------
works "weights: --opt=value, attached short values" "$o/w.png" \
  "$es" weights -m$m --size=300x300 --mean-inputs -o"$o/w.png"
refuses "weights: -- ends the flags" "unexpected argument '--per-input'" \
  "$es" weights -m $m -o "$o/w.png" -- --per-input
usage_errors weights "--png-level 10" "--png-level 1.5" --layer "$es" weights -m $m -o "$o/w.png"

# ---- view: the flags are read before the display is looked for (exit 1 without one) ----------
expect "view: --opt=value, bundle -j2, -- (parsed: then no display)" 1 "no display" \
  env -u DISPLAY -u WAYLAND_DISPLAY "$es" view --method=grad --size=640x300 --overlay=masked -j2 \
  -m $m --screenshot "$o/v.png" -- $x
rm -f "$o"/*
usage_errors view "--frames 0" "--frames 1.5" --keys \
  env -u DISPLAY -u WAYLAND_DISPLAY "$es" view -m $m $x --screenshot "$o/v.png"

# ---- help -------------------------------------------------------------------------------------
for v in annotate bench eval features info maps plot predict saliency sanity sonify train weights view; do
  "$es" help $v >"$tmp/h1" 2>&1; r1=$?
  "$es" $v --help >"$tmp/h2" 2>&1; r2=$?
  "$es" $v -m nope --frobnicate -h >"$tmp/h3" 2>&1; r3=$?
  if [ "$r1$r2$r3" != 000 ]; then bad "help $v" "exit $r1 $r2 $r3"
  elif ! head -1 "$tmp/h1" | grep -q "^usage: earsight $v"; then bad "help $v" "$(head -1 "$tmp/h1")"
  elif ! cmp -s "$tmp/h1" "$tmp/h2" || ! cmp -s "$tmp/h1" "$tmp/h3"; then bad "help $v" "help VERB, VERB --help and -h differ"
  else ok "help $v = $v --help = $v … -h"; fi
done
expect "help help" 0 "usage: earsight help" "$es" help help
expect "help of an unknown verb" 2 "unknown verb 'nope'" "$es" help nope

summary
