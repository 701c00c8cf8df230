"""Number formatting for metrics, messages and tables (display only; no modelling)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

UNKNOWN = "unknown"


#: ``(column, label, formatter)`` of the standard sizing/plan result columns.
RESULT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("gpus", "GPUs", "count"),
    ("systems", "Systems", "count"),
    ("days", "Days", "days"),
    ("deadline_days", "Deadline (days)", "days"),
    ("facility_power_mw", "Peak power", "mw"),
    ("energy_mwh", "Energy", "mwh"),
    ("cost_usd", "Cost", "usd"),
    ("emissions_tco2", "Emissions", "tco2"),
)
#: Labels of identifying and other columns of the app's tables (plain English).
COLUMN_LABELS = {
    "accelerator": "Chip",
    "chip": "Chip",
    "chip_name": "Name",
    "run": "Run",
    "note": "Note",
    "mfu": "MFU",
    "pue": "Annual PUE",
    "design_pue": "Design-day PUE",
    "fits_grid": "Fits the grid",
    "fits_budget": "Fits the budget",
    "fits_supply": "Fits the supply",
}


def result_table(
    frame: pd.DataFrame, first: list[str], *, extra: tuple[str, ...] | list[str] = ()
) -> pd.DataFrame:
    """A result frame as display text: ``first`` columns, the standard quantities, ``extra``.

    Every number with its unit and sensible rounding (``7,888``, ``14.9 MW``, ``$238.7M``);
    booleans as yes/no; missing as an empty cell (never "None"); plain-English headers.
    """
    out: dict[str, list[str]] = {}
    for column in first:
        if column in frame.columns:
            out[COLUMN_LABELS.get(column, column)] = [text(v) for v in frame[column]]
    for column, label, kind in RESULT_COLUMNS:
        if column in frame.columns:
            formatter = _FORMATTERS[kind]
            out[label] = [blank(v, formatter) for v in frame[column]]
    for column in extra:
        if column in frame.columns:
            formatter = _EXTRA.get(column, text)
            out[COLUMN_LABELS.get(column, column)] = [blank(v, formatter) for v in frame[column]]
    return pd.DataFrame(out)


def text(value: Any) -> str:
    """Any cell as text: yes/no, numbers via :func:`number`, empty for missing."""
    if _missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, np.generic):
        value = value.item()
    return number(value) if isinstance(value, int | float) else str(value)


def blank(value: Any, formatter: Any) -> str:
    return "" if _missing(value) else str(formatter(value))


def plural(n: Any, noun: str) -> str:
    """``1 DGX H100``, ``2 x DGX H100``... counts of systems read as English: ``1 system``."""
    if noun in ("system", "GPU", "run", "rack"):
        return f"{count(n)} {noun}{'' if n == 1 else 's'}"
    return f"{count(n)} x {noun}"


def percent_plain(value: Any) -> str:
    """A fraction as a percentage: ``0.2`` -> ``20%``, ``0.197`` -> ``19.7%``."""
    if _missing(value):
        return UNKNOWN
    return f"{value * 100:.3g}%"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float | np.floating) and math.isnan(value)) or (
            value is pd.NA or value is pd.NaT
        )
    except (TypeError, ValueError):
        return False


def count(value: Any) -> str:
    """Whole things (GPUs, systems): ``7,888``."""
    return UNKNOWN if _missing(value) else f"{value:,.0f}"


def days(value: Any) -> str:
    """Days with one decimal: ``90.0``."""
    return UNKNOWN if _missing(value) else f"{value:,.1f}"


def mw(value: Any) -> str:
    """Megawatts: two decimals under 10 MW, one above (``4.07 MW``, ``14.9 MW``)."""
    if _missing(value):
        return UNKNOWN
    return f"{value:,.2f} MW" if abs(value) < 10 else f"{value:,.1f} MW"


def mwh(value: Any) -> str:
    """Energy: ``30,145 MWh``; ``1.2 GWh``... never three decimals."""
    if _missing(value):
        return UNKNOWN
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} TWh"
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.1f} GWh"
    return f"{value:,.0f} MWh" if abs(value) >= 10 else f"{value:,.1f} MWh"


def usd(value: Any) -> str:
    """Money with a scale word: ``$238.7M``, ``$1.2B``, ``$950k``; ``unknown`` without a price."""
    if _missing(value):
        return UNKNOWN
    for scale, word in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"${value / scale:,.1f}{word}"
    return f"${value:,.0f}"


def tco2(value: Any) -> str:
    """Emissions: ``11,154 tCO2``; ``1.2 MtCO2`` from a million tonnes."""
    if _missing(value):
        return UNKNOWN
    return f"{value / 1e6:,.2f} MtCO2" if abs(value) >= 1e6 else f"{value:,.0f} tCO2"


def watts(value: Any) -> str:
    return UNKNOWN if _missing(value) else f"{value:,.0f} W"


def flops(value: Any) -> str:
    return UNKNOWN if _missing(value) else f"{number(value)} FLOPs"


def number(value: Any) -> str:
    """Any quantity, four significant figures with thousands separators."""
    if _missing(value):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
        return f"{value:.4g}".replace("e+", "e").replace("e0", "e").replace("e-0", "e-")
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def percent(value: Any) -> str:
    """A signed relative difference: ``+2.4%``, ``-1.4%``; ``0.0%`` (never ``-0.0%``)."""
    if _missing(value):
        return ""
    shown = f"{value:+.1%}"
    return "0.0%" if shown in ("+0.0%", "-0.0%") else shown


def twh(value: Any) -> str:
    """Terawatt-hours a year: ``945 TWh``, ``85.4 TWh``, ``4.07 TWh``."""
    if _missing(value):
        return UNKNOWN
    if abs(value) >= 100:
        return f"{value:,.0f} TWh"
    return f"{value:,.1f} TWh" if abs(value) >= 10 else f"{value:,.2f} TWh"


def share(value: Any) -> str:
    """A fraction as a percentage with two decimals: ``4.46%``."""
    return UNKNOWN if _missing(value) else f"{value:.2%}"


def band(low: Any, high: Any, unit: str = "") -> str:
    """A P10-P90 band: ``P10-P90 402-431 TWh``; empty without samples."""
    if _missing(low) or _missing(high):
        return ""
    return f"P10-P90 {number(low)}-{number(high)}{' ' + unit if unit else ''}"


def _two_decimals(value: Any) -> str:
    return f"{value:.2f}"


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "count": count,
    "days": days,
    "mw": mw,
    "mwh": mwh,
    "usd": usd,
    "tco2": tco2,
}
_EXTRA: dict[str, Callable[[Any], str]] = {
    "mfu": percent_plain,
    "pue": _two_decimals,
    "design_pue": _two_decimals,
    "note": str,
}


def pue_pair(annual: Any, design: Any) -> str:
    """``"PUE 1.20 annual (energy), 1.30 design-day (grid peak)"``."""
    return f"PUE {float(annual):.2f} annual (energy), {float(design):.2f} design-day (grid peak)"


def constraint_name(name: str) -> str:
    """A limit's internal name in plain English: ``deadline_days.gpt-moe`` -> ``the deadline
    of gpt-moe``, ``grid_limit_mw`` -> ``the grid limit``."""
    head, _, tail = name.partition(".")
    words = {
        "grid_limit_mw": "the grid limit",
        "budget_usd": "the budget",
        "max_racks": "the rack limit",
        "deadline_days": "the deadline of {}",
        "supply_gpus": "the supply of {}",
        "add_chip": "adding {}",
    }
    if head in words:
        return words[head].format(tail) if "{}" in words[head] else words[head]
    return name.replace("_", " ")


_INTERNAL = re.compile(
    r"\b(grid_limit_mw|budget_usd|max_racks|(?:deadline_days|supply_gpus|add_chip)\.[\w.\-]+)"
)


def plain(text: str) -> str:
    """A core message with internal limit names in words and ``1 systems`` as ``1 system``."""

    def word(m: re.Match[str]) -> str:
        name = m.group(1)
        stripped = name.rstrip(".")
        return constraint_name(stripped) + name[len(stripped) :]

    text = _INTERNAL.sub(word, text)
    return re.sub(r"(?<![\d,.])1 (system|GPU|rack|run)s\b", r"1 \1", text)


#: Plain headers of the projection columns (the P10/P50/P90 suffixes are added).
PROJECTION_LABELS = {
    "variant": "Variant",
    "country": "Country or region",
    "year": "Year",
    "electricity_definition": "National electricity basis",
    "ai_twh": "AI servers (TWh)",
    "non_ai_twh": "Other data centre load (TWh)",
    "total_twh": "Data centres (TWh)",
    "ai_gw": "AI servers (GW average)",
    "ai_peak_gw": "AI servers (GW grid peak, design-day PUE)",
    "total_gw": "Data centres (GW average)",
    "electricity_twh": "National electricity (TWh)",
    "ai_share": "AI share of national electricity",
    "total_share": "Data-centre share of national electricity",
    "reference_runs_per_year": "Reference training runs a year",
    "ai_accelerators_in_service": "AI accelerators in service",
    "ai_dense_bf16_eflops": "AI dense BF16 compute (EFLOP/s)",
    "pue": "PUE",
    "design_pue": "Design-day PUE",
}


def projection_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A projection frame as display text: units in the headers, shares as percentages."""
    out: dict[str, list[str]] = {}
    for column in frame.columns:
        base, _, band_name = column.rpartition("_")
        if band_name not in ("p10", "p50", "p90"):
            base, band_name = column, ""
        label = PROJECTION_LABELS.get(base, base.replace("_", " "))
        if band_name:
            label += f" {band_name.upper()}"
        if base.endswith("_share"):
            formatter: Any = share
        elif base.endswith(("_twh", "_gw")):
            formatter = _one_decimal
        elif base in ("reference_runs_per_year", "ai_accelerators_in_service"):
            formatter = count
        elif base == "year":
            formatter = lambda v: f"{int(v)}"  # noqa: E731
        elif base in ("pue", "design_pue"):
            formatter = lambda v: f"{v:.2f}"  # noqa: E731
        else:
            formatter = text
        out[label] = [blank(v, formatter) if not isinstance(v, str) else v for v in frame[column]]
    return pd.DataFrame(out)


def _one_decimal(value: Any) -> str:
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.3g}"


#: Plain names of the result quantities a preset publishes (the published-vs-model tables).
QUANTITY_LABELS = {
    "gpus": "GPUs",
    "systems": "Systems",
    "days": "Training time (days)",
    "facility_power_mw": "Peak facility power (MW)",
    "it_power_mw": "Peak IT power (MW)",
    "energy_mwh": "Energy (MWh)",
    "cost_usd": "Cost (USD)",
    "gpu_hours": "GPU-hours",
    "emissions_tco2": "Emissions (tCO2)",
}


def quantity(name: str) -> str:
    """A result quantity's plain name: ``facility_power_mw`` -> ``Peak facility power (MW)``."""
    return QUANTITY_LABELS.get(name, name.replace("_", " "))
