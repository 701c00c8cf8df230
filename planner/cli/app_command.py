"""``planner app``: start the Streamlit app from the installed package (the ``app`` extra)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated

import typer

from planner.cli._app import app

#: The one line when Streamlit is not installed (exit code 2).
MISSING_APP_EXTRA = "planner app needs the app extra: pip install 'planner[app]'"


@app.command(
    "app",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
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
    """Start the Streamlit app (sizing, optimise, national demand, reports pages).

    Needs the app extra (pip install 'planner[app]'). Further options go to
    `streamlit run` as they are, e.g. `planner app --server.address 0.0.0.0`.
    Stop it with Ctrl+C.
    """
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
    if os.name == "posix":  # become the server: signals (Ctrl+C, kill) reach Streamlit itself
        os.execv(sys.executable, command)
    try:  # pragma: no cover - Windows has no exec
        return subprocess.call(command)
    except KeyboardInterrupt:  # pragma: no cover
        return 130
