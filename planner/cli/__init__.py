"""Command-line face of the planner (``planner size``, ``planner catalog``, ...)."""

# Importing a face module registers its commands; ``planner --help`` lists them in this order.
from planner.cli import catalog as _catalog  # noqa: F401, I001
from planner.cli import optimize as _optimize  # noqa: F401
from planner.cli import project as _project  # noqa: F401
from planner.cli import report as _report  # noqa: F401
from planner.cli import size as _size  # noqa: F401
from planner.cli import serve as _serve  # noqa: F401
from planner.cli import validate as _validate  # noqa: F401
from planner.cli import sweep as _sweep  # noqa: F401
from planner.cli import app_command as _app_command  # noqa: F401
from planner.cli._app import app, main, run

__all__ = ["app", "main", "run"]
