"""Optimisation: which chips, and how many systems, for a site's training runs and services.

Build, solve, read back (PyPSA/linopy style):

1. :func:`build_model` turns a validated :class:`planner.scenarios.Scenario` into a
   :class:`ClusterModel`: a plain table of coefficients per (run, chip), every one of them
   computed by the core (:func:`planner.sizing.size_training` for ONE system of that chip), plus
   the limits. No solver object is created here.
2. :func:`solve` formulates the mixed-integer programme as arrays from that table (see
   Numerics: a hand-built, row-scaled array LP), solves it with HiGHS (``highspy``, passed the
   CSR arrays directly; default) or CBC (bundled with PuLP, which only carries the arrays to
   it), and reads the solution back into a
   :class:`Plan`: per-run rows re-sized by :func:`planner.sizing.size_training` for the chosen
   chip and count (so the numbers are the core's, not re-derived), totals, the binding limits
   with their slack, the side-by-side of every candidate chip alone, and, when nothing fits,
   the minimal relaxations found by re-solving the model. Nothing downstream touches a solver
   object; infeasible is a Plan, never an exception.
3. :func:`pareto` re-solves over a deadline or grid sweep (:func:`pareto_days_values` picks
   the default deadlines for every face); :func:`solve_pyomo` builds the same MILP
   independently in Pyomo as a cross-check (the ``time`` objective by its own bisection).

Layout
------
``solve/`` is the solver layer, model-agnostic: :class:`~planner.optimization.solve.LinearProgram`
(arrays), ``solve_lp`` (HiGHS through ``highspy``, CBC through PuLP), ``solve_pyomo`` (any
Pyomo model, HiGHS through Pyomo's ``appsi_highs``), one ``SolveResult`` (status, objective,
proven gap, seconds, solver), :func:`quiet_stdout`. ``diagnose.py`` finds binding limits and
least relaxations of any model implementing its ``Diagnosable`` protocol. ``cluster/`` is the
model below: data (``model.py``), one function per constraint family (``formulation.py``),
re-solving algorithms (``algorithms.py``), its ``Diagnosable`` (``diagnosis.py``), relaxations,
read-back (``readback.py``, which never solves) and ``pyomo_check.py`` (an independent Pyomo
build of the same MILP: a cross-check, kept apart from the formulation on purpose so a slip in
one is caught by the other). ``constants.py``, ``messages.py`` and ``sweep.py`` are shared. The
name ``planner.optimization.solve`` is the function :func:`solve`; the solver layer is imported
by its full name: ``from planner.optimization.solve import solve_lp, solve_pyomo, SolveResult``.

The model
---------
Indices: runs ``r``, candidate chips ``c`` (pairs where the chip lacks the run's precision are
left out). For one system of chip ``c`` running all of run ``r`` the core gives: days
``D1[r,c]``, peak facility power ``P[r,c]`` (MW: nameplate x (1 + network) x PUE), energy
``E[r,c]`` (MWh), emissions, the run's cost in the pricing in force, and capex per system. Two
facts make the model linear: the systems needed to meet the deadline ``T[r]`` are
``N[r,c] = D1 / T``; and a run's energy, electricity, rental cost, amortised hardware and
emissions do not depend on the number of systems (more systems draw more power, and are
charged, for proportionally fewer hours: the GPU-hours are fixed by the run's work).

**Largest useful parallelism.** A run never gets more GPUs than it can use:
``runs[i].max_gpus`` if given, else its global batch (``runs[i].global_batch_tokens``, default
the DeepSeek LLM batch-size law ``0.2920 C^0.3271`` tokens for ``C`` FLOPs) over 1,024 tokens
per GPU per step (Llama 3 405B: 16M-token batches on 16,384 H100s): :func:`max_useful_gpus`
(1e17 FLOPs: 103 GPUs; 1e24: 20,200). Every count is also at most the core's
:data:`planner.sizing.MAX_GPUS`. Each row's ``ceiling_systems`` holds the bound; with mixed
chips one row per run caps the GPUs of all its pools together.

Variables: ``n[r,c]`` integer systems; ``f[r,c]`` the share of run ``r``'s FLOPs done on chip
``c`` (binary: one chip per run, how synchronous clusters are built; continuous in [0, 1] with
``allow_mixed_chips``, where each chip's pool trains its share and idle pools are not charged).

Constraints::

    sum_c f[r,c] = 1                                  every run is done
    n[r,c] >= ceil(N[r,c]) f[r,c]                     by its deadline (one chip per run)
    n[r,c] >= N[r,c] f[r,c],  n[r,c] >= f[r,c]        (mixed chips: a used pool has a system)
    n[r,c] <= U[r,c] f[r,c]                           (one chip per run only)
    sum_on-site n[r,c] G[r,c] <= grid_limit_mw        peak draw on the site grid, all at once
    sum n capex + sum f run_cost <= budget_usd        the plan's cost_usd (below)
    sum_r n[r,c] gpus_per_system[c] <= supply_gpus[c]
    racks[r,c] >= n[r,c] / systems_per_rack[c], sum racks <= max_racks   (on site; integer)

``G`` is the peak facility power of one system at the site's design-day PUE (``site.design_pue``;
else the facility profile's; else derived from the annual PUE by
:func:`planner.power.design_day_pue`): the core's sizing already carries it, so ``G = P``. Writing the
deadline as ``ceil(N) f`` (and ``n >= f``) keeps a tiny run (``N`` far below the solver's
feasibility tolerance) at one system or more: the core never sizes a run on zero systems.

**Pricing** (``candidates.pricing``, :data:`planner.assumptions.PRICING_MODES`; the plan's
``pricing``). ``capex``: ``capex`` per system is the whole cluster capex (servers, networking,
facility) and ``run_cost`` the electricity. ``amortized`` (the default): ``capex`` is 0 and
``run_cost`` is the amortised hardware for the run's hours + electricity. ``rent``: ``capex``
is 0 and ``run_cost`` the GPU-hours at rent. The cost objective and ``budget_usd`` are that
cost; the up-front price of the systems (``cluster_capex_usd``) is reported beside it under
every pricing.

Runs are concurrent (each on its own cluster, all drawing power at the same time); bought
systems (``amortized``, ``capex``) are on site. Rented systems (``pricing = "rent"``) are cloud
capacity off site: they count against no site limit (grid, racks), only against supply and
budget, and their energy and emissions are still in the totals. They are not limited by the
grid, so the ``time`` objective needs a supply cap for every rented chip.

Inference services (``[[services]]`` of the scenario) are rows beside the runs,
from :func:`planner.serving_plan.service_options` (``options["workload"] == "service"``; the
column and the service columns exist only when the scenario has services, so a scenario
without them builds exactly the old table). A service's ``N`` is the systems whose replicas
carry its PEAK demand at its latency targets: ``n >= ceil(N) f`` like a run, but a deadline
scale (the ``time`` objective, the deadline relaxation) never scales it. Its energy and
emissions have a fixed part (busy draw of the work served, times ``f``) and a part per
installed system (idle draw, times ``n``), over ``site.horizon_years``; its cost is capex per
system plus a running cost per system (rent, idle electricity) times ``n`` plus the fixed
electricity times ``f``. Its grid power is scaled by design / annual PUE like a run's, and the
grid, budget, supply and rack rows hold runs and services together. With services, a limit
that does not bind at 10% looser is also re-solved without the limit at all (a service often
changes chip only beyond 10%), and ``constraints["binds_for"]`` names the workloads whose chip
or count changes in that re-solve; an infeasible joint plan also lists, per service, a TPOT
target 1.5x longer and the largest share of its users that fits. With mixed chips, the speed
form's share of a service is its own ``g`` (``sum_c g = 1``, not the speed).

Objectives: ``cost`` (USD), ``power`` (peak facility MW of every system, rented ones off site
included; the grid limit counts only the on-site ones), ``energy`` (MWh), ``emissions``
(tCO2), ``gpus``; ties are broken lexicographically (then cost, then GPUs).
``time`` is lexicographic. First the earliest latest finish ``M = max_r days[r]`` (days,
every deadline met): for a trial ``M`` each run's deadline is ``min(T[r], M)``, a
feasibility MILP whose counts are forced (quick, one chip per run or mixed alike); the LP
relaxation of the speed form bounds ``M`` from below, and trials step up from it and bisect
until the best plan's own finish and the bound agree within ``MAKESPAN_REL_TOL`` (0.1%).
Then the least cost (and the later tie-breaks) among the plans whose runs all end by
``M (1 + time_tolerance)`` (``scenario.time_tolerance`` / ``solve(time_tolerance=)`` /
``--time-tolerance``, default 1%): not the last minutes bought at any price. The objective
value is the plan's latest finish, days.

**Mixed chips without slivers.** With ``allow_mixed_chips`` a (run, chip) pool that is used
has at least ``candidates.min_systems[chip]`` systems (default one whole rack:
``Scenario.systems_per_rack``; never more than the run's ceiling or its whole need on that
chip), through a binary per pool. Mixed plans are solved to a proven relative gap of
``MIXED_MIP_REL_GAP`` (0.1%), warm-started from the one-chip-per-run optimum.

**Runs as blocks** (mixed chips). Without the site and plan limits (grid, budget, supply,
racks: the coupling rows) the model falls apart into one small MILP per workload. Each
block's own optimum (``solve.blocks``; each block solved exactly by ``solve.covering``, a
branch and bound of its own in about 0.4 ms, HiGHS for any other shape; chips no block
optimum uses left out by a dominance bound) bounds that workload's part of any plan, so their
sum bounds the objective from below: the rounding of every run's systems, which a joint
branch and bound closes one run at a time (minutes at 20 runs), is closed from the root.
When the blocks' optima side by side meet the coupling rows they are the plan (proven); else
a Lagrangian bound over the row they break most (``solve.blocks.lagrange_bound``: each
block's minimum of the objective plus a multiple of its use of that row) tightens the bound,
its first point that meets every row is the plan when within the gap, and otherwise the joint
MILP runs with one bound row per block and multiplier. Tie-breaks (with mixed chips) get
``MIXED_TIE_BREAK_S`` seconds and a 1% gap: the objective stays proven. The ``time``
objective's feasibility trials with mixed chips ask the runs first: each run's least use of
the grid (then the budget) settles the trial (their sum over the limit proves no plan, and
the runs' least-use plans side by side, when they meet every row, are a plan); only a trial
they leave open goes to the joint MILP (first, with 0.5 s + 0.005 s per workload,
``cluster.algorithms.trial_limit_s``, when the last block trial was slow). ``plan.timings["mip_gap"]`` is the gap proven for the objective (for ``time``: of the
earliest latest finish).

Numerics
--------
The MILP is built as arrays (:class:`planner.optimization.solve.LinearProgram`), not through a modelling library, for
three reasons the alternatives did not offer when it was written: each row is scaled by a power
of two and tiny terms are cleaned before the solver sees them; the returned point is checked
against the UNSCALED rows (below); and HiGHS gets the CSR arrays in one call (200 runs x 13
chips, cost objective, one chip per run: 4 solver calls, 2.9 s in the solver, 5.0 s for the
whole solve on a 2-core machine at load 13; ``benchmarks/bench_optimize.py``). It is built in
units that keep it O(1): speed in
units of the fastest any plan could be (so ``z`` has a finite bound from the data and the speed
rows' coefficients are at most 1), cost in USD millions, each objective divided by its own
reference scale (every run on its best chip at the deadline), terms below ``CLEAN_REL`` of
their row dropped, each row scaled by a power of two around 1 (:func:`coefficient_range`
reports the result; the tests keep every shipped scenario within 1e-4..1e4). The MIP gaps are
explicit (``MIP_REL_GAP``, ``MIP_ABS_GAP``) for HiGHS and CBC, and every point a solver
returns is checked against every bound, integrality and UNSCALED row at ``CHECK_REL`` of the
row's size before it is read; a point that fails is re-solved with tight tolerances, then
reported as no solution. Solvers are quiet: their output goes to ``logging`` at DEBUG level,
never to stdout (:func:`quiet_stdout`). Long solves report their steps through
``solve(..., progress=callable)``.
"""

