"""The generated scenario of ``benchmarks/bench_optimize.py`` for the optimiser tests: R
concurrent runs on every catalog chip, the whole purchase priced (capex). The benchmark's own
:func:`scenario`, loaded from its file, so a test and the benchmark measure the same model."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

from planner.scenarios import Scenario

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_optimize.py"


@cache
def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_optimize", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def many_runs(n_runs: int, goodput: float | None = None) -> Scenario:
    """``n_runs`` runs whose FLOPs spread by up to x3 (deterministic), a grid of 12 MW and a
    budget of USD 600M per run; ``goodput`` stated on every run (None: goodput(N))."""
    return _benchmark().scenario(n_runs, goodput=goodput)
