"""Block bounds: a lower bound of a MILP whose rows split into independent blocks once a few
coupling rows are set aside, and the point made of the blocks' own optima.

Many planning models are blocks (one per workload: its chip, its count, its share) tied together
only by a few shared limits (a site's grid, a budget). Dropping the coupling rows relaxes the
model, so the sum of the blocks' own optima bounds the whole optimum from below (for a
separable objective), and each block is a small MILP a solver closes in milliseconds. The
block bounds go back into the model as valid rows, ``sum_{j in b} c_j x_j >= L_b``: a
branch-and-bound search that closes the rounding gap of many blocks at once from the root
(thousands of nodes) starts instead at their sum. When the blocks' optima together meet the
coupling rows, that point is the optimum, within the blocks' gaps, and no joint search runs.

Nothing here knows what the columns mean: :func:`block_labels` groups columns, and
:func:`solve_blocks` solves each group, given which rows couple them.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.optimization.solve.arrays import highs_solve, solve_lp
from planner.optimization.solve.covering import (
    CoveringBlock,
    Roles,
    fill,
    recognise_roles,
    solve_covering,
)
from planner.optimization.solve.lp import LinearProgram
from planner.optimization.solve.result import SolveResult

#: Relative gap asked of each block's MILP (its proven dual bound is what enters the sum).
BLOCK_REL_GAP = 1e-6
#: Blocks solved before (same rows, bounds, objective): their results, newest last.
_CACHE: dict[bytes, tuple[str, float, np.ndarray | None]] = {}
_CACHE_SIZE = 20_000
#: Covering blocks the exact solver gave up on (solved by HiGHS: not tried again).
_GAVE_UP: set[bytes] = set()
#: A block bound row is written this much (relative) below the proven bound: a margin for the
#: solvers' feasibility tolerances, never a cut into the feasible set.
BLOCK_BOUND_MARGIN = 1e-9


def block_labels(lp: LinearProgram, coupling: Sequence[bool]) -> np.ndarray:
    """Per column: its block (``0..k-1``), the connected components of the columns over
    the rows that do not couple (``coupling[i]`` false); a column in no such row: ``-1``."""
    parent = list(range(lp.num_col))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    touched = np.zeros(lp.num_col, dtype=bool)
    for coeffs, couples in zip(lp.row_coeffs, coupling, strict=True):
        if couples:
            continue
        cols = list(coeffs)
        touched[cols] = True
        root = find(cols[0])
        for j in cols[1:]:
            other = find(j)
            if other != root:
                parent[other] = root
    roots = np.asarray([find(j) for j in range(lp.num_col)])
    labels = np.full(lp.num_col, -1, dtype=np.int64)
    _, dense = np.unique(roots[touched], return_inverse=True)
    labels[touched] = dense
    return labels


@dataclass
class BlockBounds:
    """Each block's proven lower bound of its part of the objective, and its optimum."""

    labels: np.ndarray  # per column: its block, -1 outside every block
    bounds: np.ndarray  # per block: proven lower bound (objective units)
    point: np.ndarray | None  # the blocks' optima side by side (None if a block had none)
    solve_s: float


#: Low mantissa bits a block's numbers are hashed without (of 52): blocks equal to about
#: 1e-12 relative are one entry of the cache. A rebuilt model's unchanged workload differs from
#: its earlier block only by rounding (its objective divided by its largest coefficient: 1e-17
#: to 2e-16 apart, 200 runs x 13 chips, goodput(N)), and hashing every bit re-solved 196 of 200
#: unchanged blocks at each re-solve. A bound reused for a block 1e-12 away is off by about
#: that much relative, far inside :data:`BLOCK_BOUND_MARGIN` (1e-9).
KEY_DROPPED_BITS = 12


def _quantised(part: object) -> bytes:
    a = np.ascontiguousarray(np.asarray(part, dtype=float))
    return (a.view(np.int64) >> KEY_DROPPED_BITS).tobytes()


