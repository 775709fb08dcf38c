#!/usr/bin/env bash
# For the eighth session's second call (after run37.sh: the GPU suite and torture on main's
# head): the two experiments, branches exp/locality-hash and exp/capture-flag (as
# .gpu/locality-hash.patch and .gpu/capture-flag.patch), against main with bench-ab.sh. Merge
# what wins, then run the GPU suite and torture on it before it lands.
set -u
export PATH=/usr/local/cuda/bin:$PATH
O=$OUT; mkdir -p /tmp/tl
date -u
# The three builds of the preload, and main's benchmark program.
cmake -S . -B /tmp/bm -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH=$PWD/.deps/usr -DGPUMEM_BUILD_TESTS=OFF > /tmp/bm.txt 2>&1
cmake --build /tmp/bm --parallel 16 --target gpumem_preload bench_cuda_calls_shared bench_cuda_calls_static >> /tmp/bm.txt 2>&1 || { tail -20 /tmp/bm.txt; exit 1; }
for experiment in locality-hash capture-flag; do
  rm -rf /tmp/$experiment && mkdir /tmp/$experiment && cp -r CMakeLists.txt cmake src include tests bench config scripts examples /tmp/$experiment/
  (cd /tmp/$experiment && patch -p1 < $OLDPWD/.gpu/$experiment.patch) > /dev/null || { echo "$experiment does not apply"; exit 1; }
  cmake -S /tmp/$experiment -B /tmp/b-$experiment -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH=$PWD/.deps/usr -DGPUMEM_BUILD_TESTS=OFF > /tmp/b-$experiment.txt 2>&1
  cmake --build /tmp/b-$experiment --parallel 16 --target gpumem_preload >> /tmp/b-$experiment.txt 2>&1 || { tail -20 /tmp/b-$experiment.txt; exit 1; }
done
echo "built at ${SECONDS}s"
GPUMEM_BUILD_DIR=/tmp/bm timeout $((580 - SECONDS)) bash scripts/bench-ab.sh --processes 9 \
  --filter 'BM_malloc_free/(256|1048576)/|BM_malloc_free_async/256/|BM_threads_malloc_free/.*threads:(1|16)$|BM_threads_async/1/.*threads:(1|16)$' \
  --out $O/ab main=/tmp/bm/src/preload/libgpumem_preload.so \
  locality=/tmp/b-locality-hash/src/preload/libgpumem_preload.so \
  capture_flag=/tmp/b-capture-flag/src/preload/libgpumem_preload.so
echo "bench-ab done at ${SECONDS}s"
tar czf $O/ab.tgz -C $O ab && rm -rf $O/ab
