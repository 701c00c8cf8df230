"""The ``planner`` command: one Typer app; each face module registers its sub-commands.

The CLI only parses, calls the library and prints. Any :class:`planner.errors.PlannerError`
becomes one line on stderr and exit code 2, as does a usage error (``planner: error: no such
option: --foo``); an unexpected exception becomes a one-line "internal error" (exit 1) unless
``PLANNER_DEBUG=1`` asks for the traceback.

stdout carries the answer only (a table, or with ``--json`` exactly one JSON object; a report
with ``--format md``/``json``). While the library computes, :func:`stdout_guard` sends anything
else written to stdout (a solver's banner from C, a stray ``print``) to stderr, and progress
bars go to stderr only, and only when stderr is a terminal or ``--progress`` asks for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
import typer.core
import typer.exceptions
import typer.main

from planner.errors import PlannerError

if TYPE_CHECKING:
    from rich.console import Console

# Typer >= 0.2x ships its own copy of click whose exceptions derive from TyperException;
# older Typer raises click's own. Catch both.
_CLICK_ERRORS: tuple[type[Exception], ...] = tuple(
    {click.ClickException, getattr(typer.exceptions, "TyperException", click.ClickException)}
)

#: Every sub-command, in the order ``planner --help`` lists them: the face module that
#: registers it and the first paragraph of its docstring (the help line). A command's module,
#: and whatever it imports (pandas, the optimiser, the reports), is imported only when that
#: command runs, so ``planner --version`` and ``planner --help`` start in a fraction of a
#: second. tests/test_startup.py checks these lines against the commands' docstrings.
COMMANDS: dict[str, tuple[str, str]] = {
    "catalog": (
        "planner.cli.catalog",
        "The chips: dense TFLOP/s, memory, TDP, system power, prices and sources.",
    ),
    "presets": (
        "planner.cli.catalog",
        "The named reproductions of public estimates (use with `planner size --preset NAME`).",
    ),
    "examples": (
        "planner.cli.catalog",
        "The shipped scenarios, projection studies and presets, usable by name.",
    ),
    "optimize": (
        "planner.cli.optimize",
        "Choose chips and system counts for training runs under grid, budget and deadline limits.",
    ),
    "project": (
        "planner.cli.project",
        "Project data-centre and AI electricity by country and year: TWh, GW, share, runs.",
    ),
    "report": (
        "planner.cli.report",
        "Write a capacity report: the answer, tables, charts, sensitivity, every assumption "
        "with its source, and the inputs' SHA-256 so the numbers can be reproduced.",
    ),
    "size": (
        "planner.cli.size",
        "Size a training run: GPUs or days, megawatts, MWh, cost and CO2.",
    ),
    "serve": (
        "planner.cli.serve",
        "Size an inference service: replicas, GPUs, MW, Wh per query, USD per million tokens.",
    ),
    "buildout": (
        "planner.cli.buildout",
        "Plan a build-out over sites and quarters: which chips to install where and when.",
    ),
    "sweep": (
        "planner.cli.sweep",
        "Run a sweep: Monte Carlo draws and grids over any input of a sizing, a service or a site plan.",
    ),
    "validate": (
        "planner.cli.validate",
        "Check the utilisation model against every published run.",
    ),
    "app": (
        "planner.cli.app_command",
        "Start the Streamlit app: Size a run, Optimise, National demand, Serve a model, "
        "Reports, Public record, Build-out and Sweeps pages.",
    ),
}


class LazyGroup(typer.core.TyperGroup):
    """The ``planner`` group: a sub-command's module is imported when that command is used."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            load_command(cmd_name)
            built = typer.main.get_group(app)
            for name, command in built.commands.items():
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of ``planner --help`` without importing any command."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                command = typer.core.TyperCommand(name=name, help=COMMANDS[name][1])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As Typer's, with "Did you mean 'size'?" among every command, loaded or not."""
        try:
            return super().resolve_command(ctx, args)
        except _CLICK_ERRORS as exc:
            message = getattr(exc, "message", "")
            if args and self.suggest_commands and "Did you mean" not in message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    shown = ", ".join(f"{m!r}" for m in matches)
                    exc.message = f"{message.rstrip('.')}. Did you mean {shown}?"  # type: ignore[attr-defined]
            raise


