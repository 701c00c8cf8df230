"""Goodput that falls with scale in the two linear optimisers: a fixed-point re-solve.

The single-site optimiser (:mod:`planner.optimization.cluster`) and the build-out
(:mod:`planner.optimization.buildout`) are linear in systems: each (run, chip) pair has ONE
coefficient for the work a system does, so neither can follow ``goodput(N)`` of the failure
model (:mod:`planner.training.goodput`) inside the solve. Both state a goodput per (run, chip)
pair and re-solve until it is the goodput of the GPUs they chose:

1. a first guess per pair: the failure model's goodput at the GPUs that chip needs for the
   run's deadline (the fixed point :func:`planner.sizing.gpus_for_deadline` solves, as
   ``planner size --days``), with its hot spares. With the ``time`` objective the plan ends
   far before the deadlines, on more GPUs: the guess is then moved to the whole systems each
   pair needs to end by the LP relaxation's earliest finish (plus the time tolerance) before
   the first solve (:func:`cluster_at_finish`; one LP, no MILP);
2. solve with the stated goodputs; read back the GPUs each run got on each chip;
3. the goodput (and hot spares) of the failure model at those GPUs replace the guesses of the
   pairs in the plan that are not settled (a settled pair, measured within :data:`REL_TOL`
   of what was stated, keeps its stated value, and the others theirs); when no value
   changes, the next solve would be the same model, so the counts are stable: converged.
   Otherwise re-solve, at most :data:`MAX_ITERATIONS` solves.

From the second solve on (:data:`DAMP_FROM`) a pair's goodput may only fall and its spares
only rise (the lowest goodput and the most spares of what it was stated at and what is
measured): two plans cannot alternate for ever, and a plan whose
goodput came out higher than assumed still meets its deadlines (its days are read back at its
own goodput(N)). A pair that no earlier plan used is damped against its first guess, which
the damping may keep: the plan then states that pair a goodput below the goodput(N) of its
GPUs (never above), so its runs end no later than planned and it holds a little more than it
needs. The damped fixed point depends on the path of the solves (:data:`DAMP_FROM`). A loop
that stops at the cap, or at a time limit, says so (``converged`` False, and a note); a
re-solve the time limit stops before it finds a plan leaves the previous solve's plan.

Hot spares (``hot_spare_fraction`` of ``data/goodput_assumptions.csv``, whole systems) are
installed hardware, as in sizing: each pair's coefficients carry them per system
(``spares_per_gpu`` x the system's GPUs: bought, and in the peak power the grid must carry).

With mixed chips the spares are per RUN, not per pool (the CSV's fraction is "of the run's
GPUs": the backup nodes kept beside a training job, S. Bekman, "The Technology Behind BLOOM
Training", Hugging Face blog, 2022): a run on several pools keeps that fraction of all its
training GPUs, whole systems of its largest pool's chip, beside that pool, and its other
pools none (their hardware failures wait for a replacement node, which the failure model
charges). :func:`planner.optimization.cluster.readback._run_spares` applies it on read-back,
so the goodput measured for a small top-up pool is its own, with no spare, and stays put.
Charging every pool a whole spare system made a one-rack pool (4 systems) carry 25% spares:
measured at its GPUs it became dearer than every chip still stated at its deadline count,
so the top-up moved to another chip at each solve (20 runs x 13 chips, cost: 6 solves, not
converged; with spares per run: 2 solves).

Only the plan of the last solve is diagnosed: the re-solves leave the limits' binding tests
out and the loop runs them once, on the plan it returns (its outcome read back again, no new
solve); with the ``time`` objective each re-solve starts its search for the earliest finish
at the previous plan's (a narrower first bracket).

A run that states its goodput (``runs[i].goodput``), or whose chip has no generation in the
failure model's table (a user's catalog), keeps the stated (or default) goodput: it takes no
part in the loop.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planner.errors import InputError, ResultOutOfRange

#: Most solves of one plan (the first included). A cost plan usually converges at the first
#: (its counts are the deadline counts the guess was made at); the time objective and mixed
#: chips move the counts and take two or three (``benchmarks/bench_optimize.py``, 200 runs x
#: 13 chips: 3 for mixed cost and for time either way). Before the time objective's first
#: guess moved to the LP's earliest finish and the damping to the second solve, that
#: benchmark's mixed time plan took 7 (the hot spares of a pool are whole systems, so its
#: spares per GPU saw-tooth with its count and settle only once damped), and the cap of 6
#: stopped it one solve short, NOT CONVERGED: hence 8, kept as the margin.
MAX_ITERATIONS = 8
#: A pair is settled when the goodput(N) measured at its GPUs is what was stated, or higher by
#: at most this fraction (the plan then holds up to 0.1% more GPUs than the failure model
#: needs: the optimiser's own proven gap on mixed chips and the time objective), and its hot
#: spares are what was stated, or fewer by at most this fraction (whole systems were paid for).
#: Never settled the other way: a goodput below the stated one would stretch a run past its
#: deadline, spares above it would be hardware the plan did not count.
REL_TOL = 1e-3
#: Floating-point noise allowed the other way.
_EPS = 1e-9
#: From this solve on, a pair's goodput only falls and its spares only rise (against what was
#: measured at an earlier plan's GPUs: :func:`fixed_point`). Was 3: on the optimiser's
#: benchmark (200 runs x 13 chips, time objective, mixed chips) the second and third solves
#: still swung the latest finish by 2-4% (a pool's whole-system spares), one solve more for
#: the same optimum. The damped fixed point depends on the path the solves take, so the
#: plan it settles on may differ from the one an undamped or later-damped loop would reach:
#: the time objective's finish moved by -3.0% to +0.14% on the benchmark's 12 and 20 runs
#: and ``my_site`` (measured with the LP first guess too; each plan proven within 0.1% of its
#: own model and read back at goodput(N) of its GPUs). No bound on that is claimed.
DAMP_FROM = 2


@dataclass(frozen=True)
class AssumedGoodput:
    """The goodput a linear optimiser states for one (run, chip) pair, and where it is from.

    ``gpus``: the training GPUs it is the failure model's goodput at; ``spares_per_gpu``: hot
    spare GPUs per training GPU there (whole systems, so not a constant);
    ``mtbf_hours`` / ``checkpoint_interval_s``: the failure model's chain at those GPUs.
    """

    goodput: float
    spares_per_gpu: float
    gpus: float
    mtbf_hours: float
    checkpoint_interval_s: float
    spare_gpus: float

    @property
    def source(self) -> str:
        return (
            f"failure model (planner.training.goodput) at {self.gpus:,.0f} GPUs: MTBF "
            f"{self.mtbf_hours:.3g} h, a checkpoint every {self.checkpoint_interval_s / 60:.3g} "
            f"min, {self.spare_gpus:,.0f} hot-spare GPUs; stated to the linear optimiser "
            "(planner.optimization.goodput_loop)"
        )

    def same(self, other: AssumedGoodput | None) -> bool:
        """Whether ``self`` (measured at a plan's GPUs) settles ``other`` (what the solve
        stated): :data:`REL_TOL`, one way only."""
        if other is None:
            return False
        g, g0 = self.goodput, other.goodput
        s, s0 = self.spares_per_gpu, other.spares_per_gpu
        return bool(
            g0 * (1 - _EPS) <= g <= g0 * (1 + REL_TOL)
            and s0 * (1 - REL_TOL) - 1e-15 <= s <= s0 * (1 + _EPS) + 1e-15
        )

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}


def from_sizing(result: Any, i: int | None = None) -> AssumedGoodput | None:
    """The :class:`AssumedGoodput` of a sizing whose goodput came from the failure model
    (row ``i`` of a vectorised one); ``None`` when the goodput was stated."""
    model = getattr(result, "goodput_model", None)
    if model is None:
        return None

    def at(value: Any) -> float:
        arr = np.asarray(value, dtype=float)
        return float(arr if arr.ndim == 0 else np.ravel(arr)[0 if i is None else i])

    gpus = at(result.gpus)
    spares = at(model["spare_gpus"])
    return AssumedGoodput(
        goodput=at(result.goodput),
        spares_per_gpu=spares / gpus,
        gpus=gpus,
        mtbf_hours=at(model["mtbf_hours"]),
        checkpoint_interval_s=at(model["checkpoint_interval_s"]),
        spare_gpus=spares,
    )


@dataclass(frozen=True)
class LoopReport:
    """How the fixed point ended: solves made, whether the counts were stable, and the GPUs
    each (run, chip) pair got at each solve."""

    iterations: int
    converged: bool
    max_iterations: int
    stopped_by: str = ""
    gpus_per_iteration: list[dict[str, float]] = field(default_factory=list)

    def note(self) -> str:
        if self.converged:
            return (
                f"goodput(N) of the failure model at each run's chosen GPUs (with its hot "
                f"spares installed): the counts were stable after {self.iterations} "
                f"solve{'s' if self.iterations != 1 else ''}"
            )
        why = self.stopped_by or f"the cap of {self.max_iterations} solves"
        return (
            f"NOT CONVERGED: goodput(N) re-solve stopped by {why} with the counts still "
            f"moving ({self.iterations} solves); each run's days are read back at goodput(N) "
            "of its final GPUs, but the choice was made at the previous solve's goodputs"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "converged": self.converged,
            "max_iterations": self.max_iterations,
            "stopped_by": self.stopped_by,
            "gpus_per_iteration": [dict(d) for d in self.gpus_per_iteration],
        }


Key = Hashable
#: ``step(assumed) -> (plan, measured)``: solve with the stated goodputs; ``measured`` is the
#: failure model's goodput at the GPUs the plan gave each pair it uses (empty: no plan; None:
#: the time limit stopped the solve before it found one).
Step = Callable[[dict[Any, AssumedGoodput]], tuple[Any, dict[Any, AssumedGoodput] | None]]


def fixed_point(
    step: Step,
    initial: dict[Any, AssumedGoodput],
    *,
    max_iterations: int = MAX_ITERATIONS,
    out_of_time: Callable[[], bool] | None = None,
) -> tuple[Any, dict[Any, AssumedGoodput], LoopReport]:
    """Re-solve until the goodput stated for every pair the plan uses is goodput(N) at the
    GPUs it got (module docstring). Returns the last plan, the goodputs it was solved with
    and the :class:`LoopReport`. A solve without a plan ends the loop (converged: there are
    no counts to follow), unless the step says it was stopped by the time limit (``measured``
    None): then the previous solve's plan is returned, NOT CONVERGED (or this one, without a
    plan, when there is no previous one).

    Damping (from solve :data:`DAMP_FROM`) holds a pair's goodput at the lowest and its spares
    at the most of what it was stated at and what is measured now. For a pair no earlier plan
    used, what it was stated at is still its first guess, so the damping can keep that guess
    (module docstring)."""
    if max_iterations < 1:
        raise InputError("max_iterations", max_iterations, "a whole number >= 1")
    assumed = dict(initial)
    history: list[dict[str, float]] = []
    plan: Any = None
    last: tuple[Any, dict[Any, AssumedGoodput]] | None = None
    for k in range(1, max_iterations + 1):
        plan, got = step(assumed)
        if got is None:  # stopped by the time limit before a plan
            if last is None:
                return (
                    plan,
                    assumed,
                    LoopReport(k, False, max_iterations, "the time limit", history),
                )
            return (
                last[0],
                last[1],
                LoopReport(k - 1, False, max_iterations, "the time limit", history),
            )
        measured = got
        history.append({_label(key): g.gpus for key, g in measured.items()})
        if not measured:
            return plan, assumed, LoopReport(k, True, max_iterations, "", history)
        last = (plan, assumed)
        nxt = dict(assumed)
        for key, g in measured.items():
            old = assumed.get(key)
            if g.same(old):
                continue  # settled: its stated value stays (the next model changes less)
            if k >= DAMP_FROM and old is not None:
                g = dataclasses.replace(
                    g,
                    goodput=min(g.goodput, old.goodput),
                    spares_per_gpu=max(g.spares_per_gpu, old.spares_per_gpu),
                )
            nxt[key] = g
        if all(nxt[key].same(assumed.get(key)) for key in measured):
            return plan, assumed, LoopReport(k, True, max_iterations, "", history)
        if k == max_iterations:
            break
        if out_of_time is not None and out_of_time():
            return plan, assumed, LoopReport(k, False, max_iterations, "the time limit", history)
        assumed = nxt
    return plan, assumed, LoopReport(max_iterations, False, max_iterations, "", history)


def _label(key: Any) -> str:
    return " on ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


# --------------------------------------------------------------------------------------
# The first guess: goodput(N) at the GPUs each chip needs for the deadline
# --------------------------------------------------------------------------------------


def deadline_goodputs(
    chip: Any,
    works: list[Any],
    deadlines_days: list[float],
    assumptions: list[Any],
    most_gpus: list[float] | None = None,
) -> list[AssumedGoodput | None]:
    """The failure model's goodput (with spares) at the GPUs ``chip`` needs for each work by
    its deadline (:func:`planner.sizing.size_training` with ``days``): one vectorised call
    per group of equal assumptions (the MFU may differ per run). A run the core cannot size
    by its deadline (no cluster can: failures cap a synchronous run) gets the goodput at
    ``most_gpus`` (the most it may use; default :data:`planner.sizing.MAX_GPUS`): the best it
    can do, too little for the deadline, so the pair cannot be chosen for it; ``None`` when
    even that fails. ``assumptions`` must take goodput from the failure
    model (:func:`planner.sizing.goodput_from_failure_model`)."""
    days = np.asarray([float(d) for d in deadlines_days])
    return _grouped(
        chip,
        works,
        assumptions,
        lambda members: {"days": days[members]},
        lambda i: _one_deadline(
            chip, works[i], deadlines_days[i], assumptions[i], _most(most_gpus, i)
        ),
    )


def goodputs_at_gpus(
    chip: Any, works: list[Any], gpus: list[float], assumptions: list[Any]
) -> list[AssumedGoodput | None]:
    """The failure model's goodput (with spares) of each work on ``chip`` at ``gpus`` (whole
    systems), as :func:`deadline_goodputs` sizes them; a run the core rejects gets ``None``."""
    from planner.sizing import size_training

    count = np.asarray([float(n) for n in gpus])

    def one(i: int) -> AssumedGoodput | None:
        try:
            return from_sizing(
                size_training(works[i], chip, gpus=gpus[i], assumptions=assumptions[i])
            )
        except (ResultOutOfRange, InputError):
            return None

    return _grouped(chip, works, assumptions, lambda members: {"gpus": count[members]}, one)


def _grouped(
    chip: Any,
    works: list[Any],
    assumptions: list[Any],
    at: Callable[[list[int]], dict[str, Any]],
    one: Callable[[int], AssumedGoodput | None],
) -> list[AssumedGoodput | None]:
    """One vectorised :func:`planner.sizing.size_training` call per group of equal assumptions
    (the MFU may differ per run), at ``at(members)`` (``days`` or ``gpus`` per member); a
    group the core rejects, or whose MFU is the run model's per run, is sized run by run by
    ``one(i)``."""
    from planner.sizing import checkpoint_params, size_training
    from planner.workloads import TrainingRun

    out: list[AssumedGoodput | None] = [None] * len(works)
    groups: dict[str, list[int]] = {}
    for i, a in enumerate(assumptions):
        groups.setdefault(_key(a), []).append(i)
    for members in groups.values():
        a = assumptions[members[0]]
        if not (a.mfu_from_run_model and len(members) > 1):  # the run model's MFU: per run
            mfu = np.asarray([float(assumptions[i].mfu) for i in members])
            grouped = a if np.all(mfu == mfu[0]) else dataclasses.replace(a, mfu=mfu)
            run = TrainingRun(
                flops=np.asarray([float(works[i].total_flops()) for i in members]),
                params=np.asarray([float(checkpoint_params(works[i])) for i in members]),
            )
            try:
                res = size_training(run, chip, assumptions=grouped, **at(members))
                for j, i in enumerate(members):
                    out[i] = from_sizing(res, j)
                continue
            except (ResultOutOfRange, InputError):
                pass
        for i in members:
            out[i] = one(i)
    return out


def _most(most_gpus: list[float] | None, i: int) -> float:
    from planner.sizing import MAX_GPUS

    return float(MAX_GPUS if most_gpus is None else min(most_gpus[i], MAX_GPUS))


def _one_deadline(
    chip: Any, work: Any, days: float, a: Any, most_gpus: float
) -> AssumedGoodput | None:
    from planner.sizing import size_training

    try:
        return from_sizing(size_training(work, chip, days=days, assumptions=a))
    except (ResultOutOfRange, InputError):
        pass
    systems = max(np.floor(most_gpus / chip.gpus_per_system), 1.0)
    try:
        return from_sizing(
            size_training(work, chip, gpus=systems * chip.gpus_per_system, assumptions=a)
        )
    except (ResultOutOfRange, InputError):
        return None


def _key(a: Any) -> str:
    """The assumptions' values without provenance and MFU (one sizing call per group)."""
    return repr(
        [(f.name, getattr(a, f.name)) for f in dataclasses.fields(a) if f.name not in _PER_RUN]
    )


