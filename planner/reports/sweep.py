"""Sweep report: the spread of a sweep's outputs, what moves them, and which limits bind.

Every number comes from :mod:`planner.sweeps` (:func:`~planner.sweeps.run_sweep` or a
folder it wrote, :func:`~planner.sweeps.summary.summarize` for P10/P50/P90, tornado ranks,
infeasible share and binding-limit counts, and its chart-ready frames
:func:`~planner.sweeps.summary.fan_frame`, :func:`~planner.sweeps.summary.tornado_frame`,
:func:`~planner.sweeps.summary.binding_frame`). This module only arranges them.

A sweep file or shipped name is run into a temporary folder (optimiser and build-out
scenarios one after another in this process, no Dask cluster) and the folder is removed once
the report is built; ``from_dir`` reads a folder ``planner sweep --out DIR`` wrote instead
(nothing is run).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from planner import quantities
from planner._arrays import to_python
from planner.errors import InputError
from planner.reports import builder as b
from planner.reports.model import Chart, Column, InputFile, Quantity, Report, Table, input_file

#: Outputs drawn in the tornado chart (one panel each).
TORNADO_OUTPUTS = 3
#: Grid inputs given a fan chart.
FAN_INPUTS = 2
OUTPUT = Column.plain("output_label", "Output")
INPUT = Column.plain("input", "Input")


def build_sweep_report(
    sweep: str | Path | None = None,
    *,
    from_dir: str | Path | None = None,
    command: str = "",
) -> Report:
    """Run ``sweep`` (a file or shipped name) into a temporary folder, or read ``from_dir``,
    and arrange its summary as a report.

    Raises
    ------
    InputError
        Not exactly one of ``sweep`` and ``from_dir``; ``from_dir`` is not a sweep folder.
    """
    from planner.sweeps import as_spec, run_sweep

    if (sweep is None) == (from_dir is None):
        raise InputError(
            "sweep/--from",
            "both" if sweep is not None else "neither",
            "a sweep file or name, or --from a sweep folder (exactly one)",
        )
    if from_dir is not None:
        return _from_folder(Path(from_dir), command)
    spec = as_spec(sweep)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="planner-sweep-") as tmp:
        result = run_sweep(spec, scheduler="serial", out_dir=tmp)
        run = {
            "scenarios": result.scenarios,
            "elapsed_s": result.elapsed_s,
            "engine": result.engine,
            "out_dir": None,
        }
        return _report(spec, Path(tmp), result.summary, run, Path(spec.source), command)


def _from_folder(folder: Path, command: str) -> Report:
    from planner.sweeps import spec_from_dict
    from planner.sweeps.store import MANIFEST, SweepStore
    from planner.sweeps.summary import summarize

    manifest = SweepStore(folder).manifest() if folder.is_dir() else None
    if manifest is None:
        raise InputError(
            "--from",
            str(folder),
            f"a folder `planner sweep --out` wrote (with {MANIFEST} and part-*.parquet)",
        )
    spec = spec_from_dict(manifest["spec"], source=str(manifest.get("source", "sweep")))
    summary = summarize(folder, list(manifest.get("inputs", {}).values()))
    run = {
        "scenarios": summary["scenarios"],
        "elapsed_s": None,
        "engine": None,
        "out_dir": str(folder),
    }
    return _report(spec, folder, summary, run, folder / MANIFEST, command)


def _label(column: str) -> str:
    """An output's vocabulary label, else its own name (an output not yet described)."""
    return quantities.label(column) if column in quantities.all_quantities() else column


def _input_name(column: str) -> str:
    return column.removeprefix("in_")


