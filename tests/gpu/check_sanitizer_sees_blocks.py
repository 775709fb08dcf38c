#!/usr/bin/env python3
"""compute-sanitizer's memcheck finds a kernel writing one element past a served block of 1000
bytes: in the plain program (the baseline), under the shim on cudaMalloc slabs (config/pool.toml,
whose statistics layer asks the pool for 1024 bytes: the shim narrows the block to the
program's size) and in the library's pool over cudaMalloc. With the sanitizer's NVTX support
off (--nvtx no) the same write under the shim goes unseen: the finding comes from the blocks
the pool registers. compute-sanitizer refuses NVTX heaps in virtual-memory mappings, so over the
expandable source (the shim's default stack, the library's pool over it) the write goes unseen
and the shim says why, naming the stack to use.

    check_sanitizer_sees_blocks.py PRELOAD OVERRUN OVERRUN_LIBRARY POOL_CONFIG
"""
import os
import re
import shutil
import subprocess
import sys


def sanitizer():
    found = shutil.which("compute-sanitizer")
    if found is None:
        cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
        candidate = os.path.join(cuda, "bin", "compute-sanitizer")
        found = candidate if os.access(candidate, os.X_OK) else None
    return found


def errors(tool, command, env, nvtx="yes"):
    done = subprocess.run([tool, "--tool", "memcheck", "--nvtx", nvtx, *command], env=env,
                          capture_output=True, text=True, timeout=600)
    said = done.stdout + done.stderr
    summary = re.search(r"ERROR SUMMARY: (\d+) error", said)
    if summary is None:
        sys.exit(f"check_sanitizer_sees_blocks: no error summary from {command}:\n{said}")
    invalid = "Invalid __global__ write of size 4 bytes" in said
    return int(summary.group(1)), invalid, said


def main():
    preload, overrun, overrun_library, pool_config = sys.argv[1:]
    tool = sanitizer()
    if tool is None:
        print("SKIPPED: compute-sanitizer is not installed")
        sys.exit(77)
    base = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
    shim = dict(base, LD_PRELOAD=preload, GPUMEM_REPORT="text")
    refused = "compute-sanitizer refuses NVTX heaps in CUDA virtual-memory mappings"
    cases = [
        ("plain cudaMalloc", [overrun], base, "yes", True, None),
        ("shim, config/pool.toml (statistics > pool > cuda)", [overrun],
         dict(shim, GPUMEM_CONFIG=pool_config), "yes", True, None),
        ("shim, pool > cuda", [overrun], dict(shim, GPUMEM_STACK="pool,cuda"), "yes", True, None),
        ("library pool over cuda_memory_resource", [overrun_library, "--library", "pool"], base,
         "yes", True, None),
        ("shim, config/pool.toml, sanitizer's NVTX off", [overrun],
         dict(shim, GPUMEM_CONFIG=pool_config), "no", False, None),
        ("shim, default stack (pool > expandable): refused, said", [overrun], shim, "yes", False,
         refused),
        ("library pool over expandable_memory_resource: refused",
         [overrun_library, "--library", "pool_expandable"], base, "yes", False, None),
    ]
    problems = []
    for name, command, env, nvtx, expected, said_too in cases:
        count, invalid, said = errors(tool, command, env, nvtx)
        seen = count > 0 and invalid
        print(f"check_sanitizer_sees_blocks: {name}: {count} errors"
              f"{' (Invalid __global__ write of size 4 bytes)' if invalid else ''}", flush=True)
        if "shim" in name and "calls: allocations" not in said:
            problems.append(f"{name}: the shim did not serve the block:\n{said}")
        if said_too is not None and said_too not in said:
            problems.append(f"{name}: the shim does not say {said_too!r}:\n{said}")
        if seen != expected:
            problems.append(f"{name}: expected the overrun to be {'found' if expected else 'unseen'}, "
                            f"memcheck said:\n{said}")
    if problems:
        sys.exit("check_sanitizer_sees_blocks: FAILED:\n" + "\n".join(problems))
    print("check_sanitizer_sees_blocks: ok")


if __name__ == "__main__":
    main()
