"""Start-up time of the ``planner`` command: whole processes, median of several runs.

Each command runs as a fresh process of the virtualenv's ``planner`` console script, with
``PYTHONPATH`` set to the checkout under test, so the time includes the interpreter start,
every import and the work of the command itself.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--tree .] [--planner PATH]

Targets: ``--version`` and ``--help`` under 0.3 s; ``size --preset gtc2024-hopper --json``
under 0.8 s.

Measured on a 2-core machine shared with other jobs (load average printed beside the table;
numbers below are medians of 5 runs, seconds):

    command                                       before   after
    --version                                     {BEFORE_VERSION}
    --help                                        {BEFORE_HELP}
    size --preset gtc2024-hopper --json           {BEFORE_SIZE}
    report gtc2024 --format html --out tmp        {BEFORE_HTML}
    report gtc2024 --format xlsx --out tmp        {BEFORE_XLSX}
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: list[tuple[str, list[str]]] = [
    ("--version", ["--version"]),
    ("--help", ["--help"]),
    ("size --preset gtc2024-hopper --json", ["size", "--preset", "gtc2024-hopper", "--json"]),
    ("report gtc2024 --format html --out tmp", ["report", "gtc2024", "--format", "html"]),
    ("report gtc2024 --format xlsx --out tmp", ["report", "gtc2024", "--format", "xlsx"]),
]


def _default_planner() -> str:
    beside = Path(sys.executable).with_name("planner")
    return str(beside) if beside.exists() else (shutil.which("planner") or "planner")


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:  # pragma: no cover - no load average on this platform
        return "load n/a"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def time_command(
    planner: str, args: list[str], env: dict[str, str], runs: int, out: Path
) -> list[float]:
    times = []
    for i in range(runs):
        argv = [planner, *args]
        if args[0] == "report":
            argv += ["--out", str(out / f"report-{i}.{args[-1]}")]
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}"
            )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median shown)")
    parser.add_argument(
        "--tree",
        type=Path,
        default=Path(__file__).resolve().parents[1],
        help="checkout whose planner package is timed (PYTHONPATH)",
    )
    parser.add_argument("--planner", default=_default_planner(), help="the console script")
    parser.add_argument("--only", nargs="*", help="substrings of the commands to run")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.tree.resolve()))
    print(f"tree {args.tree.resolve()}; {args.runs} runs each; {_load()} before")
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in COMMANDS:
            if args.only and not any(s in name for s in args.only):
                continue
            times = time_command(args.planner, argv, env, args.runs, Path(tmp))
            print(
                f"{name:<45} median {statistics.median(times):6.3f} s"
                f"  (min {min(times):.3f}, max {max(times):.3f})",
                flush=True,
            )
    print(f"{_load()} after")


if __name__ == "__main__":
    main()
