"""The generated scenario of ``benchmarks/bench_optimize.py`` for the optimiser tests: R
concurrent runs on every catalog chip, the whole purchase priced (capex)."""

from __future__ import annotations

from planner.catalog import load_catalog
from planner.scenarios import Scenario, scenario_from_dict

#: The five base runs (FLOPs, deadline days), cycled with a spread factor, as the benchmark's.
BASE_RUNS = [(2e25, 90), (3e24, 30), (5e24, 60), (1e24, 14), (8e24, 120)]


def many_runs(n_runs: int, goodput: float | None = None) -> Scenario:
    """``n_runs`` runs whose FLOPs spread by up to x3 (deterministic), a grid of 12 MW and a
    budget of USD 600M per run; ``goodput`` stated on every run (None: goodput(N))."""
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
            "title": f"{n_runs} runs on every chip",
            "budget_usd": 6e8 * n_runs,
            "site": {"grid_limit_mw": 12.0 * n_runs, "pue": 1.2},
            "runs": runs,
            "candidates": {"chips": load_catalog().ids, "pricing": "capex"},
        },
        source="test",
    )
