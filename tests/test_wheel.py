"""A user who installs the wheel, without the repository, gets a working ``planner``.

The wheel is built from this checkout and installed into a fresh virtual environment in a
temporary folder. Only ``planner`` comes from the wheel: the third-party dependencies are
borrowed from the test's own environment through a ``.pth`` line naming its site-packages
(a plain path line, so that environment's own ``.pth`` files, among them the editable
install pointing at this checkout, are NOT processed). Every command runs from an empty
temporary folder, so nothing of the checkout (``data/``, ``streamlit_app.py``) is reachable;
the tests check that ``planner`` and its data are imported from the new environment.

No network: when hatchling is installed here (the ``test`` extra), the wheel is built by its
PEP 517 hook ``build_wheel`` (what ``pip wheel --no-build-isolation`` calls); otherwise by
``pip wheel`` with pip's usual build isolation (hatchling from the configured index).
"""

from __future__ import annotations

import email.parser
import importlib.util
import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # build + venv + ~10 processes: ~30 s

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    bin: Path
    python: Path
    site_packages: Path
    workdir: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``planner ARGS`` through the installed console script, from the empty workdir."""
        return subprocess.run(
            [str(self.bin / "planner"), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.workdir,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
        )


def _clean_env() -> dict[str, str]:
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PLANNER_DEBUG"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _check(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    if importlib.util.find_spec("hatchling") is not None:
        # the PEP 517 hook pip --no-build-isolation would call, without pip's ~2 s start-up
        hook = "import sys; from hatchling.build import build_wheel; build_wheel(sys.argv[1])"
        _check([sys.executable, "-c", hook, str(dist)], cwd=ROOT, env=_clean_env())
    else:
        build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist)]
        _check([*build, str(ROOT)], cwd=base, env=_clean_env())
    (wheel,) = dist.glob("planner-*.whl")

    venv = base / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=_clean_env())
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # pip of this environment installs into the new one (pip >= 22.3: --python)
    _check(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=base,
        env=_clean_env(),
    )
    site = Path(
        _check(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=base,
            env=_clean_env(),
        ).stdout.strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_borrowed_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    workdir = base / "work"
    workdir.mkdir()
    return Installed(wheel, venv, bindir, python, site, workdir)


def test_the_wheel_carries_the_data_the_app_entry_and_click(installed):
    with zipfile.ZipFile(installed.wheel) as zf:
        names = set(zf.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    for path in (
        "planner/_data/accelerators.csv",
        "planner/_data/presets.toml",
        "planner/_data/scenarios/gtc2024.toml",
        "planner/_data/projections/iea-2025-base.toml",
        "planner/_data/countries/electricity.csv",
        "planner/app/main.py",
        "planner/app/size_page.py",
        "planner/py.typed",
        "planner/__main__.py",
    ):
        assert path in names, f"{path} missing from {installed.wheel.name}"
    requires = [r.split(";")[0].replace(" ", "") for r in meta.get_all("Requires-Dist") or []]
    # `pip install planner` then `planner --help` imported click, which Typer >= 0.2x no
    # longer installs: it must be a declared dependency, with no upper cap.
    assert any(r.startswith("click>=") for r in requires), requires
    assert not any("<" in r for r in requires), f"upper caps in {requires}"


def test_planner_and_its_data_come_from_the_new_environment(installed):
    code = (
        "import json, planner, planner._paths as p\n"
        "print(json.dumps([planner.__file__, str(p.data_dir()), planner.__version__]))"
    )
    proc = subprocess.run(
        [str(installed.python), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=installed.workdir,
        env=_clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    module, data, version = json.loads(proc.stdout)
    assert Path(module).is_relative_to(installed.site_packages)
    assert Path(data) == installed.site_packages / "planner" / "_data"
    assert not Path(module).is_relative_to(ROOT)
    assert installed.wheel.name.startswith(f"planner-{version}-")


def test_version(installed):
    proc = installed.run("--version")
    version = installed.wheel.name.split("-")[1]
    assert proc.returncode == 0 and proc.stdout == f"planner {version}\n"


def test_size_a_preset_json(installed):
    # NVIDIA GTC 2024 keynote: 8,000 Hopper GPUs, 15 MW, 90 days for the 1.8T GPT-MoE.
    proc = installed.run("size", "--preset", "gtc2024-hopper", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["gpus"] == pytest.approx(8000, rel=0.10)
    assert d["facility_power_mw"] == pytest.approx(15, rel=0.10)


def test_optimize_a_shipped_scenario_by_name(installed):
    # GTC 2024: the same run on Blackwell takes 2,000 GPUs and 4 MW.
    proc = installed.run("optimize", "gtc2024", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["status"] == "optimal"
    assert Path(d["scenario"]).is_relative_to(installed.site_packages)
    assert d["totals"]["facility_power_mw"] == pytest.approx(4.0, rel=0.10)


def test_examples_lists_the_installed_files(installed):
    proc = installed.run("examples")
    assert proc.returncode == 0, proc.stderr
    assert "gtc2024" in proc.stdout and "iea-2025-base" in proc.stdout
    d = json.loads(installed.run("examples", "--json").stdout)
    paths = [Path(e["path"]) for e in d["scenarios"] + d["projections"]]
    assert len(paths) >= 8
    assert all(p.is_file() and p.is_relative_to(installed.site_packages) for p in paths)


def test_project_a_shipped_study_by_name(installed):
    proc = installed.run("project", "iea-2025-base", "--samples", "100", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert Path(d["path"]).is_relative_to(installed.site_packages)
    assert {r["country"] for r in d["rows"]} >= {"World"}


def test_report_a_shipped_scenario_by_name_to_stdout(installed):
    proc = installed.run("report", "gtc2024", "--format", "md")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# GTC 2024")


def test_app_help_and_the_entry_file_are_installed(installed):
    proc = installed.run("app", "--help")
    assert proc.returncode == 0 and "Streamlit" in proc.stdout
    assert (installed.site_packages / "planner" / "app" / "main.py").is_file()


def test_the_installed_app_renders_its_first_page(installed):
    """AppTest on the installed entry: the sizing page runs with no exception."""
    pytest.importorskip("streamlit", reason="the app extra is not installed")
    code = (
        "import json, planner.app.main as m\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file(m.__file__, default_timeout=120).run()\n"
        "print(json.dumps({'file': m.__file__, 'exceptions': [e.value for e in at.exception],"
        " 'metrics': [x.label for x in at.metric]}))\n"
    )
    proc = subprocess.run(
        [str(installed.python), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=installed.workdir,
        env=_clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(d["file"]).is_relative_to(installed.site_packages)
    assert d["exceptions"] == []
    assert "GPUs" in d["metrics"]


def test_planner_app_serves_from_the_installed_package(installed):
    """`planner app --headless` starts a server that answers, then is stopped."""
    pytest.importorskip("streamlit", reason="the app extra is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        # extra options go to `streamlit run`; a fixed address also spares the headless
        # server its external-IP lookup
        [
            str(installed.bin / "planner"),
            *("app", "--headless", "--port", str(port), "--server.address", "127.0.0.1"),
        ],
        cwd=installed.workdir,
        env={**_clean_env(), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # generous: a loaded machine starts streamlit slowly
        health = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as r:
                    health = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", f"no answer on port {port}; exit code {proc.poll()}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait(timeout=20)