def _report(
    spec: Any,
    folder: Path,
    summary: dict[str, Any],
    run: dict[str, Any],
    primary: Path,
    command: str,
) -> Report:
    from planner.sweeps.summary import (
        binding_frame,
        fan_frame,
        ordered_outputs,
        tornado_frame,
    )

    pct = summary.get("percentiles", {})
    known = quantities.all_quantities()
    ordered = ordered_outputs(pct)
    shown = [c for c in ordered if any(v is not None for v in pct[c].values())]
    varying = [c for c in shown if pct[c]["p10"] != pct[c]["p90"]]
    main = next((c for c in varying if c in known), None)

    rb = b.ReportBuilder("sweep", command)
    rb.add(
        b.kv_table(
            {**summary, "feasible_scenarios": summary.get("feasible")},
            ("scenarios", "feasible_scenarios", "infeasible_share"),
            name="scenarios",
            title="Scenarios",
        ),
        Table(
            name="percentiles",
            title="Outputs over the scenarios with a plan: P10, P50, P90",
            columns=(
                OUTPUT,
                Column("p10", per_row="output"),
                Column("p50", per_row="output"),
                Column("p90", per_row="output"),
            ),
            rows=tuple(
                {"output": c, "output_label": _label(c), **pct[c]} for c in (varying or shown)
            ),
            note="Each value in its output's unit. "
            + ("Outputs that do not vary are left out." if varying else ""),
        ),
    )
    # fan over each numeric grid input: the headline output's P10-P90 at each grid value
    grid = [d.name for d in spec.grid_inputs if not d.is_string][:FAN_INPUTS]
    if main is not None:
        for k, name in enumerate(grid):
            frame = fan_frame(folder, main, f"in_{name}")
            table = Table(
                name=f"fan_{k + 1}",
                title=f"{_label(main)} at each value of {name}",
                columns=(
                    Column("input_value", qualifier=f"({name})"),
                    Column("p10", name=main, qualifier="P10"),
                    Column("p50", name=main, qualifier="P50"),
                    Column("p90", name=main, qualifier="P90"),
                    Column("scenarios"),
                ),
                rows=tuple(
                    {
                        "input_value": to_python(r[f"in_{name}"]),
                        **{q: to_python(r[q]) for q in ("p10", "p50", "p90", "scenarios")},
                    }
                    for r in frame.to_dict(orient="records")
                ),
            )
            rb.add(table)
            rb.chart(
                Chart(
                    name=f"fan_{k + 1}",
                    title=f"{_label(main)}: P10 to P90 (band) and P50 (line) by {name}",
                    kind="band",
                    table=table.name,
                    encoding={"x": "input_value", "low": "p10", "mid": "p50", "high": "p90"},
                    caption="Over the scenarios with a plan at each grid value.",
                )
            )
    tornado_rows = []
    for c in [c for c in varying if c in summary.get("tornado", {})]:
        for r in tornado_frame(summary, c).to_dict(orient="records"):
            tornado_rows.append(
                {
                    "output": c,
                    "output_label": _label(c),
                    "input": _input_name(str(r["input"])),
                    "swing": to_python(r["swing"]),
                    "tornado_rank": to_python(r["rank"]),
                }
            )
    if tornado_rows:
        rb.add(
            Table(
                name="tornado",
                title="What moves each output: inputs ranked by their swing",
                columns=(
                    OUTPUT,
                    INPUT,
                    Column("tornado_rank"),
                    Column("swing", per_row="output"),
                ),
                rows=tuple(tornado_rows),
                section="sensitivity",
                note="Swing: the output's median with the input in its top decile (a grid: its "
                "highest value) minus its median with the input in its bottom decile, in the "
                "output's unit.",
            )
        )
        panels = list(dict.fromkeys(r["output"] for r in tornado_rows))[:TORNADO_OUTPUTS]
        if len(panels) < len({r["output"] for r in tornado_rows}):
            chart_rows = tuple(r for r in tornado_rows if r["output"] in panels)
            rb.add(
                Table(
                    name="tornado_chart",
                    title="Tornado: the first outputs",
                    columns=(
                        OUTPUT,
                        INPUT,
                        Column("tornado_rank"),
                        Column("swing", per_row="output"),
                    ),
                    rows=chart_rows,
                    section="sensitivity",
                    collapsed=True,
                )
            )
        rb.chart(
            Chart(
                name="tornado",
                title="Tornado: how far each input moves each output",
                kind="bar",
                table="tornado_chart"
                if len(panels) < len({r["output"] for r in tornado_rows})
                else "tornado",
                encoding={"x": "swing", "y": "input", "facet": "output_label"},
                caption="Each panel in its output's unit; longest bar first.",
            )
        )
    binding = binding_frame(summary)
    if not binding.empty:
        rb.add(
            Table(
                name="binding",
                title="Limits that bind, and how often",
                columns=(
                    Column.plain("limit", "Limit"),
                    Column("scenarios", name="binding_scenarios"),
                    Column("share", name="binding_share"),
                ),
                rows=tuple(
                    {k: to_python(v) for k, v in r.items()}
                    for r in binding.to_dict(orient="records")
                ),
                section="constraints",
                note="Over the scenarios with a plan.",
            )
        )
        rb.chart(
            Chart(
                name="binding",
                title="How often each limit binds",
                kind="bar",
                table="binding",
                encoding={"x": "share", "y": "limit"},
            )
        )
    counts = summary.get("status_counts", {})
    if counts:
        rb.add(
            Table(
                name="status",
                title="Scenarios by status",
                columns=(Column("status"), Column("scenarios")),
                rows=tuple({"status": k, "scenarios": v} for k, v in counts.items()),
                section="details",
            )
        )
    rb.note(
        f"{spec.kind} sweep of {spec.size:,} scenarios (seed {spec.seed}): percentiles are "
        "DuckDB's quantile_cont over the scenarios with a plan.",
        "Run into a temporary folder, removed after the report (planner sweep --out DIR "
        "keeps the Parquet files; planner report --from DIR reports them)."
        if run["out_dir"] is None
        else f"Read from {run['out_dir']}.",
    )
    title = spec.title or Path(spec.source).stem
    return rb.build(
        title=title,
        subtitle=f"Sweep - {spec.kind}; {spec.size:,} scenarios; file {spec.source}",
        summary=_summary(title, summary, main, pct),
        headline=_headline(summary, main, pct),
        assumptions=_assumptions(spec),
        inputs=_inputs(spec, primary),
        data={
            "sweep": {
                "title": spec.title,
                "kind": spec.kind,
                "source": spec.source,
                "spec": spec.to_dict(),
                **run,
                "summary": summary,
            }
        },
    )


