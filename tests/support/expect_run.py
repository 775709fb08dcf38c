#!/usr/bin/env python3
"""Runs a test's program and checks its exit status and its output together, so that a test
passes only when both hold. (ctest's PASS_REGULAR_EXPRESSION ignores the exit status: a
program that prints the expected line and then crashes would pass.)

    expect_run.py [--status N] [--output REGEX]... [--no-output REGEX]...
                  [--env NAME=VALUE]... [--skip-status N] -- PROGRAM [ARGS...]

  --status N        the exit status the program must end with (default 0); a program killed
                    by a signal never matches
  --output REGEX    must be found in the output (stdout and stderr together, in the order
                    written); Python's re syntax, '.' matching newlines too, ^ and $ at each
                    line's ends
  --no-output REGEX must not be found in the output
  --env NAME=VALUE  set for the program only, not for this script (LD_PRELOAD: the shim goes
                    into the program, not into Python)
  --skip-status N   a gpu test: when the program exits N and says "SKIPPED: <why>" (as
                    gpu_or_skip and the test main do where there is no GPU), exit N too, which
                    ctest reports as skipped. Without it, N is a status like any other.

Prints the program's output, then what was checked; exits 0 when everything holds, 1 when
something does not.
"""
import argparse
import os
import re
import signal
import subprocess
import sys


def described(status):
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"killed by {name}"
    return f"exit status {status}"


def main():
    parser = argparse.ArgumentParser(prog="expect_run.py")
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--output", action="append", default=[])
    parser.add_argument("--no-output", action="append", default=[])
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--skip-status", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no program to run (after --)")

    env = dict(os.environ)
    for setting in args.env:
        name, equals, value = setting.partition("=")
        if not equals:
            parser.error(f"--env {setting}: expected NAME=VALUE")
        env[name] = value

    sys.stdout.flush()
    try:
        child = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as error:
        print(f"expect_run: FAILED: cannot run {command[0]}: {error}")
        sys.exit(1)
    output = child.stdout.decode("utf-8", errors="backslashreplace")
    sys.stdout.write(output)
    if output and not output.endswith("\n"):
        sys.stdout.write("\n")

    if (args.skip_status is not None and child.returncode == args.skip_status
            and re.search(r"^SKIPPED: ", output, re.M)):
        print(f"expect_run: skipped ({described(child.returncode)})")
        sys.exit(args.skip_status)

    problems = []
    if child.returncode != args.status:
        problems.append(f"{described(child.returncode)}, expected exit status {args.status}")
    flags = re.S | re.M
    for pattern in args.output:
        if not re.search(pattern, output, flags):
            problems.append(f"not in the output: {pattern!r}")
    for pattern in args.no_output:
        found = re.search(pattern, output, flags)
        if found:
            problems.append(f"in the output, and must not be: {pattern!r} (found {found.group(0)!r})")
    shown = " ".join(command)
    if problems:
        print(f"expect_run: FAILED: {shown}")
        for problem in problems:
            print(f"expect_run:   {problem}")
        sys.exit(1)
    print(f"expect_run: ok: {described(child.returncode)}, "
          f"{len(args.output)} pattern(s) found, {len(args.no_output)} absent")


if __name__ == "__main__":
    main()