_PER_RUN = ("sources", "mfu")


def stated(a: Any, entry: AssumedGoodput | None, gpus_per_system: float) -> tuple[Any, float]:
    """``(assumptions, spare GPUs per system)`` for sizing ONE system of a pair in a linear
    model: the pair's goodput stated (its source saying at which GPUs) and its spares per
    system; a run whose goodput is already stated (or has no failure model) is unchanged,
    with no spares."""
    from planner.sizing import goodput_from_failure_model

    if not goodput_from_failure_model(a):
        return a, 0.0
    if entry is None:  # no goodput(N) for this pair (a user's chip, or no deadline sizing)
        why = "default, stated (no goodput(N) for this pair): " + _default_source(a)
        return a.with_(why, goodput=a.goodput), 0.0
    return (
        a.with_(entry.source, goodput=entry.goodput),
        entry.spares_per_gpu * float(gpus_per_system),
    )


def _default_source(a: Any) -> str:
    return str(a.sources.get("goodput", "")).removeprefix("default: ")


# --------------------------------------------------------------------------------------
# The single-site optimiser
# --------------------------------------------------------------------------------------


def cluster_initial(scenario: Any, catalog: Any, chip_ids: list[str]) -> dict[Any, AssumedGoodput]:
    """The first guess of every (run, chip) pair whose run takes goodput(N): the failure
    model's goodput at the GPUs the chip needs for the run's deadline."""
    from planner.optimization.cluster.model import run_max_gpus
    from planner.sizing import failure_model, goodput_from_failure_model

    out: dict[Any, AssumedGoodput] = {}
    for chip_id in chip_ids:
        chip = catalog.get(chip_id)
        if failure_model([chip.id], 0, 1.0, chip.gpus_per_system) is None:
            continue
        specs, works, deadlines, each, most = [], [], [], [], []
        for spec in scenario.runs:
            if chip.dense_tflops_or_none(spec.precision) is None:
                continue
            a = scenario.assumptions_for(spec, chip)
            if not goodput_from_failure_model(a):
                continue
            specs.append(spec)
            works.append(spec.training_run())
            deadlines.append(float(spec.deadline_days))
            each.append(a)
            most.append(float(run_max_gpus(spec)))
        guesses = deadline_goodputs(chip, works, deadlines, each, most)
        for spec, g in zip(specs, guesses, strict=True):
            if g is not None:
                out[(spec.name, chip_id)] = g
    return out


