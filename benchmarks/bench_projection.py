"""Benchmark: the projection Monte Carlo, 10,000 samples x 12 years x 10 regions, and the
fleet model (reconciliation, demand by region, out-of-sample backtest).

Run: ``.venv/bin/python benchmarks/bench_projection.py``. Prints wall-clock timings (best of
five runs); no assertions (speed is measured here, not in the tests).

The model is the shipped IEA 2025 base case (eight chip generations; uncertain lifetime, load
factor, network overhead, shipment scale, PUE trajectory, non-AI load and growth), extended to
12 output years (2024-2035) and re-cut into ten regions. The shipped electricity table has
fewer than ten regions with consumption totals, so the benchmark swaps in a synthetic table
(nine regions of 1,000 TWh plus the residual 'Rest of world'); the code path is the same,
including a separate AI split (``ai_regions``) as in the shipped file since issue 11. The
shipped file itself (5 regions + World) is timed too, with the real electricity table.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pandas as pd

import planner.projection as projection
from planner import backtest, fleet
from planner.projection_scenarios import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
NAMES = [f"Region {i:02d}" for i in range(1, 10)]


def synthetic_electricity() -> pd.DataFrame:
    rows = [
        {
            "country": n,
            "year": 2024,
            "definition": "consumption",
            "kind": "estimate",
            "study": "",
            "electricity_twh": 1000.0,
            "source": "benchmark",
        }
        for n in NAMES
    ]
    rows.append(
        {
            "country": "World",
            "year": 2024,
            "definition": "consumption",
            "kind": "estimate",
            "study": "",
            "electricity_twh": 26200.0,
            "source": "benchmark",
        }
    )
    return pd.DataFrame(rows)


def scenario():
    raw = tomllib.loads((ROOT / "data/projections/iea-2025-base.toml").read_text(encoding="utf-8"))
    raw.pop("published", None)
    raw["years"] = "2024:2035"
    shares = {n: 0.09 for n in NAMES} | {projection.REST_OF_WORLD: 0.19}
    raw["regions"] = {"2024": shares, "2030": shares}
    ai_shares = {n: 0.08 for n in NAMES} | {projection.REST_OF_WORLD: 0.28}
    raw["ai_regions"] = {"2024": ai_shares}
    return parse_scenario(raw, "benchmark")


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    shipped = ROOT / "data/projections/iea-2025-base.toml"
    projection.project(shipped, samples=100, seed=0)  # warm-up
    t = best_of(lambda: projection.project(shipped, years="2024:2035", samples=10_000, seed=0))
    print(
        "projection Monte Carlo, shipped iea-2025-base: 10,000 samples x 12 years x 5 regions "
        f"(+ World): best of 5 = {t * 1000:6.1f} ms"
    )
    fleet.load_fleet()
    t = best_of(lambda: fleet.reconcile())
    print(
        f"fleet reconciliation (8 revenue + 2 compute-stock checks): best of 5 = {t * 1000:6.1f} ms"
    )
    t = best_of(lambda: fleet.ai_demand(range(2018, 2036)))
    print(f"fleet AI demand, 18 years x 5 regions + World: best of 5 = {t * 1000:6.1f} ms")
    t = best_of(lambda: backtest.backtest(), repeat=3)
    print(f"out-of-sample backtest (3 cut-offs, 29 predictions): best of 3 = {t * 1000:6.1f} ms")
    table = synthetic_electricity()
    projection.load_electricity = lambda path=None: table  # type: ignore[assignment]
    sc = scenario()
    projection.project(sc, samples=100, seed=0)  # warm-up (catalog, presets, reference run)
    for samples in (1_000, 10_000):
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            r = projection.project(sc, samples=samples, seed=0)
            best = min(best, time.perf_counter() - t0)
        regions = r.frame["country"].nunique() - 1  # minus the World total row
        years = r.frame["year"].nunique()
        print(
            f"projection Monte Carlo: {samples:>6,} samples x {years} years x {regions} regions "
            f"(+ World total; P10/P50/P90 of 6 quantities): best of 5 = {best * 1000:6.1f} ms"
        )


if __name__ == "__main__":
    main()
