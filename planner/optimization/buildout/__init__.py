"""Build-out planning over sites and quarters: where and when to install which chips as grid
connections, on-site power and chip deliveries arrive (Pyomo + HiGHS).

Layout (model, formulation and read-back apart):

- :mod:`.model`: validated input (:class:`BuildoutScenario`, from TOML) and the resolved
  coefficients (:class:`BuildoutData`, every number from the core: sizing, serving, power
  chain, prices);
- :mod:`.formulation`: the Pyomo ``ConcreteModel``, one function per constraint family;
- :mod:`.solve`: the one solver call (:func:`solve_pyomo`);
- :mod:`.readback`: DataFrames from a solved model;
- :mod:`.diagnose`: the build-out as a shared :class:`~planner.optimization.diagnose.Relaxable`
  (named limits, a copy with one changed, a re-solve); relaxations by the shared search;
- :mod:`.api`: :func:`plan_buildout` -> :class:`BuildoutPlan`.
"""

from __future__ import annotations

from planner.optimization.buildout.api import BuildoutPlan, from_scenario, plan_buildout
from planner.optimization.buildout.diagnose import Limit, limits, relaxations, with_limit
from planner.optimization.buildout.model import (
    MAX_QUARTERS,
    OBJECTIVES,
    BuildoutData,
    BuildoutScenario,
    build_data,
    buildout_from_dict,
    buildout_path,
    example_names,
    load_buildout,
)
from planner.optimization.buildout.solve import SolveOutcome, solve_pyomo

__all__ = [
    "MAX_QUARTERS",
    "OBJECTIVES",
    "BuildoutData",
    "BuildoutPlan",
    "BuildoutScenario",
    "Limit",
    "SolveOutcome",
    "build_data",
    "buildout_from_dict",
    "buildout_path",
    "example_names",
    "from_scenario",
    "limits",
    "load_buildout",
    "plan_buildout",
    "relaxations",
    "solve_pyomo",
    "with_limit",
]
