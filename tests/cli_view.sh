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
cat >"$tmp/png.c" <<'EOF'
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
${CC:-cc} -O1 -o "$png" "$tmp/png.c" $(pkg-config --cflags --libs libpng) 2>"$tmp/cc.err" ||
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
view_vs "key o: masked" "--keys o $T" "--method grad --overlay masked $T" $wav "$sc" 800 360
view_vs "keys o o: alpha" "--keys oo $T" "--method grad --overlay alpha $T" $wav "$sc" 800 360
view_vs "keys s s s: all signs, heat" "--overlay heat --keys sss $T" \
  "--method grad --overlay heat --sign all $T" $wav "$sc" 800 360
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
