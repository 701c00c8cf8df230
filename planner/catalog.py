"""Accelerator catalog: which chip, how fast (dense), how much power, what it costs.

The catalog is ``data/accelerators.csv``; its columns, units and meaning are described in
``data/accelerators.attributes.csv`` (PyPSA style: the docs render that table, so data and
documentation cannot drift). One validating loader reads it and fails with the file, the row
and the column on a bad value.

All TFLOP/s figures are DENSE. NVIDIA headlines "with sparsity" figures that are twice the
dense ones (H100 SXM: 1,979 BF16 "with sparsity" = 989 dense); mixing them up halves every
GPU count the planner computes.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from planner._paths import data_dir
from planner.data_errors import (
    check_input_path,
    data_error,
    read_text_file,
    show_path,
    whole_number,
)
from planner.errors import CatalogError, InputError

Precision = Literal["bf16", "fp8", "fp4"]
PRECISIONS: tuple[str, ...] = ("bf16", "fp8", "fp4")

#: Largest purchase price per GPU accepted, USD, in the catalog and in scenarios (a GB200
#: NVL72 is ~USD 42,000 per GPU; 1e7 leaves room for any real accelerator while keeping the
#: optimiser's coefficients in a range HiGHS solves, and capex of MAX_GPUS GPUs finite).
MAX_PRICE_USD_PER_GPU = 1e7
#: Largest rental price accepted, USD per GPU-hour (H100 on demand: USD 2-4 in 2024).
MAX_RENT_USD_PER_GPU_HOUR = 1e4


class _AcceleratorRow(BaseModel):
    """Validation schema of one catalog row (units in the names)."""

    # allow_inf_nan=False: "inf", "nan" and "1e400" (overflows to inf) are never a chip figure
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    name: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    release_year: Annotated[int, BeforeValidator(whole_number)] = Field(ge=2010, le=2035)
    bf16_dense_tflops: float = Field(gt=0, le=100_000)
    fp8_dense_tflops: float | None = Field(default=None, gt=0, le=100_000)
    fp4_dense_tflops: float | None = Field(default=None, gt=0, le=200_000)
    memory_gb: float = Field(gt=0, le=10_000)
    memory_bw_tbs: float = Field(gt=0, le=100)
    tdp_w: float = Field(gt=0, le=5_000)
    system_name: str = Field(min_length=1)
    gpus_per_system: Annotated[int, BeforeValidator(whole_number)] = Field(ge=1, le=1_024)
    system_power_kw: float = Field(gt=0, le=2_000)
    cooling: Literal["air", "liquid"]
    price_usd_per_gpu: float | None = Field(default=None, gt=0, le=MAX_PRICE_USD_PER_GPU)
    rent_usd_per_gpu_hour: float | None = Field(default=None, gt=0, le=MAX_RENT_USD_PER_GPU_HOUR)
    source: str = Field(min_length=1)
    price_source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _AcceleratorRow:
        per_gpu_w = self.system_power_kw * 1000 / self.gpus_per_system
        if per_gpu_w < self.tdp_w:
            raise ValueError(
                f"system_power_kw {self.system_power_kw:g} / gpus_per_system "
                f"{self.gpus_per_system} = {per_gpu_w:.0f} W per GPU is below tdp_w "
                f"{self.tdp_w:g}: a server cannot draw less than its GPUs"
            )
        if self.fp8_dense_tflops is not None and self.fp8_dense_tflops < self.bf16_dense_tflops:
            raise ValueError("fp8_dense_tflops is below bf16_dense_tflops: check dense vs sparse")
        has_price = self.price_usd_per_gpu is not None or self.rent_usd_per_gpu_hour is not None
        if has_price and not self.price_source:
            raise ValueError("a price is given without a price_source")
        return self


@dataclass(frozen=True)
class Accelerator:
    """One catalog chip and the system it ships in.

    Attributes carry their unit in the name; see ``data/accelerators.attributes.csv``.
    """

    id: str
    name: str
    vendor: str
    release_year: int
    bf16_dense_tflops: float
    fp8_dense_tflops: float | None
    fp4_dense_tflops: float | None
    memory_gb: float
    memory_bw_tbs: float
    tdp_w: float
    system_name: str
    gpus_per_system: int
    system_power_kw: float
    cooling: str
    price_usd_per_gpu: float | None
    rent_usd_per_gpu_hour: float | None
    source: str
    price_source: str | None

    @property
    def system_power_per_gpu_w(self) -> float:
        """Nameplate system power divided by GPUs: the GPU's share of its server/rack, W."""
        return self.system_power_kw * 1000.0 / self.gpus_per_system

    def precisions(self) -> list[str]:
        """Precisions with a dense tensor peak on this chip."""
        return [p for p in PRECISIONS if self.dense_tflops_or_none(p) is not None]

    def dense_tflops_or_none(self, precision: str) -> float | None:
        value = getattr(self, f"{precision}_dense_tflops", None)
        return None if value is None else float(value)

    def dense_tflops(self, precision: str) -> float:
        """Dense tensor peak per GPU at ``precision``, TFLOP/s.

        Raises
        ------
        InputError
            If the precision is unknown or the chip has no such tensor mode (FP8 on an A100).
        """
        if precision not in PRECISIONS:
            raise InputError("precision", precision, "one of: " + ", ".join(PRECISIONS))
        value = self.dense_tflops_or_none(precision)
        if value is None:
            raise InputError(
                "precision",
                precision,
                f"one of: {', '.join(self.precisions())}",
                detail=f"{self.id} has no {precision.upper()} tensor mode",
            )
        return value

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Catalog:
    """The accelerators of one catalog file, by id."""

    def __init__(self, accelerators: list[Accelerator], path: Path) -> None:
        self._by_id = {a.id: a for a in accelerators}
        self.path = path

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def __iter__(self):  # noqa: ANN204 - plain iterator over Accelerator
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, accelerator_id: object) -> bool:
        return accelerator_id in self._by_id

    def get(self, accelerator_id: str, *, field: str = "accelerator") -> Accelerator:
        """Return the chip with this id, or an :class:`InputError` listing the valid ids."""
        key = str(accelerator_id).strip().lower()
        if key not in self._by_id:
            raise InputError(field, accelerator_id, "one of: " + ", ".join(self.ids))
        return self._by_id[key]

    def frame(self) -> pd.DataFrame:
        """The catalog as a DataFrame indexed by id (plus ``system_power_per_gpu_w``)."""
        df = pd.DataFrame([a.to_dict() for a in self]).set_index("id")
        df["system_power_per_gpu_w"] = df["system_power_kw"] * 1000.0 / df["gpus_per_system"]
        return df


