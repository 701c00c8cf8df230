"""End to end in a real headless Chromium: ``streamlit run``, load the page, change an input.

Uses Debian's ``chromium`` (or ``$PLANNER_CHROMIUM``) through Playwright's
``executable_path``; Playwright's own browser download does not work offline, so this never
calls ``playwright install``. Run with ``pytest -m browser``. Screenshots go to
``artifacts/app-default.png`` (the opening view) and ``artifacts/app.png`` (after the change).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
SERVER_START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 30_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# label -> value text of every st.metric on the page
METRICS_JS = """() => Object.fromEntries(
  [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
    m.querySelector('[data-testid="stMetricValue"]').innerText.trim(),
  ]))"""


def chromium_path() -> str | None:
    return os.environ.get("PLANNER_CHROMIUM") or shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"no answer from {url} in {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture()
def app_url() -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on a free port of 127.0.0.1; always terminated."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    log = ARTIFACTS / "streamlit-server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/_stcore/health", server, log)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _count(text: str) -> float:
    return float(text.split()[0].replace(",", "").lstrip("$"))


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_doubling_the_deadline_in_a_real_browser_halves_the_gpus(app_url: str) -> None:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("PLANNER_REQUIRE_BROWSER"):  # set by `dev.py test` under CI
            pytest.fail("no Chromium found, and CI requires the real-browser test to run")
        pytest.skip("no Chromium: install Debian's chromium or set PLANNER_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, timeout=PAGE_TIMEOUT_MS
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1800})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(app_url, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_function(
                """() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
                       .some(e => e.innerText.trim() === 'GPUs')""",
                timeout=PAGE_TIMEOUT_MS,
            )
            before = page.evaluate(METRICS_JS)
            gpus_before = _count(before["GPUs"])
            # NVIDIA GTC 2024 keynote: about 8,000 Hopper GPUs and 15 MW for 90 days (10%)
            assert gpus_before == pytest.approx(8_000, rel=0.10)
            assert _count(before["Peak facility power"]) == pytest.approx(15.0, rel=0.10)
            page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=PAGE_TIMEOUT_MS)
            page.screenshot(path=str(ARTIFACTS / "app-default.png"), full_page=True)

            deadline = page.get_by_role("spinbutton", name="Deadline (days)")
            deadline.fill("180")
            deadline.press("Enter")
            # metrics arrive one by one: wait until both GPUs and megawatts are redrawn
            page.wait_for_function(
                f"""() => {{
                  const m = ({METRICS_JS})();
                  return m['GPUs'] !== undefined && m['GPUs'] !== {before["GPUs"]!r}
                    && m['Peak facility power'] !== {before["Peak facility power"]!r};
                }}""",
                timeout=PAGE_TIMEOUT_MS,
            )
            after = page.evaluate(METRICS_JS)
            gpus_after = _count(after["GPUs"])
            # twice the time, half the GPUs (up to the rounding to whole 8-GPU servers)
            assert gpus_after == pytest.approx(gpus_before / 2, rel=0.01)
            assert _count(after["Peak facility power"]) < _count(before["Peak facility power"])
            page.wait_for_function(
                "() => window.location.search.includes('days=180')", timeout=PAGE_TIMEOUT_MS
            )
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "app.png").stat().st_size > 10_000
