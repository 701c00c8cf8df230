"""Default assumptions and facility (PUE) profiles, each with a unit and a source.

The values live in ``data/assumptions.csv`` and ``data/facility.csv``; this module reads them
once and lets callers override any value while keeping track of where each one came from
(the default table, a preset, the user), so every result can list "every value used, with its
source".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner._paths import data_dir
from planner.errors import CatalogError, InputError
from planner.validation import (
    check_fraction,
    check_non_negative,
    check_range,
    first_bad,
)

Pricing = Literal["amortized", "rent", "capex"]
PRICING_MODES: tuple[str, ...] = ("amortized", "rent", "capex")
#: Former pricing names, still accepted: "auto" and "buy" charged the whole purchase.
LEGACY_PRICING = {"auto": "amortized", "buy": "capex"}
#: Amortisation knobs and their data/economics.csv rows (defaults, with sources).
ECONOMICS_FIELDS = {
    "service_life_years": "service_life_years",
    "hardware_utilisation": "hardware_utilisation",
    "cost_of_capital": "cost_of_capital",
    "networking_share": "networking_share_of_cluster_capex",
    "facility_usd_per_mw": "facility_capex_usd_per_mw",
    "facility_life_years": "facility_life_years",
}

#: Smallest MFU / goodput / load fraction accepted, each on its own.
MIN_FRACTION = 1e-6
#: Smallest MFU x goodput accepted (the fraction of the dense peak that becomes training
#: progress). Each factor alone may be as low as MIN_FRACTION, but their product scales every
#: GPU count, megawatt and dollar: 1e-6 x 1e-6 asked for 2.6e15 GPUs and 4.4e12 MW. Published
#: large runs report MFU 0.2-0.6 and goodput 0.5-0.95 (products 0.1-0.57); 1e-4 is a
#: thousand times below the worst of them, so only a typo (a percentage read as a fraction
#: twice, 1e-6 for 1e-1) is refused.
MIN_MFU_X_GOODPUT = 1e-4
#: Highest electricity price accepted, USD/MWh (wholesale prices spike to the EU/ERCOT caps
#: of 4,000-5,000 USD/MWh for hours; an average of 10,000 is beyond any market).
MAX_ELECTRICITY_USD_PER_MWH = 10_000.0
#: Highest measured average power per accelerator incl. its server share, W.
MAX_AVG_POWER_PER_GPU_W = 20_000.0
#: Allowed PUE range. 1.0 is the physical floor; 3.0 is beyond any surveyed facility
#: (Uptime Institute's 2007 average was ~2.5).
PUE_RANGE = (1.0, 3.0)
#: Grid intensity range, gCO2/kWh (0 = fully carbon-free supply; lignite is ~1,100).
GRID_INTENSITY_RANGE = (0.0, 2000.0)


@dataclass(frozen=True)
class Assumption:
    name: str
    value: float
    unit: str
    source: str
    description: str


@lru_cache(maxsize=1)
def default_table() -> dict[str, Assumption]:
    """The rows of ``data/assumptions.csv`` by name."""
    path = data_dir() / "assumptions.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    table: dict[str, Assumption] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        try:
            value = float(row["value"])
        except ValueError:
            raise CatalogError(
                str(path), index + 2, "value", f"not a number: {row['value']!r}"
            ) from None
        if not row["source"].strip():
            raise CatalogError(str(path), index + 2, "source", "every default needs a source")
        table[row["name"]] = Assumption(
            row["name"], value, row["unit"], row["source"], row["description"]
        )
    return table


#: Columns of ``data/facility.csv`` (documented in ``data/facility.attributes.csv``).
FACILITY_COLUMNS = ("profile", "pue", "source", "design_pue", "design_pue_source", "description")


@lru_cache(maxsize=1)
def facility_profiles() -> pd.DataFrame:
    """Facility/cooling profiles (``data/facility.csv``), indexed by profile.

    Each has an ANNUAL ``pue`` (energy) and a DESIGN-DAY ``design_pue`` (the grid peak), each
    with its source; the loader checks both are numbers in :data:`PUE_RANGE`, that the
    design-day PUE is not below the annual one, and that every value has a source.
    """
    path = data_dir() / "facility.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in FACILITY_COLUMNS if c not in df.columns]
    if missing:
        raise CatalogError(str(path), 1, missing[0], "missing column")
    for index, row in enumerate(df.to_dict(orient="records")):
        line = index + 2
        numbers = {}
        for column in ("pue", "design_pue"):
            try:
                numbers[column] = float(row[column])
            except ValueError:
                raise CatalogError(
                    str(path), line, column, f"not a number: {row[column]!r}"
                ) from None
            if not PUE_RANGE[0] <= numbers[column] <= PUE_RANGE[1]:
                raise CatalogError(
                    str(path), line, column, f"{row[column]} is not in {list(PUE_RANGE)}"
                )
        if numbers["design_pue"] < numbers["pue"]:
            raise CatalogError(
                str(path), line, "design_pue", "the design-day PUE cannot be below the annual pue"
            )
        for column in ("source", "design_pue_source"):
            if not row[column].strip():
                raise CatalogError(str(path), line, column, "every value needs a source")
    df[["pue", "design_pue"]] = df[["pue", "design_pue"]].astype(float)
    return df.set_index("profile")


def pue_for_profile(profile: str) -> float:
    """ANNUAL PUE of a named facility profile (``hyperscale-liquid``, ``industry-average``...)."""
    return float(_profile_row(profile)["pue"])


def design_pue_for_profile(profile: str) -> float:
    """DESIGN-DAY PUE (grid peak) of a named facility profile (``data/facility.csv``)."""
    return float(_profile_row(profile)["design_pue"])


def _profile_row(profile: str) -> pd.Series:
    profiles = facility_profiles()
    if profile not in profiles.index:
        raise InputError("facility_profile", profile, "one of: " + ", ".join(profiles.index))
    return profiles.loc[profile]


@dataclass(frozen=True)
class SizingAssumptions:
    """Every knob of a sizing, with the source of each value.

    Numeric values may be scalars or arrays (numpy / pandas) of one common length: the
    sizing is vectorised over them. Build with :meth:`defaults`, change with :meth:`with_`.

    Attributes
    ----------
    precision : {"bf16", "fp8", "fp4"}
        Tensor precision whose dense peak the MFU refers to.
    mfu : fraction in (0, 1]
        Model FLOPs utilisation while training.
    goodput : fraction in (0, 1]
        Fraction of wall-clock time spent on useful training.
    pue : ratio in [1, 3]
        ANNUAL PUE: the year's average facility / IT power; energy, cost and emissions use it.
    design_pue : ratio in [pue, 3], optional
        Design-day PUE: facility / IT power in the hottest hours, which the grid connection
        (``facility_power_mw``, the peak) must carry. ``None``: derived from ``pue`` with
        :func:`planner.power.design_day_pue` (``design_pue_overhead_ratio`` of
        ``data/assumptions.csv``); see :meth:`grid_pue`.
    network_overhead : fraction of server power in [0, 1]
    avg_load_fraction : fraction in (0, 1]
        Average server draw while training / nameplate.
    avg_power_per_gpu_w : W, optional
        Measured average draw per accelerator incl. its server share; replaces
        ``nameplate share x avg_load_fraction`` for the average power when given.
    electricity_usd_per_mwh, grid_gco2_per_kwh : prices and intensity.
    pricing : {"auto", "buy", "rent"}
        ``auto`` buys where the catalog has a price, else rents, else leaves cost unknown.
    price_usd_per_gpu, rent_usd_per_gpu_hour : optional overrides of the catalog prices.
    price_date : str, optional
        The date (YYYY-MM-DD or YYYY) the chip is priced at: the dated purchase price and rent
        of ``data/chip_prices_dated.csv`` on or before it (:func:`planner.amortization.
        chip_prices`); ``None``: the undated prices. A date before the chip existed is an
        :class:`InputError` on ``date``.
    whole_systems : bool
        Round a GPU count derived from a deadline up to whole servers/racks.
    """

    # No numeric defaults here: they live (with sources) in data/assumptions.csv only.
    mfu: Any
    goodput: Any
    pue: Any
    network_overhead: Any
    avg_load_fraction: Any
    electricity_usd_per_mwh: Any
    grid_gco2_per_kwh: Any
    precision: str = "bf16"
    avg_power_per_gpu_w: Any = None
    pricing: str = "amortized"
    price_usd_per_gpu: Any = None
    rent_usd_per_gpu_hour: Any = None
    price_date: Any = None
    whole_systems: bool = True
    #: Design-day PUE for the grid peak; None = derived from the annual ``pue`` (grid_pue()).
    design_pue: Any = None
    #: True: MFU comes from the run model (planner.utilisation) at sizing time; any explicit
    #: mfu (user, preset, scenario) turns it off.
    mfu_from_run_model: bool = False
    service_life_years: Any = None
    hardware_utilisation: Any = None
    cost_of_capital: Any = None
    networking_share: Any = None
    facility_usd_per_mw: Any = None
    facility_life_years: Any = None
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def defaults(cls) -> SizingAssumptions:
        """The defaults of ``data/assumptions.csv``, each tagged with its source."""
        table = default_table()
        values: dict[str, Any] = {}
        sources: dict[str, str] = {
            "precision": "default: BF16, the precision large dense runs report MFU against",
            "pricing": "default: amortized (hardware over its service life + electricity; "
            "Cottier et al. 2024, arXiv 2405.21015)",
            "whole_systems": "default: GPUs are bought as whole servers/racks",
            "mfu_from_run_model": "default: MFU x goodput from the run model fitted to "
            "published runs (data/training_runs.csv; `planner validate`)",
        }
        for f in fields(cls):
            if f.name in table:
                values[f.name] = table[f.name].value
                sources[f.name] = "default: " + table[f.name].source
        from planner.amortization import economics_parameters

        econ = economics_parameters()
        for name, row in ECONOMICS_FIELDS.items():
            values[name] = econ[row].value
            sources[name] = "default: " + econ[row].source
        return cls(**values, sources=sources, mfu_from_run_model=True)

    def with_(self, source: str, **changes: Any) -> SizingAssumptions:
        """A copy with ``changes`` applied (``None`` values ignored), each tagged ``source``.

        A new ``pue`` without a ``design_pue`` clears an earlier ``design_pue`` (it is derived
        from the new annual PUE again, :meth:`grid_pue`); an explicit ``mfu`` turns the run
        model off.
        """
        known = {f.name for f in fields(self)} - {"sources"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InputError(unknown[0], changes[unknown[0]], "one of: " + ", ".join(sorted(known)))
        applied = {k: v for k, v in changes.items() if v is not None}
        if applied.get("pricing") in LEGACY_PRICING:
            applied["pricing"] = LEGACY_PRICING[applied["pricing"]]
        if "mfu" in applied and "mfu_from_run_model" not in applied:
            applied["mfu_from_run_model"] = False  # an explicit MFU always wins
        sources = dict(self.sources)
        sources.update({k: source for k in applied})
        if "pue" in applied and "design_pue" not in applied and self.design_pue is not None:
            # a design-day PUE belongs to its annual PUE: a new annual PUE alone (a user's
            # --pue over a preset's or a profile's pair) derives its own design-day PUE
            applied["design_pue"] = None
            sources.pop("design_pue", None)
        return replace(self, **applied, sources=sources)

    def grid_pue(self) -> Any:
        """Design-day PUE the grid peak uses: ``design_pue`` if given, else derived from the
        annual ``pue`` (rule 3 of :mod:`planner.facility`: :func:`planner.power.design_day_pue`
        with ``design_pue_overhead_ratio`` of the cached :func:`default_table`; this module
        holds the tables, so it applies the ratio itself rather than import the facility
        module, which imports it)."""
        if self.design_pue is not None:
            return np.asarray(self.design_pue, dtype=float)
        from planner.power import design_day_pue

        return design_day_pue(self.pue, float(default_table()["design_pue_overhead_ratio"].value))

    def validate(self) -> None:
        """Run every ``check_*`` on the values (raises :class:`InputError`)."""
        from planner.catalog import MAX_PRICE_USD_PER_GPU, MAX_RENT_USD_PER_GPU_HOUR, PRECISIONS

        if self.precision not in PRECISIONS:
            raise InputError("precision", self.precision, "one of: " + ", ".join(PRECISIONS))
        if self.pricing not in PRICING_MODES:
            raise InputError("pricing", self.pricing, "one of: " + ", ".join(PRICING_MODES))
        # (0, 1] in principle; below 1e-6 only float underflow lies (a 1e-300 MFU gives inf days)
        check_fraction("mfu", self.mfu, floor=MIN_FRACTION)
        check_fraction("goodput", self.goodput, floor=MIN_FRACTION)
        _check_mfu_x_goodput(self.mfu, self.goodput)
        check_range("pue", self.pue, *PUE_RANGE)
        if self.design_pue is not None:
            check_range("design_pue", self.design_pue, *PUE_RANGE)
            below = np.asarray(self.design_pue, dtype=float) < np.asarray(self.pue, dtype=float)
            if below.any():
                value, where = first_bad(np.asarray(self.design_pue, dtype=float), below)
                annual, _ = first_bad(np.asarray(self.pue, dtype=float), below)
                detail = "the design-day PUE cannot be below the annual PUE"
                raise InputError(
                    "design_pue",
                    value,
                    f"at least the annual pue ({annual:g})",
                    detail=f"{detail}; {where}" if where else detail,
                )
        check_range("network_overhead", self.network_overhead, 0.0, 1.0)
        check_fraction("avg_load_fraction", self.avg_load_fraction, floor=MIN_FRACTION)
        if self.avg_power_per_gpu_w is not None:
            check_range(
                "avg_power_per_gpu_w", self.avg_power_per_gpu_w, 1.0, MAX_AVG_POWER_PER_GPU_W
            )
        check_range(
            "electricity_usd_per_mwh",
            self.electricity_usd_per_mwh,
            0.0,
            MAX_ELECTRICITY_USD_PER_MWH,
        )
        check_range("grid_gco2_per_kwh", self.grid_gco2_per_kwh, *GRID_INTENSITY_RANGE)
        if self.service_life_years is not None:
            check_range("service_life_years", self.service_life_years, 0.5, 30.0)
        if self.facility_life_years is not None:
            check_range("facility_life_years", self.facility_life_years, 1.0, 100.0)
        if self.hardware_utilisation is not None:
            check_fraction("hardware_utilisation", self.hardware_utilisation, floor=0.05)
        if self.cost_of_capital is not None:
            check_range("cost_of_capital", self.cost_of_capital, 0.0, 1.0)
        if self.networking_share is not None:
            check_range("networking_share", self.networking_share, 0.0, 0.9)
        if self.facility_usd_per_mw is not None:
            check_range("facility_usd_per_mw", self.facility_usd_per_mw, 0.0, 1e9)
        if self.price_usd_per_gpu is not None:
            check_non_negative("price_usd_per_gpu", self.price_usd_per_gpu)
            check_range("price_usd_per_gpu", self.price_usd_per_gpu, 0.0, MAX_PRICE_USD_PER_GPU)
        if self.price_date is not None:
            from planner.amortization import parse_price_date

            parse_price_date("date", self.price_date)  # the chip's launch: when it is priced
        if self.rent_usd_per_gpu_hour is not None:
            check_non_negative("rent_usd_per_gpu_hour", self.rent_usd_per_gpu_hour)
            check_range(
                "rent_usd_per_gpu_hour", self.rent_usd_per_gpu_hour, 0.0, MAX_RENT_USD_PER_GPU_HOUR
            )

    UNITS = {
        "precision": "",
        "mfu": "fraction",
        "goodput": "fraction",
        "pue": "ratio",
        "design_pue": "ratio",
        "network_overhead": "fraction of server power",
        "avg_load_fraction": "fraction of nameplate",
        "avg_power_per_gpu_w": "W",
        "electricity_usd_per_mwh": "USD/MWh",
        "grid_gco2_per_kwh": "gCO2/kWh",
        "pricing": "",
        "price_usd_per_gpu": "USD per GPU",
        "rent_usd_per_gpu_hour": "USD per GPU-hour",
        "price_date": "date the prices are taken at",
        "whole_systems": "",
        "service_life_years": "years",
        "hardware_utilisation": "fraction of service-life hours",
        "cost_of_capital": "fraction per year",
        "networking_share": "fraction of cluster hardware capex",
        "facility_usd_per_mw": "USD per MW of IT load",
        "facility_life_years": "years",
    }


def _check_mfu_x_goodput(mfu: Any, goodput: Any) -> None:
    """MFU x goodput must be at least :data:`MIN_MFU_X_GOODPUT` (raises :class:`InputError`)."""
    product = np.asarray(mfu, dtype=float) * np.asarray(goodput, dtype=float)
    bad = product < MIN_MFU_X_GOODPUT
    if bad.any():
        value, where = first_bad(product, bad)
        detail = "the fraction of the dense peak that becomes training progress"
        raise InputError(
            "mfu x goodput",
            value,
            f"at least {MIN_MFU_X_GOODPUT:g}",
            detail=f"{detail}; {where}" if where else detail,
        )
