#!/usr/bin/env bash
# Every verb against bad files (issue 14): empty, truncated, garbage, huge-dims (.npy asking for
# terabytes), NaN and wrong-shape inputs; outputs that are unwritable, full (ulimit -f), a
# device, a symbolic link or an input of the same run. Each must end in exit 1 or 2 with
# exactly one stderr line `earsight: …` naming the file, no core dump, no output (not even a
# temporary), and no file changed (inputs and link targets are checksummed before and after).
# Then signals: SIGTERM during a run leaves no temporary and no output; a run killed with -9
# leaves its temporary, which the next run of the same output removes.
source tests/clitest.sh
fx=tests/fixtures/onnx
in=$tmp/in o=$tmp/o s=$tmp/s; mkdir -p "$in" "$o" "$s"
cp $fx/small_cnn.onnx $fx/small_cnn.input.npy $fx/chirp.wav "$in/"
m=$in/small_cnn.onnx x=$in/small_cnn.input.npy wav=$in/chirp.wav sc=$in/sc.onnx
# a model that takes sounds (features and labels inside)
"$es" annotate -m $m --features $fx/small_cnn.features.json --labels bird,frog,noise -o $sc -q ||
  bad "annotate fixture" "failed"

# mknpy FILE SHAPE N BYTES: a float32 .npy with header shape (SHAPE) and N copies of the 4-byte
# value BYTES (printf escapes) as data
mknpy() {
  local h="{'descr': '<f4', 'fortran_order': False, 'shape': ($2), }"
  local len=$(((10 + ${#h} + 1 + 63) / 64 * 64 - 10))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((len & 255)))\\x$(printf %02x $((len >> 8)))"
    printf '%-*s\n' $((len - 1)) "$h"
    for ((i = 0; i < $3; i++)); do printf "$4"; done; } >"$1"
}
# the bad inputs: .npy, sound, model, CSV, JSON
: >"$in/empty.npy"; : >"$in/empty.wav"; : >"$in/empty.onnx"; : >"$in/empty.csv"
head -c 100 "$x" >"$in/trunc.npy"; head -c 30 "$wav" >"$in/trunc.wav"; head -c 300 "$m" >"$in/trunc.onnx"
for f in garbage.npy garbage.wav garbage.onnx; do
  for ((i = 0; i < 64; i++)); do printf 'not a file at all %d \x01\xff\x00' $i; done >"$in/$f"
done
mknpy "$in/huge.npy" "1, 1, 1048576, 1048576" 4 '\x00\x00\x80\x3f'   # asks for 4 TiB
mknpy "$in/nan.npy" "1, 1, 20, 16" 320 '\x00\x00\xc0\x7f'
mknpy "$in/shape.npy" "3, 5" 15 '\x00\x00\x80\x3f'
printf 'garbage\x00\x01,\n"unclosed\n' >"$in/garbage.csv"
printf '{"sample_rate": ' >"$in/trunc.json"
printf 'path,hasbird\nc1.wav,1\nc2.wav,1\nc3.wav,0\nc4.wav,0\n' >"$in/l.csv"
for i in 1 2 3 4; do cp "$wav" "$in/c$i.wav"; done
# a trained detector (softmax output) for eval
"$es" train --data "$in/l.csv" --arch small-cnn --epochs 1 --steps 1 --batch 2 -q -o "$in/t.onnx" ||
  bad "train fixture" "failed"
# the outputs that must be refused, and what they point at
echo "keep me" >"$s/target"; ln -s "$s/target" "$s/link"; ln -s "$s/nowhere" "$s/dangling"

sums() { md5sum "$in"/* "$s"/target "$fx"/* assets/models/* 2>/dev/null; ls -l "$s" | sed 1d | awk '{print $1, $NF}'; }
before=$(sums)

# bad NAME FILE cmd…: exit 1 or 2, one line `earsight: ` naming FILE (FILE may be "A|B": either), nothing in $o, no
# temporary beside FILE, nothing changed
bad_run() {
  local name=$1 file=$2; shift 2
  "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  if [ "$rc" != 1 ] && [ "$rc" != 2 ]; then bad "$name" "exit $rc: $(head -c 300 "$tmp/err")"
  elif [ "$(wc -l <"$tmp/err")" != 1 ]; then bad "$name" "stderr is not one line: $(head -c 600 "$tmp/err")"
  elif ! grep -q "^earsight: " "$tmp/err"; then bad "$name" "'$(cat "$tmp/err")' lacks 'earsight: '"
  elif ! grep -qE -- "$(sed 's/[.[\*^$+?(){}]/\\&/g' <<<"$file")" "$tmp/err"; then bad "$name" "'$(cat "$tmp/err")' does not name $file"
  elif [ -n "$(ls -A "$o")" ]; then bad "$name" "left $(ls -A "$o")"
  elif ls "$in" "$s" 2>/dev/null | grep -q '\.tmp\.'; then bad "$name" "left a temporary"
  elif [ "$(sums)" != "$before" ]; then bad "$name" "changed a file: $(diff <(echo "$before") <(sums) | head -3)"
  else ok "$name"; fi
  rm -rf "$o"/* "$s/nowhere"
}

# ---- inputs: every verb, every kind of bad file it reads --------------------------------------
for k in empty trunc garbage huge nan shape; do
  f=$in/$k.npy n=$f # a wrong shape too: the array is named, then the model it does not fit
  bad_run "predict: $k .npy" "$n" "$es" predict -m $m -i "$f" -o "$o/y.npy"
  bad_run "saliency: $k .npy" "$n" "$es" saliency -m $m -i "$f" --method grad -o "$o/s.npy"
  bad_run "sanity: $k .npy" "$n" "$es" sanity -m $m -i "$f" --method grad --layers 1 -o "$o/r.npy"
  bad_run "maps: $k .npy" "$n" "$es" maps -m $m -i "$f" -o "$o/m.png"
  bad_run "info: $k .npy" "$n" "$es" info -m $m -i "$f"
  bad_run "plot --saliency: $k .npy" "$f" "$es" plot "$x" --saliency "$f" -o "$o/p.png"
  bad_run "saliency --baseline: $k .npy" "$f" "$es" saliency -m $m -i "$x" --method ig --steps 2 --baseline "$f" -o "$o/s.npy"
  bad_run "sonify --saliency: $k .npy" "$f" "$es" sonify -m $sc -i "$wav" --keep 0.5 --saliency "$f" -o "$o/h.wav"
done
for k in empty trunc garbage huge nan; do
  bad_run "plot: $k .npy" "$in/$k.npy" "$es" plot "$in/$k.npy" -o "$o/p.png"
done
for k in empty trunc garbage; do
  f=$in/$k.wav
  bad_run "features: $k sound" "$f" "$es" features "$f" -o "$o/f.npy"
  bad_run "plot: $k sound" "$f" "$es" plot "$f" -o "$o/p.png"
  bad_run "sonify: $k sound" "$f" "$es" sonify -m $sc -i "$f" --keep 0.5 -o "$o/h.wav"
  bad_run "predict: $k sound" "$f" "$es" predict -m $sc -i "$f"
  bad_run "saliency: $k sound" "$f" "$es" saliency -m $sc -i "$f" --method grad -o "$o/s.npy"
  f=$in/$k.onnx
  bad_run "info: $k model" "$f" "$es" info -m "$f"
  bad_run "weights: $k model" "$f" "$es" weights -m "$f" -o "$o/w.png"
  bad_run "predict: $k model" "$f" "$es" predict -m "$f" -i "$x"
  bad_run "saliency: $k model" "$f" "$es" saliency -m "$f" -i "$x" --method grad -o "$o/s.npy"
  bad_run "sanity: $k model" "$f" "$es" sanity -m "$f" -i "$x" --method grad -o "$o/r.npy"
  bad_run "maps: $k model" "$f" "$es" maps -m "$f" -i "$x" -o "$o/m.png"
  bad_run "annotate: $k model" "$f" "$es" annotate -m "$f" --labels a,b,c -o "$o/a.onnx"
  bad_run "eval: $k model" "$f" "$es" eval -m "$f" --data "$in/l.csv"
  bad_run "train --features: $k file" "$f" "$es" train --data "$in/l.csv" --arch small-cnn --features "$f" -o "$o/t.onnx"
  bad_run "sonify: $k model" "$f" "$es" sonify -m "$f" -i "$wav" --keep 0.5 -o "$o/h.wav"
done
bad_run "info: a model as --input" "$m" "$es" info -m $m -i "$m"
for k in empty garbage; do
  bad_run "eval: $k CSV" "$in/$k.csv" "$es" eval -m $in/t.onnx --data "$in/$k.csv"
  bad_run "train: $k CSV" "$in/$k.csv" "$es" train --data "$in/$k.csv" --arch small-cnn -o "$o/t.onnx"
done
bad_run "annotate: truncated --features" "$in/trunc.json" "$es" annotate -m $m --features "$in/trunc.json" -o "$o/a.onnx"
bad_run "train: truncated --features" "$in/trunc.json" \
  "$es" train --data "$in/l.csv" --arch small-cnn --features "$in/trunc.json" -o "$o/t.onnx"
bad_run "features: truncated --config" "$in/trunc.json" "$es" features "$wav" --config "$in/trunc.json" -o "$o/f.npy"

# ---- outputs: every verb, every flag that writes a file ---------------------------------------
# each verb as VERB|FLAG|AN INPUT OF IT|the command, whose output is given last, after FLAG
outputs=(
  "annotate|-o|$fx/small_cnn.features.json|annotate -m $m --features $fx/small_cnn.features.json"
  "eval|--png|$in/l.csv|eval -m $in/t.onnx --data $in/l.csv"
  "features|-o|$wav|features $wav"
  "maps|-o|$x|maps -m $m -i $x"
  "plot|-o|$x|plot $x"
  "predict|-o|$m|predict -m $m -i $x"
  "saliency|-o|$x|saliency -m $m -i $x --method grad"
  "saliency|--png|$m|saliency -m $m -i $x --method grad"
  "sanity|-o|$x|sanity -m $m -i $x --method grad --layers 1"
  "sanity|--png|$m|sanity -m $m -i $x --method grad --layers 1"
  "sonify|-o|$wav|sonify -m $sc -i $wav --keep 0.5"
  "train|-o|$in/l.csv|train --data $in/l.csv --arch small-cnn --epochs 1 --steps 1 --batch 2 -q"
  "train|--val-csv|$in/l.csv|train --data $in/l.csv --arch small-cnn --epochs 1 --steps 1 --batch 2 --val-split 0.5 -q -o $o/t.onnx"
  "weights|-o|$m|weights -m $m"
)
for row in "${outputs[@]}"; do
  IFS='|' read -r v flag input cmd <<<"$row"
  bad_run "$v $flag: /dev/null" /dev/null "$es" $cmd $flag /dev/null
  bad_run "$v $flag: a symbolic link" "$s/link" "$es" $cmd $flag "$s/link"
  bad_run "$v $flag: a dangling link" "$s/dangling" "$es" $cmd $flag "$s/dangling"
  bad_run "$v $flag: a folder" "$s" "$es" $cmd $flag "$s"
  bad_run "$v $flag: no such folder" "$tmp/nope/out" "$es" $cmd $flag "$tmp/nope/out"
  bad_run "$v $flag: /proc" /proc/version "$es" $cmd $flag /proc/version
  bad_run "$v $flag: an input" "$input" "$es" $cmd $flag "$input"
  # a file over 1 KiB meets EFBIG (ulimit -f 1; stderr's one line still fits)
  [ "$v $flag" = "predict -o" ] || [ "$flag" = --val-csv ] ||
    bad_run "$v $flag: the file full (ulimit -f)" "$o/full" bash -c 'ulimit -f 1; exec "$@"' - "$es" $cmd $flag "$o/full"
done
bad_run "features: the input as -o" "$x" "$es" features "$x" -o "$x"
bad_run "train -o: the CSV" "$in/l.csv" "$es" train --data "$in/l.csv" -o "$in/l.csv"
bad_run "saliency: -o and --png the same file" "$o/same" \
  "$es" saliency -m $m -i "$x" --method grad -o "$o/same" --png "$o/same"
bad_run "weights -o: the shipped model (read when no -m)" assets/models/bird-detector.onnx \
  "$es" weights -o assets/models/bird-detector.onnx
bad_run "view --screenshot: /dev/null" /dev/null "$es" view -m $m "$x" --screenshot /dev/null
bad_run "view -o: the input" "$x" "$es" view -m $m "$x" -o "$x"

# ---- signals ----------------------------------------------------------------------------------
# SIGTERM while training: dies of the signal (143), no output, no temporary
"$es" train --data "$in/l.csv" --arch small-cnn --epochs 1000 --batch 2 -q -o "$o/t.onnx" 2>/dev/null &
pid=$!; sleep 1; kill -TERM $pid; wait $pid; rc=$?
if [ "$rc" = 143 ] && [ -z "$(ls -A "$o")" ]; then ok "SIGTERM: status 143, no output, no temporary"
else bad "SIGTERM" "exit $rc, left: $(ls -A "$o")"; fi
rm -rf "$o"/*
# a temporary of a dead process is removed by the next run writing the same output
true & dead=$!; wait $dead
echo partial >"$o/y.npy.tmp.$dead.AbC123"
"$es" predict -m $m -i "$x" -o "$o/y.npy" -q
if [ -s "$o/y.npy" ] && [ "$(ls -A "$o")" = y.npy ]; then ok "a rerun removes a killed run's temporary"
else bad "stale temporary" "left $(ls -A "$o")"; fi
rm -rf "$o"/*
# `earsight help help` is the help of help, not an unknown verb
expect "help help" 0 "usage: earsight help" "$es" help help
summary