def cluster_at_finish(model: Any, finish_days: float) -> dict[Any, AssumedGoodput]:
    """The goodput stated for each pair of ``model.goodput`` replaced by the failure model's
    at the whole systems the pair needs to end its run by ``min(deadline, finish_days)``
    (at least the pool's minimum with mixed chips, at most the run's useful ceiling): the
    time objective's first guess (:func:`solve_cluster`). The systems needed come from the
    model's days on one system (at the goodput it states)."""
    options = model.options
    scenario, catalog = model.scenario, model.catalog
    specs = {spec.name: spec for spec in scenario.runs}
    out = dict(model.goodput)
    keys = [k for k in options.index if k in model.goodput]
    by_chip: dict[str, list[Any]] = {}
    for key in keys:
        by_chip.setdefault(key[1], []).append(key)
    for chip_id, pairs in by_chip.items():
        chip = catalog.get(chip_id)
        rows = options.loc[pairs]
        one = rows["days_on_one_system"].to_numpy(dtype=float)
        days = np.minimum(rows["deadline_days"].to_numpy(dtype=float), finish_days)
        systems = np.ceil(one / days * (1 - 1e-12))
        systems = np.maximum(systems, rows["min_systems"].to_numpy(dtype=float))
        systems = np.clip(systems, 1.0, rows["ceiling_systems"].to_numpy(dtype=float))
        works = [specs[run].training_run() for run, _ in pairs]
        each = [scenario.assumptions_for(specs[run], chip) for run, _ in pairs]
        gpus = (systems * chip.gpus_per_system).tolist()
        for key, g in zip(pairs, goodputs_at_gpus(chip, works, gpus, each), strict=True):
            if g is not None:
                out[key] = g
    return out


