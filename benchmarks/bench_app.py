"""First-load and rerun times of every page of the Streamlit app, measured through AppTest.

    .venv/bin/python benchmarks/bench_app.py

For each page: its first view in a new session (the very first load of the process pays the
imports and the Size page's cold caches and is printed on its own; each other page's own
caches are cold on its first view: the Optimise solve, the projection), a rerun with the same
inputs (what every widget interaction costs at least), and on the Size page a rerun with a
new MFU (a cache miss) and an MFU seen before (a hit).

AppTest recompiles the page script on every run (~13 ms) which a real server does once, so
these numbers are an upper bound on what a browser user waits for; ``tests/test_app_browser.py``
measures the same in a real Chromium.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

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
        f"{'first load (imports, Size page, cold)':42s}: {(time.perf_counter() - t0) * 1e3:6.0f} ms"
    )
    for title, page in PAGES.items():
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.run()  # the session opens on the Size page
        at.switch_page(page)
        first = timed(at)
        same = [timed(at) for _ in range(RERUNS)]
        print(f"{title + ': first view, new session':42s}: {first * 1e3:6.0f} ms")
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
