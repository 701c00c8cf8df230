"""Fleet: AI accelerators shipped, paid for, in service and powered, reconciled with the money
and the chips.

Every number is a row of a sourced table in ``data/fleet/`` (units in the column names, a
``source`` and a ``kind`` on every row; ``estimate`` and ``analyst-estimate`` rows are marked):

* ``chips.csv``: each chip family's nameplate system power and dense 16-bit peak per unit,
  from the catalog (``data/accelerators.csv``) or, for chips outside it (TPU, Trainium, H20,
  PCIe inference cards), given with their source.
* ``shipments.csv``: units shipped per family and calendar year, and their average selling
  price (ASP, USD) where a vendor sells them.
* ``vendor_revenue.csv``: NVIDIA and AMD data-centre revenue (10-K / earnings, TechInsights),
  and the fraction of it that is accelerators.
* ``installed_compute.csv``: Epoch AI's independent estimate of the installed NVIDIA stock.
* ``regional_shares.csv``: where accelerators are deployed (not where data centres are).
* ``segments.csv``: the accelerators' split between hyperscale, colocation and enterprise
  halls, each with its measured ANNUAL PUE (energy uses annual PUE, not the design-day one).
* ``supply.csv``: growth of CoWoS advanced-packaging capacity by year (TSMC, DIGITIMES;
  later years ESTIMATE): the upper path shipments can follow (:func:`supply_bound_shipments`).
* ``workloads.csv``: training vs inference share of accelerator time and the AVERAGE draw of
  each as a fraction of nameplate (average, not peak: the meter bills the average).

Two reconciliations keep the fleet honest (:func:`reconcile`): units x ASP against the vendors'
accelerator revenue (within :data:`REVENUE_TOLERANCE`), and the installed dense FLOP/s against
Epoch AI's stock estimate (within :data:`COMPUTE_TOLERANCE`). A fleet outside either raises
:class:`ReconciliationError` naming the vendor, year and both numbers.

Demand (:func:`ai_demand`): units in service (:func:`planner.projection.installed_base`, mid-year
installs, :data:`LIFETIME_YEARS`) x nameplate W x average load of each workload x (1 + network)
x the accelerators' segment-weighted annual PUE x 8,760 h, split into training and inference
series and allocated to regions by the deployment share of each shipment year (a unit stays
where it was installed). After the last shipment year the shipped
nameplate follows a damped trend (:func:`extend_shipments`). Total data-centre electricity
(:func:`predict_total`) adds a non-AI load anchored on the latest published total for the
region and grown at the region's own published trend up to the anchor
(:func:`growth_from_data`, else the World's, else :data:`NON_AI_GROWTH_PCT`); a country with a
history of its own follows its own total trend. Each trend is held forward DAMPED, the growth
of year j ahead the measured rate x :data:`NON_AI_DAMPING` ** j (Gardner & McKenzie's damped
trend, phi from the range Hyndman & Athanasopoulos allow, fixed before the backtest was run).
Nothing is solved to hit a published figure.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from planner._paths import data_dir
from planner.catalog import Catalog, load_catalog
from planner.errors import CatalogError, InputError, PlannerError
from planner.projection import (
    REST_OF_WORLD,
    installed_base,
    interpolate_anchors,
    national_electricity_twh,
)
from planner.projection_scenarios import pydantic_error

#: Service life of an accelerator, years: hyperscaler server depreciation (Alphabet and
#: Microsoft 6 years from 2022-2023; Meta 5.5; Amazon 5-6).
LIFETIME_YEARS = 6.0
#: Fraction of its shipment year a unit runs (installed evenly through the year).
FIRST_YEAR_FRACTION = 0.5
#: Scale-out network and storage, fraction of server power (data/assumptions.csv
#: ``network_overhead``: SemiAnalysis 2024, ~10%).
NETWORK_OVERHEAD = 0.10
#: Hours in a year (the IEA and de Vries convention).
HOURS_PER_YEAR = 8760.0
#: Units x ASP may differ from the vendor's accelerator revenue by at most this fraction.
#: ASPs are negotiated prices known to +-10-15% (analyst ranges, e.g. USD 25,000-30,000 per
#: H100); a wider gap means the unit counts are wrong.
REVENUE_TOLERANCE = 0.15
#: Installed dense FLOP/s may lie this far (fraction, low, high) from Epoch AI's estimate. The
#: band is asymmetric on purpose: Epoch depreciates older chips and the planner counts every
#: unit in service at full peak for its whole life, so the planner's stock should lie above
#: Epoch's, by up to half of it; a stock of 2.3x Epoch's (9e21 vs 4e21) is outside the band.
COMPUTE_TOLERANCE = (-0.20, 0.50)
#: Non-AI data-centre electricity growth, %/yr: Masanet et al. 2020 (Science 367:984), world
#: data centres 194 TWh (2010) -> 205 TWh (2018), +6% in 8 years, while compute instances grew
#: 6x: efficiency kept conventional load nearly flat.
NON_AI_GROWTH_PCT = (1.06 ** (1 / 8) - 1) * 100
#: Growth from data: the non-AI trend of a region (or a country's total trend) is measured over
#: its published figures of at most this many years before its anchor year...
GROWTH_WINDOW_YEARS = 8
#: ...spanning at least this many years (a shorter history falls back to the parent region,
#: then the World, then :data:`NON_AI_GROWTH_PCT`).
GROWTH_MIN_SPAN_YEARS = 2
#: Growth measured from data is held within this range, %/yr (a planner bound, not fitted: a
#: history of two study figures can imply an implausible rate; the IEA's fastest regional
#: data-centre growth, 2024-2030, is ~15 %/yr).
GROWTH_FROM_DATA_RANGE_PCT = (0.0, 25.0)
#: Damping of the shipment trend after the last known year: the growth of year k ahead is the
#: last three years' mean growth x DAMPING**k (Gardner's damped trend, phi = 0.5).
TREND_DAMPING = 0.5
#: Damping of a growth trend measured from data, per year ahead (see :func:`trend_factor`):
#: the growth of year j ahead is the measured trend x phi**j, Gardner & McKenzie's damped trend
#: ("Forecasting trends in time series", Management Science 31(10):1237-1246, 1985): a trend
#: measured over a few recent years is not held undamped into the future, the most common
#: single cause of over-forecasts (Hyndman & Athanasopoulos, Forecasting: Principles and
#: Practice, 3rd ed., sec. 8.2, otexts.com/fpp3/holt.html). With two to four published
#: figures per region phi cannot be estimated, so it is fixed from the range that text allows
#: (phi held between 0.8 and 0.98: below 0.8 the damping is too strong, near 1 a damped trend
#: cannot be told from an undamped one; the same range, "usually ... .80 <= phi <= .98", and an
#: example at phi = .9 in Real Statistics, "Holt's Linear Trend with Damping",
#: real-statistics.com/time-series-analysis/basic-time-series-forecasting/holt-linear-trend/
#: holts-linear-trend-with-damping): 0.9, the middle of that range (0.89, rounded), chosen
#: before this backtest was run with it, and the same for every region, country and
#: definition. Not blind to every result: an earlier backtest (32 figures, before the
#: definition rule) had been run at 0.9 and 0.8 (16 hits each, undamped 13), so 0.9 is taken
#: as the range's middle, not as the best of those. Sensitivity over the whole allowed range
#: (the backtest of 20 same-definition figures; hits within 15% / median |error|, the naive
#: forecast's 17.0%; :func:`planner.backtest.damping_sensitivity`): 1.0 (undamped, the rule
#: before) 14 / 9.4%; 0.98 14 / 9.4%; 0.95 14 / 9.6%; 0.9 15 / 9.2%; 0.85 16 / 9.5%; 0.8 18 /
#: 8.3%. Not tuned: 0.8 scores more, and 0.9's fifteenth hit (Ireland 2025 from 2022,
#: +14.4%) is within 0.6 point of the line. Grid-connection limits (EirGrid's Dublin
#: moratorium of 2022, the Dutch hyperscale pause of February 2022) restrict NEW connection
#: requests while contracted and exempt projects go ahead (EirGrid's Generation Capacity
#: Statement 2022-2031: "very strong growth ... out to 2024 ... from contracted projects"):
#: none published a ceiling in MW or TWh by the cut-offs that a rule could use without a
#: per-country guess (a ramp of contracted MW, a load factor), so none is modelled: the
#: damping is the general rule, the same for a region with no such limit.
NON_AI_DAMPING = 0.9
#: The damping range of Hyndman & Athanasopoulos (sec. 8.2), for the sensitivity above.
NON_AI_DAMPING_RANGE = (0.8, 0.98)
#: Years over which the trend growth is measured (the last N known years).
TREND_YEARS = 3
#: Regions of the deployment split (the IEA Energy and AI regions).
REGIONS: tuple[str, ...] = ("US", "China", "Europe", "Asia Pacific excl. China", REST_OF_WORLD)
#: The region whose data-centre totals a country's follow (share of its region kept).
COUNTRY_REGION: dict[str, str] = {
    "US": "US",
    "China": "China",
    "Ireland": "Europe",
    "Netherlands": "Europe",
    "Germany": "Europe",
    "Denmark": "Europe",
    "UK": "Europe",
    "France": "Europe",
    "Sweden": "Europe",
    "Norway": "Europe",
    "Finland": "Europe",
    "Belgium": "Europe",
    "Italy": "Europe",
    "Spain": "Europe",
    "Japan": "Asia Pacific excl. China",
    "Singapore": "Asia Pacific excl. China",
    "India": "Asia Pacific excl. China",
    "Australia": "Asia Pacific excl. China",
    "Malaysia": "Asia Pacific excl. China",
    "South Korea": "Asia Pacific excl. China",
    "Canada": REST_OF_WORLD,
}

#: Definitions of a published figure (``data/countries/data_centres.csv``, column
#: ``definition``): figures measure the same thing only within one definition. ``own``: the
#: study's own (its figures share a definition with no other study's); ``metered``: a
#: statistics office's metered or grid-supplied electricity of data-centre sites (Ireland CSO,
#: Statistics Netherlands); ``borderstep``: the Borderstep Institute's model (its own reports
#: and those it made for Bitkom); ``iea-tracking``: the IEA's tracking reports of 2021-2023,
#: ranges excluding crypto mining; ``iea-ai``: the IEA from Electricity 2024 on (Energy and AI),
#: a break from the tracking series: its 2022 total without crypto, 350 TWh, lies outside the
#: 2023 tracking report's 240-340 TWh for the same year; ``lbnl-2024-model``: LBNL's bottom-up
#: stock model as rebuilt for its December 2024 report (LBNL-2001637) and rerun by the same
#: group on new shipment data for its 2025 Update (June 2026, LBNL-2001758); LBNL 2016 is not
#: of it (the 2024 report revised its 2014 figure from ~70 to 58 TWh: a method change).
DEFINITIONS: tuple[str, ...] = (
    "own",
    "metered",
    "borderstep",
    "iea-tracking",
    "iea-ai",
    "lbnl-2024-model",
)

W_PER_GW = 1e9
TWH_PER_GWH = 1e-3


def definition_keys(published: pd.DataFrame) -> np.ndarray:
    """Each figure's definition as a key that only figures of one definition share: the
    ``definition`` column, the study itself where it is ``own`` (or the column is absent)."""
    study = published["study"].to_numpy(dtype=object)
    if "definition" not in published.columns:
        return study
    d = published["definition"].fillna("own").to_numpy(dtype=object)
    return np.where(d == "own", study, d)


class ReconciliationError(PlannerError):
    """The fleet disagrees with the vendors' revenue or the independent compute stock."""