def load_command(name: str) -> None:
    """Import the face module that registers command ``name`` (and its siblings)."""
    import importlib

    importlib.import_module(COMMANDS[name][0])


app = typer.Typer(
    name="planner",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _make_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def get_console() -> Console:
    """The rich console the tables print on (stdout), made on first use."""
    made = globals().get("console")
    if made is None:
        made = globals()["console"] = _make_console()
    return made


def __getattr__(name: str) -> Any:
    """``console`` (:func:`get_console`), made on first use (PEP 562)."""
    if name == "console":
        return get_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _version_callback(value: bool) -> None:
    if value:
        from planner.version import __version__

        sys.stdout.write(f"planner {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the installed planner's version and exit.",
        ),
    ] = False,
) -> None:
    """GPU and data-centre power capacity planner.

    Shipped scenarios, projection studies and presets are reachable by name
    (`planner examples` lists them): `planner optimize gtc2024`,
    `planner project iea-2025-base`, `planner size --preset gtc2024-hopper`.
    """


def print_json(payload: Any) -> None:
    """Print one JSON object on stdout (NaN never appears: callers pass to_dict() output)."""
    sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def _flush_c_stdio() -> None:
    """Flush C-level stdio buffers (a solver's ``printf``) before file descriptors move."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no libc (Windows)
        pass


@contextlib.contextmanager
def stdout_guard() -> Iterator[None]:
    """Send everything written to stdout meanwhile, from Python or from C, to stderr.

    Wrap the library calls of a command in it: the library and its solvers should print
    nothing, and this guard keeps ``--json`` output parseable if one does. ``sys.stdout``
    is redirected to ``sys.stderr``, and file descriptor 1 (where C code writes) to file
    descriptor 2, both restored on exit.
    """
    sys.stdout.flush()
    try:
        os.fstat(1)
        os.fstat(2)
        saved: int | None = os.dup(1)
    except OSError:  # pragma: no cover - no file descriptors (an embedded interpreter)
        saved = None
    try:
        if saved is not None:
            _flush_c_stdio()
            sys.stderr.flush()
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)


ProgressCallback = Callable[[str, int, int], None]


@contextlib.contextmanager
def progress_reporter(asked: bool | None) -> Iterator[ProgressCallback | None]:
    """A ``progress(stage, done, total)`` callback drawing a rich bar on stderr, or None.

    ``asked``: True (``--progress``) always draws, False (``--no-progress``) never, None
    draws only when stderr is a terminal. stdout is never touched.
    """
    show = asked if asked is not None else _stderr_is_a_terminal()
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=_stderr_console(),
        transient=True,
    )
    task = bar.add_task("starting", total=None)

    def progress(stage: str, done: int, total: int) -> None:
        # one bar: the stage in words, and how far into that stage the optimiser is
        bar.update(task, description=stage, completed=done, total=max(total, 1))

    with bar:
        yield progress


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _stderr_is_a_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # pragma: no cover - a closed or odd stream
        return False


def _usage_line(exc: Exception) -> str:
    """click's usage error as one line: ``no such option: --foo``."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    message = " ".join(message.split())
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return message


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``planner`` console script; returns the exit code."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="planner", standalone_mode=False)
    except typer.Abort:
        sys.stderr.write("planner: aborted\n")
        return 130
    except _CLICK_ERRORS as exc:  # usage errors: unknown option, value of the wrong type...
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `planner`: the help, as click
            exc.show()  # type: ignore[attr-defined]
        else:
            sys.stderr.write(f"planner: error: {_usage_line(exc)}\n")
        return 2
    except PlannerError as exc:
        sys.stderr.write(f"planner: error: {exc}\n")
        return 2
    except BrokenPipeError:  # `planner ... | head`: the reader left; say nothing more
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
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


