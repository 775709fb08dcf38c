#!/usr/bin/env bash
# The main job in one command: builds what is missing, then runs a CUDA program that allocates
# and frees in a loop (built as nvcc builds by default: static CUDA runtime), plain and under
# the shim with config/pool.toml, and prints both times and the shim's report. Without a GPU
# it runs on gpumem's CUDA simulator and says so.
#   scripts/demo.sh [--no-build] [--simulator] [PAIRS]
#     --no-build    use the build in GPUMEM_BUILD_DIR (default build/) as it is
#     --simulator   run on the simulator even where there is a GPU
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build}
build_first=1
on_simulator=0
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --no-build) build_first=0 ;;
    --simulator) on_simulator=1 ;;
    *) echo "usage: scripts/demo.sh [--no-build] [--simulator] [PAIRS]" >&2; exit 2 ;;
  esac
  shift
done
if ((build_first)); then
  "$root/scripts/install-deps.sh"
  export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${GPUMEM_CMAKE_ARGS:-} >/dev/null
  cmake --build "$build" --parallel "$(nproc)" --target gpumem_preload alloc_loop_static alloc_loop_shared \
    gpumem_sim_cuda gpumem_sim_cudart >/dev/null
fi
pairs=${1:-20000}
if ! [[ $pairs =~ ^[1-9][0-9]*$ ]]; then
  echo "scripts/demo.sh: PAIRS is a positive whole number, not '$pairs'" >&2
  echo "usage: scripts/demo.sh [--no-build] [--simulator] [PAIRS]" >&2
  exit 2
fi
preload="$build/src/preload/libgpumem_preload.so"
for needed in "$preload" "$build/tests/alloc_loop_static" "$build/tests/alloc_loop_shared"; do
  if [[ ! -f $needed ]]; then
    echo "scripts/demo.sh: $needed is missing: run scripts/demo.sh without --no-build (it builds" \
      "what it needs), or set GPUMEM_BUILD_DIR to your build folder" >&2
    exit 1
  fi
done
if ((!on_simulator)) && nvidia-smi -L >/dev/null 2>&1; then
  program="$build/tests/alloc_loop_static"
  echo "gpumem demo on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1): a program built with nvcc's default (static) runtime"
  run() { "$@"; }
else
  # NVIDIA's static runtime cannot run on the simulator; the same program with the shared one can.
  program="$build/tests/alloc_loop_shared"
  echo "gpumem demo: no GPU here, so this runs on gpumem's CUDA simulator (host memory): the times show"
  echo "the shim's own cost against the simulator's, not CUDA's. On a GPU machine this runs the real thing."
  run() { LD_LIBRARY_PATH="$build/simulator${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
fi
echo -n "plain:        "
run "$program" "$pairs"
echo -n "under gpumem: "
GPUMEM_CONFIG="$root/config/pool.toml" LD_PRELOAD="$preload" run "$program" "$pairs"
echo
echo "Next: run your own program under gpumem, for example"
echo "  $build/bin/gpumem run --config $root/config/pool.toml --report text -- ./your_app"
