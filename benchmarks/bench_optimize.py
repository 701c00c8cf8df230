"""Benchmark the cluster optimiser on generated scenarios: R runs x 13 chips.

Run::

    .venv/bin/python benchmarks/bench_optimize.py                       # 5, 50, 200 runs
    .venv/bin/python benchmarks/bench_optimize.py --sizes 5,50 --objectives cost,time
    .venv/bin/python benchmarks/bench_optimize.py --mixed no --repeats 3
    .venv/bin/python benchmarks/bench_optimize.py --module /tmp/optimization_old.py  # compare

Prints numbers; asserts nothing. For each size, objective and chip mode (one chip per run,
mixed chips) it reports, for one full :func:`planner.optimization.solve` (objective,
tie-breaks, binding re-solves, read-back; no side-by-side table, no relaxations):

- ``build``: :func:`build_model` (the coefficient table from the core's ``size_training``);
- ``solve``: the whole ``solve()`` call (wall clock), ``cpu s``: the process CPU time of that
  call (every thread: on a shared machine the wall clock is inflated by other processes, the CPU
  time much less), and of it ``in solver``: time inside the solver calls, and the number of
  solver calls;
- ``gap``: the relative gap proven for the objective (``plan.timings["mip_gap"]``; ``-`` when
  the optimiser does not report one);
- the status and the objective value (to compare implementations: same value expected).

``--module PATH`` loads another copy of the optimiser to measure before/after on one machine:
a single-file version from before the package split (``git show
ced1bd7:planner/optimization.py > /tmp/old.py``). To compare two package versions, run this
script in each checkout.
``--time-limit-s`` bounds each ``solve()`` (default none; a plan that hits it says so).
``--pricing`` (default capex) prices the chips; ``--cold`` times every build as a new process
would (fresh scenario copy, run-model MFU cache cleared): without it an objective after the
first re-uses the scenario's cached assumptions.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from types import ModuleType
from typing import Any

from planner.catalog import load_catalog
from planner.scenarios import Scenario, _run_model_mfu, scenario_from_dict

#: The five runs of the original benchmark (FLOPs, deadline days), cycled with a spread factor.
BASE_RUNS = [(2e25, 90), (3e24, 30), (5e24, 60), (1e24, 14), (8e24, 120)]


def scenario(n_runs: int = 5, pricing: str = "capex", goodput: float | None = None) -> Scenario:
    """``n_runs`` concurrent runs on every catalog chip (13), PUE 1.2, priced by
    data/chip_economics.csv (every shipped chip has a row) under ``pricing`` (default capex,
    the whole purchase: the former "buy" of this benchmark).

    Runs cycle through :data:`BASE_RUNS` with their FLOPs spread by up to x3 (deterministic),
    so no two runs are identical. The grid (12 MW per run) and the budget (USD 600M per run)
    grow with the number of runs, so the limits bind about as often at every size.
    ``goodput``: stated on every run (one MILP per solve); None: goodput(N) from the failure
    model, re-solved to its fixed point (planner.optimization.goodput_loop), as a user gets.
    """
    cat = load_catalog()
    assert len(cat) == 13, len(cat)
    runs = []
    for i in range(n_runs):
        flops, days = BASE_RUNS[i % len(BASE_RUNS)]
        spread = 1.0 + 2.0 * ((i * 37) % 101) / 100.0
        run = {"name": f"run{i}", "flops": flops * spread / 2.0, "deadline_days": days}
        if goodput is not None:
            run["goodput"] = goodput
        runs.append(run)
    return scenario_from_dict(
        {
            "title": f"benchmark: 13 chips x {n_runs} runs",
            "budget_usd": 6e8 * n_runs,
            "site": {"grid_limit_mw": 12.0 * n_runs, "pue": 1.2},
            "runs": runs,
            "candidates": {"chips": cat.ids, "pricing": pricing},
        },
        source="benchmark",
    )


def _load(path: str | None) -> ModuleType:
    if path is None:
        import planner.optimization as mod

        return mod
    spec = importlib.util.spec_from_file_location("planner._bench_optimization", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def bench_one(
    opt: ModuleType,
    s: Scenario,
    objective: str,
    mixed: bool,
    repeats: int,
    time_limit_s: float | None,
    cold: bool = False,
) -> dict[str, Any]:
    """Median build and solve times of ``repeats`` runs, with the last plan's numbers.

    ``cold``: each build starts from a fresh copy of the scenario with the run-model MFU cache
    cleared (what a new process pays); else a scenario's cached assumptions are re-used
    (an objective after the first, a repeat).
    """
    builds, solves, cpus = [], [], []
    plan = None
    for _ in range(repeats):
        if cold:
            _run_model_mfu.cache_clear()
            s = s.model_copy(deep=True)
        start = time.perf_counter()
        model = opt.build_model(s, objective=objective, allow_mixed_chips=mixed)
        builds.append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.process_time()
        plan = opt.solve(model, time_limit_s=time_limit_s, relaxations=False, comparison=False)
        solves.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    assert plan is not None
    return {
        "build_s": statistics.median(builds),
        "solve_s": statistics.median(solves),
        "cpu_s": statistics.median(cpus),
        "gap": plan.timings.get("mip_gap"),
        "solver_s": plan.timings["solve_s"],
        "calls": plan.timings["solver_calls"],
        "status": plan.status,
        "value": plan.objective_value,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="5,50,200", help="runs per scenario, comma-separated")
    parser.add_argument("--objectives", default="cost,time", help="comma-separated objectives")
    parser.add_argument("--mixed", choices=["no", "yes", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--time-limit-s", type=float, default=None)
    parser.add_argument("--pricing", default="capex", help="amortized, rent or capex")
    parser.add_argument(
        "--goodput",
        type=float,
        default=None,
        help="state this goodput on every run (one MILP per solve); default: goodput(N)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="every build from a fresh scenario copy with the run-model MFU cache cleared",
    )
    parser.add_argument(
        "--module",
        default=None,
        help="path of a single-file optimiser (optimization.py from before the package split)",
    )
    args = parser.parse_args(argv)
    opt = _load(args.module)
    load_catalog()  # warm the catalog cache
    modes = {"no": [False], "yes": [True], "both": [False, True]}[args.mixed]
    print(f"optimiser: {opt.__file__}")
    print(
        f"{'runs':>5} {'objective':<9} {'mixed':<5} {'build s':>8} {'solve s':>8} "
        f"{'cpu s':>8} {'in solver':>9} {'calls':>5} {'gap':>8}  status      value"
    )
    for size in (int(x) for x in args.sizes.split(",")):
        s = scenario(size, args.pricing, args.goodput)
        for objective in args.objectives.split(","):
            for mixed in modes:
                r = bench_one(
                    opt, s, objective, mixed, args.repeats, args.time_limit_s, cold=args.cold
                )
                value = "-" if r["value"] is None else f"{r['value']:.6g}"
                gap = "-" if r["gap"] is None else f"{r['gap']:.3%}"
                print(
                    f"{size:>5} {objective:<9} {str(mixed):<5} {r['build_s']:>8.2f} "
                    f"{r['solve_s']:>8.2f} {r['cpu_s']:>8.2f} {r['solver_s']:>9.2f} "
                    f"{r['calls']:>5.0f} {gap:>8}  {r['status']:<11} {value}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
