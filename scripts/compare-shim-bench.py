#!/usr/bin/env python3
"""Prints the shim's benchmark runs side by side (scripts/bench-shim.sh writes them): for each
CUDA runtime and size, the real cudaMalloc+cudaFree pair, the warm cudaMallocAsync pair, and
the interposed pair under each free policy, with the ratios of targets T3/T4; then pairs per
second on 1 to 16 threads, plain and under the default policy, with the 16-thread speed-up of
target T5 (../docs/performance.md). Where the runs repeated each benchmark, the medians; where
several processes ran a configuration (STEM.pN.json besides STEM.json), the median over them.
With --pytorch, the PyTorch runs instead (target T8): each model's median milliseconds per
step with PyTorch's caching allocator, without it, and without it under the shim, the ratio
to the caching allocator, and the losses' digests. With --ab, the builds scripts/bench-ab.sh
compared (NAME.json, NAME.pN.json): for each benchmark, each build's median over its
processes, its range, and its ratio to the first build.

    compare-shim-bench.py OUT_DIR
    compare-shim-bench.py --pytorch OUT_DIR
    compare-shim-bench.py --ab OUT_DIR NAME...
"""
import json
import pathlib
import re
import statistics
import sys


def key(run):
    """A benchmark's name without its options: BM_malloc_free/256, BM_threads_async/1/threads:4."""
    name = run.get("run_name", run["name"])
    return "/".join(part for part in name.split("/")
                    if not part.startswith("min_time:") and part != "real_time")


def chosen_runs(path):
    """The runs of one file: with repetitions, their medians; else the one run of each."""
    if not path.exists():
        return []
    runs = json.loads(path.read_text())["benchmarks"]
    medians = [run for run in runs if run.get("aggregate_name") == "median"]
    return medians or [run for run in runs if run.get("run_type", "iteration") == "iteration"]


def pair_times(path):
    """benchmark name -> real time per iteration, in ns."""
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6}
    return {key(run): run["real_time"] * scale[run["time_unit"]] for run in chosen_runs(path)}


def process_files(out, stem):
    """The files of one configuration: STEM.json, and STEM.pN.json from further processes."""
    return [path for path in [out / f"{stem}.json"] + sorted(out.glob(f"{stem}.p*.json"))
            if path.exists()]


def pair_times_across(out, stem):
    """benchmark name -> (median, least, most) over the processes of one configuration, of
    each process's time per iteration in ns (one process's figure moves by up to 2x between
    processes on the GPU machine, so one process is not the configuration's figure)."""
    per_process = [pair_times(path) for path in process_files(out, stem)]
    names = set().union(*per_process) if per_process else set()
    summary = {}
    for name in names:
        seen = [times[name] for times in per_process if name in times]
        summary[name] = (statistics.median(seen), min(seen), max(seen), len(seen))
    return summary


def pair_rates(path):
    """benchmark name -> pairs per second (all threads together)."""
    return {key(run): run["pairs_per_s"] for run in chosen_runs(path) if "pairs_per_s" in run}


def pair_rates_across(out, stem):
    """benchmark name -> the median over the processes of one configuration of pairs per second."""
    per_process = [pair_rates(path) for path in process_files(out, stem)]
    names = set().union(*per_process) if per_process else set()
    return {name: statistics.median([rates[name] for rates in per_process if name in rates])
            for name in names}


def print_threads(out):
    """Pairs per second on 1..16 threads, plain and under the default policy."""
    benchmarks = [("BM_threads_malloc_free", "cudaMalloc+cudaFree"),
                  ("BM_threads_async/1", "cudaMallocAsync, own stream"),
                  ("BM_threads_async/0", "cudaMallocAsync, legacy stream")]
    threads = (1, 2, 4, 8, 16)
    header = ["runtime", "calls", "run"] + [f"{n} thr" for n in threads] + ["16 / 1"]
    print()
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for runtime in ("shared", "static"):
        for run, stem in (("plain", f"{runtime}_plain"), ("gpumem", f"{runtime}_gpumem_quarantine")):
            rates = pair_rates_across(out, stem)
            for name, calls in benchmarks:
                row = [rates.get(f"{name}/threads:{n}") for n in threads]
                if row[0] is None:
                    continue
                cells = [f"{rate / 1e6:.2f} M/s" if rate else "-" for rate in row]
                ratio = f"{row[-1] / row[0]:.1f}x" if row[-1] else "-"
                print(" | ".join([runtime, calls, run] + cells + [ratio]))


def spread(summary):
    """A configuration's median over its processes, with the range when there are several."""
    median, least, most, count = summary
    return shown(median) if count == 1 else f"{shown(median)} ({shown(least)}-{shown(most)})"


