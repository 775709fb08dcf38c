#!/usr/bin/env python3
"""Runs several processes of a program at once under the shim's default configuration on one
GPU and checks that every one finishes and holds little: each writes its JSON report, and the
memory its stack held at exit and the most its expandable source ever mapped stay within the
bound. Prints one line per process (what the issue asks to be reported).

    check_concurrent_programs.py PRELOAD PROGRAM PROCESSES MAX_HELD_MIB [PROGRAM ARGS...]
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

MiB = 1 << 20


def main():
    preload, program, processes, max_held_mib, *arguments = sys.argv[1:]
    processes, bound = int(processes), int(max_held_mib) * MiB
    problems = []
    with tempfile.TemporaryDirectory() as folder:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
        env.update(LD_PRELOAD=preload, GPUMEM_REPORT="json",
                   GPUMEM_REPORT_FILE=os.path.join(folder, "report-{pid}.json"))
        children = [subprocess.Popen([program, *arguments], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                    for _ in range(processes)]
        for index, child in enumerate(children):
            output, _ = child.communicate(timeout=600)
            report_path = os.path.join(folder, f"report-{child.pid}.json")
            if child.returncode != 0:
                problems.append(f"process {index} (pid {child.pid}) exited with "
                                f"{child.returncode}:\n{output}")
                continue
            if not os.path.exists(report_path):
                problems.append(f"process {index} (pid {child.pid}) left no report; found "
                                f"{glob.glob(os.path.join(folder, '*'))}")
                continue
            with open(report_path) as file:
                device = json.load(file)["devices"][0]
            expandable = device["layers"].get("expandable")
            held = device["held_from_cuda_bytes"]
            peak = expandable["peak_mapped_bytes"] if expandable else held
            print(f"process {index} (pid {child.pid}): exit 0, stack {device['stack']}, "
                  f"peak in use {device['in_use']['peak_bytes'] / MiB:.1f} MiB, held at exit "
                  f"{held / MiB:.1f} MiB, most mapped {peak / MiB:.1f} MiB")
            if expandable is None:
                problems.append(f"process {index}: the default stack has no expandable source "
                                f"({device['stack']})")
            if held > bound or peak > bound:
                problems.append(f"process {index} held {held / MiB:.1f} MiB at exit and mapped "
                                f"at most {peak / MiB:.1f} MiB: over {max_held_mib} MiB")
    if problems:
        sys.exit("check_concurrent_programs: FAILED:\n" + "\n".join(problems))
    print(f"check_concurrent_programs: {processes} processes finished, each within "
          f"{max_held_mib} MiB")


if __name__ == "__main__":
    main()
