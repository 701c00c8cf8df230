"""Benchmark the cluster optimiser on generated scenarios: R runs x 13 chips.

Run::

    .venv/bin/python benchmarks/bench_optimize.py                       # 5, 50, 200 runs
    .venv/bin/python benchmarks/bench_optimize.py --sizes 5,50 --objectives cost,time
    .venv/bin/python benchmarks/bench_optimize.py --mixed no --repeats 3
    .venv/bin/python benchmarks/bench_optimize.py --module /tmp/optimization_old.py  # compare

Prints numbers; asserts nothing. For each size, objective and chip mode (one chip per run,
mixed chips) it reports, for one full :func:`planner.optimization.solve` (objective,
tie-breaks, binding re-solves, read-back; no side-by-side table, no relaxations):

- ``build``: :func:`build_model` (the coefficient table from the core's ``size_training``);
- ``solve``: the whole ``solve()`` call (wall clock), ``cpu s``: the process CPU time of that
  call (every thread: on a shared machine the wall clock is inflated by other processes, the CPU
  time much less), and of it ``in solver``: time inside the solver calls, and the number of
  solver calls;
- ``gap``: the relative gap proven for the objective (``plan.timings["mip_gap"]``; ``-`` when
  the optimiser does not report one);
- the status and the objective value (to compare implementations: same value expected).

``--module PATH`` loads another copy of the optimiser to measure before/after on one machine:
a single-file version from before the package split (``git show
ced1bd7:planner/optimization.py > /tmp/old.py``). To compare two package versions, run this
script in each checkout.
``--time-limit-s`` bounds each ``solve()`` (default none; a plan that hits it says so).
``--pricing`` (default capex) prices the chips; ``--cold`` times every build as a new process
would (fresh scenario copy, run-model MFU cache cleared): without it an objective after the
first re-uses the scenario's cached assumptions.

Mixed chips, measured (``--sizes 20,200 --objectives cost,time --mixed yes --time-limit-s
120``, capex; 2 cores shared with other jobs, so each line gives wall seconds = build +
solve, and the solve's CPU seconds, every thread; "goodput(N)": the default, "0.9":
``--goodput 0.9``). Before: the code before the changes below; after: with them. Same
machine, 18:50-19:17 UTC, its load varying (2 to 6 on 2 cores): wall clocks are only
roughly comparable, and HiGHS's threads push the CPU seconds above the wall clock when the
machine is idle::

    runs objective goodput    before: wall / cpu s, solves   after: wall / cpu s, solves
      20 cost      0.9          4.7 /   3.9        5           1.9 /   1.7        5
      20 time      0.9         13.0 /  12.5       28           8.2 /  11.4       29
     200 cost      0.9         20.1 /  17.4        5          15.5 /  18.5        5
     200 time      0.9        101.1 / 110.3       33          79.6 / 108.9       33
      20 cost      goodput(N)  15.3 /  17.1       30 (*)      4.2 /   4.2        8
      20 time      goodput(N)  80.2 /  71.2      164         34.6 /  45.4       76
     200 cost      goodput(N) 147.9 / 113.9       22 (**)    32.6 /  45.9       11
     200 time      goodput(N) 122.5 / 115.1       41 (***) 123.6 / 168.7       47 (***)

(*) 6 solves, NOT CONVERGED. (**) stopped by the time limit, gap 1.9%; after: proven 0.000%.
(***) both stopped by the 120 s limit: before at a 119.9-day plan (gap 85.6%), after at
17.49 days (gap 0.41%).

Stated goodput gives the same optimum before and after (20 cost 2.05214e9 USD, 20 time
17.8954 days, 200 time 18.4936 days; 200 cost 2.09618e10 after vs 2.09620e10 before, both
proven within the 0.1% gap). With goodput(N) the model changed (hot spares per run), so the
values differ: 20 runs cost settles in 2 solves (before: 6, NOT CONVERGED), 20 runs time
in 5.

What changed: a tie-break's warm start was rejected when the cost optimum left a 1e-17 share
on an empty pool (the power tie-break then spent its 3 s finding nothing); hot spares per
run instead of per pool (the goodput(N) loop converges); a pool of a run checkpoints the
whole model; the limits' binding tests run once after the goodput(N) loop; a settled pair
keeps its stated goodput and the block cache ignores the overall objective scale (a
rebuilt model's unchanged runs are not solved again); a pool's count is bounded by its
workload's need on that chip (tighter big-M); the ``time`` objective's cost stage is a
tie-break capped at ``MIXED_TIE_BREAK_S``, its joint feasibility MILP gets 0.5 s + 0.005 s
per workload (was 2 s) before the per-run bounds, and each goodput(N) re-solve starts its
search at the previous finish.

Where the time goes (after), and why some cases stay above 5 s: a mixed-chip cost solve is
one small MILP per run (the block bounds: 13 chips x share, count and "pool used"; HiGHS
spends 40-70 ms on each, mostly root cuts and sub-MIP heuristics, for about 10 nodes), so
200 runs cost about 10 s before any joint work; the ``time`` objective is a search of about
12 feasibility trials, each near the earliest finish settled by the per-run blocks (one
MILP per run again: 5-8 s per trial at 200 runs), plus the binding tests' own searches; and
goodput(N) multiplies that by its solves (20 runs time: 5).

Second round (December 2026, 21:58-22:05 UTC, quiet machine, load 1.0-1.3; wall s = build +
solve, then the solve's CPU s; "before" is the first round's "after" above):

    runs objective goodput     before                 after
      20 cost      goodput(N)   4.2 /  4.2             3.2 /  3.8   proven 0.000%
      20 time      goodput(N)  34.6 / 45.4            26.9 / 35.6   proven 0.1%, 65 solver calls
     200 cost      goodput(N)  32.6 / 45.9            22.6 / 29.5   proven 0.000%
     200 time      goodput(N) 123.6 / 168.7 (0.41%)  123.7 / 170.3  stopped at 120 s, gap 0.20%
      20 cost      0.9          1.9 /  1.7             1.6 /  1.3
      20 time      0.9          8.2 / 11.4             5.4 /  7.9   proven 0.1%
     200 cost      0.9         15.5 / 18.5            13.3 / 16.0
     200 time      0.9         79.6 / 108.9           68.3 / 95.3   proven 0.1%

What changed: the block cache hashes a block's numbers without their last 12 mantissa bits
(``KEY_DROPPED_BITS``): a rebuilt model's unchanged runs differed by 1e-16 and were solved
again (200 runs, goodput(N) cost: the third solve re-solved 196 blocks, now 18); a limit's
use by blocks leaves out the chips no block optimum
needs (the dominance test the cost blocks already used: about 2 of 13 chips a run, the
rest can all top up a rounded pool); a search asks the blocks first after one joint timeout
while a block trial costs at most twice the joint limit (20 runs: 15 joint timeouts of 0.62 s
-> 5). 20 runs x ``time``, traced: 9.3 s in three cost tie-breaks stopped at their 3 s cap, 10
s in 18 block trials, 3 s in joint timeouts.

Tried and dropped: solving the blocks of one call on two threads (HiGHS's ``run`` in a
thread pool): 60 blocks alone looked 1.35x faster, but the 200-run cost solve took 33.9 and
36.3 s against 29.6 and 31.7 s one block after another (each pass of 200 blocks 8.2-10.0 s
against 7.3-8.5 s; with HiGHS at one thread as well, 34.3 against 30.0 s). HiGHS options for
the block MILPs (presolve off, heuristic effort 0, no
RINS/RENS/feasibility jump/root reduced-cost, symmetry off, a 1e-4 or 1e-3 gap, one thread):
every setting 25-37 ms a block against 28-33 ms, the root closes at 1-10 nodes; ``perf``
shows the time in HiGHS's worker scheduler, reduced-cost fixing and the feasibility-jump
heuristic, a fixed cost of each MILP. All blocks of a trial as ONE block-diagonal MILP: 5
blocks 0.16 s separately vs 0.52 s together, 20 blocks 0.51 s vs 37 s at a 1e-5 gap (60 s
without closing at 1e-6): the joint tree does not see the blocks' independence. What is left
is a block solver that knows the block's structure (a covering problem: whole systems of 13
chips, each with a minimum pool, whose shares sum to one), exact and checked against HiGHS:
about 30 ms a block now, which is 6 s a pass at 200 runs.

Third round (December 2026, 22:29-23:57 UTC, load 1.0-1.4; "before" is the second round's
"after" above, wall s = build + solve; "after" gives build + solve separately, the last run of
the day; the time objective's plans are proven within 0.1%, cost, energy and emissions within
0.000%)::

    runs objective goodput     before                          after: build + solve
      20 cost      goodput(N)   3.2                             0.21 +  0.83
      20 time      goodput(N)  26.9                             0.22 +  1.39
     200 cost      goodput(N)  22.6                             0.85 +  4.64  (4.6-6.8 s in 7 runs)
     200 time      goodput(N) 123.7 (stopped at 120 s, 0.20%)   0.90 + 12.24  (proven; 7 solves)
     200 energy    goodput(N)    -                              0.93 +  3.37
     200 emissions goodput(N)    -                              1.35 +  3.44
      20 cost      0.9          1.6                             0.05 +  0.30
      20 time      0.9          5.4                             0.04 +  0.34
     200 cost      0.9         13.3                             0.16 +  1.60
     200 time      0.9         68.3                             0.19 +  2.70

One chip per run, solve s at 200 runs, goodput(N): cost 1.25, time 13.1 -> 6.79, energy 0.92,
emissions 1.07 (stated 0.9: cost 0.62, time 2.45); 20 runs: all under 0.8 s. Every optimum
above equals the earlier one where both are proven to the same gap (stated 0.9: 20 and 200
runs cost 2.05214e9 and 2.09618e10); a time objective's finish moves within its 0.1% (20 runs,
0.9: 17.8954 -> 17.8885 days), and with goodput(N) the fixed point may settle on a
neighbouring plan (200 runs time: 17.5908 -> 17.6035 days, both proven within 0.1% of their
own model). The 200-run mixed time plan now converges (7 solves): with the cap of 6 solves it
stopped one short, NOT CONVERGED (``goodput_loop.MAX_ITERATIONS`` is now 8).

What changed:

- ``LinearProgram.scaled`` and ``.violation`` are array operations over all terms at once:
  the loop over 5,000 rows cost more than HiGHS (one chip per run, 200 runs, time: 13.1 ->
  8.8 s, the scaled arrays and the violation messages identical on 59 models).
- Each block is solved exactly by ``solve/covering.py``: a branch and bound over the block's
  pools whose relaxation is a sorted fractional knapsack (closed form), 0.35-0.55 ms a block
  against HiGHS's 25-45 ms, checked against HiGHS on 522 blocks of the benchmark (same
  optimum within 1.6e-7, every point meeting its rows) and on random blocks (a hypothesis
  property test). It gives up (HiGHS then solves the block) when the useful-parallelism row
  cuts off its integral point or after 4,000 nodes: 0 of the 522 blocks, 1-2% of random ones.
- A Lagrangian bound over the coupling row the blocks' optima break most (the grid, at the
  time objective's earliest finish): ``sum of block minima of c x + m a x - m h`` for the best
  multiplier of up to 14 (growing 8x, then bisecting), with each block's row at that
  multiplier added to the joint MILP. The time objective's cost tie-break stopped at its 3 s
  cap with a 1.0-1.3% gap three times in five at 20 runs; it now proves 0.1% in 0.1-1.1 s.
- A time trial asks the blocks first (0.03 s at 20 runs, 0.2-0.3 s at 200): 20 runs, every
  trial settled by them, no joint feasibility MILP at all.
- The earliest-finish search walks from the goodput(N) loop's hint (down from a plan, up from
  none, 2 rel_tol growing 4x) until two trials bracket the finish, then bisects, with no LP
  bound; with mixed chips its first step above the LP bound is rel_tol (the bound lies 1-2%
  below the optimum). 200 runs mixed: 51 -> 31 trials. (With one chip per run the 1e-6 first
  step stays: where the bound is tight it finds the exact optimum.)
- Block keys from a covering block's numbers (no scaled arrays), sub-programmes built as
  lists, and an early stop of a block trial once the blocks solved bound the use above the
  limit; a model rebuild reads its vectorised sizing once per field (200 runs: 1.53 ->
  1.33 s). The read-back sizes each pool once per goodput(N) solve (size_training calls at
  200 runs: 1,218 -> 784 for cost, 2,343 -> 1,442 for time) and the binding pass reuses the
  last step's read-back.
- A review's mends: ``highs_solve`` reports the gap of the point it returns when HiGHS's
  objective belongs to another (seen on a fuzzed model: the warm start handed back 2e-6 above
  the optimum with gap 0); the covering recogniser treats a "pool used" binary fixed at 0 as
  an unusable option (refusing the block sent the dominance-pruned blocks to HiGHS: 200 runs
  mixed time 13.6 -> 24.3 s until mended); a block the covering solver gave up on is not
  tried again.

Tried and dropped: the 1% tie-break gap for the time objective's cost stage (with the
Lagrangian bound the 0.1% gap is proven as fast); blocks with the Lagrangian bound for the
power tie-break of the cost objective (0.8-1.2 s a solve against 0.5 s, though its gap falls
from 0.8% to 0.005%).

What was left above 5 s after the third round, all with goodput(N), the default, at 200
runs: the time objective, 12.2 s with mixed chips and 6.8 s with one chip per run (7 and 5
goodput(N) solves).

Fourth round (8 December 2026, 01:40-01:44 UTC, the final code after its review; "before" is
the third round's code, 63c6a8c, run in its own worktree interleaved with "after" on the same
machine, two rounds each; solve s, build apart; the time objective proven within 0.1%, the
others 0.000%)::

    runs objective mixed  before (2 runs)   after (2 runs)   after / before (medians)
     200 cost      no      0.98, 1.08        0.58, 0.94       0.74
     200 cost      yes     4.84, 5.91        3.69, 4.23       0.74
     200 time      no      6.47, 7.09        2.83, 3.51       0.47
     200 time      yes    13.23, 14.38       3.35, 3.78       0.26
     200 energy    no      1.31, 1.22        0.60, 0.60       0.47
     200 energy    yes     3.26, 4.29        2.88, 2.92       0.77
     200 emissions no      1.15, 1.23        0.57, 0.63       0.50
     200 emissions yes     3.27, 4.00        2.80, 2.87       0.78
      20 any       any     <= 1.81           <= 0.57

Every 200-run solve, each objective, one chip per run and mixed, is now under 5 s (the
largest 4.23 s, mixed cost, in the round where the code before took 5.91 s for it; an earlier
pair of rounds the same hour, before the review's mends, gave 3.44-4.43 s for it and 3.74-4.36
s for mixed time: the machine's speed swings 20-40% within minutes, so compare within a
round). Optima: the same where the model is the same (cost, energy, emissions; 200 one-chip
time 17.6845 days); with goodput(N) the time objective's fixed point may settle on a
neighbouring plan (200 runs mixed 17.6035 -> 17.6039 days, 20 runs mixed 17.0913 ->
17.0233), each proven within 0.1% of its own model.

What changed:

- The time objective's goodput(N) loop starts where its plans end: the first guess of each
  (run, chip) pair is goodput(N) at the whole systems it needs to end by the LP relaxation's
  earliest finish (one LP; ``goodput_loop.cluster_at_finish``), not at its deadline, and the
  first search starts at that bound. Damping from the second solve (was the third). 200 runs:
  mixed 7 -> 3 solves, one chip 5 -> 3.
- A covering block's roles (which row is its share row, each pool's deadline, pool and
  useful-parallelism rows) are classified once per LP shape and read again with new numbers
  (``covering.fill``, every numeric condition re-checked; a hypothesis test and the real
  model's blocks check it equals ``recognise``); the block layout (labels, rows) is cached by
  the LP's shape. A mixed time solve classified 3,000 blocks and labelled 15 LPs: 0.69 -> 0.15 s.
- Searches: a re-solve walks from its hint in steps of one tolerance (2 trials, was 3); a
  binding test of the time objective walks from the finish the loosened limit would give in
  proportion (primary / 1.1) after its first trial, with no LP bound (3 trials, was 6-10).
- Read-back and sizing: a pool's grid share, a chip's prices and measured draw and a run's
  deadline test from dicts and one groupby, not a DataFrame row lookup each (read-back of
  384 pools 0.54-0.72 -> 0.33 s); model rebuilds key the assumptions by identity (0.20 ->
  0.15 s).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from types import ModuleType
from typing import Any

from planner.catalog import load_catalog
from planner.scenarios import Scenario, _run_model_mfu, scenario_from_dict

#: The five runs of the original benchmark (FLOPs, deadline days), cycled with a spread factor.
BASE_RUNS = [(2e25, 90), (3e24, 30), (5e24, 60), (1e24, 14), (8e24, 120)]


def scenario(n_runs: int = 5, pricing: str = "capex", goodput: float | None = None) -> Scenario:
    """``n_runs`` concurrent runs on every catalog chip (13), PUE 1.2, priced by
    data/chip_economics.csv (every shipped chip has a row) under ``pricing`` (default capex,
    the whole purchase: the former "buy" of this benchmark).

    Runs cycle through :data:`BASE_RUNS` with their FLOPs spread by up to x3 (deterministic),
    so no two runs are identical. The grid (12 MW per run) and the budget (USD 600M per run)
    grow with the number of runs, so the limits bind about as often at every size.
    ``goodput``: stated on every run (one MILP per solve); None: goodput(N) from the failure
    model, re-solved to its fixed point (planner.optimization.goodput_loop), as a user gets.
    """
    cat = load_catalog()
    assert len(cat) == 13, len(cat)
    runs = []
    for i in range(n_runs):
        flops, days = BASE_RUNS[i % len(BASE_RUNS)]
        spread = 1.0 + 2.0 * ((i * 37) % 101) / 100.0
        run = {"name": f"run{i}", "flops": flops * spread / 2.0, "deadline_days": days}
        if goodput is not None:
            run["goodput"] = goodput
        runs.append(run)
    return scenario_from_dict(
        {
            "title": f"benchmark: 13 chips x {n_runs} runs",
            "budget_usd": 6e8 * n_runs,
            "site": {"grid_limit_mw": 12.0 * n_runs, "pue": 1.2},
            "runs": runs,
            "candidates": {"chips": cat.ids, "pricing": pricing},
        },
        source="benchmark",
    )


def _load(path: str | None) -> ModuleType:
    if path is None:
        import planner.optimization as mod

        return mod
    spec = importlib.util.spec_from_file_location("planner._bench_optimization", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def bench_one(
    opt: ModuleType,
    s: Scenario,
    objective: str,
    mixed: bool,
    repeats: int,
    time_limit_s: float | None,
    cold: bool = False,
) -> dict[str, Any]:
    """Median build and solve times of ``repeats`` runs, with the last plan's numbers.

    ``cold``: each build starts from a fresh copy of the scenario with the run-model MFU cache
    cleared (what a new process pays); else a scenario's cached assumptions are re-used
    (an objective after the first, a repeat).
    """
    builds, solves, cpus = [], [], []
    plan = None
    for _ in range(repeats):
        if cold:
            _run_model_mfu.cache_clear()
            s = s.model_copy(deep=True)
        start = time.perf_counter()
        model = opt.build_model(s, objective=objective, allow_mixed_chips=mixed)
        builds.append(time.perf_counter() - start)
        start, cpu = time.perf_counter(), time.process_time()
        plan = opt.solve(model, time_limit_s=time_limit_s, relaxations=False, comparison=False)
        solves.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    assert plan is not None
    return {
        "build_s": statistics.median(builds),
        "solve_s": statistics.median(solves),
        "cpu_s": statistics.median(cpus),
        "gap": plan.timings.get("mip_gap"),
        "solver_s": plan.timings["solve_s"],
        "calls": plan.timings["solver_calls"],
        "status": plan.status,
        "value": plan.objective_value,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="5,50,200", help="runs per scenario, comma-separated")
    parser.add_argument("--objectives", default="cost,time", help="comma-separated objectives")
    parser.add_argument("--mixed", choices=["no", "yes", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--time-limit-s", type=float, default=None)
    parser.add_argument("--pricing", default="capex", help="amortized, rent or capex")
    parser.add_argument(
        "--goodput",
        type=float,
        default=None,
        help="state this goodput on every run (one MILP per solve); default: goodput(N)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="every build from a fresh scenario copy with the run-model MFU cache cleared",
    )
    parser.add_argument(
        "--module",
        default=None,
        help="path of a single-file optimiser (optimization.py from before the package split)",
    )
    args = parser.parse_args(argv)
    opt = _load(args.module)
    load_catalog()  # warm the catalog cache
    modes = {"no": [False], "yes": [True], "both": [False, True]}[args.mixed]
    print(f"optimiser: {opt.__file__}")
    print(
        f"{'runs':>5} {'objective':<9} {'mixed':<5} {'build s':>8} {'solve s':>8} "
        f"{'cpu s':>8} {'in solver':>9} {'calls':>5} {'gap':>8}  status      value"
    )
    for size in (int(x) for x in args.sizes.split(",")):
        s = scenario(size, args.pricing, args.goodput)
        for objective in args.objectives.split(","):
            for mixed in modes:
                r = bench_one(
                    opt, s, objective, mixed, args.repeats, args.time_limit_s, cold=args.cold
                )
                value = "-" if r["value"] is None else f"{r['value']:.6g}"
                gap = "-" if r["gap"] is None else f"{r['gap']:.3%}"
                print(
                    f"{size:>5} {objective:<9} {str(mixed):<5} {r['build_s']:>8.2f} "
                    f"{r['solve_s']:>8.2f} {r['cpu_s']:>8.2f} {r['solver_s']:>9.2f} "
                    f"{r['calls']:>5.0f} {gap:>8}  {r['status']:<11} {value}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
