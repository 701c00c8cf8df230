"""Page layout helpers shared by the pages (display only)."""

from __future__ import annotations

import streamlit as st

from planner.app import formatting as fmt


def metric_row(items: list[tuple[str, str, str | None]]) -> None:
    """Headline metrics that wrap onto new lines as the page narrows, never cut.

    A horizontal container of fixed-width metrics: four to a row at 1,440 px, fewer at
    1,024 px and one or two on a phone, each value whole ("7,888", "$238.7M").
    """
    with st.container(horizontal=True, gap="small"):
        for label, value, help_text in items:
            st.metric(label, value, help=help_text, width=fmt.METRIC_WIDTH_PX, border=True)