def _key(sub: LinearProgram) -> bytes:
    starts, index, value, lower, upper, cost = sub.scaled()
    digest = hashlib.blake2b(digest_size=20)
    for part in (starts, index):
        digest.update(np.ascontiguousarray(part).tobytes())
    for part in (value, lower, upper, cost, sub.lower, sub.upper):
        digest.update(_quantised(part))
    digest.update(np.asarray(sub.integer, dtype=bool).tobytes())
    return digest.digest()


def _covering_key(block: CoveringBlock) -> bytes:
    digest = hashlib.blake2b(b"covering", digest_size=20)
    digest.update(np.asarray([block.n_col, block.f_col, block.y_col], dtype=np.int64).tobytes())
    numbers = [block.a, block.b, block.d, block.low, block.up, block.share_max, block.g]
    digest.update(_quantised(numbers))
    digest.update(_quantised([block.cap, block.num_col]))
    return digest.digest()


#: What one block's covering shape is known to be: its :class:`Roles`, or ``None`` (not
#: classified yet, or not a covering block: classified again each time, as a block refused
#: for its numbers may be one with others; such a block goes to HiGHS anyway, 25-45 ms).
Known = Roles | None


def _covering(sub: LinearProgram, known: list[Known], b: int) -> CoveringBlock | None:
    """Block ``b`` as a covering block (None: another shape), its roles classified once per
    shape (``known[b]``, kept with the LP's layout: the same rows formulated again at
    another deadline are only read, not classified)."""
    roles = known[b]
    if roles is not None:
        block = fill(sub, roles)
        if block is not None:
            return block
    found = recognise_roles(sub)
    if found is not None:
        known[b] = found
    return None if found is None else fill(sub, found)


def _solve_block(
    sub: LinearProgram,
    time_limit_s: float | None,
    known: list[Known] | None = None,
    b: int = 0,
) -> tuple[str, float, np.ndarray | None]:
    """One block's MILP: ``(status, proven bound, point)``, status ``optimal``,
    ``infeasible`` or ``unknown`` (no bound in time). A covering block (a workload's shares
    over pools of whole units: :mod:`planner.optimization.solve.covering`) is solved exactly
    there, about 0.5-1 ms against HiGHS's 25-45 ms; any other block, or one that solver gives
    up on, by HiGHS at ``BLOCK_REL_GAP``. Remembered: a re-solve of the same block (a
    tie-break, a binding test) costs nothing.

    The block is solved with its objective divided by its largest coefficient (its bound
    multiplied back): the same block under another overall scale of the objective (a model
    rebuilt with other workloads' coefficients changed, as the goodput(N) re-solve does) is
    then the same entry of the cache."""
    weight = max((abs(c) for c in sub.objective.values() if c), default=1.0)
    if weight != 1.0:
        sub = sub.with_objective({j: c / weight for j, c in sub.objective.items()})
    block = _covering(sub, [None] if known is None else known, 0 if known is None else b)
    if block is not None:  # keyed by its numbers (no scaled arrays to build)
        key = _covering_key(block)
        hit = _CACHE.get(key)
        if hit is None and key not in _GAVE_UP:
            exact = solve_covering(block)
            if exact is not None:
                _remember(key, exact)
                hit = exact
            elif len(_GAVE_UP) < _CACHE_SIZE:  # HiGHS's answer is cached below
                _GAVE_UP.add(key)
        if hit is not None:
            return hit[0], hit[1] * weight, hit[2]
    key = _key(sub)
    hit = _CACHE.get(key)
    if hit is not None:
        status, bound, x = hit
        return status, bound * weight, x
    res = highs_solve(sub, time_limit_s, False, None, BLOCK_REL_GAP)
    if res.status == "infeasible":
        out: tuple[str, float, np.ndarray | None] = ("infeasible", math.inf, None)
    elif res.bound is None or not math.isfinite(res.bound) or res.status != "optimal":
        return ("unknown", -math.inf, None)
    else:
        out = ("optimal", res.bound, res.x)
    _remember(key, out)
    return out[0], out[1] * weight, out[2]


def _remember(key: bytes, out: tuple[str, float, np.ndarray | None]) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = out


