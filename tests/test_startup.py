"""Start-up: ``planner --version`` and ``planner --help`` import no heavy library.

Wall-clock targets (``--version``/``--help`` under 0.3 s) are measured by
``benchmarks/bench_startup.py``; these tests pin what makes them possible, the import graph,
in fresh interpreters: the CLI's entry point, ``planner --version`` and ``planner --help`` do
not import pandas, numpy, Pyomo, Streamlit or Altair, and each command imports only its own
face module.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyomo", "streamlit", "altair", "pydantic", "pulp", "highspy")


def _modules_after(code: str) -> set[str]:
    """The top-level packages in ``sys.modules`` after running ``code`` in a fresh Python."""
    probe = (
        "import sys, json, io, contextlib\n"
        f"{code}\n"
        "sys.__stdout__.write('\\n' + json.dumps(sorted({m.split('.')[0] for m in sys.modules}"
        " | {m for m in sys.modules if m.startswith('planner.')})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _run_main(*args: str) -> str:
    return (
        "from planner.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({list(args)!r})\n"
        "assert code == 0, code\n"
    )


@pytest.mark.parametrize(
    "code",
    [
        "import planner",
        "import planner.cli",
        _run_main("--version"),
        _run_main("--help"),
    ],
    ids=["import planner", "import planner.cli", "--version", "--help"],
)
def test_start_up_imports_no_heavy_library(code):
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert not {m for m in loaded if m.startswith("planner.cli.") and m != "planner.cli._app"}


def test_the_public_api_still_imports_from_the_package():
    import planner
    from planner import (  # noqa: F401
        Accelerator,
        Catalog,
        CatalogError,
        InputError,
        PlannerError,
        SizingAssumptions,
        SizingResult,
        TrainingRun,
        compare_accelerators,
        get_accelerator,
        load_catalog,
        size_frame,
        size_training,
        training_flops,
    )

    assert set(planner.__all__) <= set(dir(planner))
    assert all(getattr(planner, name) is not None for name in planner.__all__)
    with pytest.raises(AttributeError):
        planner.no_such_name  # noqa: B018


def test_size_imports_its_own_face_only():
    loaded = _modules_after(_run_main("size", "--preset", "gtc2024-hopper", "--json"))
    assert "planner.cli.size" in loaded
    assert not loaded & {"pyomo", "streamlit", "altair", "planner.optimization", "planner.reports"}
    assert not loaded & {"planner.cli.optimize", "planner.cli.report", "planner.cli.project"}


def test_help_lists_every_command_with_its_docstring_line_without_importing_it():
    """The lazy ``planner --help`` is the help Typer prints once every command is loaded."""
    lazy = subprocess.run(
        [sys.executable, "-m", "planner", "--help"], capture_output=True, text=True, check=True
    ).stdout
    eager_code = (
        "import sys\n"
        "from planner.cli._app import COMMANDS, load_command, main\n"
        "for name in COMMANDS:\n"
        "    load_command(name)\n"
        "import typer.main\n"
        "from planner.cli._app import app\n"
        "group = typer.main.get_group(app)\n"
        "for name, command in group.commands.items():\n"
        "    first = (command.help or '').split('\\n\\n')[0]\n"
        "    assert ' '.join(first.split()) == COMMANDS[name][1], (name, first)\n"
        "assert list(group.commands) == list(COMMANDS), list(group.commands)\n"
        "sys.exit(main(['--help']))\n"
    )
    eager = subprocess.run([sys.executable, "-c", eager_code], capture_output=True, text=True)
    assert eager.returncode == 0, eager.stderr
    assert eager.stdout == lazy


def test_a_typo_in_a_command_still_suggests_the_command():
    done = subprocess.run([sys.executable, "-m", "planner", "sise"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Did you mean 'size'?" in done.stderr
