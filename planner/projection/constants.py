"""Constants of the projection: units, accepted ranges, Monte Carlo percentiles."""

from __future__ import annotations

#: Residual region: the scope's total minus every other region of the scenario.
REST_OF_WORLD = "Rest of world"
#: Percentiles reported by the Monte Carlo.
PERCENTILES: tuple[int, ...] = (10, 50, 90)
#: Quantities that get P10/P50/P90 bands.
BANDED: tuple[str, ...] = (
    "total_twh",
    "ai_twh",
    "total_gw",
    "total_share",
    "ai_share",
    "reference_runs_per_year",
    "ai_peak_gw",
)
TWH_PER_GWH = 1e-3
W_PER_GW = 1e9
MWH_PER_TWH = 1e6
#: Lifetime range accepted, years.
LIFETIME_RANGE = (1.0, 30.0)
#: Largest Monte Carlo accepted (memory: samples x years x regions floats per quantity).
MAX_SAMPLES = 1_000_000
#: Growth rates accepted, %/yr: above -100 (a decline of 100 %/yr or more makes a load zero or
#: negative) and at most 1,000 (11x a year; installed AI compute grew ~2.3x a year in
#: 2019-2024, Epoch AI). National electricity growth is bounded tighter by the loader
#: (:data:`planner.projection_scenarios.ELECTRICITY_GROWTH_RANGE_PCT`).
GROWTH_RANGE_PCT = (-100.0, 1000.0)
#: Largest data-centre electricity accepted for any region and year, TWh: about four times the
#: world's whole electricity consumption in 2024 (26,200 TWh, data/countries/electricity.csv).
#: Anything above it comes from an input error, not a projection.
MAX_DATA_CENTRE_TWH = 100_000.0
#: A data-centre total may not exceed the national electricity it is a share of.
MAX_SHARE = 1.0
