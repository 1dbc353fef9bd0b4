#!/usr/bin/env bash
# make bench, the models: `earsight bench` on ONNX files against ONNX Runtime (bench/peer_ort.js:
# onnxruntime-node, installed by `scripts/deps.sh --peers` into bench/node_modules) and PyTorch
# (bench/peer_models.py) in the same run — the same model file, the same input (.npy), the same
# threads; medians. A peer that is not installed is skipped with a line saying so.
#   BAD DenseNet  the shipped detector (1x1x64x40) and the reference fixture (1x1x200x56):
#                 forward, forward + backward to the input, a training step (batch 32), the
#                 first call from process start, peak RSS and the arena
#   backbones     ResNet-18, MobileNet-V2, CNN14 (bench/backbones.py exports them once into
#                 $b/bench/backbones, needs torch and torchvision): forward, + backward
#   300 MB model  loading (bench/make_big_model.py writes it once into $b/bench/, needs torch)
# BENCH_THREADS (2) and BENCH_RUNS (9: a 2-core machine shared with others takes minutes a
# model) change the defaults.
set -u
b=${1:-build}
es=$b/earsight j=${BENCH_THREADS:-2} runs=${BENCH_RUNS:-9}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=$j

ort=""; torch=""
if ! command -v node >/dev/null; then echo "(ONNX Runtime: no node; scripts/deps.sh --peers)"
elif [ ! -d bench/node_modules/onnxruntime-node ]; then
  echo "(ONNX Runtime: not installed; scripts/deps.sh --peers puts it into bench/node_modules)"
else ort=1; fi
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then torch=1
else echo "(PyTorch: not installed; scripts/deps.sh --peers)"; fi

# get KEY FILE — a number from earsight's --json line or from a peer's "name ms" lines
get() { grep -o "\"$1\":[-0-9.e+]*" "$2" 2>/dev/null | cut -d: -f2 || true; }
peer() { awk -v k="$1" '$1 == k {print $2}' "$2" 2>/dev/null; }
# row WHAT OURS [PEER-NAME PEER-MS]… — ratio peer / earsight: above 1, earsight is faster
row() {
  local what=$1 ours=$2; shift 2
  printf "  %-30s earsight %9.2f ms" "$what" "$ours"
  while [ $# -ge 2 ]; do
    [ -n "$2" ] && printf "   %-19s %9.2f ms  ratio %5.2fx" "$1" "$2" "$(awk -v p="$2" -v o="$ours" 'BEGIN {print p / o}')"
    shift 2
  done
  printf "\n"
}

# make_input OUT.npy D0 D1 … — one input every side reads (prints "--input OUT.npy"), or
# nothing when no peer can write it (earsight then draws its own)
make_input() {
  local out=$1; shift
  if [ -n "$ort" ]; then node bench/peer_ort.js --make-input "$out" "$@"
  elif [ -n "$torch" ]; then
    /usr/bin/python3 -c "import sys, numpy as np; np.save(sys.argv[1], np.random.default_rng(0)
      .uniform(-1, 1, [int(d) for d in sys.argv[2:]]).astype(np.float32))" "$out" "$@"
  else return; fi && echo "--input $out"
}

# forward_rows MODEL RUNS IN TORCH-CMD… — earsight forward and forward + backward, ONNX
# Runtime forward, PyTorch (TORCH-CMD prints forward and grad) both; the memory they took
forward_rows() {
  local model=$1 n=$2 in=$3; shift 3
  "$es" bench -m "$model" $in --runs "$n" -j "$j" --json >"$tmp/fwd" &&
    "$es" bench -m "$model" $in --method grad --runs "$n" -j "$j" --json >"$tmp/grad" ||
    { echo "  earsight bench failed"; return 1; }
  rm -f "$tmp/ort" "$tmp/torch"
  [ -n "$ort" ] && [ -n "$in" ] && node bench/peer_ort.js "$model" "${in#--input }" "$j" "$n" >"$tmp/ort"
  [ -n "$torch" ] && [ -n "$in" ] && "$@" >"$tmp/torch"
  row "forward" "$(get median_ms "$tmp/fwd")" "ONNX Runtime" "$(peer forward "$tmp/ort")" \
    PyTorch "$(peer forward "$tmp/torch")"
  row "first call from process start" "$(get first_ms "$tmp/fwd")" "ONNX Runtime (node)" "$(peer first "$tmp/ort")"
  row "forward + backward to input" "$(get median_ms "$tmp/grad")" PyTorch "$(peer grad "$tmp/torch")"
  printf "  %-30s forward %.1f MB peak RSS, %.1f MB arena; + backward %.1f MB, %.1f MB\n" "memory" \
    "$(get peak_rss_mb "$tmp/fwd")" "$(get arena_mb "$tmp/fwd")" "$(get peak_rss_mb "$tmp/grad")" \
    "$(get arena_mb "$tmp/grad")"
}

