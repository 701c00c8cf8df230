#!/usr/bin/env python3
"""The two set-up commands of the README. Needs only Python 3.11+ and pip.

    python3 dev.py app    # create .venv, install the planner, open the Streamlit app
    python3 dev.py test   # create .venv, install the planner + test tools, run every test

Each creates (or reuses) the virtual environment ``.venv`` beside this file and installs what
it needs from ``pyproject.toml``; a stamp file skips the install when nothing changed. The
test command also installs Debian's Chromium (for the one real-browser test) when it runs as
root on a Debian-like machine and no Chromium is found.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def _run(cmd: list[str], **kw) -> None:
    _say(" ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, **kw)


def ensure_env(extra: str) -> None:
    """Create .venv and install the project with ``extra`` if pyproject changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is
        sys.exit(f"[dev] Python 3.11 or newer is required (this is {sys.version.split()[0]})")
    if not PY.exists():
        _say(f"creating virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / f".installed-{extra}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    _run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _run([str(PY), "-m", "pip", "install", "--quiet", "-e", f".[{extra}]"], cwd=ROOT)
    stamp.write_text(digest)


def find_chromium() -> str | None:
    for name in (os.environ.get("PLANNER_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    return None


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser test when possible (root + apt-get)."""
    if find_chromium():
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        _say("no Chromium found and cannot install it here: the browser test will be skipped")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "chromium"], env=env)


def cmd_app(args: list[str]) -> int:
    ensure_env("app")
    cmd = [
        str(BIN / "streamlit"),
        "run",
        str(ROOT / "streamlit_app.py"),
        "--browser.gatherUsageStats",
        "false",
        *args,
    ]
    _say(" ".join(cmd))
    return subprocess.call(cmd, cwd=ROOT)


def cmd_test(args: list[str]) -> int:
    ensure_env("test")
    ensure_chromium()
    env = dict(os.environ)
    if env.get("CI"):
        env["PLANNER_REQUIRE_BROWSER"] = "1"  # in CI the browser test must run, not skip
    cmd = [str(PY), "-m", "pytest", *args]
    _say(" ".join(cmd))
    return subprocess.call(cmd, cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    commands = {"app": cmd_app, "test": cmd_test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
