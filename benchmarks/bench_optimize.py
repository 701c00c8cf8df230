"""Benchmark the cluster optimiser: 13 chips x 5 runs, build and solve timed separately.

Run: ``.venv/bin/python benchmarks/bench_optimize.py`` (prints numbers; asserts nothing).

Steps timed (median of REPEATS):

- build_model: the coefficient table (one core ``size_training`` call per run x chip) and limits;
- formulate: the PuLP problem for the primary objective;
- solve: the solver call alone (HiGHS via highspy, and CBC);
- full solve(): every solver call of a plan (objective, tie-break, binding re-solves) plus the
  read-back and the side-by-side of every chip.
"""

from __future__ import annotations

import statistics
import time

from planner.catalog import load_catalog
from planner.optimization import (
    _formulate,
    _run,
    available_solvers,
    build_model,
    solve,
)
from planner.scenarios import scenario_from_dict

REPEATS = 7

# Prices for the chips the catalog leaves unpriced (benchmark placeholders, not estimates).
PLACEHOLDER_PRICE_USD_PER_GPU = {
    "a100-80gb": 15000,
    "h100-pcie": 25000,
    "h800": 30000,
    "h200": 32000,
    "b300": 45000,
    "gb300": 50000,
    "mi325x": 15000,
}


def scenario():  # noqa: ANN201 - Scenario
    cat = load_catalog()
    assert len(cat) == 13, len(cat)
    runs = [
        {"name": f"run{i}", "flops": flops, "deadline_days": days}
        for i, (flops, days) in enumerate(
            [(2e25, 90), (3e24, 30), (5e24, 60), (1e24, 14), (8e24, 120)]
        )
    ]
    return scenario_from_dict(
        {
            "title": "benchmark: 13 chips x 5 runs",
            "budget_usd": 3e9,
            "site": {"grid_limit_mw": 60, "pue": 1.2},
            "runs": runs,
            "candidates": {
                "chips": cat.ids,
                "pricing": "buy",
                "price_usd_per_gpu": PLACEHOLDER_PRICE_USD_PER_GPU,
            },
        },
        source="benchmark",
    )


def timed(fn, repeats=REPEATS):  # noqa: ANN001, ANN201
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    s = scenario()
    load_catalog()  # warm the catalog cache
    for objective in ("cost", "time"):
        build_s, model = timed(lambda o=objective: build_model(s, objective=o))
        n_pairs = len(model.options)
        form_s, _ = timed(lambda m=model, o=objective: _formulate(m, o))
        print(
            f"objective={objective}: {n_pairs} (run, chip) pairs, "
            f"{len(_formulate(model, objective).problem.variables())} variables"
        )
        print(f"  build_model (coefficients via size_training): {build_s * 1e3:8.1f} ms")
        print(f"  formulate PuLP problem:                       {form_s * 1e3:8.1f} ms")
        for solver in available_solvers():

            def one_solve(m=model, o=objective, sv=solver):  # noqa: ANN001, ANN202
                return _run(_formulate(m, o), sv, None)

            total_s, out = timed(one_solve)
            print(
                f"  solve {solver:<5} (primary objective, solver call): "
                f"{out.solve_s * 1e3:8.1f} ms  status {out.status}"
            )
            plan_s, plan = timed(lambda m=model, sv=solver: solve(m, solver=sv))
            print(
                f"  full solve() {solver:<5}: {plan_s * 1e3:8.1f} ms "
                f"({plan.timings['solver_calls']:.0f} solver calls, "
                f"{plan.timings['solve_s'] * 1e3:.1f} ms in the solver); {plan.status}"
            )
            print(f"    plan: {plan.message}")


if __name__ == "__main__":
    main()
