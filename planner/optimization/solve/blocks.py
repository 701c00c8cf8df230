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
from planner.optimization.solve.lp import LinearProgram
from planner.optimization.solve.result import SolveResult

#: Relative gap asked of each block's MILP (its proven dual bound is what enters the sum).
BLOCK_REL_GAP = 1e-6
#: Blocks solved before (same rows, bounds, objective): their results, newest last.
_CACHE: dict[bytes, tuple[str, float, np.ndarray | None]] = {}
_CACHE_SIZE = 20_000
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


def _solve_block(
    sub: LinearProgram, time_limit_s: float | None
) -> tuple[str, float, np.ndarray | None]:
    """One block's MILP (HiGHS, ``BLOCK_REL_GAP``): ``(status, proven bound, point)``,
    status ``optimal``, ``infeasible`` or ``unknown`` (no bound in time). Remembered: a
    re-solve of the same block (a tie-break, a binding test) costs nothing.

    The block is solved with its objective divided by its largest coefficient (its bound
    multiplied back): the same block under another overall scale of the objective (a model
    rebuilt with other workloads' coefficients changed, as the goodput(N) re-solve does) is
    then the same entry of the cache."""
    weight = max((abs(c) for c in sub.objective.values() if c), default=1.0)
    if weight != 1.0:
        sub = LinearProgram(
            sub.lower,
            sub.upper,
            sub.integer,
            sub.row_names,
            sub.row_coeffs,
            sub.row_lower,
            sub.row_upper,
            {j: c / weight for j, c in sub.objective.items()},
        )
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
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = out
    return out[0], out[1] * weight, out[2]


def _sub_programme(
    lp: LinearProgram, cols: np.ndarray, rows: list[int]
) -> tuple[LinearProgram, dict[int, int]]:
    pos = {int(j): k for k, j in enumerate(cols)}
    sub = LinearProgram()
    for j in cols:
        sub.var(lp.lower[j], lp.upper[j], lp.integer[j])
    for i in rows:
        sub.row(
            lp.row_names[i],
            {pos[j]: a for j, a in lp.row_coeffs[i].items()},
            lp.row_lower[i],
            lp.row_upper[i],
        )
    sub.objective = {pos[j]: a for j, a in lp.objective.items() if j in pos}
    return sub, pos


def solve_blocks(
    lp: LinearProgram,
    coupling: Sequence[bool],
    *,
    time_limit_s: float | None = None,
    zero_in_blocks: Sequence[int] = (),
) -> BlockBounds | None:
    """Solve every block of ``lp`` on its own (HiGHS; coupling rows dropped): a valid lower
    bound per block and the point of the blocks' optima. None when the model is not made of
    at least two blocks carrying the whole objective, or a block found no bound in time (the
    caller then solves the model as it is). An infeasible block: its bound is ``inf``.

    ``zero_in_blocks``: columns the caller knows are 0 in some optimum of their block (the
    model's own dominance argument); they are fixed at 0 in the block MILPs only."""
    zero = set(int(j) for j in zero_in_blocks)
    began = time.perf_counter()
    labels = block_labels(lp, coupling)
    k = int(labels.max()) + 1 if labels.size else 0
    if k < 2 or any(labels[j] < 0 for j, c in lp.objective.items() if c):
        return None
    rows_of: list[list[int]] = [[] for _ in range(k)]
    for i, (coeffs, couples) in enumerate(zip(lp.row_coeffs, coupling, strict=True)):
        if not couples:
            rows_of[labels[next(iter(coeffs))]].append(i)
    bounds = np.zeros(k)
    start = np.asarray(lp.lower, dtype=float).copy()
    start[~np.isfinite(start)] = 0.0
    point: np.ndarray | None = start
    for b in range(k):
        cols = np.flatnonzero(labels == b)
        sub, pos = _sub_programme(lp, cols, rows_of[b])
        for j in zero.intersection(pos):
            sub.upper[pos[j]] = min(sub.upper[pos[j]], max(sub.lower[pos[j]], 0.0))
        left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - began)
        if left is not None and left <= 0:
            return None
        status, bound, x = _solve_block(sub, left)
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
    return BlockBounds(labels, bounds, point, time.perf_counter() - began)


def with_block_rows(lp: LinearProgram, blocks: BlockBounds) -> LinearProgram:
    """A copy of ``lp`` with one row per block: its part of the objective >= its bound."""
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
    for b, bound in enumerate(blocks.bounds.tolist()):
        coeffs = {j: c for j, c in lp.objective.items() if c and blocks.labels[j] == b}
        if coeffs and math.isfinite(bound) and bound != 0.0:
            out.row(f"block_bound_{b}", coeffs, bound - BLOCK_BOUND_MARGIN * abs(bound), math.inf)
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
    cost = np.zeros(lp.num_col)
    for j, c in lp.objective.items():
        cost[j] = c
    bound = float(blocks.bounds.sum())

    def proven(objective: float) -> float:
        return max(0.0, (objective - bound) / max(abs(objective), 1e-12))

    if blocks.point is not None:
        integer = np.asarray(lp.integer, dtype=bool)
        blocks.point = np.clip(
            np.where(integer, np.round(blocks.point), blocks.point), lp.lower, lp.upper
        )
    if blocks.point is not None and not lp.violation(blocks.point):
        obj = float(cost @ blocks.point)
        if proven(obj) <= mip_rel_gap:
            return SolveResult(
                "optimal",
                obj,
                proven(obj),
                solve_s=time.perf_counter() - began,
                solver=solver,
                x=blocks.point,
                bound=bound,
            )
        if start is None or float(cost @ start) > obj:
            start = blocks.point
    left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - began)
    res = solve_lp(
        with_block_rows(lp, blocks), solver, time_limit_s=left, mip_rel_gap=mip_rel_gap, start=start
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
