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
        expected_counts = {"device": 0, "allocations": 2, "failures": 0, "bytes_total": (1 << 20) + 4096}
        for key, value in expected_counts.items():
            if device[key] != value:
                problems.append(f"{key} = {device[key]}, expected {value}")
        if device["stack"] != ["pool", "expandable"]:
            problems.append(f"stack {device['stack']} is not the default pool over expandable")
        expandable = device.get("expandable")
        if expandable is None or expandable["mapped"] != device["reserved"] or \
                expandable["map_calls"] < 1 or expandable["reserved_virtual"] < device["total_bytes"]:
            problems.append(f"the expandable source's figures {expandable} do not match the "
                            f"pool's {device['reserved']} bytes")
        if not device["reserved"] >= device["bytes_current"] > 0:
            problems.append(f"reserved {device['reserved']} does not hold the {device['bytes_current']} bytes in use")
        if device["quarantined_blocks"] != 0 or device["quarantined_bytes"] != 0:
            problems.append("the program freed nothing, yet the quarantine holds blocks")
        if not 0.0 <= device["fragmentation"] <= 1.0:
            problems.append(f"fragmentation {device['fragmentation']} is not a share")
    if problems:
        sys.exit("check_json_report: " + "; ".join(problems) + f"\nreport: {json.dumps(report)}")
    print(f"check_json_report: ok: {json.dumps(report)}")


if __name__ == "__main__":
    main()
