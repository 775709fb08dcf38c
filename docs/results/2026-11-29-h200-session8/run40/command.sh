#!/usr/bin/env bash
# Session 8, last call: the GPU suite on the head (the capture tests check the graph's nodes),
# and the static-runtime capture check against a preload whose capture check is off (mutation).
set -u
export PATH=/usr/local/cuda/bin:$PATH GPUMEM_BUILD_DIR=/tmp/bg
O=$OUT; B=/tmp/bg
date -u
timeout 300 bash scripts/gpu-test.sh /tmp/gt > /dev/null 2>&1
cp /tmp/gt/gpu-test.log $O/
grep -E "tests passed|tests failed|\*\*\*Failed|Failed  |Timeout" $O/gpu-test.log | head -20
grep -E "CapturedAllocationsGoToCuda|CapturedStreamOrderedAllocationsAreGraphNodes|preload_static_runtime|runtime_smoke" $O/gpu-test.log | head -20
echo "gpu-test done at ${SECONDS}s"
echo "== under the head's preload:"
GPUMEM_REPORT=text LD_PRELOAD=$B/src/preload/libgpumem_preload.so $B/tests/runtime_smoke_static --launch-kernel 2>&1 | grep -E "runtime_smoke|calls:"; echo "exit ${PIPESTATUS[0]}"
rm -rf /tmp/mut && mkdir /tmp/mut && cp -r CMakeLists.txt cmake src include tests bench config scripts examples /tmp/mut/
sed -i 's|^  if (!stream_captures.captured()) return false;$|  if (!stream_captures.captured()) return false;\n  if (stream != nullptr) return false;  // MUTATION|' /tmp/mut/src/preload/shim.cpp
grep -c MUTATION /tmp/mut/src/preload/shim.cpp
cmake -S /tmp/mut -B /tmp/bmut -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH=$PWD/.deps/usr -DGPUMEM_BUILD_TESTS=OFF > /tmp/bmut.txt 2>&1
cmake --build /tmp/bmut --parallel 16 --target gpumem_preload >> /tmp/bmut.txt 2>&1 || tail -5 /tmp/bmut.txt
echo "== under the mutated preload (capture check off):"
LD_PRELOAD=/tmp/bmut/src/preload/libgpumem_preload.so $B/tests/runtime_smoke_static --launch-kernel 2>&1 | grep -E "runtime_smoke"; echo "exit ${PIPESTATUS[0]}"
LD_PRELOAD=/tmp/bmut/src/preload/libgpumem_preload.so $B/tests/test_preload_runtime --gtest_filter='*CapturedAllocationsGoToCuda*' 2>&1 | grep -E "OK|FAILED|must be" | head -4
echo "done at ${SECONDS}s"
