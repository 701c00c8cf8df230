#!/usr/bin/env python3
"""Screenshots of every page of the app for the README: ``docs/app-<page>-<width>.png``.

Starts ``streamlit run streamlit_app.py`` headless on a free port of 127.0.0.1, waits for
``/_stcore/health``, drives Debian's Chromium (``/usr/bin/chromium``, or ``$PLANNER_CHROMIUM``)
through Playwright's ``executable_path`` with a fresh profile, opens each page at 1,440 and
1,024 px (and the Size page on a 390 px phone) and writes each picture atomically (a
temporary file in the same folder, then a rename), so an interrupted run never leaves half
a PNG. Every wait is a condition: the script run finished (Streamlit's ``script_finished``
message), the page idle, every chart and table drawn, the fonts loaded.

Usage::

    python3 scripts/screenshots.py             # every page into docs/
    python3 scripts/screenshots.py --out /tmp  # elsewhere
    python3 scripts/screenshots.py --pages size serve --widths 1440

Exit status 0 when every picture was written, 1 otherwise (the reason on stderr). Nothing
is downloaded: Playwright's own browser is never installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: page name in the file name -> URL path of the page (planner.app.main.PAGES).
PAGES = {
    "size": "",
    "optimise": "optimise",
    "national": "national",
    "serve": "serve",
    "reports": "reports",
    "validation": "validation",
    "buildout": "buildout",
    "sweeps": "sweeps",
}
WIDTHS = (1440, 1024)
#: The Size page is also shot on a phone.
PHONE = ("size", 390, 1800)
#: Tall enough for each page's headline, charts and first tables (Streamlit scrolls inside
#: its main block, so a "full page" screenshot is the viewport).
HEIGHT_PX = 2400
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
SERVER_START_TIMEOUT_S = 240
PAGE_TIMEOUT_MS = 240_000
HEALTH_POLL_S = 0.25

#: The script is not running, no placeholder skeleton, nothing left stale by a rerun, every
#: visible chart drawn (a canvas or svg with a size), every visible table's grid drawn, the
#: fonts loaded.
READY_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')) return false;
  if (document.fonts && document.fonts.status !== 'loaded') return false;
  const shown = (e) => e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null;
  const drawn = (el, sel) => [...el.querySelectorAll(sel)]
    .some(c => c.getBoundingClientRect().width > 0 && c.getBoundingClientRect().height > 0);
  // (a table or chart in a closed expander is never drawn, and not on the picture)
  for (const chart of document.querySelectorAll(
      '[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')) {
    if (shown(chart) && !drawn(chart, 'canvas, svg')) return false;
  }
  for (const table of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    if (shown(table) && !drawn(table, 'canvas')) return false;
  }
  return !!document.querySelector('[data-testid="stHeading"]');
}"""


class ScriptRuns:
    """Counts a page's finished script runs from Streamlit's websocket messages."""

    def __init__(self, page: Any) -> None:
        self.done = 0
        self.ws: Any = None
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, ws: Any) -> None:
        self.ws = ws
        ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, bytes | bytearray):
            if ForwardMsg.FromString(bytes(payload)).WhichOneof("type") == "script_finished":
                self.done += 1

    def wait_beyond(self, page: Any, count: int, timeout_ms: int) -> None:
        """Wait until more than ``count`` runs have finished (event driven: each wait returns
        on the next websocket frame, or on a new websocket after a navigation)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.done <= count:
            left_ms = (deadline - time.monotonic()) * 1000
            if left_ms <= 0:
                raise TimeoutError(f"no script run finished in {timeout_ms / 1000:.0f} s")
            ws = self.ws
            try:
                if ws is None:
                    page.wait_for_event("websocket", timeout=left_ms)
                else:
                    ws.wait_for_event("framereceived", timeout=left_ms)
            except Exception:
                if self.ws is ws and ws is not None and not ws.is_closed():
                    raise


def chromium_path() -> str:
    path = os.environ.get("PLANNER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit(f"screenshots: no Chromium at {path}: install Debian's chromium")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str, server: subprocess.Popen[bytes]) -> bool:
    """Poll ``url`` until it answers 200 (True) or the server exits (False)."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(HEALTH_POLL_S)  # a poll interval: the loop waits on the answer
    raise TimeoutError(f"no answer from {url} in {SERVER_START_TIMEOUT_S} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


@contextmanager
def app_server(log_dir: Path) -> Iterator[str]:
    """``streamlit run`` on a free local port (a new one if another process takes it first);
    yields the app's URL; always stopped."""
    for _attempt in range(3):
        port = free_port()
        log = log_dir / f"streamlit-{port}.log"
        with log.open("wb") as out:
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
                env={**os.environ, "PYTHONPATH": os.pathsep.join(_pythonpath())},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            up = _healthy(f"http://127.0.0.1:{port}/_stcore/health", server)
        except BaseException:
            _stop(server)
            raise
        if up:
            break
        _stop(server)
        text = log.read_text(errors="replace")
        if "already in use" not in text:
            raise RuntimeError(f"streamlit exited with {server.returncode}:\n{text[-3000:]}")
    else:
        raise RuntimeError("no free port for streamlit after three tries")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(server)


def _pythonpath() -> list[str]:
    """This checkout first, so the app shot is the code beside this script."""
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [str(ROOT), *[p for p in rest if Path(p).resolve() != ROOT]]


def write_atomically(page: Any, target: Path) -> None:
    """A screenshot of ``page`` to ``target`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        page.screenshot(path=tmp, full_page=True)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shots(pages: Sequence[str], widths: Sequence[int], phone: bool) -> list[tuple[str, int, int]]:
    """(page, width, height) of every picture to take."""
    out = [(name, width, HEIGHT_PX) for width in widths for name in pages]
    if phone and PHONE[0] in pages:
        out.append(PHONE)
    return out


def take(url: str, out: Path, plan: list[tuple[str, int, int]], profile: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            args=CHROMIUM_ARGS,
            headless=True,
            timeout=PAGE_TIMEOUT_MS,
            viewport={"width": plan[0][1], "height": plan[0][2]},
        )
        try:
            for name, width, height in plan:
                # a fresh tab per picture: its own session, websocket and run count
                page = context.new_page()
                try:
                    page.set_default_timeout(PAGE_TIMEOUT_MS)
                    page.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
                    page.set_viewport_size({"width": width, "height": height})
                    runs = ScriptRuns(page)
                    page.goto(url + PAGES[name])
                    runs.wait_beyond(page, 0, PAGE_TIMEOUT_MS)
                    page.wait_for_function(READY_JS, timeout=PAGE_TIMEOUT_MS)
                    if page.locator('[data-testid="stException"]').count():
                        raise RuntimeError(f"{name} at {width} px shows a traceback")
                    target = out / f"app-{name}-{width}.png"
                    write_atomically(page, target)
                finally:
                    page.close()
                written.append(target)
                shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
                print(f"wrote {shown}", flush=True)
        finally:
            context.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder of the PNGs (docs/)")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    parser.add_argument("--widths", nargs="+", type=int, default=list(WIDTHS))
    parser.add_argument("--no-phone", action="store_true", help="skip the 390 px Size page")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    plan = shots(args.pages, args.widths, not args.no_phone)
    with tempfile.TemporaryDirectory(prefix="planner-screenshots-") as tmp:
        try:
            with app_server(Path(tmp)) as url:
                take(url, args.out, plan, Path(tmp) / "profile")
        except Exception as err:  # noqa: BLE001 - one line, never a traceback
            print(f"screenshots: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