#: Fleets (by id) already reconciled in this process: demand is computed from a fleet only
#: after :func:`reconcile` passed on it (a fleet outside the tolerances never yields TWh).
_RECONCILED: weakref.WeakValueDictionary[int, FleetData] = weakref.WeakValueDictionary()


# --------------------------------------------------------------------------------------------
# Validated tables
# --------------------------------------------------------------------------------------------


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


Kind = Literal["catalog", "reported", "derived", "measured", "estimate", "analyst-estimate"]


class _Chip(_Row):
    family: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    vendor: str = Field(min_length=1)
    accelerator: str | None = None
    system_power_w_per_unit: float | None = Field(default=None, gt=0, le=10_000)
    bf16_dense_tflops_per_unit: float | None = Field(default=None, gt=0, le=100_000)
    kind: Kind
    source: str = Field(min_length=1)


class _Shipment(_Row):
    year: int = Field(ge=2010, le=2035)
    family: str = Field(min_length=1)
    shipments_units: float = Field(ge=0, le=1e9)
    asp_usd: float | None = Field(default=None, gt=0, le=1e6)
    kind: Kind
    source: str = Field(min_length=1)


class _Revenue(_Row):
    vendor: str = Field(min_length=1)
    year: int = Field(ge=2010, le=2035)
    reported_revenue_usd: float = Field(gt=0, le=1e13)
    reported_measure: str = Field(min_length=1)
    accelerator_fraction: float = Field(gt=0, le=1)
    kind: Kind
    source: str = Field(min_length=1)


