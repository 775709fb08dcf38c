#!/usr/bin/env bash
# Installs the Debian packages gpumem builds with, where they are missing (apt-get; sudo when
# not root). The CUDA Toolkit 13.0 is expected at /usr/local/cuda: it is not a Debian
# package, and this script only checks for it.
set -euo pipefail

packages=(cmake g++ make python3 libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "gpumem: installing missing packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cuda_home=${CUDA_HOME:-/usr/local/cuda}
if [[ ! -x "$cuda_home/bin/nvcc" ]]; then
  echo "gpumem: the CUDA Toolkit 13.0 is not at $cuda_home (no $cuda_home/bin/nvcc)." >&2
  echo "gpumem: install it from https://developer.nvidia.com/cuda-downloads or set CUDA_HOME." >&2
  exit 1
fi
