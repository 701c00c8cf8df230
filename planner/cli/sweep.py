"""``planner sweep``: Monte Carlo and grids over any input, on this machine or a Dask cluster.

A thin face over :func:`planner.sweeps.run_sweep`: it parses, runs, and prints the summary
(P10/P50/P90, tornado ranks, infeasible share, binding limits) or a DuckDB query's answer.
Dask, pyarrow, DuckDB and pandas are imported inside the command, never at ``planner --help``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli._app import app, console, print_json, progress_reporter, stdout_guard

_HELP_OUT = "Folder of the results (Parquet, one file per batch). Default: sweeps/NAME. Rerunning into the same folder runs only the scenarios not done yet."
_HELP_SCHEDULER = (
    "Where optimiser scenarios run: a Dask scheduler's address (tcp://HOST:PORT; start one "
    "with `dask scheduler`, workers with `dask worker tcp://HOST:PORT`), or `serial` (this "
    "process, no Dask). Default: a LocalCluster with one worker per core. Sizing and serving "
    "sweeps always run vectorised in this process."
)
_HELP_WORKERS = "Worker processes of the default LocalCluster (default: one per core)."
_HELP_QUERY = 'DuckDB SQL on the view `sweep` of the results, printed instead of the summary: --query "SELECT status, count(*) FROM sweep GROUP BY 1".'
_HELP_PROGRESS = (
    "Draw a progress bar on stderr (never on stdout). Default: only when stderr is a terminal."
)
#: Tornado rows printed per output in the table view.
_TORNADO_ROWS = 5


@app.command("sweep")
def sweep_command(
    sweep: Annotated[
        str,
        typer.Argument(
            help="A sweep TOML file, or a shipped sweep's name (gtc2024-hopper-mc, gtc2024-grid, "
            "iea-2025-shipments).",
            show_default=False,
            metavar="FILE_OR_NAME",
        ),
    ],
    out: Annotated[Path | None, typer.Option("--out", help=_HELP_OUT)] = None,
    scheduler: Annotated[str | None, typer.Option(help=_HELP_SCHEDULER)] = None,
    workers: Annotated[int | None, typer.Option(min=1, help=_HELP_WORKERS)] = None,
    samples: Annotated[int | None, typer.Option(help="Override the file's sample.samples.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the file's sample.seed.")] = None,
    query_sql: Annotated[str | None, typer.Option("--query", help=_HELP_QUERY)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    show_progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help=_HELP_PROGRESS)
    ] = None,
) -> int:
    """Run a sweep: Monte Carlo draws and grids over any input of a sizing, a service or a site plan.

    FILE_OR_NAME names a base (a sizing or serving preset/request, an optimiser or
    build-out scenario, a projection study) and, per input, a grid of values or a
    distribution (uniform, triangular, normal, lognormal, choice with weights), with a seed
    and a sample count. Sizing and serving run vectorised (a million draws in seconds);
    optimiser, build-out and projection scenarios fan out over Dask.

    Results: one Parquet row per scenario (inputs as in_NAME, outputs, status, timings),
    written atomically per batch. Rerunning skips scenarios already done. Query them with
    --query or with DuckDB directly: duckdb -c "SELECT * FROM 'OUT/part-*.parquet'".

    Exit code 2: a bad sweep file or option (one line naming the field, the value and what
    is allowed).
    """
    from planner.sweeps import as_spec, run_sweep, spec_from_dict
    from planner.sweeps.summary import query

    spec = as_spec(sweep)
    if samples is not None or seed is not None:
        data = spec.to_dict()
        if samples is not None:
            data["sample"]["samples"] = samples
        if seed is not None:
            data["sample"]["seed"] = seed
        spec = spec_from_dict(data, source=spec.source)
    out_dir = out if out is not None else Path("sweeps") / Path(spec.source).stem
    with stdout_guard(), progress_reporter(show_progress) as progress:
        log = _stderr_line if progress is not None else None
        result = run_sweep(
            spec, scheduler=scheduler, workers=workers, out_dir=out_dir, progress=progress, log=log
        )
    if query_sql is not None:
        frame = query(result.out_dir, query_sql)
        if json_out:
            from planner._arrays import to_python

            rows = [
                {k: to_python(v) for k, v in r.items()} for r in frame.to_dict(orient="records")
            ]
            print_json(
                {
                    "out_dir": str(result.out_dir),
                    "query": query_sql,
                    "columns": list(frame.columns),
                    "rows": rows,
                }
            )
        else:
            _print_frame(frame)
        return 0
    if json_out:
        print_json(_jsonable(result.to_dict()))
    else:
        _print_summary(result)
    return 0


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")


def _jsonable(value: Any) -> Any:
    from planner._arrays import jsonable

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return jsonable(value)


def _name(column: str) -> str:
    """A column's label: the vocabulary's for an output, the input's own name otherwise."""
    from planner import quantities

    bare = column.removeprefix("in_")
    if bare in quantities.all_quantities():
        return quantities.label(bare) + (" (input)" if column.startswith("in_") else "")
    return bare


