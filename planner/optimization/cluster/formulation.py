"""Formulate: the MILP as arrays (:class:`LinearProgram`), scaled so its coefficients stay O(1)
(:func:`coefficient_range`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from planner.optimization.cluster.model import ClusterModel
from planner.optimization.constants import (
    DROPPED,
    LEX_TOL,
    LOOSEN_FRACTION,
    MIP_REL_GAP,
    MIXED_MIP_REL_GAP,
    MIXED_TIE_BREAK_REL_GAP,
    USD_PER_MUSD,
)
from planner.optimization.solve import CoefficientRange, LinearProgram

#: Rows that tie workloads together (every other row concerns one workload's columns).
COUPLING_ROWS = ("grid_limit", "budget", "supply_", "max_racks", "lex_")

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
    #: solve through the per-workload block bounds (:func:`solve_lp_by_blocks`)
    by_blocks: bool = False
    #: columns that are 0 in every block optimum (chips a workload never uses alone)
    block_zero: list[int] = field(default_factory=list)
    #: mixed chips: the columns no block optimum of a row's use needs (:func:`_dominated_use`)
    dominated: Callable[[dict[int, float]], list[int]] | None = None

    def coupling(self) -> list[bool]:
        """Per row: does it tie workloads together (a site or plan limit, a lexicographic
        bound)? The other rows each concern one workload."""
        return [name.startswith(COUPLING_ROWS) for name in self.lp.row_names]

    def start_from(self, out: Outcome, m: ClusterModel) -> None:
        """Warm start from an earlier plan's systems and shares (if it fits this form)."""
        if not out.n or self.f is None:
            return
        x = np.asarray(self.lp.lower, dtype=float).copy()
        n = np.asarray([out.n[k] for k in self.keys], dtype=float)
        f = np.asarray([out.f[k] for k in self.keys], dtype=float)
        # a share left on a pool without systems is solver noise (1e-17): a pool with no
        # systems does no work, so its "pool used" binary stays 0 and its minimum holds
        f[n <= 0] = 0.0
        x[self.n] = n
        x[self.f] = f
        spr = m.options["systems_per_rack"].to_numpy(dtype=float)
        for i, j in self.racks.items():
            x[j] = math.ceil(x[self.n[i]] / spr[i])
        for i, j in self.y.items():
            x[j] = 1.0 if x[self.n[i]] > 0 else 0.0
        if not self.lp.violation(np.clip(x, self.lp.lower, self.lp.upper)):
            self.start = x

    @property
    def problem(self) -> LinearProgram:  # kept for old callers (benchmarks)
        return self.lp


#: :func:`_model_arrays` of the options frames in use: id -> (the frame, its shape and columns
#: when read, the arrays). A model's options are fixed once built, and one model is formulated
#: many times (each objective stage, binding test, relaxation and feasibility trial).
_ARRAYS: dict[int, tuple[weakref.ref, tuple, dict[str, np.ndarray]]] = {}


def _model_arrays(m: ClusterModel) -> dict[str, np.ndarray]:
    opt = m.options
    key = id(opt)
    shape = (opt.shape, tuple(opt.columns))
    hit = _ARRAYS.get(key)
    if hit is not None and hit[0]() is opt and hit[1] == shape:
        return dict(hit[2])
    arrays = {c: opt[c].to_numpy() for c in opt.columns}

    def forget(_ref: weakref.ref) -> None:  # the frame is gone: so is its entry
        _ARRAYS.pop(key, None)

    _ARRAYS[key] = (weakref.ref(opt, forget), shape, arrays)
    return dict(arrays)


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
    # per run, the least over its chips (NaN ignored, as pandas' groupby min), then summed
    runs, _ = pd.factorize(m.options.index.get_level_values("run"))
    per_run = np.full(int(runs.max()) + 1 if len(runs) else 0, np.nan)
    np.fmin.at(per_run, runs, per_key)
    ref = float(np.nansum(per_run))
    return ref if math.isfinite(ref) and ref > 0 else 1.0


