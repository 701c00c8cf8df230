"""The power chain: TDP -> server share -> IT load -> facility power, peak vs average."""

from __future__ import annotations

import pytest

from planner import power


def test_dgx_h100_share_is_1275_w_per_gpu():
    # DGX H100 datasheet: 10.2 kW max for 8 GPUs.
    assert power.system_power_per_gpu_w(10.2, 8) == pytest.approx(1275.0)


def test_chain_keeps_each_step_distinct_and_ordered():
    chain = power.power_chain_per_gpu(
        700, 10.2, 8, network_overhead=0.10, pue=1.2, avg_load_fraction=0.8
    )
    assert chain["gpu_tdp_w"] == 700
    assert chain["server_power_per_gpu_w"] == pytest.approx(1275)
    assert chain["it_power_per_gpu_w"] == pytest.approx(1275 * 1.1)
    assert chain["facility_power_per_gpu_w"] == pytest.approx(1275 * 1.1 * 1.2)
    assert chain["average_facility_power_per_gpu_w"] == pytest.approx(1275 * 0.8 * 1.1 * 1.2)
    assert chain["gpu_tdp_w"] < chain["server_power_per_gpu_w"] < chain["it_power_per_gpu_w"]
    assert chain["average_facility_power_per_gpu_w"] < chain["facility_power_per_gpu_w"]


def test_measured_average_power_replaces_nameplate_times_load():
    # Patterson et al. 2021: 330 W measured per V100 for GPT-3.
    assert power.average_server_power_per_gpu_w(437.5, 0.8, 330) == pytest.approx(330)


def test_energy_is_average_power_times_hours():
    assert power.energy_mwh(2.0, 24) == pytest.approx(48.0)
