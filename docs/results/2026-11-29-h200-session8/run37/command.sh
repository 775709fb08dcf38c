#!/usr/bin/env bash
# Session 8, first call: the GPU suite and torture (seeds 5 6) on main's head, T9.
set -u
export PATH=/usr/local/cuda/bin:$PATH GPUMEM_BUILD_DIR=/tmp/bg
O=$OUT; B=/tmp/bg
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; date -u
timeout 330 bash scripts/gpu-test.sh /tmp/gt > /dev/null 2>&1
cp /tmp/gt/gpu-test.log $O/
grep -E "tests passed|tests failed|\*\*\*Failed|Failed  |Timeout" $O/gpu-test.log | head -40
grep -E "barrier_thread_leaves|BarrierThread|barrier_thread|eight_demo" $O/gpu-test.log | head -20
grep -B2 -A12 "Failure" $O/gpu-test.log | head -60
echo "gpu-test done at ${SECONDS}s"
timeout 200 bash scripts/torture.sh --no-build --ops 30000 --seeds "5 6" --log-dir /tmp/tlogs > $O/torture.txt 2>&1
grep -E "^(FAIL|gpumem torture)" $O/torture.txt; grep -A5 "^FAIL" $O/torture.txt | head -30; echo "ok runs: $(grep -c '^ok' $O/torture.txt)"
echo "torture done at ${SECONDS}s"
P=$B/src/preload/libgpumem_preload.so
echo "== T9"; GPUMEM_REPORT=text LD_PRELOAD=$P $B/tests/alloc_loop_static 20000 2>&1 | grep -E "alloc_loop|held from|barriers"
echo "== T9, eight processes"; python3 tests/preload/check_concurrent_programs.py $P $B/tests/alloc_loop_static 8 64 20000 2>&1 | tail -10