def _whole_array(needed: np.ndarray, scale: float | np.ndarray = 1.0) -> np.ndarray:
    """:func:`_whole_systems` for an array (``scale`` one number or one per element)."""
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
    b = _counts(m, goal, deadline_scale, loosen, speed_need)
    if goal in ("time", "speedup"):
        _speed_variable(b, goal, speed_floor, linearise_at)
    if b.speed_form and b.mixed:
        _mixed_speed_rows(b)
    else:
        _share_rows(b)
        if not b.mixed:
            _one_chip_rows(b)
        if b.mixed and "max_useful_gpus" in b.col:
            _useful_parallelism_rows(b)
        if b.mixed and not b.speed_form:
            _pool_minimum_rows(b)
        if b.speed_form:
            _speed_rows(b)
        else:
            _deadline_rows(b, deadline_scale)
    coefs = _objective_coefficients(m, b.col)
    expression = _expressions(b, coefs, linearise_at)
    limits = _Limits(b, elastic, loosen)
    _grid_row(b, limits)
    _budget_row(b, limits, coefs, expression)
    _supply_rows(b, limits)
    racks = _rack_rows(b, limits)
    refs = {name: _reference_scale(m, name, b.col, coefs[name]) for name in coefs}
    _lexicographic_rows(b, bounds, refs, expression)
    unit = _objective(b, goal, limits.ev, refs, expression, maximise)
    by_blocks = b.mixed and not b.speed_form and not bounds and goal in coefs
    return _Formulation(
        b.lp,
        goal,
        b.keys,
        b.n,
        b.f,
        b.g,
        b.t,
        b.speed_unit,
        limits.ev,
        unit,
        infeasible_bounds=b.infeasible_bounds,
        racks=racks,
        service=b.service,
        y=b.pools,
        rel_gap=(MIXED_TIE_BREAK_REL_GAP if bounds else MIXED_MIP_REL_GAP)
        if b.mixed
        else MIP_REL_GAP,
        # the blocks' own optima bound a stage without lexicographic rows well; with them
        # (a tie-break) the per-workload minimum ignores the row that matters
        by_blocks=by_blocks,
        block_zero=_dominated_columns(b, coefs[goal], deadline_scale) if by_blocks else [],
        dominated=partial(_dominated_use, b, deadline_scale)
        if b.mixed and not b.speed_form and b.f is not None
        else None,
    )


def _dominated_use(
    b: _Build, deadline_scale: float | np.ndarray, row: dict[int, float]
) -> list[int]:
    """:func:`_dominated_columns` for the use of a limit (its row's coefficients as the
    objective: the grid's MW, the budget's USD), when that use is made of the pools' systems
    and shares only; else none."""
    assert b.f is not None
    pos_n = {int(j): i for i, j in enumerate(b.n)}
    pos_f = {int(j): i for i, j in enumerate(b.f)}
    cn, cf = np.zeros(b.k), np.zeros(b.k)
    for j, a in row.items():
        if j in pos_n:
            cn[pos_n[j]] = a
        elif j in pos_f:
            cf[pos_f[j]] = a
        elif a:
            return []
    return _dominated_columns(b, (cn, cf), deadline_scale)


def _dominated_columns(
    b: _Build, coef: tuple[np.ndarray, np.ndarray], deadline_scale: float | np.ndarray
) -> list[int]:
    """Mixed chips: the columns of (workload, chip) pools that no optimum of the workload
    ALONE uses (its block, site limits aside), to leave out of the block MILPs.

    Within a workload's block, a pool of chip ``c`` that does any work (``f_c > 0``) has
    ``n_c >= l_c = max(min_systems, 1)`` systems and ``n_c >= dl_c f_c``; the rest of the
    work costs at least ``u' = min over the other chips of (cn dl + cf)`` per unit. So every
    block plan using ``c`` costs at least ``min over f in (0, 1] of cn max(l, dl f) + cf f +
    u' (1 - f)`` (convex: at ``f -> 0``, ``l / dl``, or 1). When that exceeds the cost of the
    block's best plan on one chip (``n = ceil(dl)``, within its bounds and the useful-GPU
    cap), ``c`` is in no block optimum. Not valid for the joint model (a site limit may call
    for that chip): only the block bounds use it.
    """
    cn, cf = (np.asarray(a, dtype=float) for a in coef)
    if (cn < 0).any() or (cf < 0).any():
        return []
    need = b.need
    dl = np.maximum(need / deadline_scale, 1.0)
    dl[b.service] = np.maximum(need[b.service], 1.0)
    low = np.maximum(b.pool_min, 1.0)
    whole = np.maximum(np.ceil(dl * (1 - 1e-12)), low)
    gps = b.col["gpus_per_system"].astype(float)
    useful = (
        b.col["max_useful_gpus"].astype(float)
        if "max_useful_gpus" in b.col
        else np.full(b.k, math.inf)
    )
    zero: list[int] = []
    for r in range(len(b.m.workloads)):
        members = np.flatnonzero(b.run_of == r)
        if members.size < 2:
            continue
        cap = math.inf
        if r < b.n_runs and "max_useful_gpus" in b.col:
            cap = max(float(np.nanmax(useful[members])), float(gps[members].max()))
        alone = [
            cn[i] * whole[i] + cf[i]
            for i in members
            if whole[i] <= b.upper[i] and gps[i] * whole[i] <= cap
        ]
        if not alone:
            continue
        best = min(alone)
        unit = cn[members] * dl[members] + cf[members]
        for pos, i in enumerate(members):
            others = np.delete(unit, pos)
            rest = float(others.min())
            kink = min(1.0, low[i] / dl[i])
            using = min(
                cn[i] * low[i] + rest,
                cn[i] * low[i] + cf[i] * kink + rest * (1 - kink),
                cn[i] * max(low[i], dl[i]) + cf[i],
            )
            if using > best * (1 + 1e-7) + 1e-12:
                zero += [int(b.n[i]), int(b.f[i])] if b.f is not None else [int(b.n[i])]
                if int(i) in b.pools:
                    zero.append(b.pools[int(i)])
    return zero


