"""planner.data_errors: one line naming the file, the field, the value and what is allowed,
read from the schema (ranges, keys, types) for every validating loader."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from annotated_types import Ge, Gt, Le, Lt
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from planner.data_errors import (
    Problem,
    data_error,
    field_path,
    not_allowed,
    range_words,
    resolve,
    show_path,
    show_value,
    type_words,
)
from planner.errors import CatalogError
from planner.scenarios import scenario_from_dict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Share = Annotated[float, Field(gt=0, le=1)]
YearKey = Annotated[int, Strict(False), Field(ge=1990, le=2060, description="year")]


class Bounds(_Strict):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self


class Run(_Strict):
    name: str
    deadline_days: float = Field(ge=0.001, le=3650)
    gpus: int | None = Field(default=None, ge=1, le=1_000_000)
    mfu: Share | dict[str, Share] | None = None


class Site(_Strict):
    grid_limit_mw: float = Field(gt=0, le=10_000)
    mixed: bool = False
    cooling: Literal["air", "liquid"] = "air"


class Plan(_Strict):
    site: Site
    runs: list[Run] = Field(min_length=1)
    growth: float | Bounds = 0.0
    shares: dict[YearKey, float] = Field(default_factory=dict)
    source: str = Field(default="plan", exclude=True)


RUN = {"name": "a", "deadline_days": 30}


def _plan(**changes: object) -> dict:
    data: dict = {"site": {"grid_limit_mw": 10}, "runs": [dict(RUN), dict(RUN, name="b")]}
    data.update(changes)
    return data


def _message(data: dict, model: type[BaseModel] = Plan, **kwargs: object) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    err = data_error("plan.toml", info.value, model, **kwargs)  # type: ignore[arg-type]
    assert isinstance(err, CatalogError)
    return str(err)


# --- range wording ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "whole", "words"),
    [
        ([Gt(0), Le(10)], False, "a number in (0, 10]"),
        ([Ge(1), Lt(5)], False, "a number in [1, 5)"),
        ([Ge(1)], True, "a whole number >= 1"),
        ([Gt(0)], False, "a number > 0"),
        ([Le(1e13)], False, "a number <= 1e+13"),
        ([], False, None),
    ],
)
def test_range_words_read_gt_ge_lt_le_with_open_and_closed_ends(metadata, whole, words) -> None:
    assert range_words(metadata, whole=whole) == words


def test_range_words_read_the_constraints_of_a_field() -> None:
    info = Run.model_fields["deadline_days"]
    assert range_words(info.metadata) == "a number in [0.001, 3650]"
    assert range_words(info.metadata, finite=True) == "a finite number in [0.001, 3650]"


def test_a_value_out_of_range_names_file_field_value_and_range() -> None:
    message = _message(_plan(site={"grid_limit_mw": -5}))
    assert message == (
        "plan.toml, field 'site.grid_limit_mw': -5 is not allowed: expected a number in (0, 10000]"
    )


def test_a_whole_number_field_says_whole_number() -> None:
    message = _message(_plan(runs=[dict(RUN, gpus=0)]))
    assert "'runs[0].gpus': 0 is not allowed: expected a whole number in [1, 1e+06]" in message


def test_inf_and_nan_ask_for_a_finite_number_in_the_range() -> None:
    message = _message(_plan(site={"grid_limit_mw": float("inf")}))
    assert "inf is not allowed: expected a finite number in (0, 10000]" in message


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not 0 < x <= 10_000))
def test_any_grid_limit_outside_the_range_is_reported_with_its_value(value: float) -> None:
    message = _message(_plan(site={"grid_limit_mw": value}))
    shown = message.split("'site.grid_limit_mw': ", 1)[1].split(" is not allowed")[0]
    assert float(shown) == value  # as given, never rounded (1000001, not 1e+06)
    assert message == (
        f"plan.toml, field 'site.grid_limit_mw': {shown} is not allowed: "
        "expected a number in (0, 10000]"
    )


# --- nested paths ----------------------------------------------------------------------------


def test_a_nested_path_is_written_as_in_the_file() -> None:
    runs = [dict(RUN), dict(RUN, name="b", deadline_days=-5)]
    message = _message(_plan(runs=runs))
    assert message == (
        "plan.toml, field 'runs[1].deadline_days': -5 is not allowed: "
        "expected a number in [0.001, 3650]"
    )


def test_field_path_writes_indices_in_brackets_and_keys_with_dots() -> None:
    assert field_path(("runs", 1, "deadline_days")) == "runs[1].deadline_days"
    assert field_path(("ai", "fleet", "h100", "shipments", "2024")) == (
        "ai.fleet.h100.shipments.2024"
    )
    assert field_path(()) == ""


def test_the_site_scenario_loader_names_runs_1_deadline_days() -> None:
    data = {
        "site": {"grid_limit_mw": 10},
        "runs": [dict(RUN, flops=1e24), dict(RUN, name="b", flops=1e24, deadline_days=-5)],
    }
    with pytest.raises(CatalogError) as info:
        scenario_from_dict(data, source="x.toml")
    assert str(info.value).startswith(
        "x.toml, field 'runs[1].deadline_days': -5 is not allowed: expected a number in ["
    )


def test_an_error_inside_a_union_table_names_the_entry_not_the_table() -> None:
    message = _message(_plan(runs=[dict(RUN, mfu={"h100": "high"})]))
    assert "field 'runs[0].mfu.h100': 'high' is not allowed: expected a number in (0, 1]" in message


def test_a_range_inside_a_union_uses_the_branch_bounds() -> None:
    message = _message(_plan(runs=[dict(RUN, mfu=1.5)]))
    assert "'runs[0].mfu': 1.5 is not allowed: expected a number in (0, 1]" in message


# --- unknown and missing keys ----------------------------------------------------------------


def test_an_unknown_key_lists_the_allowed_keys_of_its_table() -> None:
    message = _message(_plan(site={"grid_limit_mw": 10, "grid_mv": 3}))
    assert message == (
        "plan.toml, field 'site.grid_mv': unknown key: expected one of grid_limit_mw, mixed, "
        "cooling"
    )


def test_an_unknown_key_close_to_a_known_one_suggests_it() -> None:
    message = _message(_plan(runs=[dict(RUN, deadline=3)]))
    assert "'runs[0].deadline': unknown key: expected one of name, deadline_days" in message
    assert message.endswith("(did you mean 'deadline_days'?)")


def test_hidden_fields_are_not_offered_as_keys() -> None:
    message = _message(_plan(bogus=1), hidden=("source",))
    assert "expected one of site, runs, growth, shares" in message
    assert "source" not in message


def test_a_missing_field_lists_the_fields_of_its_table() -> None:
    message = _message(_plan(runs=[{"name": "a"}]))
    assert "'runs[0].deadline_days': required field is missing" in message
    assert "(fields of this table: name, deadline_days, gpus, mfu)" in message


# --- strict types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            {"site": {"grid_limit_mw": 10, "mixed": "yes"}},
            "'yes' is not allowed: expected true or false",
        ),
        ({"site": {"grid_limit_mw": True}}, "true is not allowed: expected a number in (0, 10000]"),
        ({"site": {"grid_limit_mw": "15"}}, "'15' is not allowed: expected a number in (0, 10000]"),
        (
            {"runs": [dict(RUN, gpus=8.0)]},
            "8 is not allowed: expected a whole number in [1, 1e+06]",
        ),
        ({"runs": [dict(RUN, name=5)]}, "5 is not allowed: expected text (a quoted string)"),
        ({"runs": "a"}, "'a' is not allowed: expected an array of tables"),
        ({"runs": []}, "[] is not allowed: expected an array of tables with at least 1 entry"),
        ({"site": "big"}, "'big' is not allowed: expected a table"),
        ({"site": {"grid_limit_mw": 1, "cooling": "oil"}}, "expected one of 'air' or 'liquid'"),
    ],
)
def test_strict_types_are_worded_as_the_toml_types_expected(change: dict, needle: str) -> None:
    assert needle in _message(_plan(**change))


def test_a_union_lists_every_type_it_accepts() -> None:
    message = _message(_plan(runs=[dict(RUN, mfu=True)]))
    assert "true is not allowed: expected a number in (0, 1] or a table" in message
    message = _message(_plan(growth="fast"), tables={Bounds: "a range table {low, high}"})
    assert "'fast' is not allowed: expected a number or a range table {low, high}" in message


def test_type_words_word_each_member_of_a_union() -> None:
    assert type_words(bool) == "true or false"
    assert type_words(float | Bounds) == "a number or a table"
    assert type_words(dict[YearKey, float]) == "a table of year = value"
    assert type_words(int | str | bool) == "a whole number, text (a quoted string) or true/false"


# --- table keys, model checks, loader words --------------------------------------------------


def test_a_bad_table_key_is_named_with_as_the_key() -> None:
    message = _message(_plan(shares={"3000": 0.5}))
    assert message == (
        "plan.toml, field 'shares.3000': '3000' is not allowed: expected a whole number in "
        "[1990, 2060] as the key"
    )


def test_a_model_check_shows_the_value_it_rejected() -> None:
    message = _message(_plan(growth={"low": 6, "high": 4}))
    assert "field 'growth': {low = 6, high = 4} is not allowed: low 6 is above high 4" in message


def test_a_row_level_check_names_no_field_and_keeps_its_own_text() -> None:
    message = _message({"low": 6, "high": 4}, Bounds, row=3, column_label="column")
    assert message == "plan.toml, row 3: low 6 is above high 4"


def test_a_loader_mapping_overrides_the_words_for_a_field_or_its_entries() -> None:
    allowed = {"mfu": "a fraction in (0, 1]", "mfu.*": "a fraction in (0, 1] per chip"}
    message = _message(_plan(runs=[dict(RUN, mfu=1.5)]), allowed=allowed)
    assert message.endswith("1.5 is not allowed: expected a fraction in (0, 1]")
    message = _message(_plan(runs=[dict(RUN, mfu={"h100": 1.5})]), allowed=allowed)
    assert message.endswith("1.5 is not allowed: expected a fraction in (0, 1] per chip")


def test_a_loader_callback_sees_the_resolved_problem() -> None:
    seen: list[Problem] = []

    def words(problem: Problem) -> str | None:
        seen.append(problem)
        return "a year in 1990..2060" if problem.is_key else None

    message = _message(_plan(shares={"224": 0.5}), allowed=words)
    assert message.endswith("'224' is not allowed: expected a year in 1990..2060 as the key")
    assert seen[0].loc == ("shares", "224") and seen[0].field == "shares" and seen[0].inside


def test_a_csv_row_names_row_and_column_and_an_empty_cell() -> None:
    class Row(BaseModel):
        model_config = ConfigDict(extra="forbid")
        tdp_w: float = Field(gt=0, le=5_000)

    message = _message({"tdp_w": None}, Row, row=5, column_label="column")
    assert message == (
        "plan.toml, row 5, column 'tdp_w': an empty value is not allowed: "
        "expected a number in (0, 5000]"
    )
    message = _message({"tdp_w": "abc"}, Row, row=5, column_label="column")
    assert message.endswith("'abc' is not allowed: expected a number in (0, 5000]")


def test_a_prefix_and_a_suffix_place_the_error_in_the_file() -> None:
    message = _message(
        _plan(site={"grid_limit_mw": 0}), prefix="variants.low", suffix=" (variant 'low')"
    )
    assert message.startswith("plan.toml, field 'variants.low.site.grid_limit_mw': 0 is not")
    assert message.endswith("(0, 10000] (variant 'low')")


def test_resolve_prefers_an_unknown_key_over_a_missing_field() -> None:
    with pytest.raises(ValidationError) as info:
        Plan.model_validate(_plan(site={"grid_limt_mw": 10}))
    problem = resolve(info.value, Plan)
    assert problem.kind == "extra_forbidden" and problem.path == "site.grid_limt_mw"


def test_values_are_spelled_as_in_toml() -> None:
    assert show_value(True) == "true"
    assert show_value(1e24) == "1e+24"
    assert show_value("h100") == "'h100'"
    assert show_value({"low": 6, "high": 4.5}) == "{low = 6, high = 4.5}"
    assert show_value([1.0, "a"]) == "[1, 'a']"
    assert not_allowed(-5, "a number > 0") == "-5 is not allowed: expected a number > 0"


def test_a_long_array_is_shown_by_its_length_and_long_text_is_shortened() -> None:
    assert show_value(list(range(10_000))) == "an array of 10,000 entries"
    text = show_value("x" * 1000)
    assert len(text) < 200 and text.endswith("(1,002 characters)")


def test_show_path_keeps_short_paths_and_shortens_long_ones_in_the_middle() -> None:
    assert show_path("data/x.toml") == "data/x.toml"
    long = "d/" + "a" * 300 + ".toml"
    shown = show_path(long)
    assert shown.startswith("d/aaa") and shown.endswith(".toml (307 characters)")
    assert len(shown) < 120


def test_too_many_list_entries_are_worded_with_the_maximum() -> None:
    class Short(_Strict):
        runs: list[Run] = Field(max_length=2)

    runs = [dict(RUN, name=str(i)) for i in range(3)]
    msg = _message({"runs": runs}, Short)
    assert (
        "'runs': [" in msg and "is not allowed: expected an array of tables with at most 2" in msg
    )


def test_a_rejected_count_is_shown_as_given_not_rounded_into_the_range() -> None:
    from planner.data_errors import not_allowed
    from planner.errors import InputError
    from planner.sizing import size_training
    from planner.workloads import TrainingRun

    with pytest.raises(InputError) as err:
        size_training(TrainingRun(flops=1e24), "h100", gpus=10000001)
    assert "gpus = 10000001 is not allowed" in str(err.value)
    assert not_allowed(10000001.0, "at most 1e+07").startswith("10000001 is not allowed")
    assert not_allowed(0.5, "x").startswith("0.5 ")
