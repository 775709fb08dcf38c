#!/usr/bin/env bash
# Session 8: the final side-by-side table on the head (capture flag merged): bench-shim, three processes.
set -u
export PATH=/usr/local/cuda/bin:$PATH GPUMEM_BUILD_DIR=/tmp/bb
B=/tmp/bb; O=$OUT
cmake -S . -B $B -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH=$PWD/.deps/usr -DGPUMEM_BUILD_TESTS=OFF > $O/build.txt 2>&1
cmake --build $B --parallel 16 --target gpumem_preload bench_cuda_calls_shared bench_cuda_calls_static >> $O/build.txt 2>&1 || { grep error -A3 $O/build.txt | head; exit 1; }
echo "built at ${SECONDS}s"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
GPUMEM_BENCH_VARIANTS="quarantine stream_ordered" \
  timeout $((580 - SECONDS)) bash scripts/bench-shim.sh /tmp/shim > $O/bench-shim.txt 2>&1
echo "bench-shim rc $? at ${SECONDS}s"
cat /tmp/shim/comparison.md 2>/dev/null
cat /tmp/shim/pytorch.md 2>/dev/null
for f in /tmp/shim/pytorch_*gpumem*.txt; do echo "$(basename $f): $(grep -E 'ms per step|held from|barriers' $f | tr '\n' ' ' | cut -c1-300)"; done
tar czf $O/shim.tgz -C /tmp shim