#: An objective as ``{column: coefficient}``, by name.
_Expression = Callable[[str], dict[int, float]]


@dataclass
class _Build:
    """What the constraint families of one formulation share: the LP so far, the model's
    arrays, and the columns made so far."""

    m: ClusterModel
    lp: LinearProgram
    col: dict[str, np.ndarray]
    keys: list[tuple[str, str]]
    need: np.ndarray
    run_of: np.ndarray
    service: np.ndarray
    upper: np.ndarray
    ceiling: np.ndarray
    pool_min: np.ndarray
    n: np.ndarray
    speed_form: bool
    f: np.ndarray | None = None
    g: np.ndarray | None = None
    t: int | None = None
    speed_unit: float = 1.0
    infeasible_bounds: bool = False
    pools: dict[int, int] = field(default_factory=dict)

    @property
    def mixed(self) -> bool:
        return self.m.allow_mixed_chips

    @property
    def k(self) -> int:
        return len(self.keys)

    @property
    def n_runs(self) -> int:
        return len(self.m.runs)

    @property
    def on_site(self) -> np.ndarray:
        return self.col["on_site"].astype(bool)


def _counts(
    m: ClusterModel,
    goal: str,
    deadline_scale: float | np.ndarray,
    loosen: frozenset[str],
    speed_need: np.ndarray | None,
) -> _Build:
    """The system counts ``n[r,c]``: integer, at most the limits' bound (at least the
    deadline's count), never above the ceiling; with mixed chips room for a pool's minimum."""
    lp = LinearProgram()
    mixed = m.allow_mixed_chips
    keys = list(m.options.index)
    col = _model_arrays(m)
    k = len(keys)
    need = col["systems_needed"].astype(float)
    position = {w: i for i, w in enumerate(m.workloads)}
    run_of = np.asarray([position[r] for r, _ in keys], dtype=np.int64)
    service = m.is_service()
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
    if mixed and not speed_form and _count_free(m, col):
        # a tighter big-M: a pool never needs more systems than the whole workload on that
        # chip alone (or its minimum); more only add cost and use more of every limit
        alone = _whole_array(need, deadline_scale)
        alone[service] = _whole_array(need[service])  # a service's peak does not scale
        upper = np.minimum(upper, np.maximum(pool_min, alone))
    n = np.asarray([lp.var(0, u, True) for u in upper])
    if speed_form and speed_need is not None:
        need = np.where(service, need, np.asarray(speed_need, dtype=float))
    return _Build(m, lp, col, keys, need, run_of, service, upper, ceiling, pool_min, n, speed_form)


def _count_free(m: ClusterModel, col: dict[str, np.ndarray]) -> bool:
    """Whether a pool's systems beyond its workload's need are never worth having: every
    objective's per-system coefficient is >= 0 (with the coupling rows, all <= rows with
    coefficients >= 0 in the counts, fewer systems are never worse). Then any plan with a
    pool above ``max(min_systems, ceil(N / scale))`` systems has one as good within it."""
    coefs = _objective_coefficients(m, col)
    return all(bool((np.nan_to_num(cn) >= 0).all()) for cn, _ in coefs.values())


