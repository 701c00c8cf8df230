"""Fan-out: optimiser (and build-out) scenarios, one solve each, over Dask (dask.distributed).

The scenarios are cut into batches (``sample.batch_size``); each batch is one Dask task
(:func:`run_batch`), so the scheduler's per-task overhead is paid per batch, and each finished
batch is one Parquet file. Where the tasks run:

- ``scheduler=None``: a :class:`dask.distributed.LocalCluster` on this machine, one
  single-threaded worker process per core (``workers`` to change it);
- ``scheduler="tcp://HOST:PORT"``: an existing cluster (``dask scheduler`` and ``dask worker``
  started elsewhere; every worker needs ``planner`` installed);
- a :class:`dask.distributed.Client` or a cluster object: used as given (tests, notebooks);
- ``scheduler="serial"``: in this process, one batch after another, no Dask.

Results come back to this process as each task finishes (``as_completed``); only this process
writes files. A scenario whose inputs the scenario file does not accept (a value out of the
field's range, a PUE below 1) is a row with status ``invalid`` and the one-line reason; an
infeasible plan is a row with status ``infeasible``: neither stops the sweep.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from planner.errors import InputError, PlannerError
from planner.sweeps import base as bases

#: Plan totals written as columns (NaN when there is no plan).
PLAN_TOTALS = (
    "systems",
    "gpus",
    "facility_power_mw",
    "grid_power_mw",
    "energy_mwh",
    "cost_usd",
    "cluster_capex_usd",
    "emissions_tco2",
    "longest_days",
    "longest_fraction_of_deadline",
)
#: Projection outputs written as columns (the study's row for the base's country and year).
PROJECTION_OUTPUTS = (
    "ai_twh",
    "non_ai_twh",
    "total_twh",
    "ai_gw",
    "total_gw",
    "ai_peak_gw",
    "electricity_twh",
    "ai_share",
    "total_share",
    "reference_runs_per_year",
    "ai_accelerators_in_service",
    "ai_dense_bf16_eflops",
    "pue",
    "design_pue",
)
#: Statuses that count as a plan (feasible).
FEASIBLE = ("ok", "optimal", "time_limit")


def _python(value: Any) -> Any:
    """numpy scalars as Python numbers (the scenario schema is strict about types)."""
    return value.item() if hasattr(value, "item") else value


def _typed(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values typed like the base's own (an integral float where the file has an int)."""
    out = {}
    for path, value in values.items():
        value = _python(value)
        try:
            current = bases._walk(data, bases.split_path(path), path)
        except PlannerError:
            current = None
        if (
            isinstance(current, int)
            and not isinstance(current, bool)
            and isinstance(value, float)
            and value.is_integer()
        ):
            value = int(value)
        out[path] = value
    return out


