"""Out-of-sample coverage of an error interval: does a P10-P90 band built from the OTHER
cases' errors contain the case left out?

Every validated model of the planner reports, per published case, a signed error
``predicted / published - 1`` that the case's own published figure did not shape (a
leave-one-out refit for the run and serving models; no fit at all for the run costs). The
interval a user is shown is the central ``level`` band of those errors (P10-P90 for
``level`` = 0.8). Whether that band is honest is measured the split-conformal way
(the jackknife of Barber et al. 2021, "Predictive inference with the jackknife+",
Annals of Statistics 49(1)): for each case, the band is rebuilt from every OTHER case's error
and the case counts as covered when its own error lies inside. The share covered should be
close to ``level``: below it the band is too narrow, well above it too wide.

:func:`interval_coverage` is the one implementation; ``planner validate`` reports it for the
run model (:func:`planner.utilisation.validate_runs`), the serving model's measured fit
(:func:`planner.serving.measured.fit_report`, leave-one-out) and the published run costs
(:func:`planner.amortization.validate_run_costs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.errors import InputError
from planner.validation import check_open_fraction

#: The interval the planner shows by default: P10-P90.
INTERVAL_LEVEL = 0.80
#: A P10-P90 band is calibrated when it covers this share of the cases left out (too wide
#: fails too).
TARGET_COVERAGE = (0.75, 0.85)


#: Half-width of the calibrated range for a level other than the default, fraction.
TARGET_COVERAGE_HALF_WIDTH = 0.05


def target_coverage(level: Any = INTERVAL_LEVEL) -> tuple[float, float]:
    """Coverage that counts as calibrated for a ``level`` interval: :data:`TARGET_COVERAGE`
    for P10-P90, else ``level`` +- :data:`TARGET_COVERAGE_HALF_WIDTH`."""
    value = float(level)
    if abs(value - INTERVAL_LEVEL) < 1e-12:
        return TARGET_COVERAGE
    return (
        max(0.0, value - TARGET_COVERAGE_HALF_WIDTH),
        min(1.0, value + TARGET_COVERAGE_HALF_WIDTH),
    )


def interval_quantiles(level: Any = INTERVAL_LEVEL) -> tuple[float, float]:
    """Lower and upper quantile of the central ``level`` interval, e.g. (0.1, 0.9) for 0.8.

    Raises
    ------
    InputError
        ``interval_level`` outside (0, 1), naming the value as given.
    """
    check_open_fraction("interval_level", level)
    value = float(level)
    return (1.0 - value) / 2.0, (1.0 + value) / 2.0


@dataclass(frozen=True)
class Coverage:
    """Out-of-sample coverage of the ``level`` interval of signed errors.

    Attributes
    ----------
    level : float
        Nominal share of the interval (0.8 = P10-P90).
    n : int
        Cases.
    covered : int
        Cases whose error lay inside the band built from the other cases' errors.
    share : float
        ``covered / n``.
    band : tuple of float
        The band from all cases' errors (what a user is shown), signed fractions.
    within_target : bool
        ``share`` within :func:`target_coverage` of the level (75-85% for P10-P90).
    inside : ndarray of bool
        Per case, in input order.
    lower, upper : ndarray
        Per case, the band built without it.
    """

    level: float
    n: int
    covered: int
    share: float
    band: tuple[float, float]
    within_target: bool
    inside: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-case arrays)."""
        return {
            "interval_level": self.level,
            "n": self.n,
            "covered": self.covered,
            "coverage": self.share,
            "band_low": self.band[0],
            "band_high": self.band[1],
            "target_coverage_low": target_coverage(self.level)[0],
            "target_coverage_high": target_coverage(self.level)[1],
            "within_target": self.within_target,
        }


