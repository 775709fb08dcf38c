#!/usr/bin/env python3
"""Runs a program under the shim with the logging layer (config/logging.toml, buffered) and
checks that the CSV it leaves holds every event the program made: the header, one allocate row
per cudaMalloc and one free row per cudaFree, each free after its allocate, even for frees that
were still in the quarantine when the program ended.

    check_log_at_exit.py PRELOAD CONFIG PROGRAM ALLOCATIONS
"""
import csv
import glob
import os
import subprocess
import sys
import tempfile


def main():
    preload, config, program, allocations = sys.argv[1:]
    allocations = int(allocations)
    with tempfile.TemporaryDirectory() as folder:
        env = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
        env.update(LD_PRELOAD=preload, GPUMEM_CONFIG=config,
                   GPUMEM_LOGGING_FILE=os.path.join(folder, "log-{pid}.csv"))
        done = subprocess.run([program, str(allocations)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"check_log_at_exit: {program} exited with {done.returncode}:\n"
                     f"{done.stdout}{done.stderr}")
        files = glob.glob(os.path.join(folder, "*.csv"))
        if len(files) != 1:
            sys.exit(f"check_log_at_exit: expected one log, found {files}")
        with open(files[0]) as file:
            rows = list(csv.reader(file))
    problems = []
    if not rows or rows[0] != ["Thread", "Time", "Action", "Pointer", "Size", "Stream"]:
        problems.append(f"the header is missing: first row {rows[:1]}")
    live, allocated, freed = set(), 0, 0
    for row in rows[1:]:
        action, pointer = row[2], row[3]
        if action == "allocate":
            allocated += 1
            live.add(pointer)
        elif action == "free":
            freed += 1
            if pointer not in live:
                problems.append(f"a free of {pointer} before its allocate")
            live.discard(pointer)
    if allocated != allocations or freed != allocations:
        problems.append(f"{allocated} allocate and {freed} free rows; the program made "
                        f"{allocations} of each")
    if problems:
        sys.exit("check_log_at_exit: FAILED:\n" + "\n".join(problems))
    print(f"check_log_at_exit: {len(rows)} rows: the header, {allocated} allocations and "
          f"{freed} frees")


if __name__ == "__main__":
    main()
