"""Formulate: the MILP as arrays (:class:`LinearProgram`), scaled so its coefficients stay O(1)
(:func:`coefficient_range`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.optimization.cluster.model import ClusterModel
from planner.optimization.constants import (
    DROPPED,
    LEX_TOL,
    LOOSEN_FRACTION,
    MIP_REL_GAP,
    MIXED_MIP_REL_GAP,
    USD_PER_MUSD,
)
from planner.optimization.solve import CoefficientRange, LinearProgram

# The MILP is built as plain arrays (:class:`LinearProgram`: columns with bounds and
# integrality, rows as {column: coefficient} with lower/upper bounds, a minimised objective),
# scaled, handed to HiGHS directly (``highspy``) or to CBC through PuLP, and the returned point
# is checked against the UNSCALED rows before anything reads it.


@dataclass
class _Formulation:
    """The linear programme of one goal and where its decision variables are."""

    lp: LinearProgram
    goal: str
    keys: list[tuple[str, str]]
    n: np.ndarray  # column of n[r,c] per key
    f: np.ndarray | None  # column of f[r,c] (None in the mixed-chip speed form)
    g: np.ndarray | None  # column of g[r,c] = f[r,c] t (mixed-chip speed form)
    t: int | None  # column of the normalised speed t = z / speed_unit
    speed_unit: float  # z per unit of t
    elastic: dict[str, int]
    objective_unit: float  # model units per unit of the scaled objective
    infeasible_bounds: bool = False
    racks: dict[int, int] = field(default_factory=dict)  # key position -> rack column
    start: np.ndarray | None = None  # a known feasible point (warm start), if any
    service: np.ndarray | None = None  # per key: an inference service (its g is its share)
    y: dict[int, int] = field(default_factory=dict)  # key position -> "pool used" column (mixed)
    rel_gap: float = MIP_REL_GAP  # relative MIP gap asked of the solver

    def start_from(self, out: Outcome, m: ClusterModel) -> None:
        """Warm start from an earlier plan's systems and shares (if it fits this form)."""
        if not out.n or self.f is None:
            return
        x = np.asarray(self.lp.lower, dtype=float).copy()
        x[self.n] = [out.n[k] for k in self.keys]
        x[self.f] = [out.f[k] for k in self.keys]
        spr = m.options["systems_per_rack"].to_numpy(dtype=float)
        for i, j in self.racks.items():
            x[j] = math.ceil(x[self.n[i]] / spr[i])
        for i, j in self.y.items():
            x[j] = 1.0 if x[self.f[i]] > 0 or x[self.n[i]] > 0 else 0.0
        if not self.lp.violation(np.clip(x, self.lp.lower, self.lp.upper)):
            self.start = x

    @property
    def problem(self) -> LinearProgram:  # kept for old callers (benchmarks)
        return self.lp


def _model_arrays(m: ClusterModel) -> dict[str, np.ndarray]:
    opt = m.options
    return {c: opt[c].to_numpy() for c in opt.columns}


