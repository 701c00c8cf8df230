"""The Streamlit face of the planner: what a person sees.

Thin by design (pvlib's object layer, not a second model): every number on a page comes from
the core (:func:`planner.request.build_request`, :func:`planner.sizing.size_training`,
:func:`planner.sizing.compare_accelerators`, :func:`planner.optimization.solve`,
:func:`planner.projection.project`, :func:`planner.amortization.run_economics`); this package
only turns widget values into core calls, caches the answers by their inputs and draws them.
No input reaches a traceback: every page catches :class:`planner.errors.PlannerError` where it
calls the core and says why a chart or table cannot be drawn, keeping the rest.

Modules
-------
state
    The sizing inputs: names, limits (the core's), defaults (a preset), the core request they
    make, their URL round trip, and :func:`~planner.app.state.parse_number` for numbers typed
    as planners write them (``2.15e25``, ``1,800``).
sidebar
    The sizing inputs in the Size page's sidebar (each page's sidebar holds its own inputs);
    :func:`~planner.app.sidebar.load` keeps them across pages.
share
    Save, load, share: every page's state as a URL query and as a TOML scenario file.
compute
    ``st.cache_data`` wrappers around the core, keyed by plain hashable inputs; the Optimise
    tables (text cells parsed to the scenario's units).
charts
    Altair chart builders (pure functions of DataFrames; units on every axis, tooltips).
formatting, layout
    Display only: numbers with units and rounding, plain-English names; metrics that wrap.
size_page, optimise_page, national_page, reports_page
    The four pages, each a script ``st.navigation`` runs (``render()`` under ``__main__``);
    the entry script is :mod:`planner.app.main`.
"""
