#!/usr/bin/env bash
# Batches (DESIGN.md §8): one bad file among good ones is named in one line, the others are
# done, "N of M files failed", exit 1; --strict stops at the first; outputs of inputs with the
# same base name do not overwrite each other; -q prints no progress.
# Run from the repository root; the binary is $EARSIGHT_BIN (default build/earsight).
source tests/clitest.sh
ex=assets/examples
bird=$ex/animals__birds__blackbird.ogg
duck=$ex/animals__birds__duck.ogg

# a folder of the example clips, one of them truncated after its headers, in the labels CSV
mkdir -p "$tmp/set"
cp $ex/*.ogg "$tmp/set/"
head -c 3000 "$duck" >"$tmp/set/bad.ogg"
{ cat $ex/labels.csv; echo "bad.ogg,1"; } >"$tmp/set/labels.csv"
n_good=$(($(wc -l <$ex/labels.csv) - 1)); n_all=$((n_good + 1))

# lines NAME FILE WANT PATTERN — FILE has WANT lines matching PATTERN
lines() {
  local got; got=$(grep -c -- "$4" "$2")
  [ "$got" = "$3" ] && ok "$1" || bad "$1" "$got lines match '$4', wanted $3: $(head -c 400 "$2")"
}
# status NAME WANT RC
status() { [ "$3" = "$2" ] && ok "$1" || bad "$1" "exit $3, wanted $2: $(head -c 300 "$tmp/err")"; }

# eval: the good clips scored, the bad one named once, the count of failures, exit 1
# (no progress line however slow the machine: the count of stderr lines is about errors)
EARSIGHT_PROGRESS_SECONDS=1e9 "$es" eval --data "$tmp/set/labels.csv" >"$tmp/out" 2>"$tmp/err"; rc=$?
status "eval with a corrupt file exits 1" 1 $rc
lines "eval scores the good files" "$tmp/out" 1 "^files $n_good, ROC AUC [0-9.]*, accuracy"
lines "eval names the corrupt file once" "$tmp/err" 1 "^earsight: .*bad.ogg: "
lines "eval counts the failures" "$tmp/err" 1 "^earsight: 1 of $n_all files failed$"
[ "$(wc -l <"$tmp/err")" = 2 ] && ok "eval prints nothing else on stderr" || bad "eval stderr" "$(cat "$tmp/err")"
grep -q "bad.ogg" "$tmp/out" && bad "eval stdout" "lists the bad file" || ok "eval leaves the bad file out of its table"

"$es" eval --data "$tmp/set/labels.csv" --json >"$tmp/out" 2>"$tmp/err"; rc=$?
status "eval --json with a corrupt file exits 1" 1 $rc
grep -q '"auc":' "$tmp/out" && ok "eval --json has the AUC" || bad "eval --json" "$(head -c 300 "$tmp/out")"

expect "eval --strict stops at the corrupt file" 1 "bad.ogg: " "$es" eval --data "$tmp/set/labels.csv" --strict
[ ! -s "$tmp/out" ] && ok "eval --strict prints no result" || bad "eval --strict" "$(head -c 300 "$tmp/out")"
expect "eval of good files still exits 0" 0 "^files $n_good," "$es" eval --data $ex/labels.csv -q

# a repeated row is said once
{ cat $ex/labels.csv; tail -1 $ex/labels.csv; } >"$tmp/set/dup.csv"
"$es" eval --data "$tmp/set/dup.csv" >"$tmp/out" 2>"$tmp/err"; rc=$?
status "eval with a repeated row exits 0" 0 $rc
lines "eval says the repeated row was merged" "$tmp/err" 1 "1 repeated row merged"
"$es" eval --data "$tmp/set/dup.csv" -q >"$tmp/out" 2>"$tmp/err"
[ ! -s "$tmp/err" ] && ok "eval -q says nothing of it" || bad "eval -q" "$(cat "$tmp/err")"

# train: a tiny run with the corrupt file in the set finishes, writes its model, exits 1
tiny=(--arch small-cnn --features '{"frames":32}' --epochs 1 --batch 4 --steps 1)
"$es" train --data "$tmp/set/labels.csv" "${tiny[@]}" -q -o "$tmp/m.onnx" >"$tmp/out" 2>"$tmp/err"; rc=$?
status "train with a corrupt file exits 1" 1 $rc
[ -s "$tmp/m.onnx" ] && ok "train writes its model anyway" || bad "train" "no model"
lines "train names the corrupt file once" "$tmp/err" 1 "^earsight: .*bad.ogg: "
lines "train counts the failures" "$tmp/err" 1 "^earsight: 1 of $n_all files failed$"
expect "train --strict stops at the corrupt file" 1 "bad.ogg: " \
  "$es" train --data "$tmp/set/labels.csv" "${tiny[@]}" -q --strict -o "$tmp/s.onnx"
[ ! -e "$tmp/s.onnx" ] && ok "train --strict writes no model" || bad "train --strict" "wrote a model"
# the split of the good files does not depend on the bad one: the same held-out rows
"$es" train --data "$tmp/set/labels.csv" "${tiny[@]}" -q -o "$tmp/m1.onnx" --val-csv "$tmp/v1.csv" 2>/dev/null
"$es" train --data $ex/labels.csv --root "$tmp/set" "${tiny[@]}" -q -o "$tmp/m2.onnx" --val-csv "$tmp/v2.csv" 2>/dev/null
cmp -s "$tmp/v1.csv" "$tmp/v2.csv" && ok "train holds out the same good files" || bad "train split" "$(cat "$tmp/v1.csv") vs $(cat "$tmp/v2.csv")"

# saliency over several inputs: a bad one among them is named, the others' maps written
fx=tests/fixtures/onnx; m=$fx/small_cnn.onnx
mkdir -p "$tmp/p" "$tmp/q" "$tmp/o" "$tmp/o2"
cp $fx/small_cnn.input.npy "$tmp/p/in.npy"
"$es" saliency -m $m --method grad -i "$tmp/p/in.npy" -o "$tmp/q/in.npy" -q # another input, same name
head -c 100 $fx/small_cnn.input.npy >"$tmp/q/bad.npy"
"$es" saliency -m $m --method grad --input "$tmp/p/in.npy" "$tmp/q/bad.npy" "$tmp/q/in.npy" \
  -o "$tmp/o" >"$tmp/out" 2>"$tmp/err"; rc=$?
status "saliency with a bad input exits 1" 1 $rc
lines "saliency names the bad input once" "$tmp/err" 1 "^earsight: .*bad.npy: "
lines "saliency counts the failures" "$tmp/err" 1 "^earsight: 1 of 3 files failed$"
[ -s "$tmp/o/in.npy" ] && [ -s "$tmp/o/in-2.npy" ] && ok "saliency writes the good inputs' maps" \
  || bad "saliency outputs" "$(ls "$tmp/o")"
# same base name, distinct outputs: each map is its own input's
"$es" saliency -m $m --method grad -i "$tmp/p/in.npy" -o "$tmp/one.npy" -q
"$es" saliency -m $m --method grad -i "$tmp/q/in.npy" -o "$tmp/two.npy" -q
cmp -s "$tmp/o/in.npy" "$tmp/one.npy" && cmp -s "$tmp/o/in-2.npy" "$tmp/two.npy" \
  && ok "inputs with one base name get distinct outputs" || bad "same base name" "the maps are not their inputs'"
"$es" saliency -m $m --method grad --input "$tmp/p/in.npy" "$tmp/q/bad.npy" "$tmp/q/in.npy" \
  -o "$tmp/o2" --strict >"$tmp/out" 2>"$tmp/err"; rc=$?
status "saliency --strict stops at the bad input" 1 $rc
[ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "$tmp/o2/in-2.npy" ] && ok "saliency --strict does no more" \
  || bad "saliency --strict" "$(cat "$tmp/err"; ls "$tmp/o2")"

# progress: a line per item when asked every 0 s; nothing with -q
export EARSIGHT_PROGRESS_SECONDS=0
"$es" eval --data $ex/labels.csv >/dev/null 2>"$tmp/err"
lines "eval reports progress" "$tmp/err" 1 "^earsight eval: $n_good of $n_good files, .*/s, ETA"
"$es" eval --data $ex/labels.csv -q >/dev/null 2>"$tmp/err"
[ ! -s "$tmp/err" ] && ok "eval -q prints no progress" || bad "eval -q" "$(cat "$tmp/err")"
"$es" saliency -m $m --method grad --input "$tmp/p/in.npy" "$tmp/q/in.npy" -o "$tmp/o" 2>"$tmp/err"
lines "saliency reports progress" "$tmp/err" 1 "^earsight saliency: 2 of 2 files"
"$es" saliency -m $m --method grad --input "$tmp/p/in.npy" "$tmp/q/in.npy" -o "$tmp/o" -q 2>"$tmp/err"
[ ! -s "$tmp/err" ] && ok "saliency -q prints no progress" || bad "saliency -q" "$(cat "$tmp/err")"
"$es" sanity -m $m --method grad "$tmp/p/in.npy" >/dev/null 2>"$tmp/err"
lines "sanity reports progress over its maps" "$tmp/err" 1 "^earsight sanity: 7 of 7 maps, .*ETA"
"$es" sanity -m $m --method grad "$tmp/p/in.npy" -q >/dev/null 2>"$tmp/err"
[ ! -s "$tmp/err" ] && ok "sanity -q prints no progress" || bad "sanity -q" "$(cat "$tmp/err")"

