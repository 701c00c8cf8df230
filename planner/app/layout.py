"""Page layout helpers shared by the pages (display only)."""

from __future__ import annotations

import streamlit as st


def metric_row(items: list[tuple[str, str, str | None]]) -> None:
    """Headline metrics that wrap onto new lines as the page narrows, never cut.

    A horizontal container of metrics as wide as their values: as many to a row as fit at
    1,440 px, fewer at 1,024 px and one or two on a phone, each value whole ("7,888",
    "$238.7M", "2,515 tCO2"), never cut with an ellipsis.
    """
    with st.container(horizontal=True, gap="small"):
        for label, value, help_text in items:
            st.metric(label, value, help=help_text, width="content", border=True)