def _sub_programme(
    lp: LinearProgram, cols: np.ndarray, rows: list[int], objective: dict[int, float]
) -> tuple[LinearProgram, dict[int, int]]:
    """Block ``cols`` with its ``rows`` and its part of the objective (``{column: c}``)."""
    listed = cols.tolist()
    pos = {j: k for k, j in enumerate(listed)}
    sub = LinearProgram(
        [float(lp.lower[j]) for j in listed],
        [float(lp.upper[j]) for j in listed],
        [bool(lp.integer[j]) for j in listed],
        [lp.row_names[i] for i in rows],
        [{pos[j]: a for j, a in lp.row_coeffs[i].items()} for i in rows],
        [lp.row_lower[i] for i in rows],
        [lp.row_upper[i] for i in rows],
        {pos[j]: a for j, a in objective.items()},
    )
    return sub, pos


@dataclass
class _Layout:
    """How an LP of one shape splits into blocks: :func:`block_labels`, each block's rows, and
    what each block's covering shape is (:data:`Known`, filled as the blocks are solved)."""

    labels: np.ndarray
    k: int
    rows_of: list[list[int]]
    cols_of: list[np.ndarray]
    known: list[Known]


#: Layouts by the shape of the LP and its coupling rows (:func:`_shape_key`), newest last. A
#: search formulates one model again at each trial deadline, with the same rows over the same
#: columns: its blocks and their roles are found once (200 runs x 13 chips: 0.27 s of
#: :func:`block_labels` and 0.42 s of classifying blocks over a mixed-chip time solve).
_LAYOUTS: dict[bytes, _Layout] = {}
_LAYOUTS_SIZE = 64


def _shape_key(lp: LinearProgram, coupling: Sequence[bool]) -> bytes:
    """The LP's shape: which columns each row has (in order), which rows couple, which
    columns are integer; not its numbers."""
    _, cols, _, starts = lp._flat()
    digest = hashlib.blake2b(b"shape", digest_size=20)
    digest.update(np.asarray([lp.num_col], dtype=np.int64).tobytes())
    for part in (starts, cols):
        digest.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
    digest.update(np.asarray(coupling, dtype=bool).tobytes())
    digest.update(np.asarray(lp.integer, dtype=bool).tobytes())
    return digest.digest()


def _layout(lp: LinearProgram, coupling: Sequence[bool], labels: np.ndarray | None) -> _Layout:
    key = _shape_key(lp, coupling)
    found = _LAYOUTS.get(key)
    if found is not None:
        return found
    if labels is None:
        labels = block_labels(lp, coupling)
    k = int(labels.max()) + 1 if labels.size else 0
    rows_of: list[list[int]] = [[] for _ in range(k)]
    for i, (coeffs, couples) in enumerate(zip(lp.row_coeffs, coupling, strict=True)):
        if not couples:
            rows_of[labels[next(iter(coeffs))]].append(i)
    order = np.argsort(labels, kind="stable")
    ends = np.searchsorted(labels[order], np.arange(k + 1), side="left")
    cols_of = [order[ends[b] : ends[b + 1]] for b in range(k)]
    made = _Layout(labels, k, rows_of, cols_of, [None] * k)
    if len(_LAYOUTS) >= _LAYOUTS_SIZE:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))
    _LAYOUTS[key] = made
    return made


def _by_block(objective: dict[int, float], labels: np.ndarray, k: int) -> list[dict[int, float]]:
    """Each block's part of ``objective`` (columns outside every block left out)."""
    out: list[dict[int, float]] = [{} for _ in range(k)]
    for j, c in objective.items():
        if labels[j] >= 0:
            out[labels[j]][j] = c
    return out


