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
# One process's figures move by up to 2x between processes on one machine (run28 of
# 2026-11-29: identical configurations at 188 and 326 ns), more than between repetitions in one
# process: each configuration runs in several processes, in turn, and the comparison takes the
# median over them (GPUMEM_BENCH_PROCESSES, default 3; GPUMEM_BENCH_REPETITIONS in each, default
# 1).
processes=${GPUMEM_BENCH_PROCESSES:-3}
repeat=(--benchmark_repetitions="${GPUMEM_BENCH_REPETITIONS:-1}" --benchmark_report_aggregates_only=true)
# Every benchmark plain and under the default policy; the other policies (and the default with
# a smaller quarantine in blocks, the fixed 32 MiB byte limit that was the default until
# 2026-11-29, every barrier on the barrier thread or none) on the one-thread pair only, to show
# what the device barriers cost. GPUMEM_BENCH_VARIANTS (words) runs a subset; "quarantine", the
# default, is needed for the comparison.
read -r -a variants <<< "${GPUMEM_BENCH_VARIANTS:-quarantine quarantine-64 quarantine-32MiB quarantine-thread quarantine-nothread synchronize stream_ordered}"
for process in $(seq 1 "$processes"); do
  suffix=""
  ((process > 1)) && suffix=".p$process"
  for runtime in shared static; do
    program="$build/bench/bench_cuda_calls_$runtime"
    echo "== $runtime runtime, plain (process $process of $processes)"
    "$program" "${repeat[@]}" --benchmark_out="$out/${runtime}_plain$suffix.json" --benchmark_out_format=json
    for variant in "${variants[@]}"; do
      policy=${variant%%-*}
      settings=(GPUMEM_FREE_POLICY=$policy)
      filter=.
      case $variant in
        quarantine-64) settings+=(GPUMEM_QUARANTINE_BLOCKS=64) ;;
        quarantine-32MiB) settings+=(GPUMEM_QUARANTINE_SIZE=32MiB) ;;
        quarantine-thread) settings+=(GPUMEM_BARRIER_THREAD=on) ;;
        quarantine-nothread) settings+=(GPUMEM_BARRIER_THREAD=off) ;;
      esac
      [[ $variant != quarantine ]] && filter='BM_malloc_free/'
      echo "== $runtime runtime, gpumem (${settings[*]}) (process $process of $processes)"
      env LD_PRELOAD="$preload" "${settings[@]}" "$program" "${repeat[@]}" --benchmark_filter="$filter" \
        --benchmark_out="$out/${runtime}_gpumem_${variant}$suffix.json" --benchmark_out_format=json
    done
  done
done
echo "== side by side"
python3 "$root/scripts/compare-shim-bench.py" "$out" | tee "$out/comparison.md"
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  # Two models: an MLP of fixed shapes, and a transformer whose sequence length changes every
  # step (so one model's luck with sizes does not decide). Each configuration several times,
  # interleaved, so a drift of the machine touches all three alike; the comparison takes the
  # medians (one run moved by 20-30 % between machines).
  for rep in $(seq 1 "${GPUMEM_PYTORCH_REPETITIONS:-3}"); do
    for model in mlp transformer; do
      if [[ $model == mlp ]]; then
        script=("$root/tests/gpu/pytorch_train.py" --steps 300)
      else
        script=("$root/bench/efficiency/transformer_train.py" --steps 200)
      fi
      echo "== PyTorch $model, caching allocator (run $rep)"
      python3 "${script[@]}" | tee "$out/pytorch_${model}_caching_$rep.txt"
      # (Plain CUDA without caching, the slowest by far, once: it only shows what a pool saves.)
      if ((rep == 1)); then
        echo "== PyTorch $model, PYTORCH_NO_CUDA_MEMORY_CACHING=1 (run $rep)"
        PYTORCH_NO_CUDA_MEMORY_CACHING=1 python3 "${script[@]}" | tee "$out/pytorch_${model}_nocache_$rep.txt"
      fi
      echo "== PyTorch $model, PYTORCH_NO_CUDA_MEMORY_CACHING=1 under gpumem (run $rep)"
      PYTORCH_NO_CUDA_MEMORY_CACHING=1 LD_PRELOAD="$preload" GPUMEM_REPORT=text python3 "${script[@]}" \
        | tee "$out/pytorch_${model}_gpumem_$rep.txt"
      echo "== PyTorch $model, PYTORCH_NO_CUDA_MEMORY_CACHING=1 under gpumem, barrier_thread = off (run $rep)"
      PYTORCH_NO_CUDA_MEMORY_CACHING=1 LD_PRELOAD="$preload" GPUMEM_REPORT=text GPUMEM_BARRIER_THREAD=off \
        python3 "${script[@]}" | tee "$out/pytorch_${model}_gpumem-nothread_$rep.txt"
    done
  done
  python3 "$root/scripts/compare-shim-bench.py" --pytorch "$out" | tee "$out/pytorch.md"
fi