def _clean(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate an accelerator catalog CSV.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with the columns of ``data/accelerators.attributes.csv``. Defaults to the shipped
        ``data/accelerators.csv``.

    Raises
    ------
    CatalogError
        Naming the file, the 1-based line number and the column of the first bad value.
    """
    if path is None:
        resolved = data_dir() / "accelerators.csv"
    else:
        resolved = check_input_path(path, "catalog file", "--catalog")
    return _load_catalog_cached(
        resolved.resolve(), resolved.stat().st_mtime_ns if resolved.exists() else 0
    )


@lru_cache(maxsize=16)
def _load_catalog_cached(path: Path, _mtime_ns: int) -> Catalog:
    shown = show_path(path)
    text = read_text_file(path, "catalog file", "--catalog")
    expected = list(_AcceleratorRow.model_fields)
    if not text.strip():
        raise CatalogError(
            shown, None, None, "the file is empty: expected a header row of " + ", ".join(expected)
        )
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CatalogError(shown, None, None, f"not a readable CSV ({problem})") from None
    missing = [c for c in expected if c not in raw.columns]
    if missing:
        raise CatalogError(shown, 1, missing[0], "required column is missing")
    unknown = [c for c in raw.columns if c not in expected]
    if unknown:
        raise CatalogError(shown, 1, unknown[0], "unknown column (no unit/description for it)")
    accelerators: list[Accelerator] = []
    seen: set[str] = set()
    for index, record in enumerate(raw.to_dict(orient="records")):
        line = index + 2  # header is line 1
        cleaned = {k: _clean(v) for k, v in record.items()}
        try:
            row = _AcceleratorRow.model_validate(cleaned)
        except ValidationError as exc:
            raise data_error(shown, exc, _AcceleratorRow, row=line, column_label="column") from None
        if row.id in seen:
            raise CatalogError(
                shown, line, "id", f"{row.id!r} is not allowed: ids must be unique (a duplicate)"
            )
        seen.add(row.id)
        accelerators.append(Accelerator(**row.model_dump()))
    if not accelerators:
        raise CatalogError(shown, None, None, "the catalog has no rows: expected one chip per row")
    return Catalog(accelerators, path)


def get_accelerator(accelerator_id: str, catalog: Catalog | None = None) -> Accelerator:
    """Shortcut: the chip ``accelerator_id`` from ``catalog`` (default: the shipped one)."""
    return (catalog or load_catalog()).get(accelerator_id)
