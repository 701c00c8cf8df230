"""The package type-checks: ``mypy --ignore-missing-imports planner`` reports no errors.

House style ("Types on the public API, py.typed shipped"): the annotations are
checked, not only written. Skipped when mypy is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_planner_package_type_checks_with_mypy() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", "planner"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
