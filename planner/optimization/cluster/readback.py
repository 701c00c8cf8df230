"""Read back: the solution as a :class:`Plan` (per-workload rows re-sized by the core, totals,
binding limits, the candidate chips side by side).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner._arrays import to_python
from planner.errors import ResultOutOfRange
from planner.optimization.cluster.formulation import Outcome
from planner.optimization.cluster.model import ClusterModel, _whole_systems
from planner.optimization.constants import (
    DROPPED,
    USD_PER_MUSD,
    WHOLE_PURCHASE,
)
from planner.optimization.diagnose import Test, binds
from planner.sizing import SizingResult, checkpoint_params, size_training
from planner.workloads import TrainingRun


@dataclass(frozen=True)
class Plan:
    """The answer: a plan, or why none fits and what would make one fit.

    Attributes
    ----------
    status : str
        ``optimal``; ``time_limit`` (the solver stopped at the time limit: best plan found);
        ``infeasible`` (no plan fits: see ``relaxations``); ``no_solution`` (the time limit
        ran out, or the solver stopped without a plan and without proving that none exists).
    runs : DataFrame
        One row per (run, chip) in the plan: systems, GPUs, share of the run's FLOPs, days,
        deadline_days, facility_power_mw (peak, annual PUE), grid_power_mw (peak on the site
        grid: design-day PUE, 0 for rented systems), energy_mwh, cost_usd (in the pricing in
        force) = capex_usd (whole purchase, ``capex`` only) + amortized_hardware_usd
        (``amortized`` only) + electricity_usd (bought systems) + rental_usd (``rent`` only);
        cluster_capex_usd (the up-front price of the row's systems under every pricing:
        reported, in cost_usd only under ``capex``; under ``rent`` what buying them would
        cost), emissions_tco2, pricing. Every number is
        :func:`planner.sizing.size_training`'s for that chip and count.
    totals : dict
        Sums over the runs (``cost_usd`` and ``cluster_capex_usd`` side by side under every
        pricing), and ``longest_days`` / ``longest_fraction_of_deadline`` (the largest days /
        deadline over the runs: :attr:`slowest_run` names that run).
    pricing : str
        The pricing in force (``amortized``, ``rent`` or ``capex``; the scenario's
        ``candidates.pricing``, former names normalised), which ``cost_usd`` and the budget
        follow.
    constraints : DataFrame
        Each limit: limit, used, slack, unit, ``binding`` and ``objective_if_10pct_looser``.
        A grid, budget, supply or rack limit binds when re-solving with it 10% looser gives a
        better objective (for ``time`` with mixed chips: a smaller common deadline scale).
        ``binding`` is True, False, or None = not tested (the time limit ran out before the
        re-solve, or the re-solve was stopped before it could prove anything). A deadline
        binds when one system fewer would miss it.
    comparison : DataFrame
        Every candidate chip alone for each run at its deadline, and whether it fits each limit.
    relaxations : DataFrame
        When infeasible: the least change of each limit alone that gives a plan (extra MW,
        more budget, more supply, more racks, another chip), found by re-solving; amounts are
        rounded UP at the shown precision, so the shown value works as written. The deadline
        rows are ONE common stretch of every deadline (the ratios between runs kept).
    sizings : dict
        ``(run, chip) -> SizingResult`` of each plan row (the core's numbers behind ``runs``).
    comparison_sizings : dict
        ``(run, chip) -> SizingResult`` behind ``comparison`` (each chip alone at the deadline).
    """

    status: str
    objective: str
    objective_value: float | None
    objective_unit: str
    solver: str
    allow_mixed_chips: bool
    message: str
    runs: pd.DataFrame
    totals: dict[str, float]
    constraints: pd.DataFrame
    comparison: pd.DataFrame
    relaxations: pd.DataFrame
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)
    pricing: str = ""
    sizings: dict[tuple[str, str], SizingResult] = field(default_factory=dict, repr=False)
    comparison_sizings: dict[tuple[str, str], SizingResult] = field(
        default_factory=dict, repr=False
    )
    #: How the goodput(N) re-solve ended (:class:`planner.optimization.goodput_loop.LoopReport`).
    goodput_loop: dict[str, Any] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "time_limit")

    @property
    def slowest_run(self) -> str | None:
        """The run with the largest days / deadline (``longest_fraction_of_deadline``)."""
        if self.runs.empty:
            return None
        part = self.runs.groupby(level="run")[["days", "deadline_days"]].max()
        return str((part["days"] / part["deadline_days"]).idxmax())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        return {
            "status": self.status,
            "objective": self.objective,
            "objective_value": to_python(self.objective_value),
            "objective_unit": self.objective_unit,
            "solver": self.solver,
            "allow_mixed_chips": self.allow_mixed_chips,
            "message": self.message,
            "pricing": self.pricing,
            "runs": _records(self.runs),
            "totals": {k: to_python(v) for k, v in self.totals.items()},
            "constraints": _records(self.constraints),
            "comparison": _records(self.comparison),
            "relaxations": _records(self.relaxations),
            "timings": {k: to_python(v) for k, v in self.timings.items()},
            "notes": list(self.notes),
            "goodput_loop": dict(self.goodput_loop),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    flat = frame.reset_index() if frame.index.names[0] is not None else frame
    return [{k: to_python(v) for k, v in row.items()} for row in flat.to_dict(orient="records")]


_RUN_COLUMNS = [
    "run",
    "chip",
    "systems",
    "gpus",
    "share",
    "days",
    "deadline_days",
    "facility_power_mw",
    "grid_power_mw",
    "average_facility_power_mw",
    "energy_mwh",
    "cost_usd",
    "capex_usd",
    "amortized_hardware_usd",
    "electricity_usd",
    "rental_usd",
    "cluster_capex_usd",
    "emissions_tco2",
    "pricing",
    "mfu",
    "pue",
    "design_pue",
]


def _read_back(
    m: ClusterModel, out: Outcome, cache: dict[Any, SizingResult] | None = None
) -> tuple[pd.DataFrame, dict[str, float], dict[tuple[str, str], SizingResult]]:
    """The plan's rows, totals and sizings: each pool sized by the core (``size_training``).

    ``cache``: sizings of earlier read-backs of the SAME scenario and catalog (one goodput(N)
    solve: its re-solves change a few pools, most stay), by (run, chip, systems, share, hot
    spares); the caller keeps it no longer than that."""
    rows, sizings = [], {}
    runs = {r.name: r for r in m.scenario.runs}
    spares_on = _run_spares(m, out)
    # each pool's grid share of its facility peak (one pass over the options, not a .loc each)
    options = m.options
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = options["grid_power_mw_per_system"].to_numpy(dtype=float) / options[
            "facility_power_mw_per_system"
        ].to_numpy(dtype=float)
    on_site = [bool(v) for v in options["on_site"]]
    grid_share_of = dict(zip(options.index, np.where(on_site, ratio, 0.0).tolist(), strict=True))
    for (run_name, chip_id), systems in out.n.items():
        share = out.f[(run_name, chip_id)]
        if systems <= 0 or (m.allow_mixed_chips and share <= 1e-9):
            continue
        if run_name not in runs:  # an inference service
            rows.append(_service_row(m, run_name, chip_id, systems, share))
            continue
        spec = runs[run_name]
        run = spec.training_run()
        if m.allow_mixed_chips and share < 1 - 1e-9:
            # a pool trains its share of the run's FLOPs on the same model: the checkpoint
            # (the failure model's write time) is the whole model's, as build_model sizes it
            run = TrainingRun(
                flops=float(run.total_flops()) * share,
                params=float(checkpoint_params(run)),
                active_params=run.effective_active_params,
                name=run_name,
            )
        else:
            share = 1.0
        chip = m.catalog.get(chip_id)
        pool_spares = spares_on.get((run_name, chip_id))
        key = (run_name, chip_id, systems, share, repr(pool_spares))
        if cache is not None and key in cache:
            res = cache[key]
        else:
            res = size_training(
                run,
                chip,
                gpus=systems * chip.gpus_per_system,
                assumptions=m.assumptions(run_name, chip_id),
                goodput_options=None if pool_spares is None else pool_spares[0],
            )
            if cache is not None:
                cache[key] = res
        if pool_spares is not None and res.goodput_model is not None:
            res.goodput_model["sources"] = {
                **res.goodput_model.get("sources", {}),
                "hot_spare_fraction": pool_spares[1],
            }
        sizings[(run_name, chip_id)] = res
        grid_share = grid_share_of[(run_name, chip_id)]
        rows.append(
            {
                "run": run_name,
                "chip": chip_id,
                "systems": systems,
                "gpus": res.gpus,
                "share": share,
                "days": res.days,
                "deadline_days": spec.deadline_days,
                "facility_power_mw": res.facility_power_mw,
                "grid_power_mw": float(res.facility_power_mw) * grid_share,
                "average_facility_power_mw": res.average_facility_power_mw,
                "energy_mwh": res.energy_mwh,
                "cost_usd": res.cost_usd,
                "capex_usd": res.capex_usd if res.pricing == WHOLE_PURCHASE else 0.0,
                "amortized_hardware_usd": (
                    float(res.amortized_cost_usd) - float(res.electricity_cost_usd)
                    if res.pricing == "amortized"
                    else 0.0
                ),
                "electricity_usd": res.electricity_cost_usd if res.pricing != "rent" else 0.0,
                "rental_usd": res.rental_cost_usd if res.pricing == "rent" else 0.0,
                "cluster_capex_usd": res.cluster_capex_usd,
                "emissions_tco2": res.emissions_tco2,
                "pricing": res.pricing,
                "mfu": res.mfu,
                "pue": res.pue,
                "design_pue": res.design_pue,
            }
        )
    columns = [*_RUN_COLUMNS, *_SERVICE_PLAN_COLUMNS] if m.services else _RUN_COLUMNS
    frame = pd.DataFrame(rows, columns=columns).set_index(["run", "chip"])
    if m.services:
        frame["workload"] = frame["workload"].fillna("run")
    totals = _totals(frame, m)
    return frame, totals, sizings


def _run_spares(m: ClusterModel, out: Outcome) -> dict[tuple[str, str], tuple[Any, str]]:
    """Hot spares per RUN, not per pool: for each run on several chip pools whose goodput
    comes from the failure model, ``{(run, chip): (GoodputOptions, source)}`` for its pools.

    ``hot_spare_fraction`` (``data/goodput_assumptions.csv``) is a fraction of the RUN's GPUs
    (the spare servers kept beside a training job: S. Bekman, "The Technology Behind BLOOM
    Training", Hugging Face blog, 2022: "we had backup nodes to use instead"), rounded up to
    whole systems. A run split over pools keeps that fraction of ALL its training GPUs, in
    whole systems of its largest pool's chip (most training GPUs; a tie: the first candidate),
    beside that pool; its other pools hold none (a hardware failure there waits
    ``node_replacement_hours`` for the node, which the failure model charges at the pool's
    own failure rate). Each pool's goodput stays the failure model's at its own GPUs.

    Charging every pool a whole spare system instead makes a 4-system pool (one rack: a
    pool's least size with mixed chips) carry 25% spares, so the goodput(N) re-solve
    (:mod:`planner.optimization.goodput_loop`) moves that pool between near-equal chips at
    every solve and never settles. Runs on one pool are left as sized (the rule is then the
    same)."""
    from planner.sizing import GoodputOptions, goodput_from_failure_model
    from planner.training.goodput import defaults_for

    if not m.allow_mixed_chips:
        return {}
    pools: dict[str, list[tuple[str, int]]] = {}
    for (run_name, chip_id), systems in out.n.items():
        if run_name in m.deadline_days and systems > 0 and out.f[(run_name, chip_id)] > 1e-9:
            gpus = int(systems) * int(m.catalog.get(chip_id).gpus_per_system)
            pools.setdefault(run_name, []).append((chip_id, gpus))
    found: dict[tuple[str, str], tuple[Any, str]] = {}
    for run_name, used in pools.items():
        if len(used) < 2:
            continue
        if not all(goodput_from_failure_model(m.assumptions(run_name, c)) for c, _ in used):
            continue
        try:
            fraction = {c: float(defaults_for(c).hot_spare_fraction) for c, _ in used}
        except Exception:  # noqa: BLE001 - a user's chip with no failure-model generation
            continue
        total = float(sum(g for _, g in used))
        main, main_gpus = max(used, key=lambda cg: cg[1])  # max keeps the first of a tie
        share = min(1.0, fraction[main] * total / main_gpus)
        text = (
            f"{fraction[main]:g} of the run's {total:,.0f} training GPUs on all its chips "
            f"(data/goodput_assumptions.csv), whole systems of {main}, held beside its "
            f"largest pool ({main_gpus:,.0f} GPUs of {main}); its other pools hold none"
        )
        for chip_id, _ in used:
            if chip_id == main:
                found[(run_name, chip_id)] = (GoodputOptions(hot_spare_fraction=share), text)
            else:
                found[(run_name, chip_id)] = (
                    GoodputOptions(hot_spare_fraction=0.0),
                    f"none: the run's hot spares are held beside its pool of {main} ({text})",
                )
    return found


#: Columns a plan's rows gain when the scenario has services (NaN for a run's rows, except
#: ``workload``): the service's peak systems, its replicas' GPUs, its decode batch, TPOT and
#: Wh per query (from :func:`planner.serving.serve` on that chip).
_SERVICE_PLAN_COLUMNS = [
    "workload",
    "systems_needed",
    "gpus_per_replica",
    "batch_size",
    "tpot_s",
    "wh_per_query",
]


def _service_row(
    m: ClusterModel, name: str, chip_id: str, systems: int, share: float
) -> dict[str, Any]:
    """A plan row of a service from its coefficients (:mod:`planner.serving_plan`): the fixed
    part (busy draw of the work served) times its share, plus the per-system part (idle draw,
    running cost) times the installed systems, as :func:`planner.serving_plan.plan_totals`."""
    o = m.options.loc[(name, chip_id)]
    share = 1.0 if not m.allow_mixed_chips or share >= 1 - 1e-9 else float(share)
    energy = share * o["energy_mwh"] + systems * o["energy_mwh_per_system"]
    buy = o["pricing"] != "rent"
    capex = systems * o["capex_usd_per_system"]
    hardware = systems * o["hardware_usd_per_system"]  # amortised hardware (pricing amortized)
    electricity = (
        share * o["run_cost_usd"] + systems * o["cost_usd_per_system"] - hardware if buy else 0.0
    )
    rental = systems * o["cost_usd_per_system"] if not buy else 0.0
    return {
        "run": name,
        "chip": chip_id,
        "systems": systems,
        "gpus": systems * int(o["gpus_per_system"]),
        "share": share,
        "days": math.nan,
        "deadline_days": math.nan,
        "facility_power_mw": systems * o["facility_power_mw_per_system"],
        "grid_power_mw": systems * o["grid_power_mw_per_system"],
        "average_facility_power_mw": energy / (m.horizon_years * _HOURS_PER_YEAR),
        "energy_mwh": energy,
        "cost_usd": capex + hardware + electricity + rental,
        "capex_usd": capex,
        "amortized_hardware_usd": hardware,
        "electricity_usd": electricity,
        "rental_usd": rental,
        "cluster_capex_usd": systems * o["cluster_capex_usd_per_system"],
        "emissions_tco2": share * o["emissions_tco2"] + systems * o["emissions_tco2_per_system"],
        "pricing": o["pricing"],
        "mfu": math.nan,
        "pue": o["pue"],
        "workload": "service",
        "systems_needed": o["systems_needed"] * share,
        "gpus_per_replica": o["gpus_per_replica"],
        "batch_size": o["batch_size"],
        "tpot_s": o["tpot_s"],
        "wh_per_query": o["wh_per_query"],
    }


#: Hours in a year of serving (365 days; :data:`planner.serving.HOURS_PER_YEAR`).
_HOURS_PER_YEAR = 8760.0


def _totals(frame: pd.DataFrame, m: ClusterModel) -> dict[str, float]:
    if frame.empty:
        return {}
    training = frame[frame["workload"] == "run"] if "workload" in frame.columns else frame
    per_run_days = training.groupby(level="run")["days"].max()
    fraction = max(
        (per_run_days[r] / m.deadline_days[r] for r in per_run_days.index), default=math.nan
    )
    return {
        "systems": float(frame["systems"].sum()),
        "gpus": float(frame["gpus"].sum()),
        "facility_power_mw": float(frame["facility_power_mw"].sum()),
        "grid_power_mw": float(frame["grid_power_mw"].sum()),
        "energy_mwh": float(frame["energy_mwh"].sum()),
        "cost_usd": float(frame["cost_usd"].sum()),
        "capex_usd": float(frame["capex_usd"].sum()),
        "amortized_hardware_usd": float(frame["amortized_hardware_usd"].sum()),
        "electricity_usd": float(frame["electricity_usd"].sum()),
        "rental_usd": float(frame["rental_usd"].sum()),
        "cluster_capex_usd": float(frame["cluster_capex_usd"].sum()),
        "emissions_tco2": float(frame["emissions_tco2"].sum()),
        "longest_days": float(per_run_days.max()),
        "longest_fraction_of_deadline": float(fraction),
    }


def _binds(m: ClusterModel, base: float | None, test: Test | None) -> bool | None:
    """True / False, or None when not tested or not proven (:func:`diagnose.binds`)."""
    return binds(base, test, m.improves)


def _constraints(
    m: ClusterModel,
    frame: pd.DataFrame,
    base: float | None,
    tests: dict[str, Test],
    binds_for: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Each limit with its use, slack and whether it binds.

    A grid, budget, supply or rack limit *binds* when re-solving with it 10% looser gives a
    better objective (``objective_if_10pct_looser``): with integer systems a limit can bind
    with slack left (the next system would not fit) or decide the chip choice. ``binding`` is
    None when that re-solve was not done or proved nothing (see :func:`_binds`). ``base`` is
    the optimum in model units (the latest finish, days, for ``time``), None when it is not proven
    optimal. A deadline binds when one system fewer would miss it. The grid counts only the
    systems on site (bought), at the design-day PUE; the racks likewise.

    With services (``binds_for`` given) a column ``binds_for`` names, for each limit that
    binds, the workloads whose chip or count changes when it is 10% looser; a deadline binds
    for its own run.
    """
    opt = m.options
    rows = []
    goal = m.objective

    def add(
        name: str,
        key: str | None,
        limit: float,
        used: float,
        unit: str,
        binding: bool | None = None,
    ) -> None:
        slack = limit - used
        test = tests.get(key) if key else None
        value = test[0] if test else None
        if key is not None:
            binding = _binds(m, base, test)
            if binds_for is not None and binding is not True and f"{key}{DROPPED}" in tests:
                without = _binds(m, base, tests[f"{key}{DROPPED}"])
                binding = True if without else binding
        if value is not None and goal == "cost":
            value = value * USD_PER_MUSD
        row: dict[str, Any] = {
            "constraint": name,
            "limit": limit,
            "used": used,
            "slack": slack,
            "slack_fraction": slack / limit if limit else float("nan"),
            "unit": unit,
            "binding": None if binding is None else bool(binding),
            "objective_if_10pct_looser": value,
        }
        if binds_for is not None:
            who = binds_for.get(key, "") if key else name.split(".", 1)[1]
            row["binds_for"] = who if binding else ""
            dropped = tests.get(f"{key}{DROPPED}") if key else None
            value_without = dropped[0] if dropped else None
            if value_without is not None and goal == "cost":
                value_without = value_without * USD_PER_MUSD
            row["objective_without_limit"] = value_without
        rows.append(row)

    add("grid_limit_mw", "grid", m.grid_limit_mw, float(frame["grid_power_mw"].sum()), "MW")
    if m.budget_usd is not None:
        add("budget_usd", "budget", m.budget_usd, float(frame["cost_usd"].sum()), "USD")
    chips_used = set(frame.index.get_level_values("chip"))
    for chip, cap in m.supply_gpus.items():
        if chip in m.chips:
            used = float(frame.xs(chip, level="chip")["gpus"].sum()) if chip in chips_used else 0.0
            add(f"supply_gpus.{chip}", f"supply:{chip}", float(cap), used, "GPUs")
    if m.max_racks is not None:
        racks = sum(
            math.ceil(frame.loc[k, "systems"] / opt.loc[k, "systems_per_rack"])
            for k in frame.index
            if opt.loc[k, "on_site"]
        )
        add("max_racks", "racks", float(m.max_racks), float(racks), "racks")
    by_run = frame.groupby(level="run", sort=False)
    longest = by_run["days"].max().astype(float).to_dict()
    total = by_run["systems"].sum().astype(float).to_dict()
    for run in m.runs:
        if run not in longest:
            continue
        days = longest[run]
        systems = total[run]
        # One system fewer would stretch the run to about days x systems / (systems - 1).
        fewer = days * systems / (systems - 1) if systems > 1 else float("inf")
        add(
            f"deadline_days.{run}",
            None,
            m.deadline_days[run],
            days,
            "days",
            binding=fewer > m.deadline_days[run] * (1 + 1e-9),
        )
    frame_out = pd.DataFrame(rows).set_index("constraint")
    frame_out["binding"] = frame_out["binding"].astype(object)
    return frame_out


def chip_comparison(
    m: ClusterModel,
) -> tuple[pd.DataFrame, dict[tuple[str, str], SizingResult]]:
    """Every candidate chip alone, per run, sized by the core at the run's deadline.

    ``fits_grid`` compares the peak on the site grid (design-day PUE; rented: off site).
    """
    rows = []
    sizings: dict[tuple[str, str], SizingResult] = {}
    runs = {r.name: r for r in m.scenario.runs}
    for run_name, chip_id in m.options.index:
        if run_name not in runs:  # a service alone on this chip at its peak
            n = _whole_systems(float(m.options.loc[(run_name, chip_id), "systems_needed"]))
            one = _service_row(m, run_name, chip_id, n, 1.0)
            cap = m.supply_gpus.get(chip_id)
            rows.append(
                {
                    **{k: one[k] for k in ("run", "chip", "gpus", "systems", "days")},
                    **{
                        k: one[k]
                        for k in ("facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2")
                    },
                    "mfu": math.nan,
                    "pue": one["pue"],
                    "fits_grid": bool(one["grid_power_mw"] <= m.grid_limit_mw * (1 + 1e-9)),
                    "fits_budget": bool(m.budget_usd is None or one["cost_usd"] <= m.budget_usd),
                    "fits_supply": bool(cap is None or one["gpus"] <= cap),
                    "note": "service at its peak"
                    + ("" if m.options.loc[(run_name, chip_id), "on_site"] else ", off site"),
                }
            )
            continue
        spec = runs[run_name]
        try:
            res = size_training(
                spec.training_run(),
                m.catalog.get(chip_id),
                days=spec.deadline_days,
                assumptions=m.assumptions(run_name, chip_id),
            )
        except ResultOutOfRange as exc:  # alone at the deadline it would be absurd
            rows.append({"run": run_name, "chip": chip_id, "note": str(exc)})
            continue
        sizings[(run_name, chip_id)] = res
        option = m.options.loc[(run_name, chip_id)]
        grid_mw = (
            float(res.facility_power_mw)
            * option["grid_power_mw_per_system"]
            / option["facility_power_mw_per_system"]
            if option["on_site"]
            else 0.0
        )
        cap = m.supply_gpus.get(chip_id)
        rows.append(
            {
                "run": run_name,
                "chip": chip_id,
                "gpus": res.gpus,
                "systems": res.systems,
                "days": res.days,
                "facility_power_mw": res.facility_power_mw,
                "energy_mwh": res.energy_mwh,
                "cost_usd": res.cost_usd,
                "emissions_tco2": res.emissions_tco2,
                "mfu": res.mfu,
                "pue": res.pue,
                "fits_grid": bool(grid_mw <= m.grid_limit_mw * (1 + 1e-9)),
                "fits_budget": bool(m.budget_usd is None or res.cost_usd <= m.budget_usd),
                "fits_supply": bool(cap is None or res.gpus <= cap),
                "note": "off site (rented)" if not option["on_site"] else "",
            }
        )
    for item in m.excluded.to_dict(orient="records"):
        rows.append({"run": item["run"], "chip": item["chip"], "note": item["reason"]})
    return pd.DataFrame(rows).set_index(["run", "chip"]), sizings