class _Compute(_Row):
    scope: str = Field(min_length=1)
    year: int = Field(ge=2010, le=2035)
    installed_flops: float = Field(gt=0, le=1e30)
    precision: str = Field(min_length=1)
    kind: Kind
    source: str = Field(min_length=1)


class _RegionShare(_Row):
    year: int = Field(ge=2010, le=2035)
    region: str = Field(min_length=1)
    ai_accelerator_share: float = Field(ge=0, le=1)
    kind: Kind
    source: str = Field(min_length=1)


class _Segment(_Row):
    segment: str = Field(min_length=1)
    ai_accelerator_share: float = Field(ge=0, le=1)
    annual_pue: float = Field(ge=1.0, le=3.0)
    kind: Kind
    source: str = Field(min_length=1)


class _Workload(_Row):
    workload: Literal["training", "inference"]
    share_of_accelerator_time: float = Field(ge=0, le=1)
    average_load_fraction: float = Field(gt=0, le=1)
    kind: Kind
    source: str = Field(min_length=1)


class _Published(_Row):
    study: str = Field(min_length=1)
    region: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2060)
    data_centre_twh: float = Field(gt=0, le=100_000)
    published_year: int = Field(ge=1990, le=2060)
    kind: Literal["measurement", "estimate", "projection"]
    scope: str = Field(min_length=1)
    definition: str = "own"
    source: str = Field(min_length=1)

    @field_validator("definition")
    @classmethod
    def _known_definition(cls, v: str) -> str:
        if v not in DEFINITIONS:
            raise ValueError(f"one of {', '.join(DEFINITIONS)}")
        return v


class _Supply(_Row):
    year: int = Field(ge=1990, le=2060)
    packaging_capacity_growth_pct: float = Field(gt=-100, le=1000)
    kind: Kind
    source: str = Field(min_length=1)


