"""The planner's Streamlit app: ``streamlit run streamlit_app.py``.

Four pages share one sidebar of scenario inputs (``planner/app/sidebar.py``) kept in
session state and mirrored in the URL query string. The app opens on the GTC 2024 Hopper
preset: a 1.8T-parameter GPT-MoE in 90 days on about 8,000 H100s drawing about 15 MW.
"""

from __future__ import annotations

import streamlit as st

from planner.app import sidebar

st.set_page_config(
    page_title="planner: GPU and data-centre power",
    page_icon=":material/bolt:",
    layout="wide",
)

PAGES = [
    st.Page(
        "planner/app/size_page.py",
        title="Size a run",
        icon=":material/bolt:",
        url_path="size",
        default=True,
    ),
    st.Page(
        "planner/app/optimise_page.py",
        title="Optimise",
        icon=":material/tune:",
        url_path="optimise",
    ),
    st.Page(
        "planner/app/national_page.py",
        title="National demand",
        icon=":material/public:",
        url_path="national",
    ),
    st.Page(
        "planner/app/reports_page.py",
        title="Reports",
        icon=":material/description:",
        url_path="reports",
    ),
]

page = st.navigation(PAGES)
sidebar.render()
page.run()
