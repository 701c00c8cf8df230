"""Rerun time of the Streamlit sizing page, measured through AppTest (target: well under 200 ms).

    .venv/bin/python benchmarks/bench_app.py

AppTest recompiles the page script on every run (~13 ms) which a real server does once, so
these numbers are an upper bound on what a browser user waits for.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def timed(at: AppTest) -> float:
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0


def summary(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:5.0f} ms, max {max(xs) * 1e3:5.0f} ms"


def main() -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.run()
    same = [timed(at) for _ in range(20)]
    miss, hit = [], []
    for i in range(20):
        at.slider(key="mfu").set_value(round(0.30 + i * 0.01, 2))
        miss.append(timed(at))
    for i in range(20):
        at.slider(key="mfu").set_value(round(0.30 + i * 0.01, 2))
        hit.append(timed(at))
    assert not at.exception, at.exception
    print("sizing page rerun, same inputs          :", summary(same))
    print("sizing page rerun, new MFU (cache miss) :", summary(miss))
    print("sizing page rerun, MFU seen (cache hit) :", summary(hit))


if __name__ == "__main__":
    main()
