"""Page "National demand": projected AI electricity demand by country, with published studies.

Placeholder: it arrives with the national projection issue (issue 4,
``planner/projection.py``). ``streamlit_app.py`` runs this file as a page.
"""

from __future__ import annotations

import streamlit as st


def render() -> None:
    """Draw the placeholder."""
    st.title("National AI electricity demand")
    st.info(
        "This page arrives with the national projection issue: a scenario picker (the IEA, "
        "LBNL and de Vries reproductions and custom), a P10-P90 fan chart of TWh by year per "
        "country, the share of national electricity, and the published study figures as "
        "marked points.",
        icon=":material/construction:",
    )


if __name__ == "__main__":
    render()
