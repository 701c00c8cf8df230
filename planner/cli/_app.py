"""The ``planner`` command: one Typer app; each face module registers its sub-commands.

The CLI only parses, calls the library and prints. Any :class:`planner.errors.PlannerError`
becomes one line on stderr and exit code 2 (as do usage errors); an unexpected exception
becomes a one-line "internal error" (exit 1) unless ``PLANNER_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
import typer
import typer.exceptions
from rich.console import Console

from planner.errors import PlannerError

# Typer >= 0.2x ships its own copy of click whose exceptions derive from TyperException;
# older Typer raises click's own. Catch both.
_CLICK_ERRORS: tuple[type[Exception], ...] = tuple(
    {click.ClickException, getattr(typer.exceptions, "TyperException", click.ClickException)}
)

app = typer.Typer(
    name="planner",
    help="GPU and data-centre power capacity planner.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def print_json(payload: Any) -> None:
    """Print one JSON object on stdout (NaN never appears: callers pass to_dict() output)."""
    sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``planner`` console script; returns the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="planner", standalone_mode=False)
    except typer.Abort:
        sys.stderr.write("planner: aborted\n")
        return 130
    except _CLICK_ERRORS as exc:  # usage errors: unknown option, value of the wrong type...
        exc.show()  # type: ignore[attr-defined]
        return 2
    except PlannerError as exc:
        sys.stderr.write(f"planner: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a traceback
        if os.environ.get("PLANNER_DEBUG"):
            raise
        sys.stderr.write(
            f"planner: internal error: {type(exc).__name__}: {exc} "
            "(a bug; rerun with PLANNER_DEBUG=1 for the traceback and please report it)\n"
        )
        return 1
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