def json_ready(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with each top-level value as the vocabulary writes it to JSON (whole
    counts as integers: ``"gpus": 2000``, not ``2000.0``)."""
    from planner import quantities

    return {key: quantities.json_value(key, value) for key, value in payload.items()}


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_pue_sources(assumptions: dict[str, dict[str, Any]]) -> None:
    """Where each of the two PUEs (shown in the answer) comes from, shortened."""
    pue, design = assumptions.get("pue"), assumptions.get("design_pue")
    if not pue or not design or not isinstance(pue["value"], float | int):
        return
    console = get_console()
    console.print(f"PUE sources: annual (energy): {_short(str(pue['source']), 100)}", markup=False)
    console.print(f"  design-day (grid peak): {_short(str(design['source']), 100)}", markup=False)


def shown_value(name: str, value: Any) -> str:
    """``value`` in the vocabulary's format if ``name`` is in it, else as plain text."""
    from planner import quantities

    if value is None:
        return "unset"
    if name in quantities.all_quantities():
        return quantities.format_value(name, value)
    if isinstance(value, float):
        return quantities.format_number(value, "")
    return str(value)


def changed_inputs_line(changed: list[dict[str, Any]]) -> str:
    """``Not the published case: you changed mfu (0.2 -> 0.5), gpus (unset -> 4,096)``."""
    parts = [
        f"{c['field']} ({shown_value(c['field'], c.get('preset'))} -> {shown_value(c['field'], c.get('value'))})"
        for c in changed
    ]
    return "Not the published case: you changed " + ", ".join(parts)


def print_published_or_changes(payload: dict[str, Any]) -> None:
    """The preset's published figures beside the model, only when the inputs are the preset's
    own (``published`` in the result); otherwise which inputs differ (``changed_inputs``)."""
    from rich.table import Table

    from planner import quantities

    console = get_console()
    if payload.get("published"):
        pt = Table(title="Published vs model")
        for col in (
            "quantity",
            "published",
            "model",
            quantities.label("relative_difference", short=True),
        ):
            pt.add_column(col)
        for row in payload["published"]:
            name = row["quantity"]
            known = name in quantities.all_quantities()
            pt.add_row(
                quantities.label(name) if known else name,
                shown_value(name, row["published"]),
                "" if row["model"] is None else shown_value(name, row["model"]),
                quantities.format_value("relative_difference", row["relative_difference"])
                if row["relative_difference"] is not None
                else "",
            )
        console.print(pt)
    elif payload.get("changed_inputs"):
        console.print(changed_inputs_line(payload["changed_inputs"]), markup=False)


def print_assumptions(assumptions: dict[str, dict[str, Any]]) -> None:
    """The table of every value used (value, unit, source shortened to 90 characters)."""
    from rich.table import Table

    from planner import quantities

    at = Table(title="Assumptions (every value used)")
    for col in ("name", "value", "unit", "source"):
        at.add_column(col, overflow="fold")
    for name, item in assumptions.items():
        value = item["value"]
        shown = f"{value:,.4g}" if isinstance(value, float) else str(value)
        source = item["source"]
        unit = item["unit"] + (
            f" ({quantities.PUE_ROLES[name]})" if name in quantities.PUE_ROLES else ""
        )
        at.add_row(name, shown, unit, _short(source))
    console = get_console()
    console.print(at)
    console.print("(sources shortened; `--json` lists each in full)")


def print_chip_table(frame: Any, title: str, cols: list[str], index_label: str = "chip") -> None:
    """Every row of a comparison frame (index: chip, or ``index_label``) with the columns
    ``cols`` (quantity names: short label and format from the vocabulary) and its ``note``;
    missing cells stay empty."""
    from rich.table import Table

    from planner import quantities

    t = Table(title=title)
    t.add_column(index_label)
    for name in cols:
        t.add_column(quantities.label(name, short=True), justify="right")
    t.add_column("note")
    for chip, row in frame.iterrows():
        cells = []
        for name in cols:
            v = row.get(name)
            missing = v is None or (isinstance(v, float) and v != v)
            cells.append("" if missing else quantities.format_value(name, v))
        t.add_row(str(chip), *cells, str(row.get("note", "") or ""))
    get_console().print(t)
