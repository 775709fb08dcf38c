#!/usr/bin/env python3
"""Prints the shim's benchmark runs side by side (scripts/bench-shim.sh writes them): for each
CUDA runtime and size, the real cudaMalloc+cudaFree pair, the warm cudaMallocAsync pair, and
the interposed pair under each free policy, with the ratios of targets T3/T4
(../docs/performance.md). Where the runs repeated each benchmark, the medians.

    compare-shim-bench.py OUT_DIR
"""
import json
import pathlib
import sys


def pair_times(path):
    """benchmark name -> real time per iteration, in ns."""
    if not path.exists():
        return {}
    runs = json.loads(path.read_text())["benchmarks"]
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6}
    # With repetitions, the median of them; else the one run.
    medians = [run for run in runs if run.get("aggregate_name") == "median"]
    chosen = medians or [run for run in runs if run.get("run_type", "iteration") == "iteration"]
    return {run["run_name"].split("/min_time")[0] if "run_name" in run else run["name"].split("/min_time")[0]:
            run["real_time"] * scale[run["time_unit"]] for run in chosen}


def shown(ns):
    return f"{ns / 1e3:.1f} us" if ns >= 1e4 else f"{ns:.0f} ns"


def main():
    out = pathlib.Path(sys.argv[1])
    variants = sorted(path.stem.split("_gpumem_")[1] for path in out.glob("shared_gpumem_*.json"))
    variants.sort(key=lambda name: (name != "quarantine", name))  # the default first
    header = ["runtime", "bytes", "real pair", "warm async pair"] + [f"gpumem {v}" for v in variants] + \
             ["x real (default)", "x async (default)"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for runtime in ("shared", "static"):
        plain = pair_times(out / f"{runtime}_plain.json")
        shim = {v: pair_times(out / f"{runtime}_gpumem_{v}.json") for v in variants}
        for size in ("256", "1048576", "67108864"):
            real = plain.get(f"BM_malloc_free/{size}")
            warm = plain.get(f"BM_malloc_free_async/{size}")
            served = [shim[v].get(f"BM_malloc_free/{size}") for v in variants]
            if real is None or not served or served[0] is None:
                continue
            row = [runtime, size, shown(real), shown(warm) if warm else "-"] + \
                  [shown(t) if t else "-" for t in served] + \
                  [f"{real / served[0]:.0f}x", f"{warm / served[0]:.1f}x" if warm else "-"]
            print(" | ".join(row))


if __name__ == "__main__":
    main()