def interval_coverage(errors: Any, level: Any = INTERVAL_LEVEL) -> Coverage:
    """Coverage of the central ``level`` band of ``errors`` on the case left out.

    ``errors`` are signed (``predicted / published - 1``), one per case, each already out
    of sample for its case. Case ``i``'s band is the ``interval_quantiles(level)`` of the
    other ``n - 1`` errors (linear interpolation, ``numpy.quantile``).
    """
    lo_q, hi_q = interval_quantiles(level)
    e = np.asarray(errors, dtype=float).ravel()
    e = e[np.isfinite(e)]
    if e.size < 3:
        raise InputError("errors", int(e.size), "at least 3 finite errors")
    n = e.size
    lower = np.empty(n)
    upper = np.empty(n)
    for i in range(n):
        others = np.delete(e, i)
        lower[i], upper[i] = np.quantile(others, (lo_q, hi_q))
    inside = (e >= lower) & (e <= upper)
    covered = int(inside.sum())
    share = covered / n
    return Coverage(
        level=float(level),
        n=n,
        covered=covered,
        share=share,
        band=(float(np.quantile(e, lo_q)), float(np.quantile(e, hi_q))),
        within_target=bool(target_coverage(level)[0] <= share <= target_coverage(level)[1]),
        inside=inside,
        lower=lower,
        upper=upper,
    )


def serving_coverage(level: Any = INTERVAL_LEVEL) -> Coverage:
    """Coverage of the serving model's measured fit: the leave-one-out error of every measured
    configuration (:func:`planner.serving.measured.fit_report`, ``ratio_loo - 1``)."""
    interval_quantiles(level)
    from planner.serving.measured import fit_report

    return interval_coverage(fit_report()["ratio_loo"].to_numpy(dtype=float) - 1.0, level)


def run_cost_coverage(level: Any = INTERVAL_LEVEL) -> dict[str, Coverage]:
    """Coverage of the published run costs (:func:`planner.amortization.validate_run_costs`):
    ``{"amortized": ..., "rental": ...}``. Nothing is fitted to the published costs, so every
    error is already out of sample."""
    interval_quantiles(level)
    from planner.amortization import validate_run_costs

    t = validate_run_costs()
    return {
        "amortized": interval_coverage(t["amortized_error"].to_numpy(dtype=float), level),
        "rental": interval_coverage(t["rental_error"].to_numpy(dtype=float), level),
    }


#: What each coverage is measured on, and whether its predictions are predicted or calibrated
#: (every one is predicted: a case's own published figure never enters its prediction).
BASIS = {
    "runs": (
        "predicted",
        "training runs (data/training_runs.csv): leave-one-out errors of the run model",
    ),
    "serving": (
        "predicted",
        "serving measured fit (data/serving_measurements.csv): leave-one-out errors",
    ),
    "run_costs_amortized": (
        "predicted",
        "published amortised run costs (data/published_run_costs.csv): nothing fitted to them",
    ),
    "run_costs_rental": (
        "predicted",
        "published cloud-rent run costs (data/published_run_costs.csv): nothing fitted to them",
    ),
}


def validation_coverage(
    level: Any = INTERVAL_LEVEL, runs: Coverage | None = None
) -> dict[str, dict[str, Any]]:
    """Out-of-sample coverage of the ``level`` interval for every validated model:
    ``{"runs", "serving", "run_costs_amortized", "run_costs_rental"}``, each
    :meth:`Coverage.to_dict` plus ``label`` (predicted or calibrated) and ``basis``.

    ``runs`` may pass the run model's coverage already computed
    (:func:`planner.utilisation.validate_runs`); otherwise it is computed here.
    """
    interval_quantiles(level)
    if runs is None:
        from planner.utilisation import validate_runs

        runs_errors = validate_runs().runs["error_loo"].to_numpy(dtype=float)
        runs = interval_coverage(runs_errors, level)
    costs = run_cost_coverage(level)
    found = {
        "runs": runs,
        "serving": serving_coverage(level),
        "run_costs_amortized": costs["amortized"],
        "run_costs_rental": costs["rental"],
    }
    return {
        name: {**cov.to_dict(), "label": BASIS[name][0], "basis": BASIS[name][1]}
        for name, cov in found.items()
    }
