"""One output vocabulary: the faces (CLI, app, reports) label no core output themselves.

``data/quantities.csv`` (read by :mod:`planner.quantities`) is the one table of labels, units
and number formats. This test walks the faces' source (their AST, so comments and docstrings do
not count) and fails on the patterns by which a face used to define its own label, unit or
format for a core output:

- a tuple or list that names a quantity (``"facility_power_mw"``) beside display text (not
  another key) (``("facility_power_mw", "peak MW", "{:,.2f}")``);
- a dict literal mapping a quantity to a string (``{"facility_power_mw": "Peak power"}``);
- an Altair encoding of a quantity (``"facility_power_mw:Q"``) given its own ``title=`` or
  ``format=`` text;
- a string literal carrying a bare unit in brackets (``"Peak facility power (MW)"``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from planner import quantities

ROOT = Path(__file__).resolve().parents[1]
FACES = [ROOT / "planner" / face for face in ("cli", "app", "reports")]
NAMES = set(quantities.all_quantities())
UNIT_IN_BRACKETS = re.compile(r"\((MW|MWh|GW|TWh|USD|tCO2|W|kW|days)(,[^)]*)?\)")


def _face_files() -> list[Path]:
    return sorted(p for face in FACES for p in face.rglob("*.py"))


def _names_in(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        base = node.value.split(":", 1)[0]
        return base if base in NAMES else None
    return None


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)


#: Another key, not display text: a lower-case name (``regions``), an upper-case constant's
#: name (``COMMANDS``) or a command-line flag (``-m``, ``--json``).
KEY = re.compile(r"[a-z_][a-z0-9_.\-]*|[A-Z][A-Z0-9_]+|-{1,2}[A-Za-z][A-Za-z0-9.\-]*")


def _is_label(node: ast.AST) -> bool:
    """Display text (``"peak MW"``, ``"{:,.2f}"``), not another key (``"regions"``)."""
    return _is_text(node) and not KEY.fullmatch(node.value)  # type: ignore[attr-defined]


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and _is_text(n.body[0].value)
    }
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Tuple | ast.List):
            named = [n for n in map(_names_in, node.elts) if n]
            others = [e.value for e in node.elts if _is_label(e) and not _names_in(e)]
            if named and others:
                found.append(f"{where}: {named[0]!r} labelled {others[0]!r} by the face")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and _names_in(key) and _is_label(value):
                    found.append(f"{where}: {_names_in(key)!r} labelled {value.value!r}")  # type: ignore[attr-defined]
        elif isinstance(node, ast.Call):
            named = [n for n in map(_names_in, node.args) if n]
            own = [
                k.arg for k in node.keywords if k.arg in {"title", "format"} and _is_text(k.value)
            ]
            if named and own:
                found.append(f"{where}: {named[0]!r} given its own {own[0]}=")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and len(node.value) < 60
            and UNIT_IN_BRACKETS.search(node.value)
        ):
            found.append(f"{where}: unit written by the face in {node.value!r}")
    return found


def test_the_vocabulary_table_is_valid_and_documented():
    attrs = (ROOT / "data" / "quantities.attributes.csv").read_text().splitlines()
    header = (ROOT / "data" / "quantities.csv").read_text().splitlines()[0].split(",")
    assert [line.split(",")[0] for line in attrs[1:]] == header
    for q in quantities.all_quantities().values():
        assert q.description, q.name
        assert q.type != "str" or not q.format, q.name


@pytest.mark.parametrize("path", _face_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_face_labels_a_core_output_itself(path: Path):
    assert _violations(path) == []


def test_the_walk_catches_a_face_that_labels_an_output(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        'COLS = [("facility_power_mw", "peak MW", "{:,.2f}")]\n'
        'LABELS = {"energy_mwh": "Energy"}\n'
        'import altair as alt\nT = alt.Tooltip("gpus:Q", title="GPUs")\n'
        'X = "Peak facility power (MW)"\n'
    )
    assert len(_violations(bad)) == 4


def test_format_value_never_prints_a_non_zero_as_zero_and_counts_one_in_the_singular():
    assert quantities.format_value("deadline_days", 0.01) == "0.01"
    assert quantities.format_value("days", 1, unit=True) == "1.0 day"
    assert quantities.format_value("days", 2, unit=True) == "2.0 days"
    assert quantities.json_value("gpus", 2000.0) == 2000
    assert isinstance(quantities.json_value("gpus", 2000.0), int)
    assert quantities.format_value("facility_power_mw", float("nan")) == quantities.MISSING