def _read(path: Path, model: type[_Row]) -> pd.DataFrame:
    """A CSV table validated row by row; a bad value names the file, row and column."""
    if not path.is_file():
        raise CatalogError(str(path), None, None, "file not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = []
    for index, record in enumerate(raw.to_dict(orient="records")):
        clean = {k: (None if v == "" else v) for k, v in record.items()}
        try:
            rows.append(model.model_validate(clean).model_dump())
        except ValidationError as exc:
            raise pydantic_error(
                str(path), clean, exc, model, row=index + 2, column_label="column"
            ) from None
    return pd.DataFrame(rows, columns=list(model.model_fields))


@dataclass(frozen=True)
class FleetData:
    """The validated ``data/fleet`` tables (pandas frames, one row per CSV row)."""

    chips: pd.DataFrame
    shipments: pd.DataFrame
    revenue: pd.DataFrame
    compute: pd.DataFrame
    regions: pd.DataFrame
    segments: pd.DataFrame
    workloads: pd.DataFrame


def _check_unique(df: pd.DataFrame, keys: list[str], path: Path) -> None:
    dup = df.duplicated(keys)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        key = tuple(df.iloc[i][k] for k in keys)
        raise CatalogError(str(path), i + 2, keys[-1], f"duplicate row for {key}")


def _check_sum(df: pd.DataFrame, by: str | None, column: str, path: Path) -> None:
    groups = df.groupby(by) if by else [(None, df)]
    for key, group in groups:
        total = float(group[column].sum())
        if abs(total - 1.0) > 1e-3:
            where = f" for {by} {key}" if by else ""
            raise CatalogError(
                str(path), None, column, f"shares{where} sum to {total:.4g}: expected 1"
            )


@lru_cache(maxsize=4)
def load_fleet(folder: Path | None = None, catalog: Catalog | None = None) -> FleetData:
    """Read and validate ``data/fleet/*.csv`` (one-line :class:`CatalogError` on a bad row).

    Checks beyond the row schema: unique keys, every shipped family in ``chips.csv``, a
    catalog id or both per-unit figures for every family, shares summing to 1 by year.
    """
    base = folder or data_dir() / "fleet"
    cat = catalog or load_catalog()
    chips = _read(base / "chips.csv", _Chip)
    _check_unique(chips, ["family"], base / "chips.csv")
    power, peak = [], []
    for i, row in enumerate(chips.to_dict(orient="records")):
        if isinstance(row["accelerator"], str) and row["accelerator"]:
            chip = cat.get(row["accelerator"], field=f"chips.csv row {i + 2} accelerator")
            power.append(float(chip.system_power_per_gpu_w))
            peak.append(float(chip.bf16_dense_tflops))
        elif pd.isna(row["system_power_w_per_unit"]) or pd.isna(row["bf16_dense_tflops_per_unit"]):
            raise CatalogError(
                str(base / "chips.csv"),
                i + 2,
                "system_power_w_per_unit",
                "a family outside the catalog needs system_power_w_per_unit and "
                "bf16_dense_tflops_per_unit",
            )
        else:
            power.append(float(row["system_power_w_per_unit"]))
            peak.append(float(row["bf16_dense_tflops_per_unit"]))
    chips["system_power_w_per_unit"] = power
    chips["bf16_dense_tflops_per_unit"] = peak
    shipments = _read(base / "shipments.csv", _Shipment)
    _check_unique(shipments, ["year", "family"], base / "shipments.csv")
    unknown = sorted(set(shipments["family"]) - set(chips["family"]))
    if unknown:
        raise InputError(
            "shipments.csv family", unknown[0], "one of: " + ", ".join(chips["family"])
        )
    revenue = _read(base / "vendor_revenue.csv", _Revenue)
    _check_unique(revenue, ["vendor", "year"], base / "vendor_revenue.csv")
    compute = _read(base / "installed_compute.csv", _Compute)
    regions = _read(base / "regional_shares.csv", _RegionShare)
    _check_unique(regions, ["year", "region"], base / "regional_shares.csv")
    _check_sum(regions, "year", "ai_accelerator_share", base / "regional_shares.csv")
    bad = sorted(set(regions["region"]) - set(REGIONS))
    if bad:
        raise InputError("regional_shares.csv region", bad[0], "one of: " + ", ".join(REGIONS))
    segments = _read(base / "segments.csv", _Segment)
    _check_sum(segments, None, "ai_accelerator_share", base / "segments.csv")
    workloads = _read(base / "workloads.csv", _Workload)
    _check_sum(workloads, None, "share_of_accelerator_time", base / "workloads.csv")
    return FleetData(chips, shipments, revenue, compute, regions, segments, workloads)


@lru_cache(maxsize=2)
def load_published(path: Path | None = None) -> pd.DataFrame:
    """Published data-centre electricity figures (``data/countries/data_centres.csv``)."""
    p = path or data_dir() / "countries" / "data_centres.csv"
    df = _read(p, _Published)
    _check_unique(df, ["study", "region", "year"], p)
    late = df[df["published_year"] < df["year"]]
    if len(late) and (late["kind"] != "projection").any():
        i = int(late.index[0])
        raise CatalogError(
            str(p), i + 2, "published_year", "a measurement published before its year"
        )
    return df


# --------------------------------------------------------------------------------------------
# Shipments, revenue and installed compute
# --------------------------------------------------------------------------------------------


def shipments_table(fleet: FleetData | None = None) -> pd.DataFrame:
    """Shipments per family and year with per-unit power, peak and ASP.

    Columns: year, family, vendor, shipments_units, asp_usd, system_power_w_per_unit,
    bf16_dense_tflops_per_unit, revenue_usd (units x ASP; NaN without an ASP), kind, source.
    """
    f = fleet or load_fleet()
    chips = f.chips[["family", "vendor", "system_power_w_per_unit", "bf16_dense_tflops_per_unit"]]
    out = f.shipments.merge(chips, on="family", how="left")
    out["revenue_usd"] = out["shipments_units"] * out["asp_usd"].astype(float)
    cols = [
        "year",
        "family",
        "vendor",
        "shipments_units",
        "asp_usd",
        "system_power_w_per_unit",
        "bf16_dense_tflops_per_unit",
        "revenue_usd",
        "kind",
        "source",
    ]
    return out[cols].sort_values(["year", "family"]).reset_index(drop=True)


def implied_revenue(fleet: FleetData | None = None) -> pd.DataFrame:
    """Units x ASP per vendor and year next to the vendor's accelerator revenue.

    Columns: check ("revenue"), scope (vendor), year, implied, published (reported revenue
    x accelerator fraction), unit ("USD"), error (signed fraction, implied / published - 1),
    low, high (the tolerance), within, source.
    """
    f = fleet or load_fleet()
    ship = shipments_table(f)
    rows = []
    for _, r in f.revenue.iterrows():
        mine = ship[(ship["vendor"] == r["vendor"]) & (ship["year"] == r["year"])]
        implied = float(mine["revenue_usd"].sum())
        published = float(r["reported_revenue_usd"] * r["accelerator_fraction"])
        err = implied / published - 1.0
        rows.append(
            {
                "check": "revenue",
                "scope": r["vendor"],
                "year": int(r["year"]),
                "implied": implied,
                "published": published,
                "unit": "USD",
                "error": err,
                "low": -REVENUE_TOLERANCE,
                "high": REVENUE_TOLERANCE,
                "within": bool(-REVENUE_TOLERANCE <= err <= REVENUE_TOLERANCE),
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows)


def _family_matrix(
    f: FleetData, years: np.ndarray, families: list[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Shipments (families, years), zero where the table has no row."""
    fams = families or list(f.chips["family"])
    m = np.zeros((len(fams), years.size))
    index = {int(y): i for i, y in enumerate(years)}
    row_of = {fam: i for i, fam in enumerate(fams)}
    for _, r in f.shipments.iterrows():
        if r["family"] in row_of and int(r["year"]) in index:
            m[row_of[r["family"]], index[int(r["year"])]] = r["shipments_units"]
    return fams, m


def installed_flops(
    year: int,
    vendor: str | None = None,
    families: list[str] | None = None,
    fleet: FleetData | None = None,
    lifetime_years: float = LIFETIME_YEARS,
) -> float:
    """Dense 16-bit FLOP/s in service at the END of ``year`` (every unit shipped by then and
    not retired), optionally of one vendor or a list of families."""
    f = fleet or load_fleet()
    chips = f.chips.set_index("family")
    first = int(f.shipments["year"].min())
    years = np.arange(first, year + 1, dtype=float)
    fams = families or [
        fam for fam in chips.index if vendor is None or chips.loc[fam, "vendor"] == vendor
    ]
    _, m = _family_matrix(f, years, fams)
    tflops = chips.loc[fams, "bf16_dense_tflops_per_unit"].to_numpy(dtype=float)
    per_year = (m * tflops[:, None]).sum(axis=0) * 1e12
    # End of year: a unit shipped in ``year`` is installed (first-year fraction 1).
    return float(installed_base(per_year, lifetime_years, 1.0)[-1])


def compute_stock_check(fleet: FleetData | None = None) -> pd.DataFrame:
    """Installed FLOP/s implied by the fleet next to Epoch AI's estimate (same columns as
    :func:`implied_revenue`; check = "installed compute")."""
    f = fleet or load_fleet()
    rows = []
    for _, r in f.compute.iterrows():
        scope = str(r["scope"])
        if scope == "nvidia":
            implied = installed_flops(int(r["year"]), vendor="NVIDIA", fleet=f)
        elif scope.startswith("nvidia-"):
            implied = installed_flops(int(r["year"]), families=[scope], fleet=f)
        else:
            raise InputError("installed_compute.csv scope", scope, "nvidia or nvidia-FAMILY")
        lo, hi = COMPUTE_TOLERANCE
        err = implied / float(r["installed_flops"]) - 1.0
        rows.append(
            {
                "check": "installed compute",
                "scope": scope,
                "year": int(r["year"]),
                "implied": implied,
                "published": float(r["installed_flops"]),
                "unit": "FLOP/s",
                "error": err,
                "low": lo,
                "high": hi,
                "within": bool(lo <= err <= hi),
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows)


def reconcile(fleet: FleetData | None = None, *, strict: bool = True) -> pd.DataFrame:
    """Revenue and compute-stock checks, one row each (see :func:`implied_revenue`).

    Raises
    ------
    ReconciliationError
        With ``strict`` (the default), when any check lies outside its tolerance: the message
        names the check, vendor or scope, year, both numbers and the allowed band.
    """
    table = pd.concat([implied_revenue(fleet), compute_stock_check(fleet)], ignore_index=True)
    bad = table[~table["within"]]
    if strict and len(bad):
        r = bad.iloc[int(np.argmax(np.abs(bad["error"].to_numpy())))]
        raise ReconciliationError(
            f"fleet {r['check']} = {r['implied']:.3g} {r['unit']} for {r['scope']} {r['year']} "
            f"is not allowed: expected within {r['low']:+.0%}..{r['high']:+.0%} of the "
            f"published {r['published']:.3g} {r['unit']} (error {r['error']:+.1%}; "
            "data/fleet/shipments.csv)"
        )
    return table


# --------------------------------------------------------------------------------------------
# Demand: training, inference, regions
# --------------------------------------------------------------------------------------------


def extend_shipments(
    per_year: np.ndarray, known: int, damping: float = TREND_DAMPING
) -> np.ndarray:
    """Continue a shipped quantity after its last ``known`` year with a damped trend.

    ``per_year[..., :known]`` is data; year ``known + k`` (k = 0, 1, ...) is the previous
    year's value x (1 + g x damping**(k + 1)), g the mean growth over the last
    :data:`TREND_YEARS` known years (geometric). With no growth history the value is held.
    """
    out = np.array(per_year, dtype=float, copy=True)
    n = out.shape[-1]
    if known >= n:
        return out
    span = min(TREND_YEARS, known - 1)
    last = out[..., known - 1]
    if span >= 1:
        base = out[..., known - 1 - span]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(base > 0, (last / np.where(base > 0, base, 1.0)) ** (1.0 / span) - 1, 0.0)
    else:
        g = np.zeros_like(last)
    value = last
    for k in range(n - known):
        value = value * (1.0 + g * damping ** (k + 1))
        out[..., known + k] = value
    return out


def effective_load_fraction(fleet: FleetData | None = None) -> dict[str, float]:
    """Average draw / nameplate by workload and for the fleet (time-weighted)."""
    f = fleet or load_fleet()
    w = f.workloads.set_index("workload")
    out = {k: float(w.loc[k, "average_load_fraction"]) for k in w.index}
    out["fleet"] = float((w["share_of_accelerator_time"] * w["average_load_fraction"]).sum())
    return out


def ai_annual_pue(fleet: FleetData | None = None) -> float:
    """Annual PUE of the halls the accelerators sit in (segment-weighted)."""
    s = (fleet or load_fleet()).segments
    return float((s["ai_accelerator_share"] * s["annual_pue"]).sum())


def regional_split(years: np.ndarray, fleet: FleetData | None = None) -> np.ndarray:
    """Deployment shares (years, regions) in the order of :data:`REGIONS`."""
    r = (fleet or load_fleet()).regions
    anchors = sorted(set(int(y) for y in r["year"]))
    table = r.pivot(index="region", columns="year", values="ai_accelerator_share")
    values = table.loc[list(REGIONS), anchors].to_numpy(dtype=float)
    return interpolate_anchors(years, anchors, values).T


def ai_demand(
    years: Any,
    *,
    last_data_year: int | None = None,
    fleet: FleetData | None = None,
    lifetime_years: float = LIFETIME_YEARS,
) -> pd.DataFrame:
    """AI accelerator electricity by region and year, training and inference apart.

    Parameters
    ----------
    years : iterable of int
        Output years.
    last_data_year : int, optional
        Use shipments up to this year only (the backtest's cut-off); later years follow
        :func:`extend_shipments`. Default: the last year of ``shipments.csv``.

    Raises
    ------
    ReconciliationError
        The fleet fails :func:`reconcile` (checked once per fleet object).

    Returns
    -------
    DataFrame
        region (the :data:`REGIONS` and ``World``), year, accelerators_in_service (units),
        nameplate_gw (in service), installed_dense_eflops, ai_it_gw (average), pue,
        training_twh, inference_twh, ai_twh (facility, annual PUE).
    """
    f = fleet or load_fleet()
    if _RECONCILED.get(id(f)) is not f:
        reconcile(f)  # raises ReconciliationError: no demand from an inconsistent fleet
        _RECONCILED[id(f)] = f
    out_years = np.asarray(list(years), dtype=int)
    first = int(f.shipments["year"].min())
    last_known = int(f.shipments["year"].max())
    cut = last_known if last_data_year is None else min(int(last_data_year), last_known)
    model_years = np.arange(first, max(int(out_years.max()), cut) + 1, dtype=float)
    fams, m = _family_matrix(f, model_years)
    m[:, model_years > cut] = 0.0
    chips = f.chips.set_index("family").loc[fams]
    watts = chips["system_power_w_per_unit"].to_numpy(dtype=float)[:, None]
    tflops = chips["bf16_dense_tflops_per_unit"].to_numpy(dtype=float)[:, None]
    known = int(cut - first + 1)
    shipped = np.stack([m.sum(axis=0), (m * watts).sum(axis=0), (m * tflops).sum(axis=0)])
    shipped = extend_shipments(shipped, known)
    # Units stay where they were deployed: each year's shipments split by that year's shares.
    split = regional_split(model_years, f).T  # (R, T)
    by_region = shipped[None, :, :] * split[:, None, :]  # (R, 3, T)
    in_service = installed_base(
        np.concatenate([by_region, shipped[None]]), lifetime_years, FIRST_YEAR_FRACTION
    )  # (R + 1, 3, T), World last
    loads = effective_load_fraction(f)
    w = f.workloads.set_index("workload")
    pue = ai_annual_pue(f)
    sel = np.searchsorted(model_years, out_years)
    rows = []
    for j, region in enumerate([*REGIONS, "World"]):
        units, nameplate_w, tflops_s = in_service[j][:, sel]
        twh = {}
        for name in ("training", "inference"):
            time_share = float(w.loc[name, "share_of_accelerator_time"])
            it_w = nameplate_w * time_share * loads[name] * (1.0 + NETWORK_OVERHEAD)
            twh[name] = it_w * pue * HOURS_PER_YEAR / W_PER_GW * TWH_PER_GWH
        rows.append(
            pd.DataFrame(
                {
                    "region": region,
                    "year": out_years,
                    "accelerators_in_service": units,
                    "nameplate_gw": nameplate_w / W_PER_GW,
                    "installed_dense_eflops": tflops_s * 1e12 / 1e18,
                    "ai_it_gw": nameplate_w * loads["fleet"] * (1.0 + NETWORK_OVERHEAD) / W_PER_GW,
                    "pue": pue,
                    "training_twh": twh["training"],
                    "inference_twh": twh["inference"],
                    "ai_twh": twh["training"] + twh["inference"],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Total data-centre electricity: AI + a non-AI load anchored on published totals
# --------------------------------------------------------------------------------------------


def anchor(
    region: str,
    last_data_year: int,
    published: pd.DataFrame | None = None,
    definition: str | None = None,
) -> dict[str, Any] | None:
    """The published total the non-AI load is anchored on: the latest data year up to
    ``last_data_year`` (measurements and estimates, never projections); between studies of
    that year the most recently published (ties: their mean). With ``definition`` (a key of
    :func:`definition_keys`) only figures of that definition. None without one."""
    p = published if published is not None else load_published()
    # numpy masks, not pandas filters: the backtest asks for hundreds of anchors
    year = p["year"].to_numpy()
    mask = (
        (p["region"].to_numpy() == region)
        & (year <= last_data_year)
        & (p["kind"].to_numpy() != "projection")
    )
    if definition is not None:
        mask &= definition_keys(p) == definition
    if not mask.any():
        return None
    rows = np.flatnonzero(mask)
    rows = rows[year[rows] == year[rows].max()]
    published_year = p["published_year"].to_numpy()
    rows = rows[published_year[rows] == published_year[rows].max()]
    twh = p["data_centre_twh"].to_numpy(dtype=float)[rows]
    keys = list(dict.fromkeys(definition_keys(p)[rows]))
    return {
        "study": "+".join(p["study"].to_numpy()[rows]),
        "region": region,
        "year": int(year[rows[0]]),
        "data_centre_twh": float(np.nanmean(twh)) if np.isfinite(twh).any() else float("nan"),
        "published_year": int(published_year[rows].max()),
        "definition": "+".join(str(k) for k in keys),
    }


def growth_from_data(
    region: str,
    last_data_year: int,
    published: pd.DataFrame | None = None,
    ai: pd.DataFrame | None = None,
    definition: str | None = None,
) -> dict[str, Any] | None:
    """The region's own trend, %/yr, from its published figures up to ``last_data_year``.

    The anchor (:func:`anchor`) and the earliest figure of the same region between
    :data:`GROWTH_WINDOW_YEARS` and :data:`GROWTH_MIN_SPAN_YEARS` years before it (the anchor's
    study when it has one there: one method, no definition break), never a projection. For a
    region of :data:`REGIONS` (or the World) the trend is of the NON-AI part: each figure minus
    the fleet's AI electricity that year (``ai``); for a country, of its total. Bounded by
    :data:`GROWTH_FROM_DATA_RANGE_PCT`. None without two such figures. With ``definition``
    (a key of :func:`definition_keys`) both figures are of that definition.
    """
    p = published if published is not None else load_published()
    a = anchor(region, last_data_year, p, definition)
    if a is None:
        return None
    rows = p[
        (p["region"] == region)
        & (p["kind"] != "projection")
        & (p["year"] <= a["year"] - GROWTH_MIN_SPAN_YEARS)
        & (p["year"] >= a["year"] - GROWTH_WINDOW_YEARS)
    ]
    if definition is not None:
        rows = rows[definition_keys(rows) == definition]
    if rows.empty:
        return None
    same = rows[rows["study"].isin(a["study"].split("+"))]
    rows = same if not same.empty else rows
    rows = rows[rows["year"] == rows["year"].min()]
    rows = rows[rows["published_year"] == rows["published_year"].max()]
    y0, v0 = int(rows["year"].iloc[0]), float(rows["data_centre_twh"].mean())
    v1 = a["data_centre_twh"]
    if region in (*REGIONS, "World") and ai is not None:
        # the fleet tables start in their first shipment year: AI before it is taken as 0
        first = int(load_fleet().shipments["year"].min())
        d = ai[ai["region"] == region].set_index("year")["ai_twh"]
        if (y0 >= first and y0 not in d.index) or a["year"] not in d.index:
            return None  # the AI series does not reach back that far
        v0 -= float(d.loc[y0]) if y0 >= first else 0.0
        v1 -= float(d.loc[a["year"]])
    if not (v0 > 0 and v1 > 0):
        return None
    g = ((v1 / v0) ** (1.0 / (a["year"] - y0)) - 1.0) * 100.0
    lo, hi = GROWTH_FROM_DATA_RANGE_PCT
    return {
        "growth_pct_per_year": float(min(max(g, lo), hi)),
        "from": f"{'+'.join(rows['study'])} ({y0}) to {a['study']} ({a['year']})",
    }


def trend_factor(growth_pct: float, years_ahead: Any, damping: float | None = None) -> np.ndarray:
    """Growth factor k years ahead of a trend measured from data: year j = 1..k ahead grows at
    ``growth_pct x damping**j``, as :func:`extend_shipments` (Gardner's damped trend; 1 =
    undamped; default :data:`NON_AI_DAMPING`, read at each call); before the anchor (k < 0)
    the undamped rate backwards (the history it was measured on)."""
    if damping is None:
        damping = NON_AI_DAMPING
    k = np.asarray(years_ahead, dtype=float)
    g = growth_pct / 100.0
    out = np.ones_like(k)
    for i, kk in np.ndenumerate(k):
        if kk < 0:
            out[i] = (1.0 + g) ** kk
        else:
            out[i] = float(np.prod([1.0 + g * damping**j for j in range(1, int(kk) + 1)]))
    return out


def non_ai_growth_pct(
    region: str,
    last_data_year: int,
    published: pd.DataFrame | None = None,
    ai: pd.DataFrame | None = None,
    definition: str | None = None,
) -> tuple[float, str]:
    """Non-AI growth of a region, %/yr, and where it came from: the region's own trend
    (:func:`growth_from_data`), else the World's, else :data:`NON_AI_GROWTH_PCT`; with
    ``definition``, trends of that definition only."""
    for r in dict.fromkeys([region, "World"]):
        g = growth_from_data(r, last_data_year, published, ai, definition)
        if g is not None:
            return g["growth_pct_per_year"], f"{r} trend, {g['from']}"
    return NON_AI_GROWTH_PCT, "Masanet et al. 2020 (world, 2010-2018)"


def predict_total(
    region: str,
    years: Any,
    *,
    last_data_year: int | None = None,
    fleet: FleetData | None = None,
    published: pd.DataFrame | None = None,
    ai: pd.DataFrame | None = None,
    definition: str | None = None,
    damping: float | None = None,
) -> pd.DataFrame:
    """Data-centre electricity of a region or country, predicted from data up to a year.

    A region of :data:`REGIONS` (or ``World``): non-AI = the anchor total
    (:func:`anchor`) minus the fleet's AI electricity that year, grown at
    the region's own trend (:func:`non_ai_growth_pct`); total = non-AI + AI
    (:func:`ai_demand`). A country of :data:`COUNTRY_REGION` follows its own published total
    trend (:func:`growth_from_data`) when it has one, else keeps its anchor share of its
    region's total (the World's when the region has no anchor). Nothing is fitted to the figures predicted.

    With ``definition`` (a key of :func:`definition_keys`) the prediction is of that
    definition: the anchor, every trend and a country's region or World reference are figures of
    that definition only (a country with neither its own trend nor such a reference grows at
    :data:`NON_AI_GROWTH_PCT`); empty without an anchor of that definition.

    Every trend is held forward damped (:func:`trend_factor`; ``damping`` default
    :data:`NON_AI_DAMPING`, another value only for a sensitivity run).

    Returns
    -------
    DataFrame
        region, year, training_twh, inference_twh, ai_twh (their sum), non_ai_twh,
        total_twh, anchor_study, anchor_year, anchor_twh (three separate series: training,
        inference, non-AI). Empty when there is no anchor.
    """
    cut = int(last_data_year) if last_data_year is not None else 9999
    out_years = np.asarray(list(years), dtype=int)
    pub = published if published is not None else load_published()
    a = anchor(region, cut, pub, definition)
    if a is None:
        return pd.DataFrame(
            columns=[
                "region",
                "year",
                "training_twh",
                "inference_twh",
                "ai_twh",
                "non_ai_twh",
                "total_twh",
                "anchor_study",
                "anchor_year",
                "anchor_twh",
            ]
        )
    span = np.unique(np.concatenate([out_years, [a["year"]]]))
    history = np.arange(a["year"] - GROWTH_WINDOW_YEARS, a["year"] + 1)
    demand = (
        ai
        if ai is not None
        else ai_demand(np.union1d(span, history), last_data_year=last_data_year, fleet=fleet)
    )
    if region in (*REGIONS, "World"):
        d = demand[demand["region"] == region].set_index("year")["ai_twh"]
        ai_anchor = float(d.loc[a["year"]]) if a["year"] in d.index else 0.0
        non_ai_0 = max(a["data_centre_twh"] - ai_anchor, 0.0)
        rate, _ = non_ai_growth_pct(region, a["year"], pub, demand, definition)
        non_ai = non_ai_0 * trend_factor(rate, out_years - a["year"], damping)
        ai_twh = np.array([float(d.loc[y]) for y in out_years])
        tr = demand[demand["region"] == region].set_index("year")["training_twh"]
        training = np.array([float(tr.loc[y]) for y in out_years])
        total = non_ai + ai_twh
    else:
        parent = COUNTRY_REGION.get(region)
        if parent is None:
            raise InputError(
                "region", region, "one of: " + ", ".join([*REGIONS, "World", *COUNTRY_REGION])
            )
        kw: dict[str, Any] = {
            "last_data_year": last_data_year,
            "fleet": fleet,
            "published": pub,
            "ai": demand,
            "definition": definition,
            "damping": damping,
        }
        ref = predict_total(parent, span, **kw)
        if ref.empty:
            ref = predict_total("World", span, **kw)
        own = growth_from_data(region, a["year"], pub, definition=definition)
        if own is not None:  # the country's own published trend
            ratio = trend_factor(own["growth_pct_per_year"], out_years - a["year"], damping)
        elif ref.empty:  # no reference of this definition: the non-AI rate
            ratio = trend_factor(NON_AI_GROWTH_PCT, out_years - a["year"], damping)
        else:  # its anchor share of its region's total
            r = ref.set_index("year")
            ratio = np.array([float(r.loc[y, "total_twh"]) for y in out_years]) / float(
                r.loc[a["year"], "total_twh"]
            )
        if ref.empty:  # the AI share of the region with any definition: a share, not a level
            kw["definition"] = None
            ref = predict_total(parent, span, **kw)
            if ref.empty:
                ref = predict_total("World", span, **kw)
        r = ref.set_index("year")
        total = a["data_centre_twh"] * ratio
        ai_share = np.array([float(r.loc[y, "ai_twh"] / r.loc[y, "total_twh"]) for y in out_years])
        ai_twh = total * ai_share
        non_ai = total - ai_twh
        training = ai_twh * np.array(
            [float(r.loc[y, "training_twh"] / r.loc[y, "ai_twh"]) for y in out_years]
        )
    return pd.DataFrame(
        {
            "region": region,
            "year": out_years,
            "training_twh": training,
            "inference_twh": ai_twh - training,
            "ai_twh": ai_twh,
            "non_ai_twh": non_ai,
            "total_twh": total,
            "anchor_study": a["study"],
            "anchor_year": a["year"],
            "anchor_twh": a["data_centre_twh"],
        }
    )


def national_shares(year: int | None = None, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Data-centre share of national electricity for every country with a published total.

    The latest published figure per country (measurements and estimates) over its national
    consumption that year (``data/countries/electricity.csv``, held flat beyond its rows).

    Columns: country, year, data_centre_twh, electricity_twh, share, study, kind, source.
    """
    pub = published if published is not None else load_published()
    rows = []
    for country in COUNTRY_REGION:
        p = pub[(pub["region"] == country) & (pub["kind"] != "projection")]
        if year is not None:
            p = p[p["year"] <= year]
        if p.empty:
            continue
        p = p[p["year"] == p["year"].max()]
        r = p.sort_values("published_year").iloc[-1]
        elec = float(national_electricity_twh(country, [int(r["year"])], "consumption")[0])
        rows.append(
            {
                "country": country,
                "year": int(r["year"]),
                "data_centre_twh": float(r["data_centre_twh"]),
                "electricity_twh": elec,
                "share": float(r["data_centre_twh"]) / elec,
                "study": r["study"],
                "kind": r["kind"],
                "source": r["source"],
            }
        )
    return pd.DataFrame(rows).sort_values("share", ascending=False).reset_index(drop=True)


def national_outlook(years: Any, last_data_year: int | None = None) -> pd.DataFrame:
    """Predicted data-centre electricity and its share of national electricity, by country.

    Every country of :data:`COUNTRY_REGION` with a published total: its latest figure kept as
    a share of its region's predicted total (:func:`predict_total`), over national consumption
    (``data/countries/electricity.csv``, held flat beyond its last row).

    Columns: country, year, total_twh, ai_twh, non_ai_twh, electricity_twh, share,
    anchor_study, anchor_year.
    """
    out_years = list(years)
    pub = load_published()
    span = sorted(set(out_years) | set(int(y) for y in pub["year"]))
    demand = ai_demand(span, last_data_year=last_data_year)
    frames = []
    for country in COUNTRY_REGION:
        pred = predict_total(
            country, out_years, last_data_year=last_data_year, published=pub, ai=demand
        )
        if pred.empty:
            continue
        elec = national_electricity_twh(country, out_years, "consumption")
        frames.append(
            pred.assign(electricity_twh=elec, share=pred["total_twh"].to_numpy() / elec).rename(
                columns={"region": "country"}
            )
        )
    cols = [
        "country",
        "year",
        "total_twh",
        "ai_twh",
        "non_ai_twh",
        "electricity_twh",
        "share",
        "anchor_study",
        "anchor_year",
    ]
    return pd.concat(frames, ignore_index=True)[cols]


# --------------------------------------------------------------------------------------------
# Supply bound: shipments cannot outgrow the advanced packaging every accelerator needs
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def load_supply(path: Path | None = None) -> pd.DataFrame:
    """``data/fleet/supply.csv``: CoWoS packaging capacity growth by year, sourced."""
    p = path or data_dir() / "fleet" / "supply.csv"
    df = _read(p, _Supply)
    _check_unique(df, ["year"], p)
    return df.sort_values("year").reset_index(drop=True)


def supply_bound_shipments(base_units: float, base_year: int, last_year: int) -> dict[int, float]:
    """Shipments after ``base_year`` if they grow as fast as packaging capacity (the upper
    path supply allows): ``base_units`` compounded by each year's
    ``packaging_capacity_growth_pct`` (:func:`load_supply`). Raises :class:`InputError`
    ("last_year") beyond the table's last year."""
    s = load_supply().set_index("year")["packaging_capacity_growth_pct"]
    if last_year > int(s.index.max()):
        raise InputError(
            "last_year", last_year, f"a year up to {int(s.index.max())} (data/fleet/supply.csv)"
        )
    out: dict[int, float] = {}
    value = float(base_units)
    for year in range(int(base_year) + 1, int(last_year) + 1):
        value *= 1.0 + float(s.loc[year]) / 100.0
        out[year] = value
    return out
