"""A published figure is shown next to an answer only when the inputs are the published case's.

A preset run whose inputs the user changed names the changed inputs instead
(``changed_inputs``: ``{"field", "preset", "value"}``), and every preset and ``--compare`` row
says which assumptions it rests on (precision, MFU, both PUEs with their source, model shape),
so two answers for "the same run" explain themselves.
"""

from __future__ import annotations

import pytest

from planner.presets import compare_to_published, load_presets, preset_table
from planner.request import build_request
from planner.serving_presets import build_service_request, load_serving_presets

GTC_WORK = {"params": 1.8e12, "active_params": 2.8e11, "tokens": 1.3e13, "days": 90}


def test_preset_run_unchanged_carries_the_published_comparison():
    d = build_request(preset="gtc2024-hopper").size().to_dict()
    assert d["preset"] == "gtc2024-hopper"
    assert "changed_inputs" not in d
    assert {row["quantity"] for row in d["published"]} == {"gpus", "facility_power_mw", "days"}


def test_preset_run_with_a_changed_mfu_names_it_and_drops_the_published_comparison():
    d = build_request(preset="gtc2024-hopper", mfu=0.5).size().to_dict()
    assert "published" not in d
    assert d["changed_inputs"] == [{"field": "mfu", "preset": 0.2, "value": 0.5}]
    assert compare_to_published(d, load_presets()["gtc2024-hopper"].published) == []


def test_an_option_equal_to_the_presets_own_value_changes_nothing():
    d = build_request(preset="gtc2024-hopper", mfu=0.2, accelerator="h100").size().to_dict()
    assert "changed_inputs" not in d
    assert d["published"]


def test_a_new_annual_pue_names_both_pues_as_used():
    d = build_request(preset="gtc2024-hopper", pue=1.3).size().to_dict()
    assert d["changed_inputs"] == [
        {"field": "pue", "preset": 1.2, "value": 1.3},
        {"field": "design_pue", "preset": 1.3, "value": 1.45},
    ]


def test_another_chip_on_a_preset_names_the_chip():
    d = build_request(preset="gtc2024-hopper", accelerator="gb200").size().to_dict()
    assert d["changed_inputs"] == [{"field": "accelerator", "preset": "h100", "value": "gb200"}]


def test_a_run_without_preset_carries_neither_key():
    d = build_request(accelerator="h100", **GTC_WORK).size().to_dict()
    assert not {"preset", "published", "changed_inputs"} & set(d)


def test_whole_counts_are_ints_in_to_dict():
    d = build_request(accelerator="gb200", flops=2.15e25, gpus=2000).size().to_dict()
    assert d["gpus"] == 2000 and isinstance(d["gpus"], int)
    assert isinstance(d["systems"], int) and isinstance(d["gpus_per_system"], int)


def test_serving_preset_with_a_reasoning_multiplier_is_not_compared_with_the_published_fleet():
    request = build_service_request("chatgpt-2023", reasoning_multiplier=5)
    d = request.serve().to_dict()
    assert "published" not in d
    assert d["changed_inputs"] == [{"field": "reasoning_multiplier", "preset": 1.0, "value": 5.0}]


def test_serving_preset_unchanged_carries_the_published_comparison_and_int_counts():
    d = build_service_request("chatgpt-2023").serve().to_dict()
    assert "changed_inputs" not in d
    assert [row["quantity"] for row in d["published"]] == ["systems", "production_systems"]
    assert isinstance(d["replicas"], int) and isinstance(d["gpus"], int)


def test_compare_rows_name_precision_mfu_pues_with_sources_and_model_shape():
    frame = build_request(preset="gtc2024-hopper").compare()
    gb200 = frame.loc["gb200"]
    assert gb200["precision"] == "fp8"
    assert gb200["mfu"] == pytest.approx(0.20)
    assert gb200["mfu_source"] == "preset gtc2024-hopper"
    assert (gb200["pue"], gb200["design_pue"]) == pytest.approx((1.20, 1.30))
    assert gb200["pue_source"] == gb200["design_pue_source"] == "preset gtc2024-hopper"
    assert (gb200["params"], gb200["active_params"], gb200["tokens"]) == (1.8e12, 2.8e11, 1.3e13)


def test_plain_command_rows_say_the_mfu_comes_from_the_run_model():
    frame = build_request(accelerator="h100", **GTC_WORK).compare()
    h100 = frame.loc["h100"]
    assert h100["precision"] == "bf16"
    assert h100["mfu_source"] == "run model"
    assert h100["pue_source"] == "default"
    assert h100["design_pue_source"] == "derived from the annual PUE"


def test_every_preset_says_why_it_differs_and_what_it_assumes():
    rows = preset_table()
    assert [r["name"] for r in rows] == list(load_presets())
    for r in rows:
        assert len(r["differs_because"]) > 40, r["name"]
        assert r["precision"] and r["mfu_source"] and r["pue_source"] and r["design_pue_source"]


@pytest.mark.parametrize(
    ("preset", "kwargs", "gpus", "mw"),
    [
        ("gtc2024-hopper", {"accelerator": "h100", **GTC_WORK}, "8,360", "15.40"),
        ("gtc2024-hopper", {"preset": "gtc2024-hopper"}, "7,480", "13.78"),
        (
            "gtc2024-blackwell",
            {"preset": "gtc2024-hopper", "accelerator": "gb200"},
            "2,952",
            "7.21",
        ),
        ("gtc2024-blackwell", {"preset": "gtc2024-blackwell"}, "1,872", "4.10"),
    ],
)
def test_differs_because_quotes_the_numbers_the_model_gives(preset, kwargs, gpus, mw):
    r = build_request(**kwargs).size()
    assert (f"{r.gpus:,.0f}", f"{r.facility_power_mw:.2f}") == (gpus, mw)
    text = load_presets()[preset].differs_because
    assert f"{gpus} " in text and f"{mw} MW" in text


def test_llama70b_example_says_the_params_command_gives_a_different_answer():
    p = load_serving_presets()["llama70b-h100-example"]
    assert "--params 7e10" in p.differs_because
    preset = build_service_request("llama70b-h100-example").serve()
    plain = build_service_request(
        accelerator="h100",
        params=7e10,
        users=1e8,
        queries_per_user_day=10,
        input_tokens=500,
        output_tokens=400,
    ).serve()
    assert preset.gpus != plain.gpus
    for result in (preset, plain):
        assert f"{result.gpus:,.0f} H100" in p.differs_because
        assert f"{result.facility_power_mw:.2f} MW" in p.differs_because


def test_serving_compare_rows_name_precision_pues_with_sources_and_model_shape():
    from planner.serving import compare_serving

    request = build_service_request("gemini-median-2025")
    frame = compare_serving(
        request.demand, model=request.model, assumptions=request.assumptions, ids=["h100"]
    )
    h100 = frame.loc["h100"]
    assert h100["precision"] == "fp8"
    assert h100["pue"] == pytest.approx(1.09)
    assert h100["pue_source"] == "preset gemini-median-2025"
    assert h100["design_pue_source"] == "derived from the annual PUE"
    assert h100["mfu_source"] == "default"
    assert h100["params"] == pytest.approx(671e9) and h100["active_params"] == pytest.approx(37e9)


def test_every_serving_preset_names_its_assumptions():
    from planner.serving_presets import serving_preset_table

    rows = {r["name"]: r for r in serving_preset_table()}
    assert set(rows) == set(load_serving_presets())
    assert rows["gemini-median-2025"]["pue_source"] == "preset gemini-median-2025"
    assert rows["llama70b-h100-example"]["differs_because"]
