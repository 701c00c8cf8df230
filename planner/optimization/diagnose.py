"""Diagnose any optimisation model: which of its limits bind, and the least relaxation of a
limit that lets a plan exist.

A model takes part by implementing :class:`Diagnosable` (a :class:`typing.Protocol`, nothing
to inherit): its named limits with their current values and plain-English names, a copy with
one limit loosened (or removed), and a re-solve that answers an objective or "no plan". The
functions here only re-solve through that protocol; they know nothing of chips, sites or
quarters. The cluster model implements it in :mod:`planner.optimization.cluster.diagnosis`.

- :func:`binding_tests`: each limit loosened by ``fraction`` (default ``LOOSEN_FRACTION``,
  10%), re-solved one at a time; optionally removed altogether when 10% changes nothing;
- :func:`binds`: three-valued: True (a better objective with the limit looser: proven even by a
  re-solve stopped at its time limit), False (no better, both solves proven optimal), None
  (not tested or not proven);
- :func:`least_relaxation`: the least loosening of one limit that makes the model feasible, by
  bisection (for models without elastic rows).

A model whose limits can be set to any value (dates, deadlines, amounts) also implements
:class:`Relaxable` (``with_value`` and ``words``) and states, per :class:`Limit`, which way
loosens it (``relax``), how far a search may go (``loosest``) and whether only whole values
count (``integer``). Then:

- :func:`least_value`: the value closest to the current one at which a plan exists, moving
  that limit alone, rounded the loose way to two significant figures and re-checked;
- :func:`relaxations`: each limit alone; when no limit alone is enough, one combination that
  works when followed together (:func:`joint_relaxation`): the limits that must move together
  (a deletion filter over all limits at their loosest: what binds), moved by one common step
  along each one's path, then each tightened back as far as the others allow.

Every amount reported was re-solved as written, so following the advice works.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from planner.optimization.constants import DROPPED, LOOSEN_FRACTION

#: Bisection of a relaxation stops when the bracket is this close (relative).
RELAX_REL_TOL = 0.01
#: Most re-solves one bisection spends (a bracket spanning many decades, or a time limit).
MAX_BISECTIONS = 40


@dataclass(frozen=True)
class Limit:
    """One limit of a model: its key, its current value (in ``unit``) and plain-English name.

    For :func:`least_value` and :func:`relaxations` (a :class:`Relaxable` model): ``relax``
    ``"up"`` (more is looser: MW, units, a later deadline) or ``"down"`` (less is looser: an
    earlier date, a shorter lead time, a smaller share of demand); ``loosest`` the furthest
    value a search tries (None: not searched); ``integer`` whole values only.
    """

    name: str
    value: float | None
    label: str
    unit: str = ""
    relax: str = "up"
    loosest: float | None = None
    integer: bool = False

    @property
    def searchable(self) -> bool:
        return self.value is not None and self.loosest is not None and self.loosest != self.value


@dataclass(frozen=True)
class Relaxation:
    """A limit moved from ``current`` to ``needed`` (in ``unit``), and the advice in words.
    ``together``: part of a combination that works only when every part is followed."""

    limit: str
    current: float
    needed: float
    unit: str
    words: str
    together: bool = False


@dataclass(frozen=True)
class Trial:
    """One re-solve: the objective (model units; None: no plan found in the time left),
    whether it is proven optimal, and the model's own solution (opaque here)."""

    objective: float | None
    proven: bool = False
    solution: Any = None
    infeasible: bool = False


#: A binding test as reported: (objective with the limit looser or None, proven optimal).
Test = tuple[float | None, bool]


@runtime_checkable
class Diagnosable(Protocol):
    """What a model offers to be diagnosed (structural: implement the four methods)."""

    def limits(self) -> list[Limit]:
        """The limits that can bind, in the order they are reported."""
        ...

    def loosened(self, name: str, fraction: float | None) -> Diagnosable:
        """A copy with limit ``name`` raised by ``fraction`` of its value (None: removed)."""
        ...

    def resolve(self) -> Trial:
        """Solve this copy: its objective, or ``Trial(None, infeasible=...)``."""
        ...

    def improves(self, base: float, value: float) -> bool:
        """Whether ``value`` is a strictly better objective than ``base`` (beyond noise)."""
        ...


@runtime_checkable
class Relaxable(Diagnosable, Protocol):
    """A :class:`Diagnosable` whose limits can be set to any value, and worded."""

    def with_value(self, name: str, value: float) -> Relaxable:
        """A copy with limit ``name`` set to ``value`` (in the limit's unit)."""
        ...

    def words(self, name: str, value: float) -> str:
        """The advice "limit ``name`` from its current value to ``value``" in plain words."""
        ...


def binds(
    base: float | None, test: Test | None, improves: Callable[[float, float], bool]
) -> bool | None:
    """True / False, or None when the binding status was not tested (or not proven).

    A better objective with the limit looser proves it binds, even from a re-solve stopped
    at the time limit; "does not bind" needs both solves proven optimal.
    """
    if test is None or base is None:
        return None
    value, proven = test
    if value is None:
        return None
    if improves(base, value):
        return True
    return False if proven else None