def cluster_measured(plan: Any) -> dict[Any, AssumedGoodput]:
    """goodput(N) at the GPUs of every (run, chip) row of a cluster plan (its read-back
    sizings); rows whose goodput is stated are left out."""
    out: dict[Any, AssumedGoodput] = {}
    for key, res in getattr(plan, "sizings", {}).items():
        g = from_sizing(res)
        if g is not None:
            out[key] = g
    return out


#: What a cluster solve leaves in ``keep`` for the read-back of its plan.
_KEPT = ("outcome", "notes", "read_back")

#: Columns a cluster plan's rows gain: the goodput each run's days assume, the failure
#: model's MTBF and checkpoint interval at its GPUs, and the hot spares installed.
PLAN_COLUMNS = ("goodput", "mtbf_hours", "checkpoint_interval_s", "spare_gpus")


def solve_cluster(
    model: Any,
    solve_once: Callable[..., Any],
    *,
    time_limit_s: float | None = None,
    progress: Any = None,
    max_iterations: int = MAX_ITERATIONS,
    binding: bool = True,
    **kwargs: Any,
) -> Any:
    """:func:`planner.optimization.solve` with goodput(N): :func:`fixed_point` over
    ``solve_once(model, ...)`` (one solve of the cluster MILP and its read-back), the model
    rebuilt with each solve's goodputs. The plan's rows carry :data:`PLAN_COLUMNS`, its
    ``goodput_loop`` the :class:`LoopReport`, and its notes what it assumed. ``binding``: test
    which limits bind (once, on the last plan); False for a plan whose objective is all that
    is read (a sweep's points, a cross-check of solvers)."""
    start = time.perf_counter()
    current = {"model": model, "k": 0}
    keep: dict[str, Any] = {}  # the last solve's outcome, read back again with binding tests
    want_comparison = bool(kwargs.pop("comparison", True))
    summed = {"build_s": 0.0, "solve_s": 0.0, "solver_calls": 0.0}

    def remaining() -> float | None:
        if time_limit_s is None:
            return None
        return max(time_limit_s - (time.perf_counter() - start), 1e-3)

    def step(assumed: dict[Any, AssumedGoodput]) -> tuple[Any, dict[Any, AssumedGoodput] | None]:
        current["k"] += 1
        m = current["model"]
        # the previous solve's outcome and model, kept if this one is stopped without a plan
        before = ({k: keep[k] for k in _KEPT if k in keep}, m)
        if current["k"] > 1:
            m = m.with_goodput(assumed)
            current["model"] = m
        k = current["k"]

        def tagged(stage: str, done: int, total: int) -> None:
            progress(stage if k == 1 else f"goodput(N) solve {k}: {stage}", done, total)

        keep.pop("outcome", None)
        keep.pop("notes", None)
        plan = solve_once(
            m,
            time_limit_s=remaining(),
            stated_limit_s=time_limit_s,
            progress=None if progress is None else tagged,
            comparison=False,  # the side-by-side table is read once, for the last model
            binding=False,  # the limits' binding tests too: after the loop, on its last plan
            keep=keep,
            **kwargs,
        )
        for name in summed:
            summed[name] += float(plan.timings.get(name, 0.0))
        if not plan.feasible and plan.status != "infeasible" and out_of_time():
            for name in _KEPT:  # the last plan found stands (fixed_point returns it)
                keep.pop(name, None)
            keep.update(before[0])
            current["model"] = before[1]
            return plan, None
        return plan, (cluster_measured(plan) if plan.feasible else {})

    def out_of_time() -> bool:
        return time_limit_s is not None and time.perf_counter() - start >= time_limit_s

    if not model.goodput:
        plan = solve_once(
            model,
            time_limit_s=time_limit_s,
            progress=progress,
            comparison=want_comparison,
            binding=binding,
            **kwargs,
        )
        return _with_goodput(plan, LoopReport(1, True, max_iterations), model)
    if model.objective == "time":
        current["model"], keep["finish_hint"] = _time_first_guess(model, kwargs, remaining())
        if keep["finish_hint"] is None:
            del keep["finish_hint"]
    plan, _, report = fixed_point(
        step,
        dict(current["model"].goodput),
        max_iterations=max_iterations,
        out_of_time=out_of_time,
    )
    if "outcome" in keep and keep["outcome"].has_solution:
        # the last plan again (no new solve), with its limits' binding tests
        plan = solve_once(
            current["model"],
            time_limit_s=remaining(),
            stated_limit_s=time_limit_s,
            progress=progress,
            comparison=False,
            binding=binding,
            keep=keep,
            **kwargs,
        )
        for name in ("solve_s", "solver_calls"):
            summed[name] += float(plan.timings.get(name, 0.0))
    if want_comparison:
        from planner.optimization.cluster.readback import chip_comparison

        compare, compare_sizings = chip_comparison(current["model"])
        plan = dataclasses.replace(plan, comparison=compare, comparison_sizings=compare_sizings)
    # every solve of the loop counts: build, solver time and calls are summed over them
    plan.timings.update(summed)
    plan.timings["total_s"] = time.perf_counter() - start
    return _with_goodput(plan, report, model)


