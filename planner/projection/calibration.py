"""Explicit calibration: solve the non-AI level and growth so a scope lands on a study's totals."""

from __future__ import annotations

import numpy as np

from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.projection.data import resolve_country
from planner.projection.demand import _evaluate
from planner.projection.montecarlo import _Draw
from planner.projection.validation import _check_growth, validate_spec
from planner.projection_scenarios import (
    ScenarioSpec,
    central,
)


def calibrate(
    spec: ScenarioSpec, catalog: Catalog | None = None
) -> tuple[ScenarioSpec, list[tuple[int, float]]]:
    """Solve the non-AI level and growth so the scope's total lands on the study's figures.

    The first non-AI load with ``basis = "it"`` (else the first) is calibrated: with two or
    more published ``total_twh`` figures for the scope (this variant's, or shared), its
    ``twh`` (in its ``base_year``) and ``growth_pct_per_year`` are solved in closed form from
    the earliest and latest of them, given every other input at its central value; with one
    figure only the level is solved. Both become fixed numbers (no Monte Carlo range).

    Returns
    -------
    (ScenarioSpec, list of (year, published TWh))
        The calibrated variant (its ``calibration`` text says what was solved, with the
        values) and the figures it was solved on.

    Raises
    ------
    InputError
        No non-AI load or no published total to calibrate to, or a published total below the
        AI load alone (no non-negative non-AI load reaches it).
    """
    cat = catalog or load_catalog()
    scope = resolve_country(spec.scope)
    points = sorted(
        {
            (p.year, p.value)
            for p in spec.published
            if p.quantity == "total_twh"
            and resolve_country(p.country) == scope
            and p.variant in (None, spec.variant)
        }
    )
    if not spec.non_ai:
        raise InputError("calibrate_to", spec.name, "a scenario with a [non_ai.NAME] load")
    if not points:
        raise InputError(
            "calibrate_to",
            spec.name,
            f"a scenario with a published total_twh for {scope}",
            detail=f"variant {spec.variant!r} has none",
        )
    label = next((k for k, e in spec.non_ai.items() if e.basis == "it"), next(iter(spec.non_ai)))
    entry = spec.non_ai[label]
    targets = [points[0], points[-1]] if points[-1][0] != points[0][0] else [points[0]]
    years = np.arange(targets[0][0], targets[-1][0] + 1, dtype=float)
    validate_spec(spec, cat, (int(years[0]), int(years[-1])))
    core = _evaluate(spec, _Draw(1, None), cat, years)
    others = core["non_ai_twh"][0] - core["non_ai_parts"][f"non_ai.{label}"][0]
    factor = core["pue"][0] if entry.basis == "it" else np.ones_like(years)
    need = []
    for year, value in targets:
        i = int(year - years[0])
        rest = (value - core["ai_twh"][0][i] - others[i]) / factor[i]
        if not rest > 0:
            raise InputError(
                "calibrate_to",
                spec.name,
                f"published totals above the AI load and the other non-AI loads ({scope} {year}: "
                f"{value:g} TWh published, {core['ai_twh'][0][i] + others[i]:.4g} TWh without "
                f"non_ai.{label})",
            )
        need.append((year, float(rest)))
    growth = central(entry.growth_pct_per_year)
    if len(need) == 2:
        (y1, r1), (y2, r2) = need
        growth = ((r2 / r1) ** (1.0 / (y2 - y1)) - 1.0) * 100.0
    y1, r1 = need[0]
    level = r1 / (1.0 + growth / 100.0) ** (y1 - entry.base_year)
    new_entry = entry.model_copy(update={"twh": level, "growth_pct_per_year": growth})
    _check_growth(f"non_ai.{label}.growth_pct_per_year", growth)
    shown = " and ".join(f"{v:,.4g} TWh in {y}" for y, v in targets)
    text = (
        f"CALIBRATED at run time (calibrate_to = {spec.name!r}): non_ai.{label}.twh = "
        f"{level:,.1f} TWh ({entry.basis} side, {entry.base_year})"
        + (f" and its growth_pct_per_year = {growth:.2f} %/yr" if len(need) == 2 else "")
        + f" were solved so {scope} lands on {shown}; agreement with "
        + ("those figures" if len(need) == 2 else "that figure")
        + " is by construction, not a validation. Uncalibrated inputs: "
        + spec.calibration
    )
    out = spec.model_copy(update={"non_ai": {**spec.non_ai, label: new_entry}, "calibration": text})
    return out, list(targets)
