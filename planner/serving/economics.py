"""Money and the energy breakdown of a serving fleet (the training economics, per year)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from planner import amortization
from planner.assumptions import SizingAssumptions
from planner.catalog import Accelerator
from planner.serving.base import HOURS_PER_YEAR


def _breakdown(
    chip: Accelerator,
    server_w: float,
    busy_w: float,
    idle_w: float,
    load: float,
    network: float,
    pue: float,
) -> dict[str, float]:
    """Shares of average facility energy (sum 1): accelerators and host while serving, idle
    capacity, network and storage, facility overhead (cooling, conversion)."""
    gpu_share = min(chip.tdp_w / server_w, 1.0)
    active = busy_w * load  # a busy server's draw, the share of time it serves
    idle = idle_w * (1.0 - load)
    server = active + idle
    facility = server * (1.0 + network) * pue
    return {
        "accelerators": active * gpu_share / facility,
        "host": active * (1.0 - gpu_share) / facility,
        "idle_capacity": idle / facility,
        "network_storage": server * network / facility,
        "facility_overhead": server * (1.0 + network) * (pue - 1.0) / facility,
    }


def chip_prices(chip: Accelerator, s: SizingAssumptions) -> tuple[Any, Any, Any]:
    """Server price per GPU, rent per GPU-hour and embodied kgCO2e per GPU a fleet is costed at:
    as a training run, :func:`planner.amortization.chip_prices` with the overrides of ``s``."""
    return amortization.chip_prices(
        chip, s.price_usd_per_gpu, s.rent_usd_per_gpu_hour, date=s.price_date
    )


def _economics(
    chip: Accelerator,
    s: SizingAssumptions,
    feasible: Any,
    installed: Any,
    it_peak_mw: Any,
    electricity: Any,
) -> amortization.RunEconomics:
    """One year of serving priced as a training run of 365 days on the installed GPUs
    (:func:`planner.amortization.run_economics`); NaN where no replica is feasible."""
    price, rent, kg = chip_prices(chip, s)
    ok = np.asarray(feasible, dtype=bool)
    nan = np.where(ok, 1.0, np.nan)
    econ = amortization.run_economics(
        "(prices given)",
        np.where(ok, installed, 0.0),
        HOURS_PER_YEAR / 24.0,
        it_power_mw=np.where(ok, it_peak_mw, 0.0),
        electricity_cost_usd=np.where(ok, electricity, 0.0),
        server_price_usd_per_gpu=price,
        rent_usd_per_gpu_hour=rent,
        embodied_kgco2e_per_gpu=kg,
        life_years=s.service_life_years,
        utilisation=s.hardware_utilisation,
        cost_of_capital=s.cost_of_capital,
        networking_share=s.networking_share,
        facility_usd_per_mw=s.facility_usd_per_mw,
        facility_life_years=s.facility_life_years,
    )
    return replace(
        econ,
        amortized_cost_usd=econ.amortized_cost_usd * nan,
        rental_cost_usd=econ.rental_cost_usd * nan,
        cluster_capex_usd=econ.cluster_capex_usd * nan,
        embodied_tco2=econ.embodied_tco2 * nan,
        electricity_cost_usd=econ.electricity_cost_usd * nan,
    )
