"""Scalar-or-array helpers: the core is vectorised, scalars come back as plain floats."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def out(value: Any) -> Any:
    """Return a Python float for 0-d input, else a float ndarray."""
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def ceil_whole(value: Any) -> Any:
    """Round up to whole units, tolerant of float noise (7.0000000001 -> 7)."""
    return np.ceil(np.asarray(value, dtype=float) * (1 - 1e-12) - 1e-9)


def to_python(value: Any) -> Any:
    """numpy scalars/arrays -> Python floats/lists (JSON-ready); NaN -> None."""
    if isinstance(value, np.ndarray):
        return [to_python(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def jsonable(value: Any) -> Any:
    """``to_python`` through dicts, with every non-finite float (NaN, inf) as None: what a
    result's ``to_dict`` hands to ``json.dumps(allow_nan=False)``."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    value = to_python(value)
    if isinstance(value, list):
        return [None if isinstance(v, float) and not math.isfinite(v) else v for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
