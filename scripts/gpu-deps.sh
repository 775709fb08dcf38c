#!/usr/bin/env bash
# Prepares a build on a GPU machine that has no network: downloads here (with network) the
# Debian packages that machine lacks (toml++, CLI11) and unpacks them into .deps/, which the GPU
# machine finds with -DCMAKE_PREFIX_PATH=.deps/usr (scripts/gpu-test.sh does that).
# Usage: scripts/gpu-deps.sh [DEST]   (default: .deps in the repository; git ignores it)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/.deps}
packages=${GPUMEM_GPU_DEPS:-"libtomlplusplus-dev libtomlplusplus3 libcli11-dev"}
mkdir -p "$dest/debs"
dest=$(cd "$dest" && pwd)
(cd "$dest/debs" && { apt-get download $packages >/dev/null 2>&1 || { apt-get update -qq && apt-get download $packages; }; })
for deb in "$dest"/debs/*.deb; do dpkg -x "$deb" "$dest"; done
echo "gpumem: unpacked $packages into $dest"
