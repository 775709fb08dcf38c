#!/usr/bin/env python3
"""Under the quarantine (the default free policy) a freed block waits for a device barrier
before it goes down the stack, yet the logging layer's row for the free comes when the program
frees it, and only once: a log read while the program runs shows the free, and the log at exit
has one free row for it.

    check_free_logged_at_once.py PRELOAD PROGRAM

PROGRAM is exit_program (`--free-and-wait SECONDS` frees its 4 KiB block and waits).
"""
import csv
import os
import subprocess
import sys
import tempfile
import time


def rows(path):
    with open(path) as file:
        return list(csv.reader(file))


def main():
    preload, program = sys.argv[1:]
    with tempfile.TemporaryDirectory() as folder:
        log = os.path.join(folder, "log.csv")
        env = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
        env.update(LD_PRELOAD=preload, GPUMEM_STACK="logging,pool,expandable",
                   GPUMEM_LOGGING_FILE=log, GPUMEM_LOGGING_FLUSH="every_event")
        child = subprocess.Popen([program, "--free-and-wait", "3"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = child.stdout.readline().strip()
        if not line.startswith("exit_program: freed "):
            child.kill()
            sys.exit(f"check_free_logged_at_once: the program did not free: {line!r}")
        freed = int(line.split()[2].rstrip(","), 16)
        time.sleep(0.2)
        while_running = rows(log)
        output, said = child.communicate(timeout=60)
        at_exit = rows(log)
    problems = []

    def frees(table):
        return [row for row in table[1:] if row[2] == "free" and int(row[3], 16) == freed]

    if len(frees(while_running)) != 1:
        problems.append(f"while the program waits, the log has {len(frees(while_running))} free "
                        f"rows of {freed:#x} (the quarantine holds the block; the row must be "
                        f"there already):\n{while_running}")
    if len(frees(at_exit)) != 1:
        problems.append(f"at exit the log has {len(frees(at_exit))} free rows of {freed:#x}, "
                        f"expected one:\n{at_exit}")
    if child.returncode != 0:
        problems.append(f"the program ended with {child.returncode}: {output}{said}")
    # A logging layer under the pool sees the pool's slabs, not the program's blocks: nothing
    # is logged ahead there, and every free row is of something the log saw allocated.
    with tempfile.TemporaryDirectory() as folder:
        log = os.path.join(folder, "log.csv")
        env = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
        env.update(LD_PRELOAD=preload, GPUMEM_STACK="pool,logging,cuda",
                   GPUMEM_POOL_INITIAL_SIZE="0", GPUMEM_LOGGING_FILE=log,
                   GPUMEM_LOGGING_FLUSH="every_event")
        done = subprocess.run([program, "--free-and-wait", "0.1"], env=env, capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            problems.append(f"under pool,logging,cuda the program ended with {done.returncode}: "
                            f"{done.stdout}{done.stderr}")
        else:
            allocated = set()
            for row in rows(log)[1:]:
                if row[2] == "allocate":
                    allocated.add(row[3])
                elif row[2] == "free" and row[3] not in allocated:
                    problems.append(f"under pool,logging,cuda a free of {row[3]}, which the log "
                                    f"never saw allocated")
    if problems:
        sys.exit("check_free_logged_at_once: FAILED:\n" + "\n".join(problems))
    print(f"check_free_logged_at_once: ok: the free of {freed:#x} was logged while the block "
          f"waited in the quarantine, once")


if __name__ == "__main__":
    main()
