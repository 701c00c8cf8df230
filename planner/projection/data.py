"""National electricity totals (the share denominators) and country names."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner._paths import data_dir
from planner.errors import CatalogError, InputError
from planner.projection.constants import REST_OF_WORLD
from planner.projection_scenarios import (
    YEAR_RANGE,
    pydantic_error,
)

# --------------------------------------------------------------------------------------------
# National electricity totals (the share denominators)
# --------------------------------------------------------------------------------------------


class _ElectricityRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    country: str = Field(min_length=1)
    year: int = Field(ge=YEAR_RANGE[0], le=YEAR_RANGE[1])
    definition: Literal["consumption", "generation"]
    kind: Literal["actual", "estimate", "projection"]
    study: str = ""
    electricity_twh: float = Field(gt=0, le=200_000)
    source: str = Field(min_length=1)


@lru_cache(maxsize=4)
def load_electricity(path: Path | None = None) -> pd.DataFrame:
    """National electricity totals (``data/countries/electricity.csv``), validated.

    Columns: country, year, definition (consumption | generation), kind (actual | estimate |
    projection), electricity_twh, source. Raises :class:`CatalogError` naming the row and column.
    """
    resolved = path or data_dir() / "countries" / "electricity.csv"
    if not resolved.is_file():
        raise CatalogError(str(resolved), None, None, "file not found")
    raw = pd.read_csv(resolved, dtype=str, keep_default_na=False)
    rows = []
    seen: set[tuple[str, int, str, str]] = set()
    for index, record in enumerate(raw.to_dict(orient="records")):
        try:
            row = _ElectricityRow.model_validate(record)
        except ValidationError as exc:
            raise pydantic_error(
                str(resolved), record, exc, _ElectricityRow, row=index + 2, column_label="column"
            ) from None
        key = (row.country, row.year, row.definition, row.study)
        if key in seen:
            raise CatalogError(str(resolved), index + 2, "year", f"duplicate row for {key}")
        seen.add(key)
        rows.append(row.model_dump())
    return pd.DataFrame(rows)


def known_countries() -> list[str]:
    """Country/region names with electricity totals, plus the residual ``Rest of world``."""
    return sorted(set(load_electricity()["country"])) + [REST_OF_WORLD]


def resolve_country(name: str, field: str = "country") -> str:
    """The canonical name of a country/region (case-insensitive), or an :class:`InputError`."""
    by_lower = {c.lower(): c for c in known_countries()}
    key = str(name).strip().lower()
    if key not in by_lower:
        raise InputError(field, name, "one of: " + ", ".join(known_countries()))
    return by_lower[key]


def national_electricity_twh(
    country: str,
    years: Any,
    definition: str,
    growth_pct_per_year: float = 0.0,
    study: str | None = None,
) -> np.ndarray:
    """National electricity (``definition``) in ``years``, TWh.

    Linear between the rows of the table; beyond them the nearest row compounded at
    ``growth_pct_per_year`` (the scenario states and sources that rate). Rows tagged with a
    ``study`` (a study's own projected total) are used only when ``study`` matches.
    """
    table = load_electricity()
    rows = table[
        (table["country"] == country)
        & (table["definition"] == definition)
        & ((table["study"] == "") | (table["study"] == (study or "")))
    ]
    if study and rows["year"].duplicated().any():  # the study's row wins over a statistic
        rows = rows.sort_values("study").drop_duplicates("year", keep="last")
    yrs = np.asarray(years, dtype=float)
    if rows.empty:
        have = sorted(set(table.loc[table["country"] == country, "definition"]))
        raise InputError(
            "electricity.definition",
            definition,
            "one of: " + (", ".join(have) or "(none)") + f" for {country}",
            detail="data/countries/electricity.csv has no such total",
        )
    rows = rows.sort_values("year")
    ry = rows["year"].to_numpy(dtype=float)
    rv = rows["electricity_twh"].to_numpy(dtype=float)
    g = 1.0 + growth_pct_per_year / 100.0
    inside = np.interp(yrs, ry, rv)
    after = rv[-1] * g ** (yrs - ry[-1])
    before = rv[0] * g ** (yrs - ry[0])
    return np.where(yrs > ry[-1], after, np.where(yrs < ry[0], before, inside))
