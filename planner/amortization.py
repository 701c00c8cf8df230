"""Amortised economics and embodied carbon: what a run costs when the hardware outlives it.

Charging a cluster's whole purchase price to one 90-day run (GPT-4 on 25,000 A100: $626M)
is not how practitioners cost a run. Cottier et al. 2024 ("The rising costs of training
frontier AI models", arXiv 2405.21015) amortise the hardware over its life and add energy;
cloud cost is GPU-hours at rental rates. This module provides those conventions as plain,
vectorised functions (numpy in, numpy out; scalars come back as floats):

- ``amortized_hardware_usd``: capex x capital recovery factor x run hours / (hours per year
  x the share of its life the hardware is allocated to paid work).
- ``cluster_capex_usd``: what must be spent up front (servers + networking + facility share),
  reported separately and never added to a run's cost.
- ``amortized_cost_usd``: amortised servers, networking and facility + energy.
- ``rental_cost_usd``: GPU-hours x rent per GPU-hour (cloud prices include power).
- ``embodied_tco2``: manufacturing emissions per GPU (incl. its server share), amortised over
  the same life and utilisation as the capex (Luccioni et al. 2022's method for BLOOM).
- ``cottier_hardware_energy_usd``: Cottier et al.'s own method (exponential depreciation at
  the price-performance trend, 19% interconnect, energy at 75% of server TDP), reproducing
  their GPT-4 figures.

Parameters with sources live in ``data/economics.csv``; per-chip server prices and rents in
``data/chip_economics.csv``; embodied emissions per GPU in ``data/embodied.csv``; measured
average power per chip family in ``data/measured_power.csv``. Estimates are marked there.

Note on the "amortised < capex" property: a run of length T pays
``capex x CRF(r, L) x T / (8,766 h x u)``. That is below the capex for any run shorter than
the break-even ``u / CRF(r, L)`` years (:func:`break_even_years`): the full service life L
when r = 0 and u = 1, 3.4 years at the defaults (r = 8%, L = 5, u = 0.85). Renting hardware
for nearly its whole life costs more than buying it, because of interest and idle time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner._arrays import out
from planner._paths import data_dir
from planner.errors import CatalogError, InputError
from planner.validation import check_non_negative, check_positive

#: Hours in a year (365.25 days), as Cottier et al. 2024.
HOURS_PER_YEAR = 8_766.0


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One row of ``data/economics.csv``."""

    name: str
    value: float
    unit: str
    estimate: bool
    source: str
    description: str


