"""``planner report``: export a sizing, a serving, an optimised plan, a projection, a build-out
or a sweep as a report.

Thin: :mod:`planner.reports` builds and writes the report. Without ``--out``, md and json go
to stdout; html and xlsx need ``--out`` (an HTML page or a workbook is a file, not terminal
output). The format may be left out when ``--out`` has a known suffix.

A sweep (file or shipped name) is run into a temporary folder, one scenario after another in
this process, and reported; ``--from DIR`` reports a folder ``planner sweep --out DIR`` wrote
(nothing is run).

Exit codes, as ``planner optimize`` and ``planner buildout``: 0 the report was written; 3 the
report was written but the scenario or build-out has no plan (no plan fits the limits, or the
time limit left none): an infeasible plan is an answer, so its report (the minimal
relaxations) is still written, and one line on stderr says so; 2 bad input.
"""

from __future__ import annotations

import shlex
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated

import typer

from planner._paths import data_dir
from planner.cli._app import app, stdout_guard
from planner.errors import InputError
from planner.reports import FORMATS, STDOUT_FORMATS, resolve_format

#: Exit code when the scenario has no plan (as ``planner optimize``); the report is written.
EXIT_NO_PLAN = 3


@cache
def _table_names(file: str) -> tuple[str, ...] | None:
    """The names of the tables of the shipped data file ``file`` (its presets), or None when
    it cannot be read or parsed.

    Read as plain TOML for the help text, without the presets' models: importing this module
    costs no pandas, so the command resolves its format, and an HTML report starts its
    chart engine (:func:`planner.reports.charts.warm_up`), before the core is imported.
    Read once: Typer evaluates the options' help (a string annotation) several times.
    """
    try:
        with open(data_dir() / file, "rb") as f:
            raw = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return tuple(name for name, body in raw.items() if isinstance(body, dict))


def _preset_names() -> str:
    names = _table_names("presets.toml")
    if names is None:  # the loader says what is wrong with the file
        from planner.presets import load_presets

        names = tuple(load_presets())
    return ", ".join(names)


def _serving_preset_names() -> str:
    names = _table_names("serving_presets.toml")
    if names is None:  # the loader says what is wrong with the file
        from planner.serving_presets import load_serving_presets

        names = tuple(load_serving_presets())
    return ", ".join(names)


