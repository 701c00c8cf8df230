"""One output vocabulary: every result quantity's label, unit, number format and meaning.

The table is ``data/quantities.csv`` (columns ``name, type, label, short_label, unit, format,
description``, described in ``data/quantities.attributes.csv``), in the spirit of PyPSA's
component attribute CSVs: the CLI tables, the app's metrics and charts and every report read
their headers and number formats from here, so a new output is added in one place and two
faces can never label the same number differently.

``format`` is a format specification that both Python (``format(v, spec)``) and d3/Vega-Lite
(Altair's ``format=``) read the same way (``,.2f``, ``.3g``, ``+.1%``).

This module imports only the standard library: the CLI reads it at start-up.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from planner._paths import data_dir

__all__ = [
    "MISSING",
    "PUE_ROLES",
    "Quantity",
    "all_quantities",
    "auto_format",
    "format_value",
    "header",
    "json_value",
    "label",
    "quantity",
    "vega_format",
]

#: What a missing value (None, NaN, inf) prints as.
MISSING = "n/a"

_TYPES = ("int", "float", "str")
#: What each of the two PUEs is for, shown beside its value wherever both appear.
PUE_ROLES = {"pue": "annual: energy, cost, CO2", "design_pue": "design-day: grid peak"}
#: Units whose singular a count of exactly 1 takes ("1 day", not "1 days").
_SINGULAR = {
    "days": "day",
    "GPUs": "GPU",
    "systems": "system",
    "replicas": "replica",
    "sequences": "sequence",
}


@dataclass(frozen=True)
class Quantity:
    """One output quantity of the planner.

    Attributes
    ----------
    name : str
        The key in result dicts, DataFrames and ``--json`` (unit in the name: ``_mw``, ``_usd``).
    type : {"int", "float", "str"}
        ``int`` quantities are whole counts and are written to JSON as integers.
    label : str
        Sentence-case label without the unit (``Peak facility power``).
    short_label : str
        A narrow table's column header, unit included where it helps (``peak MW``).
    unit : str
        Display unit (``MW``, ``USD``, ``days``); empty for text.
    format : str
        Number format (Python and d3 syntax); empty for text.
    description : str
        What the number means and which PUE or pricing it uses.
    """

    name: str
    type: Literal["int", "float", "str"]
    label: str
    short_label: str
    unit: str
    format: str
    description: str


@lru_cache(maxsize=1)
def all_quantities() -> dict[str, Quantity]:
    """Read and validate ``data/quantities.csv`` (once per process)."""
    path = data_dir() / "quantities.csv"
    out: dict[str, Quantity] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            name = (row.get("name") or "").strip()
            where = f"{path.name}, line {line}"
            if not name:
                raise ValueError(f"{where}: column name is empty")
            if name in out:
                raise ValueError(f"{where}: column name: {name!r} appears twice")
            kind = (row.get("type") or "").strip()
            if kind not in _TYPES:
                raise ValueError(f"{where}: column type = {kind!r}: expected one of {_TYPES}")
            spec = (row.get("format") or "").strip()
            if spec:
                try:
                    format(1234.5, spec)
                except ValueError as err:
                    raise ValueError(f"{where}: column format = {spec!r}: {err}") from None
            out[name] = Quantity(
                name=name,
                type=kind,  # type: ignore[arg-type]
                label=(row.get("label") or "").strip() or name,
                short_label=(row.get("short_label") or "").strip() or name,
                unit=(row.get("unit") or "").strip(),
                format=spec,
                description=(row.get("description") or "").strip(),
            )
    return out


def quantity(name: str) -> Quantity:
    """The vocabulary entry of ``name``; a name not in the table is a bug in the caller."""
    try:
        return all_quantities()[name]
    except KeyError:
        raise KeyError(
            f"output quantity {name!r} is not in data/quantities.csv: add it there"
        ) from None


def label(name: str, *, unit: bool = True, short: bool = False) -> str:
    """A column header or metric label: ``Peak facility power (MW)``; ``short`` for narrow tables."""
    q = quantity(name)
    if short:
        return q.short_label
    if (
        unit
        and q.unit
        and q.unit not in {"fraction", "ratio", "x"}
        and q.unit.lower() != q.label.lower()
    ):
        return f"{q.label} ({q.unit})"
    return q.label


def header(name: str) -> str:
    """The header of a table column (``label`` with its unit)."""
    return label(name)


def vega_format(name: str) -> str:
    """The d3 number format of ``name`` for Altair axes and tooltips."""
    return quantity(name).format


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float) and not math.isfinite(value)
    except TypeError:  # pragma: no cover - exotic types
        return False


def format_number(value: float, spec: str) -> str:
    """``format(value, spec)``, except that a non-zero value never prints as zero.

    A fixed-point spec that rounds a small non-zero value to ``0`` (a 0.01-day deadline with
    ``,.1f``) falls back to three significant digits.
    """
    text = format(value, spec) if spec else auto_format(value)
    if value != 0 and spec and spec[-1] in "f%" and not any(c in "123456789" for c in text):
        text = f"{value * 100:.3g}%" if spec[-1] == "%" else f"{value:.3g}"
    return text


def auto_format(value: float) -> str:
    """A readable default for a number with no format: thousands separators for large
    values, 3-4 significant digits."""
    a = abs(value)
    if value == int(value) and a < 1e15:
        return f"{value:,.0f}"
    if a >= 1e15 or (0 < a < 1e-3):
        return f"{value:.3e}"
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def format_value(name: str, value: Any, *, unit: bool = False) -> str:
    """One value as text in the vocabulary's format: ``14.38``; with ``unit``: ``14.38 MW``.

    Missing values (None, NaN, inf) print as ``n/a``; booleans as yes/no; a count of exactly
    one takes the singular unit (``1 day``).
    """
    q = quantity(name)
    if _is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if q.type == "str" or isinstance(value, str):
        return str(value)
    number = float(value)
    text = format_number(number, q.format)
    if not unit or not q.unit or q.unit in {"fraction", "ratio"}:
        return text
    if q.unit == "USD":
        return f"USD {text}"
    shown = _SINGULAR.get(q.unit, q.unit) if number == 1 else q.unit
    return f"{text} {shown}"


def json_value(name: str, value: Any) -> Any:
    """A value as ``--json`` writes it: whole counts as ``int``, missing as ``None``."""
    if _is_missing(value):
        return None
    q = all_quantities().get(name)
    if q is not None and q.type == "int" and isinstance(value, int | float):
        return int(round(float(value)))
    return value