def solve_blocks(
    lp: LinearProgram,
    coupling: Sequence[bool],
    *,
    time_limit_s: float | None = None,
    zero_in_blocks: Sequence[int] = (),
    stop_above: float | None = None,
    labels: np.ndarray | None = None,
) -> BlockBounds | None:
    """Solve every block of ``lp`` on its own (:func:`_solve_block`; coupling rows dropped): a
    valid lower bound per block and the point of the blocks' optima. None when the model is
    not made of at least two blocks carrying the whole objective, or a block found no bound in
    time (the caller then solves the model as it is). An infeasible block: its bound is
    ``inf``.

    ``zero_in_blocks``: columns the caller knows are 0 in some optimum of their block (the
    model's own dominance argument); they are fixed at 0 in the block MILPs only.

    ``stop_above``: when every column is >= 0 and every objective coefficient too (each
    block's optimum is then >= 0), stop as soon as the blocks solved so far bound the whole
    above this (a limit the caller tests the sum against: no plan fits it); the blocks not
    solved then have bound 0 and there is no point. ``labels``: :func:`block_labels` of
    ``lp`` when the caller has them (same rows, another objective)."""
    zero = set(int(j) for j in zero_in_blocks)
    began = time.perf_counter()
    layout = _layout(lp, coupling, labels)
    labels, k, rows_of = layout.labels, layout.k, layout.rows_of
    if k < 2 or any(labels[j] < 0 for j, c in lp.objective.items() if c):
        return None
    objective_of = _by_block(lp.objective, labels, k)
    if stop_above is not None and (
        min(lp.lower, default=0.0) < 0 or min(lp.objective.values(), default=0.0) < 0
    ):
        stop_above = None
    bounds = np.zeros(k)
    start = np.asarray(lp.lower, dtype=float).copy()
    start[~np.isfinite(start)] = 0.0
    point: np.ndarray | None = start
    for b in range(k):
        cols = layout.cols_of[b]
        sub, pos = _sub_programme(lp, cols, rows_of[b], objective_of[b])
        for j in zero.intersection(pos):
            sub.upper[pos[j]] = min(sub.upper[pos[j]], max(sub.lower[pos[j]], 0.0))
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - began)
        if left is not None and left <= 0:
            return None
        status, bound, x = _solve_block(sub, left, layout.known, b)
        if status == "unknown":
            return None
        if status == "infeasible":
            bounds[b] = math.inf
            point = None
            continue
        bounds[b] = bound
        if point is not None and x is not None:
            point[cols] = x
        elif x is None:
            point = None
        if stop_above is not None and float(bounds.sum()) > stop_above:
            point = None
            break
    return BlockBounds(labels, bounds, point, time.perf_counter() - began)


#: Most evaluations (each solves every block) of the Lagrangian search over one coupling row.
LAGRANGE_STEPS = 14


@dataclass
class LagrangeBound:
    """The Lagrangian bound of a model over one coupling row ``a x <= h``: for a multiplier
    ``m >= 0``, ``sum over blocks of min (c + m a) x - m h`` bounds the optimum from below
    (any plan meets the row); ``bounds`` are the blocks' minima at the best ``multiplier``
    found, ``point`` the cheapest point met on the way that meets every row (None if none)."""

    row: int
    multiplier: float
    bounds: np.ndarray
    bound: float
    point: np.ndarray | None
    evaluations: int


def _rounded(lp: LinearProgram, x: np.ndarray) -> np.ndarray:
    integer = np.asarray(lp.integer, dtype=bool)
    return np.clip(np.where(integer, np.round(x), x), lp.lower, lp.upper)


def _dense(num_col: int, coeffs: dict[int, float]) -> np.ndarray:
    """``{column: coefficient}`` as a vector over the columns."""
    out = np.zeros(num_col)
    for j, c in coeffs.items():
        out[j] = c
    return out


def _priced(lp: LinearProgram, row: int, multiplier: float) -> dict[int, float]:
    """The objective plus ``multiplier`` times row ``row``'s coefficients."""
    out = dict(lp.objective)
    for j, a in lp.row_coeffs[row].items():
        out[j] = out.get(j, 0.0) + multiplier * a
    return out


