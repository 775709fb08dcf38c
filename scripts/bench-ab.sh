#!/usr/bin/env bash
# Compares builds of the preload side by side on the GPU machine: one benchmark program, run
# under each build in turn, round after round (the order rotates each round), so that a drift
# of the machine touches every build alike. One process's figure is not a measurement (the
# H200 guests put a process at about 100 or about 170 ns for the same 256 B pair), so each
# build runs in many processes and the comparison takes the median over them.
#   scripts/bench-ab.sh [--processes N] [--filter REGEX] [--program PATH] [--out DIR]
#                       NAME=PRELOAD NAME=PRELOAD...
# Defaults: 9 processes, the one-thread pairs (BM_malloc_free/), the shared runtime's
# bench_cuda_calls_shared of GPUMEM_BUILD_DIR (default build-gpu), DIR = GPUMEM_BUILD_DIR/bench-ab.
# Environment variables set for the run (GPUMEM_FREE_POLICY=..., say) reach every build.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${GPUMEM_BUILD_DIR:-$root/build-gpu}
processes=9
filter='BM_malloc_free/'
program=$build/bench/bench_cuda_calls_shared
out=$build/bench-ab
builds=()
while (($#)); do
  case $1 in
    --processes) processes=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --program) program=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *=*) builds+=("$1"); shift ;;
    *) echo "bench-ab.sh: unknown argument $1 (builds are NAME=PRELOAD)" >&2; exit 2 ;;
  esac
done
((${#builds[@]} >= 2)) || { echo "bench-ab.sh: give two builds or more, as NAME=PRELOAD" >&2; exit 2; }
[[ -x $program ]] || { echo "bench-ab.sh: $program is missing: build the bench targets first" >&2; exit 1; }
names=()
for build_spec in "${builds[@]}"; do
  name=${build_spec%%=*}
  preload=${build_spec#*=}
  [[ $name =~ ^[A-Za-z0-9_-]+$ ]] || { echo "bench-ab.sh: a build's name is letters, digits, - and _: $name" >&2; exit 2; }
  [[ -f $preload ]] || { echo "bench-ab.sh: $preload is missing" >&2; exit 1; }
  names+=("$name")
done
mkdir -p "$out"
rm -f "$out"/*.json "$out/stderr.txt"
date -u '+%Y-%m-%d %H:%M UTC'
count=${#builds[@]}
for round in $(seq 1 "$processes"); do
  suffix=""
  ((round > 1)) && suffix=".p$round"
  for i in $(seq 0 $((count - 1))); do
    build_spec=${builds[$(((i + round) % count))]}
    name=${build_spec%%=*}
    env LD_PRELOAD="${build_spec#*=}" "$program" --benchmark_filter="$filter" \
      --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_out="$out/$name$suffix.json" --benchmark_out_format=json > /dev/null 2>> "$out/stderr.txt" ||
      echo "bench-ab.sh: $name failed in round $round (see $out/stderr.txt)" >&2
  done
done
python3 "$root/scripts/compare-shim-bench.py" --ab "$out" "${names[@]}" | tee "$out/comparison.md"
