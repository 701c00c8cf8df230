"""One report structure for every kind: sizing, serving, optimised plan and projection.

A report is always the answer first (summary and headline numbers), then result tables,
comparisons (other chips or candidates, the published figures, or the inputs that differ
from a preset's), sensitivity, notes, every assumption with its source, and the inputs'
SHA-256 with the planner version. :class:`ReportBuilder` holds that structure; each kind
(:mod:`~planner.reports.sizing`, :mod:`~planner.reports.serving`,
:mod:`~planner.reports.plan`, :mod:`~planner.reports.projection`) only feeds it the core's
results as tables. The table makers here are shared by the kinds; every label, unit and
number format comes from the output vocabulary (:mod:`planner.quantities`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import planner
from planner import quantities
from planner._arrays import to_python
from planner._paths import data_dir
from planner.reports.model import (
    Chart,
    Column,
    InputFile,
    Provenance,
    Quantity,
    Report,
    Table,
    input_file,
)

#: Columns of a key/value table (rows of several units: each value takes its row's format).
KV_COLUMNS = (
    Column.plain("quantity", "Quantity"),
    Column.plain("key", "Key"),
    Column.plain("value", "Value", per_row="_quantity"),
    Column.plain("unit", "Unit"),
)
NOTE = Column.plain("note", "Note")
CHOSEN = Column.plain("chosen", "Chosen")

#: Data files a report's numbers may depend on, by the role the provenance names them.
DATA_FILES: dict[str, str] = {
    "default assumptions": "assumptions.csv",
    "facility profiles": "facility.csv",
    "chip prices and rents": "chip_economics.csv",
    "economics (service life, utilisation, cost of capital)": "economics.csv",
    "model architectures": "models.csv",
    "serving assumptions": "serving_assumptions.csv",
    "national electricity": "countries/electricity.csv",
    "presets (reference run)": "presets.toml",
}


@dataclass
class ReportBuilder:
    """The parts of a report, added in reading order; :meth:`build` makes the :class:`Report`.

    Tables go to their section (``results``, ``constraints``, ``comparison``,
    ``sensitivity``, ``details``) whatever the order they are added in; charts name the table
    they draw.
    """

    kind: str
    command: str = ""
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *tables: Table | None) -> ReportBuilder:
        self.tables += [t for t in tables if t is not None]
        return self

    def chart(self, *charts: Chart) -> ReportBuilder:
        self.charts += charts
        return self

    def note(self, *notes: str) -> ReportBuilder:
        self.notes += [n for n in notes if n]
        return self

    def compare_chips(
        self,
        frame: Any,
        chosen: str,
        keys: Sequence[str],
        *,
        title: str,
        what: str,
        caption: str,
        note: str = "",
    ) -> ReportBuilder:
        """Every catalog chip for the same work (:func:`comparison_table`) and its bar chart
        of peak facility power, the chosen chip highlighted; ``what`` is "run" or
        "service"."""
        self.add(comparison_table(frame, chosen, keys, title=title, note=note))
        return self.chart(
            Chart(
                name="chips_power",
                title=f"Every chip for the same {what}: peak facility power",
                kind="bar",
                table="chips",
                encoding={"x": "facility_power_mw", "y": "accelerator", "highlight": "chosen"},
                caption=caption,
            )
        )

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def build(
        self,
        *,
        title: str,
        subtitle: str,
        summary: str,
        headline: Iterable[Quantity],
        assumptions: Iterable[Mapping[str, Any]],
        inputs: Sequence[InputFile],
        data: dict[str, Any],
    ) -> Report:
        return Report(
            kind=self.kind,
            title=title,
            subtitle=subtitle,
            summary=summary,
            headline=tuple(headline),
            assumptions=tuple(dict(a) for a in assumptions),
            tables=tuple(self.tables),
            charts=tuple(self.charts),
            notes=tuple(self.notes),
            provenance=Provenance(
                planner_version=planner.__version__, inputs=tuple(inputs), command=self.command
            ),
            data=data,
        )


def inputs(first: InputFile, catalog_path: str | Path, *roles: str) -> tuple[InputFile, ...]:
    """The primary input (scenario, presets or canonical request), the accelerator catalog,
    then the data files of ``roles`` (:data:`DATA_FILES`) that exist."""
    d = data_dir()
    files = [first, input_file("accelerator catalog", Path(catalog_path))]
    for role in roles:
        path = d / DATA_FILES[role]
        if path.is_file():
            files.append(input_file(role, path))
    return tuple(files)


def assumption_rows(items: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """A core result's assumptions (``name -> value, unit, source``) as table rows."""
    return tuple(
        {"name": name, "value": item["value"], "unit": item["unit"], "source": item["source"]}
        for name, item in items.items()
    )


