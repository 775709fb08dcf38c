#!/usr/bin/env bash
# The long torture runs (tests/programs/torture.cu) on a GPU machine: each CUDA runtime plain
# and under the shim with each free policy and each file in config/, the controls, and each
# library resource, for several seeds. Prints one line per run and a summary; exits non-zero
# when any run fails (corruption, an unexpected CUDA error, an out-of-memory, a crash, or a
# control that did not see what it must).
#   scripts/torture.sh [--ops N] [--seeds "1 2 3"] [--threads N] [--devices N] [--log-dir DIR]
#                      [--no-build]
# --devices N spreads the runtime programs' threads over N GPUs (0: all of them; some threads
# free with another device current than their block's); the library runs stay on one device.
# Defaults: 200000 operations per run, seeds 1 2 3, 8 threads (over 30 million operations in
# all). The build folder is GPUMEM_BUILD_DIR (default build-gpu), configured with .deps/ when
# present (scripts/gpu-deps.sh).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build-gpu}
ops=200000
seeds="1 2 3"
threads=8
devices=1
log_dir=""
do_build=1
while (($#)); do
  case $1 in
    --ops) ops=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --devices) devices=$2; shift 2 ;;
    --log-dir) log_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    *) echo "torture.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
log_dir=${log_dir:-$build/torture-logs}
mkdir -p "$log_dir"
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"

if ((do_build)); then
  prefix=()
  [[ -d "$root/.deps/usr" ]] && prefix=(-DCMAKE_PREFIX_PATH="$root/.deps/usr")
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${prefix[@]}" >"$log_dir/configure.log" 2>&1 &&
    cmake --build "$build" --parallel "$(nproc)" \
      --target gpumem_preload torture_static torture_shared torture_library >"$log_dir/build.log" 2>&1 ||
    { echo "torture.sh: the build failed (see $log_dir/build.log)"; tail -20 "$log_dir/build.log"; exit 1; }
fi
preload=$build/src/preload/libgpumem_preload.so
programs=$build/tests
for needed in "$preload" "$programs/torture_static" "$programs/torture_shared" \
  "$programs/torture_library"; do
  [[ -f $needed ]] || { echo "torture.sh: $needed is missing (build it, or drop --no-build)"; exit 1; }
done

runs=0
failures=0
# run NAME EXPECT ENV... -- PROGRAM ARGS...   (EXPECT: clean or caught)
run() {
  local name=$1
  shift
  local environment=()
  while [[ $1 != -- ]]; do environment+=("$1"); shift; done
  shift
  local log="$log_dir/$name.log"
  local started=$SECONDS
  env "${environment[@]}" timeout 600 "$@" >"$log" 2>&1
  local status=$?
  local summary
  summary=$(grep -E "^torture: .*(mismatched|clean|FAILED|detected)" "$log" | tr '\n' ' ')
  runs=$((runs + 1))
  if ((status != 0)); then
    failures=$((failures + 1))
    printf 'FAIL  %-58s exit %3d %4ds  %s\n' "$name" "$status" $((SECONDS - started)) "$summary"
    grep -E "^torture: (thread|FAILED)" "$log" | head -5 | sed 's/^/      /'
  else
    printf 'ok    %-58s %4ds  %s\n' "$name" $((SECONDS - started)) "$summary"
  fi
}

echo "gpumem torture, $(date -u '+%Y-%m-%d %H:%M UTC'), $ops operations per run, seeds $seeds, $threads threads, $devices device(s)"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2>/dev/null
common=(--ops "$ops" --threads "$threads" --stall-seconds 30)
runtime_common=("${common[@]}" --devices "$devices")
shim=("${runtime_common[@]}" --expect-shim)
for seed in $seeds; do
  for runtime in static shared; do
    program=$programs/torture_$runtime
    run "$runtime-plain-seed$seed" -- "$program" "${runtime_common[@]}" --seed "$seed"
    for policy in quarantine synchronize; do
      run "$runtime-shim-$policy-seed$seed" LD_PRELOAD="$preload" GPUMEM_FREE_POLICY=$policy -- \
        "$program" "${shim[@]}" --seed "$seed"
    done
    # The default policy's barriers always on the shim's barrier thread, and never.
    for barrier_thread in on off; do
      run "$runtime-shim-barrier-thread-$barrier_thread-seed$seed" LD_PRELOAD="$preload" \
        GPUMEM_BARRIER_THREAD=$barrier_thread -- "$program" "${shim[@]}" --seed "$seed"
    done
    for config in "$root"/config/*.toml; do
      name=$(basename "$config" .toml)
      run "$runtime-shim-config-$name-seed$seed" LD_PRELOAD="$preload" GPUMEM_CONFIG="$config" \
        GPUMEM_REPORT=off -- "$program" "${shim[@]}" --seed "$seed"
    done
    run "$runtime-shim-positive-control-seed$seed" LD_PRELOAD="$preload" -- \
      "$program" "${shim[@]}" --seed "$seed" --inject
    run "$runtime-shim-unsafe-policy-is-caught-seed$seed" LD_PRELOAD="$preload" \
      GPUMEM_FREE_POLICY=stream_ordered -- "$program" "${shim[@]}" --seed "$seed" --expect-corruption
  done
  for resource in cuda cuda_async pool pool_growing pool_expandable arena binning fixed_size statistics limiting \
    tracking thread_safe; do
    run "library-$resource-seed$seed" -- "$programs/torture_library" "${common[@]}" --seed "$seed" \
      --resource "$resource"
  done
  run "library-pool-positive-control-seed$seed" -- "$programs/torture_library" "${common[@]}" \
    --seed "$seed" --resource pool --inject
done
echo "gpumem torture: $runs runs, $failures failed (logs: $log_dir)"
((failures == 0))
