"""Display text of core outputs for metrics, messages and tables (no modelling).

Every label, unit and number format of a core output comes from the one output vocabulary,
:mod:`planner.quantities` (``data/quantities.csv``); this module only picks between a value
with its unit (:func:`value`), a table cell whose header carries the unit (:func:`cell`) and a
metric (:func:`metric`), and turns the optimiser's internal limit names into words.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from planner import quantities

#: What a missing value prints as (the vocabulary's).
UNKNOWN = quantities.MISSING


def value(name: str, v: Any) -> str:
    """One core output with its unit, in the vocabulary's format: ``14.38 MW``, ``USD 29,635,000``."""
    return quantities.format_value(name, _plain_value(v), unit=True)


def cell(name: str, v: Any) -> str:
    """One core output without its unit (the column header carries it): ``14.38``."""
    return quantities.format_value(name, _plain_value(v))


def label(name: str, *, unit: bool = True) -> str:
    """A core output's label from the vocabulary: ``Peak facility power (MW)``."""
    return quantities.label(name, unit=unit)


def metric(name: str, v: Any, help_text: str | None = None) -> tuple[str, str, str | None]:
    """A headline metric of :func:`planner.app.layout.metric_row`: vocabulary label (no unit)
    and the value with its unit."""
    return (quantities.label(name, unit=False), value(name, v), help_text)


#: The standard sizing/plan result columns of :func:`result_table` (labels and formats are
#: the vocabulary's, ``data/quantities.csv``).
RESULT_COLUMNS: tuple[str, ...] = (
    "gpus",
    "systems",
    "days",
    "deadline_days",
    "facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "emissions_tco2",
)


def result_table(
    frame: pd.DataFrame, first: list[str], *, extra: tuple[str, ...] | list[str] = ()
) -> pd.DataFrame:
    """A result frame as display text: ``first`` columns, the standard quantities, ``extra``.

    Headers (with units) and number formats come from the vocabulary; booleans as yes/no;
    missing as ``n/a``.
    """
    out: dict[str, list[str]] = {}
    for column in [*first, *RESULT_COLUMNS, *extra]:
        if column in frame.columns:
            out[quantities.label(column)] = [cell(column, v) for v in frame[column]]
    return pd.DataFrame(out)


def text(v: Any) -> str:
    """Any non-output cell as text: yes/no, empty for missing."""
    if _missing(v):
        return ""
    v = _plain_value(v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _plain_value(v: Any) -> Any:
    """numpy scalars and pandas' missing markers as plain Python values."""
    if _missing(v):
        return None
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(isinstance(v, float | np.floating) and math.isnan(v)) or (
            v is pd.NA or v is pd.NaT
        )
    except (TypeError, ValueError):
        return False


def plural(n: Any, noun: str) -> str:
    """A count of systems: ``685 x DGX H100``; of a plain noun, English: ``1 system``."""
    if noun in ("system", "GPU", "run", "rack"):
        return f"{cell('systems', n)} {noun}{'' if n == 1 else 's'}"
    return f"{cell('systems', n)} x {noun}"


def input_number(v: Any) -> str:
    """An input or assumption value (not a core output) as typed: four significant figures,
    thousands separators; ``2.15e25`` for very large or small values."""
    if _missing(v):
        return ""
    v = _plain_value(v)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if v != 0 and (abs(v) >= 1e7 or abs(v) < 1e-3):
        return f"{v:.4g}".replace("e+", "e").replace("e0", "e").replace("e-0", "e-")
    return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"


def band(name: str, low: Any, high: Any) -> str:
    """A P10-P90 band of a core output: ``P10-P90 402.1-431.0 TWh/yr``; empty without samples."""
    if _missing(low) or _missing(high):
        return ""
    unit = quantities.quantity(name).unit
    shown = f" {unit}" if unit and unit not in {"fraction", "ratio"} else ""
    return f"P10-P90 {cell(name, low)}-{cell(name, high)}{shown}"


def input_label(name: str) -> str:
    """The vocabulary label of ``name`` inside a sentence: ``Grid limit (MW)`` -> ``grid limit
    (MW)``; a label that starts with an acronym keeps it (``GPU price (USD)``)."""
    text = quantities.label(name)
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def widget_format(name: str) -> str:
    """The printf format of a number widget from the vocabulary's format: ``,.2f`` -> ``%.2f``
    (a widget has no thousands separator)."""
    return "%" + quantities.vega_format(name).replace(",", "")


def constraint_name(name: str) -> str:
    """A limit's internal name in plain English: ``deadline_days.gpt-moe`` -> ``the deadline
    of gpt-moe``, ``grid_limit_mw`` -> ``the grid limit``."""
    head, _, tail = name.partition(".")
    words = {
        "grid_limit_mw": f"the {quantities.label('grid_limit_mw', unit=False).lower()}",
        "budget_usd": f"the {quantities.label('budget_usd', unit=False).lower()}",
        "max_racks": "the rack limit",
        "deadline_days": f"the {quantities.label('deadline_days', unit=False).lower()} of {{}}",
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


def projection_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A projection frame as display text: vocabulary headers (P10/P50/P90 suffixes added)."""
    out: dict[str, list[str]] = {}
    for column in frame.columns:
        base, _, band_name = column.rpartition("_")
        if band_name not in ("p10", "p50", "p90"):
            base, band_name = column, ""
        header = quantities.label(base) + (f" {band_name.upper()}" if band_name else "")
        out[header] = [cell(base, v) for v in frame[column]]
    return pd.DataFrame(out)


def field_label(field: str) -> str:
    """An input's or output's plain name: the vocabulary's label when it has one."""
    if field in quantities.all_quantities():
        return quantities.label(field)
    return field.replace("_", " ")


def field_value(field: str, v: Any) -> str:
    """An input's or output's value as text: the vocabulary's format when it has one."""
    if field in quantities.all_quantities():
        return cell(field, v)
    return input_number(v) if not _missing(v) else quantities.MISSING


def changed_note(changed: list[dict[str, Any]]) -> str:
    """One line naming the inputs that differ from a preset's own (``field``, ``preset``,
    ``value`` of each): why its published figures are not compared with this model."""
    listed = "; ".join(
        f"{field_label(str(c['field']))} {field_value(str(c['field']), c.get('preset'))} in the "
        f"preset, {field_value(str(c['field']), c.get('value'))} here"
        for c in changed
    )
    return (
        f"Not the preset's own inputs ({listed}), so the model is no longer the preset's "
        "reproduction and its published figures are not compared."
    )