def _time_first_guess(
    model: Any, kwargs: dict[str, Any], time_limit_s: float | None
) -> tuple[Any, float | None]:
    """The time objective's model with its first guess moved from the deadlines to the
    finish it will likely get: each pair's goodput(N) at the systems it needs to end its run
    by ``min(deadline, M (1 + tolerance))`` (:func:`cluster_at_finish`), ``M`` the LP
    relaxation's earliest finish (a lower bound, 1-2% below the optimum). The plans of this
    objective end far before their deadlines on many more GPUs than the deadline guess, so
    the first solve at that guess was spent finding it out: 200 runs x 13 chips, one chip per
    run, 5 solves -> 3, mixed chips 6 -> 3 (``benchmarks/bench_optimize.py``). The model as
    it is when the bound gives nothing. Also returns where the first solve's search for the
    earliest finish starts: ``M`` (None without a bound; the bound of the model before the
    guess moved, so a hint, not a bound of the new model)."""
    from planner.optimization.cluster.algorithms import finish_lower_bound

    bound = finish_lower_bound(model, str(kwargs.get("solver", "highs")), time_limit_s)
    if not bound > 0 or bound >= max(model.deadline_days.values(), default=0.0):
        return model, None
    tolerance = kwargs.get("time_tolerance")
    tol = float(model.scenario.time_tolerance if tolerance is None else tolerance)
    return model.with_goodput(cluster_at_finish(model, bound * (1 + tol))), bound


