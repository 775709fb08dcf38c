#!/usr/bin/env bash
# The shim's benchmarks on a GPU machine, side by side: the same programs (shared and static
# CUDA runtime) plain and under libgpumem_preload.so with each free policy, then PyTorch with
# and without the preload, and with its own caching allocator.
#   scripts/bench-shim.sh [OUT_DIR]      (default: build-gpu/bench-shim; needs a build-gpu/ build)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build-gpu}
out=${1:-$build/bench-shim}
mkdir -p "$out"
preload="$build/src/preload/libgpumem_preload.so"
# A missing preload would make every "under gpumem" figure plain CUDA's: stop instead.
for needed in "$preload" "$build/bench/bench_cuda_calls_shared" "$build/bench/bench_cuda_calls_static"; do
  [[ -f $needed ]] || { echo "bench-shim.sh: $needed is missing: build gpumem_preload and the bench targets first" >&2; exit 1; }
done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
date -u '+%Y-%m-%d %H:%M UTC'
# Each benchmark repeated; the comparison takes the medians (the driver's own costs vary from
# run to run by tens of percent).
repeat=(--benchmark_repetitions="${GPUMEM_BENCH_REPETITIONS:-5}" --benchmark_report_aggregates_only=true)
for runtime in shared static; do
  program="$build/bench/bench_cuda_calls_$runtime"
  echo "== $runtime runtime, plain"
  "$program" "${repeat[@]}" --benchmark_out="$out/${runtime}_plain.json" --benchmark_out_format=json
  # Each free policy; the default (quarantine) also with a smaller quarantine, to show what
  # the number of blocks held between device barriers costs.
  for variant in quarantine quarantine-64 synchronize stream_ordered; do
    policy=${variant%%-*}
    blocks=1024
    [[ $variant == *-* ]] && blocks=${variant##*-}
    echo "== $runtime runtime, gpumem ($policy, quarantine_blocks $blocks)"
    LD_PRELOAD="$preload" GPUMEM_FREE_POLICY=$policy GPUMEM_QUARANTINE_BLOCKS=$blocks "$program" "${repeat[@]}" \
      --benchmark_out="$out/${runtime}_gpumem_${variant}.json" --benchmark_out_format=json
  done
done
echo "== side by side"
python3 "$root/scripts/compare-shim-bench.py" "$out" | tee "$out/comparison.md"
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  script="$root/tests/gpu/pytorch_train.py"
  echo "== PyTorch, caching allocator"
  python3 "$script" --steps 300 | tee "$out/pytorch_caching.txt"
  echo "== PyTorch, PYTORCH_NO_CUDA_MEMORY_CACHING=1"
  PYTORCH_NO_CUDA_MEMORY_CACHING=1 python3 "$script" --steps 300 | tee "$out/pytorch_nocache.txt"
  echo "== PyTorch, PYTORCH_NO_CUDA_MEMORY_CACHING=1 under gpumem"
  PYTORCH_NO_CUDA_MEMORY_CACHING=1 LD_PRELOAD="$preload" GPUMEM_REPORT=text python3 "$script" --steps 300 \
    | tee "$out/pytorch_gpumem.txt"
  echo "== PyTorch, PYTORCH_NO_CUDA_MEMORY_CACHING=1 under gpumem, quarantine_blocks 64"
  PYTORCH_NO_CUDA_MEMORY_CACHING=1 LD_PRELOAD="$preload" GPUMEM_QUARANTINE_BLOCKS=64 python3 "$script" --steps 300 \
    | tee "$out/pytorch_gpumem_quarantine64.txt"
fi