def headline(values: Mapping[str, Any], keys: Iterable[str], **notes: str) -> list[Quantity]:
    """Headline numbers: ``values[key]`` labelled by the vocabulary; ``notes`` by key."""
    return [Quantity(k, values.get(k), note=notes.get(k, "")) for k in keys]


def kv_table(
    values: Mapping[str, Any],
    keys: Iterable[str],
    *,
    name: str = "results",
    title: str = "The answer, every number",
    note: str = "",
    aliases: Mapping[str, str] | None = None,
) -> Table:
    """Scalar results as a key/value table: vocabulary label, key, value, unit.

    ``aliases`` maps a key to its vocabulary entry where the data names it otherwise
    (``electricity_usd`` -> ``electricity_cost_usd``). A key missing from the vocabulary is
    shown under its own name (a new core output not yet described).
    """
    known = quantities.all_quantities()
    rows = []
    for key in keys:
        q = (aliases or {}).get(key, key)
        entry = known.get(q)
        rows.append(
            {
                "quantity": quantities.label(q, unit=False) if entry else key,
                "key": key,
                "value": values.get(key),
                "unit": entry.unit if entry else "",
                "_quantity": q,
            }
        )
    return Table(name=name, title=title, columns=KV_COLUMNS, rows=tuple(rows), note=note)


def comparison_table(
    frame: Any,
    chosen: str,
    keys: Sequence[str],
    *,
    title: str,
    note: str = "",
    name: str = "chips",
) -> Table:
    """Every catalog chip for the same work: a core comparison frame indexed by chip id.

    Numbers come as they are (NaN as missing); ``pricing`` and ``note`` are text; the chosen
    chip is marked (and highlighted by the writers).
    """
    rows = []
    for chip_id, row in frame.iterrows():
        r = {k: to_python(v) for k, v in row.items()}
        rows.append(
            {
                "accelerator": chip_id,
                "chosen": chip_id == chosen,
                **{k: _number(r.get(k)) for k in keys if k != "pricing"},
                "pricing": r.get("pricing") if isinstance(r.get("pricing"), str) else None,
                "note": r.get("note") or "",
            }
        )
    return Table(
        name=name,
        title=title,
        columns=(Column("accelerator"), CHOSEN, *(Column(k) for k in keys), NOTE),
        rows=tuple(rows),
        section="comparison",
        note=note,
    )


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and value != value else value


def published_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str = "Model vs the published figures this preset reproduces",
    note: str = "",
) -> Table:
    """Model vs published figures (the ``published`` rows of a core result or study).

    ``quantity`` names each row's vocabulary entry: its unit is added, and its format is
    used for the ``published`` and ``model`` cells.
    """
    known = quantities.all_quantities()
    out = []
    for r in rows:
        q = r.get("quantity")
        unit = r.get("unit") or (known[q].unit if q in known else "")
        out.append({**{k: to_python(v) for k, v in r.items()}, "unit": unit})
    return Table(
        name="published",
        title=title,
        columns=tuple(columns),
        rows=tuple(out),
        section="comparison",
        note=note,
    )


#: The published and model cells of a comparison, each in its row's quantity's format.
PUBLISHED = Column("published", per_row="quantity")
MODEL = Column("model", name="predicted", per_row="quantity")
QUANTITY = Column.plain("quantity", "Quantity")
UNIT = Column.plain("unit", "Unit")
SOURCE = Column.plain("source", "Source")


def changed_inputs_table(changed: Sequence[Mapping[str, Any]], preset: str = "") -> Table:
    """Inputs that differ from the preset's own: the published comparison does not apply."""
    rows = tuple(
        {
            "field": r.get("field"),
            "preset": to_python(r.get("preset")),
            "value": to_python(r.get("value")),
        }
        for r in changed
    )
    fields = ", ".join(str(r["field"]) for r in rows)
    return Table(
        name="changed_inputs",
        title=f"Not the published case: changed inputs {fields}",
        columns=(
            Column.plain("field", "Input"),
            Column.plain("preset", f"Preset {preset}".strip(), per_row="field"),
            Column.plain("value", "This report", per_row="field"),
        ),
        rows=rows,
        section="comparison",
        note="The preset's published figures are for its own inputs; with these inputs "
        "changed, the model is not compared with them.",
    )


def what_differs(payload: Mapping[str, Any], published: Any, preset: str = "") -> list[Table]:
    """The published comparison when the result carries ``published`` (the preset's own
    inputs), else the ``changed_inputs`` table when it carries that; else nothing.

    ``published`` makes the published table from the rows (each kind shows its own columns).
    """
    if payload.get("published"):
        return [published(payload["published"])]
    if payload.get("changed_inputs"):
        return [changed_inputs_table(payload["changed_inputs"], preset)]
    return []


