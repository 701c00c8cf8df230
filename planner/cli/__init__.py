"""Command-line face of the planner (``planner size``, ``planner catalog``, ...).

Each face module (``planner.cli.size``...) registers its sub-commands on :data:`app` when
imported; ``planner`` imports only the module of the command it runs
(:data:`planner.cli._app.COMMANDS`), so start-up stays free of pandas and the optimiser.
"""

from planner.cli._app import COMMANDS, app, main, run

__all__ = ["COMMANDS", "app", "main", "run"]
