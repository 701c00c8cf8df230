"""Named presets: public training-run estimates with every assumption written next to them.

Read from ``data/presets.toml`` by one validating loader. A preset gives the run, the chip,
the GPUs or the deadline, the assumptions that differ from the defaults (with the reason in
``why``) and the ``published`` figures it reproduces.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planner._paths import data_dir
from planner.assumptions import SizingAssumptions
from planner.data_errors import data_error, field_error, not_allowed, read_toml
from planner.errors import InputError
from planner.sizing import MAX_DAYS, MAX_GPUS, MIN_DAYS
from planner.workloads import MAX_FLOPS, MAX_PARAMS, MAX_TOKENS, TrainingRun


class Preset(BaseModel):
    """One named reproduction."""

    # allow_inf_nan=False: no inf / nan (or 1e400, which TOML reads as inf) in any number
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    title: str
    source: str
    accelerator: str
    flops: float | None = Field(default=None, gt=0, le=MAX_FLOPS)
    params: float | None = Field(default=None, gt=0, le=MAX_PARAMS)
    active_params: float | None = Field(default=None, gt=0, le=MAX_PARAMS)
    tokens: float | None = Field(default=None, gt=0, le=MAX_TOKENS)
    gpus: int | None = Field(default=None, gt=0, le=int(MAX_GPUS))
    days: float | None = Field(default=None, ge=MIN_DAYS, le=MAX_DAYS)
    assumptions: dict[str, float | str | bool] = Field(default_factory=dict)
    why: dict[str, str] = Field(default_factory=dict)
    published: dict[str, float] = Field(default_factory=dict)
    #: Why this preset's answer differs from the plain command for the same run, or from
    #: another preset / ``--compare`` row for the same chip (precision, MFU, PUEs...).
    differs_because: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Preset:
        if (self.gpus is None) == (self.days is None):
            raise ValueError("give exactly one of gpus or days")
        if self.flops is None and (
            self.tokens is None or (self.params is None and self.active_params is None)
        ):
            raise ValueError("give flops, or params/active_params with tokens")
        return self

    def run(self) -> TrainingRun:
        return TrainingRun(
            flops=self.flops,
            params=self.params,
            active_params=self.active_params,
            tokens=self.tokens,
            name=self.title,
        )

    def sizing_assumptions(
        self, base: SizingAssumptions | None = None, drop: tuple[str, ...] = ()
    ) -> SizingAssumptions:
        """Defaults (or ``base``) with this preset's values (except ``drop``), sourced to it.

        ``pue`` is the annual PUE (energy); ``design_pue`` the design-day PUE of the grid peak,
        derived from ``pue`` when the preset does not state it.
        """
        a = base if base is not None else SizingAssumptions.defaults()
        # the annual pue first: a new pue alone clears an earlier design_pue (with_)
        ordered = sorted(self.assumptions.items(), key=lambda kv: kv[0] != "pue")
        for key, value in ordered:
            if key in drop:
                continue
            reason = self.why.get(key, "")
            a = a.with_(f"preset {self.name}" + (f": {reason}" if reason else ""), **{key: value})
        return a


@lru_cache(maxsize=4)
def load_presets(path: Path | None = None) -> dict[str, Preset]:
    """All presets of ``data/presets.toml`` (or ``path``) by name."""
    resolved = path or data_dir() / "presets.toml"
    raw = read_toml(resolved, "presets file")
    presets: dict[str, Preset] = {}
    known = set(SizingAssumptions.UNITS)
    for name, body in raw.items():
        if not isinstance(body, dict):
            raise field_error(
                str(resolved), name, not_allowed(body, f"a table [{name}] of preset fields")
            )
        try:
            preset = Preset.model_validate({"name": name, **body})
        except ValidationError as exc:
            # the preset's name is its table header, never a key inside the table
            raise data_error(str(resolved), exc, Preset, prefix=name, hidden=("name",)) from None
        bad = sorted(set(preset.assumptions) - known)
        if bad:
            raise field_error(
                str(resolved),
                f"{name}.assumptions.{bad[0]}",
                "unknown assumption (allowed: " + ", ".join(sorted(known)) + ")",
            )
        design, annual = preset.assumptions.get("design_pue"), preset.assumptions.get("pue")
        numbers = all(
            isinstance(v, float | int) and not isinstance(v, bool) for v in (design, annual)
        )
        if numbers and design < annual:  # type: ignore[operator]
            raise field_error(
                str(resolved),
                f"{name}.assumptions.design_pue",
                not_allowed(design, f"at least the annual pue ({annual:g})"),
            )
        presets[name] = preset
    return presets


def get_preset(name: str) -> Preset:
    """The preset called ``name``, or an :class:`InputError` listing the valid names."""
    presets = load_presets()
    if name not in presets:
        raise InputError("preset", name, "one of: " + ", ".join(presets))
    return presets[name]


def preset_published(name: str) -> dict[str, Any]:
    return dict(get_preset(name).published)


def compare_to_published(
    result_dict: dict[str, Any], published: dict[str, float]
) -> list[dict[str, Any]]:
    """Model vs published figure for each published key: value, model, relative difference.

    Empty when ``result_dict`` carries ``changed_inputs`` (a run that is not the published
    case is never compared with the published figure).
    """
    if result_dict.get("changed_inputs"):
        return []
    rows = []
    for key, value in published.items():
        model = result_dict.get(key)
        rel = None if model is None or value == 0 else (float(model) - value) / value
        rows.append(
            {"quantity": key, "published": value, "model": model, "relative_difference": rel}
        )
    return rows


#: Columns of :func:`preset_table`.
PRESET_COLUMNS = (
    "name",
    "title",
    "accelerator",
    "precision",
    "mfu",
    "mfu_source",
    "pue",
    "pue_source",
    "design_pue",
    "design_pue_source",
    "flops",
    "params",
    "active_params",
    "tokens",
    "gpus",
    "days",
    "published",
    "differs_because",
)


def preset_table() -> list[dict[str, Any]]:
    """Every preset with the assumptions its answer rests on, one dict per preset.

    Precision, MFU, annual and design-day PUE, each with its source kind
    (:func:`planner.sizing.source_kind`: ``preset NAME``, ``run model``, ``default``,
    ``derived from the annual PUE``), the model shape (``flops`` or parameters x tokens), the
    GPUs or deadline, the published figures and ``differs_because``: why the answer is not the
    plain command's for the same run. Keys :data:`PRESET_COLUMNS`.
    """
    from planner.sizing import source_kind

    rows = []
    for p in load_presets().values():
        a = p.sizing_assumptions()
        derived = a.design_pue is None
        rows.append(
            {
                "name": p.name,
                "title": p.title,
                "accelerator": p.accelerator,
                "precision": a.precision,
                "mfu": None if a.mfu_from_run_model else float(a.mfu),
                "mfu_source": "run model"
                if a.mfu_from_run_model
                else source_kind(a.sources.get("mfu", "")),
                "pue": float(a.pue),
                "pue_source": source_kind(a.sources.get("pue", "")),
                "design_pue": float(f"{float(a.grid_pue()):.12g}"),  # 1.15, not 1.1500000000000001
                "design_pue_source": "derived from the annual PUE"
                if derived
                else source_kind(a.sources.get("design_pue", "")),
                "flops": p.flops,
                "params": p.params,
                "active_params": p.active_params,
                "tokens": p.tokens,
                "gpus": p.gpus,
                "days": p.days,
                "published": dict(p.published),
                "differs_because": p.differs_because,
            }
        )
    return rows
