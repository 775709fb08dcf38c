#!/usr/bin/env bash
# Runs the benchmark programs on this machine (a GPU machine) and keeps their results:
#   scripts/bench.sh [OUT_DIR] [benchmark arguments...]
# Writes OUT_DIR/<program>.json (Google Benchmark's JSON, with machine and date) and prints the
# console table. Expects a build in build-gpu/ (scripts/gpu-test.sh makes one) or GPUMEM_BUILD_DIR.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build-gpu}
out=${1:-$build/bench-results}
shift || true
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
for program in "$build"/bench/bench_*; do
  [[ -x "$program" ]] || continue
  name=$(basename "$program")
  echo "== $name"
  "$program" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
done
