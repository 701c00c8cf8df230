"""Constants of the optimiser: objectives, solvers, gaps and tolerances, limits."""

from __future__ import annotations

from planner.scenarios import (
    Site,
)

OBJECTIVES: tuple[str, ...] = ("cost", "power", "energy", "emissions", "gpus", "time")
SOLVERS: tuple[str, ...] = ("highs", "cbc")
SWEEP_PARAMETERS: tuple[str, ...] = ("days", "grid_mw")
#: Relative MIP gap asked of every solver (the defaults, 1e-4 for HiGHS, would let two solvers
#: disagree in the fourth digit).
MIP_REL_GAP = 1e-7
#: Relative MIP gap with mixed chips: integer systems in every (run, chip) pool with shares
#: between them leave thousands of near-equal plans (0.1% apart) that a solver needs minutes to
#: tell apart at 1e-7; a plan proven within 0.1% of the optimum is what is asked.
MIXED_MIP_REL_GAP = 1e-3
#: Relative MIP gap of a tie-break stage with mixed chips (the objective itself is held within
#: ``LEX_TOL`` of its optimum by a row; the tie-break only picks among those plans, and proving
#: it to 0.1% costs minutes on large plans while the warm start is the objective's own optimum).
MIXED_TIE_BREAK_REL_GAP = 1e-2
#: Seconds (wall clock) a tie-break stage with mixed chips may take; then its best plan is kept.
MIXED_TIE_BREAK_S = 3.0
#: Absolute MIP gap, in units of the scaled objective (each objective is divided by its
#: reference scale, so it is about 1 per run; HiGHS' default 1e-6 in model units let a
#: 1e15-FLOP run's 1e-9 MWh differences through).
MIP_ABS_GAP = 1e-9
#: Tolerance of the lexicographic bounds (relative, plus the same times the objective's
#: reference scale).
LEX_TOL = 1e-6
#: The cost stage of the ``time`` objective runs at the fastest speed found, every deadline
#: stretched by this fraction: a speed shown feasible, with a margin off the boundary.
SPEED_BACKOFF = 1e-6
#: A limit "binds" when loosening it by this fraction improves the optimum (re-solve).
LOOSEN_FRACTION = 0.10
#: Relative precision of the search for the fastest plan (``time`` objective, deadline
#: relaxations): as tight as the MIP gap, so every solver reports the same optimum.
SEARCH_REL_TOL = 1e-7
#: Largest number of points of a ``--pareto`` sweep.
MAX_SWEEP_POINTS = 1000
#: Relaxation amounts are rounded UP to these decimals (shown as is): following the advice
#: literally gives a plan. Grid: 0.01 MW (10 kW); budget: USD 0.1M; GPUs and racks: whole.
GRID_DECIMALS = 2
BUDGET_MUSD_DECIMALS = 1
#: Largest rack count the scenario validator accepts (``Site.max_racks``).
MAX_RACKS = int(next(c.le for c in Site.model_fields["max_racks"].metadata if hasattr(c, "le")))
USD_PER_MUSD = 1e6
#: The pricing mode (:data:`planner.assumptions.PRICING_MODES`) that charges the whole purchase
#: to the plan: a cost per installed system. ``amortized`` charges the hardware's share of its
#: service life for the run's hours and ``rent`` the GPU-hours: for a run both are fixed by its
#: work, not by the count (a cost independent of ``n``, like electricity).
WHOLE_PURCHASE = "capex"
#: Column of each objective in the totals, and its unit.
OBJECTIVE_UNITS = {
    "cost": ("cost_usd", "USD"),
    "power": ("facility_power_mw", "MW"),
    "energy": ("energy_mwh", "MWh"),
    "emissions": ("emissions_tco2", "tCO2"),
    "gpus": ("gpus", "GPUs"),
    "time": ("longest_days", "days"),
}


#: Suffix of a ``loosen`` name that removes the limit instead of loosening it by 10%.
DROPPED = "!"


#: ``time`` objective: relative precision of the search for the earliest latest finish (the
#: reported latest finish is within this of the proven optimum: 0.1%).
MAKESPAN_REL_TOL = 1e-3
#: Precision of the same search in a binding test (is a 10% looser limit worth an earlier
#: finish, and about how much earlier: 1%).
BINDING_FINISH_REL_TOL = 1e-2
#: Batch-size scaling law of DeepSeek LLM (DeepSeek-AI, "DeepSeek LLM: Scaling Open-Source
#: Language Models with Longtermism", arXiv:2401.02954, 2024, section 3.1): the optimal global
#: batch is ``B_opt = 0.2920 C^0.3271`` tokens for a compute budget of ``C`` FLOPs (fitted
#: from 1e17 to 3e20 FLOPs; e.g. 2.1e7 tokens at 1e24 FLOPs).
BATCH_LAW_COEFFICIENT = 0.2920
BATCH_LAW_EXPONENT = 0.3271
#: Fewest tokens of the global batch each GPU works on per optimiser step: Llama 3 405B ran
#: 16M-token batches on 16,384 H100 GPUs (Llama Team, "The Llama 3 Herd of Models",
#: arXiv:2407.21783, 2024, section 3.3.2 and Table 4): 1,024 tokens per GPU, with 8-way tensor
#: and 16-way pipeline parallelism. Fewer tokens per GPU leave the GPUs waiting on
#: communication: a run cannot use more GPUs than its batch over this.
MIN_TOKENS_PER_GPU_STEP = 1024.0
