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

Then (quiet 2-core machine, ``pytest -n 2 --dist loadgroup``, ``/usr/bin/time`` around it):
1,930 tests in 247 s of wall clock for 438 s of CPU (user + system, every process). Now: 1,965
tests in 178-188 s for 309-318 s of CPU (runs of the same code vary by +-10% on this machine);
from a fresh clone, ``CI=true bash .ci/run``: ``[dev] tests took 2 min 50 s`` and ``2 min 48 s``
(two runs in a row, after the planner's bytecode is compiled on both cores first; before that
change 3 min 12 s and 3 min 27 s). The next day (1,967 tests, three fresh clones in one evening):
3 min 41 s (with one flaky browser failure, since fixed), 3 min 23 s and 2 min 54 s; in the same
hour the day-before code ran 199 s of pytest against today's 208 s in one checkout, of which the
new backtest-faces tests are 5.6 s of test time: the machine, not the suite, moved most. What
moved it, measured one at a time on the same machine:

- pytest-xdist's groups had silently stopped working under pytest 9.2 (pytest-xdist #1386): the
  browser tests ran on both workers, two Streamlit servers and two Chromiums at once.
  ``tests/conftest.py`` now writes the group into the structured node id and stops a run whose
  groups would be spread;
- Streamlit's AppTest scanned every installed distribution for components (0.3 s of CPU) and
  compiled every page script again on each new AppTest: once per worker now (test_app_serve
  18.6 -> 10.5 s; five AppTest and CLI files 107 -> 57 CPU-s);
- fork-server children skip the interpreter's module teardown (after atexit and the stdio
  flushes): ``planner --version`` 0.75 -> 0.07 s a call, ``validate --json`` 1.7 -> 0.5 s;
- the browser module shares one server and one Chromium, and reaches pages from the sidebar
  (alone: 89 -> 44-62 s; Chromium 23 -> 17 CPU-s in the every-page test);
- product speed that the tests share: ``planner validate`` 10.2 -> 1.9 s under cProfile (the
  serving fit's features built once), the projection report's backtest computed once (4.8 ->
  2.3 s), the optimiser's option arrays and reference scales (23% of the optimiser tests'
  CPU), binding tests once after the goodput(N) loop and ``solve(binding=False)`` for sweep
  points and solver cross-checks;
- budgets: the relaxation test on the shipped infeasible scenario only (the feasible ones
  solved once each), the app fuzz walk 173 -> 110 steps and 30 -> 20 links (every page
  reached), CBC's limit on mixed chips 10 -> 6 s.
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