def lagrange_bound(
    lp: LinearProgram,
    coupling: Sequence[bool],
    blocks: BlockBounds,
    *,
    rel_gap: float,
    time_limit_s: float | None = None,
) -> LagrangeBound | None:
    """When the blocks' optima break a coupling row ``a x <= h`` (the one broken most,
    relative to ``h``), the best Lagrangian bound over that row within
    :data:`LAGRANGE_STEPS` evaluations: the multiplier grows by 8x until the blocks' optima
    meet the row, then bisects (geometric) between the last multiplier that broke it and
    the first that met it. Stops early once a point meeting every row is within
    ``rel_gap`` of the bound. None when no such row is broken, or a block has no answer.

    Why: where a site limit binds (the ``time`` objective's cost at its earliest finish),
    the blocks' own optima (multiplier 0) bound the cost far below any plan, and the joint
    MILP spent its whole limit closing the last 1%. The dual of one row over 200 blocks has
    almost no duality gap (Shapley-Folkman: the gap is at most one block's non-convexity)."""
    if blocks.point is None:
        return None
    began = time.perf_counter()
    x0 = _rounded(lp, blocks.point)
    worst, row = 0.0, -1
    for i, (coeffs, couples) in enumerate(zip(lp.row_coeffs, coupling, strict=True)):
        hi = lp.row_upper[i]
        if not couples or not math.isfinite(hi) or math.isfinite(lp.row_lower[i]):
            continue
        act = sum(a * x0[j] for j, a in coeffs.items())
        over = (act - hi) / max(abs(hi), 1e-12)
        if over > worst and all(blocks.labels[j] >= 0 for j in coeffs):
            worst, row = over, i
    if row < 0 or worst <= 1e-9:
        return None
    a_row, h = lp.row_coeffs[row], lp.row_upper[row]
    cost, a_vec = _dense(lp.num_col, lp.objective), _dense(lp.num_col, a_row)
    use0 = float(a_vec @ x0)
    mult = 0.01 * max(abs(float(cost @ x0)), 1e-12) / max(abs(use0), abs(h), 1e-12)
    lo_m, hi_m = 0.0, math.inf
    best: LagrangeBound = LagrangeBound(
        row, 0.0, blocks.bounds, float(blocks.bounds.sum()), None, 0
    )
    upper = math.inf
    for step in range(1, LAGRANGE_STEPS + 1):
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - began)
        if left is not None and left <= 0:
            break
        got = solve_blocks(
            lp.with_objective(_priced(lp, row, mult)),
            coupling,
            time_limit_s=left,
            labels=blocks.labels,
        )
        if got is None or got.point is None or not np.isfinite(got.bounds).all():
            return None
        value = float(got.bounds.sum()) - mult * h
        if value > best.bound:
            best = LagrangeBound(row, mult, got.bounds, value, best.point, step)
        x = _rounded(lp, got.point)
        over = float(a_vec @ x) - h > 1e-9 * max(abs(h), 1.0)
        if not over and not lp.violation(x) and float(cost @ x) < upper:
            upper = float(cost @ x)
            best.point = x
        best.evaluations = step
        if upper < math.inf and upper - best.bound <= rel_gap * max(abs(upper), 1e-12):
            break
        if over:
            lo_m = mult
        else:
            hi_m = mult
        mult = mult * 8 if math.isinf(hi_m) else math.sqrt(max(lo_m, hi_m * 1e-3) * hi_m)
        if hi_m < math.inf and hi_m <= lo_m * (1 + 1e-4):
            break
    return best


def with_block_rows(
    lp: LinearProgram, blocks: BlockBounds, lagrange: LagrangeBound | None = None
) -> LinearProgram:
    """A copy of ``lp`` with one row per block: its part of the objective >= its bound (and,
    with ``lagrange``, its part of the priced objective >= its minimum there)."""
    out = LinearProgram(
        list(lp.lower),
        list(lp.upper),
        list(lp.integer),
        list(lp.row_names),
        list(lp.row_coeffs),
        list(lp.row_lower),
        list(lp.row_upper),
        dict(lp.objective),
    )
    rows = [("block_bound", lp.objective, blocks.bounds)]
    if lagrange is not None and lagrange.multiplier > 0:
        # each block's part of c x + m a x is at least its minimum at m: valid rows, and with
        # them the LP relaxation's bound is at least the Lagrangian bound
        priced = _priced(lp, lagrange.row, lagrange.multiplier)
        rows.append(("lagrange_bound", priced, lagrange.bounds))
    for name, objective, bounds in rows:
        parts = _by_block(objective, blocks.labels, len(bounds))
        for b, (part, bound) in enumerate(zip(parts, bounds.tolist(), strict=True)):
            coeffs = {j: c for j, c in part.items() if c}
            if coeffs and math.isfinite(bound) and bound != 0.0:
                out.row(f"{name}_{b}", coeffs, bound - BLOCK_BOUND_MARGIN * abs(bound), math.inf)
    return out


