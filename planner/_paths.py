"""Where the shipped data lives.

In a source checkout (and an editable install) the tables are in the top-level ``data/``
folder; a built wheel carries the same folder as ``planner/_data`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """Return the folder holding the shipped CSV/TOML tables."""
    for candidate in (_HERE / "_data", _HERE.parent / "data"):
        if (candidate / "accelerators.csv").is_file():
            return candidate
    raise FileNotFoundError(
        "planner data folder not found: expected data/accelerators.csv beside the package"
    )