def _objective_coefficients(
    m: ClusterModel, col: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per goal: (coefficient of n, coefficient of f) per key, in model units (cost: USD M)."""
    zero = np.zeros(len(m.options))

    def per_system(name: str) -> np.ndarray:  # a service's running part (0 for a run)
        return col[name].astype(float) if name in col else zero

    return {
        "power": (col["facility_power_mw_per_system"].astype(float), zero),
        "cost": (
            (col["capex_usd_per_system"].astype(float) + per_system("cost_usd_per_system"))
            / USD_PER_MUSD,
            col["run_cost_usd"].astype(float) / USD_PER_MUSD,
        ),
        "energy": (per_system("energy_mwh_per_system"), col["energy_mwh"].astype(float)),
        "emissions": (
            per_system("emissions_tco2_per_system"),
            col["emissions_tco2"].astype(float),
        ),
        "gpus": (col["gpus_per_system"].astype(float), zero),
    }


def _reference_scale(
    m: ClusterModel, goal: str, col: dict[str, np.ndarray], coef: tuple[np.ndarray, np.ndarray]
) -> float:
    """The data's own scale of an objective: each run on its cheapest (least-power, ...) chip
    at its deadline, summed. Dividing by it puts the objective near 1..#runs."""
    per_key = coef[0] * _whole_array(col["systems_needed"]) + coef[1]
    per_run = pd.Series(per_key, index=m.options.index).groupby(level="run").min()
    ref = float(per_run.sum())
    return ref if math.isfinite(ref) and ref > 0 else 1.0


def _whole_array(needed: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """:func:`_whole_systems` for an array."""
    return np.maximum(1.0, np.ceil(np.asarray(needed, dtype=float) / scale * (1 - 1e-12)))


def _formulate(
    m: ClusterModel,
    goal: str,
    *,
    elastic: str | None = None,
    bounds: tuple[tuple[str, float], ...] = (),
    deadline_scale: float | np.ndarray = 1.0,
    loosen: frozenset[str] = frozenset(),
    linearise_at: float | None = None,
    speed_floor: float | None = None,
    maximise: bool = True,
    speed_need: np.ndarray | None = None,
) -> _Formulation:
    """The scaled linear programme for ``goal``.

    ``goal`` is an objective name; ``"time"`` (maximise the speed-up z of the slowest run,
    z >= 1: deadlines met); ``"speedup"`` (the same without z >= 1); ``"feasibility"``; or
    ``"elastic"`` (minimise the violation of the limit named ``elastic``: ``grid``,
    ``budget``, ``supply`` or ``racks``). ``bounds`` holds earlier lexicographic optima (model
    units); ``deadline_scale`` multiplies every deadline; ``loosen`` raises limits (``grid``,
    ``budget``, ``supply:<chip>``, ``racks``) by ``LOOSEN_FRACTION`` to test whether they bind.

    Speed (``time``/``speedup``) is measured in units of ``speed_unit`` = the fastest any
    plan could be (every run on all its systems up to the limits), so ``t = z / speed_unit``
    lies in (0, 1] and the rows' coefficients are at most 1. With mixed chips the speed
    multiplies the shares; the form then uses ``g[r,c] = f[r,c] t`` (linear); only the
    budget's run-cost term ``f = g / t`` is not, and is taken at ``t = linearise_at``
    (exact for plans at least that fast: conservative) or, with ``linearise_at=None``, at
    ``t = 1`` (a relaxation: an upper bound of the speed). ``speed_floor`` keeps only plans
    with a speed-up of at least that; ``maximise=False`` only asks for a plan.

    ``deadline_scale`` is one factor for every deadline or one per row of ``options`` (the
    ``time`` objective's trial latest finish ``M`` gives run ``r`` the deadline
    ``min(T_r, M)``). ``speed_need`` replaces the systems-at-deadline ``N`` in the speed rows
    (the latest-finish bound measures every run against one reference time).

    Every count is at most the row's ``ceiling_systems`` (the run's largest useful
    parallelism, and the core's largest GPU count), whatever the limits. With mixed chips a
    pool that is used has at least ``min_systems`` systems (a binary per pool): no slivers.
    """
    lp = LinearProgram()
    mixed = m.allow_mixed_chips
    keys = list(m.options.index)
    col = _model_arrays(m)
    k = len(keys)
    need = col["systems_needed"].astype(float)
    position = {w: i for i, w in enumerate(m.workloads)}
    run_of = np.asarray([position[r] for r, _ in keys], dtype=np.int64)
    service = m.is_service()
    n_runs = len(m.runs)
    ceiling = (
        np.nan_to_num(col["ceiling_systems"].astype(float), nan=math.inf)
        if "ceiling_systems" in col
        else np.full(k, math.inf)
    )
    upper = np.maximum(col["max_systems"].astype(float), _whole_array(need, deadline_scale))
    if loosen:  # the bounds came from the limits: let the count grow with them
        upper = np.ceil(upper * (1 + LOOSEN_FRACTION)) + 1
    upper = np.minimum(upper, ceiling)
    pool_min = (
        np.nan_to_num(col["min_systems"].astype(float), nan=1.0)
        if "min_systems" in col
        else np.ones(k)
    )
    pool_min[service] = 1.0
    # a pool never needs more than the run can use; the derived bound U (from the limits,
    # which the rows enforce anyway) never stops a pool from reaching its minimum
    pool_min = np.minimum(pool_min, np.maximum(np.floor(ceiling), 1.0))
    # nor more than the whole run needs on that chip alone (a run that fits on one system
    # is never made to buy a rack)
    pool_min = np.minimum(pool_min, _whole_array(need, deadline_scale))
    if mixed:
        upper = np.minimum(np.maximum(upper, pool_min), np.maximum(ceiling, 1.0))
    speed_form = goal in ("time", "speedup")
    n = np.asarray([lp.var(0, u, True) for u in upper])
    f = g = None
    t = None
    pools: dict[int, int] = {}
    speed_unit = 1.0
    infeasible_bounds = False
    if speed_form and speed_need is not None:
        need = np.where(service, need, np.asarray(speed_need, dtype=float))
    if speed_form:
        per_key = upper / need
        per_run = pd.Series(per_key[~service]).groupby(run_of[~service])
        speed_unit = float((per_run.sum() if mixed else per_run.max()).min())
        floor = 1.0 / speed_unit if goal == "time" else 0.0
        if speed_floor is not None:  # only plans at least this fast (speed-up z)
            floor = max(floor, speed_floor / speed_unit)
        if linearise_at is not None:
            floor = max(floor, linearise_at)
        infeasible_bounds = floor > 1.0
        t = lp.var(min(floor, 1.0), 1.0)
    if speed_form and mixed:
        assert t is not None
        g = np.asarray(
            [
                lp.var(0.0, min(1.0, u / (max(nd, 1.0) if svc else nd * speed_unit)))
                for u, nd, svc in zip(upper, need, service, strict=True)
            ]
        )
        coef = np.maximum(need * speed_unit, 1.0)
        # a service's share is g itself (its peak is served at any speed): n >= max(N, 1) g
        coef[service] = np.maximum(need[service], 1.0)
        for i in range(k):  # n >= N z f = N speed_unit g; n >= 1 when g > 0 (see docs)
            lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(g[i]): -coef[i]}, 0.0, math.inf)
        for r in range(len(m.workloads)):
            members = np.flatnonzero(run_of == r)
            if r < n_runs:
                lp.row(f"work_{r}", {**{int(g[i]): 1.0 for i in members}, t: -1.0}, 0.0, 0.0)
            else:
                lp.row(f"work_{r}", {int(g[i]): 1.0 for i in members}, 1.0, 1.0)
    else:
        f = np.asarray([lp.var(0, 1, not mixed) for _ in range(k)])
        for r in range(len(m.workloads)):
            members = np.flatnonzero(run_of == r)
            lp.row(f"work_{r}", {int(f[i]): 1.0 for i in members}, 1.0, 1.0)
        if not mixed:
            for i in range(k):
                lp.row(f"one_chip_{i}", {int(n[i]): 1.0, int(f[i]): -upper[i]}, -math.inf, 0.0)
        if mixed and "max_useful_gpus" in col:
            # a run's pools together use at most its largest useful parallelism (or one
            # system of its largest chip, whichever is more)
            useful = col["max_useful_gpus"].astype(float)
            gps_all = col["gpus_per_system"].astype(float)
            for r in range(n_runs):
                members = np.flatnonzero(run_of == r)
                cap = max(float(np.nanmax(useful[members])), float(gps_all[members].max()))
                if float((gps_all[members] * upper[members]).sum()) > cap:
                    lp.row(
                        f"useful_{r}",
                        {int(n[i]): gps_all[i] for i in members},
                        -math.inf,
                        cap,
                    )
        if mixed and not speed_form:
            # a used pool has at least min_systems systems (y = 1), an unused one none
            for i in np.flatnonzero(pool_min > 1).tolist():
                if upper[i] < pool_min[i]:
                    lp.upper[int(n[i])] = 0.0
                    lp.upper[int(f[i])] = 0.0
                    continue
                pools[i] = lp.var(0, 1, True)
                lp.row(f"pool_min_{i}", {int(n[i]): 1.0, pools[i]: -pool_min[i]}, 0.0, math.inf)
                lp.row(f"pool_max_{i}", {int(n[i]): 1.0, pools[i]: -upper[i]}, -math.inf, 0.0)
                lp.row(f"pool_share_{i}", {int(f[i]): 1.0, pools[i]: -1.0}, -math.inf, 0.0)
        if speed_form:
            assert t is not None
            coef = np.minimum(1.0, 1.0 / (need * speed_unit))
            for i in range(k):
                lp.row(f"used_pool_{i}", {int(n[i]): 1.0, int(f[i]): -1.0}, 0.0, math.inf)
            peak = _whole_array(need)
            for i in np.flatnonzero(service).tolist():  # a service meets its peak at any speed
                lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(f[i]): -peak[i]}, 0.0, math.inf)
            for r in range(n_runs):
                members = np.flatnonzero(run_of == r)
                lp.row(
                    f"speed_{r}",
                    {**{int(n[i]): coef[i] for i in members}, t: -1.0},
                    0.0,
                    math.inf,
                )
        else:
            # one chip per run: ceil(N) f is the same set as N f (f binary), and exact;
            # mixed: n >= N f and n >= f (a used pool has a system) are n >= max(N, 1) f.
            dl = (
                _whole_array(need, deadline_scale)
                if not mixed
                else np.maximum(need / deadline_scale, 1.0)
            )
            if service.any():  # deadlines scale; a service's peak does not
                dl[service] = (
                    _whole_array(need[service]) if not mixed else np.maximum(need[service], 1.0)
                )
            for i in range(k):
                lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(f[i]): -dl[i]}, 0.0, math.inf)

    coefs = _objective_coefficients(m, col)
    share = f if f is not None else g
    assert share is not None
    share_weight = np.ones(k)
    if f is None:  # mixed speed form: f = g / t, taken at t = linearise_at (or 1)
        share_weight[~service] = 1.0 / (linearise_at if linearise_at is not None else 1.0)

    def expression(name: str) -> dict[int, float]:
        cn, cf = coefs[name]
        out: dict[int, float] = {}
        for i in range(k):
            if cn[i]:
                out[int(n[i])] = cn[i]
            if cf[i]:
                out[int(share[i])] = cf[i] * share_weight[i]
        return out

    ev: dict[str, int] = {}
    whole = _whole_array(need)

    def extra(name: str, cap: float) -> dict[int, float]:
        if elastic is None or not (elastic == name or name.startswith(f"{elastic}:")):
            return {}
        ev[name] = lp.var(0.0, max(cap, 1.0))
        return {ev[name]: -1.0}

    def limit(name: str, value: float) -> float:
        if f"{name}{DROPPED}" in loosen:  # the limit removed (joint plans' binding test)
            return math.inf
        return value * (1 + LOOSEN_FRACTION) if name in loosen else value

    on_site = col["on_site"].astype(bool)
    grid_mw = col["grid_power_mw_per_system"].astype(float)
    if on_site.any():  # rented systems are off the site grid
        row = {int(n[i]): grid_mw[i] for i in np.flatnonzero(on_site)}
        row.update(extra("grid", float((whole * grid_mw).sum())))
        lp.row("grid_limit", row, -math.inf, limit("grid", m.grid_limit_mw))
    if m.budget_usd is not None:
        row = expression("cost")
        total = coefs["cost"][0] * whole + coefs["cost"][1]
        row.update(extra("budget", float(total.sum())))
        lp.row("budget", row, -math.inf, limit("budget", m.budget_usd / USD_PER_MUSD))
    gps = col["gpus_per_system"].astype(float)
    chip_of = np.asarray([c for _, c in keys])
    for chip, cap in m.supply_gpus.items():
        members = np.flatnonzero(chip_of == chip)
        if members.size:
            row = {int(n[i]): gps[i] for i in members}
            row.update(extra(f"supply:{chip}", float((whole[members] * gps[members]).sum())))
            lp.row(f"supply_{chip}", row, -math.inf, limit(f"supply:{chip}", float(cap)))
    racks: dict[int, int] = {}
    if m.max_racks is not None and on_site.any():
        spr = col["systems_per_rack"].astype(float)
        for i in np.flatnonzero(on_site).tolist():
            racks[i] = lp.var(0, math.ceil(upper[i] / spr[i]), True)
            lp.row(f"rack_fill_{i}", {racks[i]: spr[i], int(n[i]): -1.0}, 0.0, math.inf)
        row = {j: 1.0 for j in racks.values()}
        row.update(extra("racks", float(np.ceil(whole / spr)[on_site].sum())))
        lp.row("max_racks", row, -math.inf, float(limit("racks", m.max_racks)))

    refs = {name: _reference_scale(m, name, col, coefs[name]) for name in coefs}
    for name, value in bounds:
        lp.row(
            f"lex_{name}",
            expression(name),
            -math.inf,
            value * (1 + LEX_TOL) + LEX_TOL * refs[name],
        )

    unit = 1.0
    if goal == "elastic":
        lp.objective = {j: 1.0 / max(lp.upper[j], 1.0) for j in ev.values()}
    elif speed_form:
        assert t is not None
        lp.objective = {t: -1.0} if maximise else {}
    elif goal != "feasibility":
        unit = refs[goal]
        lp.objective = {j: a / unit for j, a in expression(goal).items()}
    return _Formulation(
        lp,
        goal,
        keys,
        n,
        f,
        g,
        t,
        speed_unit,
        ev,
        unit,
        infeasible_bounds=infeasible_bounds,
        racks=racks if m.max_racks is not None and on_site.any() else {},
        service=service,
        y=pools,
        rel_gap=MIXED_MIP_REL_GAP if mixed else MIP_REL_GAP,
    )


def coefficient_range(
    model: ClusterModel, goal: str | None = None, *, scaled: bool = True
) -> CoefficientRange:
    """Coefficient range of the matrix, objective and right-hand sides of a formulated model.

    Parameters
    ----------
    model : ClusterModel
        From :func:`build_model`.
    goal : str, optional
        An objective name, ``"speedup"``, ``"feasibility"``; default the model's objective
        (``time`` with mixed chips is the speed form the solver sees).
    scaled : bool
        The programme as handed to the solver (cleaned and row-scaled, default) or as built
        in model units (MW, USD millions, GPUs, shares).

    A well-scaled model keeps every ``|a_ij|`` within about 1e-4..1e4 (linopy's rule of thumb):
    the tests check every shipped scenario against that.
    """
    return _formulate(model, goal or model.objective).lp.coefficient_range(scaled)


@dataclass
class Outcome:
    status: str  # optimal | time_limit | infeasible | no_solution | error
    n: dict[tuple[str, str], int]
    f: dict[tuple[str, str], float]
    z: float | None
    totals: dict[str, float]
    elastic: dict[str, float]
    solve_s: float
    detail: str = ""
    primary: float | None = None  # optimum of the first lexicographic stage (model units)

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")
