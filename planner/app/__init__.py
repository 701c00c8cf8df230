"""The Streamlit face of the planner: what a person sees.

Thin by design (pvlib's object layer, not a second model): every number on a page comes from
the core (:func:`planner.request.build_request`, :func:`planner.sizing.size_training`,
:func:`planner.sizing.compare_accelerators`); this package only turns widget values into core
calls, caches the answers by their inputs and draws them.

Modules
-------
state
    The sidebar inputs: names, defaults (a preset), the core request they make, and their
    round trip through the URL query string.
sidebar
    The shared sidebar of scenario inputs (rendered by ``streamlit_app.py`` on every page).
compute
    ``st.cache_data`` wrappers around the core, keyed by plain hashable inputs.
charts
    Altair chart builders (pure functions of DataFrames; units on every axis, tooltips).
formatting
    Number formatting for metrics and tables.
size_page, optimise_page, national_page, reports_page
    The four pages, each a script ``st.navigation`` runs (``render()`` under ``__main__``).
"""
