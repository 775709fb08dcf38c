#!/usr/bin/env python3
"""Runs a Python GPU program plain and under libgpumem_preload.so and checks that the shim
served its allocations without changing its results. A gpu test (exit 77, skipped, where the
framework is not installed).

    run_under_shim.py pytorch PRELOAD   PyTorch with PYTORCH_NO_CUDA_MEMORY_CACHING=1 training
                                        an MLP: same losses digest plain and under the shim
    run_under_shim.py cupy PRELOAD      CuPy without its pool: the program's own check passes
"""
import importlib.util
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(command, **settings):
    env = dict(os.environ, **settings)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    said = done.stdout + done.stderr
    print(f"$ {' '.join(f'{k}={v}' for k, v in settings.items())} {' '.join(command)}\n{said}", flush=True)
    if done.returncode != 0:
        sys.exit(f"run_under_shim: exit status {done.returncode}")
    return said


def served(report):
    counts = [int(n) for n in re.findall(r"calls: allocations (\d+)", report)]
    if not counts or sum(counts) == 0:
        sys.exit("run_under_shim: the report shows no allocation served by the shim")
    return sum(counts)


def main():
    framework, preload = sys.argv[1], os.path.abspath(sys.argv[2])
    module = {"pytorch": "torch", "cupy": "cupy"}[framework]
    if importlib.util.find_spec(module) is None:
        print(f"SKIPPED: this test needs the Python module {module}, which is not installed")
        sys.exit(77)
    under_shim = {"LD_PRELOAD": preload, "GPUMEM_REPORT": "text"}
    if framework == "pytorch":
        program = [sys.executable, os.path.join(HERE, "pytorch_train.py"), "--steps", "300"]
        plain = run(program, PYTORCH_NO_CUDA_MEMORY_CACHING="1")
        shimmed = run(program, PYTORCH_NO_CUDA_MEMORY_CACHING="1", **under_shim)
        digests = [re.search(r"losses digest (\w+)", said).group(1) for said in (plain, shimmed)]
        if digests[0] != digests[1]:
            sys.exit(f"run_under_shim: losses differ under the shim: {digests[0]} plain, {digests[1]} under gpumem")
        print(f"run_under_shim: pytorch ok: losses digest {digests[0]} plain and under gpumem; "
              f"{served(shimmed)} allocations served")
    else:
        shimmed = run([sys.executable, os.path.join(HERE, "cupy_program.py")], **under_shim)
        if "cupy_program: ok" not in shimmed:
            sys.exit("run_under_shim: the CuPy program's check did not pass")
        print(f"run_under_shim: cupy ok; {served(shimmed)} allocations served")


if __name__ == "__main__":
    main()
