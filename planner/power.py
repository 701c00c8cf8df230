"""Power chain: chip TDP -> server share -> IT load -> facility power, peak and average.

Steps, per GPU, kept distinct so each can be audited:

1. ``tdp_w``: the GPU's own maximum board power (datasheet).
2. ``system_power_per_gpu_w``: nameplate power of the server/rack it ships in (CPUs, NICs,
   fans, NVSwitch included) divided by its GPUs (DGX H100: 10.2 kW / 8 = 1,275 W).
3. IT load: plus the scale-out network and storage, a fraction ``network_overhead`` of the
   server power.
4. Facility power: IT load x PUE (cooling, power conversion, lighting).

*Peak* uses the nameplate at the DESIGN-DAY PUE (the hottest hours, chillers and fans at full
load; which one applies is decided by :mod:`planner.facility`): what the grid connection must supply. *Average* uses the
ANNUAL PUE (the year's average overhead) and the measured
training draw, a fraction ``avg_load_fraction`` of nameplate (Latif et al. 2024, arXiv
2412.08602: an 8xH100 node training drew at most 8.4 kW of its 10.2 kW rating), or a measured
average per accelerator where a study gives one; it is what the meter bills: energy = average
facility power x hours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

W_PER_MW = 1e6


def system_power_per_gpu_w(system_power_kw: Any, gpus_per_system: Any) -> Any:
    """Nameplate system power divided by its GPUs, W per GPU."""
    return np.asarray(system_power_kw, dtype=float) * 1000.0 / np.asarray(gpus_per_system)


def it_power_per_gpu_w(server_power_per_gpu_w: Any, network_overhead: Any) -> Any:
    """IT load per GPU: server share plus network and storage (fraction of server power), W."""
    return np.asarray(server_power_per_gpu_w, dtype=float) * (1.0 + np.asarray(network_overhead))


def facility_power_w(it_power_w: Any, pue: Any) -> Any:
    """Facility power = IT power x PUE, W."""
    return np.asarray(it_power_w, dtype=float) * np.asarray(pue, dtype=float)


def average_server_power_per_gpu_w(
    server_power_per_gpu_w: Any, avg_load_fraction: Any, avg_power_per_gpu_w: Any = None
) -> Any:
    """Average training draw per GPU incl. its server share, W.

    A measured ``avg_power_per_gpu_w`` (e.g. Patterson et al. 2021: 330 W per V100 for GPT-3)
    replaces ``nameplate share x avg_load_fraction`` when given.
    """
    if avg_power_per_gpu_w is not None:
        return np.asarray(avg_power_per_gpu_w, dtype=float) + 0.0 * np.asarray(
            server_power_per_gpu_w, dtype=float
        )
    return np.asarray(server_power_per_gpu_w, dtype=float) * np.asarray(avg_load_fraction)


def design_day_pue(annual_pue: Any, overhead_ratio: Any) -> Any:
    """Design-day PUE from the annual PUE: ``1 + (annual PUE - 1) x overhead_ratio``.

    The annual PUE is the year's average (energy, what the meter bills); the grid connection
    must carry the hottest hours, when chillers and fans run hardest. ``overhead_ratio`` is
    design-day overhead / annual overhead; which ratio applies (``design_pue_overhead_ratio``
    of ``data/assumptions.csv``) and when a design-day PUE is derived at all is decided by
    :mod:`planner.facility`. A ratio of 1 makes the design-day PUE the annual one.
    """
    annual = np.asarray(annual_pue, dtype=float)
    # not rounded: the chain stays exact (tests compare it at 1e-12); 1.20 gives 1.2999999999999998
    return 1.0 + (annual - 1.0) * np.asarray(overhead_ratio, dtype=float)


def energy_mwh(average_power_mw: Any, hours: Any) -> Any:
    """Energy = average power x time, MWh."""
    return np.asarray(average_power_mw, dtype=float) * np.asarray(hours, dtype=float)


def power_chain_per_gpu(
    tdp_w: float,
    system_power_kw: float,
    gpus_per_system: int,
    *,
    network_overhead: float,
    pue: float,
    avg_load_fraction: float,
    avg_power_per_gpu_w: float | None = None,
    design_pue: float | None = None,
) -> dict[str, float]:
    """Every step of the chain for one GPU, peak and average, W (for display and reports).

    The peak facility power uses ``design_pue`` (the design-day PUE, resolved by
    :mod:`planner.facility`; ``None``: the annual ``pue``, for a caller that has no design
    day), the average facility power the annual ``pue``.
    """
    if design_pue is None:
        design_pue = pue
    server_w = float(system_power_per_gpu_w(system_power_kw, gpus_per_system))
    it_peak_w = float(it_power_per_gpu_w(server_w, network_overhead))
    avg_server_w = float(
        average_server_power_per_gpu_w(server_w, avg_load_fraction, avg_power_per_gpu_w)
    )
    it_avg_w = float(it_power_per_gpu_w(avg_server_w, network_overhead))
    return {
        "gpu_tdp_w": float(tdp_w),
        "server_power_per_gpu_w": server_w,
        "it_power_per_gpu_w": it_peak_w,
        "facility_power_per_gpu_w": float(facility_power_w(it_peak_w, design_pue)),
        "average_server_power_per_gpu_w": avg_server_w,
        "average_it_power_per_gpu_w": it_avg_w,
        "average_facility_power_per_gpu_w": float(facility_power_w(it_avg_w, pue)),
    }
