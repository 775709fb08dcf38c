#!/usr/bin/env python3
"""Runs a program under the shim with GPUMEM_REPORT=json and checks the report it leaves:
one file named with the program's pid, valid JSON, and counts that match what the program
did (exit_program: two cudaMalloc calls, of 1 MiB and 4 KiB, one of them never freed).

    check_json_report.py PRELOAD PROGRAM [ENV=VALUE ...]
"""
import glob
import json
import os
import subprocess
import sys
import tempfile


def main():
    preload, program, *settings = sys.argv[1:]
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, LD_PRELOAD=preload, GPUMEM_REPORT="json",
                   GPUMEM_REPORT_FILE=os.path.join(folder, "report-{pid}.json"))
        env.update(setting.split("=", 1) for setting in settings)
        child = subprocess.Popen([program], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        output, said = child.communicate()
        if child.returncode != 0:
            sys.exit(f"check_json_report: {program} exited with {child.returncode}:\n{output}")
        files = glob.glob(os.path.join(folder, "*"))
        expected = os.path.join(folder, f"report-{child.pid}.json")
        if f"gpumem: report written to {expected}\n" not in said:
            sys.exit(f"check_json_report: stderr does not say where the report is:\n{said}")
        if files != [expected]:
            sys.exit(f"check_json_report: expected only {expected}, found {files}")
        with open(expected) as file:
            report = json.load(file)
    problems = []
    if report["pid"] != child.pid:
        problems.append(f"pid {report['pid']} is not the program's {child.pid}")
    devices = report["devices"]
    if len(devices) != 1:
        problems.append(f"{len(devices)} devices, expected 1")
    else:
        device = devices[0]
        calls, in_use, layers = device["calls"], device["in_use"], device["layers"]
        for what, value, expected in [("device", device["device"], 0),
                                      ("allocations", calls["allocations"], 2),
                                      ("out of memory", calls["out_of_memory"], 0),
                                      ("total allocated", in_use["total_allocated_bytes"], (1 << 20) + 4096),
                                      ("allocations up to 4 KiB", device["allocations_by_size"]["up_to_4_KiB"], 1),
                                      ("allocations up to 1 MiB", device["allocations_by_size"]["up_to_1_MiB"], 1)]:
            if value != expected:
                problems.append(f"{what} = {value}, expected {expected}")
        if device["stack"] != "pool > expandable" or list(layers) != ["pool", "expandable"]:
            problems.append(f"stack {device['stack']} ({list(layers)}) is not the default pool over expandable")
        pool, expandable = layers.get("pool", {}), layers.get("expandable", {})
        if expandable.get("mapped_bytes") != device["held_from_cuda_bytes"] or \
                expandable.get("maps", 0) < 1 or expandable.get("virtual_bytes", 0) < device["memory_bytes"]:
            problems.append(f"the expandable source's figures {expandable} do not match the "
                            f"{device['held_from_cuda_bytes']} bytes held")
        if not pool.get("reserved_bytes", 0) >= in_use["now_bytes"] > 0:
            problems.append(f"the pool's reserve {pool.get('reserved_bytes')} does not hold the {in_use['now_bytes']} bytes in use")
        if not 0 < in_use["peak_at_s"] <= report["after_s"]:
            problems.append(f"the peak at {in_use['peak_at_s']} s is not within the run ({report['after_s']} s)")
        if device["quarantine"] != {"blocks": 0, "size_bytes": 0, "barriers_on_the_barrier_thread": 0}:
            problems.append("the program freed nothing, yet the quarantine holds blocks or ran barriers")
        if not 0.0 <= pool.get("fragmentation_percent", -1) <= 100.0:
            problems.append(f"fragmentation {pool.get('fragmentation_percent')} is not a percentage")
        if report["written"] != "at exit":
            problems.append(f"written {report['written']!r}, expected 'at exit'")
    if problems:
        sys.exit("check_json_report: " + "; ".join(problems) + f"\nreport: {json.dumps(report)}")
    print(f"check_json_report: ok: {json.dumps(report)}")


if __name__ == "__main__":
    main()
