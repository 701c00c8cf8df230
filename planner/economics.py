"""Money and carbon: hardware capex, rental, electricity cost, emissions.

Conventions (named so a reader can audit them):

- ``capex_usd``: GPUs x purchase price per GPU (the system's price / its GPUs). The whole
  purchase is charged to the run; amortising it over a service life is the caller's choice.
- ``rental_cost_usd``: wall-clock GPU-hours x on-demand price per GPU-hour. Cloud prices
  include the power, so a rented run's ``cost_usd`` is the rental alone.
- ``electricity_cost_usd``: average facility energy x price per MWh.
- ``emissions_tco2``: facility energy x grid intensity (operational, location-based).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _product(a: Any, b: Any, divisor: float = 1.0) -> Any:
    """``a x b / divisor`` as floats; an overflow gives ``inf`` silently (no RuntimeWarning on
    stderr), for :func:`planner.sizing` to reject against its named bounds (MAX_USD...)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=float) * np.asarray(b, dtype=float) / divisor


def capex_usd(gpus: Any, price_usd_per_gpu: Any) -> Any:
    return _product(gpus, price_usd_per_gpu)


def rental_cost_usd(gpu_hours: Any, rent_usd_per_gpu_hour: Any) -> Any:
    return _product(gpu_hours, rent_usd_per_gpu_hour)


def electricity_cost_usd(energy_mwh: Any, electricity_usd_per_mwh: Any) -> Any:
    return _product(energy_mwh, electricity_usd_per_mwh)


def emissions_tco2(energy_mwh: Any, grid_gco2_per_kwh: Any) -> Any:
    """MWh x gCO2/kWh -> tCO2 (1 MWh = 1,000 kWh; 1 t = 1e6 g)."""
    return _product(energy_mwh, grid_gco2_per_kwh, 1000.0)
