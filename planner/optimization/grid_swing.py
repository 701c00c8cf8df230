"""Swing-aware grid limits in the single-site optimiser: a site with a utility ramp limit.

A synchronous training cluster swings between its compute and communication power every step
(:mod:`planner.training.transients`). When a scenario sets ``site.ramp_limit_mw_per_s``, every
(run, chip) pair whose cluster ramps faster than the limit takes ``site.ramp_mitigation``
(:func:`planner.training.transients.grid_mitigation`), and:

* the grid limit holds the grid-side peak AFTER the mitigation: each system's grid power is
  its design-day facility peak x ``grid_peak_ratio`` (GPU power smoothing with storage: the
  capped step mean, ~0.7-0.8 of the nameplate; a battery alone: 1, it tames the ramp, not
  the connection);
* the mitigation's costs are in the pair's coefficients: the energy a GPU power floor burns
  (per GPU-day: linear in the run's GPU-hours, like its electricity) in ``energy_mwh``,
  ``emissions_tco2`` and ``run_cost_usd``; a battery's price (``battery_usd_per_kwh``,
  ``data/transients.csv``) per system in ``capex_usd_per_system``, under every pricing (the
  store is bought for the site).

Assumptions: each run's cluster is evaluated at the GPUs of its pair's goodput(N) entry (the
deadline count, then the chosen count as :mod:`planner.optimization.goodput_loop` re-solves),
and scaled per system from there (a battery's energy grows faster than its GPUs, so this is
exact only at that count); runs on one site swing independently (not in phase), each held to
the limit on its own; rented systems are off site and take none.
"""

from __future__ import annotations

import math
from typing import Any

#: Columns a plan's training rows gain when the site has a ramp limit.
PLAN_COLUMNS = (
    "mitigation",
    "battery_mw",
    "battery_mwh",
    "extra_energy_mwh",
    "mitigation_cost_usd",
)


def pair_mitigation(scenario: Any, chip: Any, a: Any, gpus: float) -> Any:
    """:func:`planner.training.transients.grid_mitigation` of ``gpus`` of ``chip`` at the site
    (its ramp limit and mitigation; the assumptions' network overhead, annual PUE and
    electricity price), or ``None`` when the site has no ramp limit."""
    from planner.training.transients import grid_mitigation, training_power_profile

    limit = getattr(scenario.site, "ramp_limit_mw_per_s", None)
    if limit is None:
        return None
    profile = training_power_profile(
        max(float(gpus), 1.0),
        chip.id,
        network_overhead=float(a.network_overhead),
        pue=float(a.pue),
    )
    return grid_mitigation(
        profile,
        ramp_limit_mw_per_s=limit,
        mitigation=scenario.site.ramp_mitigation,
        electricity_usd_per_mwh=float(a.electricity_usd_per_mwh),
    )


def per_system(mit: Any, gpus_per_system: float, days_on_one_system: float, a: Any) -> dict:
    """The mitigation's share of one system's coefficients: ``grid_ratio`` (x the grid power),
    ``capex_usd`` (battery, per system), and the run's fixed ``energy_mwh``, ``cost_usd`` and
    ``emissions_tco2`` (floor energy per GPU-day x the run's GPU-days)."""
    if mit is None:
        return {
            "grid_ratio": 1.0,
            "capex_usd": 0.0,
            "energy_mwh": 0.0,
            "cost_usd": 0.0,
            "emissions_tco2": 0.0,
        }
    share = gpus_per_system / mit.n_gpus
    gpu_days = gpus_per_system * days_on_one_system
    energy = mit.extra_energy_mwh_per_day / mit.n_gpus * gpu_days
    return {
        "grid_ratio": mit.grid_peak_ratio,
        "capex_usd": mit.battery_capex_usd * share,
        "energy_mwh": energy,
        "cost_usd": mit.extra_cost_usd_per_day / mit.n_gpus * gpu_days,
        "emissions_tco2": energy * float(a.grid_gco2_per_kwh) / 1e3,
    }


def plan_rows(plan: Any, scenario: Any, catalog: Any) -> Any:
    """The plan's rows with :data:`PLAN_COLUMNS`: the mitigation each training row's cluster
    takes at its GPUs, its store, the energy it burns over the run and its cost (battery +
    floor energy; beside ``cost_usd``, which is the core's sizing and holds neither)."""
    import numpy as np

    if getattr(scenario.site, "ramp_limit_mw_per_s", None) is None or plan.runs.empty:
        return plan.runs
    runs = plan.runs.copy()
    runs["mitigation"] = ""
    for name in PLAN_COLUMNS[1:]:
        runs[name] = np.nan
    specs = {r.name: r for r in scenario.runs}
    for key, res in plan.sizings.items():
        if key not in runs.index or runs.loc[key, "pricing"] == "rent":
            continue
        chip = catalog.get(key[1])
        a = scenario.assumptions_for(specs[key[0]], chip)
        mit = pair_mitigation(scenario, chip, a, float(res.gpus))
        days = float(res.days)
        energy = mit.extra_energy_mwh_per_day * days
        runs.loc[key, "mitigation"] = mit.mitigation
        runs.loc[key, "battery_mw"] = mit.battery_mw
        runs.loc[key, "battery_mwh"] = mit.battery_mwh
        runs.loc[key, "extra_energy_mwh"] = energy
        runs.loc[key, "mitigation_cost_usd"] = (
            mit.battery_capex_usd + mit.extra_cost_usd_per_day * days
        )
    return runs


def note(scenario: Any) -> str:
    site = scenario.site
    if getattr(site, "ramp_limit_mw_per_s", None) is None:
        return ""
    limit = site.ramp_limit_mw_per_s
    text = f"{limit:g}" if math.isfinite(limit) else str(limit)
    return (
        f"ramp limit {text} MW/s (site.ramp_limit_mw_per_s): a run whose cluster ramps faster "
        f"takes {site.ramp_mitigation} (site.ramp_mitigation), and the grid limit holds its "
        "grid-side peak after it; the mitigation's energy and price are in the optimiser's "
        "choice and in the rows' mitigation_cost_usd / extra_energy_mwh (not in cost_usd)"
    )
