"""The "Public record" page, driven headless with ``AppTest``: the run model's validation and
the serving validation, the same numbers ``planner validate`` prints (the core's, not the
page's), the ceiling of the public record, and no exception.

Figures: 49 published runs of ``data/training_runs.csv`` (sources per row); leave-one-out
median |error| 18.2%, 67% within 30%; the P10-P90 interval covers 37 of 49 runs out of sample;
ceiling 45 of 49 (tests/test_utilisation.py asserts the same figures on the core).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner.utilisation import validate_runs

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PAGE = "planner/app/validation_page.py"


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_shows_the_cores_summary(page: AppTest) -> None:
    s = validate_runs().summary
    values = {m.label: m.value for m in page.metric}
    assert values["Leave-one-out median |error|"] == f"{s['loo_median_abs_error']:.1%}" == "18.2%"
    assert values["Leave-one-out within 30%"] == f"{s['loo_share_within_30pct']:.0%}" == "67%"
    assert values["P10-P90 coverage out of sample"] == f"{s['interval']['coverage']:.0%}" == "76%"
    assert values["Published runs"] == "49 (22 families)"
    text = "\n".join(m.value for m in page.markdown)
    assert "**not met**" in text and "**met**: 76%, 37 of 49" in text
    assert "-40.1% / +42.1%" in text  # the vocabulary's +.1%


def test_the_page_states_the_ceiling_and_its_pairs(page: AppTest) -> None:
    info = "\n".join(i.value for i in page.info)
    assert "45 of 49" in info and "92%" in info
    frames = [d.value for d in page.dataframe]
    pairs = next(f for f in frames if "efficient" in f.columns)
    assert set(pairs["efficient"]) == {
        "llama1-65b",
        "llama2-70b",
        "falcon-180b",
        "granite-3.0-2b",
        "pythia-1b",
    }


def test_every_published_run_and_serving_case_is_listed_with_its_source(page: AppTest) -> None:
    frames = [d.value for d in page.dataframe]
    runs = next(f for f in frames if "error_loo" in f.columns)
    assert len(runs) == 49
    assert runs["source"].str.len().min() > 20
    assert runs.set_index("id").loc["llama3.1-405b", "error_loo"] == pytest.approx(
        validate_runs().runs.set_index("id").loc["llama3.1-405b", "error_loo"]
    )
    serving = next(f for f in frames if "tolerance_factor" in f.columns)
    assert len(serving) >= 10
    assert page.get("vega_lite_chart") or page.get("arrow_vega_lite_chart")


def test_the_page_lists_the_interval_coverage_of_every_validated_model(page: AppTest) -> None:
    frames = [d.value for d in page.dataframe]
    cov = next(f for f in frames if "within target" in f.columns).set_index("model")
    assert list(cov.index) == ["runs", "serving", "run_costs_amortized", "run_costs_rental"]
    assert set(cov["label"]) == {"predicted"}
    assert (cov.loc["runs", "covered"], cov.loc["runs", "cases"]) == (37, 49)