def _with_goodput(plan: Any, report: LoopReport, model: Any) -> Any:
    """The plan with :data:`PLAN_COLUMNS` on its training rows (from its read-back sizings:
    goodput(N) at the row's GPUs, or the stated goodput with no MTBF), its loop report and
    a note."""
    runs = plan.runs
    if not runs.empty:
        columns: dict[str, dict[Any, float]] = {name: {} for name in PLAN_COLUMNS}
        for key, res in plan.sizings.items():
            columns["goodput"][key] = float(res.goodput)
            chain = res.goodput_model
            columns["spare_gpus"][key] = 0.0 if chain is None else float(chain["spare_gpus"])
            if chain is not None:
                columns["mtbf_hours"][key] = float(chain["mtbf_hours"])
                columns["checkpoint_interval_s"][key] = float(chain["checkpoint_interval_s"])
        runs = runs.copy()
        for name, values in columns.items():  # a row without a sizing (a service): NaN
            runs[name] = [values.get(key, np.nan) for key in runs.index]
    notes = list(plan.notes)
    if any(res.goodput_model is not None for res in plan.sizings.values()) or not report.converged:
        notes.append(report.note())
    from planner.optimization import grid_swing

    plan = dataclasses.replace(plan, runs=runs)
    runs = grid_swing.plan_rows(plan, model.scenario, model.catalog)
    if grid_swing.note(model.scenario):
        notes.append(grid_swing.note(model.scenario))
    return dataclasses.replace(plan, runs=runs, notes=notes, goodput_loop=report.to_dict())


