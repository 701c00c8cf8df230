"""Number formatting for metrics, messages and tables (display only; no modelling)."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

UNKNOWN = "unknown"


def result_columns(**extra: Any) -> dict[str, Any]:
    """``st.dataframe`` column configs for the standard sizing/plan result columns.

    One definition so every table in the app labels and formats a quantity the same way;
    ``extra`` adds or overrides page-specific columns.
    """
    number = st.column_config.NumberColumn
    config: dict[str, Any] = {
        "gpus": number("GPUs", format="localized"),
        "systems": number("systems", format="localized"),
        "days": number("days", format="%.1f"),
        "facility_power_mw": number("peak MW", format="%.2f"),
        "energy_mwh": number("MWh", format="localized"),
        "cost_usd": number("cost (USD)", format="dollar"),
        "emissions_tco2": number("tCO2", format="localized"),
    }
    config.update(extra)
    return config


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


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
    return UNKNOWN if _missing(value) else f"{value:,.0f} MWh"


def usd(value: Any) -> str:
    """Money with a scale word: ``$238.7M``, ``$1.2B``, ``$950k``; ``unknown`` without a price."""
    if _missing(value):
        return UNKNOWN
    for scale, word in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"${value / scale:,.1f}{word}"
    return f"${value:,.0f}"


def tco2(value: Any) -> str:
    return UNKNOWN if _missing(value) else f"{value:,.0f} tCO2"


def watts(value: Any) -> str:
    return UNKNOWN if _missing(value) else f"{value:,.0f} W"


def flops(value: Any) -> str:
    return UNKNOWN if _missing(value) else f"{value:.3g} FLOPs"


def number(value: Any) -> str:
    """Any quantity, four significant figures with thousands separators."""
    if _missing(value):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
        return f"{value:.4g}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def percent(value: Any) -> str:
    return "" if _missing(value) else f"{value:+.1%}"


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