def _read(name: str, required: tuple[str, ...]) -> pd.DataFrame:
    path = data_dir() / name
    if not path.is_file():
        raise CatalogError(str(path), None, None, "file not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in required:
        if col not in raw.columns:
            raise CatalogError(str(path), 1, col, "required column is missing")
    return raw


def _float(file: str, line: int, col: str, text: str, *, lo: float = 0.0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CatalogError(file, line, col, f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value >= lo):
        raise CatalogError(file, line, col, f"{text!r} must be a finite number >= {lo:g}")
    return value


def _flag(file: str, line: int, col: str, text: str) -> bool:
    if text not in ("yes", "no"):
        raise CatalogError(file, line, col, f"{text!r}: expected yes or no")
    return text == "yes"


@lru_cache(maxsize=1)
def economics_parameters() -> dict[str, Parameter]:
    """``data/economics.csv`` by name (value, unit, estimate flag, source)."""
    cols = ("name", "value", "unit", "estimate", "source", "description")
    raw = _read("economics.csv", cols)
    file = str(data_dir() / "economics.csv")
    table: dict[str, Parameter] = {}
    for i, rec in enumerate(raw.to_dict(orient="records")):
        line = i + 2
        if not rec["source"].strip():
            raise CatalogError(file, line, "source", "a value is required")
        table[rec["name"]] = Parameter(
            name=rec["name"],
            value=_float(file, line, "value", rec["value"]),
            unit=rec["unit"],
            estimate=_flag(file, line, "estimate", rec["estimate"]),
            source=rec["source"],
            description=rec["description"],
        )
    return table


def parameter(name: str) -> float:
    """The value of one ``data/economics.csv`` parameter."""
    return economics_parameters()[name].value


@lru_cache(maxsize=1)
def chip_economics() -> pd.DataFrame:
    """``data/chip_economics.csv`` joined with ``data/embodied.csv``, indexed by chip id.

    Columns: ``server_price_usd_per_gpu`` (system price / its GPUs), ``rent_usd_per_gpu_hour``,
    ``embodied_kgco2e_per_gpu`` (GPU + its share of the server), each with an ``*_estimate``
    flag and a source.
    """
    file = str(data_dir() / "chip_economics.csv")
    raw = _read(
        "chip_economics.csv",
        (
            "id",
            "server_price_usd_per_gpu",
            "server_price_estimate",
            "server_price_source",
            "rent_usd_per_gpu_hour",
            "rent_estimate",
            "rent_source",
        ),
    )
    rows = []
    for i, rec in enumerate(raw.to_dict(orient="records")):
        line = i + 2
        for col in ("server_price_source", "rent_source"):
            if not rec[col].strip():
                raise CatalogError(file, line, col, "a value is required")
        rows.append(
            {
                "id": rec["id"],
                "server_price_usd_per_gpu": _float(
                    file, line, "server_price_usd_per_gpu", rec["server_price_usd_per_gpu"]
                ),
                "server_price_estimate": _flag(
                    file, line, "server_price_estimate", rec["server_price_estimate"]
                ),
                "server_price_source": rec["server_price_source"],
                "rent_usd_per_gpu_hour": _float(
                    file, line, "rent_usd_per_gpu_hour", rec["rent_usd_per_gpu_hour"]
                ),
                "rent_estimate": _flag(file, line, "rent_estimate", rec["rent_estimate"]),
                "rent_source": rec["rent_source"],
            }
        )
    frame = pd.DataFrame(rows).set_index("id")
    efile = str(data_dir() / "embodied.csv")
    emb = _read("embodied.csv", ("id", "embodied_kgco2e_per_gpu", "estimate", "source"))
    values = {}
    for i, rec in enumerate(emb.to_dict(orient="records")):
        line = i + 2
        if not rec["source"].strip():
            raise CatalogError(efile, line, "source", "a value is required")
        values[rec["id"]] = (
            _float(efile, line, "embodied_kgco2e_per_gpu", rec["embodied_kgco2e_per_gpu"]),
            _flag(efile, line, "estimate", rec["estimate"]),
            rec["source"],
        )
    frame["embodied_kgco2e_per_gpu"] = [values.get(i, (math.nan,))[0] for i in frame.index]
    frame["embodied_estimate"] = [values.get(i, (None, True))[1] for i in frame.index]
    frame["embodied_source"] = [values.get(i, (None, None, ""))[2] for i in frame.index]
    return frame


def chip_costs(chip: str) -> pd.Series:
    """One chip's server price, rent and embodied emissions (an :class:`InputError` if none)."""
    frame = chip_economics()
    key = str(chip).strip().lower()
    if key not in frame.index:
        raise InputError("accelerator", chip, "one of: " + ", ".join(frame.index))
    return frame.loc[key]


# --------------------------------------------------------------------------------------------
# Dated prices: a run or fleet is priced at its own date
# --------------------------------------------------------------------------------------------

#: Kinds of row in ``data/chip_prices_dated.csv``.
DATED_KINDS: tuple[str, ...] = ("launch", "list", "purchase", "rent_on_demand")
#: Which rows price what: a purchase is priced at a list or reported purchase price, a rent at
#: an on-demand cloud price.
PRICE_KINDS: dict[str, tuple[str, ...]] = {
    "purchase": ("list", "purchase"),
    "rent": ("rent_on_demand",),
}


@dataclass(frozen=True)
class DatedPrice:
    """The price a chip is costed at for a date, and where it comes from.

    ``price_date`` is the observation used: the latest on or before ``for_date``; when the
    table has none that early (a date after launch, before the first price), the earliest
    after it, and ``after_date`` is True (the app and reports must say so).
    """

    chip: str
    what: str
    usd: float
    for_date: str
    price_date: str
    kind: str
    estimate: bool
    source: str

    @property
    def after_date(self) -> bool:
        return self.price_date > self.for_date

    def describe(self) -> str:
        """One line for an assumptions listing: value, its date and source."""
        when = f"observed {self.price_date}" + (
            f", the earliest after {self.for_date}" if self.after_date else ""
        )
        flag = "ESTIMATE: " if self.estimate and not self.source.startswith("ESTIMATE") else ""
        return (
            f"data/chip_prices_dated.csv {self.chip} {self.kind} for {self.for_date} ({when}): "
            f"{flag}{self.source}"
        )


@lru_cache(maxsize=1)
def dated_prices() -> pd.DataFrame:
    """``data/chip_prices_dated.csv``, validated: chip, date (Timestamp), kind, usd, estimate,
    source. Raises :class:`CatalogError` naming the row and column."""
    file = str(data_dir() / "chip_prices_dated.csv")
    raw = _read("chip_prices_dated.csv", ("chip", "date", "kind", "usd", "estimate", "source"))
    rows = []
    for i, rec in enumerate(raw.to_dict(orient="records")):
        line = i + 2
        try:
            date = pd.Timestamp(rec["date"])
        except (ValueError, TypeError):
            raise CatalogError(
                file, line, "date", f"expected YYYY-MM-DD, got {rec['date']!r}"
            ) from None
        if rec["kind"] not in DATED_KINDS:
            raise CatalogError(file, line, "kind", "expected one of: " + ", ".join(DATED_KINDS))
        if rec["kind"] == "launch":
            usd = math.nan
        else:
            usd = _float(file, line, "usd", rec["usd"])
            if not usd > 0:
                raise CatalogError(file, line, "usd", "expected a price > 0")
        if not rec["source"].strip():
            raise CatalogError(file, line, "source", "a value is required")
        rows.append(
            {
                "chip": rec["chip"].strip().lower(),
                "date": date,
                "kind": rec["kind"],
                "usd": usd,
                "estimate": _flag(file, line, "estimate", rec["estimate"]),
                "source": rec["source"],
            }
        )
    frame = pd.DataFrame(rows)
    for chip, group in frame.groupby("chip"):
        launch = group.loc[group["kind"] == "launch", "date"]
        if len(launch) != 1:
            raise CatalogError(file, None, "kind", f"{chip}: exactly one launch row expected")
        early = group[group["date"] < launch.iloc[0]]
        if len(early):
            line = int(early.index[0]) + 2
            raise CatalogError(file, line, "date", f"{chip}: a price dated before its launch")
    return frame


def launch_date(chip_id: str) -> pd.Timestamp | None:
    """The date a chip became available (``data/chip_prices_dated.csv``), or None."""
    t = dated_prices()
    row = t[(t["chip"] == str(chip_id).strip().lower()) & (t["kind"] == "launch")]
    return None if row.empty else row["date"].iloc[0]


def parse_price_date(field: str, value: Any, chip_id: str | None = None) -> pd.Timestamp:
    """A run's or fleet's date as a Timestamp, or an :class:`InputError` naming ``field``: not
    a date (YYYY-MM-DD or YYYY), or before ``chip_id`` existed."""
    text = str(value).strip()
    try:
        date = pd.Timestamp(f"{text}-07-01" if text.isdigit() and len(text) == 4 else text)
    except (ValueError, TypeError):
        raise InputError(field, value, "a date YYYY-MM-DD (or a year YYYY)") from None
    if pd.isna(date):
        raise InputError(field, value, "a date YYYY-MM-DD (or a year YYYY)")
    if chip_id is not None:
        launch = launch_date(chip_id)
        if launch is not None and date < launch:
            raise InputError(
                field,
                value,
                f"a date on or after {launch.date()} ({chip_id} launch)",
                detail="a chip cannot be bought or rented before it existed",
            )
    return date


def check_price_date(chip: Any, date: Any, field: str = "date") -> pd.Timestamp:
    """``date`` as a Timestamp for pricing ``chip`` (an :class:`~planner.catalog.Accelerator`),
    or an :class:`InputError` on ``field``: not a date, or before the chip existed (its launch
    row in ``data/chip_prices_dated.csv``; for a chip without one, 1 January of its catalog
    ``release_year``)."""
    when = parse_price_date(field, date, chip.id)
    year = getattr(chip, "release_year", None)
    if launch_date(chip.id) is None and year is not None and when.year < int(year):
        raise InputError(
            field,
            date,
            f"a date on or after {int(year)}-01-01 ({chip.id} release year, catalog)",
            detail="a chip cannot be bought or rented before it existed",
        )
    return when


def price_at(chip_id: str, date: Any, what: str = "purchase") -> DatedPrice | None:
    """The ``what`` (purchase | rent) price of ``chip_id`` at ``date``; None when the dated
    table has no such price for the chip. Raises :class:`InputError` for a date before the
    chip's launch (``field`` "date")."""
    if what not in PRICE_KINDS:
        raise InputError("what", what, "one of: " + ", ".join(PRICE_KINDS))
    key = str(chip_id).strip().lower()
    when = parse_price_date("date", date, key)
    t = dated_prices()
    rows = t[(t["chip"] == key) & t["kind"].isin(PRICE_KINDS[what])].sort_values("date")
    if rows.empty:
        return None
    before = rows[rows["date"] <= when]
    row = before.iloc[-1] if len(before) else rows.iloc[0]
    return DatedPrice(
        chip=key,
        what=what,
        usd=float(row["usd"]),
        for_date=str(when.date()),
        price_date=str(row["date"].date()),
        kind=str(row["kind"]),
        estimate=bool(row["estimate"]),
        source=str(row["source"]),
    )


@lru_cache(maxsize=1)
def chip_economics_rows() -> dict[str, dict[str, Any]]:
    """:func:`chip_economics` as ``{chip id: row}`` (a sizing prices its chip: a dict lookup,
    not a DataFrame row each time)."""
    return {str(k): dict(row) for k, row in chip_economics().iterrows()}


def chip_prices(
    chip: Any,
    price_usd_per_gpu: Any = None,
    rent_usd_per_gpu_hour: Any = None,
    *,
    date: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Server price per GPU (USD), rent per GPU-hour (USD) and embodied kgCO2e per GPU that a
    training run or a serving fleet on ``chip`` (an :class:`~planner.catalog.Accelerator`) is
    costed at.

    With ``date`` (the run's or fleet's date, YYYY-MM-DD or YYYY) the price and rent of that
    date from ``data/chip_prices_dated.csv`` (:func:`price_at`) replace the undated ones where
    the chip has dated rows; a date before the chip's launch is an :class:`InputError`
    ("date"). An explicit override wins; else ``data/chip_economics.csv`` and ``data/embodied.csv``
    (every shipped chip, estimates marked); else the catalog's own price and rent (a user's
    catalog). A price still unknown is an :class:`InputError` naming it (never a silent 0);
    unknown embodied emissions are NaN.
    """
    row = chip_economics_rows().get(chip.id)
    price = price_usd_per_gpu
    rent = rent_usd_per_gpu_hour
    if date is not None:
        check_price_date(chip, date)
        dated_price = price_at(chip.id, date, "purchase")
        dated_rent = price_at(chip.id, date, "rent")
        if price is None and dated_price is not None:
            price = dated_price.usd
        if rent is None and dated_rent is not None:
            rent = dated_rent.usd
    if price is None:
        price = row["server_price_usd_per_gpu"] if row is not None else chip.price_usd_per_gpu
    if rent is None:
        rent = row["rent_usd_per_gpu_hour"] if row is not None else chip.rent_usd_per_gpu_hour
    if price is None or rent is None:
        name = "price_usd_per_gpu" if price is None else "rent_usd_per_gpu_hour"
        raise InputError(
            name,
            "missing",
            "a price: --price-usd-per-gpu and --rent-usd-per-gpu-hour",
            detail=f"{chip.id} has no price in data/chip_economics.csv or its catalog",
        )
    embodied = row["embodied_kgco2e_per_gpu"] if row is not None else np.nan
    return (
        np.asarray(price, dtype=float),
        np.asarray(rent, dtype=float),
        np.asarray(embodied, dtype=float),
    )


def price_assumptions(
    chip: Any,
    price_usd_per_gpu: Any = None,
    rent_usd_per_gpu_hour: Any = None,
    *,
    date: Any = None,
) -> list[tuple[str, float, str, str]]:
    """The prices and embodied emissions :func:`chip_prices` uses for ``chip`` that no override
    replaces, as ``(name, value, unit, source)`` rows for an assumptions listing; sources from
    data/chip_economics.csv say ESTIMATE where the file marks one. With ``date`` a dated price
    names its observation date and source (:meth:`DatedPrice.describe`): the app and reports
    show which price was used."""
    rows: list[tuple[str, float, str, str]] = []
    if date is not None:
        check_price_date(chip, date)
        dated = {
            "price_usd_per_gpu": (price_usd_per_gpu, price_at(chip.id, date, "purchase")),
            "rent_usd_per_gpu_hour": (rent_usd_per_gpu_hour, price_at(chip.id, date, "rent")),
        }
        units = {
            "price_usd_per_gpu": "USD per GPU (system price / its GPUs)",
            "rent_usd_per_gpu_hour": "USD per GPU-hour",
        }
        for name, (override, d) in dated.items():
            if override is None and d is not None:
                rows.append((name, d.usd, units[name], d.describe()))
        done = {r[0] for r in rows}
        rest = price_assumptions(
            chip,
            price_usd_per_gpu if "price_usd_per_gpu" not in done else 0.0,
            rent_usd_per_gpu_hour if "rent_usd_per_gpu_hour" not in done else 0.0,
        )
        return rows + rest
    row = chip_economics_rows().get(chip.id)
    if row is not None:

        def marked(source: str, estimate: bool) -> str:
            # once: a source that already says ESTIMATE is not flagged again
            flag = "ESTIMATE: " if estimate and not source.lstrip().startswith("ESTIMATE") else ""
            return f"data/chip_economics.csv {chip.id}: {flag}{source}"

        if price_usd_per_gpu is None:
            rows.append(
                (
                    "price_usd_per_gpu",
                    float(row["server_price_usd_per_gpu"]),
                    "USD per GPU (system price / its GPUs)",
                    marked(row["server_price_source"], bool(row["server_price_estimate"])),
                )
            )
        if rent_usd_per_gpu_hour is None:
            rows.append(
                (
                    "rent_usd_per_gpu_hour",
                    float(row["rent_usd_per_gpu_hour"]),
                    "USD per GPU-hour",
                    marked(row["rent_source"], bool(row["rent_estimate"])),
                )
            )
        rows.append(
            (
                "embodied_kgco2e_per_gpu",
                float(row["embodied_kgco2e_per_gpu"]),
                "kgCO2e per GPU incl. its server share",
                f"data/embodied.csv {chip.id}: {row['embodied_source']}",
            )
        )
        return rows
    source = f"catalog {chip.id}: {chip.price_source or 'no published price'}"
    if price_usd_per_gpu is None and chip.price_usd_per_gpu is not None:
        rows.append(("price_usd_per_gpu", chip.price_usd_per_gpu, "USD per GPU", source))
    if rent_usd_per_gpu_hour is None and chip.rent_usd_per_gpu_hour is not None:
        rows.append(
            ("rent_usd_per_gpu_hour", chip.rent_usd_per_gpu_hour, "USD per GPU-hour", source)
        )
    return rows


@lru_cache(maxsize=1)
def measured_power() -> pd.DataFrame:
    """``data/measured_power.csv``: average training draw as a fraction of nameplate per chip,
    with the published range and source, indexed by chip id."""
    file = str(data_dir() / "measured_power.csv")
    cols = (
        "family",
        "chips",
        "average_fraction_of_nameplate",
        "low_fraction_of_nameplate",
        "high_fraction_of_nameplate",
        "kind",
        "estimate",
        "source",
    )
    raw = _read("measured_power.csv", cols)
    rows = []
    for i, rec in enumerate(raw.to_dict(orient="records")):
        line = i + 2
        avg, lo, hi = (
            _float(file, line, c, rec[c])
            for c in (
                "average_fraction_of_nameplate",
                "low_fraction_of_nameplate",
                "high_fraction_of_nameplate",
            )
        )
        if not (0 < lo <= avg <= hi <= 1):
            raise CatalogError(
                file,
                line,
                "average_fraction_of_nameplate",
                "expected 0 < low <= average <= high <= 1",
            )
        for chip in rec["chips"].split(";"):
            rows.append(
                {
                    "id": chip.strip(),
                    "family": rec["family"],
                    "average_fraction_of_nameplate": avg,
                    "low_fraction_of_nameplate": lo,
                    "high_fraction_of_nameplate": hi,
                    "kind": rec["kind"],
                    "estimate": _flag(file, line, "estimate", rec["estimate"]),
                    "source": rec["source"],
                }
            )
    return pd.DataFrame(rows).set_index("id")


def measured_load_fraction(chip: str) -> tuple[float, float, float, str]:
    """Average, low and high training draw / nameplate for a chip, and the source.

    For the power chain: average facility energy = nameplate x average fraction x (1 +
    network) x PUE x hours; the low/high ends give a sensitivity range.
    """
    table = measured_load_table()
    key = str(chip).strip().lower()
    if key not in table:
        raise InputError("accelerator", chip, "one of: " + ", ".join(table))
    return table[key]


@lru_cache(maxsize=1)
def measured_load_table() -> dict[str, tuple[float, float, float, str]]:
    """:func:`measured_power` as ``{chip id: (average, low, high, source)}`` (a sizing asks
    for its chip's row: a dict lookup, not a DataFrame row each time)."""
    frame = measured_power()
    return {
        str(key): (
            float(row["average_fraction_of_nameplate"]),
            float(row["low_fraction_of_nameplate"]),
            float(row["high_fraction_of_nameplate"]),
            str(row["source"]),
        )
        for key, row in frame.iterrows()
    }


# --------------------------------------------------------------------------------------------
# Amortisation
# --------------------------------------------------------------------------------------------


def _arr(field: str, value: Any, *, positive: bool = False) -> np.ndarray:
    (check_positive if positive else check_non_negative)(field, value)
    return np.asarray(value, dtype=float)


def capital_recovery_factor(cost_of_capital: Any, life_years: Any) -> Any:
    """Annual payment per USD of capex that repays it with interest over its life, 1/year.

    ``r (1 + r)^n / ((1 + r)^n - 1)``; ``1 / n`` when r = 0 (straight-line depreciation).
    """
    r = _arr("cost_of_capital", cost_of_capital)
    n = _arr("service_life_years", life_years, positive=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        # expm1/log1p keep (1 + r)^n - 1 exact for tiny r (no 0/0 near r = 0)
        excess = np.expm1(n * np.log1p(r))
        crf = np.where(r > 0, r * (1.0 + excess) / excess, 1.0 / n)
    return out(crf)


def break_even_years(cost_of_capital: Any, life_years: Any, utilisation: Any) -> Any:
    """Run length, years, at which the amortised hardware charge equals the capex."""
    u = _arr("hardware_utilisation", utilisation, positive=True)
    return out(u / np.asarray(capital_recovery_factor(cost_of_capital, life_years)))


def amortized_hardware_usd(
    capex_usd: Any,
    run_hours: Any,
    *,
    life_years: Any = None,
    utilisation: Any = None,
    cost_of_capital: Any = None,
) -> Any:
    """The run's share of a capital asset, USD.

    ``capex x CRF(cost_of_capital, life) x run_hours / (8,766 h x utilisation)``: the annual
    capital charge, spread over the hours the asset is allocated to paid work, times the run's
    wall-clock hours. Defaults from ``data/economics.csv`` (5 years, 85%, 8%).
    """
    life = parameter("service_life_years") if life_years is None else life_years
    u = parameter("hardware_utilisation") if utilisation is None else utilisation
    r = parameter("cost_of_capital") if cost_of_capital is None else cost_of_capital
    capex = _arr("capex_usd", capex_usd)
    hours = _arr("run_hours", run_hours)
    uu = _arr("hardware_utilisation", u, positive=True)
    if np.any(uu > 1):
        raise InputError("hardware_utilisation", float(np.max(uu)), "(0, 1]")
    crf = np.asarray(capital_recovery_factor(r, life))
    return out(capex * crf * hours / (HOURS_PER_YEAR * uu))


@dataclass(frozen=True)
class ClusterCapex:
    """Up-front spend, USD (arrays for array input): servers (GPUs incl. their server),
    scale-out networking and the facility share; ``total_usd`` is their sum."""

    servers_usd: Any
    networking_usd: Any
    facility_usd: Any

    @property
    def total_usd(self) -> Any:
        return out(
            np.asarray(self.servers_usd) + np.asarray(self.networking_usd) + self.facility_usd
        )


def cluster_capex_usd(
    gpus: Any,
    server_price_usd_per_gpu: Any,
    *,
    it_power_mw: Any = 0.0,
    networking_share: Any = None,
    facility_usd_per_mw: Any = None,
) -> ClusterCapex:
    """What a cluster costs up front, USD.

    Parameters
    ----------
    gpus : float or array
        GPUs installed.
    server_price_usd_per_gpu : float or array
        System price divided by its GPUs (``data/chip_economics.csv``).
    it_power_mw : float or array
        Peak IT power of the cluster, MW (the facility is built for its peak); 0 leaves the
        facility out.
    networking_share : float, optional
        Networking as a share of servers + networking (default 0.19, Cottier et al. 2024).
    facility_usd_per_mw : float, optional
        Facility build cost per MW of IT load (default 11.7M, Cushman & Wakefield 2025).
    """
    share = (
        parameter("networking_share_of_cluster_capex")
        if networking_share is None
        else networking_share
    )
    fac = (
        parameter("facility_capex_usd_per_mw")
        if facility_usd_per_mw is None
        else facility_usd_per_mw
    )
    s = _arr("networking_share", share)
    if np.any(s >= 1):
        raise InputError("networking_share", float(np.max(s)), "[0, 1)")
    servers = _arr("gpus", gpus) * _arr("server_price_usd_per_gpu", server_price_usd_per_gpu)
    networking = servers * s / (1.0 - s)
    facility = _arr("it_power_mw", it_power_mw) * _arr("facility_usd_per_mw", fac)
    return ClusterCapex(out(servers), out(networking), out(facility))


@dataclass(frozen=True)
class AmortizedCost:
    """A run's amortised cost, USD, by component; ``total_usd`` is their sum."""

    servers_usd: Any
    networking_usd: Any
    facility_usd: Any
    energy_usd: Any

    @property
    def hardware_usd(self) -> Any:
        return out(np.asarray(self.servers_usd) + self.networking_usd + self.facility_usd)

    @property
    def total_usd(self) -> Any:
        return out(np.asarray(self.hardware_usd) + self.energy_usd)


def amortized_cost_usd(
    gpus: Any,
    days: Any,
    server_price_usd_per_gpu: Any,
    *,
    energy_cost_usd: Any = 0.0,
    it_power_mw: Any = 0.0,
    life_years: Any = None,
    utilisation: Any = None,
    cost_of_capital: Any = None,
    networking_share: Any = None,
    facility_usd_per_mw: Any = None,
    facility_life_years: Any = None,
) -> AmortizedCost:
    """Amortised hardware (servers, networking, facility share) + energy for one run, USD.

    Servers and networking are amortised over ``life_years``; the facility over
    ``facility_life_years`` (default 20, an estimate); all with the same utilisation and cost
    of capital. ``energy_cost_usd`` comes from the power chain (average facility energy x
    price) and is added as is.
    """
    capex = cluster_capex_usd(
        gpus,
        server_price_usd_per_gpu,
        it_power_mw=it_power_mw,
        networking_share=networking_share,
        facility_usd_per_mw=facility_usd_per_mw,
    )
    hours = _arr("days", days) * 24.0
    kw = {"life_years": life_years, "utilisation": utilisation, "cost_of_capital": cost_of_capital}
    fac_life = (
        parameter("facility_life_years") if facility_life_years is None else facility_life_years
    )
    return AmortizedCost(
        servers_usd=amortized_hardware_usd(capex.servers_usd, hours, **kw),
        networking_usd=amortized_hardware_usd(capex.networking_usd, hours, **kw),
        facility_usd=amortized_hardware_usd(
            capex.facility_usd,
            hours,
            life_years=fac_life,
            utilisation=utilisation,
            cost_of_capital=cost_of_capital,
        ),
        energy_usd=out(_arr("energy_cost_usd", energy_cost_usd)),
    )


def rental_cost_usd(gpu_hours: Any, rent_usd_per_gpu_hour: Any) -> Any:
    """Cloud cost, USD: wall-clock GPU-hours x rent per GPU-hour (power included)."""
    return out(_arr("gpu_hours", gpu_hours) * _arr("rent_usd_per_gpu_hour", rent_usd_per_gpu_hour))


def embodied_tco2(
    gpus: Any,
    days: Any,
    embodied_kgco2e_per_gpu: Any,
    *,
    life_years: Any = None,
    utilisation: Any = None,
) -> Any:
    """Manufacturing emissions charged to a run, tCO2e, amortised like the capex.

    ``GPUs x embodied kgCO2e per GPU (incl. its server share) x run hours / (life x 8,766 h x
    utilisation) / 1,000`` (straight line: emissions bear no interest). Luccioni et al. 2022
    charged BLOOM 11.2 tCO2e this way (6 years, 85%).
    """
    life = parameter("service_life_years") if life_years is None else life_years
    u = parameter("hardware_utilisation") if utilisation is None else utilisation
    hours = _arr("days", days) * 24.0
    per_gpu = _arr("embodied_kgco2e_per_gpu", embodied_kgco2e_per_gpu)
    share = hours / (_arr("service_life_years", life, positive=True) * HOURS_PER_YEAR)
    return out(
        _arr("gpus", gpus)
        * per_gpu
        * share
        / _arr("hardware_utilisation", u, positive=True)
        / 1000.0
    )


# --------------------------------------------------------------------------------------------
# Cottier et al. 2024, their method as published
# --------------------------------------------------------------------------------------------


def depreciate_by_hardware_progress(price_usd: Any, years: Any, ooms_per_year: Any = None) -> Any:
    """Value after ``years`` of price-performance progress: ``price x 10^(-0.14 x years)``."""
    k = parameter("cottier_depreciation_ooms_per_year") if ooms_per_year is None else ooms_per_year
    return out(
        _arr("price_usd", price_usd) * 10.0 ** (-_arr("ooms_per_year", k) * _arr("years", years))
    )


@dataclass(frozen=True)
class CottierCost:
    """Cottier et al. 2024's amortised hardware capex + energy for one run, USD."""

    servers_usd: Any
    interconnect_usd: Any
    energy_usd: Any

    @property
    def total_usd(self) -> Any:
        return out(np.asarray(self.servers_usd) + self.interconnect_usd + self.energy_usd)


def cottier_hardware_energy_usd(
    chip_hours: Any,
    server_value_usd_per_gpu: Any,
    server_power_per_gpu_kw: Any,
    *,
    pue: Any = None,
    electricity_usd_per_mwh: Any = None,
    average_power_fraction: Any = None,
    ooms_per_year: Any = None,
    interconnect_share: Any = None,
) -> CottierCost:
    """Amortised hardware capex + energy as Cottier et al. 2024 compute it.

    - servers: value per GPU (incl. server) at training start x 0.14 x ln(10) per year x
      chip-hours / 8,766 h (the value lost to price-performance progress while in use);
    - interconnect: servers x 0.19 / (1 - 0.19);
    - energy: chip-hours x server power per GPU (TDP basis) x 0.75 x PUE x price.
    """
    k = parameter("cottier_depreciation_ooms_per_year") if ooms_per_year is None else ooms_per_year
    share = (
        parameter("networking_share_of_cluster_capex")
        if interconnect_share is None
        else interconnect_share
    )
    frac = (
        parameter("cottier_average_power_fraction")
        if average_power_fraction is None
        else average_power_fraction
    )
    p = parameter("cottier_pue_non_hyperscaler") if pue is None else pue
    price = (
        parameter("cottier_electricity_usd_per_mwh_2023")
        if electricity_usd_per_mwh is None
        else electricity_usd_per_mwh
    )
    hours = _arr("chip_hours", chip_hours)
    rate = _arr("ooms_per_year", k) * math.log(10.0)
    servers = (
        _arr("server_value_usd_per_gpu", server_value_usd_per_gpu) * rate * hours / HOURS_PER_YEAR
    )
    s = _arr("interconnect_share", share)
    interconnect = servers * s / (1.0 - s)
    energy_mwh = (
        hours * _arr("server_power_per_gpu_kw", server_power_per_gpu_kw) * frac * p / 1000.0
    )
    energy = energy_mwh * _arr("electricity_usd_per_mwh", price)
    return CottierCost(out(servers), out(interconnect), out(energy))


#: Cottier et al. 2024's stated inputs for GPT-4 (their code and data: Epoch AI
#: training-cost-trends), for a preset and the reproduction test.
COTTIER_GPT4: dict[str, Any] = {
    "accelerator": "a100-40gb",
    "gpus": 25_000,
    "training_hours": 2_280.0,  # 95 days (Epoch AI: GPT-4 training time)
    "flops": 2.1e25,  # Epoch AI estimate
    "list_price_usd_per_gpu": 24_875.0,  # DGX A100 launch price USD 199,000 / 8 (May 2020)
    "acquired": "2020-08-12",  # A100 release (2020-05-14) + 90 days, their rule
    "training_start": "2022-05-12",  # their 2022-08-15 end minus 95 days
    "server_power_per_gpu_kw": 6.5 / 8,  # DGX A100 6.5 kW / 8
    "pue": 1.25,  # OpenAI is not in their hyperscaler list
    "electricity_usd_per_mwh": 80.6,  # 2023 US industrial average (their table)
    "cloud_usd_per_gpu_hour": 1.36,  # Azure ND96asr A100 v4, 3-year commitment (2021-2022)
    "published_hardware_energy_usd": 40.7e6,  # model_costs.csv: 40,695,706
    "published_cloud_usd": 78.6e6,  # model_costs.csv: 78,562,017
}


def cottier_gpt4() -> dict[str, float]:
    """Cottier et al. 2024's GPT-4 costs recomputed from their stated inputs, USD."""
    c = COTTIER_GPT4
    years = (
        pd.Timestamp(str(c["training_start"])) - pd.Timestamp(str(c["acquired"]))
    ).days / 365.25
    value = float(depreciate_by_hardware_progress(c["list_price_usd_per_gpu"], years))
    chip_hours = float(c["gpus"]) * float(c["training_hours"])
    cost = cottier_hardware_energy_usd(
        chip_hours,
        value,
        c["server_power_per_gpu_kw"],
        pue=c["pue"],
        electricity_usd_per_mwh=c["electricity_usd_per_mwh"],
    )
    return {
        "chip_hours": chip_hours,
        "server_value_usd_per_gpu": value,
        "servers_usd": float(cost.servers_usd),
        "interconnect_usd": float(cost.interconnect_usd),
        "energy_usd": float(cost.energy_usd),
        "hardware_energy_usd": float(cost.total_usd),
        "cloud_usd": float(rental_cost_usd(chip_hours, c["cloud_usd_per_gpu_hour"])),
    }


# --------------------------------------------------------------------------------------------
# One call for sizing
# --------------------------------------------------------------------------------------------

#: Pricing modes of ``planner size --pricing`` and what ``cost_usd`` then is.
PRICING_MODES: dict[str, str] = {
    "amortized": "amortised servers, networking and facility share + electricity",
    "rent": "cloud GPU-hours at rent (power included)",
    "capex": "cluster capex (servers + networking + facility) + electricity: the whole purchase",
}


@dataclass(frozen=True)
class RunEconomics:
    """The four money/carbon answers for a run, plus what ``cost_usd`` is under a pricing.

    ``amortized_cost_usd`` includes electricity; ``cluster_capex_usd`` is up-front spend and
    is never added to a run's cost (except under ``pricing = "capex"``, which says so).
    """

    amortized_cost_usd: Any
    rental_cost_usd: Any
    cluster_capex_usd: Any
    embodied_tco2: Any
    amortized: AmortizedCost
    capex: ClusterCapex
    electricity_cost_usd: Any

    def cost_usd(self, pricing: str) -> Any:
        """``cost_usd`` under ``pricing`` (one of :data:`PRICING_MODES`)."""
        if pricing == "amortized":
            return self.amortized_cost_usd
        if pricing == "rent":
            return self.rental_cost_usd
        if pricing == "capex":
            return out(np.asarray(self.cluster_capex_usd) + self.electricity_cost_usd)
        raise InputError("pricing", pricing, "one of: " + ", ".join(PRICING_MODES))


def run_economics(
    chip: str,
    gpus: Any,
    days: Any,
    *,
    it_power_mw: Any,
    electricity_cost_usd: Any,
    server_price_usd_per_gpu: Any = None,
    rent_usd_per_gpu_hour: Any = None,
    embodied_kgco2e_per_gpu: Any = None,
    life_years: Any = None,
    utilisation: Any = None,
    cost_of_capital: Any = None,
    networking_share: Any = None,
    facility_usd_per_mw: Any = None,
    facility_life_years: Any = None,
) -> RunEconomics:
    """Amortised cost, rental cost, cluster capex and embodied tCO2 for sized runs.

    Vectorised over ``gpus``, ``days``, ``it_power_mw`` (peak IT MW, what the facility is
    built for) and ``electricity_cost_usd`` (from the power chain). Prices default to
    ``data/chip_economics.csv`` (every catalog chip has one; estimates are marked there); an
    explicit ``server_price_usd_per_gpu`` or ``rent_usd_per_gpu_hour`` overrides it. A chip
    with no row there (a user's own catalog) must be given both prices (else
    :class:`InputError`); its embodied emissions are then unknown (NaN).
    """
    key = str(chip).strip().lower()
    row = chip_economics_rows().get(key)
    if row is not None:
        price = row["server_price_usd_per_gpu"]
        rent = row["rent_usd_per_gpu_hour"]
        kg: Any = row["embodied_kgco2e_per_gpu"]
    elif server_price_usd_per_gpu is None or rent_usd_per_gpu_hour is None:
        # a chip of a user's own catalog: its prices must be given, never a silent 0
        raise InputError(
            "price_usd_per_gpu" if server_price_usd_per_gpu is None else "rent_usd_per_gpu_hour",
            "missing",
            "a server price per GPU and a rent per GPU-hour",
            detail=f"{chip} has no row in data/chip_economics.csv",
        )
    else:
        kg = math.nan  # embodied emissions unknown: reported as unknown (NaN)
    price = price if server_price_usd_per_gpu is None else server_price_usd_per_gpu
    rent = rent if rent_usd_per_gpu_hour is None else rent_usd_per_gpu_hour
    kg = kg if embodied_kgco2e_per_gpu is None else embodied_kgco2e_per_gpu
    capex = cluster_capex_usd(
        gpus,
        price,
        it_power_mw=it_power_mw,
        networking_share=networking_share,
        facility_usd_per_mw=facility_usd_per_mw,
    )
    amortized = amortized_cost_usd(
        gpus,
        days,
        price,
        energy_cost_usd=electricity_cost_usd,
        it_power_mw=it_power_mw,
        life_years=life_years,
        utilisation=utilisation,
        cost_of_capital=cost_of_capital,
        networking_share=networking_share,
        facility_usd_per_mw=facility_usd_per_mw,
        facility_life_years=facility_life_years,
    )
    gpu_hours = np.asarray(gpus, dtype=float) * np.asarray(days, dtype=float) * 24.0
    return RunEconomics(
        amortized_cost_usd=amortized.total_usd,
        rental_cost_usd=rental_cost_usd(gpu_hours, rent),
        cluster_capex_usd=capex.total_usd,
        embodied_tco2=(
            out(np.full(np.broadcast_shapes(np.shape(gpus), np.shape(days)), math.nan))
            if np.all(np.isnan(np.asarray(kg, dtype=float)))
            else embodied_tco2(gpus, days, kg, life_years=life_years, utilisation=utilisation)
        ),
        amortized=amortized,
        capex=capex,
        electricity_cost_usd=out(np.asarray(electricity_cost_usd, dtype=float)),
    )


# --------------------------------------------------------------------------------------------
# Validation against published per-run costs (never an input)
# --------------------------------------------------------------------------------------------

#: A planner cost within this signed fraction of the published one counts as a hit.
RUN_COST_TOLERANCE = 0.5
#: Cottier et al. 2024's dating rules (their code, epoch-research/training-cost-trends,
#: prices.py): hardware is first acquired at least 90 days after the chip's release, and
#: training starts 60 days before publication minus the training time (a further 60 days
#: from acquisition to training start are already inside the depreciation).
COTTIER_RELEASE_TO_ACQUISITION_DAYS = 90
COTTIER_TRAINING_END_TO_PUBLICATION_DAYS = 60
#: How :func:`validate_run_costs` chose its prices (shown by every face with the comparison).
RUN_COST_PRICE_RULE = (
    "Prices chosen before any comparison, never from the published costs: each chip family's "
    "earliest whole-system list price in data/chip_prices_dated.csv (else its earliest "
    "purchase price), acquired at the later of that date and launch + 90 days, depreciated "
    "0.14 orders of magnitude a year to the run's start (publication - training time - 60 "
    "days) and charged at 0.14 x ln(10) a year for the run's chip-hours, + 19% interconnect "
    "+ energy (Cottier et al. 2024, arXiv 2405.21015, their method and rules); rent: the "
    "latest on-demand price on or before the start. Nominal USD (theirs: 2023 USD)."
)
#: Columns of :func:`validate_run_costs`.
RUN_COST_COLUMNS: tuple[str, ...] = (
    "run",
    "chip",
    "run_start",
    "price_date",
    "price_usd_per_gpu",
    "value_at_start_usd_per_gpu",
    "rent_price_date",
    "rent_usd_per_gpu_hour",
    "amortized_usd",
    "published_amortized_usd",
    "amortized_error",
    "planner_amortized_usd",
    "planner_amortized_error",
    "rental_usd",
    "published_cloud_usd",
    "rental_error",
    "undated_amortized_error",
    "method",
    "label",
)


def published_run_costs() -> pd.DataFrame:
    """``data/published_run_costs.csv`` (Cottier et al. 2024's per-run costs), as read."""
    raw = _read(
        "published_run_costs.csv",
        ("run", "published", "chip", "gpus", "training_hours", "published_amortized_usd"),
    )
    for col in ("gpus", "training_hours", "published_amortized_usd", "published_cloud_usd"):
        raw[col] = pd.to_numeric(raw[col])
    return raw


def chip_family(chip_id: str) -> str:
    """A chip's family for the acquisition price: the catalog id up to its first ``-``
    (``a100-80gb`` -> ``a100``), as Cottier et al. match every A100 variant to "A100"."""
    return str(chip_id).strip().lower().split("-", 1)[0]


def acquisition_price(chip_id: str) -> DatedPrice | None:
    """Cottier et al. 2024's acquisition price for a chip: the earliest whole-system list price
    (their DGX rule) of the chip's family (:func:`chip_family`) in
    ``data/chip_prices_dated.csv``, else its earliest reported purchase price; dated at the
    later of that observation and the family's launch + 90 days
    (:data:`COTTIER_RELEASE_TO_ACQUISITION_DAYS`). ``for_date`` is that acquisition date.
    None when the family has no purchase price."""
    fam = chip_family(chip_id)
    t = dated_prices()
    mine = t[t["chip"].map(chip_family) == fam]
    launch = mine.loc[mine["kind"] == "launch", "date"]
    rows = mine[mine["kind"] == "list"].sort_values("date")
    if rows.empty:
        rows = mine[mine["kind"] == "purchase"].sort_values("date")
    if rows.empty:
        return None
    row = rows.iloc[0]
    earliest = launch.min() + pd.Timedelta(days=COTTIER_RELEASE_TO_ACQUISITION_DAYS)
    acquired = max(row["date"], earliest) if len(launch) else row["date"]
    return DatedPrice(
        chip=str(row["chip"]),
        what="purchase",
        usd=float(row["usd"]),
        for_date=str(acquired.date()),
        price_date=str(row["date"].date()),
        kind=str(row["kind"]),
        estimate=bool(row["estimate"]),
        source=str(row["source"]),
    )


def validate_run_costs(runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published training runs costed by Cottier et al. 2024's own method at dated prices,
    against their published figures (``data/published_run_costs.csv``, never an input).

    The method (:func:`cottier_hardware_energy_usd`, their paper and code): the hardware's
    value per GPU (incl. its server) at the run's start is its acquisition price depreciated by
    price-performance progress (0.14 orders of magnitude a year) from acquisition to the
    start; the run is charged that value at 0.14 x ln(10) = 32%/year (an effective life of 3.1
    years) for its chip-hours, plus 19% cluster interconnect (19/81 of the servers), plus
    energy: chip-hours x catalog system power per GPU x 75% of it on average x PUE 1.25 x
    USD 80.6/MWh (``data/economics.csv``).

    How the prices were chosen, before any comparison and never from the published costs
    (:func:`acquisition_price`): the earliest whole-system list price of the chip's family in
    ``data/chip_prices_dated.csv`` (else its earliest purchase price), acquired at the later
    of that price's date and launch + 90 days; the run starts at its publication date minus
    its training hours minus 60 days (no per-run exceptions), not before the acquisition. The
    rent is the latest on-demand price on or before the start (:func:`price_at`).

    Not reproduced: their hyperscaler PUE (1.1 for Google, Microsoft, Amazon, Meta; 1.25 is
    used for every run), their electricity price by year (the 2023 price for every run), their
    per-run start dates for GPT-3 and GPT-4, and their inflation adjustment to 2023 USD (the
    planner's costs are nominal). ``planner_amortized_*`` is the planner's own default
    method (an annuity over 5 years at 85% utilisation and 8% plus a facility share, at the
    latest price on or before the start), ``undated_amortized_error`` Cottier's method at the
    undated price of ``data/chip_economics.csv`` (no depreciation), for comparison.
    """
    from planner.catalog import load_catalog  # noqa: PLC0415 (the catalog reads this module)

    cat = load_catalog()
    table = published_run_costs() if runs is None else runs
    pue = parameter("cottier_pue_non_hyperscaler")
    usd_per_mwh = parameter("cottier_electricity_usd_per_mwh_2023")
    frac = parameter("cottier_average_power_fraction")
    rows = []
    for r in table.to_dict(orient="records"):
        chip = cat.get(r["chip"], field="chip")
        gpus, hours = float(r["gpus"]), float(r["training_hours"])
        start = pd.Timestamp(r["published"]) - pd.Timedelta(
            hours=hours, days=COTTIER_TRAINING_END_TO_PUBLICATION_DAYS
        )
        start = max(start, launch_date(chip.id) or start)
        acq = acquisition_price(chip.id)
        base = chip_costs(chip.id)
        if acq is not None:
            acquired = pd.Timestamp(acq.for_date)
            start = max(start, acquired)
            years = (start - acquired).days / 365.25
            value = float(depreciate_by_hardware_progress(acq.usd, years))
        else:
            value = float(base["server_price_usd_per_gpu"])
        chip_hours = gpus * hours
        kw = chip.system_power_per_gpu_w / 1000.0
        cottier = cottier_hardware_energy_usd(chip_hours, value, kw, pue=pue)
        undated = cottier_hardware_energy_usd(
            chip_hours, float(base["server_price_usd_per_gpu"]), kw, pue=pue
        )
        # the planner's own default method at the latest price on or before the start
        price = price_at(chip.id, start, "purchase")
        rent = price_at(chip.id, start, "rent")
        system_w = gpus * chip.system_power_per_gpu_w
        energy_mwh = system_w * frac * pue * hours / 1e6
        planner = run_economics(
            chip.id,
            gpus,
            hours / 24.0,
            server_price_usd_per_gpu=price.usd if price else base["server_price_usd_per_gpu"],
            rent_usd_per_gpu_hour=rent.usd if rent else base["rent_usd_per_gpu_hour"],
            it_power_mw=system_w / 1e6,
            electricity_cost_usd=energy_mwh * usd_per_mwh,
        )
        pub, cloud = float(r["published_amortized_usd"]), float(r["published_cloud_usd"])
        total = float(cottier.total_usd)
        rows.append(
            {
                "run": r["run"],
                "chip": chip.id,
                "run_start": str(start.date()),
                "price_date": acq.price_date if acq else "",
                "price_usd_per_gpu": acq.usd if acq else base["server_price_usd_per_gpu"],
                "value_at_start_usd_per_gpu": value,
                "rent_price_date": rent.price_date if rent else "",
                "rent_usd_per_gpu_hour": rent.usd if rent else base["rent_usd_per_gpu_hour"],
                "amortized_usd": total,
                "published_amortized_usd": pub,
                "amortized_error": total / pub - 1.0,
                "planner_amortized_usd": float(planner.amortized_cost_usd),
                "planner_amortized_error": float(planner.amortized_cost_usd) / pub - 1.0,
                "rental_usd": float(planner.rental_cost_usd),
                "published_cloud_usd": cloud,
                "rental_error": float(planner.rental_cost_usd) / cloud - 1.0,
                "undated_amortized_error": float(undated.total_usd) / pub - 1.0,
                "method": "Cottier et al. 2024 (depreciation by price-performance progress)",
                "label": "predicted",  # nothing is fitted to the published costs
            }
        )
    return pd.DataFrame(rows, columns=list(RUN_COST_COLUMNS))


def run_cost_summary(table: pd.DataFrame | None = None) -> dict[str, Any]:
    """Counts of :func:`validate_run_costs`: runs, amortised (dated and undated) and rental
    costs within :data:`RUN_COST_TOLERANCE`, and median signed errors."""
    t = validate_run_costs() if table is None else table

    def within(col: str) -> int:
        return int((t[col].abs() <= RUN_COST_TOLERANCE).sum())

    return {
        "runs": int(len(t)),
        "tolerance": RUN_COST_TOLERANCE,
        "amortized_within": within("amortized_error"),
        "undated_amortized_within": within("undated_amortized_error"),
        "planner_amortized_within": within("planner_amortized_error"),
        "rental_within": within("rental_error"),
        "median_amortized_error": float(t["amortized_error"].median()),
        "median_undated_amortized_error": float(t["undated_amortized_error"].median()),
        "median_planner_amortized_error": float(t["planner_amortized_error"].median()),
        "median_rental_error": float(t["rental_error"].median()),
        "method": "Cottier et al. 2024 (arXiv 2405.21015)",
        "price_rule": RUN_COST_PRICE_RULE,
        "label": "predicted",
    }