def shown(ns):
    return f"{ns / 1e3:.1f} us" if ns >= 1e4 else f"{ns:.0f} ns"


def print_pytorch(out):
    """T8: pytorch_MODEL_VARIANT_REP.txt, each ending with '...; N ms per step'."""
    variants = ("caching", "nocache", "gpumem", "gpumem-nothread")
    print("model | runs | caching allocator | caching off | caching off, under gpumem | "
          "... with barrier_thread = off | gpumem / caching | (barrier_thread = off) / caching | "
          "losses digests (caching, off, gpumem, gpumem without the barrier thread)")
    print(" | ".join("---" for _ in range(9)))
    for model in ("mlp", "transformer"):
        steps = {}
        digests = {}
        for variant in variants:
            times = []
            seen = []
            for path in sorted(out.glob(f"pytorch_{model}_{variant}_*.txt")):
                text = path.read_text(errors="replace")
                time = re.search(r"([0-9.]+) ms per step", text)
                digest = re.search(r"losses digest ([0-9a-f]+)", text)
                if time:
                    times.append(float(time.group(1)))
                if digest:
                    seen.append(digest.group(1))
            steps[variant] = times
            digests[variant] = sorted(set(seen))
        if not steps["caching"] or not steps["gpumem"]:
            continue
        medians = {v: statistics.median(steps[v]) for v in variants if steps[v]}
        runs = min(len(steps["caching"]), len(steps["gpumem"]))

        def cell(v):
            if not steps[v]:
                return "-"
            return f"{medians[v]:.3f} ms ({min(steps[v]):.3f}-{max(steps[v]):.3f}, {len(steps[v])})"

        def ratio(v):
            return f"{medians[v] / medians['caching']:.2f}x" if steps[v] else "-"

        shown_digests = "; ".join(",".join(digests[v]) or "-" for v in variants)
        print(" | ".join([model, str(runs)] + [cell(v) for v in variants] +
                         [ratio("gpumem"), ratio("gpumem-nothread"), shown_digests]))


def print_ab(out, names):
    """Each benchmark's time under each build (NAME.json, NAME.pN.json), the first as the base."""
    summaries = {name: pair_times_across(out, name) for name in names}
    benchmarks = sorted(set().union(*summaries.values()))
    header = ["benchmark"] + list(names) + [f"{name} / {names[0]}" for name in names[1:]]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for benchmark in benchmarks:
        times = [summaries[name].get(benchmark) for name in names]
        base = times[0]
        ratios = [f"{t[0] / base[0]:.2f}x" if t and base else "-" for t in times[1:]]
        print(" | ".join([benchmark] + [spread(t) if t else "-" for t in times] + ratios))
    counts = [t[3] for summary in summaries.values() for t in summary.values()]
    if counts:
        print(f"\n(Medians over {max(counts)} processes of each build, run in turn; in brackets "
              "the least and the most one process measured.)")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--pytorch":
        print_pytorch(pathlib.Path(sys.argv[2]))
        return
    if len(sys.argv) >= 4 and sys.argv[1] == "--ab":
        print_ab(pathlib.Path(sys.argv[2]), sys.argv[3:])
        return
    out = pathlib.Path(sys.argv[1])
    variants = sorted({re.sub(r"\.p[0-9]+$", "", path.stem.split("_gpumem_")[1])
                       for path in out.glob("shared_gpumem_*.json")})
    variants.sort(key=lambda name: (name != "quarantine", name))  # the default first
    header = ["runtime", "bytes", "real pair", "warm async pair"] + [f"gpumem {v}" for v in variants] + \
             ["x real (default)", "x async (default)"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    processes = 1
    for runtime in ("shared", "static"):
        plain = pair_times_across(out, f"{runtime}_plain")
        shim = {v: pair_times_across(out, f"{runtime}_gpumem_{v}") for v in variants}
        for size in ("256", "1048576", "67108864"):
            real = plain.get(f"BM_malloc_free/{size}")
            warm = plain.get(f"BM_malloc_free_async/{size}")
            served = [shim[v].get(f"BM_malloc_free/{size}") for v in variants]
            if real is None or not served or served[0] is None:
                continue
            processes = max([processes] + [t[3] for t in served if t])
            row = [runtime, size, shown(real[0]), shown(warm[0]) if warm else "-"] + \
                  [spread(t) if t else "-" for t in served] + \
                  [f"{real[0] / served[0][0]:.0f}x", f"{warm[0] / served[0][0]:.1f}x" if warm else "-"]
            print(" | ".join(row))
    if processes > 1:
        print(f"\n(Medians over up to {processes} processes of each configuration, run in turn; "
              "in brackets the least and the most one process measured.)")
    print_threads(out)


if __name__ == "__main__":
    main()
