"""Sweeps: a million-draw sizing Monte Carlo, and optimiser scenarios serially vs over Dask.

Targets: the million-draw sizing Monte Carlo (draws + vectorised sizing) under 1 s on a 2-core
machine; 200 optimiser scenarios serially, on a 1-worker and on a 2-worker LocalCluster, with
the speed-up and the per-task overhead (wall time on one worker minus the serial wall time,
per Dask task). Medians of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_sweeps.py [--n 1000000] [--repeat 3] [--scenarios 200]
        [--batch 10] [--skip-optimiser]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from planner.sweeps import closed, run_sweep, sample, spec_from_dict


def mc_spec(n: int) -> dict:
    return {
        "title": "bench: GTC 2024 Hopper Monte Carlo",
        "base": {"kind": "sizing", "preset": "gtc2024-hopper"},
        "sample": {"samples": n, "seed": 2024, "batch_size": n},
        "inputs": {
            "mfu": {"dist": "triangular", "min": 0.15, "mode": 0.20, "max": 0.25},
            "pue": {"dist": "triangular", "min": 1.10, "mode": 1.20, "max": 1.40},
            "goodput": {"dist": "triangular", "min": 0.80, "mode": 0.90, "max": 0.97},
        },
    }


def grid_spec(scenarios: int, batch: int) -> dict:
    deadlines = [60.0, 75.0, 90.0, 105.0, 120.0, 135.0, 150.0, 165.0, 180.0, 195.0]
    grids = max(scenarios // len(deadlines), 1)
    return {
        "title": "bench: GTC 2024 grid x deadline",
        "base": {"kind": "optimize", "scenario": "gtc2024", "objective": "cost"},
        "sample": {"batch_size": batch},
        "inputs": {
            "site.grid_limit_mw": {"grid": [2.0 + 1.5 * i for i in range(grids)]},
            "runs[0].deadline_days": {"grid": deadlines},
        },
    }


def median_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_mc(n: int, repeat: int) -> None:
    spec = spec_from_dict(mc_spec(n))
    closed.evaluate(
        spec, sample.scenarios(spec, hash_ids=False).iloc[:10][spec.input_names]
    )  # warm caches
    t_draw = median_of(repeat, lambda: sample.scenarios(spec, hash_ids=False))
    frame = sample.scenarios(spec, hash_ids=False)
    t_eval = median_of(repeat, lambda: closed.evaluate(spec, frame[spec.input_names]))
    t_ids = median_of(repeat, lambda: sample.scenario_ids(spec, frame))
    print(f"sizing Monte Carlo, {n:,} draws (median of {repeat}):")
    print(
        f"  draws {t_draw:.3f} s + vectorised sizing {t_eval:.3f} s = {t_draw + t_eval:.3f} s  (target < 1 s)"
    )
    print(f"  scenario ids (hash) {t_ids:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run_sweep(spec, out_dir=Path(tmp) / "mc")
        t_all = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp, "mc").glob("*.parquet")) / 1e6
    print(
        f"  whole run_sweep (draws, sizing, Parquet {size:.0f} MB, DuckDB summary): {t_all:.2f} s ({result.ran:,} rows)"
    )


def bench_optimiser(scenarios: int, batch: int, repeat: int) -> None:
    from dask.distributed import LocalCluster

    spec = spec_from_dict(grid_spec(scenarios, batch))
    tasks = -(-spec.size // spec.batch)
    print(
        f"optimiser: {spec.size} scenarios in {tasks} tasks of {spec.batch} (median of {repeat}):"
    )

    def run(scheduler) -> tuple[float, float, float]:
        walls, solves, computes = [], [], []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                r = run_sweep(spec, out_dir=Path(tmp) / "o", scheduler=scheduler)
                walls.append(time.perf_counter() - t0)
                solves.append(r.summary["median_scenario_s"])
                computes.append(r.summary["compute_s"])
        return statistics.median(walls), statistics.median(solves), statistics.median(computes)

    serial, per_scenario, _ = run("serial")
    print(f"  serial:           {serial:7.1f} s   (median scenario {per_scenario * 1e3:.0f} ms)")
    out = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            start = time.perf_counter() - t0
            out[workers], per, compute = run(cluster)
            if workers == 1:
                overhead = (out[1] - compute) / tasks
                noop = _noop_overhead(cluster)
        print(
            f"  LocalCluster x{workers}: {out[workers]:7.1f} s   (cluster start {start:.1f} s "
            f"not included, median scenario {per * 1e3:.0f} ms, speed-up vs serial "
            f"{serial / out[workers]:.2f}x)"
        )
    print(
        f"  per-task overhead on 1 worker: (wall - time in the solves) / tasks = "
        f"{overhead * 1e3:,.0f} ms; Dask alone (200 no-op tasks): {noop * 1e3:.1f} ms per task"
    )
    print(f"  speed-up 2 workers vs 1: {out[1] / out[2]:.2f}x")


def _noop(x: int) -> int:
    return x


def _noop_overhead(cluster, n: int = 200) -> float:
    """Median per-task round trip of ``n`` no-op tasks (submit, run, gather), seconds."""
    from dask.distributed import Client

    with Client(cluster) as client:
        client.gather(client.map(_noop, range(10), pure=False))  # warm up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            client.gather(client.map(_noop, range(n), pure=False))
            times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--opt-repeat", type=int, default=1)
    parser.add_argument("--skip-optimiser", action="store_true")
    args = parser.parse_args()
    bench_mc(args.n, args.repeat)
    if not args.skip_optimiser:
        bench_optimiser(args.scenarios, args.batch, args.opt_repeat)


if __name__ == "__main__":
    main()