# SIGINT stops after the current item: 120 copies of the clips, interrupted once the first
# progress line shows work under way (env --default-signal: a background job's SIGINT would
# otherwise start ignored)
mkdir -p "$tmp/many"
echo "path,hasbird" >"$tmp/many/labels.csv"
for k in $(seq 1 15); do
  tail -n +2 $ex/labels.csv | while IFS=, read -r f l; do
    cp "$ex/$f" "$tmp/many/$k-$f"; echo "$k-$f,$l" >>"$tmp/many/labels.csv"
  done
done
env --default-signal=INT "$es" eval --data "$tmp/many/labels.csv" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do grep -q "files, " "$tmp/err" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid 2>/dev/null; wait $pid; rc=$?
if [ "$rc" = 130 ]; then
  lines "Ctrl-C: eval stops after the current file and says how far it got" "$tmp/err" 1 \
    "^earsight: interrupted after [0-9]* of $((15 * n_good)) files$"
else
  bad "Ctrl-C stops eval (exit 130)" "exit $rc: $(tail -c 300 "$tmp/err")"
fi
# one long input: progress over its windows; SIGINT stops after the current window, no output
bird=assets/examples/animals__birds__blackbird.ogg
"$es" saliency --input $bird --method grad -o "$tmp/w.npy" 2>"$tmp/err"
lines "saliency of one sound reports its windows" "$tmp/err" 1 "^earsight saliency: \([0-9]*\) of \1 windows, "
"$es" sonify --input $bird --method grad --keep 0.1 -o "$tmp/w.wav" 2>"$tmp/err"
lines "sonify reports its windows" "$tmp/err" 1 "^earsight sonify: \([0-9]*\) of \1 windows, "
rm -f "$tmp/w.npy"
env --default-signal=INT "$es" saliency --input $bird --method ig --steps 400 -o "$tmp/w.npy" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 200); do grep -q "windows, " "$tmp/err" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid 2>/dev/null; wait $pid; rc=$?
if [ "$rc" = 130 ] && [ ! -e "$tmp/w.npy" ]; then
  lines "Ctrl-C: saliency stops after the current window" "$tmp/err" 1 \
    "^earsight: .*: interrupted after [0-9]* of [0-9]* windows$"
else
  bad "Ctrl-C stops saliency of one sound (exit 130, no output)" "exit $rc: $(tail -c 300 "$tmp/err")"
fi
unset EARSIGHT_PROGRESS_SECONDS

summary