from __future__ import annotations

from planner.optimization.cluster.formulation import coefficient_range
from planner.optimization.cluster.model import ClusterModel, build_model, max_useful_gpus
from planner.optimization.cluster.pyomo_check import pyomo_available, solve_pyomo
from planner.optimization.cluster.readback import Plan
from planner.optimization.cluster.relaxations import (
    TPOT_RELAX_FACTOR,
    USER_SHARE_STEPS,
    ceil_at,
)
from planner.optimization.constants import (
    BUDGET_MUSD_DECIMALS,
    GRID_DECIMALS,
    LEX_TOL,
    LOOSEN_FRACTION,
    MAKESPAN_REL_TOL,
    MAX_RACKS,
    MAX_SWEEP_POINTS,
    MIP_ABS_GAP,
    MIP_REL_GAP,
    MIXED_MIP_REL_GAP,
    OBJECTIVES,
    SEARCH_REL_TOL,
    SOLVERS,
    SPEED_BACKOFF,
    SWEEP_PARAMETERS,
)
from planner.optimization.solve import (
    CHECK_REL,
    CLEAN_REL,
    INTEGRALITY_TOL,
    CoefficientRange,
    Progress,
    available_solvers,
    quiet_stdout,
)
from planner.optimization.sweep import (
    PARETO_FACTORS,
    PARETO_OBJECTIVE,
    pareto,
    pareto_days_values,
    parse_sweep,
)

