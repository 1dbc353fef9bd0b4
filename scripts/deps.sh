#!/usr/bin/env bash
# Installs every Debian package that earsight's build, tests and demo need. Idempotent.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --peers  also the peers `make bench` and the fixture scripts compare with
#                            (python3-torch, torchaudio, torchvision, onnx, matplotlib; Node.js
#                            and npm's onnxruntime-node, into bench/node_modules — never committed;
#                            GNU time, for the peak RSS of whole processes)
#   scripts/deps.sh --docs   also headless Chromium, for the README's screenshot of a gallery
set -eu
pkgs="build-essential pkg-config
  libopenblas-openmp-dev libfftw3-dev libsndfile1-dev libsoxr-dev
  libpng-dev libisal-dev libsdl2-dev libfreetype-dev libfontconfig-dev fonts-dejavu-core
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcjson-dev libcmocka-dev
  xvfb xauth lame valgrind
  clang libclang-rt-14-dev libomp-14-dev"
peers="python3-numpy python3-torch python3-torchaudio python3-torchvision python3-onnx python3-matplotlib
  nodejs time"
[ "${1:-}" = "--peers" ] && pkgs="$pkgs $peers"
# Debian's nodejs comes without npm (its own package); NodeSource's brings it along
[ "${1:-}" = "--peers" ] && ! command -v npm >/dev/null && pkgs="$pkgs npm"
[ "${1:-}" = "--docs" ] && pkgs="$pkgs chromium"
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
# ONNX Runtime for `make bench` (DESIGN.md §7): its install script downloads what the package
# already holds (the CPU library), so it does not run
ort=onnxruntime-node@1.30.0
if [ "${1:-}" = "--peers" ] && [ ! -d "$(dirname "$0")/../bench/node_modules/onnxruntime-node" ]; then
  echo "deps: npm install $ort into bench/node_modules"
  npm install --prefix "$(dirname "$0")/../bench" --ignore-scripts --no-save --no-package-lock \
    --no-audit --no-fund -q "$ort" >/dev/null
fi
