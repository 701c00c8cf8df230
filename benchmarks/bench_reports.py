"""How long a capacity report takes to build and render, per format, in-process.

``planner report gtc2024 --format html --out X`` is one process: Python and CLI start-up, then
:func:`planner.reports.build_report` and :func:`planner.reports.write_report`. This benchmark
times the report path alone (after ``import planner.reports``), as the CLI calls it:
``resolve_format`` -> ``build_report`` -> ``render_report``.

- cold: the first report of a fresh interpreter (lazy imports such as openpyxl and the chart
  engine's one-off start-up included), each repeat in a new subprocess;
- warm: the same report again in the same process.

Medians of ``--repeat`` runs (default 5).

    .venv/bin/python benchmarks/bench_reports.py [--repeat 5] [--subject plan] [--format html]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

#: What to report: the subject as ``build_report`` takes it.
SUBJECTS = {
    "plan": {"scenario": "gtc2024"},
    "sizing": {"preset": "gtc2024-hopper"},
    "serving": {"serve_preset": "chatgpt-2023"},
    "projection": {"scenario": "iea-2025-base"},
}
FORMATS = ("html", "xlsx", "md", "json")

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import planner.reports as pr
from planner.examples import resolve
t_import = time.perf_counter() - t0
subject, fmt, warm = json.loads(sys.argv[1])
def once():
    t = time.perf_counter()
    key = pr.resolve_format(fmt)
    kwargs = dict(subject)
    scenario = kwargs.pop("scenario", None)
    report = pr.build_report(resolve(scenario) if scenario else None, **kwargs)
    t_build = time.perf_counter() - t
    data = pr.render_report(report, key)
    return t_build, time.perf_counter() - t, len(data)
cold = once()
warm_runs = [once() for _ in range(warm)]
print(json.dumps({"import": t_import, "cold": cold, "warm": warm_runs}))
"""


def run_child(subject: dict[str, str], fmt: str, warm: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([subject, fmt, warm])],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--subject", choices=[*SUBJECTS, "all"], default="plan")
    parser.add_argument("--format", choices=[*FORMATS, "all"], default="all")
    args = parser.parse_args()
    subjects = list(SUBJECTS) if args.subject == "all" else [args.subject]
    formats = list(FORMATS) if args.format == "all" else [args.format]
    print(f"median of {args.repeat}; seconds; import = `import planner.reports` (not included)")
    print(
        f"{'subject':<11}{'format':<7}{'import':>8}{'cold build':>12}{'cold total':>12}"
        f"{'warm build':>12}{'warm total':>12}{'bytes':>10}"
    )
    for name in subjects:
        for fmt in formats:
            runs = [run_child(SUBJECTS[name], fmt, 1) for _ in range(args.repeat)]
            med = statistics.median
            imp = med(r["import"] for r in runs)
            cb = med(r["cold"][0] for r in runs)
            ct = med(r["cold"][1] for r in runs)
            wb = med(w[0] for r in runs for w in r["warm"])
            wt = med(w[1] for r in runs for w in r["warm"])
            size = runs[-1]["cold"][2]
            print(f"{name:<11}{fmt:<7}{imp:8.2f}{cb:12.2f}{ct:12.2f}{wb:12.2f}{wt:12.2f}{size:10,}")


if __name__ == "__main__":
    main()
