#!/usr/bin/env bash
# The desktop viewer from the command line, in a real X server (Xvfb): `earsight view
# --screenshot` renders the first frame in the SDL window, reads it back from the renderer and
# writes it; the figure part must equal, pixel for pixel, the PNG `earsight saliency --png`
# writes for the same settings (one rendering path), also after keys (--keys) changed method,
# overlay, sign, layout, target and zoom. Errors: no display, bad files → exit 1 with one line;
# bad flags → exit 2. Run from the repository root; the binary is $EARSIGHT_BIN (default
# build/earsight). Prints cmocka-style lines for tests/run.sh. Xvfb is required (scripts/deps.sh).
set -u
es=${EARSIGHT_BIN:-build/earsight}
fx=tests/fixtures/onnx
tmp=$(mktemp -d)
xpid=""
cleanup() { [ -n "$xpid" ] && kill "$xpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "[       OK ] $1"; }
bad() { fail=$((fail + 1)); echo "[  FAILED  ] $1: $2"; }
finish() {
  echo "[  PASSED  ] $pass test(s)."
  [ "$fail" = 0 ] || echo "[  FAILED  ] $fail test(s), listed above"
  [ "$fail" = 0 ]; exit
}
# SDL and X11 keep some of their own allocations until exit: LeakSanitizer is told about those
# system libraries only (never about ours).
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export SDL_AUDIODRIVER=dummy   # no sound card here; p must still work (quietly)

[ -x "$es" ] || { bad "binary" "no binary $es"; finish; }

# A tiny PNG reader (libpng's simplified API), so the checks need no Python:
#   png size A.png         → "W H"
#   png colours A.png      → the number of distinct colours
#   png same A.png B.png   → differing pixels between B and A's top-left B-sized part
#   png col A.png B.png X  → pixels of column X that differ between A and B
#   png wav OUT.wav SECS   → a chirp with noise (8 kHz), a sound longer than the fixture's
cat >"$tmp/png.c" <<'EOF'
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static unsigned char *load(const char *p, png_image *im)
{
    memset(im, 0, sizeof *im);
    im->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(im, p)) { fprintf(stderr, "%s: %s\n", p, im->message); exit(2); }
    im->format = PNG_FORMAT_RGBA;
    unsigned char *b = malloc(PNG_IMAGE_SIZE(*im));
    if (!b || !png_image_finish_read(im, NULL, b, 0, NULL)) { fprintf(stderr, "%s: unreadable\n", p); exit(2); }
    return b;
}
static int cmp(const void *a, const void *b) { unsigned x = *(const unsigned *)a, y = *(const unsigned *)b; return (x > y) - (x < y); }
int main(int argc, char **argv)
{
    png_image a, b;
    if (!strcmp(argv[1], "wav")) { /* wav OUT SECONDS: a chirp with noise, 8 kHz, 16-bit */
        int sr = 8000, n = (int)(atof(argv[3]) * sr);
        FILE *f = fopen(argv[2], "wb");
        unsigned hdr[11] = {0x46464952, 36 + 2 * n, 0x45564157, 0x20746d66, 16, 0x10001, sr, 2 * sr, 0x100002, 0x61746164, 2 * n};
        fwrite(hdr, 4, 11, f);
        for (int i = 0; i < n; i++) {
            double t = (double)(i % sr) / sr;
            short s = (short)(8000 * __builtin_sin(6.2831853 * (300 + 1500 * t) * t) + (rand() % 2001 - 1000));
            fwrite(&s, 2, 1, f);
        }
        return fclose(f) != 0;
    }
    unsigned char *pa = load(argv[2], &a);
    if (!strcmp(argv[1], "size")) { printf("%u %u\n", a.width, a.height); return 0; }
    if (!strcmp(argv[1], "colours")) {
        size_t n = (size_t)a.width * a.height, k = 0;
        unsigned *v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++) memcpy(&v[i], pa + 4 * i, 4);
        qsort(v, n, sizeof *v, cmp);
        for (size_t i = 0; i < n; i++) k += i == 0 || v[i] != v[i - 1];
        printf("%zu\n", k);
        return 0;
    }
    unsigned char *pb = load(argv[3], &b);
    if (!strcmp(argv[1], "col")) { /* col A.png B.png X: pixels of column X that differ */
        size_t diff = 0;
        for (unsigned y = 0; y < a.height && y < b.height; y++)
            diff += memcmp(pa + 4 * ((size_t)y * a.width + atoi(argv[4])), pb + 4 * ((size_t)y * b.width + atoi(argv[4])), 3) != 0;
        printf("%zu\n", diff);
        return 0;
    }
    if (!strcmp(argv[1], "col")) { /* col A.png X: how many pixels of column X differ from B's */
        size_t diff = 0;
        for (unsigned y = 0; y < a.height && y < b.height; y++)
            diff += memcmp(pa + 4 * ((size_t)y * a.width + atoi(argv[4])), pb + 4 * ((size_t)y * b.width + atoi(argv[4])), 3) != 0;
        printf("%zu\n", diff);
        return 0;
    }
    if (b.width > a.width || b.height > a.height) { printf("%s is larger\n", argv[3]); return 1; }
    size_t diff = 0;
    for (unsigned y = 0; y < b.height; y++)
        for (unsigned x = 0; x < b.width; x++)
            diff += memcmp(pa + 4 * ((size_t)y * a.width + x), pb + 4 * ((size_t)y * b.width + x), 4) != 0;
    printf("%zu\n", diff);
    return diff != 0;
}
EOF
png="$tmp/png"
${CC:-cc} -O1 -o "$png" "$tmp/png.c" $(pkg-config --cflags --libs libpng) -lm -lm 2>"$tmp/cc.err" ||
  { bad "png helper" "$(head -c 300 "$tmp/cc.err")"; finish; }

