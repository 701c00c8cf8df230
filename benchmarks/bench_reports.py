"""How long a capacity report takes to build and render, per format, in-process.

``planner report gtc2024 --format html --out X`` is one process: Python and CLI start-up, then
:func:`planner.reports.build_report` and :func:`planner.reports.write_report`. This benchmark
times the report path alone (after ``import planner.reports``), as the CLI calls it:
``resolve_format`` -> ``build_report`` -> ``render_report``.

- cold: the first report of a fresh interpreter (lazy imports such as openpyxl and the chart
  engine's one-off start-up included), each repeat in a new subprocess;
- warm: the same report again in the same process;
- CPU: the process's CPU seconds for the cold report (all threads), which a loaded machine
  disturbs less than the wall-clock time; "proc CPU" is the whole child process's (its
  imports, both reports and the chart engine's helper process, see
  :mod:`planner.reports.charts`).

``import planner.reports`` imports no core module since the package imports them on use
(so ``planner report`` can start an HTML report's chart engine first): the core's imports
are in the cold build.

Medians of ``--repeat`` runs (default 5).

    .venv/bin/python benchmarks/bench_reports.py [--repeat 5] [--subject plan] [--format html]

Before/after a change: `git archive BASE planner data | tar -x -C /tmp/base`, then
`--tree /tmp/base --tree .` times both trees, their runs interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    t, c = time.perf_counter(), time.process_time()
    key = pr.resolve_format(fmt, "report." + fmt)  # as the CLI: the format of an --out file
    kwargs = dict(subject)
    scenario = kwargs.pop("scenario", None)
    report = pr.build_report(resolve(scenario) if scenario else None, **kwargs)
    t_build = time.perf_counter() - t
    data = pr.render_report(report, key)
    return t_build, time.perf_counter() - t, len(data), time.process_time() - c
cold = once()
warm_runs = [once() for _ in range(warm)]
print(json.dumps({"import": t_import, "cold": cold, "warm": warm_runs}))
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_child(subject: dict[str, str], fmt: str, warm: int, tree: str | None = None) -> dict:
    env = dict(os.environ)
    cpu = _children_cpu()
    if tree:  # the child's working directory comes first on its path (python -c)
        env["PYTHONPATH"] = tree = os.path.abspath(tree)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([subject, fmt, warm])],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "proc_cpu": _children_cpu() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--subject", choices=[*SUBJECTS, "all"], default="plan")
    parser.add_argument("--format", choices=[*FORMATS, "all"], default="all")
    parser.add_argument(
        "--tree",
        action="append",
        help="a source tree to time (PYTHONPATH of the child); give it twice to compare two "
        "trees (e.g. a `git archive` of the base commit) with their runs interleaved, so that "
        "both see the same load",
    )
    args = parser.parse_args()
    trees = args.tree or [None]
    subjects = list(SUBJECTS) if args.subject == "all" else [args.subject]
    formats = list(FORMATS) if args.format == "all" else [args.format]
    print(f"median of {args.repeat}; seconds; import = `import planner.reports` (not included)")
    print(
        f"{'tree':<6}{'subject':<11}{'format':<7}{'import':>8}{'cold build':>12}"
        f"{'cold total':>12}{'cold CPU':>10}{'warm build':>12}{'warm total':>12}{'bytes':>10}"
        f"{'proc CPU':>10}"
    )
    med = statistics.median
    for name in subjects:
        for fmt in formats:
            runs: dict[int, list[dict]] = {i: [] for i in range(len(trees))}
            for _ in range(args.repeat):
                for i, tree in enumerate(trees):
                    runs[i].append(run_child(SUBJECTS[name], fmt, 1, tree))
            for i, rs in runs.items():
                imp = med(r["import"] for r in rs)
                cb = med(r["cold"][0] for r in rs)
                ct = med(r["cold"][1] for r in rs)
                cc = med(r["cold"][3] for r in rs)
                wb = med(w[0] for r in rs for w in r["warm"])
                wt = med(w[1] for r in rs for w in r["warm"])
                size = rs[-1]["cold"][2]
                pc = med(r["proc_cpu"] for r in rs)
                print(
                    f"{i:<6}{name:<11}{fmt:<7}{imp:8.2f}{cb:12.2f}{ct:12.2f}{cc:10.2f}{wb:12.2f}"
                    f"{wt:12.2f}{size:10,}{pc:10.2f}"
                )


if __name__ == "__main__":
    main()
