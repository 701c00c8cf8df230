"""Page "Optimise": the scenario as editable tables, a solve button, the plan and its limits.

Placeholder: it arrives with the optimiser issue (issue 3, ``planner/optimization.py`` and
``planner/scenarios.py``). ``streamlit_app.py`` runs this file as a page.
"""

from __future__ import annotations

import streamlit as st


def render() -> None:
    """Draw the placeholder."""
    st.title("Optimise a cluster plan")
    st.info(
        "This page arrives with the optimiser issue: the scenario's runs, candidate chips and "
        "limits as editable tables, a solve button, the plan with its binding limits in words, "
        "and the cost-vs-days Pareto chart. Until then, size single runs on the "
        "'Size a run' page.",
        icon=":material/construction:",
    )


if __name__ == "__main__":
    render()