# ---- an X server of our own ------------------------------------------------------------------
command -v Xvfb >/dev/null || { bad "Xvfb" "not installed (scripts/deps.sh installs xvfb)"; finish; }
for n in $(seq 91 140); do
  [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] && continue
  Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
  xpid=$!
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  if [ -e "/tmp/.X11-unix/X$n" ] && kill -0 "$xpid" 2>/dev/null; then export DISPLAY=":$n"; break; fi
  kill "$xpid" 2>/dev/null; xpid=""
done
[ -n "$xpid" ] || { bad "Xvfb" "could not start a server: $(head -c 300 "$tmp/xvfb.log")"; finish; }
unset WAYLAND_DISPLAY

# expect NAME STATUS PATTERN cmd… — exit status, and (for errors) one stderr line matching PATTERN
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" != "$want" ]; then bad "$name" "exit $rc, wanted $want: $(head -c 300 "$tmp/err")"; return 1; fi
  if [ "$want" != 0 ]; then
    if [ "$(wc -l <"$tmp/err")" != 1 ]; then bad "$name" "stderr is not one line: $(cat "$tmp/err")"; return 1; fi
    if ! grep -q -- "$pat" "$tmp/err"; then bad "$name" "stderr '$(cat "$tmp/err")' lacks '$pat'"; return 1; fi
  elif [ -n "$pat" ] && ! grep -q -- "$pat" "$tmp/out"; then
    bad "$name" "stdout lacks '$pat': $(head -c 300 "$tmp/out")"; return 1
  fi
  ok "$name"
}

# same NAME SHOT.png REF.png W H — the screenshot is W × (H + the 40-pixel key bar), has many
# colours (not blank), and its figure part equals the saliency PNG pixel for pixel.
same() {
  local name=$1 shot=$2 ref=$3 w=$4 h=$5
  [ -s "$shot" ] || { bad "$name" "no screenshot written"; return; }
  [ -s "$ref" ] || { bad "$name" "no saliency PNG written"; return; }
  local size colours diff
  size=$("$png" size "$shot"); colours=$("$png" colours "$shot")
  [ "$size" = "$w $((h + 40))" ] || { bad "$name" "screenshot is $size, wanted $w $((h + 40))"; return; }
  [ "$colours" -gt 100 ] || { bad "$name" "screenshot has $colours colours: blank?"; return; }
  diff=$("$png" same "$shot" "$ref") || { bad "$name" "$diff pixels differ from saliency --png"; return; }
  ok "$name ($size, $colours colours, figure = saliency --png)"
}