def solve_lp_by_blocks(
    lp: LinearProgram,
    coupling: Sequence[bool],
    solver: str = "highs",
    *,
    time_limit_s: float | None = None,
    mip_rel_gap: float,
    start: np.ndarray | None = None,
    zero_in_blocks: Sequence[int] = (),
) -> SolveResult:
    """:func:`solve_lp` helped by the block bounds of ``lp`` (:func:`solve_blocks`).

    If the blocks' optima together meet every row, that point is returned with the gap the
    blocks prove (no joint search). Otherwise the joint MILP is solved with the block bound
    rows added (same columns; the rows only cut off points worse than a bound) and the better
    of ``start`` and the blocks' point as its warm start. The gap reported is the better of
    the solver's and the one the block bounds prove for the returned point. Falls back to
    plain :func:`solve_lp` when the model has no blocks.
    """
    began = time.perf_counter()
    blocks = (
        solve_blocks(lp, coupling, time_limit_s=time_limit_s, zero_in_blocks=zero_in_blocks)
        if any(lp.integer) and solver == "highs"
        else None
    )
    if blocks is None:
        return solve_lp(lp, solver, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, start=start)
    if not np.isfinite(blocks.bounds).all():
        return SolveResult("infeasible", solver=solver, solve_s=time.perf_counter() - began)
    cost = _dense(lp.num_col, lp.objective)
    bound = float(blocks.bounds.sum())

    def proven(objective: float) -> float:
        return max(0.0, (objective - bound) / max(abs(objective), 1e-12))

    def settled(x: np.ndarray) -> SolveResult | None:
        """``x`` (meeting every row) as the answer when the bound proves it within the gap;
        else None, and ``x`` is the warm start when it beats ``start``."""
        nonlocal start
        obj = float(cost @ x)
        if proven(obj) <= mip_rel_gap:
            return SolveResult(
                "optimal",
                obj,
                proven(obj),
                solve_s=time.perf_counter() - began,
                solver=solver,
                x=x,
                bound=bound,
            )
        if start is None or float(cost @ start) > obj:
            start = x
        return None

    if blocks.point is not None:
        blocks.point = _rounded(lp, blocks.point)
    if blocks.point is not None and not lp.violation(blocks.point):
        done = settled(blocks.point)
        if done is not None:
            return done
    lagrange = None
    if blocks.point is not None:  # the blocks' optima break a row: price the row broken most
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - began)
        lagrange = lagrange_bound(lp, coupling, blocks, rel_gap=mip_rel_gap, time_limit_s=left)
    if lagrange is not None:
        bound = max(bound, lagrange.bound)
        if lagrange.point is not None:
            done = settled(lagrange.point)
            if done is not None:
                return done
    left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - began)
    res = solve_lp(
        with_block_rows(lp, blocks, lagrange),
        solver,
        time_limit_s=left,
        mip_rel_gap=mip_rel_gap,
        start=start,
    )
    if res.x is not None and res.objective is not None:
        gap = proven(res.objective)
        if res.mip_gap is None or gap < res.mip_gap:
            res = SolveResult(
                "optimal" if gap <= mip_rel_gap else res.status,
                res.objective,
                gap,
                res.solve_s,
                res.solver,
                res.detail,
                res.x,
                bound,
            )
    return SolveResult(
        res.status,
        res.objective,
        res.mip_gap,
        time.perf_counter() - began,
        res.solver,
        res.detail,
        res.x,
        res.bound,
    )
