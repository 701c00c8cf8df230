"""``planner catalog``, ``presets`` and ``examples``: what the planner knows, with sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner import quantities
from planner._arrays import to_python
from planner.catalog import load_catalog
from planner.cli._app import app, console, print_json, shown_value
from planner.examples import list_examples
from planner.presets import load_presets

_COLUMNS = [
    ("bf16_dense_tflops", "BF16 dense TFLOP/s"),
    ("fp8_dense_tflops", "FP8 dense"),
    ("fp4_dense_tflops", "FP4 dense"),
    ("memory_gb", "mem GB"),
    ("memory_bw_tbs", "TB/s"),
    ("tdp_w", "TDP W"),
    ("gpus_per_system", quantities.label("gpus_per_system", short=True)),
    ("system_power_kw", "system kW"),
    ("price_usd_per_gpu", quantities.label("price_usd_per_gpu", short=True)),
    ("rent_usd_per_gpu_hour", "USD/GPU-h"),
]


@app.command("catalog")
def catalog_command(
    catalog: Annotated[
        Path | None, typer.Option(help="Read this accelerator CSV instead of the shipped one.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON.")] = False,
    sources: Annotated[
        bool, typer.Option("--sources", help="Also list each row's sources.")
    ] = False,
) -> None:
    """The chips: dense TFLOP/s, memory, TDP, system power, prices and sources."""
    cat = load_catalog(catalog)
    if json_out:
        print_json({"catalog": [{k: to_python(v) for k, v in a.to_dict().items()} for a in cat]})
        return
    t = Table(title=f"Accelerator catalog ({cat.path.name}); all TFLOP/s are DENSE")
    t.add_column("id")
    t.add_column("system")
    for _, label in _COLUMNS:
        t.add_column(label, justify="right")
    for a in cat:
        d = a.to_dict()
        t.add_row(
            a.id, a.system_name, *("" if d[k] is None else f"{d[k]:,.4g}" for k, _ in _COLUMNS)
        )
    console.print(t)
    if sources:
        for a in cat:
            console.print(
                f"[bold]{a.id}[/bold]: {a.source}"
                + (f"; price: {a.price_source}" if a.price_source else "")
            )


@app.command("presets")
def presets_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the presets as JSON.")] = False,
) -> None:
    """The named reproductions of public estimates (use with `planner size --preset NAME`)."""
    presets = load_presets()
    if json_out:
        print_json({"presets": [p.model_dump() for p in presets.values()]})
        return
    t = Table(title="Presets")
    for col in ("name", "chip", "title", "published"):
        t.add_column(col, overflow="fold")
    for p in presets.values():
        t.add_row(
            p.name,
            p.accelerator,
            p.title,
            ", ".join(f"{k}={shown_value(k, v)}" for k, v in p.published.items()),
        )
    console.print(t)


@app.command("examples")
def examples_command(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the examples as one JSON object.")
    ] = False,
) -> None:
    """The shipped scenarios, projection studies and presets, usable by name.

    `planner optimize gtc2024`, `planner project iea-2025-base`,
    `planner report gtc2024 --format md`, `planner size --preset gtc2024-hopper`.
    """
    found = list_examples()
    presets = load_presets()
    if json_out:
        print_json(
            {
                "scenarios": [e.to_dict() for e in found if e.kind == "scenario"],
                "projections": [e.to_dict() for e in found if e.kind == "projection"],
                "sweeps": [e.to_dict() for e in found if e.kind == "sweep"],
                "buildouts": [e.to_dict() for e in found if e.kind == "buildout"],
                "presets": [{"name": p.name, "title": p.title} for p in presets.values()],
            }
        )
        return
    for kind, command, heading in (
        ("scenario", "planner optimize NAME", "Site scenarios"),
        ("projection", "planner project NAME", "Projection studies"),
        ("buildout", "planner buildout NAME", "Build-out programmes"),
        ("sweep", "planner sweep NAME", "Sweeps"),
    ):
        report = "" if kind in {"sweep", "buildout"} else "; planner report NAME --format md"
        t = Table(title=f"{heading} ({command}{report})")
        for col in ("name", "title"):
            t.add_column(col, overflow="fold")
        for e in found:
            if e.kind == kind:
                t.add_row(e.name, e.title)
        console.print(t)
    t = Table(title="Presets (planner size --preset NAME)")
    for col in ("name", "title"):
        t.add_column(col, overflow="fold")
    for p in presets.values():
        t.add_row(p.name, p.title)
    console.print(t)
    console.print(f"(installed in {found[0].path.parent.parent if found else '?'})")
