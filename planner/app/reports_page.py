"""Page "Reports": download the current scenario's report in each format.

Placeholder: it arrives with the reports issue. ``streamlit_app.py`` runs this file as a page.
"""

from __future__ import annotations

import streamlit as st


def render() -> None:
    """Draw the placeholder."""
    st.title("Reports")
    st.info(
        "This page arrives with the reports issue: download the current scenario's report "
        "(with every value used and its source) in each format the reports issue provides. "
        "The sidebar's inputs are already a shareable link: copy the address bar.",
        icon=":material/construction:",
    )


if __name__ == "__main__":
    render()
