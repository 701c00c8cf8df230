"""``planner app``: start the Streamlit app from the installed package (the ``app`` extra)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Annotated

import typer

from planner.cli._app import app

#: The one line when Streamlit is not installed (exit code 2).
MISSING_APP_EXTRA = "planner app needs the app extra: pip install 'planner[app]'"


def _pages() -> str:
    """The app's page titles as a phrase: ``Size a run, Optimise, ... and Public record``."""
    from planner.app.main import PAGES  # the page list itself; imports no Streamlit

    titles = [title for _, title, _, _ in PAGES]
    return ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else titles[0]


@app.command(
    "app",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    help=f"""Start the Streamlit app: {_pages()} pages.

    Needs the app extra (pip install 'planner[app]'). Further options go to
    `streamlit run` as they are, e.g. `planner app --server.address 0.0.0.0`.
    Stop it with Ctrl+C.
    """,
)
def app_command(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option(help="Port to serve on [default: Streamlit's, 8501].")
    ] = None,
    headless: Annotated[
        bool, typer.Option("--headless", help="Do not open a browser (servers, CI).")
    ] = False,
) -> int:
    try:
        import streamlit  # noqa: F401
    except ImportError:
        sys.stderr.write(MISSING_APP_EXTRA + "\n")
        return 2
    from planner.app import main as entry

    # The settings of the repository's .streamlit/config.toml that make it a product, given
    # as flags because a wheel user starts it from any folder: no usage statistics, no
    # developer menu. Options after these (the user's) win.
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry.__file__),
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        # the address shown at start: without it a headless Streamlit looks up this machine's
        # external IP on the internet (streamlit.web.bootstrap, net_util.get_external_ip)
        "--browser.serverAddress",
        "localhost",
    ]
    if port is not None:
        command += ["--server.port", str(port)]
    if headless:
        command += ["--server.headless", "true"]
    command += list(ctx.args)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        return serve_until_stopped(command)
    try:  # pragma: no cover - Windows: the console sends Ctrl+C to both processes
        return subprocess.call(command)
    except KeyboardInterrupt:  # pragma: no cover
        return 130


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: the server gets SIGTERM if ``planner app`` itself is killed (SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve_until_stopped(command: list[str]) -> int:
    """Run the Streamlit server and pass it ONE stop request, however many arrive.

    Streamlit prints "Stopping..." and starts over its shutdown on every SIGINT/SIGTERM, so a
    second Ctrl+C (or a supervisor's SIGTERM after a Ctrl+C) printed it twice. The server
    runs in its own session, away from the terminal's Ctrl+C; this process forwards the first
    SIGINT, SIGTERM or SIGHUP as SIGINT, ignores the second, and kills the server at the
    third (a server that does not stop). Returns the server's exit code (128 + signal number
    if a signal ended it).
    """
    server = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)  # noqa: PLW1509
    received = 0

    def forward(signum: int, frame: object) -> None:  # noqa: ARG001
        nonlocal received
        received += 1
        if server.poll() is not None:
            return
        if received == 1:
            server.send_signal(signal.SIGINT)
        elif received >= 3:
            server.kill()

    previous = {sig: signal.signal(sig, forward) for sig in _STOP_SIGNALS}
    try:
        code = server.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if os.name == "posix" else ()
