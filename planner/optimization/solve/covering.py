"""An exact solver for one small MILP shape: a unit of work split over pools of whole units.

The shape (a *covering block*): options ``i`` each with an integer count ``n_i`` in
``{0} u [L_i, U_i]`` and a share ``f_i`` of the work, the shares summing to one::

    min  sum_i a_i n_i + b_i f_i
    s.t. sum_i f_i = 1,   0 <= f_i <= s_i,   n_i >= D_i f_i          (D_i > 0, a_i >= 0)
         n_i >= L_i y_i,  n_i <= U_i y_i,  f_i <= y_i,  y_i binary   (an option's minimum)
         sum_i g_i n_i <= cap                                          (optional, g_i >= 0)

is what one workload's block of the cluster model is (a run's pools of systems on each chip,
its shares of the work, a pool's minimum of whole racks, the run's useful parallelism). HiGHS
closes such a block in 10-100 nodes but spends 30-40 ms on each, most of it fixed cost of a
MILP call; 200 blocks a pass made that the largest cost of a mixed-chip solve.

:func:`recognise` reads the shape from a :class:`LinearProgram` (rows as written by any model;
nothing here knows what the columns mean) or answers None; :func:`solve_covering` solves it by
branch and bound with a closed-form relaxation: at a node, options are unused, used with count
bounds ``[lo, hi]``, or undecided; a used option gives share up to ``lo / D`` at rate ``b``
(its ``lo`` units are paid for) and more up to ``hi / D`` at ``a D + b``; an undecided one any
share up to ``U / D`` at ``a max(D, L) + b`` (``n >= L y >= L f`` and ``n >= D f``: the LP
relaxation's rate). The cheapest shares summing to one (a fractional knapsack, sorted) bound
the node. Branching: an undecided option with a share (used / unused), then a used option's
fractional count (``n <= floor``, ``n >= ceil``). The bound it returns is proven: the smallest
bound among the nodes it pruned, or the optimum found.

It gives up (None: the caller solves the block with a MILP solver) when the useful-parallelism
row cuts off a node's integral point (the relaxation ignores that row except to prune nodes
that cannot meet it at all) or after :data:`NODE_LIMIT` nodes. Checked against HiGHS on random
blocks and on the blocks of the optimiser's benchmark (tests/test_covering.py).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from planner.optimization.solve.lp import LinearProgram

#: Nodes explored before giving up (the caller then asks a MILP solver).
NODE_LIMIT = 4000
#: A count within this (relative) of a whole number is whole.
INTEGRAL_REL = 1e-9
#: A node is pruned when its bound is within this (relative) of the best plan found.
PRUNE_REL = 1e-10


@dataclass
class CoveringBlock:
    """A recognised covering block: per option its columns (``y`` -1 when it has none) and
    numbers, and the useful-parallelism row (``cap`` inf when there is none)."""

    n_col: list[int]
    f_col: list[int]
    y_col: list[int]
    a: list[float]
    b: list[float]
    d: list[float]
    low: list[int]  # L_i: the least count of a used option (1 without a y column)
    up: list[int]  # U_i: the largest count
    share_max: list[float]
    g: list[float]
    cap: float
    num_col: int
    open_rate: list[float] = field(default_factory=list)  # an undecided option's LP rate
    open_share: list[float] = field(default_factory=list)  # and its largest share
    used_rate: list[float] = field(default_factory=list)  # a used option's beyond its lo
    open_units: list[float] = field(default_factory=list)  # an undecided one's units a share

    def __post_init__(self) -> None:
        m = len(self.d)
        self.open_rate = [self.a[k] * max(self.d[k], self.low[k]) + self.b[k] for k in range(m)]
        self.open_share = [min(self.share_max[k], self.up[k] / self.d[k]) for k in range(m)]
        self.used_rate = [self.a[k] * self.d[k] + self.b[k] for k in range(m)]
        self.open_units = [self.g[k] * max(self.d[k], self.low[k]) for k in range(m)]


@dataclass(frozen=True)
class Roles:
    """Which rows and columns of a covering block play which part, by position: what
    :func:`recognise_roles` found. A block of the same shape (same columns, same rows over
    the same columns, other numbers: the same model formulated again at another deadline, or
    with another objective) is read again by :func:`fill` without classifying its rows.
    ``-1``: an option without a ``y`` column (then no ``y`` rows), or no cap row."""

    share_row: int
    f_col: tuple[int, ...]
    n_col: tuple[int, ...]
    y_col: tuple[int, ...]
    deadline_row: tuple[int, ...]  # n >= D f
    y_row: tuple[int, ...]  # f <= y
    low_row: tuple[int, ...]  # n >= L y
    up_row: tuple[int, ...]  # n <= U y
    cap_row: int
    num_col: int
    num_row: int


def recognise(lp: LinearProgram) -> CoveringBlock | None:
    """The covering block ``lp`` is (see the module docstring), or None for any other shape."""
    roles = recognise_roles(lp)
    return None if roles is None else fill(lp, roles)


def recognise_roles(lp: LinearProgram) -> Roles | None:
    """Classify the rows and columns of ``lp`` as a covering block's (:class:`Roles`), or None
    for any other shape. The numbers are checked by :func:`fill`, which must also accept
    them for ``lp`` to be a covering block."""
    if any(lo != 0.0 for lo in lp.lower) or any(up < 0.0 for up in lp.upper):
        return None
    share_rows = [
        i
        for i, c in enumerate(lp.row_coeffs)
        if lp.row_lower[i] == 1.0
        and lp.row_upper[i] == 1.0
        and all(v == 1.0 for v in c.values())
        and not any(lp.integer[j] for j in c)
    ]
    if len(share_rows) != 1:
        return None
    f_cols = list(lp.row_coeffs[share_rows[0]])
    is_f = {j: k for k, j in enumerate(f_cols)}
    m = len(f_cols)
    n_col, y_col = [-1] * m, [-1] * m
    deadline_row, y_row, low_row, up_row = [-1] * m, [-1] * m, [-1] * m, [-1] * m
    pending: list[int] = []
    cap_row = -1
    for i, c in enumerate(lp.row_coeffs):
        if i == share_rows[0]:
            continue
        lo, hi = lp.row_lower[i], lp.row_upper[i]
        fs = [j for j in c if j in is_f]
        if len(c) == 2 and len(fs) == 1:
            f = fs[0]
            other = next(j for j in c if j != f)
            k = is_f[f]
            if c[f] < 0 < c[other] and lo == 0.0 and hi == math.inf and lp.integer[other]:
                if n_col[k] != -1:  # a second deadline row for one share
                    return None
                n_col[k], deadline_row[k] = other, i
            elif c[f] > 0 > c[other] and c[f] == -c[other] and lo == -math.inf and hi == 0.0:
                if y_col[k] != -1:
                    return None
                y_col[k], y_row[k] = other, i
            else:
                return None
        elif not fs:
            pending.append(i)
        else:
            return None
    if -1 in n_col or len(set(n_col)) != m:
        return None
    is_n = {j: k for k, j in enumerate(n_col)}
    is_y = {j: k for k, j in enumerate(y_col) if j != -1}
    for i in pending:
        c, lo, hi = lp.row_coeffs[i], lp.row_lower[i], lp.row_upper[i]
        if len(c) == 2 and any(j in is_y for j in c) and any(j in is_n for j in c):
            y = next(j for j in c if j in is_y)
            n = next(j for j in c if j in is_n)
            k = is_y[y]
            if n_col[k] != n or not (c[n] > 0 > c[y]):
                return None
            if lo == 0.0 and hi == math.inf and low_row[k] == -1:
                low_row[k] = i
            elif lo == -math.inf and hi == 0.0 and up_row[k] == -1:
                up_row[k] = i
            else:
                return None
        elif (
            cap_row == -1
            and all(j in is_n and v >= 0 for j, v in c.items())
            and lo == -math.inf
            and math.isfinite(hi)
        ):
            cap_row = i
        else:
            return None
    if len(is_n) + len(is_f) + len(is_y) != lp.num_col:
        return None
    for k in range(m):
        if y_col[k] != -1 and (low_row[k] == -1 or up_row[k] == -1):
            return None
        if y_col[k] != -1 and not lp.integer[y_col[k]]:
            return None
        if lp.integer[f_cols[k]]:
            return None
    return Roles(
        share_rows[0],
        tuple(f_cols),
        tuple(n_col),
        tuple(y_col),
        tuple(deadline_row),
        tuple(y_row),
        tuple(low_row),
        tuple(up_row),
        cap_row,
        lp.num_col,
        len(lp.row_coeffs),
    )


def fill(lp: LinearProgram, roles: Roles) -> CoveringBlock | None:
    """The covering block ``lp`` is, read with ``roles`` (found by :func:`recognise_roles` on
    ``lp`` or on a block of the same shape), or None when its numbers break a condition of
    the shape (the caller then classifies it again). Every condition :func:`recognise_roles`
    put on the numbers is checked here, so ``fill(lp, roles)`` of a block of the same shape
    is ``recognise(lp)`` whenever it is not None."""
    rows, lower, upper = lp.row_coeffs, lp.row_lower, lp.row_upper
    if lp.num_col != roles.num_col or len(rows) != roles.num_row:
        return None
    if any(lo != 0.0 for lo in lp.lower) or any(up < 0.0 for up in lp.upper):
        return None
    s = roles.share_row
    if lower[s] != 1.0 or upper[s] != 1.0 or any(v != 1.0 for v in rows[s].values()):
        return None
    m = len(roles.f_col)
    d, low, up, share_max = [0.0] * m, [0] * m, [0] * m, [0.0] * m
    objective = lp.objective
    for k in range(m):
        f, n, y = roles.f_col[k], roles.n_col[k], roles.y_col[k]
        i = roles.deadline_row[k]
        c = rows[i]
        if not (c[f] < 0 < c[n] and lower[i] == 0.0 and upper[i] == math.inf):
            return None
        d[k] = -c[f] / c[n]
        if d[k] <= 0:
            return None
        u = lp.upper[n]
        lo_k = 1.0
        if y != -1:
            i = roles.y_row[k]
            c = rows[i]
            if not (c[f] > 0 > c[y] and c[f] == -c[y] and lower[i] == -math.inf and upper[i] == 0):
                return None
            i = roles.low_row[k]
            c = rows[i]
            if not (c[n] > 0 > c[y] and lower[i] == 0.0 and upper[i] == math.inf):
                return None
            lo_k = max(lo_k, -c[y] / c[n])
            i = roles.up_row[k]
            c = rows[i]
            if not (c[n] > 0 > c[y] and lower[i] == -math.inf and upper[i] == 0.0):
                return None
            u = min(u, -c[y] / c[n])
            if lp.upper[y] > 1.0 or objective.get(y, 0.0):
                return None
            if lp.upper[y] < 1.0:
                u = 0.0  # "pool used" fixed off (binary below 1): n <= U y = 0, f <= y = 0
        low[k] = max(1, math.ceil(lo_k * (1 - 1e-12)))
        up[k] = math.floor(u * (1 + 1e-12)) if math.isfinite(u) else 2**53
        share_max[k] = min(1.0, lp.upper[f])
    a = [float(objective.get(j, 0.0)) for j in roles.n_col]
    b = [float(objective.get(j, 0.0)) for j in roles.f_col]
    if any(v < 0 for v in a) or not all(map(math.isfinite, a + b)):
        return None
    g = [0.0] * m
    cap = math.inf
    if roles.cap_row != -1:
        i = roles.cap_row
        if lower[i] != -math.inf or not math.isfinite(upper[i]):
            return None
        at = {j: k for k, j in enumerate(roles.n_col)}
        for j, v in rows[i].items():
            if not v >= 0:  # NaN too
                return None
            g[at[j]] = float(v)
        cap = float(upper[i])
    return CoveringBlock(
        list(roles.n_col),
        list(roles.f_col),
        list(roles.y_col),
        a,
        b,
        d,
        low,
        up,
        share_max,
        g,
        cap,
        lp.num_col,
    )


def _relax(
    blk: CoveringBlock, state: list[int], lo: list[int], hi: list[int]
) -> tuple[float, list[float]] | None:
    """The node's bound and shares (None: no shares sum to one, or the useful row cannot be
    met). ``state``: -1 unused, 0 undecided, 1 used with counts in ``[lo, hi]``."""
    fixed = 0.0
    segments: list[tuple[float, float, int, float]] = []  # (rate, share, option, units)
    d, smax, a, b, g = blk.d, blk.share_max, blk.a, blk.b, blk.g
    units = 0.0  # of the relaxation's own shares (at least the fewest any plan needs)
    for k, s in enumerate(state):
        if s == 0:
            if blk.open_share[k] > 0:
                segments.append((blk.open_rate[k], blk.open_share[k], k, blk.open_units[k]))
        elif s > 0:
            fixed += a[k] * lo[k]
            units += g[k] * lo[k]
            first = min(smax[k], lo[k] / d[k])
            segments.append((b[k], first, k, 0.0))
            second = min(smax[k], hi[k] / d[k]) - first
            if second > 0:
                segments.append((blk.used_rate[k], second, k, g[k] * d[k]))
    segments.sort()
    left = 1.0
    cost = fixed
    shares = [0.0] * len(state)
    for rate, share, k, per in segments:
        take = left if share >= left else share
        shares[k] += take
        cost += rate * take
        units += per * take
        left -= take
        if left <= 0:
            break
    if left > 1e-12:
        return None
    cap = blk.cap * (1 + 1e-9) + 1e-9
    if units > cap and _fewest_units(blk, state, lo, hi) > cap:
        return None
    return cost, shares


def _fewest_units(blk: CoveringBlock, state: list[int], lo: list[int], hi: list[int]) -> float:
    """The fewest useful units (the cap row's ``sum g n``) any plan of the node has: a used
    option's ``lo`` units, its share beyond them at ``g D`` a share, an undecided one's at
    ``g max(D, L)``, the cheapest in units first."""
    units = 0.0
    need: list[tuple[float, float]] = []  # (units per share, share)
    for k, s in enumerate(state):
        if s == 0:
            if blk.open_share[k] > 0:
                need.append((blk.open_units[k], blk.open_share[k]))
        elif s > 0:
            units += blk.g[k] * lo[k]
            first = min(blk.share_max[k], lo[k] / blk.d[k])
            need.append((0.0, first))
            second = min(blk.share_max[k], hi[k] / blk.d[k]) - first
            if second > 0:
                need.append((blk.g[k] * blk.d[k], second))
    left = 1.0
    for per, share in sorted(need):
        take = min(share, left)
        units += per * take
        left -= take
        if left <= 0:
            break
    return units


def solve_covering(
    blk: CoveringBlock, node_limit: int = NODE_LIMIT
) -> tuple[str, float, np.ndarray | None] | None:
    """``(status, proven bound, point)`` of a covering block (status ``optimal`` or
    ``infeasible``, bound ``inf`` then), or None when it gives up (see the module docs)."""
    m = len(blk.d)
    state0 = [0 if blk.up[k] >= blk.low[k] and blk.share_max[k] > 0 else -1 for k in range(m)]
    best = math.inf
    best_point: tuple[list[int], list[float]] | None = None
    pruned = math.inf  # the least bound among nodes cut off by the best plan
    root = _relax(blk, state0, [0] * m, [0] * m)
    if root is None:
        return "infeasible", math.inf, None
    heap: list[tuple[float, int, list[int], list[int], list[int], list[float]]] = []
    count = 0
    heapq.heappush(heap, (root[0], count, state0, [0] * m, [0] * m, root[1]))
    nodes = 0
    while heap:
        bound, _, state, lo, hi, shares = heapq.heappop(heap)
        if bound >= best - PRUNE_REL * abs(best):
            pruned = min(pruned, bound)  # best first: every node left is bounded as well
            break
        nodes += 1
        if nodes > node_limit:
            return None
        pick, frac = -1, -1.0
        for k in range(m):  # an undecided option with a share: used or not
            if state[k] == 0 and shares[k] > frac and shares[k] > 0:
                pick, frac = k, shares[k]
        children: list[tuple[list[int], list[int], list[int]]] = []
        if pick >= 0:
            used_lo, used_hi, st = list(lo), list(hi), list(state)
            st[pick], used_lo[pick], used_hi[pick] = 1, blk.low[pick], blk.up[pick]
            off = list(state)
            off[pick] = -1
            children = [(st, used_lo, used_hi), (off, list(lo), list(hi))]
        else:
            for k in range(m):  # a used option whose count is not whole
                if state[k] > 0:
                    v = blk.d[k] * shares[k]
                    if v > lo[k] and abs(v - round(v)) > INTEGRAL_REL * max(1.0, v):
                        pick, frac = k, v
                        break
            if pick >= 0:
                down_hi, up_lo = list(hi), list(lo)
                down_hi[pick] = math.floor(frac)
                up_lo[pick] = math.ceil(frac)
                if up_lo[pick] <= hi[pick]:
                    children.append((list(state), up_lo, list(hi)))
                children.append((list(state), list(lo), down_hi))
        if pick < 0:  # integral: a plan
            counts = [
                max(lo[k], round(blk.d[k] * shares[k])) if state[k] > 0 else 0 for k in range(m)
            ]
            if sum(gk * nk for gk, nk in zip(blk.g, counts, strict=True)) > blk.cap * (1 + 1e-9):
                return None  # the useful row cuts this point off: not this solver's job
            if bound < best:
                best, best_point = bound, (counts, shares)
            continue
        for st, clo, chi in children:
            res = _relax(blk, st, clo, chi)
            if res is None:
                continue
            if res[0] >= best - PRUNE_REL * abs(best):
                pruned = min(pruned, res[0])
                continue
            count += 1
            heapq.heappush(heap, (res[0], count, st, clo, chi, res[1]))
    if best_point is None:
        return "infeasible", math.inf, None
    counts, shares = best_point
    x = np.zeros(blk.num_col)
    for k in range(m):
        x[blk.n_col[k]] = counts[k]
        x[blk.f_col[k]] = shares[k]
        if blk.y_col[k] != -1:
            x[blk.y_col[k]] = 1.0 if counts[k] > 0 else 0.0
    return "optimal", min(best, pruned), x
