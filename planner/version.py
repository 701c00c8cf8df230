"""The installed planner's version, read from the package metadata (as pvlib does).

``pyproject.toml`` is the one place the version is written; a source tree that was never
installed reports ``0+unknown``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("planner")
except PackageNotFoundError:  # pragma: no cover - a bare source tree, not installed
    __version__ = "0+unknown"
