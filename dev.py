#!/usr/bin/env python3
"""The two set-up commands of the README. Needs only Python 3.11+ and pip.

    python3 dev.py app             # create .venv, install the planner, open the Streamlit app
    python3 dev.py test            # create .venv, install the planner + test tools, run every test
                                   # on every core (pytest -n auto), then type-check (mypy);
                                   # pytest options pass through (a path or -k: no type check)
    python3 dev.py test -n 0 -s    # one process (see prints, use --pdb): any -n turns -n auto off
    python3 dev.py test --newest   # the same suite against the newest releases (.venv-newest)
    python3 dev.py lock            # re-resolve requirements.lock from pyproject.toml (uses uv)

Each creates (or reuses) the virtual environment ``.venv`` beside this file and installs the
planner with the versions pinned in the committed lock file ``requirements.lock`` (used as pip
constraints), so every fresh machine gets the versions the tests passed with; a stamp file skips
the install when neither ``pyproject.toml`` nor the lock changed. ``pyproject.toml`` keeps lower
bounds only: users who ``pip install planner`` float to the newest releases, which
``test --newest`` checks in a separate ``.venv-newest``. The test command also installs Debian's
Chromium (for the one real-browser test) when it runs as root on a Debian-like machine and no
Chromium is found.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements.lock"
#: uv resolves the lock (``dev.py lock``); pinned so the lock is reproducible too.
UV = "uv==0.13.9"


def _bin(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin")


def _python(venv_dir: Path) -> Path:
    return _bin(venv_dir) / ("python.exe" if os.name == "nt" else "python")


VENV = ROOT / ".venv"
BIN = _bin(VENV)
PY = _python(VENV)


def _say(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def _run(cmd: list[str], **kw) -> None:
    _say(" ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, **kw)


def ensure_env(extra: str, *, newest: bool = False) -> Path:
    """Create the venv and install the project with ``extra``; return the venv's python.

    Locked (default): ``.venv``, every package pinned by ``requirements.lock`` (pip
    constraints), re-installed only when ``pyproject.toml`` or the lock changed. Newest:
    ``.venv-newest``, every package upgraded to its newest release allowed by
    ``pyproject.toml`` (the lock ignored), re-resolved on every call.
    """
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is
        sys.exit(f"[dev] Python 3.11 or newer is required (this is {sys.version.split()[0]})")
    venv_dir = ROOT / (".venv-newest" if newest else ".venv")
    py = _python(venv_dir)
    if not py.exists():
        _say(f"creating virtual environment {venv_dir}")
        venv.EnvBuilder(with_pip=True, clear=False).create(venv_dir)
    if newest:
        _run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--upgrade",
                "--upgrade-strategy",
                "eager",
                "-e",
                f".[{extra}]",
            ],
            cwd=ROOT,
        )
        return py
    if not LOCK.is_file():
        sys.exit(f"[dev] {LOCK.name} is missing: run `python3 dev.py lock` and commit it")
    blob = (ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes() + extra.encode()
    digest = hashlib.sha256(blob).hexdigest()
    stamp = venv_dir / f".installed-{extra}"
    if stamp.exists() and stamp.read_text() == digest:
        return py
    _run(
        [str(py), "-m", "pip", "install", "--quiet", "-c", str(LOCK), "-e", f".[{extra}]"],
        cwd=ROOT,
    )
    stamp.write_text(digest)
    return py


def cmd_lock(args: list[str]) -> int:
    """Re-resolve ``requirements.lock`` (every platform, Python 3.11+) from pyproject.toml."""
    py = ensure_env("test")
    _run([str(py), "-m", "pip", "install", "--quiet", UV])
    cmd = [
        str(_bin(VENV) / "uv"),
        "pip",
        "compile",
        "pyproject.toml",
        "--extra",
        "test",
        "--universal",
        "--python-version",
        "3.11",
        "--no-header",
        "-o",
        str(LOCK),
        *args,
    ]
    _say(" ".join(cmd))
    return subprocess.call(cmd, cwd=ROOT)


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
    newest = "--newest" in args
    args = [a for a in args if a != "--newest"]
    py = ensure_env("test", newest=newest)
    ensure_chromium()
    env = dict(os.environ)
    if env.get("CI"):
        env["PLANNER_REQUIRE_BROWSER"] = "1"  # in CI the browser test must run, not skip
        env.setdefault("HYPOTHESIS_PROFILE", "ci")  # seeded examples (tests/conftest.py)
    if newest:
        env["PATH"] = f"{py.parent}{os.pathsep}{env.get('PATH', '')}"
    # The suite starts dozens of fresh interpreters (the Streamlit server, the fork servers,
    # start-up, import-graph and wheel checks) and pytest rewrites the test modules on every
    # worker: with bytecode caching off (a sandbox's PYTHONDONTWRITEBYTECODE) each of them
    # compiles the planner and the tests again. The caches go to the ignored __pycache__/.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # ... and the planner's bytecode is written once, on every core, before they start (from a
    # fresh clone each of them would otherwise compile it at the same moment)
    subprocess.call([str(py), "-m", "compileall", "-q", "-j", "0", "planner"], cwd=ROOT, env=env)
    cmd = [str(py), "-m", "pytest", *parallel_args(args), *args]
    _say(" ".join(cmd))
    start = time.monotonic()
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    _say(f"tests took {_duration(time.monotonic() - start)}")
    if code == 5:  # pytest: no test collected (e.g. a -k that matched nothing)
        _say("pytest collected no test")
    if whole_suite(args):
        typed = type_check(py)
        code = code or typed
    return code


def whole_suite(args: list[str]) -> bool:
    """True unless ``args`` pick some tests (a path, ``-k``, ``-m``, a node id): the static type
    check runs with the whole suite only."""
    picks = ("-k", "-m", "--lf", "--last-failed", "--deselect", "--co", "--collect-only")
    if any(a.startswith(picks) for a in args):
        return False
    values = {"-n", "-p", "-W", "-o", "-c", "--dist", "--numprocesses", "--hypothesis-profile"}
    values |= {"--maxfail", "--durations", "--timeout", "--tb", "--basetemp", "--rootdir"}
    for i, a in enumerate(args):
        if not a.startswith("-") and (i == 0 or args[i - 1] not in values):
            return False  # a test path or node id
    return True


def type_check(py: Path) -> int:
    """``mypy planner`` (the annotations are checked, not only written; py.typed ships),
    timed on its own line: a cold check is ~25 s of one core, incremental ones ~2 s (its
    cache is ``.mypy_cache``), so it is kept out of the tests' time."""
    cmd = [str(py), "-m", "mypy", "--ignore-missing-imports", "planner"]
    _say(" ".join(cmd))
    start = time.monotonic()
    code = subprocess.call(cmd, cwd=ROOT)
    _say(f"type check took {_duration(time.monotonic() - start)}")
    return code


def parallel_args(args: list[str]) -> list[str]:
    """pytest-xdist's options unless ``args`` choose their own (``-n 0`` runs in one process).

    One worker per core (``-n auto``); ``--dist loadgroup`` keeps the tests marked
    ``xdist_group`` (the browser, the wheel, files sharing an expensive module fixture) on one
    worker each, see ``tests/conftest.py``.
    """
    pairs = {" ".join(args[i : i + 2]) for i in range(len(args))}
    chosen = (
        any(a.startswith(("-n", "--numprocesses", "--dist", "-pno:xdist")) for a in args)
        or "-p no:xdist" in pairs
        or any(a in ("--pdb", "--trace") for a in args)  # a debugger needs one process
    )
    return [] if chosen else ["-n", "auto", "--dist", "loadgroup"]


def _duration(seconds: float) -> str:
    """``2 min 41 s`` (or ``41 s`` under a minute)."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def main(argv: list[str]) -> int:
    commands = {"app": cmd_app, "test": cmd_test, "lock": cmd_lock}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