def binding_tests(
    model: Diagnosable,
    base: float | None,
    *,
    fraction: float = LOOSEN_FRACTION,
    drop_unless_binding: bool = False,
    stop: Callable[[], bool] = lambda: False,
    report: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Test], dict[str, Trial]]:
    """Re-solve with each limit ``fraction`` looser, one at a time.

    Returns the tests by limit name (a name missing was not tested: ``stop()`` said the time
    ran out first; ``(None, False)``: the re-solve found no plan in the time left) and the
    re-solves that found a plan (their ``solution`` says what the limit holds back). With
    ``drop_unless_binding`` a limit that does not bind at ``fraction`` looser is also
    re-solved without the limit at all, reported under ``name + DROPPED``; that re-solve
    replaces the trial when it improves on ``base``.
    """
    tests: dict[str, Test] = {}
    trials: dict[str, Trial] = {}
    names = [limit.name for limit in model.limits()]
    for i, name in enumerate(names):
        if stop():
            break
        if report is not None:
            report(f"testing whether {name} binds", i, len(names))
        trial = model.loosened(name, fraction).resolve()
        if trial.objective is None:
            tests[name] = (None, False)
            continue
        tests[name] = (trial.objective, trial.proven)
        trials[name] = trial
        if (
            drop_unless_binding
            and base is not None
            and not model.improves(base, trial.objective)
            and not stop()
        ):
            dropped = model.loosened(name, None).resolve()
            if dropped.objective is not None:
                tests[f"{name}{DROPPED}"] = (dropped.objective, dropped.proven)
                if model.improves(base, dropped.objective):
                    trials[name] = dropped
    return tests, trials


def least_relaxation(
    model: Diagnosable,
    name: str,
    *,
    largest_fraction: float,
    rel_tol: float = 1e-3,
) -> float | None:
    """The least fraction by which limit ``name`` must be loosened for a plan to exist.

    Bisection over ``[0, largest_fraction]`` (looser is never harder), to ``rel_tol`` of the
    answer, rounded up so the fraction returned always works; None when even
    ``largest_fraction`` does not. For a model with elastic rows an exact answer is cheaper:
    this is for models without them.
    """

    def fits(fraction: float) -> bool:
        return model.loosened(name, fraction).resolve().objective is not None

    if model.resolve().objective is not None:
        return 0.0
    if not fits(largest_fraction):
        return None
    lo, hi = 0.0, float(largest_fraction)
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


# --- relaxations of a Relaxable model: any value, each limit alone or together ----------------


def fits(model: Diagnosable) -> bool:
    """Whether a re-solve of ``model`` finds a plan."""
    return model.resolve().objective is not None


def round_loose(value: float, relax: str, integer: bool) -> float:
    """Two significant figures (whole values for ``integer``), rounded the loose way: up for
    a limit that ``relax``es up, down for one that relaxes down."""
    if integer:
        return float(math.ceil(value - 1e-9) if relax == "up" else math.floor(value + 1e-9))
    if value == 0 or not math.isfinite(value):
        return float(value)
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    k = value / step
    return (math.ceil(k - 1e-9) if relax == "up" else math.floor(k + 1e-9)) * step


def along(limit: Limit, t: float) -> float:
    """The value a share ``t`` in [0, 1] of the way from the current value to the loosest:
    geometric where both are positive and a decade or more apart (a search over MW from 10 to
    100,000 halves the ratio, not the difference), else linear; whole values rounded loose."""
    lo, hi = float(limit.value or 0.0), float(limit.loosest if limit.loosest is not None else 0.0)
    if t >= 1.0:
        return hi
    if t <= 0.0:
        return lo
    if lo > 0 and hi > 0 and max(hi / lo, lo / hi) >= 10:
        v = lo * (hi / lo) ** t
    else:
        v = lo + t * (hi - lo)
    return round_loose(v, limit.relax, True) if limit.integer else v


def _close(limit: Limit, tight: float, loose: float) -> bool:
    """Whether the bracket is narrow enough: one whole step, or ``RELAX_REL_TOL`` of the
    looser end (at least 0.1% of the limit's scale, for a search towards zero)."""
    if limit.integer:
        return abs(loose - tight) <= 1
    scale = max(abs(float(limit.value or 0.0)), abs(float(limit.loosest or 0.0)))
    return abs(loose - tight) <= RELAX_REL_TOL * max(abs(loose), 1e-3 * scale, 1e-12)