# view_vs NAME "VIEW FLAGS" "SALIENCY FLAGS" INPUT MODEL W H — both sides rendered, then compared.
view_vs() {
  local name=$1 vf=$2 sf=$3 in=$4 model=$5 w=$6 h=$7 f="$tmp/$RANDOM"
  # shellcheck disable=SC2086
  expect "$name: view" 0 "" "$es" view -m "$model" "$in" --size "${w}x$((h))" $vf --screenshot "$f.view.png" || return
  # shellcheck disable=SC2086
  "$es" saliency -m "$model" "$in" --size "${w}x${h}" $sf --png "$f.ref.png" -q 2>"$tmp/err" ||
    { bad "$name" "saliency --png failed: $(head -c 300 "$tmp/err")"; return; }
  same "$name" "$f.view.png" "$f.ref.png" "$w" "$h"
}

"$es" annotate -m $fx/small_cnn.onnx --features $fx/small_cnn.features.json \
  --labels bird,frog,noise -o "$tmp/sc.onnx" -q || bad "annotate fixture" "failed"
npy=$fx/small_cnn.input.npy; wav=$fx/chirp.wav; sc="$tmp/sc.onnx"; T="--title fixed"

# ---- the SDL frame equals the PNG figure ---------------------------------------------------------
view_vs "tensor, Grad-CAM" "--method gradcam $T" "--method gradcam $T" $npy $fx/small_cnn.onnx 720 330
view_vs "sound, gradient, P(class) strip" "--method grad $T" "--method grad $T" $wav "$sc" 900 420
view_vs "keys m m m: guided" "--method grad --keys mmm $T" "--method guided $T" $wav "$sc" 800 360
view_vs "key M: previous method" "--method grad --keys M $T" "--method occlusion $T" $npy $fx/small_cnn.onnx 640 300
view_vs "default method guided, key o: masked" "--keys o $T" "--method guided --overlay masked $T" $wav "$sc" 800 360
view_vs "keys o o: alpha" "--keys oo $T" "--method guided --overlay alpha $T" $wav "$sc" 800 360
view_vs "keys s s s: all signs, heat" "--overlay heat --keys sss $T" \
  "--method guided --overlay heat --sign all $T" $wav "$sc" 800 360