def what_differs_sentence(bits: Sequence[str], payload: Mapping[str, Any]) -> str | None:
    """The summary's sentence for :func:`what_differs`: ``Published: ...`` from ``bits`` (one
    phrase per published figure), else the changed inputs, else None."""
    if bits:
        return "Published: " + ", ".join(bits) + "."
    if payload.get("changed_inputs"):
        fields = ", ".join(str(r["field"]) for r in payload["changed_inputs"])
        return (
            f"Not the published case (changed inputs: {fields}): no comparison with the "
            "preset's published figures."
        )
    return None


def grid_sentence(fits: bool, grid_mw: float, need_mw: float, short: str = "") -> str:
    """``It fits the 20.00 MW grid limit (5.62 MW headroom).`` or ``It does not fit ...: ``
    followed by ``short`` (how short and what fits instead)."""
    grid = quantities.format_value("grid_limit_mw", grid_mw)
    if fits:
        headroom = quantities.format_value("grid_limit_mw", grid_mw - need_mw, unit=True)
        return f"It fits the {grid} MW grid limit ({headroom} headroom)."
    return f"It does not fit the {grid} MW grid limit: {short}"


def lowercase_label(name: str) -> str:
    """The vocabulary label in running text: ``Peak facility power`` -> ``peak facility
    power``; acronyms stay (``GPUs``, ``MFU``)."""
    text = quantities.label(name, unit=False)
    return text[0].lower() + text[1:] if text[1:2].islower() else text


def largest_lever(s: Any, output: str, where: str = "") -> str:
    """One sentence: the factor of a sensitivity that moves ``output`` most."""
    df = s.table[s.table["output"] == output].copy()
    df["abs"] = df["relative_change"].abs()
    if df["abs"].isna().all():
        return ""
    top = df.loc[df["abs"].idxmax()]
    direction = "lower" if top["applied_change"] < 0 else "higher"
    return (
        f"Largest lever{where}: {top['factor']} {abs(top['applied_change']):.0%} {direction} "
        f"changes the {lowercase_label(output)} by {top['relative_change']:+.0%}."
    )


def sensitivity_tables(results: list[tuple[str, Any]]) -> tuple[Table, Table]:
    """A wide table (relative change per output) and the long table the tornado draws.

    ``results`` pairs a label (``""`` for a single sizing; ``run on chip`` for a plan) with a
    :class:`planner.sensitivity.SensitivityResult`; labels, when given, become a ``subject``
    column.
    """
    labelled = any(label for label, _ in results)
    outputs: list[str] = []
    for _, s in results:
        outputs += [o for o in s.outputs if o not in outputs]
    wide_rows, long_rows, bases = [], [], []
    for label, s in results:
        df = s.table
        for (factor, case), group in df.groupby(["factor", "case"], sort=False):
            row: dict[str, Any] = {
                "subject": label,
                "factor": factor,
                "case": case,
                "applied_change": float(group["applied_change"].iloc[0]),
                "clipped": bool(group["clipped"].iloc[0]),
            }
            for out, change in zip(group["output"], group["relative_change"], strict=True):
                row[out] = to_python(change)
            wide_rows.append(row)
        for rec in df.to_dict(orient="records"):
            rec = {k: to_python(v) for k, v in rec.items()}
            rec["subject"] = label
            rec["output_label"] = quantities.label(rec["output"])
            long_rows.append(rec)
        text = "; ".join(
            f"{lowercase_label(o)} {quantities.format_value(o, v, unit=True)}"
            for o, v in s.base.items()
        )
        bases.append(f"{label}: {text}" if label else text)
    subject = (Column.plain("subject", "Run on chip"),) if labelled else ()
    factor_case = (Column.plain("factor", "Factor"), Column.plain("case", "Case"))
    swing = results[0][1].swing
    wide = Table(
        name="sensitivity",
        title=f"Relative change of each headline number, each factor moved +-{swing:.0%}",
        columns=(
            *subject,
            *factor_case,
            Column("applied_change"),
            Column.plain("clipped", "Clipped"),
            *(
                Column(o, name="relative_change", qualifier=f"of {lowercase_label(o)}")
                for o in outputs
            ),
        ),
        rows=tuple(wide_rows),
        section="sensitivity",
        note=f"Base: {' | '.join(bases)}. 'price' moves the GPU purchase, rental and "
        "electricity prices together. MFU and goodput are clipped to (0, 1] and PUE to [1, 3].",
    )
    long = Table(
        name="sensitivity_cases",
        title="Sensitivity cases: every value",
        columns=(
            *subject,
            *factor_case,
            Column("requested_change"),
            Column("applied_change"),
            Column.plain("clipped", "Clipped"),
            Column.plain("output", "Output"),
            Column.plain("output_label", "Output label"),
            UNIT,
            Column("base_value", per_row="output"),
            Column("value", per_row="output"),
            Column("change", per_row="output"),
            Column("relative_change"),
        ),
        rows=tuple(long_rows),
        section="sensitivity",
        collapsed=True,
    )
    return wide, long