# predict_row MODEL IN — the whole `earsight predict` process (exec to exit, median of 5) and its
# peak RSS, against the warm forward forward_rows measured
predict_row() {
  [ -n "$2" ] && [ -x /usr/bin/time ] || return 0
  local i t0 t1 ms=""
  for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$tmp/rss.$i" "$es" predict -m "$1" "${2#--input }" -j "$j" >/dev/null 2>&1 || return 0
    t1=$(date +%s%N); ms="$ms $(( (t1 - t0) / 1000 ))"
  done
  local med rss warm; med=$(echo $ms | tr ' ' '\n' | sort -n | awk '{v[NR] = $1} END {print v[3] / 1000}')
  rss=$(cat "$tmp"/rss.* | sort -n | tail -1); warm=$(get median_ms "$tmp/fwd")
  printf "  %-30s %.1f ms whole process = warm forward + %.1f ms; %.1f MB peak RSS\n" "earsight predict" \
    "$med" "$(awk -v a="$med" -v b="$warm" 'BEGIN {print a - b}')" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
}

# densenet NAME MODEL D0 D1 D2 D3
densenet() {
  local name=$1 model=$2; shift 2
  local in; in=$(make_input "$tmp/x.npy" "$@")
  echo "$name, input $(echo "$@" | tr ' ' x) ($j thread(s), medians; ratio = peer / earsight)"
  forward_rows "$model" "$runs" "$in" /usr/bin/python3 bench/peer_models.py "$tmp/x.npy" "$runs" || return
  predict_row "$model" "$in"
  "$es" bench -m "$model" $in --method train --batch 32 --runs $((runs / 4 + 1)) -j "$j" --json >"$tmp/train"
  row "training step, batch 32" "$(get median_ms "$tmp/train")" PyTorch "$(peer train32 "$tmp/torch")"
}

densenet "BAD DenseNet, the shipped detector" assets/models/bird-detector.onnx 1 1 64 40
densenet "BAD DenseNet, the reference" tests/fixtures/onnx/bad_densenet.onnx 1 1 200 56

# ResNet-18, MobileNet-V2, CNN14 (bench/backbones.py, exported once into $b/bench/backbones)
bb=$b/bench/backbones
if [ -n "$torch" ] && /usr/bin/python3 -c 'import torchvision' 2>/dev/null; then
  [ -s "$bb/cnn14.onnx" ] || /usr/bin/python3 bench/backbones.py export "$bb" >/dev/null 2>&1 ||
    echo "(backbones: the export failed)"
  in=$(make_input "$tmp/bb.npy" 1 1 64 200)
  for name in resnet18 mobilenet_v2 cnn14; do
    [ -s "$bb/$name.onnx" ] || continue
    echo "$name ($(( $(stat -c %s "$bb/$name.onnx") / 1048576 )) MB), input 1x1x64x200 ($j thread(s), medians)"
    forward_rows "$bb/$name.onnx" $((runs / 4 + 1)) "$in" \
      /usr/bin/python3 bench/backbones.py time "$name" "$tmp/bb.npy" $((runs / 4 + 1))
  done
else
  echo "(backbones ResNet-18, MobileNet-V2, CNN14: need PyTorch and torchvision, scripts/deps.sh --peers)"
fi

big=$b/bench/big.onnx
if [ ! -s "$big" ] && [ -n "$torch" ]; then
  mkdir -p "$b/bench" && /usr/bin/python3 bench/make_big_model.py "$big" >/dev/null 2>&1 || rm -f "$big"
fi
if [ -s "$big" ]; then
  mb=$(( $(stat -c %s "$big") / 1048576 ))
  echo "a ${mb} MB model (bench/make_big_model.py: VGG-like, 74 M parameters), loading"
  in=$(make_input "$tmp/big.npy" 1 1 64 200)
  "$es" bench -m "$big" $in --runs 3 -j "$j" --json >"$tmp/big" || echo "  earsight bench failed"
  rm -f "$tmp/ort"
  [ -n "$ort" ] && node bench/peer_ort.js "$big" "$tmp/big.npy" "$j" 3 >"$tmp/ort"
  row "load" "$(get load_ms "$tmp/big")" "ONNX Runtime" "$(peer load "$tmp/ort")"
  row "first call from process start" "$(get first_ms "$tmp/big")" "ONNX Runtime (node)" "$(peer first "$tmp/ort")"
  printf "  %-30s %.1f MB\n" "peak RSS" "$(get peak_rss_mb "$tmp/big")"
else
  echo "(a 300 MB model for loading: needs PyTorch to make it, bench/make_big_model.py)"
fi
