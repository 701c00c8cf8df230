"""Projection report: national / global data-centre and AI electricity (``data/projections``).

Every number comes from :func:`planner.projection.project` (its :class:`ProjectionResult`:
the tidy frame, the inputs with their ranges and sources, the published comparison, the
reference run). Energy and average GW use the annual PUE; the AI fleet's grid peak
(``ai_peak_gw``) is its IT power at nameplate x the design-day PUE. The defaults are those of
``planner project`` (10,000 Monte Carlo samples,
seed 0), so ``report.data["projection"]`` is what ``planner project PATH --json`` prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from planner import quantities
from planner._arrays import to_python
from planner.catalog import Catalog, load_catalog
from planner.reports import builder as b
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Quantity,
    Report,
    Table,
    input_file,
)

#: Monte Carlo defaults: those of ``planner project``.
DEFAULT_SAMPLES = 10_000
DEFAULT_SEED = 0

#: Percentile suffixes of the frame's banded columns (``total_twh_p10``).
BANDS = ("p10", "p50", "p90")


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: to_python(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _column(key: str) -> Column:
    """The vocabulary column of a frame column; a band (``total_twh_p10``) is its quantity's
    column qualified ``P10``; a column the vocabulary lacks is shown under its own name."""
    known = quantities.all_quantities()
    if key in known:
        return Column(key)
    base, _, band = key.rpartition("_")
    if band in BANDS and base in known:
        return Column(key, name=base, qualifier=band.upper())
    return Column.plain(key, key.replace("_", " "))


def build_projection_report(
    path: str | Path,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int | None = DEFAULT_SEED,
    command: str = "",
    catalog: Catalog | None = None,
    calibrate_to: str | None = None,
    backtest: bool = True,
) -> Report:
    """Project the scenario at ``path`` and arrange the result as a :class:`Report`.

    Every published point carries its label, "calibrated" (by construction, only with
    ``calibrate_to``) or "predicted". With ``backtest`` the report adds the fleet's revenue and
    compute-stock checks (:func:`planner.fleet.reconcile`) and the out-of-sample backtest
    (:func:`planner.backtest.backtest`); their rows are in ``data["fleet_checks"]`` and
    ``data["backtest"]``, beside ``data["projection"]`` (what ``planner project --json``
    prints).
    """
    from planner.projection import project
    from planner.projection_scenarios import load_scenario

    cat = catalog or load_catalog()
    sc = load_scenario(path)
    res = project(sc, samples=samples, seed=seed, catalog=cat, calibrate_to=calibrate_to)
    payload = res.to_dict()
    frame = res.frame
    first = sc.variants[res.variants[0]]
    scope = first.scope
    start, end = res.years
    multi = len(res.variants) > 1

    scope_frame = frame[frame["country"] == scope].drop_duplicates(["variant", "year"])
    if scope_frame.empty:  # pragma: no cover - the projection always reports its scope
        scope_frame = frame.drop_duplicates(["variant", "year"])
    banded = "total_twh_p10" in frame.columns

    rb = b.ReportBuilder("projection", command)
    regions = _regions_table(frame, scope, end)
    rb.add(_trajectory_table(scope_frame, scope, banded), regions)
    if res.published:
        rb.add(_published_table(res.published))
    extra: dict[str, Any] = {}
    if backtest:
        from planner import backtest as bt
        from planner import fleet

        checks = fleet.reconcile(strict=False)
        table = bt.backtest()
        summary = bt.summary(table)
        extra = {
            "fleet_checks": _rows(checks),
            "backtest": bt.to_records(table),
            "backtest_summary": summary,
        }
        rb.add(_checks_table(checks), _backtest_table(table, summary))
    rb.add(
        Table(
            name="projection",
            title="The whole projection: every variant, region and year",
            columns=tuple(_column(c) for c in frame.columns),
            rows=tuple(_rows(frame)),
            section="details",
            collapsed=True,
        )
    )
    rb.chart(
        Chart(
            name="trajectory",
            title=f"{scope}: data-centre electricity by year"
            + (" (P10-P90 band)" if banded else ""),
            kind="band" if banded else "line",
            table="trajectory",
            encoding=(
                {"x": "year", "low": "total_twh_p10", "mid": "total_twh", "high": "total_twh_p90"}
                if banded
                else {"x": "year", "y": "total_twh"}
            )
            | ({"color": "variant"} if multi else {}),
            caption="Central values (line) and the Monte Carlo P10-P90 band of the inputs' ranges."
            if banded
            else "Central values.",
        )
    )
    if len(regions.rows) > len(res.variants):  # regions besides the scope
        rb.chart(
            Chart(
                name="regions",
                title=f"Data-centre electricity by region in {end} ({scope} total omitted)",
                kind="bar",
                table="regions",
                encoding={"x": "total_twh", "y": "country", "omit": f"country={scope}"}
                | ({"color": "variant"} if multi else {}),
            )
        )
    rb.note(*(f"Calibration ({v}): {text}" for v, text in res.calibration.items()))
    rb.note(*res.notes)  # one-sided bands, common regional split, ...
    rb.note(
        "Two PUEs: energy (TWh) and average GW use the annual PUE (what the meter bills over "
        "the year); the AI grid peak (ai_peak_gw) is the AI fleet's IT power at nameplate "
        "(average / load factor) x the design-day PUE (the hottest hours the grid connection "
        "must carry): the scenario's design_pue, or derived from the annual PUE (see the "
        "design_pue assumptions). The non-AI load has no nameplate in the scenarios, so no "
        "peak is given for it.",
        f"Share of national electricity uses each study's own denominator "
        f"({first.electricity.definition}; data/countries/electricity.csv).",
        "Sensitivity of a projection is given by its uncertainty bands: every input given as a "
        f"range is sampled ({res.samples:,} Monte Carlo samples, seed {res.seed})."
        if res.samples
        else "Central values only (no Monte Carlo samples).",
    )
    assumptions: list[dict[str, Any]] = []
    for row in res.inputs:
        name = f"{row['variant']}: {row['name']}" if multi else row["name"]
        assumptions.append(
            {
                "name": name,
                "value": to_python(row["value"]),
                "low": to_python(row.get("low")),
                "high": to_python(row.get("high")),
                "unit": row["unit"],
                "source": row["source"] or sc.variants[row["variant"]].source,
            }
        )
    rr = res.reference_run
    assumptions.append(
        {
            "name": "reference_run.energy_mwh",
            "value": rr.energy_mwh,
            "low": None,
            "high": None,
            "unit": "MWh per run",
            "source": f"preset {rr.preset}: {rr.title} (planner.presets, sized by the core)",
        }
    )
    assumptions.append(
        {
            "name": "monte_carlo.samples",
            "value": res.samples,
            "low": None,
            "high": None,
            "unit": "samples",
            "source": f"planner report default (as planner project), seed {res.seed}",
        }
    )
    return rb.build(
        title=res.title,
        subtitle=f"Projection {res.scenario} ({', '.join(res.variants)}), {start}-{end}; "
        f"source: {res.source}",
        summary=_summary(res, scope_frame, frame, scope, banded),
        headline=_headline(scope_frame, res.variants, scope, start, end),
        assumptions=assumptions,
        inputs=_inputs(path, cat),
        data={"projection": payload, **extra},
    )


def _inputs(path: str | Path, cat: Catalog) -> tuple[InputFile, ...]:
    return b.inputs(
        input_file("projection scenario", path),
        cat.path,
        "national electricity",
        "presets (reference run)",
    )


def _value(scope_frame: pd.DataFrame, variant: str, year: int, key: str) -> Any:
    hit = scope_frame[(scope_frame["variant"] == variant) & (scope_frame["year"] == year)]
    return None if hit.empty or key not in hit else to_python(hit[key].iloc[0])


def _band(scope_frame: pd.DataFrame, variant: str, year: int, key: str) -> str:
    lo = _value(scope_frame, variant, year, f"{key}_p10")
    hi = _value(scope_frame, variant, year, f"{key}_p90")
    if lo is None or hi is None:
        return ""
    return f"P10-P90 {quantities.format_value(key, lo)}-{quantities.format_value(key, hi)}"


def _headline(
    scope_frame: pd.DataFrame, variants: tuple[str, ...], scope: str, start: int, end: int
) -> tuple[Quantity, ...]:
    """Headline numbers of the scope; keys ``<quantity>_<year>[_<variant>]``."""
    out: list[Quantity] = []
    multi = len(variants) > 1
    for v in variants:
        wanted = [("total_twh", start)] if start != end else []
        wanted += [
            ("total_twh", end),
            ("ai_twh", end),
            ("total_share", end),
            ("total_gw", end),
            ("ai_peak_gw", end),
            ("reference_runs_per_year", end),
        ]
        for key, year in wanted:
            out.append(
                Quantity(
                    f"{key}_{year}" + (f"_{v}" if multi else ""),
                    _value(scope_frame, v, year, key),
                    name=key,
                    qualifier=f"({scope}, {year}" + (f", {v})" if multi else ")"),
                    note=_band(scope_frame, v, year, key) if year == end else "",
                )
            )
    return tuple(out)


def _twh(value: Any, unit: bool = True) -> str:
    """A data-centre electricity figure as the vocabulary writes ``total_twh``."""
    return quantities.format_value("total_twh", value, unit=unit)


def _summary(
    res: Any, scope_frame: pd.DataFrame, frame: pd.DataFrame, scope: str, banded: bool
) -> str:
    start, end = res.years
    parts = [f"{res.title}."]
    for v in res.variants:
        tag = f" In the {v} case," if len(res.variants) > 1 else ""
        t_end = _value(scope_frame, v, end, "total_twh")
        share = _value(scope_frame, v, end, "total_share")
        ai = _value(scope_frame, v, end, "ai_twh")
        text = f"{tag} {scope} data centres use {_twh(t_end)} in {end}"
        if banded:
            lo = _value(scope_frame, v, end, "total_twh_p10")
            hi = _value(scope_frame, v, end, "total_twh_p90")
            if lo is not None and hi is not None:
                text += f" (P10-P90 {_twh(lo, unit=False)}-{_twh(hi)})"
        if share is not None:
            text += f", {share:.1%} of national electricity"
        if ai is not None:
            text += f", of which AI {quantities.format_value('ai_twh', ai, unit=True)}"
        if start != end:
            t0 = _value(scope_frame, v, start, "total_twh")
            text += f", up from {_twh(t0)} in {start}"
        runs = _value(scope_frame, v, end, "reference_runs_per_year")
        if runs is not None:
            text += (
                f"; the AI energy would power {runs:,.0f} runs a year of {res.reference_run.title}"
            )
        parts.append(text.strip() + ".")
    regions = frame[(frame["year"] == end) & (frame["country"] != scope)]
    regions = regions[regions["variant"] == res.variants[0]]
    if not regions.empty:
        top = regions.sort_values("total_twh", ascending=False).head(3)
        listed = ", ".join(f"{r.country} {_twh(r.total_twh)}" for r in top.itertuples())
        parts.append(f"Largest regions in {end}: {listed}.")
    for label in ("predicted", "calibrated"):  # the core's labels of a published point
        words = (
            "predicts (nothing calibrated to them)"
            if label == "predicted"
            else "is calibrated to (agreement by construction)"
        )
        diffs = [
            abs(p["relative_difference"])
            for p in res.published
            if p["relative_difference"] is not None and p.get("label", "predicted") == label
        ]
        if diffs:
            parts.append(
                f"Of the study's published figures it {words} {len(diffs)}, "
                f"largest difference {max(diffs):.1%}."
            )
    return " ".join(parts)


def _trajectory_table(scope_frame: pd.DataFrame, scope: str, banded: bool) -> Table:
    keys = ["variant", "year", "total_twh"]
    if banded:
        keys += ["total_twh_p10", "total_twh_p90"]
    keys += [
        "ai_twh",
        "non_ai_twh",
        "total_gw",
        "ai_gw",
        "ai_peak_gw",
    ]
    if banded:
        keys += ["ai_peak_gw_p10", "ai_peak_gw_p90"]
    keys += [
        "electricity_twh",
        "total_share",
        "ai_share",
        "pue",
        "design_pue",
        "ai_accelerators_in_service",
        "reference_runs_per_year",
    ]
    keys = [k for k in keys if k in scope_frame.columns]
    return Table(
        name="trajectory",
        title=f"{scope} by year",
        columns=tuple(_column(k) for k in keys),
        rows=tuple(_rows(scope_frame[keys])),
    )


def _regions_table(frame: pd.DataFrame, scope: str, end: int) -> Table:
    keys = [
        "variant",
        "country",
        "total_twh",
        "ai_twh",
        "total_gw",
        "ai_peak_gw",
        "total_share",
        "electricity_definition",
    ]
    part = frame[frame["year"] == end].drop_duplicates(["variant", "country"])
    return Table(
        name="regions",
        title=f"By region in {end} (the last row of each variant is {scope})",
        columns=tuple(_column(k) for k in keys if k in part.columns),
        rows=tuple(_rows(part[[k for k in keys if k in part.columns]])),
    )


def _published_table(published: list[dict[str, Any]]) -> Table:
    rows = [{**p, "label": p.get("label", "predicted")} for p in published]
    return b.published_table(
        rows,
        (
            Column("variant"),
            Column("country"),
            Column("year"),
            b.QUANTITY,
            b.UNIT,
            b.PUBLISHED,
            b.MODEL,
            Column("relative_difference"),
            Column.plain("label", "Calibrated or predicted"),
            b.NOTE,
        ),
        title="Model vs the published figures of the study (calibrated: by construction; "
        "predicted: a test of the model)",
    )


def _checks_table(checks: pd.DataFrame) -> Table:
    return Table(
        name="fleet_checks",
        title="AI fleet vs the money and the chips: units x ASP against vendor revenue, "
        "installed FLOP/s against Epoch AI (planner.fleet.reconcile)",
        columns=(
            Column.plain("check", "Check"),
            Column.plain("scope", "Vendor / scope"),
            Column("year"),
            Column("implied"),
            Column("published"),
            b.UNIT,
            Column("error"),
            Column("low", name="error_low"),
            Column("high", name="error_high"),
            b.SOURCE,
        ),
        rows=tuple(_rows(checks)),
        section="comparison",
        collapsed=True,
    )


def _backtest_table(table: pd.DataFrame, summary: dict[str, Any]) -> Table:
    """The backtest's rows; a figure with no figure of its definition by the cut-off shows no
    prediction or error, and the core's reason where its anchor would be."""
    from planner import backtest as bt

    why = f"{bt.NOT_PREDICTABLE}: {bt.NOT_PREDICTABLE_REASON}"
    rows = table.drop(columns=["source", "figure"])
    rows = rows.assign(anchor=[a or why for a in rows["anchor"]])
    return Table(
        name="backtest",
        title="Out-of-sample backtest of the fleet model: data up to the cut-off year, each "
        "later published figure predicted from the latest figure of its own definition "
        "(planner.backtest)",
        columns=(
            Column("cutoff_year"),
            Column.plain("study", "Study"),
            Column("definition"),
            Column("region", name="country"),
            Column("year"),
            Column("published", name="published_twh"),
            Column("predicted", name="predicted_twh"),
            Column("error"),
            Column("persistence_error"),
            Column("used_as_input"),
            Column("anchor"),
        ),
        rows=tuple(_rows(rows)),
        section="comparison",
        note=_backtest_note(summary),
        collapsed=True,
    )


def _backtest_note(s: dict[str, Any]) -> str:
    """The backtest's summary (:func:`planner.backtest.summary`) in words, numbers in the
    vocabulary's format, the median ratio beside its target."""
    from planner import backtest as bt

    def v(name: str, unit: bool = False) -> str:
        return quantities.format_value(name, s[name], unit=unit)

    return (
        f"{v('hits')} of {v('predictions')} out-of-sample predictions within {v('tolerance')} "
        f"({v('distinct_figures_hit')} distinct published figures; the naive forecast: "
        f"{v('persistence_hits')}). Median |error| {v('median_abs_error')} against the naive "
        f"forecast's {v('persistence_median_abs_error')} on the same figures: "
        f"{b.lowercase_label('median_ratio')} {v('median_ratio')} (target: at most "
        f"{v('median_ratio_target')}). {v('not_predictable', unit=True)} {bt.NOT_PREDICTABLE} "
        f"({bt.NOT_PREDICTABLE_REASON})."
    )
