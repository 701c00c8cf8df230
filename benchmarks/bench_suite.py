"""How long the test suite takes: wall clock, tests counted, time by file and the slowest tests.

Runs pytest as ``dev.py test`` does (``-n auto --dist loadgroup``, or ``--workers N``; ``0``
runs in one process) with a JUnit XML report in a temporary folder, then prints the wall
clock, the number of tests (passed / skipped / failed), the summed test time of each file and
the slowest tests. Extra arguments go to pytest (a file, ``-k``...).

    .venv/bin/python benchmarks/bench_suite.py [--workers auto] [--top 25] [pytest args...]

Target: the whole suite in under 3 minutes of wall clock on a quiet 2-core machine.

Before (one process, no xdist): 1,322 tests collected, 1,319 passed + 3 skipped in 738 s of
pytest time (about 12 min with imports) on a quiet 2-core machine. The CLI fuzz alone took
~215 s there (120 ``planner`` processes, ~1.6 s of imports each).

After (``-n auto`` = 2 workers, ``--dist loadgroup``), measured once on the 2-core machine
while six other sessions loaded it (load average 13 at the start, 2 at the end; this run got
38 % of the CPU): 1,326 tests collected, 1,321 passed + 3 skipped + 2 failed (two tests
that assume a temporary path of at most 80 characters, which xdist's ``popen-gwN/`` folder
exceeds), 878 s of wall clock for **340 s of CPU** (``/usr/bin/time``: user + system of
every worker and every subprocess waited for) against ~740 s of single-process run before:
about 170-180 s of wall clock on two quiet cores. The CLI fuzz now runs its 120 cases in one
process (~10 s of CPU). Summed test time by file in that (loaded) run: test_app_browser 263 s
(one worker, mostly waiting on Chromium and the server), test_optimization 241,
test_cli_contract 231 (real processes), test_optimization_numerics 124, test_cli_fuzz 117,
test_app_fuzz 113, test_app_pages 91, test_wheel 75, test_serving 63, test_reports 58.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="auto", help="pytest-xdist workers (0: one process)")
    parser.add_argument("--top", type=int, default=25, help="how many files and tests to list")
    args, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if args.workers != "0":
            cmd += ["-n", args.workers, "--dist", "loadgroup"]
        cmd += [f"--junitxml={report}", *pytest_args]
        print(" ".join(cmd), flush=True)
        start = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT, env=dict(os.environ))
        wall = time.monotonic() - start
        cases = list(ET.parse(report).iter("testcase")) if report.exists() else []
    by_file: dict[str, float] = defaultdict(float)
    tests: list[tuple[float, str]] = []
    outcome: dict[str, int] = defaultdict(int)
    for case in cases:
        seconds = float(case.get("time") or 0.0)
        name = f"{case.get('classname')}::{case.get('name')}"
        by_file[".".join(str(case.get("classname")).split(".")[:2])] += seconds  # tests.test_x
        tests.append((seconds, name))
        kind = next((c.tag for c in case if c.tag in ("skipped", "failure", "error")), "passed")
        outcome[kind] += 1
    total = sum(t for t, _ in tests)
    print(
        f"\nwall clock {wall:.1f} s; {len(cases)} tests {dict(outcome)}; summed test time {total:.1f} s"
    )
    print(f"\nsummed test time by file (top {args.top}):")
    for name, seconds in sorted(by_file.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {seconds:7.1f} s  {name}")
    print(f"\nslowest tests (top {args.top}):")
    for seconds, name in sorted(tests, reverse=True)[: args.top]:
        print(f"  {seconds:7.2f} s  {name}")
    return code


if __name__ == "__main__":
    sys.exit(main())
