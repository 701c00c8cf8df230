"""The planner's Streamlit app from a checkout: ``streamlit run streamlit_app.py``.

A shim: the app lives in the package (:mod:`planner.app.main`), so ``planner app`` runs the
same app from an installed wheel.
"""

from planner.app.main import main

main()