view_vs "key q: quad layout" "--method grad --keys q $T" "--method grad --layout quad $T" $wav "$sc" 800 700
view_vs "key t: next class" "--method guided --target 0 --keys t $T" "--method guided --target 1 $T" $wav "$sc" 800 360
view_vs "default title (file, class, P)" "--method gradcam" "--method gradcam" $wav "$sc" 800 360
view_vs "IG with its flags" "--method ig --steps 8 $T" "--method ig --steps 8 $T" $npy $fx/small_cnn.onnx 640 300
# the example clips with the shipped model and the default title: the verdict (class, P,
# deciding window) and the caption drawn alike (tests/cli_verdict.sh: predict, eval and
# saliency --json agree on it)
for f in assets/examples/*.ogg; do
  view_vs "$(basename "$f"): verdict title" "--method grad" "--method grad" "$f" \
    assets/models/bird-detector.onnx 800 360
done
view_vs "--aggregate mean, IG caption" "--method ig --steps 4 --aggregate mean" \
  "--method ig --steps 4 --aggregate mean" assets/examples/animals__birds__duck.ogg \
  assets/models/bird-detector.onnx 800 360

# ---- zoom and scroll: another part of the same figure ------------------------------------------
f="$tmp/zoom"
expect "zoom in, scroll right" 0 "" "$es" view -m "$sc" $wav --method grad --size 800x360 \
  --keys "++>>" --screenshot "$f.png"
if [ -s "$f.png" ] && [ "$("$png" size "$f.png")" = "800 400" ] &&
   ! "$png" same "$tmp/zoom.png" "$(ls "$tmp"/*.view.png | head -1)" >/dev/null 2>&1 &&
   [ "$("$png" colours "$f.png")" -gt 100 ]; then ok "zoomed frame: right size, drawn, not the full view"
else bad "zoomed frame" "wrong size, blank, or the same as unzoomed"; fi

# ---- export (e) writes the figure as shown, the saliency PNG's pixels ---------------------------
expect "key e exports" 0 "" "$es" view -m "$sc" $wav --method grad --size 800x360 $T --keys e \
  -o "$tmp/export.png" --frames 1
"$es" saliency -m "$sc" $wav --method grad --size 800x360 $T --png "$tmp/export.ref.png" -q
if [ -s "$tmp/export.png" ] && [ "$("$png" size "$tmp/export.png")" = "800 360" ] &&
   "$png" same "$tmp/export.png" "$tmp/export.ref.png" >/dev/null; then ok "export = saliency --png"
else bad "export = saliency --png" "missing, wrong size or different pixels"; fi

# ---- sound (dummy driver), several frames, key bar hidden -----------------------------------
expect "p and shift+p play (no sound card)" 0 "" "$es" view -m "$sc" $wav --keys "pP" --frames 3
expect "key h hides the bar" 0 "" "$es" view -m "$sc" $wav --keys h --size 640x300 \
  --screenshot "$tmp/nobar.png"
[ "$("$png" size "$tmp/nobar.png" 2>/dev/null)" = "640 340" ] && ok "no bar: the figure fills the window" ||
  bad "no bar" "size $("$png" size "$tmp/nobar.png" 2>&1)"

# ---- --script: keys, waits and screenshots as a user gives them ----------------------------------
"$png" wav "$tmp/long.wav" 4 || bad "wav helper" "failed"
long="$tmp/long.wav"
# view_script NAME FILE.txt VIEW-ARGS… — runs the script (stdout in $tmp/out), exit 0 wanted
view_script() {
  local name=$1 script=$2; shift 2
  expect "$name" 0 "" "$es" view "$@" --script "$script"
}
cat >"$tmp/s1.txt" <<EOF
# the next method, once computed, is the saliency PNG's
print method
key m
idle
print method
screenshot $tmp/s1.png
EOF
view_script "script: key m, idle, screenshot" "$tmp/s1.txt" -m "$sc" $wav --size 800x360 $T
grep -q "method guided class" "$tmp/out" && grep -q "method gradcam class" "$tmp/out" &&
  ok "script: guided first (the default), gradcam after m" || bad "script: methods" "$(cat "$tmp/out")"
"$es" saliency -m "$sc" $wav --method gradcam --size 800x360 $T --png "$tmp/s1.ref.png" -q
same "script screenshot = saliency --png" "$tmp/s1.png" "$tmp/s1.ref.png" 800 360
printf 'key m\nfrobnicate 3\n' >"$tmp/bad.txt"
expect "script: a bad line is named" 1 "bad.txt:2: no step 'frobnicate'" "$es" view -m "$sc" $wav --script "$tmp/bad.txt"
printf 'click 10\n' >"$tmp/bad.txt"
expect "script: a step without its numbers" 1 "bad.txt:1: click needs 2 numbers" "$es" view -m "$sc" $wav --script "$tmp/bad.txt"
printf 'key nosuchkey\n' >"$tmp/bad.txt"
expect "script: an unknown key" 1 "bad.txt:1: no key 'nosuchkey'" "$es" view -m "$sc" $wav --script "$tmp/bad.txt"

# ---- work off the UI thread: progress, Esc cancels, the viewer goes on ---------------------------
cat >"$tmp/s2.txt" <<EOF
wait 300
print status
screenshot $tmp/s2.png
key Escape
idle
print status
key m
idle
print method
print status
EOF
start=$(date +%s)
view_script "script: a slow method cancelled with Esc" "$tmp/s2.txt" -m "$sc" $long --method ig --steps 100000 --ig-method riemann-trapezoid --size 640x300
took=$(( $(date +%s) - start ))
if grep -q "status computing ig for class .* slow: 100000 passes" "$tmp/out" && grep -q "status ig cancelled" "$tmp/out" &&
   grep -q "method smoothgrad class" "$tmp/out"; then ok "slow marked before it runs, Esc cancels, the viewer goes on (${took}s)"
else bad "cancel" "$(cat "$tmp/out")"; fi
[ "$took" -lt 20 ] && ok "cancel is prompt" || bad "cancel is prompt" "${took}s"
[ "$("$png" colours "$tmp/s2.png" 2>/dev/null || echo 0)" -gt 20 ] && ok "progress frame drawn" || bad "progress frame" "blank or missing"

# ---- listen: the playhead follows the audio clock (SDL's dummy driver) ---------------------------
cat >"$tmp/s3.txt" <<EOF
idle
key p
wait 700
print playhead
wait 700
print playhead
key ctrl+q
EOF
view_script "script: play, the playhead moves" "$tmp/s3.txt" -m "$sc" $long --method grad --size 640x300
p1=$(awk '/^playhead/ {print $2; exit}' "$tmp/out"); p2=$(awk '/^playhead/ {v=$2} END {print v}' "$tmp/out")
# (the first wait also covers loading the sound and opening the device: slow under ASan)
if awk -v a="$p1" -v b="$p2" 'BEGIN {exit !(a >= 0.05 && a <= 1.2 && b - a >= 0.4 && b - a <= 1.0)}'; then
  ok "playhead at $p1 s then $p2 s (0.7 s apart by the clock)"
else bad "playhead" "$p1 then $p2: $(cat "$tmp/out")"; fi

# ---- click to play, select and play, readout, zoom and pan in time and frequency ---------------
cat >"$tmp/s4.txt" <<EOF
idle
move 300 120
print readout
click 300 120
wait 300
print playhead
drag 200 120 400 120
print view
key p
print status
wheel 1 ctrl
print view
key PageUp
print view
key Up
print view
screenshot $tmp/s4.png
key 0
wheel 1
print view
drag 300 120 200 120 right
print view
resize 700 400
wait 300
print view
screenshot $tmp/s4r.png
EOF
view_script "script: mouse and navigation" "$tmp/s4.txt" -m "$sc" $long --method grad --size 640x300
out=$(cat "$tmp/out")
t=$(awk '/^readout/ {print $2; exit}' "$tmp/out"); ph=$(awk '/^playhead/ {print $2; exit}' "$tmp/out")
if grep -q "^readout [0-9.]* s · [0-9]* Hz · value [-0-9.e]* · grad [-0-9.e]* · window [0-9]* P([a-z]*) 0\.[0-9]*" "$tmp/out"; then
  ok "readout: time, Hz, value, attribution, the window's P ($(grep -m1 ^readout "$tmp/out"))"
else bad "readout" "$out"; fi
awk -v t="$t" -v p="$ph" 'BEGIN {exit !(p >= t && p <= t + 0.9)}' && ok "click plays from there ($t s → playhead $ph s)" ||
  bad "click to play" "readout $t s, playhead $ph"
sel=$(grep -m1 "selection" "$tmp/out" | sed 's/.*selection //'); st=$(grep -m1 "^status playing" "$tmp/out")
[ -n "$st" ] && [ "${sel%-*}" != "0.0" ] && ok "drag selects ($sel columns), p plays it: $st" || bad "selection" "$out"
v=$(grep "^view" "$tmp/out")
echo "$v" | sed -n 2p | grep -q "rows 5+10 of 20" && ok "ctrl+wheel zooms in frequency at the mouse" || bad "ctrl+wheel" "$v"
echo "$v" | sed -n 3p | grep -q "rows 6+8 of 20" && ok "PgUp zooms in frequency (to 8 bands at least)" || bad "PgUp" "$v"
[ "$(echo "$v" | sed -n 4p | awk '{print $7}')" != "$(echo "$v" | sed -n 3p | awk '{print $7}')" ] &&
  ok "↑ scrolls in frequency" || bad "up" "$v"
echo "$v" | sed -n 5p | grep -q "columns [0-9]*+160 of 321, rows 0+20" && ok "0 shows all, the wheel zooms in time" || bad "wheel" "$v"
[ "$(echo "$v" | sed -n 6p | awk '{print $3}')" != "$(echo "$v" | sed -n 5p | awk '{print $3}')" ] &&
  ok "a right-button drag moves the view" || bad "right drag" "$v"
echo "$v" | sed -n 7p | grep -q "output 700x400" && [ "$("$png" size "$tmp/s4r.png")" = "700 400" ] &&
  ok "resize: the frame is drawn at the new size" || bad "resize" "$v $("$png" size "$tmp/s4r.png")"
[ "$("$png" colours "$tmp/s4.png")" -gt 100 ] && ok "zoomed in frequency: drawn" || bad "zoomed frame" "blank"
# fullscreen: Mesa's GL under Xvfb without a window manager keeps its old buffer size, so the
# check runs on SDL's software renderer (a desktop's window manager resizes GL buffers)
printf 'idle\nkey f\nwait 400\nprint view\nscreenshot %s\nkey F11\nwait 400\nprint view\n' "$tmp/full.png" >"$tmp/s5.txt"
SDL_RENDER_DRIVER=software view_script "script: fullscreen" "$tmp/s5.txt" -m "$sc" $wav --method grad --size 640x300
if grep -q "output 1280x1024" "$tmp/out" && [ "$("$png" size "$tmp/full.png")" = "1280 1024" ] &&
   [ "$("$png" colours "$tmp/full.png")" -gt 100 ] && tail -1 "$tmp/out" | grep -q "output 640x340"; then
  ok "f: fullscreen at the screen's size, F11: back"
else bad "fullscreen" "$(cat "$tmp/out")"; fi

# ---- browse: folders, summary.csv, next / previous, a corrupt file, drag-and-drop ----------------
mkdir -p "$tmp/dir/sub"
cp $wav "$tmp/dir/a.wav"; cp "$long" "$tmp/dir/sub/c.wav"; printf 'RIFFjunkjunkjunk' >"$tmp/dir/b.wav"
echo "not a sound" >"$tmp/dir/notes.txt"
cat >"$tmp/s6.txt" <<EOF
idle
print file
key n
print file
screenshot $tmp/b6.png
key m
key n
idle
print file
print method
key l
screenshot $tmp/c6.png
key shift+n
print file
drop $wav
idle
print file
EOF
view_script "script: browse a folder" "$tmp/s6.txt" -m "$sc" "$tmp/dir" --method grad --size 640x300 $T
f=$(grep "^file" "$tmp/out")
echo "$f" | sed -n 1p | grep -q "^file 1/3 $tmp/dir/a.wav [a-z]* 0\.[0-9]*$" && ok "a folder: its sound files, sorted, the first opened with its verdict" || bad "folder" "$f"
echo "$f" | sed -n 2p | grep -q "^file 2/3 $tmp/dir/b.wav error: .*b.wav" && ok "a corrupt file: its error" || bad "corrupt" "$f"
echo "$f" | sed -n 3p | grep -q "^file 3/3 $tmp/dir/sub/c.wav " && grep -q "^method grad" "$tmp/out" &&
  ok "the viewer goes on past it (recursive: sub/c.wav)" || bad "goes on" "$f"
echo "$f" | sed -n 4p | grep -q "^file 2/3 .*b.wav error" && ok "N: the previous file" || bad "previous" "$f"
echo "$f" | sed -n 5p | grep -q "^file 4/4 $wav " && ok "a dropped file joins the list and opens" || bad "drop" "$f"
[ "$("$png" colours "$tmp/b6.png")" -gt 20 ] && [ "$("$png" col "$tmp/b6.png" "$tmp/c6.png" 600)" -gt 50 ] &&
  ok "the error is drawn in the window, the list beside it" || bad "error frame" "blank, or no list"
"$es" saliency -m "$sc" "$tmp/dir/sub/c.wav" --method grad --size 640x300 $T --png "$tmp/c6.ref.png" -q
same "next file, list hidden = saliency --png" "$tmp/c6.png" "$tmp/c6.ref.png" 640 300
printf 'path,duration,windows,label,p_max,p_mean,status\nsub/c.wav,4,40,noise,0.31,0.30,ok\n"a.wav",1.1,10,bird,0.90,0.5,ok\n' >"$tmp/dir/summary.csv"
printf 'idle\nprint file\nkey n\nidle\nprint file\n' >"$tmp/s7.txt"
view_script "script: an export's summary.csv" "$tmp/s7.txt" -m "$sc" "$tmp/dir/summary.csv" --method grad --size 640x300
grep -q "^file 1/2 $tmp/dir/a.wav" "$tmp/out" && grep -q "^file 2/2 $tmp/dir/sub/c.wav" "$tmp/out" &&
  ok "summary.csv: its paths, the largest P first" || bad "summary.csv" "$(cat "$tmp/out")"
expect "only corrupt files: exit 1" 1 "b.wav" "$es" view -m "$sc" "$tmp/dir/b.wav" "$tmp/dir/notes.txt" --frames 1

# ---- panes: a layer's activations and filters, the maps and weights verbs' pixels ---------------
cat >"$tmp/s8.txt" <<EOF
idle
key Tab
print pane
screenshot $tmp/act.png
key ]
print pane
key Tab
print pane
screenshot $tmp/filt.png
key [
print pane
key Tab
print pane
key Tab
print pane
EOF
view_script "script: panes and layers" "$tmp/s8.txt" -m "$sc" $wav --size 800x500
pn=$(grep "^pane" "$tmp/out")
echo "$pn" | sed -n 1p | grep -q "^pane activations layer 6/6 /MaxPool_1_output_0: 12 × 5 × 4, window 5" &&
  ok "Tab: activations of Grad-CAM's layer first, name and shape shown" || bad "activations pane" "$pn"
echo "$pn" | sed -n 2p | grep -q "layer 1/6 /conv1/Conv_output_0: 8 × 20 × 16" && ok "]: the next layer (wrapping)" || bad "next layer" "$pn"
echo "$pn" | sed -n 3p | grep -q "^pane filters layer 1/6 .*the filters of /conv1/Conv, 8 × 1 × 3 × 3" && ok "Tab: the layer's filters" || bad "filters" "$pn"
echo "$pn" | sed -n 4p | grep -q "layer 6/6 .*the filters of /conv2/Conv" && ok "[: the previous layer; a pool's filters are the conv's before it" || bad "previous layer" "$pn"
echo "$pn" | sed -n 5p | grep -q "^pane sanity" && echo "$pn" | sed -n 6p | grep -q "^pane saliency" &&
  ok "Tab: the sanity strip, then back to the saliency figure" || bad "panes cycle" "$pn"
"$es" maps -m "$sc" --input $wav --layer /MaxPool_1_output_0 --window 5 --size 800x500 -o "$tmp/act.ref.png"
same "activations pane = earsight maps" "$tmp/act.png" "$tmp/act.ref.png" 800 500
"$es" weights -m "$sc" --layer /conv1/Conv --size 800x500 -o "$tmp/filt.ref.png"
same "filters pane = earsight weights" "$tmp/filt.png" "$tmp/filt.ref.png" 800 500

# ---- the sanity pane: `earsight sanity --png`'s strip, on the worker, slow marked, Esc cancels ----
cat >"$tmp/s9.txt" <<EOF
idle
key Tab
key Tab
key Tab
idle
print pane
screenshot $tmp/san.png
EOF
view_script "script: the sanity pane" "$tmp/s9.txt" -m "$sc" $wav --size 800x500
grep -q "^pane sanity sanity checks of guided, class [0-9]: 3 layers randomised from the top" "$tmp/out" &&
  ok "Tab ×3: the sanity checks of the current method, cascading over 3 layers" || bad "sanity pane" "$(cat "$tmp/out")"
"$es" sanity -m "$sc" --input $wav --method guided --size 800x500 --png "$tmp/san.ref.png" -q
same "sanity pane = earsight sanity --png" "$tmp/san.png" "$tmp/san.ref.png" 800 500
cat >"$tmp/s10.txt" <<EOF
key Tab
key Tab
key Tab
wait 300
print status
screenshot $tmp/san_progress.png
key Escape
idle
print status
key ctrl+q
EOF
start=$(date +%s)
view_script "script: the sanity pane cancelled" "$tmp/s10.txt" -m "$sc" $long --method ig --steps 100000 \
  --ig-method riemann-trapezoid --size 640x300
took=$(( $(date +%s) - start ))
if grep -q "^status sanity checks — slow: 4 maps × 40 windows (Esc cancels)" "$tmp/out" &&
   grep -q "^status sanity checks cancelled" "$tmp/out" && [ "$took" -lt 20 ]; then
  ok "sanity: slow marked before it runs, Esc cancels (${took}s)"
else bad "sanity cancel" "${took}s: $(cat "$tmp/out")"; fi
[ "$("$png" colours "$tmp/san_progress.png" 2>/dev/null || echo 0)" -gt 20 ] && ok "sanity: progress frame drawn" ||
  bad "sanity progress frame" "blank or missing"

# ---- --bench: frame times while scrolling, one line of key=value fields (no threshold here) -----
expect "--bench" 0 "" "$es" view -m "$sc" "$long" --bench --frames 20 --size 640x300
if grep -Eq "^bench frames=20 output=640x340 renderer=[a-z0-9]+ seconds=[0-9.]+ .*wall_median_ms=[0-9.]+ wall_p90_ms=[0-9.]+ .*cpu_ms=[0-9.]+ figure_median_ms=[0-9.]+ .*present_cpu_ms=[0-9.]+ load1=" "$tmp/out"; then
  ok "--bench prints frames, size, renderer, wall median / p90, CPU a frame, the stages"
else bad "--bench fields" "$(cat "$tmp/out")"; fi

# ---- errors: one line, exit 1; usage: exit 2 ---------------------------------------------------
expect "no display" 1 "no display" env -u DISPLAY "$es" view -m $fx/small_cnn.onnx $npy --screenshot "$tmp/x.png"
[ -e "$tmp/x.png" ] && bad "no display leaves nothing" "file written" || ok "no display leaves nothing"
expect "missing input" 1 "$tmp/none.wav" "$es" view -m "$sc" "$tmp/none.wav" --screenshot "$tmp/x.png"
printf 'not a model' >"$tmp/bad.onnx"
expect "bad model" 1 "$tmp/bad.onnx" "$es" view -m "$tmp/bad.onnx" $npy --screenshot "$tmp/x.png"
expect "sound, model without features" 1 "earsight.features" "$es" view -m $fx/small_cnn.onnx $wav
expect "unknown option" 2 "unknown option" "$es" view --frobnicate $npy
expect "unknown method" 2 "unknown method" "$es" view -m $fx/small_cnn.onnx $npy --method magic
expect "bad --size" 2 "--size" "$es" view -m $fx/small_cnn.onnx $npy --size 10x
expect "bad --keys" 2 "--keys" "$es" view -m $fx/small_cnn.onnx $npy --keys "mx"
expect "no input" 2 "no input" "$es" view -m $fx/small_cnn.onnx
expect "help view" 0 "usage: earsight view" "$es" help view
expect "view --help" 0 "shift+p" "$es" view --help

finish
