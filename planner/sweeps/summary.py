"""Summaries of a sweep's Parquet files, computed by DuckDB (SQL over the files, no loading).

- ``percentiles``: P10 / P50 / P90 (``quantile_cont``) of every numeric output over the
  feasible scenarios;
- ``tornado``: for every output, the inputs ranked by how far they move it: the swing is the
  output's median over the scenarios with the input in its top decile (a grid: at its highest
  value) minus the median with it in its bottom decile (lowest value); rank 1 moves it most;
- ``infeasible_share``: scenarios with no plan (serving: no replica meets the latency targets;
  optimiser: infeasible, invalid or no plan in the time limit) over all scenarios;
- ``binding``: how often each limit binds (optimiser: the plan's binding limits; serving: what
  set the batch), over the feasible scenarios, most frequent first.

Every query runs on the view ``sweep`` (every part file, ``read_parquet(..., union_by_name =
true)``); :func:`query` runs any SQL on it::

    planner sweep gtc2024-grid --out runs/grid --query "SELECT status, count(*) FROM sweep GROUP BY 1"
    duckdb -c "SELECT quantile_cont(facility_power_mw, 0.9) FROM 'runs/mc/part-*.parquet'"
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from planner.errors import InputError
from planner.sweeps.fanout import FEASIBLE
from planner.sweeps.store import PART_GLOB, SweepStore

#: Columns that describe a scenario, not an output.
META = (
    "scenario_id",
    "scenario",
    "draw",
    "status",
    "reason",
    "binding",
    "elapsed_s",
    "chips",
    "feasible",
)
PERCENTILES = (0.1, 0.5, 0.9)
#: Decile of an input whose top and bottom define its tornado swing.
TORNADO_TAIL = 0.1


#: Outputs every face lists first (when the sweep has them), in this order: the headline and
#: the fan chart use the first that varies.
OUTPUT_ORDER = (
    "facility_power_mw",
    "grid_power_mw",
    "gpus",
    "days",
    "longest_days",
    "energy_mwh",
    "energy_mwh_per_year",
    "cost_usd",
    "emissions_tco2",
    "wh_per_query",
    "total_twh",
)


def ordered_outputs(names: Any) -> list[str]:
    """``names`` with :data:`OUTPUT_ORDER`'s first, in its order, then the rest as given."""
    names = list(names)
    return [c for c in OUTPUT_ORDER if c in names] + [c for c in names if c not in OUTPUT_ORDER]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(out_dir: str | Path) -> Any:
    """A DuckDB connection with the view ``sweep`` over the folder's Parquet files."""
    import duckdb

    store = SweepStore(out_dir)
    if not store.parts():
        raise InputError(
            "out_dir",
            str(out_dir),
            "a sweep folder with Parquet results",
            detail="no part-*.parquet files",
        )
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # stdout carries the answer only
    pattern = str(Path(out_dir) / PART_GLOB).replace("'", "''")
    con.execute(
        f"CREATE VIEW sweep AS SELECT * FROM read_parquet('{pattern}', union_by_name = true)"
    )
    return con


def query(out_dir: str | Path, sql: str) -> Any:
    """Run ``sql`` on the view ``sweep``; a DataFrame. A SQL error is an :class:`InputError`."""
    import duckdb

    con = connect(out_dir)
    try:
        return con.sql(sql).df()
    except duckdb.Error as exc:
        first = " ".join(str(exc).split())
        raise InputError("--query", sql, "SQL on the view sweep (DuckDB)", detail=first) from None
    finally:
        con.close()