@app.command("report")
def report_command(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="A site scenario (an optimised plan), a projection study, a build-out or a "
            "sweep: a shipped name (gtc2024, iea-2025-base, campus-2026-2030, gtc2024-grid...; "
            "see `planner examples`) or a TOML file. Omit it with --preset, --serve-preset "
            "or --from.",
            show_default=False,
            metavar="SCENARIO",
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Report a sizing preset instead: " + _preset_names() + "."),
    ] = None,
    serve_preset: Annotated[
        str | None,
        typer.Option(
            "--serve-preset",
            help="Report an inference service instead (a serving preset): "
            + _serving_preset_names()
            + ".",
        ),
    ] = None,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Report a sweep's results folder (what `planner sweep --out DIR` wrote) "
            "instead of running a sweep.",
            metavar="SWEEP_DIR",
        ),
    ] = None,
    grid_mw: Annotated[
        float | None,
        typer.Option(
            "--grid-mw",
            help="Site grid limit, MW, for --preset or --serve-preset: the report says whether "
            "the peak (at the design-day PUE) fits and what fits if not.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="One of: " + ", ".join(FORMATS) + " (default: from the --out suffix).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write (atomically). Required for html and xlsx; md and json go to "
            "stdout without it.",
        ),
    ] = None,
) -> int:
    """Write a capacity report: the answer, tables, charts, sensitivity, every assumption
    with its source, and the inputs' SHA-256 so the numbers can be reproduced.

    SCENARIO: a site scenario (an optimised plan), a projection study, a build-out (sites
    over quarters) or a sweep (run into a temporary folder, then reported), by shipped name
    (gtc2024, iea-2025-base, campus-2026-2030, gtc2024-grid...; `planner examples` lists
    them) or as a TOML file; or --preset NAME for a sizing; or --serve-preset NAME for an
    inference service; or --from DIR for a sweep's results folder.

    Exit code 0: the report is written. Exit code 3: a site scenario or build-out with no
    plan (no plan fits the limits): the report, with the minimal relaxations, is still
    written, and one line on stderr says so (as planner optimize and planner buildout, which
    also exit 3). Exit code 2: bad input.
    """
    key = resolve_format(fmt, out)  # first: an HTML file's chart engine starts at once
    from planner.examples import resolve
    from planner.reports import build_report, render_report
    from planner.reports._atomic import check_writable_target

    if out is None and key not in STDOUT_FORMATS:
        raise InputError(
            "out",
            None,
            f"a file path for {key} (--out report.{FORMATS[key].lstrip('.')})",
            detail="only md and json are printed to stdout",
        )
    if out is not None:
        check_writable_target(out)
    # A name is resolved only when it is the one input; scenario and --preset together are
    # refused by build_report with its own message.
    alone = preset is None and serve_preset is None and from_dir is None
    path = resolve(scenario) if scenario is not None and alone else scenario
    options: dict[str, float] = {}
    if grid_mw is not None:
        if alone:
            raise InputError(
                "--grid-mw",
                grid_mw,
                "a --preset or --serve-preset report (a site scenario has its own grid)",
            )
        options["grid_mw"] = grid_mw
    if path is not None and alone:
        _import_pyomo_first(path)
    with stdout_guard():
        report = build_report(
            path,
            preset=preset,
            serve_preset=serve_preset,
            sweep_dir=from_dir,
            command=_command(scenario, preset, key, out, serve_preset, grid_mw, from_dir),
            **options,
        )
        rendered = render_report(report, key) if out is None else b""
    if out is None:
        sys.stdout.write(rendered.decode("utf-8"))
        sys.stdout.flush()
    else:
        from planner.reports import write_report

        with stdout_guard():
            written = write_report(report, out, key)
        sys.stderr.write(f"planner: wrote {key} report to {written}\n")
    return _exit_code(report)


def _import_pyomo_first(path: str | Path) -> None:
    """Import the build-out model (and Pyomo) before :func:`stdout_guard` for a build-out,
    or a sweep over one.

    Pyomo, imported inside the guard, binds its log handler to the redirected stdout; its
    solver-output capture (HiGHS ``set_instance``) then waits for ever on its reader threads
    ("TeeStream: deadlock observed"). Imported first, as ``planner buildout`` does, it works.
    """
    from planner.data_errors import read_toml
    from planner.errors import PlannerError

    try:
        raw = read_toml(Path(path))
    except (PlannerError, OSError):
        return  # build_report says what is wrong with the file
    base = raw.get("base")
    if "sites" in raw or (isinstance(base, dict) and base.get("kind") == "buildout"):
        import planner.optimization.buildout  # noqa: F401


def _exit_code(report: object) -> int:
    """3 (with one line on stderr) for a plan or build-out report without a plan, else 0."""
    kind = getattr(report, "kind", None)
    if kind not in ("plan", "buildout"):
        return 0
    status = report.data[kind]["status"]  # type: ignore[attr-defined]
    if status in ("optimal", "time_limit"):
        return 0
    sys.stderr.write(
        f"planner: no plan (status {status}): the report with the minimal relaxations was "
        f"written; exit code {EXIT_NO_PLAN}\n"
    )
    return EXIT_NO_PLAN


def _command(
    scenario: str | None,
    preset: str | None,
    key: str,
    out: Path | None,
    serve_preset: str | None = None,
    grid_mw: float | None = None,
    from_dir: Path | None = None,
) -> str:
    parts = ["planner", "report"]
    if scenario is not None:
        parts += [str(scenario)]
    if preset is not None:
        parts += ["--preset", str(preset)]
    if serve_preset is not None:
        parts += ["--serve-preset", str(serve_preset)]
    if grid_mw is not None:
        parts += ["--grid-mw", f"{grid_mw:g}"]
    if from_dir is not None:
        parts += ["--from", str(from_dir)]
    parts += ["--format", key]
    if out is not None:
        parts += ["--out", str(out)]
    return shlex.join(parts)