def run_batch(payload: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Solve every scenario of a batch; one row each (runs on a worker)."""
    kind = payload["kind"]
    names = payload["inputs"]
    data = payload["data"]
    rows = []
    for rec in records:
        start = time.perf_counter()
        row: dict[str, Any] = {"scenario": rec["scenario"]}
        try:
            values = _typed(data, {n: rec[n] for n in names})
            changed = bases.with_values(data, values)
            row.update(_solve(kind, changed, payload))
        except PlannerError as exc:
            row.update(status="invalid", reason=str(exc))
        row["elapsed_s"] = time.perf_counter() - start
        rows.append(row)
    frame = pd.DataFrame(rows)
    numbers = PROJECTION_OUTPUTS if kind == "projection" else ("objective_value", *PLAN_TOTALS)
    for col in numbers:
        if col not in frame:
            frame[col] = float("nan")
        frame[col] = frame[col].astype(float)
    for col in (
        ("status", "reason") if kind == "projection" else ("status", "reason", "binding", "chips")
    ):
        if col not in frame:
            frame[col] = ""
        frame[col] = frame[col].fillna("").astype(str)
    return frame


def _solve(kind: str, data: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    options = payload["options"]
    if kind == "projection":
        from planner.projection import project
        from planner.projection_scenarios import parse_scenario

        study = parse_scenario(data, payload["source"])
        year = options["year"]
        result = project(
            study, years=(year, year), variants=[options["variant"]], countries=[options["country"]]
        )
        row = result.frame.iloc[0]
        return {"status": "ok", "reason": "", **{k: float(row[k]) for k in PROJECTION_OUTPUTS}}
    if kind == "optimize":
        from planner.optimization import build_model, solve
        from planner.scenarios import scenario_from_dict

        sc = scenario_from_dict(data, source=payload["source"])
        model = build_model(
            sc,
            objective=options.get("objective"),
            allow_mixed_chips=options.get("allow_mixed_chips"),
        )
        # no relaxations and no chip-by-chip table: a sweep wants the plan, fast
        plan = solve(
            model,
            solver=options.get("solver", "highs"),
            time_limit_s=options.get("time_limit_s"),
            relaxations=False,
            comparison=False,
        )
    else:
        module = bases.buildout_module()
        scenario = module.buildout_from_dict(data, source=payload["source"])
        # no relaxation search: a sweep wants the plan, fast (an infeasible row says so)
        plan = module.plan_buildout(scenario, relax=False, **options)
    return plan_row(plan)


def plan_row(plan: Any) -> dict[str, Any]:
    """A plan as one row: status, objective value, totals, chips used, binding limits."""
    totals = dict(getattr(plan, "totals", {}) or {})
    row: dict[str, Any] = {
        "status": str(plan.status),
        "objective_value": plan.objective_value
        if getattr(plan, "objective_value", None) is not None
        else float("nan"),
        **{k: float(totals[k]) if totals.get(k) is not None else float("nan") for k in PLAN_TOTALS},
    }
    runs = getattr(plan, "runs", None)
    chips = []
    if isinstance(runs, pd.DataFrame) and len(runs) and "chip" in (runs.index.names or []):
        chips = sorted(set(runs.index.get_level_values("chip").astype(str)))
    row["chips"] = ",".join(chips)
    constraints = getattr(plan, "constraints", None)
    binding = []
    if isinstance(constraints, pd.DataFrame) and "binding" in constraints:
        binding = [str(name) for name, b in constraints["binding"].items() if b is True]
    limits = getattr(plan, "binding", None)  # a build-out: the limits met with no slack
    if isinstance(limits, pd.DataFrame) and "limit" in limits:
        sites = limits["site"] if "site" in limits else [""] * len(limits)
        binding = sorted(
            {f"{lim} {site}".strip() for lim, site in zip(limits["limit"], sites, strict=True)}
        )
    row["binding"] = ",".join(binding)
    message = getattr(plan, "message", None)
    if message is None:
        message = "; ".join(getattr(plan, "notes", []) or [])
    row["reason"] = "" if row["status"] in FEASIBLE else str(message)
    return row


# --- where the tasks run ---------------------------------------------------------------------


_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://[^\s/:]+:\d{1,5}$")
_SCHEDULER_WORDS = "serial, or the address of a running Dask scheduler (tcp://HOST:PORT)"


def check_scheduler(scheduler: Any) -> None:
    """``None``, ``"serial"``, ``PROTOCOL://HOST:PORT``, or a Dask client / cluster object."""
    if scheduler is None or not isinstance(scheduler, str) or scheduler == "serial":
        return
    if not _ADDRESS.match(scheduler):
        raise InputError("--scheduler", scheduler, _SCHEDULER_WORDS)


def _has_dashboard() -> bool:
    return importlib.util.find_spec("bokeh") is not None


@contextlib.contextmanager
def client_for(scheduler: Any, workers: int | None) -> Iterator[tuple[Any, str | None]]:
    """A Dask client for ``scheduler`` (see the module docstring) and its dashboard link."""
    from dask.distributed import Client

    if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):  # a Client
        yield scheduler, _link(scheduler)
        return
    if scheduler is not None and not isinstance(scheduler, str):  # a cluster object
        with Client(scheduler) as client:
            yield client, _link(client)
        return
    if scheduler is None:
        from dask.distributed import LocalCluster

        n = workers or os.cpu_count() or 1
        dashboard = ":0" if _has_dashboard() else None
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=dashboard
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client, _link(client)
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise InputError("--scheduler", scheduler, _SCHEDULER_WORDS, detail=detail) from None
    with client:
        yield client, _link(client)


def _link(client: Any) -> str | None:
    if not _has_dashboard():
        return None
    with contextlib.suppress(Exception):
        return str(client.dashboard_link)
    return None


def fan_out(
    payload: Mapping[str, Any],
    batches: Sequence[tuple[int, list[dict[str, Any]]]],
    *,
    scheduler: Any,
    workers: int | None,
    on_result: Callable[[int, pd.DataFrame], None],
    log: Callable[[str], None] | None = None,
) -> str:
    """Run every batch; ``on_result(first, frame)`` as each finishes. Returns the engine used."""
    if scheduler == "serial":
        for first, records in batches:
            on_result(first, run_batch(payload, records))
        return "serial"
    from dask.distributed import as_completed

    with client_for(scheduler, workers) as (client, dashboard):
        n_workers = len(client.scheduler_info().get("workers", {}))
        if log is not None:
            log(
                f"dask: {n_workers} workers at {client.scheduler.address}"
                + (f", dashboard {dashboard}" if dashboard else "")
            )
        if not batches:
            return f"dask ({n_workers} worker{'' if n_workers == 1 else 's'})"
        [shared] = client.scatter([dict(payload)], broadcast=True)
        futures = {
            client.submit(run_batch, shared, records, pure=False): first
            for first, records in batches
        }
        for future in as_completed(futures):
            on_result(futures[future], future.result())
        return f"dask ({n_workers} worker{'' if n_workers == 1 else 's'})"
