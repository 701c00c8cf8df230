"""The public entry point :func:`project` and its :class:`ProjectionResult`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner._arrays import to_python
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.projection.calibration import calibrate
from planner.projection.constants import MAX_SAMPLES
from planner.projection.data import resolve_country
from planner.projection.demand import ReferenceRun, reference_run
from planner.projection.error_band import widen
from planner.projection.montecarlo import _in_file, _outside_band_notes, _run_variant
from planner.projection_scenarios import (
    YEAR_RANGE,
    Scenario,
    load_scenario,
)
from planner.validation import check_seed

# --------------------------------------------------------------------------------------------
# Public entry point and result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionResult:
    """Projection of one scenario file: a tidy frame (variant, country, year, quantities).

    Quantity columns carry their unit: ``*_twh`` (TWh/yr), ``*_gw`` (average GW, except
    ``ai_peak_gw``: the AI fleet's grid peak, GW, IT at nameplate x ``design_pue``), ``*_share`` (fraction of national electricity, with the study's definition in
    ``electricity_definition``), ``reference_runs_per_year``, ``ai_accelerators_in_service``
    (units), ``ai_dense_bf16_eflops`` (installed dense BF16 peak), ``pue`` (annual, energy),
    ``design_pue`` (design day, the peak). With samples,
    ``<quantity>_p10/_p50/_p90`` give the Monte Carlo bands. ``notes`` are sentences a reader
    must see next to the numbers (AI split by the common regional shares; a central value
    outside its own P10-P90 band).
    """

    scenario: str
    path: str
    title: str
    source: str
    years: tuple[int, int]
    samples: int
    seed: int | None
    variants: tuple[str, ...]
    frame: pd.DataFrame
    reference_run: ReferenceRun
    inputs: list[dict[str, Any]]
    calibration: dict[str, str]
    published: list[dict[str, Any]] = field(default_factory=list)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The tidy frame (a copy)."""
        return self.frame.copy()

    def value(self, quantity: str, country: str, year: int, variant: str | None = None) -> float:
        """One number of the central (deterministic) projection."""
        f = self.frame
        v = variant or self.variants[0]
        if v not in self.variants:
            raise InputError("variant", v, "one of: " + ", ".join(self.variants))
        if quantity not in f.columns:
            raise InputError("quantity", quantity, "one of: " + ", ".join(f.columns[4:]))
        row = f[(f["variant"] == v) & (f["country"] == country) & (f["year"] == year)]
        if row.empty:
            raise InputError(
                "country/year", f"{country} {year}", "a country and year of the projection"
            )
        return float(row[quantity].iloc[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metadata, rows (one per variant, country, year), inputs, published."""
        rows = [
            {k: to_python(v) for k, v in r.items()} for r in self.frame.to_dict(orient="records")
        ]
        return {
            "scenario": self.scenario,
            "path": self.path,
            "title": self.title,
            "source": self.source,
            "years": list(self.years),
            "samples": self.samples,
            "seed": self.seed,
            "variants": list(self.variants),
            "reference_run": {
                "preset": self.reference_run.preset,
                "title": self.reference_run.title,
                "energy_mwh": self.reference_run.energy_mwh,
                "average_facility_power_mw": self.reference_run.average_facility_power_mw,
                "days": self.reference_run.days,
            },
            "calibration": dict(self.calibration),
            "notes": list(self.notes),
            "rows": rows,
            "inputs": [{k: to_python(v) for k, v in r.items()} for r in self.inputs],
            "published": [{k: to_python(v) for k, v in r.items()} for r in self.published],
        }


def parse_years(text: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """``"2024:2035"`` (or ``"2030"``) -> (2024, 2035); raises :class:`InputError` ("years")."""
    if text is None:
        return default
    parts = str(text).split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise InputError("years", text, "START:END, e.g. 2024:2035") from None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise InputError("years", text, "START:END, e.g. 2024:2035")
    start, end = values
    if end < start:
        raise InputError("years", text, "START:END with START <= END (years out of order)")
    lo, hi = YEAR_RANGE
    if start < lo or end > hi:
        raise InputError("years", text, f"years within {lo}..{hi}")
    return start, end


def project(
    scenario: Scenario | str | Path,
    *,
    years: tuple[int, int] | str | None = None,
    samples: int = 0,
    seed: int | None = 0,
    variants: list[str] | None = None,
    countries: list[str] | None = None,
    catalog: Catalog | None = None,
    calibrate_to: str | None = None,
    error_band: bool = True,
) -> ProjectionResult:
    """Project a scenario's data-centre and AI electricity by country and year.

    By default nothing is fitted: every input is the file's stated, sourced value, and each
    published figure of the file is a prediction to compare with (``published[i]["label"]``
    is ``"predicted"``). ``calibrate_to`` makes calibration explicit (:func:`calibrate`).

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario or a TOML file (``data/projections/*.toml``).
    years : (start, end) or "start:end", optional
        Output years; default the scenario's ``years``.
    samples : int
        Monte Carlo samples for P10/P50/P90 bands (0: central values only).
    seed : int, optional
        Seed of the sampler (same seed, same bands).
    variants : list of str, optional
        Run only these variants (default all of the file).
    countries : list of str, optional
        Keep only these countries/regions (case-insensitive) in the frame.
    calibrate_to : str, optional
        The study to calibrate to: the scenario's own ``name`` (case-insensitive). The
        level and growth of the first IT-side non-AI load are then SOLVED so the scope's
        total lands on the file's published ``total_twh`` figures (the earliest and latest
        year of each variant; one year: the level only). The solved values replace the file's
        in ``inputs``, ``calibration`` says what was solved, and those published figures are
        labelled ``"calibrated"`` (agreement by construction). Off by default.
    error_band : bool
        With samples, widen the P10-P90 of total TWh, GW and share to include the model's
        out-of-sample error (:mod:`planner.projection.error_band`); False: the sampled
        inputs' band alone.

    Raises
    ------
    InputError, CatalogError
        Naming the field (and the file): shares not summing to 1, years out of order or
        outside 1990..2060, a growth rate outside (-100, 1000] %/yr, an unknown country or
        chip, a malformed file, or an output beyond national electricity (naming the input
        that drove it).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    cat = catalog or load_catalog()
    if int(samples) != samples or samples < 0 or samples > MAX_SAMPLES:
        raise InputError("samples", samples, f"a whole number in 0..{MAX_SAMPLES:,}")
    check_seed("seed", seed)
    chosen = variants or list(sc.variants)
    for v in chosen:
        if v not in sc.variants:
            raise InputError("variant", v, "one of: " + ", ".join(sc.variants))
    specs = {v: sc.variants[v] for v in chosen}
    calibrated: dict[str, list[tuple[int, float]]] = {}
    if calibrate_to is not None:
        if str(calibrate_to).strip().lower() != sc.name.lower():
            raise InputError(
                "calibrate_to",
                calibrate_to,
                f"{sc.name} (the study this file reproduces) or no calibration",
            )
        for v in chosen:
            try:
                specs[v], calibrated[v] = calibrate(specs[v], cat)
            except InputError as err:
                raise _in_file(err, sc.path, specs[v]) from None
    first = specs[chosen[0]]
    yr = parse_years(years, first.year_range) if isinstance(years, str) or years is None else years
    yr = parse_years(f"{yr[0]}:{yr[1]}", first.year_range)
    out_years = np.arange(yr[0], yr[1] + 1, dtype=float)
    runs = [_run_variant(specs[v], out_years, int(samples), seed, cat, sc.path) for v in chosen]
    error_notes: list[str] = []
    if samples and error_band:
        for i, v in enumerate(chosen):
            widened, note = widen(runs[i].frame, specs[v].published_study)
            kept = [n for n in runs[i].notes if "its own P10-P90 band" not in n]
            runs[i] = replace(
                runs[i], frame=widened, notes=kept + _outside_band_notes(specs[v], widened)
            )
            error_notes += [note] if note and note not in error_notes else []
    frame = pd.concat([r.frame for r in runs], ignore_index=True)
    if countries:
        wanted = [resolve_country(c) for c in countries]
        missing = [c for c in wanted if c not in set(frame["country"])]
        if missing:
            raise InputError(
                "country",
                missing[0],
                "one of: " + ", ".join(dict.fromkeys(frame["country"])),
                detail="not a region of this scenario",
            )
        frame = frame[frame["country"].isin(wanted)].reset_index(drop=True)
    result = ProjectionResult(
        scenario=sc.name,
        path=sc.path,
        title=sc.title,
        source=first.source,
        years=yr,
        samples=int(samples),
        seed=seed if samples else None,
        variants=tuple(chosen),
        frame=frame,
        reference_run=reference_run(first.reference_run),
        inputs=[row for r in runs for row in r.inputs],
        calibration={v: specs[v].calibration for v in chosen},
        notes=tuple(note for r in runs for note in r.notes) + tuple(error_notes),
    )
    return _with_published(result, sc, chosen, calibrated)


def _with_published(
    result: ProjectionResult,
    sc: Scenario,
    chosen: list[str],
    calibrated: dict[str, list[tuple[int, float]]] | None = None,
) -> ProjectionResult:
    rows = []
    f = result.frame
    for v in chosen:
        for p in sc.variants[v].published:
            if p.variant not in (None, v):
                continue
            hit = f[(f["variant"] == v) & (f["country"] == p.country) & (f["year"] == p.year)]
            model = None if hit.empty else float(hit[p.quantity].iloc[0])
            fitted = (
                p.quantity == "total_twh"
                and resolve_country(p.country) == resolve_country(sc.variants[v].scope)
                and (p.year, p.value) in (calibrated or {}).get(v, [])
            )
            rows.append(
                {
                    "variant": v,
                    "country": p.country,
                    "year": p.year,
                    "quantity": p.quantity,
                    "published": p.value,
                    "model": model,
                    "relative_difference": None if model is None else (model - p.value) / p.value,
                    "used_as_input": fitted,
                    "label": "calibrated" if fitted else "predicted",
                    "note": p.note,
                }
            )
    return ProjectionResult(**{**result.__dict__, "published": rows})