def _headline(summary: dict[str, Any], main: str | None, pct: dict[str, Any]) -> list[Quantity]:
    out = [
        Quantity("scenarios", summary.get("scenarios")),
        Quantity("feasible", summary.get("feasible"), name="feasible_scenarios"),
        Quantity("infeasible_share", summary.get("infeasible_share")),
    ]
    if main is not None:
        for p in ("p10", "p50", "p90"):
            out.append(Quantity(f"{main}_{p}", pct[main][p], name=main, qualifier=p.upper()))
    return out


def _summary(title: str, summary: dict[str, Any], main: str | None, pct: dict[str, Any]) -> str:
    n, ok = summary.get("scenarios", 0), summary.get("feasible", 0)
    text = f"{title}: {n:,} scenarios, {ok:,} with a plan."
    if main is not None:
        lo, mid, hi = (
            quantities.format_value(main, pct[main][p], unit=True) for p in ("p10", "p50", "p90")
        )
        text += (
            f" {b.lowercase_label(main)[0].upper()}{b.lowercase_label(main)[1:]}: P50 {mid} "
            f"(P10 {lo}, P90 {hi})."
        )
        top = summary.get("tornado", {}).get(main, [])
        if top:
            text += f" The input that moves it most: {_input_name(top[0]['input'])}."
    return text


def _assumptions(spec: Any) -> tuple[dict[str, Any], ...]:
    src = spec.source
    rows: list[dict[str, Any]] = [
        {"name": "base.kind", "value": spec.kind, "unit": "", "source": f"{src}: base.kind"}
    ]
    for key, value in spec.base.items():
        rows.append(
            {
                "name": f"base.{key}",
                "value": value if isinstance(value, str | int | float) else str(value),
                "unit": "",
                "source": f"{src}: base.{key}",
            }
        )
    rows += [
        {
            "name": "sample.samples",
            "value": spec.samples,
            "unit": "draws",
            "source": f"{src}: sample.samples",
        },
        {"name": "sample.seed", "value": spec.seed, "unit": "", "source": f"{src}: sample.seed"},
    ]
    for d in spec.inputs:
        rows.append(
            {
                "name": f"inputs.{d.name}",
                "value": _words(d),
                "unit": "",
                "source": f"{src}: inputs.{d.name}",
            }
        )
    return tuple(rows)


def _words(d: Any) -> str:
    """``grid 2, 4, 8`` or ``triangular: min 0.15, mode 0.2, max 0.25`` (as the file gives)."""
    if d.is_grid:
        return "grid " + ", ".join(str(v) for v in d.params["grid"])
    return f"{d.dist}: " + ", ".join(f"{k} {v}" for k, v in d.params.items())


def _inputs(spec: Any, primary: Path) -> tuple[InputFile, ...]:
    from planner.catalog import load_catalog

    first = input_file("sweep", primary) if primary.is_file() else None
    files = b.inputs(first, load_catalog().path) if first else ()
    return tuple(files)
