"""The planner's Streamlit app, from the installed package: ``planner app``.

``planner app`` runs ``streamlit run`` on this file; so does ``streamlit_app.py`` at the root
of a checkout, a two-line shim. The pages (:data:`PAGES`) share one sidebar of scenario inputs
(:mod:`planner.app.sidebar`) kept in session state and mirrored in the URL query string. The
app opens on the GTC 2024 Hopper preset: a 1.8T-parameter GPT-MoE in 90 days on about 8,000
H100s drawing about 15 MW.

The pages are given by absolute path (this folder), so the app runs the same whether the
entry script is this file or the shim, from a checkout or a wheel.
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the page scripts (``planner/app/``), wherever the package is installed.
APP_DIR = Path(__file__).resolve().parent

#: (file, title, icon, url path) of each page, the first being the default.
PAGES: list[tuple[str, str, str, str]] = [
    ("size_page.py", "Size a run", ":material/bolt:", "size"),
    ("optimise_page.py", "Optimise", ":material/tune:", "optimise"),
    ("national_page.py", "National demand", ":material/public:", "national"),
    ("serve_page.py", "Serve a model", ":material/dns:", "serve"),
    ("reports_page.py", "Reports", ":material/description:", "reports"),
    ("validation_page.py", "Public record", ":material/fact_check:", "validation"),
    ("buildout_page.py", "Build-out", ":material/domain_add:", "buildout"),
    ("sweep_page.py", "Sweeps", ":material/ssid_chart:", "sweeps"),
]


def main() -> None:
    """Render the app: page config, navigation, the shared sidebar, then the chosen page."""
    import streamlit as st

    from planner.app import sidebar

    st.set_page_config(
        page_title="planner: GPU and data-centre power",
        page_icon=":material/bolt:",
        layout="wide",
    )
    pages = [
        st.Page(APP_DIR / file, title=title, icon=icon, url_path=url, default=i == 0)
        for i, (file, title, icon, url) in enumerate(PAGES)
    ]
    page = st.navigation(pages)
    sidebar.render()
    page.run()


if __name__ == "__main__":
    main()
