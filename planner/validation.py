"""Named ``check_*`` functions run before any model is evaluated (PyPSA style).

Each accepts a scalar or a numpy array / pandas Series and raises
:class:`planner.errors.InputError` naming the field, the first offending value and the allowed
range. NaN is always rejected: a silently wrong number is worse than an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from planner.errors import InputError


def first_bad(values: Any, bad_mask: np.ndarray) -> tuple[Any, str]:
    """The first offending value and where it is (``"element 3"``, ``"2 of 5 values"``;
    ``""`` for a scalar)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return float(arr), ""
    n_bad = int(bad_mask.sum())
    first = float(arr[bad_mask][0])
    return (
        first,
        f"{n_bad} of {arr.size} values" if n_bad > 1 else f"element {int(np.argmax(bad_mask))}",
    )


def _as_float_array(field: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except OverflowError:  # a Python int beyond float range (10**400)
        raise InputError(field, _short(values), "a finite number") from None
    except (TypeError, ValueError):
        raise InputError(field, _short(values), "a number") from None
    return arr


def _short(value: Any) -> Any:
    """A value for a message: an int of 400 digits as ``1e+399``-like text, else itself."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        digits = len(str(abs(value)))
        return f"{'-' if value < 0 else ''}{str(abs(value))[0]}e+{digits - 1} ({digits} digits)"
    return value


def check_positive(field: str, values: Any) -> None:
    """Values must be finite and > 0 (sizes, FLOPs, days, GPU counts, powers)."""
    arr = _as_float_array(field, values)
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        value, detail = first_bad(arr, bad)
        raise InputError(field, value, "a finite number > 0", detail=detail)


def check_non_negative(field: str, values: Any) -> None:
    """Values must be finite and >= 0 (prices, overhead fractions, carbon intensity)."""
    arr = _as_float_array(field, values)
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        value, detail = first_bad(arr, bad)
        raise InputError(field, value, "a finite number >= 0", detail=detail)


def check_fraction(field: str, values: Any, floor: float = 0.0) -> None:
    """Values must lie in (0, 1] (MFU, goodput, load factors), and be >= ``floor`` if given."""
    arr = _as_float_array(field, values)
    bad = ~(np.isfinite(arr) & (arr > 0) & (arr >= floor) & (arr <= 1))
    if bad.any():
        value, detail = first_bad(arr, bad)
        allowed = "a fraction in (0, 1]" + (f", at least {floor:g}" if floor > 0 else "")
        raise InputError(field, value, allowed, detail=detail)


def check_open_fraction(field: str, values: Any) -> None:
    """Values must lie strictly inside (0, 1) (interval levels: 0 and 1 are no interval and
    an infinite one)."""
    arr = _as_float_array(field, values)
    bad = ~(np.isfinite(arr) & (arr > 0) & (arr < 1))
    if bad.any():
        allowed = "a number in (0, 1), e.g. 0.8 for P10-P90"
        if arr.ndim == 0:  # the value as given, not as parsed
            raise InputError(field, _short(values), allowed)
        value, detail = first_bad(arr, bad)
        raise InputError(field, value, allowed, detail=detail)


def check_range(field: str, values: Any, low: float, high: float) -> None:
    """Values must lie in the closed interval [low, high] (e.g. PUE in [1, 3])."""
    arr = _as_float_array(field, values)
    bad = ~(np.isfinite(arr) & (arr >= low) & (arr <= high))
    if bad.any():
        value, detail = first_bad(arr, bad)
        raise InputError(field, value, f"a number in [{low:g}, {high:g}]", detail=detail)


def check_choice(field: str, value: str, choices: Iterable[str]) -> None:
    """``value`` must be one of ``choices`` (ids, precisions, objectives)."""
    options = list(choices)
    if value not in options:
        raise InputError(field, value, "one of: " + ", ".join(options))


def check_whole(field: str, values: Any) -> None:
    """Values must be whole numbers >= 1 (GPU counts, systems)."""
    check_positive(field, values)
    arr = _as_float_array(field, values)
    bad = arr != np.floor(arr)
    if bad.any():
        value, detail = first_bad(arr, bad)
        raise InputError(field, value, "a whole number >= 1", detail=detail)


#: Largest Monte Carlo seed accepted: numpy's ``SeedSequence`` takes non-negative integers
#: and uses 128 bits of entropy; a negative seed raised ``ValueError`` inside numpy.
MAX_SEED = 2**128 - 1


def check_seed(field: str, seed: Any) -> None:
    """``seed`` must be None or a whole number in ``0..MAX_SEED`` (random-number seeds)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(field, _short(seed), "a whole number in 0..2**128-1")
    if not 0 <= int(seed) <= MAX_SEED:
        raise InputError(field, _short(int(seed)), "a whole number in 0..2**128-1")
