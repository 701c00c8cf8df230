"""Goodput of a training run: failures, checkpoints, restarts (planner.training.goodput).

The failure rate is calibrated on ONE public record (Llama 3 405B, arXiv 2407.21783,
sec. 3.3.4) and validated on held-out published records (data/failures.csv).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner._paths import data_dir
from planner.errors import InputError, PlannerError
from planner.training import goodput as gp

# Tolerance of the held-out validation, stated BEFORE the model was run on the records:
# a published count or rate is matched when the model is within a FACTOR OF 2 of it
# (|ln(model / published)| <= ln 2). Why 2: one operator's two A100 clusters differ by
# 2.8x (Kokolis et al. 2024: 6.50 vs 2.34 failures per 1,000 node-days), so a single
# default rate cannot be asked for more. Records declared `expected = outside` in
# data/failures.csv (before computing) are reported but not asserted.
TOLERANCE_FACTOR = 2.0
# Calibration: the Llama 3 interruptions reproduced within 10%; effective time above 90%.
CALIBRATION_TOLERANCE = 0.10

LLAMA3_GPUS = 16_384
LLAMA3_HOURS = 54 * 24


def test_young_interval_is_the_closed_form():
    delta_s, mtbf_s = 60.0, 3 * 3600.0
    assert gp.young_interval_s(delta_s, mtbf_s) == pytest.approx(math.sqrt(2 * delta_s * mtbf_s))


def test_daly_interval_is_the_higher_order_form_and_the_mtbf_past_two_mtbf():
    delta_s, mtbf_s = 60.0, 3 * 3600.0
    x = delta_s / (2 * mtbf_s)
    expected = math.sqrt(2 * delta_s * mtbf_s) * (1 + math.sqrt(x) / 3 + x / 9) - delta_s
    assert gp.daly_interval_s(delta_s, mtbf_s) == pytest.approx(expected)
    # Daly 2006: tau = M once the checkpoint takes 2M or more
    assert gp.daly_interval_s(3.0 * mtbf_s, mtbf_s) == pytest.approx(mtbf_s)


def test_daly_and_young_agree_when_checkpoints_are_short():
    assert gp.daly_interval_s(1.0, 1e6) == pytest.approx(gp.young_interval_s(1.0, 1e6), rel=1e-3)


def test_cluster_mtbf_falls_as_one_over_n():
    rate = 2e-5
    mtbf = gp.cluster_mtbf_hours(np.array([1_000, 2_000, 4_000]), rate)
    assert mtbf[0] == pytest.approx(1 / (1_000 * rate))
    assert mtbf[0] / mtbf[1] == pytest.approx(2.0)
    assert mtbf[1] / mtbf[2] == pytest.approx(2.0)


def test_llama3_calibration_reproduces_419_interruptions_within_10_percent():
    d = gp.defaults_for("h100")
    rate = d.failure_rate_hardware_per_gpu_hour + d.failure_rate_other_per_gpu_hour
    interruptions = rate * LLAMA3_GPUS * LLAMA3_HOURS
    assert abs(interruptions / 419 - 1) <= CALIBRATION_TOLERANCE
    # one every ~3 h
    assert float(gp.cluster_mtbf_hours(LLAMA3_GPUS, rate)) == pytest.approx(3.09, abs=0.05)


def test_llama3_calibration_keeps_effective_training_time_above_90_percent():
    result = gp.goodput_for(LLAMA3_GPUS, "h100", 405e9)
    assert float(result.goodput) > 0.90


def test_shipped_rates_are_the_calibration_record_split_78_22():
    record = gp.load_failures().set_index("record").loc["llama3-405b-interruptions"]
    rate = record["published"] / (record["gpus"] * record["period_days"] * 24)
    d = gp.defaults_for("hopper")
    assert d.failure_rate_hardware_per_gpu_hour == pytest.approx(0.78 * rate, rel=1e-3)
    assert d.failure_rate_other_per_gpu_hour == pytest.approx(0.22 * rate, rel=1e-3)
    assert gp.calibrated_failure_rate_per_gpu_hour() == pytest.approx(rate)


def test_exactly_one_calibration_record_and_at_least_two_held_out_ones():
    failures = gp.load_failures()
    calibration = failures[failures["use"] == "calibration"]
    assert set(calibration["record"].str.split("-").str[0]) == {"llama3"}
    held_out = failures[(failures["use"] == "validation") & (failures["expected"] == "within")]
    assert held_out["source"].nunique() >= 2


def test_validation_records_are_within_the_stated_tolerance():
    table = gp.validate_failures()
    assert list(table.columns) == [
        "record",
        "published",
        "model",
        "error",
        "within_tolerance",
        "source",
    ]
    failures = gp.load_failures().set_index("record")
    for row in table.itertuples():
        ratio = row.model / row.published
        if failures.loc[row.record, "metric"] == "effective_training_time":
            continue  # a lower bound, tested above
        within = abs(math.log(ratio)) <= math.log(TOLERANCE_FACTOR)
        assert row.within_tolerance == within, row.record
        if failures.loc[row.record, "expected"] == "within":
            assert within, f"{row.record}: model {row.model:.3g} vs published {row.published:.3g}"


def test_validation_tolerance_is_the_one_stated_here():
    assert gp.VALIDATION_TOLERANCE_FACTOR == TOLERANCE_FACTOR


@settings(max_examples=60, deadline=None)
@given(
    n_small=st.integers(min_value=8, max_value=500_000),
    factor=st.floats(min_value=1.01, max_value=20.0),
    params=st.floats(min_value=1e8, max_value=5e12),
    chip=st.sampled_from(["h100", "a100-80gb", "gb200"]),
    checkpoint=st.sampled_from(["blocking", "async"]),
    interval=st.sampled_from(["young", "daly"]),
)
def test_goodput_falls_monotonically_with_n(n_small, factor, params, chip, checkpoint, interval):
    n_large = int(n_small * factor) + 1
    kwargs = dict(checkpoint=checkpoint, interval=interval, storage_bandwidth_gb_s=2_000.0)
    try:
        small = gp.goodput_for(n_small, chip, params, **kwargs)
    except PlannerError:
        return  # no progress at all: nothing to compare
    try:
        large = gp.goodput_for(n_large, chip, params, **kwargs)
    except PlannerError:
        return
    assert float(large.goodput) <= float(small.goodput) + 1e-12
    assert 0.0 < float(large.goodput) < 1.0


def test_goodput_is_vectorised_over_gpu_counts():
    n = np.array([1_000, 100_000, 1_000_000])
    result = gp.goodput_for(n, "h100", 405e9)
    assert result.goodput.shape == (3,)
    assert np.all(np.diff(result.goodput) < 0)
    one = gp.goodput_for(100_000, "h100", 405e9)
    assert float(one.goodput) == pytest.approx(result.goodput[1])


def test_negative_failure_rate_is_one_line_naming_the_field():
    with pytest.raises(InputError) as err:
        gp.goodput(1_000, 1e9, failure_rate_hardware_per_gpu_hour=-1e-5)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("failure_rate_hardware_per_gpu_hour = -1e-05 is not allowed")


def test_checkpoint_longer_than_the_mtbf_says_the_run_cannot_make_progress():
    # 1e12 params x 16 B over 8 GPUs x 0.001 GB/s = 2e6 s per checkpoint;
    # MTBF 1 / (8 x 1e-3) h = 125 h = 4.5e5 s
    with pytest.raises(PlannerError) as err:
        gp.goodput(
            8,
            1e12,
            failure_rate_hardware_per_gpu_hour=1e-3,
            failure_rate_other_per_gpu_hour=0.0,
            write_bandwidth_gb_s_per_gpu=0.001,
        )
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("checkpoint_write_s = ")
    assert "MTBF" in msg and "cannot make progress" in msg


def test_zero_gpus_and_nan_params_are_refused_with_the_value_as_given():
    with pytest.raises(InputError, match=r"^n_gpus = 0 is not allowed"):
        gp.goodput(0, 1e9)
    with pytest.raises(InputError, match=r"^params = nan is not allowed"):
        gp.goodput(8, float("nan"))


def test_unknown_chip_lists_the_known_ones():
    with pytest.raises(InputError) as err:
        gp.goodput_for(8, "h1000", 1e9)
    assert "h100" in str(err.value) and "gb300" in str(err.value)


def test_async_checkpoint_blocks_for_less_than_a_blocking_one():
    blocking = gp.goodput_for(8_000, "h100", 1.8e12, checkpoint="blocking")
    asynchronous = gp.goodput_for(8_000, "h100", 1.8e12, checkpoint="async")
    assert float(asynchronous.checkpoint_blocking_s) < float(blocking.checkpoint_blocking_s)
    # its residual cost: the checkpoint in flight is lost with a failure
    assert float(asynchronous.lost_work_per_failure_s) > float(
        asynchronous.checkpoint_interval_s
    ) / 2 + float(asynchronous.restart_recovery_s)


def test_storage_bandwidth_caps_the_aggregate_write():
    free = gp.goodput_for(100_000, "h100", 1.8e12)
    capped = gp.goodput_for(100_000, "h100", 1.8e12, storage_bandwidth_gb_s=1_000.0)
    assert float(capped.checkpoint_write_s) == pytest.approx(1.8e12 * 16 / 1e12)
    assert float(capped.checkpoint_write_s) > float(free.checkpoint_write_s)
    assert float(capped.goodput) < float(free.goodput)


def test_without_hot_spares_hardware_failures_wait_for_a_replacement():
    spares = gp.goodput_for(16_384, "h100", 405e9)
    none = gp.goodput_for(16_384, "h100", 405e9, hot_spare_fraction=0.0)
    assert int(spares.spare_gpus) > 0 and int(none.spare_gpus) == 0
    assert float(none.goodput) < float(spares.goodput)
    # spares are whole servers of the chip (DGX H100: 8 GPUs)
    assert int(spares.spare_gpus) % 8 == 0


def test_spare_capex_uses_the_price_given():
    result = gp.goodput_for(16_384, "h100", 405e9, price_usd_per_gpu=30_000.0)
    assert float(result.spare_capex_usd) == pytest.approx(int(result.spare_gpus) * 30_000.0)


def test_losses_add_up_to_one_minus_goodput():
    r = gp.goodput_for(8_000, "h100", 1.8e12)
    useful = (1 - float(r.checkpoint_overhead_fraction)) * (1 - float(r.failure_loss_fraction))
    assert float(r.goodput) == pytest.approx(useful)


def test_first_order_and_exponential_agree_when_failures_are_rare():
    kwargs = dict(failure_rate_hardware_per_gpu_hour=1e-7, failure_rate_other_per_gpu_hour=0.0)
    exact = gp.goodput(1_000, 1e10, expectation="exponential", **kwargs)
    first = gp.goodput(1_000, 1e10, expectation="first_order", **kwargs)
    assert float(exact.goodput) == pytest.approx(float(first.goodput), abs=1e-5)


def test_result_to_dict_is_plain_json():
    d = gp.goodput_for(8_000, "h100", 1.8e12).to_dict()
    text = json.dumps(d)
    assert "goodput" in d and "mtbf_hours" in d and "checkpoint_interval_s" in d
    assert isinstance(d["goodput"], float) and isinstance(d["spare_gpus"], int)
    assert "arXiv 2407.21783" in text  # the calibration record is named in the sources


@pytest.mark.parametrize("stem", ["failures", "goodput_assumptions"])
def test_every_column_is_described_with_a_unit(stem):
    attributes = pd.read_csv(data_dir() / f"{stem}.attributes.csv")
    columns = pd.read_csv(data_dir() / f"{stem}.csv", nrows=0).columns
    assert list(attributes["attribute"]) == list(columns)
    numeric = attributes[attributes["type"].isin(["float", "int"])]
    assert numeric["unit"].notna().all()


def test_every_default_has_a_source_and_every_non_hopper_rate_is_an_estimate():
    table = pd.read_csv(data_dir() / "goodput_assumptions.csv")
    assert table["source"].str.strip().astype(bool).all()
    rates = table[table["name"].str.startswith("failure_rate")]
    assert rates[rates["generation"] != "hopper"]["source"].str.startswith("ESTIMATE").all()
    assert rates[rates["generation"] == "hopper"]["source"].str.startswith("CALIBRATED").all()


def test_a_checkpoint_is_never_taken_more_often_than_the_floor_given():
    free = gp.goodput_for(1_000_000, "h100", 405e9)
    floored = gp.goodput_for(1_000_000, "h100", 405e9, min_interval_s=6.0)
    assert float(free.checkpoint_interval_s) < 6.0
    assert float(floored.checkpoint_interval_s) == pytest.approx(6.0)


def test_sources_name_only_the_defaults_used():
    own = gp.goodput(
        1_000, 1e9, failure_rate_hardware_per_gpu_hour=1e-5, failure_rate_other_per_gpu_hour=0.0
    )
    assert "failure_rate_per_gpu_hour" not in own.sources
    assert "checkpoint_bytes_per_param" in own.sources
    assert "arXiv 2407.21783" in gp.goodput(1_000, 1e9).sources["failure_rate_per_gpu_hour"]
