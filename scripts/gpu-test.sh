#!/usr/bin/env bash
# Runs the whole suite on a GPU machine without network: configures with the dependencies
# unpacked by scripts/gpu-deps.sh (in .deps/), builds with all cores, runs every label
# (unit, sim, gpu) and writes the log. Here the gpu tests must run: one that skips fails
# this script.
#   scripts/gpu-test.sh [LOG_DIR] [ctest arguments...]   (log: LOG_DIR/gpu-test.log,
#                                                           default LOG_DIR: build-gpu)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build-gpu}
log_dir=${1:-$build}
shift || true
mkdir -p "$log_dir"
log="$log_dir/gpu-test.log"
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
prefix=()
[[ -d "$root/.deps/usr" ]] && prefix=(-DCMAKE_PREFIX_PATH="$root/.deps/usr")

run() {
  echo "gpumem GPU test run, $(date -u '+%Y-%m-%d %H:%M UTC')"
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader || true
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${prefix[@]}" ${GPUMEM_CMAKE_ARGS:-} || return 1
  cmake --build "$build" --parallel "$(nproc)" || return 1
  ctest --test-dir "$build" --output-on-failure --parallel 4 "$@"
  local status=$?
  local last="$build/Testing/Temporary/LastTest.log"
  # A gpu test that finds no GPU prints a line starting "SKIPPED: " and exits 77: a failure here.
  # One that needs two GPUs skips on a one-GPU machine: said, not failed.
  if grep "^SKIPPED: " "$last" 2>/dev/null | grep -q -v "needs two GPUs"; then
    echo "gpumem: a gpu test was skipped on the GPU machine"
    status=1
  fi
  if grep -q "^SKIPPED: needs two GPUs" "$last" 2>/dev/null; then
    echo "gpumem: tests that need two GPUs were skipped (not tested on this machine):"
    grep "^SKIPPED: needs two GPUs" "$last" | sort | uniq -c | sed 's/^/gpumem:   /'
  fi
  # Cases a passing program skipped inside (GTEST_SKIP: two-device cases on one GPU, say) are
  # not failures, but the run must say what it did not test.
  local skipped
  # gtest prints "file:line: Skipped", the reason, a blank line, then "[  SKIPPED ] Suite.Case".
  skipped=$(awk '/^\[ RUN +\]/ { reason = "" }
                 /^\[  SKIPPED \] [^ ]+ \(/ { print "gpumem:   " $4 ": " reason }
                 NF && !/^\[/ && !/: Skipped$/ { reason = $0 }' "$last" 2>/dev/null | sort -u)
  if [[ -n $skipped ]]; then
    echo "gpumem: cases skipped inside passing programs (not tested on this machine):"
    echo "$skipped"
  fi
  return $status
}

run "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo "gpumem: gpu-test exit status $status (log: $log)" | tee -a "$log"
exit "$status"
