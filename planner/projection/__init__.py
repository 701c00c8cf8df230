"""Projection: how much electricity a country's (or the world's) AI and data centres use, by year.

Bottom-up, every parameter a named, sourced input of a scenario file
(``data/projections/*.toml``, read by :mod:`planner.projection_scenarios`):

1. **Installed base.** Accelerators shipped by chip generation and year; a unit stays in
   service for ``lifetime_years`` L from the day it is installed. With ``first_year_fraction``
   f = 1 (units shipped in year t run all of year t) the units in service in year t are those
   shipped in years t-L+1..t; with f < 1 a unit runs f of its shipment year and 1 - f of year
   t+L, so every unit gives exactly L unit-years whatever f (:func:`survival_weights`). A
   fractional L keeps the oldest cohort for that fraction of the year, so the base is
   continuous and never falls when L grows.
2. **Power per unit in service** = catalog nameplate system power per accelerator
   (:attr:`planner.catalog.Accelerator.system_power_per_gpu_w`: server/rack incl. CPUs, fans,
   NVSwitch) x average ``load_factor`` (fraction of nameplate) x (1 + ``network_overhead``),
   through :mod:`planner.power`.
3. **Compute-driven variant** (optional): after ``base_year`` AI IT power follows FLOP/s demand
   growing x %/yr divided by FLOP/s per W improving y %/yr: P(t) = P(b) ((1+x)/(1+y))^(t-b).
4. **Non-AI baseline** where a study includes it (conventional servers, storage, network,
   crypto mining): TWh in a base year growing g %/yr, on the IT side (x PUE) or facility side.
5. **Facility overhead**: a PUE trajectory by year (anchors, linear in between, flat outside):
   the ANNUAL PUE, which multiplies average IT power into energy. The grid peak uses a
   DESIGN-DAY PUE instead (the hottest hours, when chillers and fans run hardest): the
   scenario's optional ``design_pue`` anchors (at least the annual PUE of the same year), or
   else :func:`planner.power.design_day_pue` of the annual PUE per year and per Monte Carlo
   draw (``design_pue_overhead_ratio`` of ``data/assumptions.csv``, an estimate: 1.5).
6. **Allocation** to countries/regions by share (anchors by year, linear in between): the
   ``regions`` table splits the non-AI load, and the AI load too unless the scenario gives
   separate ``ai_regions`` shares (accelerator fleets are more concentrated than data centres;
   without them the output carries a note that per-region AI figures are the common split).
7. **Outputs** by country and year: TWh, average GW (TWh / hours), the AI fleet's grid peak
   ``ai_peak_gw`` (IT power at nameplate, i.e. average / ``load_factor``, x design-day PUE:
   the capacity its grid connections must carry on the design day), share of national
   electricity with the study's own denominator (``data/countries/electricity.csv``:
   consumption and generation differ by 5-10 %), and the number of reference training runs
   (default the GTC 2024 1.8T-parameter run on Hopper, ``planner.presets``) the AI energy
   could power in a year.
8. **Uncertainty**: inputs given as ranges are sampled (seeded, vectorised); P10/P50/P90 bands.
   A central value outside its own band (a one-sided range) is flagged in ``notes``.
9. **Calibration is explicit and off by default**: ``project(..., calibrate_to=
   STUDY)`` solves the non-AI level and growth at run time so the scope lands on the study's
   published totals (:func:`calibrate`), and labels those figures "calibrated"; without it
   nothing is solved and every published figure is a prediction ("predicted").
10. **Sanity**: growth rates are bounded (:data:`GROWTH_RANGE_PCT`), and an output above
   national electricity (share > 1) or above :data:`MAX_DATA_CENTRE_TWH` raises an
   :class:`InputError` naming the input that drove it.

Energy = average power x ``hours_per_year`` (8,760 h, the de Vries convention, or 8,784 for a
leap year; nothing else is accepted). Everything is numpy: samples x years x regions in one
pass (``benchmarks/bench_projection.py``).

The package: :mod:`~planner.projection.data` (national electricity, countries),
:mod:`~planner.projection.installed` (installed base), :mod:`~planner.projection.demand` (one
variant's AI and non-AI load), :mod:`~planner.projection.montecarlo` (sampling and bands),
:mod:`~planner.projection.validation` (named-field checks), :mod:`~planner.projection.calibration`
(explicit calibration) and :mod:`~planner.projection.result` (:func:`project`). Everything public
is re-exported here: ``from planner.projection import project`` keeps working.
"""

from __future__ import annotations

from planner.projection.calibration import calibrate
from planner.projection.constants import (
    BANDED,
    GROWTH_RANGE_PCT,
    LIFETIME_RANGE,
    MAX_DATA_CENTRE_TWH,
    MAX_SAMPLES,
    MAX_SHARE,
    MWH_PER_TWH,
    PERCENTILES,
    REST_OF_WORLD,
    TWH_PER_GWH,
    W_PER_GW,
)
from planner.projection.data import (
    known_countries,
    load_electricity,
    national_electricity_twh,
    resolve_country,
)
from planner.projection.demand import (
    ReferenceRun,
    _evaluate,
    design_pue_overhead_ratio,
    reference_run,
)
from planner.projection.installed import (
    compound,
    installed_base,
    interpolate_anchors,
    survival_weights,
)
from planner.projection.montecarlo import _Draw
from planner.projection.result import ProjectionResult, parse_years, project
from planner.projection.validation import validate_spec

__all__ = [
    "BANDED",
    "GROWTH_RANGE_PCT",
    "LIFETIME_RANGE",
    "MAX_DATA_CENTRE_TWH",
    "MAX_SAMPLES",
    "MAX_SHARE",
    "MWH_PER_TWH",
    "PERCENTILES",
    "REST_OF_WORLD",
    "TWH_PER_GWH",
    "W_PER_GW",
    "ProjectionResult",
    "ReferenceRun",
    "_Draw",
    "_evaluate",
    "calibrate",
    "compound",
    "design_pue_overhead_ratio",
    "installed_base",
    "interpolate_anchors",
    "known_countries",
    "load_electricity",
    "national_electricity_twh",
    "parse_years",
    "project",
    "reference_run",
    "resolve_country",
    "survival_weights",
    "validate_spec",
]