def summarize(
    out_dir: str | Path, inputs: list[str], *, numeric_inputs: list[str] | None = None
) -> dict[str, Any]:
    """The summary of a sweep folder (see the module docstring) as a JSON-ready dict.

    ``inputs`` are the input columns (``in_mfu``...); ``numeric_inputs`` those the tornado
    ranks (default: every input column DuckDB reads as a number).
    """
    con = connect(out_dir)
    try:
        schema = con.execute("DESCRIBE sweep").fetchall()
        types = {row[0]: str(row[1]).upper() for row in schema}
        numeric = {c for c, t in types.items() if _is_number(t)}
        outputs = [c for c in types if c in numeric and c not in META and c not in inputs]
        ranked_inputs = [
            c for c in (numeric_inputs if numeric_inputs is not None else inputs) if c in numeric
        ]
        feasible = "status IN (" + ", ".join(f"'{s}'" for s in FEASIBLE) + ")"
        total, ok = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {feasible}) FROM sweep"
        ).fetchone()
        status = dict(
            con.execute("SELECT status, count(*) FROM sweep GROUP BY 1 ORDER BY 2 DESC").fetchall()
        )
        pct: dict[str, dict[str, float | None]] = {}
        if outputs and ok:
            # min and max first (one fast scan): exact quantiles only where an output varies
            spans = con.execute(
                "SELECT "
                + ", ".join(f"min({_q(c)}), max({_q(c)})" for c in outputs)
                + f" FROM sweep WHERE {feasible}"
            ).fetchone()
            moving = []
            for k, c in enumerate(outputs):
                lo, hi = spans[2 * k], spans[2 * k + 1]
                if lo is not None and lo == hi:
                    pct[c] = {"p10": _num(lo), "p50": _num(lo), "p90": _num(lo)}
                else:
                    moving.append(c)
            if moving:
                exprs = ", ".join(f"quantile_cont({_q(c)}, [0.1, 0.5, 0.9])" for c in moving)
                values = con.execute(f"SELECT {exprs} FROM sweep WHERE {feasible}").fetchone()
                for c, v in zip(moving, values, strict=True):
                    pct[c] = (
                        {"p10": _num(v[0]), "p50": _num(v[1]), "p90": _num(v[2])}
                        if v
                        else {"p10": None, "p50": None, "p90": None}
                    )
            pct = {c: pct[c] for c in outputs}
        varying = [c for c in outputs if pct.get(c) and pct[c]["p10"] != pct[c]["p90"]]
        tornado = _tornado(con, ranked_inputs, varying, feasible) if ok else {}
        binding: dict[str, int] = {}
        if "binding" in types:
            rows = con.execute(
                f"SELECT lim, count(*) FROM (SELECT unnest(string_split(binding, ',')) AS lim FROM sweep "
                f"WHERE {feasible} AND binding <> '') GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
            binding = {str(k): int(v) for k, v in rows}
        elapsed = (
            con.execute("SELECT sum(elapsed_s), median(elapsed_s) FROM sweep").fetchone()
            if "elapsed_s" in types
            else (None, None)
        )
    finally:
        con.close()
    return {
        "scenarios": int(total),
        "feasible": int(ok),
        "infeasible_share": (total - ok) / total if total else None,
        "status_counts": {str(k): int(v) for k, v in status.items()},
        "percentiles": pct,
        "tornado": tornado,
        "binding": binding,
        "binding_share": {k: v / ok for k, v in binding.items()} if ok else {},
        "compute_s": _num(elapsed[0]),
        "median_scenario_s": _num(elapsed[1]),
    }


def _tornado(
    con: Any, inputs: list[str], outputs: list[str], feasible: str
) -> dict[str, list[dict[str, Any]]]:
    """Per output, the inputs by |swing| (largest first), each with its swing and rank."""
    if not inputs or not outputs:
        return {}
    swings: dict[str, dict[str, float]] = {o: {} for o in outputs}
    tails = con.execute(
        "SELECT "
        + ", ".join(
            f"quantile_disc({_q(i)}, {TORNADO_TAIL}), quantile_disc({_q(i)}, {1 - TORNADO_TAIL})"
            for i in inputs
        )
        + f" FROM sweep WHERE {feasible}"
    ).fetchone()
    moving = [
        (i, tails[2 * k], tails[2 * k + 1])
        for k, i in enumerate(inputs)
        if tails[2 * k] is not None and tails[2 * k] != tails[2 * k + 1]
    ]
    if not moving:
        return {}
    medians = ", ".join(f"median({_q(o)})" for o in outputs)
    for i, lo, hi in moving:
        low = con.execute(
            f"SELECT {medians} FROM sweep WHERE {feasible} AND {_q(i)} <= ?", [lo]
        ).fetchone()
        high = con.execute(
            f"SELECT {medians} FROM sweep WHERE {feasible} AND {_q(i)} >= ?", [hi]
        ).fetchone()
        for o, x, y in zip(outputs, low, high, strict=True):
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
                swings[o][i] = float(y) - float(x)
    out = {}
    for o, per in swings.items():
        ordered = sorted(per.items(), key=lambda kv: -abs(kv[1]))
        out[o] = [
            {"input": name, "swing": s, "rank": r + 1}
            for r, (name, s) in enumerate(ordered)
            if s != 0.0
        ]
    return {o: v for o, v in out.items() if v}


def _is_number(duck_type: str) -> bool:
    return (
        any(t in duck_type for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL"))
        and "[]" not in duck_type
    )


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --- chart-ready frames (the app's sweep page and reports draw these, computing nothing) --------


def fan_frame(out_dir: str | Path, output: str, by: str) -> Any:
    """P10 / P50 / P90 of ``output`` at each value of the input column ``by`` (a fan over a
    grid), over the feasible scenarios: columns ``by, p10, p50, p90, scenarios``."""
    con = connect(out_dir)
    feasible = "status IN (" + ", ".join(f"'{s}'" for s in FEASIBLE) + ")"
    try:
        return con.execute(
            f"SELECT {_q(by)}, quantile_cont({_q(output)}, 0.1) AS p10, "
            f"quantile_cont({_q(output)}, 0.5) AS p50, quantile_cont({_q(output)}, 0.9) AS p90, "
            f"count(*) AS scenarios FROM sweep WHERE {feasible} GROUP BY 1 ORDER BY 1"
        ).df()
    finally:
        con.close()


def histogram_frame(out_dir: str | Path, output: str, bins: int = 40) -> Any:
    """Equal-width histogram of ``output`` over the feasible scenarios: ``low, high, scenarios``."""
    con = connect(out_dir)
    feasible = "status IN (" + ", ".join(f"'{s}'" for s in FEASIBLE) + ")"
    try:
        lo, hi = con.execute(
            f"SELECT min({_q(output)}), max({_q(output)}) FROM sweep WHERE {feasible}"
        ).fetchone()
        if lo is None:
            return con.execute("SELECT 0.0 AS low, 0.0 AS high, 0 AS scenarios WHERE false").df()
        width = (hi - lo) / bins if hi > lo else 1.0
        return con.execute(
            f"SELECT ? + b * ? AS low, ? + (b + 1) * ? AS high, count(*) AS scenarios FROM ("
            f"SELECT least(floor(({_q(output)} - ?) / ?), ? - 1) AS b FROM sweep WHERE {feasible}"
            ") GROUP BY b ORDER BY b",
            [lo, width, lo, width, lo, width, bins],
        ).df()
    finally:
        con.close()


def tornado_frame(summary: dict[str, Any], output: str) -> Any:
    """The tornado of ``output`` from :func:`summarize`: ``input, swing, rank`` (rank 1 first)."""
    import pandas as pd

    rows = summary.get("tornado", {}).get(output, [])
    return pd.DataFrame(rows, columns=["input", "swing", "rank"])


def binding_frame(summary: dict[str, Any]) -> Any:
    """How often each limit binds, from :func:`summarize`: ``limit, scenarios, share``."""
    import pandas as pd

    rows = [
        {"limit": k, "scenarios": v, "share": summary["binding_share"].get(k)}
        for k, v in summary.get("binding", {}).items()
    ]
    return pd.DataFrame(rows, columns=["limit", "scenarios", "share"])
