#!/usr/bin/env bash
# Clips per second of `earsight export --method guided,gradcam` (spectrogram + guided backprop +
# Grad-CAM pictures of every clip) over BENCH_CLIPS (100) clips — the examples, cycled —
# against the same in Python (bench/peer_export.py: torchaudio, PyTorch, matplotlib) in the
# same run when python3-torch, torchaudio, onnx and matplotlib are installed
# (scripts/deps.sh --peers). Both on 2 cores: earsight as -j 2 (two processes, one thread
# each; BENCH_THREADS=1 adds one process of 2 threads), PyTorch with 2 threads.
set -u
b=${1:-build}
n=${BENCH_CLIPS:-100}
model=assets/models/bird-detector.onnx
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/in"
i=0
while [ $i -lt "$n" ]; do
  for f in assets/examples/*.ogg; do
    [ $i -lt "$n" ] && ln -s "$PWD/$f" "$dir/in/c$(printf %03d $i)-$(basename "$f")"
    i=$((i + 1))
  done
done
now() { date +%s.%N; }
rate() { awk -v n="$n" -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", n / (b - a) }'; }

t0=$(now); OMP_NUM_THREADS=1 "$b/earsight" export "$dir/in" -o "$dir/j2" -m $model -j 2 -q; t1=$(now)
j2=$(rate "$t0" "$t1")
echo "export, $n clips (spectrogram + guided + Grad-CAM PNGs):"
echo "  earsight -j 2 (2 processes, 1 thread each)              $j2 clips/s"
if [ -n "${BENCH_THREADS:-}" ]; then # one process on OpenMP's threads (slow on a busy machine)
  t0=$(now); OMP_NUM_THREADS=2 "$b/earsight" export "$dir/in" -o "$dir/t2" -m $model -q; t1=$(now)
  echo "  earsight (1 process, 2 threads)                         $(rate "$t0" "$t1") clips/s"
fi
if /usr/bin/python3 -c 'import torch, torchaudio, onnx, matplotlib' 2>/dev/null; then
  out=$(OMP_NUM_THREADS=2 /usr/bin/python3 bench/peer_export.py $model "$dir/py" "$dir"/in/*)
  s=$(echo "$out" | awk '{ print $4 }')
  py=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.2f", n / s }')
  echo "  Python (torchaudio + PyTorch + matplotlib, 2 threads)  $py clips/s"
  awk -v a="$j2" -v p="$py" 'BEGIN { printf "  ratio: earsight -j 2 is %.1f× the Python pipeline\n", a / p }'
else
  echo "  (the Python peer is not installed: scripts/deps.sh --peers)"
fi
