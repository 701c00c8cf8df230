"""Page "Build-out": where and when to install which chips over sites and quarters (a thin
face over :func:`planner.optimization.buildout.plan_buildout`).

Standalone: :func:`render` draws the whole page (a shipped build-out or an uploaded TOML, the
objective, the plan). Every number comes from the core's :class:`BuildoutPlan`; headers and
number formats from :mod:`planner.quantities`. Bad input is one ``st.error`` line.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner import quantities
from planner.errors import PlannerError

#: The objectives in the order offered (the core's names).
_OBJECTIVES = ("cost", "compute", "finish")


@st.cache_data(show_spinner=False, max_entries=16)
def _plan(text: str, source: str, objective: str | None) -> dict[str, Any]:
    """The plan of a build-out given as TOML text, as ``BuildoutPlan.to_dict()`` (cached)."""
    from planner.data_errors import parse_toml
    from planner.optimization.buildout import buildout_from_dict, plan_buildout

    scenario = buildout_from_dict(parse_toml(text, source), source=source)
    plan = plan_buildout(scenario, objective=objective, time_limit_s=120.0)
    return {"title": scenario.title or source, **plan.to_dict()}


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records)


def _show(frame: pd.DataFrame) -> None:
    """A table with the vocabulary's headers and formats where a column is a known output."""
    known = quantities.all_quantities()
    shown = pd.DataFrame(
        {
            (quantities.label(c) if c in known else c): (
                frame[c].map(lambda v, c=c: quantities.format_value(c, v))
                if c in known
                else frame[c]
            )
            for c in frame.columns
        }
    )
    st.dataframe(shown, hide_index=True, use_container_width=True)


def _chart(power: pd.DataFrame) -> None:
    from planner.app.buildout_charts import power_chart

    st.altair_chart(power_chart(power), use_container_width=True)


def render() -> None:
    """Draw the Build-out page."""
    from planner.optimization.buildout import buildout_path, example_names

    st.header("Build-out")
    st.caption(
        "Where and when to install which chips as grid connections, on-site power and chip "
        "deliveries arrive. The power limit is the design-day peak; energy uses the annual PUE."
    )
    names = example_names()
    choice = st.selectbox(
        "Build-out",
        names,
        index=names.index("small-hand-checkable") if "small-hand-checkable" in names else 0,
    )
    upload = st.file_uploader("or a build-out TOML file", type=["toml"])
    objective = st.radio("Objective", _OBJECTIVES, horizontal=True)
    if upload is not None:
        text, source = upload.getvalue().decode("utf-8", errors="replace"), upload.name
    else:
        path = buildout_path(choice)
        text, source = path.read_text(encoding="utf-8"), path.name
    try:
        with st.spinner("Solving..."):
            plan = _plan(text, source, objective)
    except PlannerError as exc:
        st.error(str(exc))
        return
    st.subheader(plan["title"])
    st.write(f"Status: **{plan['status']}**")
    if plan["status"] not in ("optimal", "time_limit"):
        for note in plan["notes"]:  # the core says whether each works alone or together
            st.write(note)
        relax = _frame(plan["relaxations"])
        if not relax.empty:
            st.subheader("Minimal relaxations")
            for words in relax["words"]:
                st.write(f"- {words}")
        binding = _frame(plan["binding"])
        if not binding.empty:
            st.subheader("Binding limits")
            for words in binding["words"]:
                st.write(f"- {words}")
        return
    totals = plan["totals"]
    cols = st.columns(4)
    for col, name in zip(
        cols, ("cost_usd", "discounted_cost_usd", "energy_mwh", "emissions_tco2"), strict=True
    ):
        col.metric(quantities.label(name), quantities.format_value(name, totals[name]))
    power = _frame(plan["power"])
    _chart(power)
    installs = _frame(plan["installs"])
    st.subheader("Installs")
    _show(installs[installs["systems"] > 0][["site", "chip", "quarter", "systems", "gpus"]])
    built = _frame(plan["built"])
    if not built.empty:
        st.subheader("Grid upgrades, plants and batteries built")
        _show(built)
    st.subheader("Runs")
    _show(_frame(plan["runs"]))
    costs = _frame(plan["costs"])
    st.subheader("Cost by component and year")
    _show(costs[costs["cost_usd"] != 0])
    binding = _frame(plan["binding"])
    if not binding.empty:
        st.subheader("Binding limits")
        for words in binding["words"]:
            st.write(f"- {words}")
    for note in plan["notes"]:
        st.caption(note)


if __name__ == "__main__":
    render()