def _bisect(ok: Callable[[float], bool], limit: Limit, stop: Callable[[], bool]) -> float:
    """The share ``t`` (of :func:`along`) closest to 0 that ``ok`` accepts, given ``ok(1)``."""
    tight, loose = 0.0, 1.0
    for _ in range(MAX_BISECTIONS):
        if stop() or _close(limit, along(limit, tight), along(limit, loose)):
            break
        mid = 0.5 * (tight + loose)
        v = along(limit, mid)
        if v == along(limit, loose):  # whole values: the same value, the same answer
            loose = mid
        elif v == along(limit, tight):
            tight = mid
        elif ok(mid):
            loose = mid
        else:
            tight = mid
    return loose


def _settle(model: Relaxable, limit: Limit, value: float, ok: Callable[[Relaxable], bool]) -> float:
    """``value`` rounded the loose way when the rounded value still fits, else as found."""
    rounded = round_loose(value, limit.relax, limit.integer)
    if rounded == value or ok(model.with_value(limit.name, rounded)):
        return rounded
    return value


def least_value(
    model: Relaxable, limit: Limit, *, stop: Callable[[], bool] = lambda: False
) -> float | None:
    """The value of ``limit`` closest to its current one at which a plan exists (the other
    limits as they are), or None when even ``limit.loosest`` is not enough (or the time ran
    out). Bisection along :func:`along`, then rounded the loose way and re-checked."""
    if not limit.searchable or stop():
        return None

    def ok_t(t: float) -> bool:
        return fits(model.with_value(limit.name, along(limit, t)))

    if not ok_t(1.0):
        return None
    value = along(limit, _bisect(ok_t, limit, stop))
    return _settle(model, limit, value, fits)


def relaxations(model: Relaxable, *, stop: Callable[[], bool] = lambda: False) -> list[Relaxation]:
    """Each limit alone at the least value that lets a plan exist; when none alone is enough,
    one combination that works when every part of it is followed (:func:`joint_relaxation`).
    """
    rows = []
    for limit in model.limits():
        if stop():
            break
        needed = least_value(model, limit, stop=stop)
        if needed is not None:
            rows.append(
                Relaxation(
                    limit.name,
                    float(limit.value or 0.0),
                    needed,
                    limit.unit,
                    model.words(limit.name, needed),
                )
            )
    if not rows and not stop():
        rows = joint_relaxation(model, stop=stop)
    return rows


def must_move(model: Relaxable, *, stop: Callable[[], bool] = lambda: False) -> list[Limit] | None:
    """The limits that must move together for a plan to exist: every searchable limit at its
    loosest, then each put back to its current value unless that leaves no plan (a deletion
    filter: removing any one of those returned leaves no plan with the others at their
    loosest). None when no plan exists even with every limit at its loosest."""
    limits = [lim for lim in model.limits() if lim.searchable]
    current = model
    for lim in limits:
        current = current.with_value(lim.name, float(lim.loosest))  # type: ignore[arg-type]
    if stop() or not fits(current):
        return None
    moved = []
    for lim in limits:
        if stop():
            moved.append(lim)
            continue
        back = current.with_value(lim.name, float(lim.value))  # type: ignore[arg-type]
        if fits(back):
            current = back
        else:
            moved.append(lim)
    return moved


def joint_relaxation(
    model: Relaxable, *, stop: Callable[[], bool] = lambda: False
) -> list[Relaxation]:
    """One combination of relaxations that works when all are followed (no order implied).

    :func:`must_move` finds the limits; they move by one common share of the way to their
    loosest (bisection), then each is tightened back alone as far as the others allow, and
    rounded the loose way. The returned combination was re-solved as written. Empty when no
    plan exists even at the loosest values (or the time ran out first)."""
    moved = must_move(model, stop=stop)
    if not moved:
        return []

    def at(values: dict[str, float]) -> Relaxable:
        out = model
        for name, v in values.items():
            out = out.with_value(name, v)
        return out

    def common(t: float) -> dict[str, float]:
        return {lim.name: along(lim, t) for lim in moved}

    # the common share, bisected (geometric or linear per limit, see :func:`along`)
    tight, loose = 0.0, 1.0
    for _ in range(MAX_BISECTIONS):
        if stop() or loose - tight <= RELAX_REL_TOL * loose:
            break
        mid = 0.5 * (tight + loose)
        if fits(at(common(mid))):
            loose = mid
        else:
            tight = mid
    values = common(loose)
    # each tightened back alone, the others where they are
    for lim in moved:
        if stop():
            break
        others = {k: v for k, v in values.items() if k != lim.name}
        here = replace(lim, loosest=values[lim.name])
        base = at(others)
        found = least_value(base, here, stop=stop) if here.searchable else None
        if found is not None:
            values[lim.name] = found
        else:
            values[lim.name] = _settle(base, lim, values[lim.name], fits)
    # each step kept a plan; a guard for solver noise (a stop leaves the values found so far)
    if not stop() and not fits(at(values)):  # pragma: no cover
        values = common(1.0)
    return [
        Relaxation(
            lim.name,
            float(lim.value or 0.0),
            values[lim.name],
            lim.unit,
            model.words(lim.name, values[lim.name]),
            together=True,
        )
        for lim in moved
    ]
