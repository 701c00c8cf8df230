"""Seeded draws and grids: the table of scenarios a sweep runs (one row each).

Every random input has its own stream, ``numpy.random.default_rng([seed, crc32(name)])``, and
every draw is an inverse CDF of one uniform number, so

- the same seed gives the same draws, on any machine and in any process;
- the first k draws of ``samples = n`` are the draws of ``samples = k`` (a sweep can grow);
- adding or removing another input does not change this one's draws.

Grid inputs are crossed (the first input varies slowest) and every grid point gets the same
draws (common random numbers: differences between grid points are not sampling noise).

``scenario_id`` is a stable 64-bit hash (:func:`pandas.util.hash_pandas_object`, keyed by the
sweep's fingerprint) of each row's input values and draw number: a rerun skips the ids already
in the Parquet files.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import pandas as pd

from planner.sweeps.spec import Distribution, SweepSpec

# Acklam's rational approximation of the standard normal inverse CDF (relative error
# < 1.15e-9 over (0, 1)): P. J. Acklam, "An algorithm for computing the inverse normal
# cumulative distribution function" (2003), as in many statistics libraries.
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


def norm_ppf(u: Any) -> np.ndarray:
    """Standard normal quantile of ``u`` in (0, 1), vectorised."""
    u = np.asarray(u, dtype=float)
    z = np.empty_like(u)
    low = u < _P_LOW
    high = u > 1 - _P_LOW
    mid = ~(low | high)
    q = np.sqrt(-2 * np.log(u[low]))
    z[low] = _tail(q)
    q = np.sqrt(-2 * np.log1p(-u[high]))
    z[high] = -_tail(q)
    q = u[mid] - 0.5
    r = q * q
    num = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
    den = ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1
    z[mid] = num / den
    return z


def _tail(q: np.ndarray) -> np.ndarray:
    num = ((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]
    den = (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1
    return num / den


def norm_cdf(x: float) -> float:
    """Standard normal CDF of a scalar (``math.erf``)."""
    if x == math.inf:
        return 1.0
    if x == -math.inf:
        return 0.0
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def uniforms(seed: int, name: str, n: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) of input ``name``'s own stream."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    u = rng.random(n)
    # random() is in [0, 1): nudge an exact 0 inside so every inverse CDF stays finite
    return np.where(u == 0.0, np.nextafter(0.0, 1.0), u)


def ppf(d: Distribution, u: np.ndarray) -> np.ndarray:
    """The distribution's quantiles at ``u`` (inverse CDF), vectorised."""
    p = d.params
    if d.dist == "uniform":
        return p["min"] + u * (p["max"] - p["min"])
    if d.dist == "triangular":
        a, c, b = float(p["min"]), float(p["mode"]), float(p["max"])
        if b == a:
            return np.full_like(u, a)
        fc = (c - a) / (b - a)
        left = a + np.sqrt(u * (b - a) * (c - a))
        right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
        return np.where(u < fc, left, right)
    if d.dist in ("normal", "lognormal"):
        if d.dist == "normal":
            loc, scale = float(p["mean"]), float(p["sd"])
            lo, hi = p.get("min", -math.inf), p.get("max", math.inf)
        else:
            loc, scale = math.log(p["median"]), float(p["sigma"])
            lo = math.log(p["min"]) if p.get("min", 0.0) > 0 else -math.inf
            hi = math.log(p["max"]) if "max" in p else math.inf
        f_lo, f_hi = norm_cdf((lo - loc) / scale), norm_cdf((hi - loc) / scale)
        z = norm_ppf(np.clip(f_lo + u * (f_hi - f_lo), 1e-300, 1 - 1e-16))
        x = np.clip(loc + scale * z, lo, hi)  # the approximation's last bits stay inside
        return np.exp(x) if d.dist == "lognormal" else x
    if d.dist == "choice":
        values = p["values"]
        w = np.asarray(p.get("weights", [1.0] * len(values)), dtype=float)
        cdf = np.cumsum(w) / w.sum()
        idx = np.minimum(np.searchsorted(cdf, u, side="right"), len(values) - 1)
        return np.asarray(values, dtype=object if d.is_string else float)[idx]
    raise ValueError(d.dist)  # pragma: no cover - validated by the spec


def scenarios(spec: SweepSpec, *, hash_ids: bool = True) -> pd.DataFrame:
    """One row per scenario: ``draw`` (the draw number), every input, and ``scenario_id``.

    The index is the scenario number (0..size-1), stable for a given sweep.
    """
    grids = spec.grid_inputs
    draws = spec.draws
    points = math.prod(len(g.params["grid"]) for g in grids)
    n = points * draws
    columns: dict[str, Any] = {}
    # grid: the first input varies slowest; each grid point repeats over the draws
    repeat = n
    for g in grids:
        values = np.asarray(g.params["grid"], dtype=object if g.is_string else float)
        repeat //= len(values)
        columns[g.name] = np.tile(np.repeat(values, repeat), n // (repeat * len(values)))
    draw = np.tile(np.arange(draws, dtype=np.int64), points)
    for d in spec.random_inputs:
        columns[d.name] = np.tile(ppf(d, uniforms(spec.seed, d.name, draws)), points)
    frame = pd.DataFrame({"draw": draw, **{name: columns[name] for name in spec.input_names}})
    if hash_ids:
        frame.insert(0, "scenario_id", scenario_ids(spec, frame))
    return frame


def scenario_ids(spec: SweepSpec, frame: pd.DataFrame) -> np.ndarray:
    """Stable uint64 ids of the rows (inputs and draw number, keyed by the sweep)."""
    key = spec.fingerprint()[:16]
    cols = frame[["draw", *spec.input_names]]
    return pd.util.hash_pandas_object(cols, index=False, hash_key=key).to_numpy(dtype=np.uint64)
