#!/usr/bin/env bash
# earsight maps and weights from the command line: pictures of the requested size, tEXt
# naming the layer, and the bad requests of the rendering issue — unknown layer, a layer
# without spatial maps, a layer without weights, an unwritable path, size 0 — each one line
# on stderr, exit 1 (2 for usage), and no PNG left behind. Prints cmocka-style lines.
source tests/clitest.sh
fx=tests/fixtures/onnx

# draws NAME W H OUT cmd…: exit 0, a PNG of W x H with the model in its tEXt
draws() {
  local name=$1 w=$2 h=$3 out=$4; shift 4
  "$@" 2>"$tmp/err" || { bad "$name" "exit $?: $(head -1 "$tmp/err")"; return; }
  [ "$(png_size "$out")" = "$w $h" ] || { bad "$name" "size $(png_size "$out"), wanted $w $h"; return; }
  grep -q "layer" "$out" || { bad "$name" "no tEXt layer chunk"; return; }
  ok "$name"
}
# refuses NAME STATUS PATTERN OUT cmd…: that exit status, one stderr line with PATTERN, no OUT
refuses() {
  local name=$1 want=$2 pat=$3 out=$4; shift 4
  "$@" >/dev/null 2>"$tmp/err"; local rc=$?
  [ "$rc" = "$want" ] || { bad "$name" "exit $rc, wanted $want: $(head -1 "$tmp/err")"; return; }
  [ "$(wc -l <"$tmp/err")" = 1 ] || { bad "$name" "stderr not one line: $(cat "$tmp/err")"; return; }
  grep -q -- "$pat" "$tmp/err" || { bad "$name" "'$(cat "$tmp/err")' lacks '$pat'"; return; }
  [ ! -e "$out" ] && [ -z "$(ls "$(dirname "$out")" 2>/dev/null | grep '\.tmp\.')" ] || { bad "$name" "left a file"; return; }
  ok "$name"
}

m=$fx/small_cnn.onnx x=$fx/small_cnn.input.npy
draws "maps default layer" 1200 900 "$tmp/a.png" "$es" maps -m $m --input $x -o "$tmp/a.png"
draws "maps named node, sorted, size" 640 480 "$tmp/b.png" \
  "$es" maps -m $m --input $x --layer /conv1/Conv --sort --size 640x480 --cmap magma -o "$tmp/b.png"
draws "maps 1-D model" 800 600 "$tmp/c.png" \
  "$es" maps -m $fx/audio1d.onnx --input $fx/audio1d.input.npy --size 800x600 -o "$tmp/c.png"
draws "weights first conv" 1200 900 "$tmp/d.png" "$es" weights -m $fx/bad_densenet.onnx -o "$tmp/d.png"
draws "weights dense" 900 500 "$tmp/e.png" "$es" weights -m $m --layer /fc/Gemm --size 900x500 -o "$tmp/e.png"
draws "weights by weight tensor, mean over inputs" 700 700 "$tmp/f.png" \
  "$es" weights -m $m --layer onnx::Conv_37 --mean-inputs --size 700x700 -o "$tmp/f.png"

refuses "maps unknown layer" 1 "nope" "$tmp/x.png" "$es" maps -m $m --input $x --layer nope -o "$tmp/x.png"
refuses "maps layer without spatial maps" 1 "no spatial maps" "$tmp/x.png" \
  "$es" maps -m $m --input $x --layer output -o "$tmp/x.png"
refuses "maps wrong input shape" 1 "small_cnn" "$tmp/x.png" \
  "$es" maps -m $m --input $fx/captum_one_conv.input.npy -o "$tmp/x.png"
refuses "maps size 0" 2 "size" "$tmp/x.png" "$es" maps -m $m --input $x --size 0x0 -o "$tmp/x.png"
refuses "maps unwritable path" 1 "no/such/dir" "$tmp/no/such/dir/x.png" \
  "$es" maps -m $m --input $x -o "$tmp/no/such/dir/x.png"
refuses "maps needs -o" 2 "required" "$tmp/x.png" "$es" maps -m $m --input $x
refuses "weights layer without weights" 1 "no weights" "$tmp/x.png" \
  "$es" weights -m $m --layer /Relu -o "$tmp/x.png"
refuses "weights unknown layer" 1 "no layer named" "$tmp/x.png" "$es" weights -m $m --layer zz -o "$tmp/x.png"
refuses "weights missing model" 1 "missing.onnx" "$tmp/x.png" "$es" weights -m "$tmp/missing.onnx" -o "$tmp/x.png"
refuses "weights unknown cmap" 2 "colour map" "$tmp/x.png" "$es" weights -m $m --cmap nope -o "$tmp/x.png"

summary
