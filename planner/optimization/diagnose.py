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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from planner.optimization.constants import DROPPED, LOOSEN_FRACTION


@dataclass(frozen=True)
class Limit:
    """One limit of a model: its key, its current value (in ``unit``) and plain-English name."""

    name: str
    value: float | None
    label: str
    unit: str = ""


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
