"""Benchmark the build-out planner on generated programmes: S sites x Q quarters x 10 chips,
10 training runs and one serving demand.

Run::

    .venv/bin/python benchmarks/bench_buildout.py                    # 20 sites x 24 quarters
    .venv/bin/python benchmarks/bench_buildout.py --grid             # 5/10/20 x 8/16/24
    .venv/bin/python benchmarks/bench_buildout.py --sites 10 --quarters 16 --gap 0.001
    .venv/bin/python benchmarks/bench_buildout.py --sweep [--scenarios 100] [--batch 5]

``--sweep``: 100 small build-out scenarios (the shipped ``small-hand-checkable``, site A's grid
x the run's FLOPs, a grid of 10 x 10) through the sweep engine (:func:`planner.sweeps.
run_sweep`, base kind ``buildout``) serially and on a 2-worker Dask ``LocalCluster`` (started
before the clock; its start time is printed apart): wall time, median scenario, speed-up,
and the per-task overhead (wall on the cluster x workers - time in the solves, per task).

Prints numbers; asserts nothing. For each size it reports, for one
:func:`planner.optimization.buildout.plan_buildout` (objective cost, to ``--gap``; above
2,000 install variables it first solves the LP relaxation and the MIP on the site-chip pairs
the LP uses, then the full MIP only if that plan is not within the gap of the LP bound):

- ``data``: resolving the scenario into coefficients (the core's sizing and serving calls);
- ``pyomo``: building the Pyomo ``ConcreteModel`` (:mod:`...buildout.formulation`);
- ``hand-over``: Pyomo writing the model into HiGHS (appsi ``set_instance``), every call;
- ``highs``: the solves themselves, and ``calls`` how many;
- the model's size (variables, integers, constraints), the status and the gap reached.

The generated programme: site ``i`` gets a grid connection of 200-400 MW arriving in two
steps, a gas turbine option (50 MW units, 4 quarters' lead) and a battery option; ten chips
of the catalog with deliveries capped per quarter; ten runs of 1e26-1e27 FLOPs, each at a
named site, with windows of 3-6 quarters spread over the horizon; serving demand growing 5% a
quarter, from any site (unmet demand priced).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

CHIPS = [
    "a100-80gb",
    "h100",
    "h100-pcie",
    "h200",
    "b200",
    "gb200",
    "b300",
    "gb300",
    "mi300x",
    "mi325x",
]


def _quarter(start: int, q: int) -> str:
    index = start + q
    return f"{index // 4}Q{index % 4 + 1}"


def programme(sites: int, quarters: int, runs: int = 10) -> dict[str, Any]:
    start = 2026 * 4
    site_list = []
    for i in range(sites):
        first = 200 + 10 * (i % 21)
        later = min(quarters - 1, 2 + (i * 3) % max(1, quarters - 2))
        site_list.append(
            {
                "name": f"S{i:02d}",
                "region": "east" if i % 2 else "south",
                "pue": "hyperscale-liquid" if i % 3 else "hyperscale-air",
                "electricity_usd_per_mwh": 50 + 3 * (i % 13),
                "grid": [
                    {"quarter": _quarter(start, 0), "mw": first},
                    {"quarter": _quarter(start, later), "mw": 100 + 5 * i},
                ],
                "plants": [
                    {
                        "name": "turbines",
                        "unit_mw": 50,
                        "capex_usd_per_unit": 94e6,
                        "max_units": 6,
                        "lead_quarters": min(4, quarters - 1),
                        "fuel_usd_per_mmbtu": 4.5,
                        "heat_rate_btu_per_kwh": 9124,
                    }
                ],
                "batteries": [
                    {
                        "name": "battery",
                        "unit_mw": 50,
                        "unit_mwh": 200,
                        "capex_usd_per_unit": 95e6,
                        "max_units": 4,
                        "lead_quarters": min(3, quarters - 1),
                    }
                ],
            }
        )
    run_list = []
    for r in range(runs):
        length = 3 + r % 4
        begin = (r * max(1, quarters - length)) // max(1, runs - 1) if runs > 1 else 0
        begin = min(begin, quarters - 1)
        end = min(quarters - 1, begin + length - 1)
        run_list.append(
            {
                "name": f"run{r}",
                "flops": 1e26 * (1 + r % 10),
                "site": f"S{(r * 7) % sites:02d}",
                "start": _quarter(start, begin),
                "deadline": _quarter(start, end),
                "mfu": 0.35,
                "goodput": 0.9,
            }
        )
    users = [20e6 * 1.05**q for q in range(quarters)]
    return {
        "title": f"benchmark {sites} sites x {quarters} quarters",
        "start": _quarter(start, 0),
        "quarters": quarters,
        "discount_rate_per_year": 0.08,
        "chips": CHIPS,
        "supply": {c: {"deliveries_gpus": 40_000, "price_decline_per_year": 0.15} for c in CHIPS},
        "sites": site_list,
        "runs": run_list,
        "serving": [
            {
                "name": "assistant",
                "model": "llama-3.1-70b",
                "users": users,
                "unmet_usd_per_million_tokens": 10,
            }
        ],
    }


def measure(sites: int, quarters: int, gap: float, time_limit_s: float) -> dict[str, Any]:
    import pyomo.environ as pyo

    from planner.optimization.buildout import build_data, buildout_from_dict, plan_buildout
    from planner.optimization.buildout.formulation import build_model

    t0 = time.perf_counter()
    data = build_data(buildout_from_dict(programme(sites, quarters)))
    data_s = time.perf_counter() - t0
    plan = plan_buildout(data, time_limit_s=time_limit_s, mip_rel_gap=gap, relax=False)
    t = plan.timings
    m = build_model(data)  # only to count (not timed)
    variables = list(m.component_data_objects(pyo.Var, active=True))
    return {
        "sites": sites,
        "quarters": quarters,
        "data_s": data_s,
        "pyomo_s": t["formulate_s"],
        "handover_s": t["solver_build_s"],
        "highs_s": t["solve_s"],
        "calls": int(t["solver_calls"]),
        "vars": len(variables),
        "ints": sum(1 for v in variables if v.is_integer() or v.is_binary()),
        "cons": sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True)),
        "status": plan.status,
        "gap": plan.gap,
    }


def sweep_spec(scenarios: int, batch: int) -> dict[str, Any]:
    """``scenarios`` small build-outs: site A's grid (MW) x the run's FLOPs, ~sqrt each; the
    largest FLOPs do not fit (infeasible rows, as a sweep meets them)."""
    side = max(1, round(scenarios**0.5))
    other = max(1, -(-scenarios // side))
    return {
        "title": "bench: small build-out, grid x FLOPs",
        "base": {"kind": "buildout", "scenario": "small-hand-checkable"},
        "sample": {"batch_size": batch},
        "inputs": {
            "sites[0].grid[0].mw": {"grid": [2.0 + 2.0 * i for i in range(side)]},
            "runs[0].flops": {"grid": [1e24 * 1.5**i for i in range(other)]},
        },
    }


def bench_sweep(scenarios: int, batch: int) -> None:
    import tempfile
    from pathlib import Path

    from dask.distributed import LocalCluster

    from planner.sweeps import run_sweep, spec_from_dict

    spec = spec_from_dict(sweep_spec(scenarios, batch))
    tasks = -(-spec.size // spec.batch)
    print(f"build-out sweep: {spec.size} scenarios in {tasks} tasks of {spec.batch}")

    def run(scheduler: Any) -> tuple[float, dict[str, Any]]:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            r = run_sweep(spec, out_dir=Path(tmp) / "b", scheduler=scheduler)
            return time.perf_counter() - t0, r.summary

    serial, summary = run("serial")
    statuses = summary["status_counts"]
    print(
        f"  serial:           {serial:7.1f} s  (median scenario "
        f"{summary['median_scenario_s'] * 1e3:.0f} ms; {statuses})"
    )
    t0 = time.perf_counter()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        start = time.perf_counter() - t0
        wall, summary = run(cluster)
    per_task = (wall * 2 - summary["compute_s"]) / tasks
    print(
        f"  LocalCluster x2: {wall:7.1f} s  (cluster start {start:.1f} s not included, median "
        f"scenario {summary['median_scenario_s'] * 1e3:.0f} ms, speed-up vs serial "
        f"{serial / wall:.2f}x, overhead {per_task * 1e3:,.0f} ms per task)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--quarters", type=int, default=24)
    parser.add_argument("--grid", action="store_true", help="5/10/20 sites x 8/16/24 quarters")
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--time-limit-s", type=float, default=120.0)
    parser.add_argument("--sweep", action="store_true", help="100 small build-outs, a sweep")
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5)
    args = parser.parse_args()
    if args.sweep:
        bench_sweep(args.scenarios, args.batch)
        return
    sizes = (
        [(s, q) for s in (5, 10, 20) for q in (8, 16, 24)]
        if args.grid
        else [(args.sites, args.quarters)]
    )
    import os

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'sites':>5} {'qtrs':>4} {'vars':>7} {'ints':>6} {'cons':>7} {'data s':>7} "
        f"{'pyomo s':>8} {'handover s':>10} {'highs s':>8} {'calls':>5} {'build/total':>11}  "
        "status (gap)"
    )
    for sites, quarters in sizes:
        r = measure(sites, quarters, args.gap, args.time_limit_s)
        build = r["pyomo_s"] + r["handover_s"]
        share = build / (build + r["highs_s"])
        gap = "n/a" if r["gap"] is None else f"{r['gap']:.2%}"
        print(
            f"{sites:>5} {quarters:>4} {r['vars']:>7,} {r['ints']:>6,} {r['cons']:>7,} "
            f"{r['data_s']:>7.2f} {r['pyomo_s']:>8.2f} {r['handover_s']:>10.2f} "
            f"{r['highs_s']:>8.2f} {r['calls']:>5} {share:>11.0%}  {r['status']} ({gap})",
            flush=True,
        )


if __name__ == "__main__":
    main()
