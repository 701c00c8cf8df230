"""Solve one formulation of the cluster model through the solver layer and read its point."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.optimization.cluster.formulation import (
    Outcome,
    _Formulation,
    _model_arrays,
    _objective_coefficients,
)
from planner.optimization.cluster.model import ClusterModel
from planner.optimization.solve import solve_lp, solve_lp_by_blocks


def _run(form: _Formulation, solver: str, time_limit_s: float | None) -> Outcome:
    """Solve ``form`` (:func:`~planner.optimization.solve.solve_lp`: the point is checked
    against every unscaled row, re-solved once with tight tolerances if it breaks one) and
    read the point back into an :class:`Outcome`."""
    if form.infeasible_bounds:
        return Outcome("infeasible", {}, {}, None, {}, {}, 0.0)
    if form.by_blocks:
        res = solve_lp_by_blocks(
            form.lp,
            form.coupling(),
            solver,
            time_limit_s=time_limit_s,
            mip_rel_gap=form.rel_gap,
            start=form.start,
            zero_in_blocks=form.block_zero,
        )
    else:
        res = solve_lp(
            form.lp, solver, time_limit_s=time_limit_s, mip_rel_gap=form.rel_gap, start=form.start
        )
    if res.x is None:
        return Outcome(res.status, {}, {}, None, {}, {}, res.solve_s, res.detail)
    out = _read_point(form, res.status, res.x, res.solve_s)
    out.mip_gap = res.mip_gap
    return out


def _read_point(form: _Formulation, status: str, x: np.ndarray, elapsed: float) -> Outcome:
    n = np.rint(x[form.n]).astype(int)
    if form.f is not None:
        f = np.clip(x[form.f], 0.0, 1.0)
    else:
        assert form.g is not None and form.t is not None
        t = x[form.t]
        if t <= 0:
            return Outcome("no_solution", {}, {}, None, {}, {}, elapsed, "zero speed")
        f = np.clip(x[form.g] / t, 0.0, 1.0)
        if form.service is not None and form.service.any():
            f[form.service] = np.clip(x[form.g][form.service], 0.0, 1.0)
    if form.f is None or not form.lp.integer[int(form.f[0])]:
        # shares: each run's sum is 1 up to the solver's tolerance; make it exactly 1 so
        # every FLOP is sized by the read-back (a 1e-6 shortfall would drop work)
        per_run = pd.Series(f, index=pd.MultiIndex.from_tuples(form.keys)).groupby(level=0)
        total = per_run.transform("sum").to_numpy()
        f = np.where(total > 0, f / np.where(total > 0, total, 1.0), f)
    z = None if form.t is None else float(x[form.t]) * form.speed_unit
    return Outcome(
        status,
        n=dict(zip(form.keys, n.tolist(), strict=True)),
        f=dict(zip(form.keys, f.tolist(), strict=True)),
        z=z,
        totals={},
        elastic={name: float(x[j]) for name, j in form.elastic.items()},
        solve_s=elapsed,
    )


def _model_totals(m: ClusterModel, out: Outcome) -> dict[str, float]:
    """Objective totals of a point in model units (cost in USD millions)."""
    if not out.n:
        return {}
    col = _model_arrays(m)
    coefs = _objective_coefficients(m, col)
    n = np.asarray([out.n[k] for k in m.options.index], dtype=float)
    f = np.asarray([out.f[k] for k in m.options.index], dtype=float)
    return {name: float(math.fsum(cn * n + cf * f)) for name, (cn, cf) in coefs.items()}
