#!/usr/bin/env bash
# make bench: runs every build/bench/* program (each prints its own medians and, when the
# peer is installed, the peer's medians and the ratio), then `earsight bench` on ONNX models
# against ONNX Runtime and PyTorch (bench/models.sh), in one run on this machine.
set -u
b=${1:-build}
for p in "$b"/bench/*; do
  [ -f "$p" ] && [ -x "$p" ] || continue  # not the models bench/models.sh keeps there
  "$p" || echo "bench: $(basename "$p") failed"
done
bench/models.sh "$b" || echo "bench: models.sh failed"
# export's clips per second against the Python pipeline (bench/export.sh)
bench/export.sh "$b" || echo "bench: export.sh failed"
