"""Display formatting shared by the text writers (HTML, Markdown); display only."""

from __future__ import annotations

import math
from typing import Any

from planner.quantities import auto_format as auto_format
from planner.quantities import format_number

MISSING = "n/a"


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt_value(value: Any, fmt: str = "") -> str:
    """Format one cell: ``fmt`` is a Python format spec (:func:`planner.quantities.format_number`:
    a non-zero value never shows as zero); missing values show ``n/a``."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        return format_number(float(value), fmt) if fmt else auto_format(float(value))
    return str(value)


def money(value: Any) -> str:
    """USD with a scale word: ``$238.7M``, ``$1.20B``; ``unknown`` without a price."""
    if is_missing(value):
        return "unknown"
    v = float(value)
    for scale, word in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"${v / scale:,.{2 if scale == 1e9 else 1}f}{word}"
    return f"${v:,.0f}"


def signed_pct(value: Any, digits: int = 1) -> str:
    return MISSING if is_missing(value) else f"{value:+.{digits}%}"