def _speed_variable(
    b: _Build, goal: str, speed_floor: float | None, linearise_at: float | None
) -> None:
    """The normalised speed ``t = z / speed_unit`` in (0, 1] (speed forms only)."""
    per_key = b.upper / b.need
    per_run = pd.Series(per_key[~b.service]).groupby(b.run_of[~b.service])
    b.speed_unit = float((per_run.sum() if b.mixed else per_run.max()).min())
    floor = 1.0 / b.speed_unit if goal == "time" else 0.0
    if speed_floor is not None:  # only plans at least this fast (speed-up z)
        floor = max(floor, speed_floor / b.speed_unit)
    if linearise_at is not None:
        floor = max(floor, linearise_at)
    b.infeasible_bounds = floor > 1.0
    b.t = b.lp.var(min(floor, 1.0), 1.0)


def _mixed_speed_rows(b: _Build) -> None:
    """Mixed chips, speed form: ``g[r,c] = f[r,c] t``; deadlines ``n >= N speed_unit g``
    (a service: ``n >= max(N, 1) g``) and every run's work ``sum_c g = t``."""
    lp, n, t, need, service, run_of = b.lp, b.n, b.t, b.need, b.service, b.run_of
    assert t is not None
    g = np.asarray(
        [
            lp.var(0.0, min(1.0, u / (max(nd, 1.0) if svc else nd * b.speed_unit)))
            for u, nd, svc in zip(b.upper, need, service, strict=True)
        ]
    )
    b.g = g
    coef = np.maximum(need * b.speed_unit, 1.0)
    # a service's share is g itself (its peak is served at any speed): n >= max(N, 1) g
    coef[service] = np.maximum(need[service], 1.0)
    for i in range(b.k):  # n >= N z f = N speed_unit g; n >= 1 when g > 0 (see docs)
        lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(g[i]): -coef[i]}, 0.0, math.inf)
    for r in range(len(b.m.workloads)):
        members = np.flatnonzero(run_of == r)
        if r < b.n_runs:
            lp.row(f"work_{r}", {**{int(g[i]): 1.0 for i in members}, t: -1.0}, 0.0, 0.0)
        else:
            lp.row(f"work_{r}", {int(g[i]): 1.0 for i in members}, 1.0, 1.0)


def _share_rows(b: _Build) -> None:
    """The shares ``f[r,c]`` (binary: one chip per run; else in [0, 1]); every workload's
    shares sum to 1."""
    b.f = np.asarray([b.lp.var(0, 1, not b.mixed) for _ in range(b.k)])
    for r in range(len(b.m.workloads)):
        members = np.flatnonzero(b.run_of == r)
        b.lp.row(f"work_{r}", {int(b.f[i]): 1.0 for i in members}, 1.0, 1.0)


def _one_chip_rows(b: _Build) -> None:
    """One chip per run: ``n <= U f`` (no systems on a chip the run does not use)."""
    assert b.f is not None
    for i in range(b.k):
        b.lp.row(f"one_chip_{i}", {int(b.n[i]): 1.0, int(b.f[i]): -b.upper[i]}, -math.inf, 0.0)


def _useful_parallelism_rows(b: _Build) -> None:
    """Mixed chips: a run's pools together use at most its largest useful parallelism (or
    one system of its largest chip, whichever is more)."""
    useful = b.col["max_useful_gpus"].astype(float)
    gps_all = b.col["gpus_per_system"].astype(float)
    for r in range(b.n_runs):
        members = np.flatnonzero(b.run_of == r)
        cap = max(float(np.nanmax(useful[members])), float(gps_all[members].max()))
        if float((gps_all[members] * b.upper[members]).sum()) > cap:
            b.lp.row(
                f"useful_{r}",
                {int(b.n[i]): gps_all[i] for i in members},
                -math.inf,
                cap,
            )


