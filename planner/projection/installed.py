"""Installed base: survival of shipped units, compounding and anchor interpolation."""

from __future__ import annotations

from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# Vectorised building blocks (plain functions on arrays)
# --------------------------------------------------------------------------------------------


def survival_weights(
    lifetime_years: Any, n_ages: int, first_year_fraction: Any = 1.0
) -> np.ndarray:
    """Fraction of each year a unit is in service, at age 0..n_ages-1 (years since shipment).

    A unit shipped in year t enters service at ``1 - f`` into that year (f =
    ``first_year_fraction``: 1, the default convention, units shipped in year t run all of
    year t; 0.5, installed evenly through the year) and retires ``L`` = ``lifetime_years``
    later. Its weight at age a is the overlap of [1 - f, 1 - f + L] with [a, a + 1]:
    for an integer L, f at age 0, 1 in between and 1 - f at age L; f = 1 gives
    ``clip(L - age, 0, 1)`` (exactly the last L cohorts). The weights sum to L for every f
    (L unit-years per unit in service), and never fall when L grows.

    Returns
    -------
    ndarray, shape ``broadcast(lifetime, first_year_fraction).shape + (n_ages,)``
    """
    lifetime = np.asarray(lifetime_years, dtype=float)[..., None]
    start = 1.0 - np.asarray(first_year_fraction, dtype=float)[..., None]
    ages = np.arange(n_ages, dtype=float)
    overlap = np.minimum(ages + 1.0, start + lifetime) - np.maximum(ages, start)
    return np.clip(overlap, 0.0, 1.0)


def installed_base(
    shipments: Any, lifetime_years: Any, first_year_fraction: Any = 1.0
) -> np.ndarray:
    """Units in service by year: sum over ages of survival x shipments that many years earlier.

    Parameters
    ----------
    shipments : array (..., years)
        Units shipped per year, from the first model year (or any additive per-unit quantity:
        nameplate W, TFLOP/s).
    lifetime_years : float or array
        Service life, years; its shape broadcasts against ``shipments.shape[:-1]``
        (``(samples,)`` with shipments ``(samples, years)`` or ``(years,)``).
    first_year_fraction : float or array
        Fraction of the shipment year a new unit is in service (see :func:`survival_weights`).

    Returns
    -------
    ndarray, shape ``broadcast(shipments.shape, lifetime.shape + (years,))``
    """
    ship = np.asarray(shipments, dtype=float)
    life = np.asarray(lifetime_years, dtype=float)
    first = np.asarray(first_year_fraction, dtype=float)
    n_years = ship.shape[-1]
    w = survival_weights(life, n_years, first)
    out = np.zeros(np.broadcast_shapes(ship.shape, w.shape))
    last_age = float(np.max(1.0 - first + life)) if w.size else 0.0  # retirement, years
    for age in range(n_years):
        if age >= last_age:
            break
        wa = w[..., age, None]
        if np.any(wa):
            out[..., age:] += wa * ship[..., : n_years - age]
    return out


def compound(base: Any, growth_pct_per_year: Any, years_since: Any) -> np.ndarray:
    """``base x (1 + g/100)^(years_since)``; the growth must exceed -100 %/yr."""
    return np.asarray(base, dtype=float) * (1.0 + np.asarray(growth_pct_per_year) / 100.0) ** (
        np.asarray(years_since, dtype=float)
    )


def interpolate_anchors(years: Any, anchor_years: Any, anchor_values: Any) -> np.ndarray:
    """Linear in between anchors, flat outside. ``anchor_values``: (..., anchors)."""
    yrs = np.asarray(years, dtype=float)
    ay = np.asarray(anchor_years, dtype=float)
    av = np.asarray(anchor_values, dtype=float)
    if ay.size == 1:
        return np.broadcast_to(av[..., :1], av.shape[:-1] + yrs.shape).copy()
    idx = np.clip(np.searchsorted(ay, yrs, side="right") - 1, 0, ay.size - 2)
    t = np.clip((yrs - ay[idx]) / (ay[idx + 1] - ay[idx]), 0.0, 1.0)
    return av[..., idx] * (1.0 - t) + av[..., idx + 1] * t
