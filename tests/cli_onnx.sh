#!/usr/bin/env bash
# The model verbs from the command line: info, predict (.npy and sound), annotate, and their
# errors — exit status 1 with one line `earsight: FILE: reason` for bad files, 2 for bad usage,
# no output file left behind. Run from the repository root; the binary is $EARSIGHT_BIN
# (default build/earsight). Prints cmocka-style summary lines for tests/run.sh.
source tests/clitest.sh
fx=tests/fixtures/onnx

# The float32 values of a .npy (its last N·4 bytes) one per line.
npy_values() { tail -c "$(($2 * 4))" "$1" | od -An -v -t f4 | tr -s ' ' '\n' | sed '/^$/d'; }

# close NAME GOT.npy WANT.npy N TOL — max |got − want| / max |want| <= TOL
close() {
  if [ ! -s "$2" ]; then bad "$1" "no output written"; return; fi
  local e
  e=$(paste <(npy_values "$2" "$4") <(npy_values "$3" "$4") |
      awk '{d = $1 - $2; if (d < 0) d = -d; if (d > e) e = d; m2 = $2 < 0 ? -$2 : $2; if (m2 > m) m = m2}
           END {printf "%.3g", (m > 0 ? e / m : e)}')
  if awk -v e="$e" -v t="$5" 'BEGIN {exit !(e <= t)}'; then ok "$1 (rel err $e)"; else bad "$1" "rel err $e > $5"; fi
}

# npy_shaped SRC DST "1, 4, 4" N — SRC's N float32 values under another shape (a .npy 1.0 header
# padded to a multiple of 64 bytes), to feed an input without its batch dim.
npy_shaped() {
  local dict="{'descr': '<f4', 'fortran_order': False, 'shape': ($3), }"
  local pad=$(((10 + ${#dict} + 1 + 63) / 64 * 64 - 10 - ${#dict} - 1))
  { printf '\x93NUMPY\x01\x00'; printf "\\$(printf %03o $((${#dict} + pad + 1)))\\000"; printf '%s' "$dict";
    printf '%*s' $pad ''; printf '\n'; tail -c $(($4 * 4)) "$1"; } >"$2"
}

[ -x "$es" ] || { echo "no binary $es"; echo "[  FAILED  ] 1 test(s)"; exit 1; }

# ---- predict ------------------------------------------------------------------------------
expect "predict captum --json" 0 '"values":\[54,54,54,54\]' \
  "$es" predict -m $fx/captum_one_conv.onnx --input $fx/captum_one_conv.input.npy --json
expect "predict writes .npy" 0 "" \
  "$es" predict -m $fx/bad_densenet.onnx --input $fx/bad_densenet.input.npy -o "$tmp/dense.npy"
close "predict densenet vs PyTorch" "$tmp/dense.npy" $fx/bad_densenet.output.npy 2 1e-4
"$es" predict -m $fx/pad_resnet.onnx -i $fx/pad_resnet.input.npy -o "$tmp/pr.npy" -q -j 1
close "predict pad_resnet, 1 thread" "$tmp/pr.npy" $fx/pad_resnet.output.npy 4 1e-4
npy_shaped $fx/captum_one_conv.input.npy "$tmp/nobatch.npy" "1, 4, 4" 16
expect "input without batch: output without" 0 '"shape":\[4\],"values":\[54,54,54,54\]' \
  "$es" predict -m $fx/captum_one_conv.onnx "$tmp/nobatch.npy" --json

# ---- annotate, then a sound through the model's features ----------------------------------
expect "annotate" 0 "features and labels" \
  "$es" annotate -m $fx/small_cnn.onnx --features $fx/small_cnn.features.json \
  --labels bird,frog,noise -o "$tmp/sc.onnx"
expect "info shows metadata" 0 '"labels":\["bird","frog","noise"\]' "$es" info -m "$tmp/sc.onnx" --json
expect "predict a sound" 0 '"label":"bird"' "$es" predict -m "$tmp/sc.onnx" $fx/chirp.wav --json
"$es" predict -m "$tmp/sc.onnx" --input $fx/chirp.wav -o "$tmp/chirp.npy"
close "sound vs torchaudio + PyTorch" "$tmp/chirp.npy" $fx/small_cnn.chirp_output.npy 18 1e-4
expect "annotate in place, JSON labels" 0 "" \
  "$es" annotate -m "$tmp/sc.onnx" --labels '["a,1","b","c"]' -o "$tmp/sc.onnx" -q
expect "labels replaced" 0 '"labels":\["a,1","b","c"\]' "$es" info "$tmp/sc.onnx" --json

# ---- info ---------------------------------------------------------------------------------
expect "info densenet parameters" 0 '"parameters":328004' "$es" info -m $fx/bad_densenet.onnx --json
expect "info text" 0 "parameters  328,004" "$es" info -m $fx/bad_densenet.onnx

# ---- runtime errors: exit 1, one line naming the file ---------------------------------------
expect "wrong input shape" 1 "pad_resnet.input.npy: an array of shape .* does not fit the model's input (1,1,4,4) (.*captum_one_conv.onnx" \
  "$es" predict -m $fx/captum_one_conv.onnx --input $fx/pad_resnet.input.npy -o "$tmp/never.npy"
[ -e "$tmp/never.npy" ] && bad "no output on failure" "file written" || ok "no output on failure"
expect "missing model" 1 "$tmp/none.onnx: cannot open" \
  "$es" predict -m "$tmp/none.onnx" --input $fx/captum_one_conv.input.npy
head -c 700000 $fx/bad_densenet.onnx >"$tmp/cut.onnx"
expect "truncated model" 1 "$tmp/cut.onnx: not an ONNX model" "$es" info -m "$tmp/cut.onnx"
printf 'not a model at all' >"$tmp/text.onnx"
expect "corrupt model" 1 "$tmp/text.onnx: " "$es" info -m "$tmp/text.onnx"
expect "unsupported operator" 1 "elu.onnx: unsupported operator Elu (node /Elu)" \
  "$es" info -m $fx/elu.onnx
expect "missing input file" 1 "$tmp/none.npy" \
  "$es" predict -m $fx/captum_one_conv.onnx --input "$tmp/none.npy"
expect "sound without features" 1 "captum_one_conv.onnx: the model has no earsight.features" \
  "$es" predict -m $fx/captum_one_conv.onnx --input $fx/chirp.wav
expect "labels do not fit" 1 "3 labels for an output of 4 values" \
  "$es" annotate -m $fx/captum_one_conv.onnx --labels a,b,c -o "$tmp/x.onnx"
expect "annotate a broken model" 1 "$tmp/cut.onnx" \
  "$es" annotate -m "$tmp/cut.onnx" --labels a,b -o "$tmp/x.onnx"
[ -e "$tmp/x.onnx" ] && bad "annotate leaves nothing on failure" "file written" || ok "annotate leaves nothing on failure"

# ---- usage errors: exit 2 -------------------------------------------------------------------
expect "predict without input" 2 "no input" "$es" predict -m $fx/captum_one_conv.onnx
expect "unknown option" 2 "unknown option" "$es" predict --frobnicate
expect "annotate without -o" 2 "no output" "$es" annotate -m $fx/captum_one_conv.onnx --labels a
expect "annotate, nothing to attach" 2 "nothing to attach" \
  "$es" annotate -m $fx/captum_one_conv.onnx -o "$tmp/x.onnx"
expect "bad features JSON" 2 "features" \
  "$es" annotate -m $fx/small_cnn.onnx --features '{"n_mels": "many"}' -o "$tmp/x.onnx"
expect "help predict" 0 "usage: earsight predict" "$es" help predict
expect "info --help" 0 "usage: earsight info" "$es" info --help

# ---- several outputs: ONNX's first by default, --model-output to choose (issue 13) ---------
sn=$fx/score_net.op13.onnx
expect "first ONNX output predicted" 0 '"output":"logprob","shape":\[1,3,8\]' \
  "$es" predict -m $sn $fx/score_net.input.npy --json
expect "--model-output chooses" 0 '"output":"embedding","shape":\[1,6\]' \
  "$es" predict -m $sn --model-output embedding $fx/score_net.input.npy --json
expect "--model-output unknown" 1 "no output 'nope' (its outputs: logprob, embedding)" \
  "$es" predict -m $sn --model-output nope $fx/score_net.input.npy
expect "saliency --model-output" 0 "" "$es" saliency -q -m $sn --model-output embedding --method grad \
  --target 1 -o "$tmp/emb.npy" $fx/score_net.input.npy
"$es" info -m $sn | awk '/^output/ {printf "%s ", $2}' >"$tmp/outs"
[ "$(cat "$tmp/outs")" = "logprob embedding " ] && ok "info lists outputs in ONNX order" ||
  bad "info lists outputs in ONNX order" "$(cat "$tmp/outs")"

expect "info: the chosen output first" 0 "output      embedding (1, 6) (predicted and explained" \
  "$es" info -m $sn --model-output embedding
expect "info says why the Grad-CAM layer" 0 \
  "gradcam     /Relu_1_output_0: the last map with a time or space axis, before they end at /AveragePool (AveragePool)" \
  "$es" info -m $fx/m5_net.onnx

# ---- guided / deconvnet: nn.ReLU modules only (Captum's), --relu-rule all: every ReLU -------
rm=$fx/relu_mix
for m in guided deconvnet; do
  "$es" saliency -q -m $rm.onnx --method $m --target 1 -o "$tmp/$m.npy" $rm.input.npy
  close "saliency --method $m: the rule on nn.ReLU modules, as Captum" "$tmp/$m.npy" $rm.$m.npy 60 1e-5
  "$es" saliency -q -m $rm.onnx --relu-rule all --method $m --target 1 -o "$tmp/$m.all.npy" $rm.input.npy
  close "saliency --relu-rule all --method $m: the rule on every ReLU" "$tmp/$m.all.npy" $rm.${m}_all.npy 60 1e-5
done
expect "--relu-rule unknown" 2 "takes modules" \
  "$es" saliency -m $rm.onnx --relu-rule some --method guided -o "$tmp/x.npy" $rm.input.npy

summary