def _value(column: str, value: Any) -> str:
    from planner import quantities

    if value is None:
        return quantities.MISSING
    if column in quantities.all_quantities():
        return quantities.format_value(column, value)
    return f"{value:.4g}"


def _print_frame(frame: Any) -> None:
    from rich.table import Table

    t = Table()
    for col in frame.columns:
        t.add_column(str(col))
    for row in frame.itertuples(index=False):
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def _print_summary(result: Any) -> None:
    from rich.table import Table

    from planner import quantities

    s = result.summary
    console.print(f"[bold]{result.title or result.kind + ' sweep'}[/bold]", highlight=False)
    console.print(
        f"{s['scenarios']:,} scenarios ({result.ran:,} run now, {result.skipped:,} already done) "
        f"in {result.elapsed_s:,.1f} s, {result.engine}; results in {result.out_dir}",
        markup=False,
    )
    pct = s["percentiles"]
    vocabulary = quantities.all_quantities()
    from planner.sweeps.summary import ordered_outputs

    shown = [c for c in ordered_outputs(pct) if c in vocabulary]
    varying = [c for c in shown if pct[c]["p10"] != pct[c]["p90"]]
    t = Table(title="Outputs over the feasible scenarios")
    for head in ("output", "P10", "P50", "P90"):
        t.add_column(head, justify="left" if head == "output" else "right")
    for c in varying or shown[:8]:
        t.add_row(_name(c), *(_value(c, pct[c][k]) for k in ("p10", "p50", "p90")))
    console.print(t)
    hidden = [c for c in pct if c not in vocabulary]
    if hidden:
        console.print(f"(and {len(hidden)} more outputs: --json lists every one)", markup=False)
    tornado = s["tornado"]
    for c in [c for c in varying if c in tornado][:3]:
        tt = Table(title=f"Tornado: {_name(c)}")
        tt.add_column("rank", justify="right")
        tt.add_column("input")
        tt.add_column("swing", justify="right")
        for item in tornado[c][:_TORNADO_ROWS]:
            tt.add_row(str(item["rank"]), _name(item["input"]), _value(c, item["swing"]))
        console.print(tt)
    console.print(
        f"{quantities.label('infeasible_share')}: {quantities.format_value('infeasible_share', s['infeasible_share'])} "
        f"({', '.join(f'{k}: {v:,}' for k, v in s['status_counts'].items())})",
        markup=False,
    )
    if s["binding"]:
        bt = Table(title="Limits that bind (share of the feasible scenarios)")
        bt.add_column("limit")
        bt.add_column("scenarios", justify="right")
        bt.add_column("share", justify="right")
        for name, count in s["binding"].items():
            bt.add_row(
                name,
                f"{count:,}",
                quantities.format_value("binding_share", s["binding_share"][name]),
            )
        console.print(bt)