def _pool_minimum_rows(b: _Build) -> None:
    """Mixed chips: a used pool has at least ``min_systems`` systems (``y = 1``), an unused
    one none."""
    lp, n, f, upper, pool_min = b.lp, b.n, b.f, b.upper, b.pool_min
    assert f is not None
    for i in np.flatnonzero(pool_min > 1).tolist():
        if upper[i] < pool_min[i]:
            lp.upper[int(n[i])] = 0.0
            lp.upper[int(f[i])] = 0.0
            continue
        b.pools[i] = lp.var(0, 1, True)
        lp.row(f"pool_min_{i}", {int(n[i]): 1.0, b.pools[i]: -pool_min[i]}, 0.0, math.inf)
        lp.row(f"pool_max_{i}", {int(n[i]): 1.0, b.pools[i]: -upper[i]}, -math.inf, 0.0)
        lp.row(f"pool_share_{i}", {int(f[i]): 1.0, b.pools[i]: -1.0}, -math.inf, 0.0)


def _speed_rows(b: _Build) -> None:
    """One chip per run, speed form: every run at least as fast as ``t`` (``sum_c n /
    (N speed_unit) >= t``); a used pool has a system; a service meets its peak."""
    lp, n, f, t, need = b.lp, b.n, b.f, b.t, b.need
    assert t is not None and f is not None
    coef = np.minimum(1.0, 1.0 / (need * b.speed_unit))
    for i in range(b.k):
        lp.row(f"used_pool_{i}", {int(n[i]): 1.0, int(f[i]): -1.0}, 0.0, math.inf)
    peak = _whole_array(need)
    for i in np.flatnonzero(b.service).tolist():  # a service meets its peak at any speed
        lp.row(f"deadline_{i}", {int(n[i]): 1.0, int(f[i]): -peak[i]}, 0.0, math.inf)
    for r in range(b.n_runs):
        members = np.flatnonzero(b.run_of == r)
        lp.row(
            f"speed_{r}",
            {**{int(n[i]): coef[i] for i in members}, t: -1.0},
            0.0,
            math.inf,
        )


def _deadline_rows(b: _Build, deadline_scale: float | np.ndarray) -> None:
    """Deadlines: one chip per run ``n >= ceil(N) f`` (the same set as ``N f``, f binary,
    and exact); mixed ``n >= max(N, 1) f`` (``n >= N f`` and a used pool has a system)."""
    need, service, f = b.need, b.service, b.f
    assert f is not None
    dl = (
        _whole_array(need, deadline_scale)
        if not b.mixed
        else np.maximum(need / deadline_scale, 1.0)
    )
    if service.any():  # deadlines scale; a service's peak does not
        dl[service] = _whole_array(need[service]) if not b.mixed else np.maximum(need[service], 1.0)
    for i in range(b.k):
        b.lp.row(f"deadline_{i}", {int(b.n[i]): 1.0, int(f[i]): -dl[i]}, 0.0, math.inf)


def _expressions(
    b: _Build,
    coefs: dict[str, tuple[np.ndarray, np.ndarray]],
    linearise_at: float | None,
) -> _Expression:
    """``expression(name)``: objective ``name`` as ``{column: coefficient}`` (per system
    times ``n``, per share times ``f``; in the mixed speed form ``f = g / t`` at
    ``t = linearise_at``, or 1)."""
    share = b.f if b.f is not None else b.g
    assert share is not None
    share_weight = np.ones(b.k)
    if b.f is None:  # mixed speed form: f = g / t, taken at t = linearise_at (or 1)
        share_weight[~b.service] = 1.0 / (linearise_at if linearise_at is not None else 1.0)

    def expression(name: str) -> dict[int, float]:
        cn, cf = coefs[name]
        out: dict[int, float] = {}
        for i in range(b.k):
            if cn[i]:
                out[int(b.n[i])] = cn[i]
            if cf[i]:
                out[int(share[i])] = cf[i] * share_weight[i]
        return out

    return expression


class _Limits:
    """A limit's right-hand side (loosened or removed by ``loosen``) and its elastic
    variable (``elastic``: the limit whose violation is minimised)."""

    def __init__(self, b: _Build, elastic: str | None, loosen: frozenset[str]) -> None:
        self.b = b
        self.elastic = elastic
        self.loosen = loosen
        self.ev: dict[str, int] = {}
        self.whole = _whole_array(b.need)

    def extra(self, name: str, cap: float) -> dict[int, float]:
        elastic = self.elastic
        if elastic is None or not (elastic == name or name.startswith(f"{elastic}:")):
            return {}
        self.ev[name] = self.b.lp.var(0.0, max(cap, 1.0))
        return {self.ev[name]: -1.0}

    def limit(self, name: str, value: float) -> float:
        if f"{name}{DROPPED}" in self.loosen:  # the limit removed (joint plans' binding test)
            return math.inf
        return value * (1 + LOOSEN_FRACTION) if name in self.loosen else value


