#!/usr/bin/env python3
"""Peer access on two GPUs, plain and under the shim, with each CUDA runtime: kernels on device 1
reading and writing device 0's blocks and cudaMemcpyPeerAsync give the same words under the shim
as plain, before and after device 0's pool grows, whether the program enabled peer access or
let device 1 reach device 0's memory pool (and, freed on device 1's stream, a block is not
reused on device 0 while device 1 still writes it); without either, or after peer access is
disabled again, device 1's kernel faults under the shim as it does plain (no access plain CUDA
would refuse).

    check_peer_access.py PRELOAD PEER_ACCESS_STATIC PEER_ACCESS_SHARED
"""
import os
import subprocess
import sys


def run(program, mode, env):
    done = subprocess.run([program, *mode], env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def main():
    preload, *programs = sys.argv[1:]
    base = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
    shim = dict(base, LD_PRELOAD=preload, GPUMEM_REPORT="text")
    problems = []
    for program in programs:
        name = os.path.basename(program)
        for mode in ([], ["--mem-pool"], ["--without-access"], ["--disable-after"]):
            status, plain = run(program, mode, base)
            if status == 77:
                print(plain.strip())
                sys.exit(77)
            shim_status, under = run(program, mode, shim)
            label = f"{name} {' '.join(mode) or '(peer access)'}"
            outcome = [line for line in plain.splitlines() if line.startswith("peer_access: ")]
            shim_outcome = [line for line in under.splitlines() if line.startswith("peer_access: ")]
            print(f"check_peer_access: {label}: plain {outcome[-1:]} ; shim {shim_outcome[-1:]}",
                  flush=True)
            if status != 0 or shim_status != 0:
                problems.append(f"{label}: exit {status} plain, {shim_status} under the shim:\n"
                                f"{plain}\n---\n{under}")
            elif outcome[-1:] != shim_outcome[-1:]:
                problems.append(f"{label}: plain and the shim differ:\n{plain}\n---\n{under}")
            if "calls: allocations" not in under:
                problems.append(f"{label}: the shim served nothing:\n{under}")
    if problems:
        sys.exit("check_peer_access: FAILED:\n" + "\n".join(problems))
    print("check_peer_access: ok")


if __name__ == "__main__":
    main()
