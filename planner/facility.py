"""Facility: which annual and which design-day PUE applies, decided in one place.

A site, a hall or a chip has two PUEs. The ANNUAL PUE is the year's average facility / IT power:
energy, the electricity bill and emissions use it. The DESIGN-DAY PUE is the same ratio in the
hottest hours (chillers and fans at full load): the grid connection must carry it, so the peak
facility power and every grid limit use it. The rule, for every face and model:

1. a design-day PUE given explicitly (a number) is used as is;
2. else, when the annual PUE names a facility profile of ``data/facility.csv``, that profile's
   ``design_pue`` (with its own source);
3. else it is derived from the annual PUE: ``1 + (annual - 1) x design_pue_overhead_ratio``
   (``data/assumptions.csv``, an estimate marked there with its reasoning; 1.20 -> 1.30),
   by :func:`planner.power.design_day_pue` (the physics, which reads no table).

A profile name for the annual PUE gives the profile's annual ``pue``. :func:`resolve` applies the
rule to one hall; :func:`design_day_pue` derives from an annual PUE (a number, an array of Monte
Carlo draws, or one value per quarter of a build-out: the rule is elementwise);
:func:`profile_pues` reads a profile. Callers: :mod:`planner.request` (``--facility``),
:mod:`planner.scenarios` (``site.pue`` / ``site.design_pue`` tables and services),
:class:`planner.assumptions.SizingAssumptions.grid_pue`, and the projection and the app's sidebar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from planner import power
from planner.assumptions import default_table, design_pue_for_profile, facility_profiles

#: Name of the assumption the derived design-day PUE uses (``data/assumptions.csv``).
OVERHEAD_RATIO = "design_pue_overhead_ratio"


def design_pue_overhead_ratio() -> float:
    """``design_pue_overhead_ratio`` of ``data/assumptions.csv``: design-day PUE overhead /
    annual PUE overhead (an estimate, marked there with its reasoning)."""
    return float(default_table()[OVERHEAD_RATIO].value)


def derived_design_pue_source() -> str:
    """Where a design-day PUE derived from the annual one comes from (assumption listings)."""
    ratio = default_table()[OVERHEAD_RATIO]
    return (
        f"derived from the annual pue: 1 + (pue - 1) x {ratio.value:g} "
        f"({OVERHEAD_RATIO}, data/assumptions.csv: {ratio.source})"
    )


def design_day_pue(annual_pue: Any, overhead_ratio: Any = None) -> Any:
    """Design-day PUE derived from the annual PUE (rule 3 above), elementwise: a number, Monte
    Carlo draws or one annual PUE per quarter. ``overhead_ratio`` defaults to
    ``design_pue_overhead_ratio`` of ``data/assumptions.csv``."""
    ratio = design_pue_overhead_ratio() if overhead_ratio is None else overhead_ratio
    return power.design_day_pue(annual_pue, ratio)


def profile_pues(profile: str) -> tuple[float, float, str, str]:
    """``(annual, design-day, annual source, design-day source)`` of a facility profile of
    ``data/facility.csv``."""
    design = design_pue_for_profile(profile)  # an unknown profile: one line naming it
    row = facility_profiles().loc[profile]
    return (
        float(row["pue"]),
        design,
        str(row["source"]),
        str(row["design_pue_source"]),
    )


@dataclass(frozen=True)
class HallPue:
    """The two PUEs of one hall and where each came from."""

    annual: float
    annual_source: str
    design: float
    design_source: str


def resolve(
    annual: float | str | None,
    design: float | str | None = None,
    *,
    annual_where: str = "",
    design_where: str = "",
    missing: str = "site.design_pue not given",
) -> HallPue:
    """Both PUEs of a hall by the rule of this module.

    Parameters
    ----------
    annual, design : number, facility profile name, or None
        As written (``site.pue`` / ``site.design_pue`` for the chip's hall, a service's
        ``pue``, ``--facility``). ``None``: not given (the annual PUE is then ``pue`` of
        ``data/assumptions.csv``).
    annual_where, design_where : str
        Where each was written, e.g. ``"my_site.toml: site.pue.air"`` (for the sources).
    missing : str
        How the source of a design-day PUE that was not given says so.
    """
    profile_design: tuple[float, str] | None = None
    if isinstance(annual, str):
        value, design_of_profile, _, design_of_profile_source = profile_pues(annual)
        annual_value = value
        annual_source = f"{annual_where} = facility profile {annual} (data/facility.csv pue)"
        profile_design = (design_of_profile, design_of_profile_source)
    elif annual is not None and not math.isnan(float(annual)):
        annual_value, annual_source = float(annual), annual_where
    else:
        annual_value = float(default_table()["pue"].value)
        annual_source = "data/assumptions.csv: pue"
    if isinstance(design, str):
        return HallPue(
            annual_value,
            annual_source,
            profile_pues(design)[1],
            f"{design_where} = facility profile {design} (data/facility.csv design_pue)",
        )
    if design is not None and not math.isnan(float(design)):
        return HallPue(annual_value, annual_source, float(design), design_where)
    if profile_design is not None:
        value = profile_design[0]
        return HallPue(
            annual_value,
            annual_source,
            value,
            f"{annual_source}: its design-day PUE {value:g} (data/facility.csv design_pue; "
            f"{missing})",
        )
    ratio = design_pue_overhead_ratio()
    derived = float(design_day_pue(annual_value, ratio))
    return HallPue(
        annual_value,
        annual_source,
        derived,
        f"derived from the annual PUE {annual_value:g} ({annual_source}): 1 + "
        f"({annual_value:g} - 1) x {ratio:g} ({OVERHEAD_RATIO}, data/assumptions.csv, an "
        f"estimate; {missing})",
    )


def design_pues(annual: Any, design: Any = None) -> np.ndarray:
    """Design-day PUE per element (a Monte Carlo draw, a year or a quarter): ``design`` where
    given (not NaN), else derived from ``annual``."""
    annual_arr = np.asarray(annual, dtype=float)
    if design is None:
        return np.asarray(design_day_pue(annual_arr), dtype=float)
    design_arr = np.asarray(design, dtype=float)
    return np.where(np.isnan(design_arr), design_day_pue(annual_arr), design_arr)
