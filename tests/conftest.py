"""Shared fixtures: the shipped catalog and the canonical GTC 2024 run."""

from __future__ import annotations

import pytest

from planner.catalog import Catalog, load_catalog
from planner.workloads import TrainingRun


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def gtc_run() -> TrainingRun:
    """GPT-MoE-1.8T as NVIDIA's GTC 2024 comparison: 2.8e11 active params, 1.3e13 tokens."""
    return TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1.3e13)


@pytest.fixture(scope="session")
def contract_keys() -> set[str]:
    """Top-level keys `planner size --json` promises (issue 2's scripted contract)."""
    return {
        "accelerator",
        "precision",
        "flops",
        "gpus",
        "systems",
        "days",
        "gpu_hours",
        "mfu",
        "goodput",
        "pue",
        "design_pue",
        "it_power_mw",
        "facility_power_mw",
        "average_facility_power_mw",
        "energy_mwh",
        "cost_usd",
        "emissions_tco2",
        "assumptions",
        # issue 10: amortised economics and embodied carbon, each its own top-level key
        "pricing",
        "amortized_cost_usd",
        "rental_cost_usd",
        "cluster_capex_usd",
        "embodied_tco2",
    }
