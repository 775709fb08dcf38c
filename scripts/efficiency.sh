#!/usr/bin/env bash
# The memory-efficiency benchmark (docs/performance.md), on a GPU machine: records allocation
# logs of two PyTorch trainings (an MLP and a transformer with varying sequence lengths) with
# PyTorch's caching off under the shim's logging layer, writes the synthetic logs (RMM's random
# pattern, an adversarial one), measures PyTorch's own allocator with and without
# expandable_segments, and replays every log with `gpumem replay` (cudaMalloc, cuda_async, a
# pool over cudaMalloc slabs, the default pool over the expandable source, the arena), then
# again under a limit of 1.15 x each log's peak.
#   scripts/efficiency.sh OUTPUT_FOLDER        (build: GPUMEM_BUILD_DIR, default build-gpu)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build-gpu}
out=${1:?usage: scripts/efficiency.sh OUTPUT_FOLDER}
mkdir -p "$out/logs"
preload=$build/src/preload/libgpumem_preload.so
gpumem=$build/bin/gpumem
for needed in "$preload" "$gpumem"; do
  [[ -f $needed ]] || { echo "efficiency.sh: $needed is missing (build gpumem_preload gpumem_command)"; exit 1; }
done
unset GPUMEM_CONFIG
echo "gpumem memory efficiency, $(date -u '+%Y-%m-%d %H:%M UTC')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
declare -A programs=(
  [mlp]="$root/tests/gpu/pytorch_train.py --steps 200"
  [transformer]="$root/bench/efficiency/transformer_train.py --steps 60"
)
for name in mlp transformer; do
  # shellcheck disable=SC2086
  env LD_PRELOAD="$preload" PYTORCH_NO_CUDA_MEMORY_CACHING=1 GPUMEM_STACK=logging,pool,expandable \
    GPUMEM_LOGGING_FILE="$out/logs/$name.csv" python3 ${programs[$name]} > "$out/$name-logged.txt" 2>&1 ||
    { echo "efficiency.sh: $name under the logging layer failed"; tail -5 "$out/$name-logged.txt"; }
  for conf in "" "expandable_segments:True"; do
    # shellcheck disable=SC2086
    env ${conf:+PYTORCH_CUDA_ALLOC_CONF=$conf} python3 ${programs[$name]} 2>&1 | grep "pytorch allocator" |
      sed "s/^/$name: /"
  done
done
python3 "$root/scripts/generate-synthetic-logs.py" "$out/logs"
for log in mlp transformer random adversarial; do
  [[ -s $out/logs/$log.csv ]] || continue
  echo; echo "## $log"
  "$gpumem" replay "$out/logs/$log.csv" --config "$root/config/arena.toml" | tee "$out/replay-$log.txt"
  peak=$(grep -o "peak requested [0-9.]* [KMG]iB" "$out/replay-$log.txt" | head -1 | awk '{print $3, $4}')
  limit=$(python3 -c "
value, unit = '$peak'.split(); scale = {'KiB': 2**10, 'MiB': 2**20, 'GiB': 2**30}[unit]
print(int(float(value) * scale * 1.15))")
  echo; echo "## $log under a limit of 1.15 x its peak ($limit bytes)"
  "$gpumem" replay "$out/logs/$log.csv" --limit "$limit" | tee "$out/replay-$log-limit.txt"
done
gzip -kf "$out"/logs/*.csv
