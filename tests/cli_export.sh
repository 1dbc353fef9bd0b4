#!/usr/bin/env bash
# earsight export: inputs (files, folders, lists), per-clip outputs whose names never leave
# OUTDIR, summary.csv and index.html, a bad file among good ones, resuming after SIGKILL,
# -j workers, --shard K/N and --merge. Short noise clips and gradcam keep it quick.
. "$(dirname "$0")/clitest.sh"
export EARSIGHT_PROGRESS_SECONDS=0
# one thread a process: a clip is small work, and OpenMP threads spinning on a busy machine
# take seconds each
export OMP_NUM_THREADS=1

le() { local v=$1 n=$2 k; for ((k = 0; k < n; k++)); do printf "\\x$(printf %02x $(((v >> (8 * k)) & 255)))"; done; }
# wav FILE SECONDS — 22.05 kHz mono 16-bit noise
wav() {
  local n=$(($2 * 44100))
  { printf RIFF; le $((36 + n)) 4; printf WAVEfmt\ ; le 16 4; le 1 2; le 1 2; le 22050 4
    le 44100 4; le 2 2; le 16 2; printf data; le $n 4; head -c $n /dev/urandom; } >"$1"
}
# valid_png FILE — a whole PNG: signature, IHDR, and IEND as its last chunk
valid_png() {
  [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(tail -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 49454e44ae426082 ]
}
col() { awk -F, -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { print $k }' "$2"; }
ex() { "$es" export --method gradcam "$@"; }

c=$tmp/corpus
mkdir -p "$c/sub" "$c/.hidden"
wav "$c/a.wav" 1
wav "$c/sub/b.wav" 1
long=$(printf 'x%.0s' {1..200})
wav "$c/sp ace ü.wav" 1
wav "$c/sub/$long.wav" 1
wav "$c/.hidden/h.wav" 1
echo "not a sound" >"$c/bad.wav"
echo "notes" >"$c/notes.txt"

# ---- a folder, a bad file among good ones, crafted names ----
touch "$tmp/before"
rel=$(realpath --relative-to=. "$c/sub")/../a.wav
ex "$c" "$rel" "$c/sub/../sub/b.wav" -o "$tmp/x1" -q >"$tmp/o" 2>"$tmp/e"; rc=$?
n_err=$(grep -c . "$tmp/e")
if [ $rc = 1 ] && [ "$n_err" = 2 ] && grep -q "bad.wav" "$tmp/e" && grep -q "1 of 7 files failed" "$tmp/e"; then
  ok "export: a bad file is one line, the batch goes on, exit 1 with the count"
else bad "export: bad file" "rc $rc, stderr $(cat "$tmp/e")"; fi
rows=$(($(wc -l <"$tmp/x1/summary.csv") - 1))
[ "$rows" = 7 ] && [ "$(col status "$tmp/x1/summary.csv" | grep -c '^ok$')" = 6 ] &&
  col status "$tmp/x1/summary.csv" | grep -q '^error: ' &&
  ok "export: summary.csv has a row per clip, status ok or error" ||
  bad "export: summary rows" "$(cat "$tmp/x1/summary.csv")"
[ "$(col path "$tmp/x1/summary.csv" | sort | uniq -d)" = "" ] && ! grep -q hidden "$tmp/x1/summary.csv" &&
  ! grep -q notes "$tmp/x1/summary.csv" &&
  ok "export: folders give their sounds once, hidden and other files skipped" ||
  bad "export: folder walk" "$(col path "$tmp/x1/summary.csv")"
strays=$(find "$tmp" -newer "$tmp/before" -type f ! -path "$tmp/x1/*" ! -name o ! -name e)
n_png=$(find "$tmp/x1/clips" -name '*.png' | wc -l)
bad_png=0; for f in "$tmp/x1/clips"/*.png; do valid_png "$f" || bad_png=$((bad_png + 1)); done
[ -z "$strays" ] && [ "$n_png" = 12 ] && [ $bad_png = 0 ] &&
  [ -z "$(find "$tmp/x1/clips" -mindepth 1 -type d)" ] &&
  ok "export: crafted names (.., absolute, spaces, unicode, 200 bytes) stay in OUTDIR/clips" ||
  bad "export: names" "strays '$strays', $n_png PNGs, $bad_png invalid"
find "$tmp/x1/clips" -name '*.png' | awk -F/ '{ if (length($NF) > 255) exit 1 }' &&
  ls "$tmp/x1/clips" | grep -q 'sp_ace_ü-' && ok "export: names keep unicode, stay under NAME_MAX" ||
  bad "export: stems" "$(ls "$tmp/x1/clips")"
h=$tmp/x1/index.html
srcs_ok=1
while read -r src; do
  f=$(printf '%b' "${src//%/\\x}")
  [ -f "$tmp/x1/$f" ] || { srcs_ok=0; echo "missing $f"; }
done < <(grep -o 'src="clips/[^"]*"' "$h" | sed 's/^src="//; s/"$//')
if grep -q '<audio' "$h" && ! grep -qi 'https\?:' "$h" && [ $srcs_ok = 1 ] &&
   [ "$(grep -c 'class="card' "$h")" = 7 ] && grep -q 'id="sort"' "$h" && grep -q 'id="dis"' "$h"; then
  ok "index.html: a card per clip, pictures that exist, <audio>, sort and filters, no network"
else bad "index.html" "srcs_ok $srcs_ok"; fi
audio=$(grep -o '<audio[^>]*src="[^"]*a.wav"' "$h" | head -1 | sed 's/.*src="//; s/"$//')
[ -f "$tmp/x1/$audio" ] && ok "index.html: <audio> plays the clip, relative to the page" ||
  bad "index.html: audio" "'$audio'"

# ---- resuming: nothing finished is done again; --force does it again ----
stat -c '%n %Y' "$tmp/x1/clips"/* | sort >"$tmp/m1"
sleep 1
rel=$(realpath --relative-to=. "$c/sub")/../a.wav
ex "$c" "$rel" "$c/sub/../sub/b.wav" -o "$tmp/x1" >"$tmp/o" 2>"$tmp/e"
stat -c '%n %Y' "$tmp/x1/clips"/* | sort | grep -v '/bad-' >"$tmp/m2"
grep -v '/bad-' "$tmp/m1" | diff - "$tmp/m2" >/dev/null && grep -q "6 done before" "$tmp/o" &&
  ok "export: a second run skips every clip done (the bad one is tried again)" ||
  bad "export: resume" "$(cat "$tmp/o"; diff "$tmp/m1" "$tmp/m2" | head -4)"
touch "$c/a.wav"
ex "$c/a.wav" -o "$tmp/x1" -q 2>/dev/null
[ "$(find "$tmp/x1/clips" -name 'a-*.spec.png' -newer "$c/a.wav" | wc -l)" = 1 ] &&
  ok "export: a clip newer than its outputs is exported again" || bad "export: newer clip" ""

# ---- --list: paths and a CSV with labels; --save-npy, --maps ----
printf 'path,label\n%s,bird\n"sub/b.wav",nobird\n' "a.wav" >"$c/list.csv"
ex --list "$c/list.csv" -o "$tmp/lst" -q --save-npy --maps conv0 -j 1
labels=$(col label "$tmp/lst/summary.csv" | tr '\n' ' ')
[ "$labels" = "bird nobird " ] && ls "$tmp/lst/clips"/a-*.gradcam.npy >/dev/null 2>&1 &&
  valid_png "$(ls "$tmp/lst/clips"/a-*.maps-conv0.png)" &&
  ok "export --list CSV: labels in the summary, --save-npy and --maps outputs" ||
  bad "export --list" "labels '$labels'; $(ls "$tmp/lst/clips")"
grep -q 'card dis' "$tmp/lst/index.html" || grep -q "data-label=\"bird\"" "$tmp/lst/index.html" &&
  ok "index.html: the labels are there to filter by" || bad "index.html labels" ""
printf '%s\n' "$c/a.wav" "" "# a comment" "$c/sub/b.wav" >"$tmp/list.txt"
ex --list "$tmp/list.txt" -o "$tmp/lst2" -q
[ "$(col status "$tmp/lst2/summary.csv" | grep -c ok)" = 2 ] && ok "export --list: one path a line" ||
  bad "export --list plain" "$(cat "$tmp/lst2/summary.csv")"

# ---- SIGKILL midway, then a rerun ----
k=$tmp/kc; mkdir -p "$k"
for i in 1 2 3 4 5; do wav "$k/k$i.wav" 2; done
"$es" export --method gradcam "$k" -o "$tmp/kill" -q -j 1 2>/dev/null & # the process itself
pid=$!
for i in $(seq 600); do
  [ "$(ls "$tmp/kill/clips"/*.csv 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.05
done
kill -9 $pid; wait $pid 2>/dev/null
kill -0 $pid 2>/dev/null && bad "export: SIGKILL" "the export still runs"
ls "$tmp/kill/clips"/*.csv | sort >"$tmp/done"; n_done=$(wc -l <"$tmp/done")
stat -c '%n %Y %s' $(cat "$tmp/done") "${tmp}/kill/clips"/*.png 2>/dev/null | sort >"$tmp/k1"
sleep 1
ex "$k" -o "$tmp/kill" -q -j 2 2>"$tmp/e"; rc=$?
stat -c '%n %Y %s' $(cat "$tmp/done") | sort >"$tmp/k2"
all_png=1; for f in "$tmp/kill/clips"/*.png; do valid_png "$f" || all_png=0; done
[ $rc = 0 ] && [ "$n_done" -lt 5 ] && [ $all_png = 1 ] &&
  [ "$(ls "$tmp/kill/clips" | grep -c '\.tmp')" = 0 ] &&
  [ "$(find "$tmp/kill/clips" -name '*.png' | wc -l)" = 10 ] &&
  [ "$(col path "$tmp/kill/summary.csv" | sort -u | wc -l)" = 5 ] &&
  [ "$(($(wc -l <"$tmp/kill/summary.csv") - 1))" = 5 ] &&
  join <(cut -d' ' -f1,2 "$tmp/k1") <(cut -d' ' -f1,2 "$tmp/k2") | awk '$2 != $3 { exit 1 }' &&
  ok "export: killed midway ($n_done of 5 done), rerun: outputs whole, nothing redone, each clip once" ||
  bad "export: SIGKILL" "rc $rc, $n_done done, pngs ok $all_png, $(cat "$tmp/e"; ls "$tmp/kill/clips")"

# ---- shards cover every input once; --merge gives the unsharded summary ----
mkdir -p "$tmp/sh"; cp -rp "$tmp/kill/clips" "$tmp/sh/"
for s in 1 2 3; do ex "$k" -o "$tmp/sh" -q --shard $s/3 || bad "shard $s" "exit $?"; done
cat "$tmp/sh"/summary.*-of-3.csv | grep -v '^path,' | cut -d, -f1 | sort >"$tmp/shp"
[ "$(wc -l <"$tmp/shp")" = 5 ] && [ "$(uniq -d "$tmp/shp")" = "" ] &&
  ok "export --shard 1/3 2/3 3/3: every input exactly once" || bad "shards" "$(cat "$tmp/shp")"
for s in 1 2; do ex "$c/a.wav" -o "$tmp/es" -q --shard $s/2 || bad "a shard" "exit $?"; done
[ "$(cat "$tmp/es"/summary.*-of-2.csv | grep -vc '^path,')" = 1 ] &&
  ok "export --shard: an empty shard writes its summary (a header)" || bad "empty shard" "$(ls "$tmp/es")"
"$es" export --merge "$tmp/sh" -q && cmp -s "$tmp/sh/summary.csv" "$tmp/kill/summary.csv" &&
  ok "export --merge: the shards' summary is the unsharded one" ||
  bad "merge" "$(diff "$tmp/sh/summary.csv" "$tmp/kill/summary.csv")"
for s in 1 2 3; do
  mkdir -p "$tmp/d$s"; cp -rp "$tmp/kill/clips" "$tmp/d$s/"; ex "$k" -o "$tmp/d$s" -q --shard $s/3
done
"$es" export --merge "$tmp/d1" "$tmp/d2" "$tmp/d3" -o "$tmp/m" -q &&
  cmp -s "$tmp/m/summary.csv" "$tmp/kill/summary.csv" && grep -q 'src="../d[123]/clips/' "$tmp/m/index.html" &&
  ok "export --merge DIR…: one summary, the page links each shard's pictures" ||
  bad "merge dirs" "$(diff "$tmp/m/summary.csv" "$tmp/kill/summary.csv")"
# -j 2 gives the verdicts of -j 1
[ "$(cut -d, -f1-4 "$tmp/kill/summary.csv")" = "$(ex "$k" -o "$tmp/j1" -q -j 1 && cut -d, -f1-4 "$tmp/j1/summary.csv")" ] &&
  ok "export -j 2: the same summary as one worker" || bad "-j" "$(diff "$tmp/kill/summary.csv" "$tmp/j1/summary.csv")"

# ---- usage and progress ----
expect "export: no output folder" 2 "no output folder" "$es" export "$c/a.wav"
expect "export: bad --shard" 2 "K/N" "$es" export "$c/a.wav" -o "$tmp/x" --shard 4/3
expect "export: unknown method" 2 "unknown method" "$es" export "$c/a.wav" -o "$tmp/x" --method nope
expect "export: --target the model lacks" 2 "no class named 'nope'" "$es" export "$c/a.wav" -o "$tmp/x" --target nope
ex "$c/sub/b.wav" -o "$tmp/tg" --target bird -q && ex "$c/sub/b.wav" -o "$tmp/tg" --target 1 >"$tmp/o" 2>/dev/null &&
  grep -q "1 done before" "$tmp/o" && ex "$c/sub/b.wav" -o "$tmp/tg" >"$tmp/o" 2>/dev/null && grep -q "0 done before" "$tmp/o" &&
  [ "$(col target "$tmp/tg/summary.csv")" = "$(col predicted "$tmp/tg/summary.csv")" ] &&
  ok "export: another class explained is exported again (--target 1 is bird: not)" || bad "target" "$(cat "$tmp/o")"
ex "$c/sub/b.wav" -o "$tmp/pr" --force 2>"$tmp/e" >/dev/null
grep -q "export: 1 of 1 clips" "$tmp/e" && ok "export: plain progress lines when stderr is no terminal" ||
  bad "progress" "$(cat "$tmp/e")"
ex "$c/sub/b.wav" -o "$tmp/pr" --force -q >"$tmp/o" 2>"$tmp/e"
[ ! -s "$tmp/o" ] && [ ! -s "$tmp/e" ] && ok "export -q: nothing printed" || bad "-q" "$(cat "$tmp/o" "$tmp/e")"
# ---- --sonify: what the network heard, beside the pictures and in the page ----
ex "$c/sub/b.wav" -o "$tmp/so" --sonify --keep 0.2 --save-npy -q
h=$(ls "$tmp/so/clips/"*.heard.wav 2>/dev/null)
"$es" sonify --input "$c/sub/b.wav" --saliency "$(ls "$tmp/so/clips/"*.gradcam.npy)" --keep 0.2 -o "$tmp/so.wav" -q
# the data after the 80-byte header (libsndfile's PEAK chunk holds the time of writing)
[ -n "$h" ] && cmp -s <(tail -c +81 "$h") <(tail -c +81 "$tmp/so.wav") &&
  [ "$(col heard "$tmp/so/summary.csv")" = gradcam ] && grep -q 'what the network heard' "$tmp/so/index.html" &&
  grep -q "src=\"clips/$(basename "$h")\"" "$tmp/so/index.html" &&
  ok "export --sonify: STEM.heard.wav is sonify's sound of that map; the summary and the page name it" ||
  bad "export --sonify" "$h; $(cat "$tmp/so/summary.csv")"
ex "$c/sub/b.wav" -o "$tmp/so2" -q && ex "$c/sub/b.wav" -o "$tmp/so2" --sonify >"$tmp/o" 2>/dev/null &&
  grep -q "0 done before" "$tmp/o" && ls "$tmp/so2/clips/"*.heard.wav >/dev/null 2>&1 &&
  ok "export --sonify after a run without: the clip is done again" || bad "sonify resume" "$(cat "$tmp/o")"
expect "export: --keep without --sonify" 2 "goes with --sonify" "$es" export "$c/a.wav" -o "$tmp/x" --keep 0.2
"$es" annotate -m assets/models/bird-detector.onnx --features '{"n_mfcc": 20, "n_mels": 40, "frames": 40}' \
  -o "$tmp/mfcc.onnx" >/dev/null
expect "export --sonify: an MFCC model is refused before any clip" 1 "mfcc.onnx: .*log-mel features only (its features are MFCC)" \
  "$es" export "$c/a.wav" -o "$tmp/mf" -m "$tmp/mfcc.onnx" --sonify
[ ! -e "$tmp/mf/summary.csv" ] && ok "export --sonify refused: no summary written" || bad "mfcc refusal" "$(ls "$tmp/mf")"
summary
