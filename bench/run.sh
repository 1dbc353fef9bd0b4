#!/usr/bin/env bash
# make bench: runs every build/bench/* program (each prints its own medians and, when the
# peer is installed, the peer's medians and the ratio), in one run on this machine.
set -u
b=${1:-build}
for p in "$b"/bench/*; do
  [ -x "$p" ] || continue
  "$p" || echo "bench: $(basename "$p") failed"
done
# export's clips per second against the Python pipeline (bench/export.sh)
bench/export.sh "$b" || echo "bench: export.sh failed"