def _grid_row(b: _Build, limits: _Limits) -> None:
    """Peak draw of the on-site systems at the design-day PUE <= the site grid (MW)."""
    on_site = b.on_site
    grid_mw = b.col["grid_power_mw_per_system"].astype(float)
    if on_site.any():  # rented systems are off the site grid
        row = {int(b.n[i]): grid_mw[i] for i in np.flatnonzero(on_site)}
        row.update(limits.extra("grid", float((limits.whole * grid_mw).sum())))
        b.lp.row("grid_limit", row, -math.inf, limits.limit("grid", b.m.grid_limit_mw))


def _budget_row(
    b: _Build,
    limits: _Limits,
    coefs: dict[str, tuple[np.ndarray, np.ndarray]],
    expression: _Expression,
) -> None:
    """The plan's cost <= the budget (USD millions)."""
    if b.m.budget_usd is None:
        return
    row = expression("cost")
    total = coefs["cost"][0] * limits.whole + coefs["cost"][1]
    row.update(limits.extra("budget", float(total.sum())))
    b.lp.row("budget", row, -math.inf, limits.limit("budget", b.m.budget_usd / USD_PER_MUSD))


def _supply_rows(b: _Build, limits: _Limits) -> None:
    """GPUs of each chip <= its supply."""
    gps = b.col["gpus_per_system"].astype(float)
    chip_of = np.asarray([c for _, c in b.keys])
    whole = limits.whole
    for chip, cap in b.m.supply_gpus.items():
        members = np.flatnonzero(chip_of == chip)
        if members.size:
            row = {int(b.n[i]): gps[i] for i in members}
            row.update(limits.extra(f"supply:{chip}", float((whole[members] * gps[members]).sum())))
            b.lp.row(f"supply_{chip}", row, -math.inf, limits.limit(f"supply:{chip}", float(cap)))


def _rack_rows(b: _Build, limits: _Limits) -> dict[int, int]:
    """Whole racks per on-site pool (``racks >= n / systems_per_rack``), their sum <= the
    site's racks. Returns key position -> rack column."""
    racks: dict[int, int] = {}
    on_site = b.on_site
    if b.m.max_racks is None or not on_site.any():
        return racks
    spr = b.col["systems_per_rack"].astype(float)
    for i in np.flatnonzero(on_site).tolist():
        racks[i] = b.lp.var(0, math.ceil(b.upper[i] / spr[i]), True)
        b.lp.row(f"rack_fill_{i}", {racks[i]: spr[i], int(b.n[i]): -1.0}, 0.0, math.inf)
    row = {j: 1.0 for j in racks.values()}
    row.update(limits.extra("racks", float(np.ceil(limits.whole / spr)[on_site].sum())))
    b.lp.row("max_racks", row, -math.inf, float(limits.limit("racks", b.m.max_racks)))
    return racks


def _lexicographic_rows(
    b: _Build,
    bounds: tuple[tuple[str, float], ...],
    refs: dict[str, float],
    expression: _Expression,
) -> None:
    """Earlier lexicographic optima kept (within ``LEX_TOL``)."""
    for name, value in bounds:
        b.lp.row(
            f"lex_{name}",
            expression(name),
            -math.inf,
            value * (1 + LEX_TOL) + LEX_TOL * refs[name],
        )


def _objective(
    b: _Build,
    goal: str,
    ev: dict[str, int],
    refs: dict[str, float],
    expression: _Expression,
    maximise: bool,
) -> float:
    """Set the objective of ``goal``; returns model units per unit of the scaled objective."""
    unit = 1.0
    if goal == "elastic":
        b.lp.objective = {j: 1.0 / max(b.lp.upper[j], 1.0) for j in ev.values()}
    elif b.speed_form:
        assert b.t is not None
        b.lp.objective = {b.t: -1.0} if maximise else {}
    elif goal != "feasibility":
        unit = refs[goal]
        b.lp.objective = {j: a / unit for j, a in expression(goal).items()}
    return unit


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
    #: relative gap proven for this plan's objective (a MIP solve: the solver's; the time
    #: objective: the latest finish's search); None when nothing was proven
    mip_gap: float | None = None

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")
