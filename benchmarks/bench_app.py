"""First-load and rerun times of every page of the Streamlit app, measured through AppTest.

    .venv/bin/python benchmarks/bench_app.py

For each page: the first load in a fresh session with cold caches (a new process would also
pay the imports; here they are paid once, by a warm-up session of the Size page, whose time is
printed too), a rerun with the same inputs (what every widget interaction costs at least),
and on the Size page a rerun with a new MFU (a cache miss) and an MFU seen before (a hit).

AppTest recompiles the page script on every run (~13 ms) which a real server does once, so
these numbers are an upper bound on what a browser user waits for; ``tests/test_app_browser.py``
measures the same in a real Chromium.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
PAGES = {
    "Size a run": "planner/app/size_page.py",
    "Optimise": "planner/app/optimise_page.py",
    "National demand": "planner/app/national_page.py",
    "Reports": "planner/app/reports_page.py",
}
RERUNS = 10


def timed(at: AppTest) -> float:
    t0 = time.perf_counter()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return time.perf_counter() - t0


def summary(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:6.0f} ms, max {max(xs) * 1e3:6.0f} ms"


def main() -> None:
    t0 = time.perf_counter()
    warm = AppTest.from_file(str(APP), default_timeout=120)
    timed(warm)
    print(
        f"{'first load, imports and cold caches':42s}: {(time.perf_counter() - t0) * 1e3:6.0f} ms"
    )
    for title, page in PAGES.items():
        st.cache_data.clear()
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.run()  # the session opens on the Size page
        at.switch_page(page)
        first = timed(at)
        same = [timed(at) for _ in range(RERUNS)]
        print(f"{title + ': first view (cold cache)':42s}: {first * 1e3:6.0f} ms")
        print(f"{title + ': rerun, same inputs':42s}: {summary(same)}")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    miss, hit = [], []
    for i in range(RERUNS):
        at.slider(key="mfu_pct").set_value(30.0 + i)
        miss.append(timed(at))
    for i in range(RERUNS):
        at.slider(key="mfu_pct").set_value(30.0 + i)
        hit.append(timed(at))
    print(f"{'Size a run: rerun, new MFU (cache miss)':42s}: {summary(miss)}")
    print(f"{'Size a run: rerun, MFU seen (cache hit)':42s}: {summary(hit)}")


if __name__ == "__main__":
    main()
