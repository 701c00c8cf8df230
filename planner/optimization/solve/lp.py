"""The array linear programme every solver in :mod:`planner.optimization.solve` takes.

:class:`LinearProgram` is a mixed-integer programme as plain arrays (columns with bounds and
integrality, rows as ``{column: coefficient}`` with lower and upper bounds, a minimised
objective), in model units. :meth:`LinearProgram.scaled` cleans tiny terms and scales each row
by a power of two before a solver sees it; :meth:`LinearProgram.violation` checks a returned
point against the UNSCALED rows. Nothing here knows what the columns mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CoefficientRange:
    """Smallest and largest ``|a_ij|`` over the nonzeros of a formulated model.

    ``matrix_*`` over the constraint matrix, ``objective_*`` over the objective, ``rhs_*``
    over the finite nonzero row bounds: as handed to the solver (after scaling) unless
    :func:`coefficient_range` was asked for ``scaled=False``. ``rows`` and ``columns`` give the
    size. NaN when a part has no nonzero.
    """

    matrix_min: float
    matrix_max: float
    objective_min: float
    objective_max: float
    rhs_min: float
    rhs_max: float
    rows: int
    columns: int

    @property
    def matrix_ratio(self) -> float:
        return self.matrix_max / self.matrix_min


def _abs_range(values: np.ndarray) -> tuple[float, float]:
    a = np.abs(np.asarray(values, dtype=float))
    a = a[(a > 0) & np.isfinite(a)]
    return (float(a.min()), float(a.max())) if a.size else (math.nan, math.nan)


@dataclass
class LinearProgram:
    """min c x, rows lo <= A x <= hi, bounds, integrality (model units, unscaled)."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_names: list[str] = field(default_factory=list)
    row_coeffs: list[dict[int, float]] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    _scaled: tuple[Any, ...] | None = None

    def var(self, low: float, up: float, integer: bool = False) -> int:
        self.lower.append(float(low))
        self.upper.append(float(up))
        self.integer.append(bool(integer))
        return len(self.lower) - 1

    def row(self, name: str, coeffs: dict[int, float], low: float, up: float) -> None:
        coeffs = {j: float(a) for j, a in coeffs.items() if a != 0.0}
        if coeffs:
            self.row_names.append(name)
            self.row_coeffs.append(coeffs)
            self.row_lower.append(float(low))
            self.row_upper.append(float(up))

    @property
    def num_col(self) -> int:
        return len(self.lower)

    def with_objective(self, objective: dict[int, float]) -> LinearProgram:
        """The same columns and rows (shared, not copied: neither is changed after a solve
        has seen them) with another objective ``{column: coefficient}``."""
        return LinearProgram(
            self.lower,
            self.upper,
            self.integer,
            self.row_names,
            self.row_coeffs,
            self.row_lower,
            self.row_upper,
            objective,
        )

    def _magnitudes(self) -> np.ndarray:
        """Largest |value| each column can take (inf when unbounded)."""
        return np.maximum(np.abs(np.asarray(self.lower)), np.abs(np.asarray(self.upper)))

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The rows as flat arrays: each term's row, column and coefficient, and each row's
        first term (CSR ``starts``, one more than rows). Every row has a term (:meth:`row`)."""
        sizes = np.fromiter(map(len, self.row_coeffs), dtype=np.int64, count=len(self.row_coeffs))
        total = int(sizes.sum())
        cols = np.fromiter(chain.from_iterable(self.row_coeffs), dtype=np.int64, count=total)
        vals = np.fromiter(
            chain.from_iterable(c.values() for c in self.row_coeffs), dtype=float, count=total
        )
        starts = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        return np.repeat(np.arange(len(sizes)), sizes), cols, vals, starts

    def scaled(self) -> tuple[Any, ...]:
        """Row-wise CSR arrays after cleaning and scaling, and the scaled objective.

        Cleaning: a term that can move its row by at most ``CLEAN_REL`` of the row's largest
        term (or bound) is dropped (e.g. a tiny run's USD 1e-6 of electricity in a USD 1e9
        budget). Scaling: each row is multiplied by the power of two nearest to
        ``1 / sqrt(max |a| min |a|)``, so its coefficients are centred on 1.

        Array operations over all terms at once (a 200-run model has 5,000 rows, formulated
        about 50 times a solve): a loop over rows cost more than HiGHS itself.
        """
        if self._scaled is not None:
            return self._scaled
        mag = self._magnitudes()
        n_rows = len(self.row_coeffs)
        row_of, cols, vals, _ = self._flat()
        lo, hi = np.asarray(self.row_lower, dtype=float), np.asarray(self.row_upper, dtype=float)
        reach = np.abs(vals) * mag[cols]
        finite = np.isfinite(reach)
        size = np.zeros(n_rows)
        np.maximum.at(size, row_of[finite], reach[finite])
        for b in (lo, hi):
            size = np.maximum(size, np.where(np.isfinite(b), np.abs(b), 0.0))
        keep = ~finite | (reach > CLEAN_REL * size[row_of])
        kept = np.bincount(row_of[keep], minlength=n_rows)
        keep |= (kept == 0)[row_of]  # every column of the row fixed at 0: keep it as written
        row_of, cols, vals = row_of[keep], cols[keep], vals[keep]
        absv = np.abs(vals)
        big, small = np.zeros(n_rows), np.full(n_rows, np.inf)
        np.maximum.at(big, row_of, absv)
        np.minimum.at(small, row_of, absv)
        # Python's round (half to even, like np.round) of the same float64 log2
        factor = np.exp2(-np.round(0.5 * np.log2(big * small)))
        starts = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=n_rows), out=starts[1:])
        cost = np.zeros(self.num_col)
        for j, c in self.objective.items():
            cost[j] = c
        reach = np.abs(cost) * np.where(np.isfinite(mag), mag, 1.0)
        if reach.size and reach.max() > 0:
            cost[reach <= CLEAN_REL * reach.max()] = 0.0
        self._scaled = (
            starts.astype(np.int32),
            cols.astype(np.int32),
            vals * factor[row_of],
            lo * factor,
            hi * factor,
            cost,
        )
        return self._scaled

    def coefficient_range(self, scaled: bool = True) -> CoefficientRange:
        if scaled:
            _, _, value, lower, upper, cost = self.scaled()
        else:
            value = np.array([a for c in self.row_coeffs for a in c.values()])
            lower, upper = np.asarray(self.row_lower), np.asarray(self.row_upper)
            cost = np.fromiter(self.objective.values(), dtype=float)
        a_lo, a_hi = _abs_range(value)
        c_lo, c_hi = _abs_range(cost)
        b_lo, b_hi = _abs_range(np.concatenate([lower, upper]))
        return CoefficientRange(
            a_lo, a_hi, c_lo, c_hi, b_lo, b_hi, len(self.row_names), self.num_col
        )

    def violation(self, x: np.ndarray) -> str | None:
        """The first bound or row the point ``x`` breaks (unscaled rows), or None.

        Tolerance: ``CHECK_REL`` of the row's size, max(sum |a_ij x_j|, |bound|, min |a_ij|):
        relative to the row, so MW, USD millions and GPUs rows are checked alike. (A row's
        activity is summed in float64: its rounding, about 1e-16 of sum |a_ij x_j| per term,
        is far inside that tolerance.)
        """
        x = np.asarray(x, dtype=float)
        low, up = np.asarray(self.lower), np.asarray(self.upper)
        tol = CHECK_REL * np.maximum(1.0, np.abs(np.where(np.isfinite(low), low, 0.0)))
        if (x < low - tol).any() or (x > up + CHECK_REL * np.maximum(1.0, np.abs(x))).any():
            j = int(np.argmax((x < low - tol) | (x > up + CHECK_REL * np.maximum(1.0, np.abs(x)))))
            return f"column {j} = {x[j]:g} outside [{low[j]:g}, {up[j]:g}]"
        if not self.row_coeffs:
            return None
        n_rows = len(self.row_coeffs)
        row_of, cols, vals, _ = self._flat()
        terms = vals * x[cols]
        act = np.bincount(row_of, weights=terms, minlength=n_rows)
        size = np.bincount(row_of, weights=np.abs(terms), minlength=n_rows)
        small = np.full(n_rows, np.inf)
        np.minimum.at(small, row_of, np.abs(vals))
        lo, hi = np.asarray(self.row_lower, dtype=float), np.asarray(self.row_upper, dtype=float)
        size = np.maximum(size, small)
        for b in (lo, hi):
            size = np.maximum(size, np.where(np.isfinite(b), np.abs(b), 0.0))
        bad = (act < lo - CHECK_REL * size) | (act > hi + CHECK_REL * size)
        if not bad.any():
            return None
        i = int(np.argmax(bad))
        return f"row {self.row_names[i]}: {act[i]:.9g} not in [{lo[i]:.9g}, {hi[i]:.9g}]"


#: Terms moving their row by less than this fraction of the row's size are dropped.
CLEAN_REL = 1e-11
#: A returned point must meet every row within this fraction of the row's size.
CHECK_REL = 1e-6
#: Integer columns must be within this of a whole number.
INTEGRALITY_TOL = 1e-5
