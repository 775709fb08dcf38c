#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs the whole test
# suite; exits non-zero on any failure. Without a GPU the tests labelled `gpu` report
# themselves skipped (with the reason) and everything else runs, on the CUDA simulator
# where CUDA is involved; on a machine with a GPU the `gpu` tests run too.
#   scripts/test.sh                 # everything
#   scripts/test.sh -L unit         # extra arguments go to ctest (here: one label)
# GPUMEM_BUILD_DIR chooses the build folder (default: build).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build}
jobs=$(nproc)

"$root/scripts/install-deps.sh"
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${GPUMEM_CMAKE_ARGS:-}
cmake --build "$build" --parallel "$jobs"
ctest --test-dir "$build" --output-on-failure --parallel "$jobs" "$@"