# Last: the name ``solve`` is the function (the public API), not the solver-layer subpackage
# ``planner.optimization.solve`` (import from that one by its full name:
# ``from planner.optimization.solve import solve_lp, solve_pyomo, SolveResult``).
from planner.optimization.cluster.api import optimize, solve  # noqa: E402  isort: skip

__all__ = [
    "OBJECTIVES",
    "SOLVERS",
    "SWEEP_PARAMETERS",
    "MIP_REL_GAP",
    "MIP_ABS_GAP",
    "LEX_TOL",
    "SPEED_BACKOFF",
    "LOOSEN_FRACTION",
    "SEARCH_REL_TOL",
    "MAKESPAN_REL_TOL",
    "MIXED_MIP_REL_GAP",
    "MAX_SWEEP_POINTS",
    "GRID_DECIMALS",
    "BUDGET_MUSD_DECIMALS",
    "MAX_RACKS",
    "ClusterModel",
    "build_model",
    "max_useful_gpus",
    "CoefficientRange",
    "CLEAN_REL",
    "CHECK_REL",
    "INTEGRALITY_TOL",
    "coefficient_range",
    "available_solvers",
    "quiet_stdout",
    "Progress",
    "Plan",
    "ceil_at",
    "TPOT_RELAX_FACTOR",
    "USER_SHARE_STEPS",
    "solve",
    "optimize",
    "parse_sweep",
    "pareto",
    "pareto_days_values",
    "PARETO_FACTORS",
    "PARETO_OBJECTIVE",
    "pyomo_available",
    "solve_pyomo",
]
