#!/usr/bin/env bash
# One rule for the axes of features: the same mel, Kaldi and MFCC features give the same axes
# in `plot` (features from flags), `maps` and `saliency --png` (features from the model's
# metadata). Each PNG carries its axes in a tEXt "axes" chunk ("x LABEL SCALE LO HI; y …");
# maps draws window 0 of the sound, so its x axis starts where the others start.
source tests/clitest.sh
fx=tests/fixtures/onnx
snd=$fx/chirp.wav

# png_text FILE KEY — the value of the tEXt chunk KEY
png_text() {
  local f=$1 key=$2 off=8 size len type data
  size=$(stat -c %s "$f")
  while [ "$off" -lt "$size" ]; do
    len=$(od -An -v -t u1 -j "$off" -N 4 "$f" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
    type=$(dd if="$f" iflag=skip_bytes,count_bytes skip=$((off + 4)) count=4 2>/dev/null)
    if [ "$type" = tEXt ]; then
      data=$(dd if="$f" iflag=skip_bytes,count_bytes skip=$((off + 8)) count="$len" 2>/dev/null | tr '\0' '\t')
      case $data in "$key"$'\t'*) printf '%s\n' "${data#*$'\t'}"; return 0 ;; esac
    fi
    off=$((off + 12 + len))
  done
  return 1
}

# same_axes NAME FEATURES_JSON PLOT_FLAGS… — the three verbs agree
same_axes() {
  local name=$1 json=$2; shift 2
  "$es" annotate -m $fx/small_cnn.onnx --features "$json" -o "$tmp/$name.onnx" -q &&
    "$es" plot "$snd" -o "$tmp/$name-plot.png" -q "$@" &&
    "$es" maps -m "$tmp/$name.onnx" --input "$snd" -o "$tmp/$name-maps.png" --size 600x400 &&
    "$es" saliency -m "$tmp/$name.onnx" --input "$snd" --method grad --png "$tmp/$name-sal.png" -q \
    2>"$tmp/err" || { bad "$name: the verbs ran" "$(head -1 "$tmp/err")"; return; }
  local p m s
  p=$(png_text "$tmp/$name-plot.png" axes) m=$(png_text "$tmp/$name-maps.png" axes) \
    s=$(png_text "$tmp/$name-sal.png" axes)
  [ -n "$p" ] && [ -n "$m" ] && [ -n "$s" ] || { bad "$name: axes chunks" "'$p' '$m' '$s'"; return; }
  [ "${p#*; }" = "${s#*; }" ] && [ "${p#*; }" = "${m#*; }" ] ||
    { bad "$name: frequency axes" "plot '${p#*; }', maps '${m#*; }', saliency '${s#*; }'"; return; }
  [ "${p%%; *}" = "${s%%; *}" ] || { bad "$name: time axes" "plot '${p%%; *}', saliency '${s%%; *}'"; return; }
  # x LABEL… SCALE LO HI: maps' window 0 starts where the sound starts
  local plo mlo
  plo=$(echo "${p%%; *}" | awk '{print $(NF-1)}') mlo=$(echo "${m%%; *}" | awk '{print $(NF-1)}')
  [ "$plo" = "$mlo" ] || { bad "$name: maps' time axis" "starts at $mlo, plot's at $plo"; return; }
  echo "$p" >"$tmp/$name.axes"
  ok "$name: plot, maps and saliency --png agree ($p)"
}

common='"sample_rate": 8000, "n_fft": 256, "hop_length": 100, "f_min": 0, "f_max": 4000, "mel_scale": "htk", "mel_norm": "none", "frames": 16'
flags="--sr 8000 --n-fft 256 --hop 100 --fmin 0 --fmax 4000 --mel-scale htk --mel-norm none"
same_axes mel "{$common, \"n_mels\": 20}" $flags --mels 20
same_axes mfcc "{$common, \"n_mels\": 40, \"n_mfcc\": 20}" $flags --mels 40 --mfcc 20
same_axes kaldi '{"preset": "kaldi_fbank", "sample_rate": 8000, "n_fft": 256, "win_length": 200, "hop_length": 80, "center": false, "n_mels": 20, "f_min": 20, "f_max": 0, "mel_norm": "none", "log": "ln", "top_db": 0, "frames": 16}' \
  --kaldi --sr 8000 --mels 20

# the rule itself: frame t centred at t·hop (center) or t·hop + win/2 (Kaldi: 200 samples,
# hop 80), bands on the HTK mel scale, MFCCs by index
grep -q '^x Time (s) linear -0.00625 ' "$tmp/mel.axes" && grep -q 'y Frequency (Hz) mel-htk' "$tmp/mel.axes" &&
  ok "mel: frame 0 centred on 0 s" || bad "mel axes" "$(cat "$tmp/mel.axes" 2>/dev/null)"
grep -q '^x Time (s) linear 0.0075 ' "$tmp/kaldi.axes" && grep -q 'y Frequency (Hz) mel-htk' "$tmp/kaldi.axes" &&
  ok "kaldi: frame 0 centred on 12.5 ms, HTK mels" || bad "kaldi axes" "$(cat "$tmp/kaldi.axes" 2>/dev/null)"
grep -q 'y MFCC linear -0.5 19.5$' "$tmp/mfcc.axes" &&
  ok "mfcc: coefficient index" || bad "mfcc axes" "$(cat "$tmp/mfcc.axes" 2>/dev/null)"

summary
