#!/usr/bin/env python3
"""A job killed while it runs leaves a report: with GPUMEM_REPORT_INTERVAL the shim keeps a
snapshot current (written whole: never a half file), GPUMEM_REPORT_SIGNAL writes one on request,
and at a normal exit a snapshot the final report does not replace is removed.

    check_killed_job_report.py PRELOAD PROGRAM GPUMEM

PROGRAM is exit_program (two cudaMalloc calls, then `--wait SECONDS`); GPUMEM the command,
whose `gpumem report` must read the snapshot back.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

problems = []


def start(program, env, wait):
    child = subprocess.Popen([program, "--wait", str(wait)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    if line.strip() != "exit_program: waiting":
        child.kill()
        sys.exit(f"check_killed_job_report: the program did not start waiting: {line!r}")
    return child


def wait_for(path, contains, seconds=10):
    """The file's text once it holds `contains`; None after `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as file:
                text = file.read()
            if contains in text:
                return text
        time.sleep(0.05)
    return None


def main():
    preload, program, gpumem = sys.argv[1:]
    base = {key: value for key, value in os.environ.items() if not key.startswith("GPUMEM_")}
    with tempfile.TemporaryDirectory() as folder:
        # 1. Snapshots every second, JSON; the job is killed (SIGTERM's default action).
        env = dict(base, LD_PRELOAD=preload, GPUMEM_REPORT="json", GPUMEM_REPORT_INTERVAL="1",
                   GPUMEM_REPORT_FILE=os.path.join(folder, "snap-{pid}.json"))
        child = start(program, env, 60)
        path = os.path.join(folder, f"snap-{child.pid}.json")
        text = wait_for(path, '"allocations": 2')
        child.send_signal(signal.SIGTERM)
        _, said = child.communicate(timeout=30)
        if text is None:
            problems.append(f"no snapshot with both allocations in {path} within 10 s; found "
                            f"{os.listdir(folder)}; stderr: {said}")
        else:
            report = json.loads(text)
            if report["written"] != "as a snapshot, while the program runs":
                problems.append(f"the snapshot says it was written {report['written']!r}")
            if report["devices"][0]["in_use"]["now_bytes"] != (1 << 20) + 4096:
                problems.append(f"the snapshot's bytes in use: {report['devices'][0]['in_use']}")
            if f"gpumem: report snapshots every 1 s in {path}" not in said:
                problems.append(f"stderr does not say where the snapshots go: {said!r}")
            shown = subprocess.run([gpumem, "report", path], capture_output=True, text=True)
            if shown.returncode != 0 or "calls: allocations 2, " not in shown.stdout:
                problems.append(f"gpumem report on the snapshot: {shown.returncode}\n"
                                f"{shown.stdout}{shown.stderr}")
        if child.returncode != -signal.SIGTERM:
            problems.append(f"the program ended with {child.returncode}, not by SIGTERM: the "
                            f"shim must not change how a signal ends it")
        if glob.glob(os.path.join(folder, "*.partial*")):
            problems.append(f"a partial report was left: {os.listdir(folder)}")

        # 2. A report on request (SIGUSR1), text in a file; then SIGKILL.
        env = dict(base, LD_PRELOAD=preload, GPUMEM_REPORT="text",
                   GPUMEM_REPORT_SIGNAL="SIGUSR1",
                   GPUMEM_REPORT_FILE=os.path.join(folder, "asked-{pid}.txt"))
        child = start(program, env, 60)
        path = os.path.join(folder, f"asked-{child.pid}.txt")
        # The shim sets its handler up with the first stack: ask until a report appears.
        text = None
        for _ in range(50):
            child.send_signal(signal.SIGUSR1)
            text = wait_for(path, "written on request", 0.2)
            if text is not None:
                break
        child.kill()
        child.communicate(timeout=30)
        if text is None or "calls: allocations 2, " not in text:
            problems.append(f"no report on request in {path}: {text!r}")

        # 3. A normal exit with the text report on stderr: the snapshot file goes.
        env = dict(base, LD_PRELOAD=preload, GPUMEM_REPORT="text", GPUMEM_REPORT_INTERVAL="1")
        child = subprocess.Popen([program, "--wait", "2.5"], env=env, cwd=folder,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        output, said = child.communicate(timeout=60)
        snapshot = os.path.join(folder, f"gpumem-report-{child.pid}.txt")
        if child.returncode != 0 or "written at exit" not in said:
            problems.append(f"the program with snapshots ended with {child.returncode}: "
                            f"{output}{said}")
        if f"report snapshots every 1 s in gpumem-report-{child.pid}.txt" not in said:
            problems.append(f"no snapshot was announced within 2.5 s: {said!r}")
        if os.path.exists(snapshot):
            problems.append(f"{snapshot} is left after the report went to stderr")
    if problems:
        sys.exit("check_killed_job_report: FAILED:\n" + "\n".join(problems))
    print("check_killed_job_report: ok: a snapshot survived SIGTERM, a report came on SIGUSR1, "
          "and a normal exit left no stale snapshot")


if __name__ == "__main__":
    main()
