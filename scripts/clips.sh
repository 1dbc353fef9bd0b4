#!/usr/bin/env bash
# Prints the folder of the bird detector's training clips: Debian's tuxpaint-stamps-default
# stamps (GPL-2), as installed in /usr/share/tuxpaint/stamps, or else fetched with
# `apt-get download` and unpacked (Ogg files only) under DEST (default build/data/tuxpaint).
# Every clip that assets/data/labels.csv lists is checked against assets/data/SHA256SUMS, so
# `make model` trains on exactly the shipped model's data. Idempotent; needs no root.
set -eu
dest=${1:-build/data/tuxpaint}
here=$(cd "$(dirname "$0")/.." && pwd)
check() { (cd "$1" && sha256sum --quiet -c "$here/assets/data/SHA256SUMS") >&2; }
sys=/usr/share/tuxpaint/stamps
if [ -f "$sys/animals/birds/blackbird.ogg" ] && check "$sys" 2>/dev/null; then
  echo "$sys"; exit 0
fi
root="$dest/usr/share/tuxpaint/stamps"
if ! [ -f "$root/animals/birds/blackbird.ogg" ]; then
  mkdir -p "$dest"
  echo "clips: fetching Debian's tuxpaint-stamps-default (161 MB) into $dest" >&2
  (cd "$dest" && apt-get download -q tuxpaint-stamps-default >&2)
  dpkg-deb --fsys-tarfile "$dest"/tuxpaint-stamps-default_*_all.deb | tar -x -C "$dest" --wildcards '*.ogg'
  rm -f "$dest"/tuxpaint-stamps-default_*_all.deb
fi
check "$root" || { echo "clips: $root differs from assets/data/SHA256SUMS (another package version?)" >&2; exit 1; }
echo "$root"
