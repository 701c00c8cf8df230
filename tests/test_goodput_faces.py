"""The goodput and power-transient outputs in the faces: ``planner size --compare`` rows carry
the core's goodput, with the vocabulary's label."""

from __future__ import annotations

import json

from planner import quantities
from planner.cli import main
from planner.presets import get_preset
from planner.sizing import compare_accelerators


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compare_rows_show_each_chips_goodput_from_the_core(capsys):
    code, out, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--compare", "--json")
    assert code == 0
    rows = {r["accelerator"]: r for r in json.loads(out)["comparison"]}
    p = get_preset("gtc2024-hopper")
    core = compare_accelerators(p.run(), days=90, assumptions=p.sizing_assumptions())
    assert rows["h100"]["goodput"] == core.loc["h100", "goodput"]
    assert 0.9 < rows["h100"]["goodput"] < 1  # goodput(N) of the failure model, not 0.90

    code, text, _ = run_cli(capsys, "size", "--preset", "gtc2024-hopper", "--compare")
    assert code == 0
    assert quantities.label("goodput", short=True) in text
    assert quantities.format_value("goodput", core.loc["h100", "goodput"]) in text