# --------------------------------------------------------------------------------------
# The build-out
# --------------------------------------------------------------------------------------


def buildout_measured(plan: Any, data: Any, assumed: dict[Any, AssumedGoodput]) -> dict:
    """goodput(N) at the GPUs each run got on each chip in a build-out plan: its largest
    allocation over the quarters (the cluster it trains on; the allocation carries its hot
    spares, so the training systems are allocation / (1 + spares per GPU)), whole systems."""
    from planner.optimization.buildout.model import run_assumptions
    from planner.sizing import size_training

    out: dict[Any, AssumedGoodput] = {}
    schedule = plan.schedule
    if schedule.empty or "chip" not in schedule.columns:
        return out
    specs = {r.name: r for r in data.scenario.runs}
    top = schedule.groupby(["run", "chip"])["systems"].max()
    for (run_name, chip_id), systems in top.items():
        key = (run_name, chip_id)
        old = assumed.get(key)
        if old is None:
            continue
        work, chip, a = run_assumptions(specs[run_name], chip_id, data.scenario.network_overhead)
        training = float(systems) / (1.0 + old.spares_per_gpu)
        whole = max(np.ceil(training * (1 - 1e-9)), 1.0)
        res = size_training(work, chip, gpus=whole * chip.gpus_per_system, assumptions=a)
        g = from_sizing(res)
        if g is not None:
            out[key] = g
    return out


def buildout_frame(assumed: dict[Any, AssumedGoodput], used: set[Any]) -> Any:
    """One row per (run, chip) the plan trains on with goodput(N): the GPUs, goodput, MTBF,
    checkpoint interval and hot spares its work was counted at."""
    import pandas as pd

    rows = [
        {
            "run": run,
            "chip": chip,
            "gpus": g.gpus,
            "goodput": g.goodput,
            "mtbf_hours": g.mtbf_hours,
            "checkpoint_interval_s": g.checkpoint_interval_s,
            "spare_gpus": g.spare_gpus,
        }
        for (run, chip), g in assumed.items()
        if (run, chip) in used
    ]
    columns = ["run", "chip", "gpus", *PLAN_COLUMNS[:3], "spare_gpus"]
    return pd.DataFrame(rows, columns=columns)
