"""A sizing request as a user states it: a preset and/or explicit values, merged once.

The CLI, the app and the reports all build requests here, so "a preset, then what the user
typed on top" means the same thing in every face. Precedence: defaults
(``data/assumptions.csv``) < preset < explicit values. Giving ``gpus`` replaces a preset's
``days`` and vice versa; giving ``flops`` replaces a preset's parameters x tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from planner import facility
from planner._arrays import jsonable
from planner.assumptions import SizingAssumptions
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.presets import Preset, compare_to_published, get_preset
from planner.sizing import (
    GoodputOptions,
    SizingResult,
    compare_accelerators,
    size_training,
    use_goodput_model,
)
from planner.workloads import TrainingRun

#: Preset assumptions that describe the preset's own chip and are dropped on another chip.
CHIP_SPECIFIC = ("avg_power_per_gpu_w", "price_usd_per_gpu", "rent_usd_per_gpu_hour")


@dataclass(frozen=True)
class SizingRequest:
    """Everything needed to size one run: work, chip, GPUs or days, assumptions."""

    run: TrainingRun
    accelerator: str | None
    gpus: float | None
    days: float | None
    assumptions: SizingAssumptions
    preset: Preset | None = None
    #: Changes to the failure model's defaults (goodput(N)); None: the defaults.
    goodput_options: GoodputOptions | None = None

    def size(self, catalog: Catalog | None = None) -> SizingResult:
        """The sizing; from a preset it carries the published comparison only when every
        input is the preset's, else the inputs that differ (:meth:`changed_inputs`)."""
        if self.accelerator is None:
            cat = catalog or load_catalog()
            raise InputError("accelerator", "missing", "one of: " + ", ".join(cat.ids))
        result = size_training(
            self.run,
            self.accelerator,
            gpus=self.gpus,
            days=self.days,
            assumptions=self.assumptions,
            catalog=catalog,
            goodput_options=self.goodput_options,
        )
        if self.preset is None:
            return result
        changed = self.changed_inputs()
        if changed:
            return replace(result, preset=self.preset.name, changed_inputs=changed)
        published = compare_to_published(result.to_dict(), self.preset.published)
        return replace(result, preset=self.preset.name, published=published)

    def changed_inputs(self) -> list[dict[str, Any]]:
        """Every input that differs from the preset's own: ``{"field", "preset", "value"}``.

        Empty without a preset, or when the request is the preset unchanged (an option given
        with the preset's own value changes nothing). The design-day PUE is compared as used
        (stated or derived from the annual PUE).
        """
        p = self.preset
        if p is None:
            return []
        rows: list[dict[str, Any]] = []

        def differs(name: str, preset_value: Any, value: Any) -> None:
            if not _same(preset_value, value):
                rows.append({"field": name, "preset": _plain(preset_value), "value": _plain(value)})

        differs("accelerator", p.accelerator, self.accelerator)
        own_run = p.run()
        for name in ("flops", "params", "active_params", "tokens"):
            differs(name, getattr(own_run, name), getattr(self.run, name))
        differs("gpus", p.gpus, self.gpus)
        differs("days", p.days, self.days)
        own = p.sizing_assumptions()
        from planner.sizing import goodput_from_failure_model

        def goodput_of(a: SizingAssumptions) -> Any:
            return "model" if goodput_from_failure_model(a) else a.goodput

        for f in fields(SizingAssumptions):
            if f.name in ("sources", "mfu_from_run_model", "design_pue", "goodput"):
                continue
            differs(f.name, getattr(own, f.name), getattr(self.assumptions, f.name))
        differs("goodput", goodput_of(own), goodput_of(self.assumptions))
        if self.goodput_options is not None:
            for f in fields(self.goodput_options):
                value = getattr(self.goodput_options, f.name)
                if value is not None:
                    rows.append({"field": f.name, "preset": None, "value": _plain(value)})
        differs("design_pue", own.grid_pue(), self.assumptions.grid_pue())
        return rows

    def compare(self, catalog: Catalog | None = None) -> pd.DataFrame:
        return compare_accelerators(
            self.run, gpus=self.gpus, days=self.days, assumptions=self.assumptions, catalog=catalog
        )


def build_request(
    *,
    preset: str | None = None,
    accelerator: str | None = None,
    flops: float | None = None,
    params: float | None = None,
    active_params: float | None = None,
    tokens: float | None = None,
    gpus: float | None = None,
    days: float | None = None,
    facility_profile: str | None = None,
    source: str = "user input",
    goodput_options: GoodputOptions | None = None,
    **assumption_overrides: Any,
) -> SizingRequest:
    """Merge defaults, an optional preset and explicit values into a :class:`SizingRequest`.

    ``assumption_overrides`` are :class:`SizingAssumptions` fields (``mfu``, ``pue``...);
    ``None`` means "not given". ``facility_profile`` sets both PUEs from ``data/facility.csv``
    (the annual ``pue`` for energy, the design-day ``design_pue`` for the grid peak) unless
    ``pue`` is given too (then the design-day PUE is ``design_pue`` if given, else derived).

    ``goodput="model"`` (or ``goodput_options``, which change the failure model's
    defaults) takes goodput(N) from the failure model even over a preset's stated goodput;
    a number AND ``goodput_options`` together are refused (the number would ignore them).
    """
    p = get_preset(preset) if preset else None
    chip_changed = p is not None and accelerator is not None and accelerator != p.accelerator
    # A preset's measured power and prices belong to ITS chip (330 W per V100, $1 per
    # A100-hour); on another chip they would be silently wrong, so they fall back to the
    # catalog/defaults. MFU, PUE, goodput and precision stay: "same run, other chip".
    a = (
        p.sizing_assumptions(drop=CHIP_SPECIFIC if chip_changed else ())
        if p
        else SizingAssumptions.defaults()
    )
    if facility_profile is not None and assumption_overrides.get("pue") is None:
        # both PUEs of the profile (planner.facility decides which PUE applies)
        where = f"facility profile {facility_profile} (data/facility.csv)"
        annual, design, _, design_source = facility.profile_pues(facility_profile)
        a = a.with_(where, pue=annual)
        a = a.with_(f"{where}: {design_source}", design_pue=design)
    stated = assumption_overrides.get("goodput")
    wants_model = isinstance(stated, str) and stated.strip().lower() == "model"
    if isinstance(stated, str) and not wants_model:
        try:  # a number typed as text (the CLI's --goodput 0.9)
            assumption_overrides["goodput"] = float(stated)
        except ValueError:
            raise InputError("goodput", stated, "a fraction in (0, 1], or model") from None
    options = goodput_options if goodput_options is not None and goodput_options.given() else None
    if options is not None:
        options.validate()
        if stated is not None and not wants_model:
            raise InputError(
                "goodput",
                stated,
                "no stated goodput with failure-model options (failure rate, write "
                "bandwidth, spares, checkpoint): they set goodput(N)",
            )
    if wants_model or options is not None:
        a = use_goodput_model(a)
        assumption_overrides = {k: v for k, v in assumption_overrides.items() if k != "goodput"}
    a = a.with_(source, **assumption_overrides)
    a.validate()

    work_given = flops is not None or any(v is not None for v in (params, active_params, tokens))
    if work_given or p is None:
        run = TrainingRun(flops=flops, params=params, active_params=active_params, tokens=tokens)
    else:
        run = p.run()
    if gpus is not None or days is not None:
        req_gpus, req_days = gpus, days
    elif p is not None:
        req_gpus, req_days = p.gpus, p.days
    else:
        req_gpus = req_days = None
    return SizingRequest(
        run=run,
        accelerator=accelerator or (p.accelerator if p else None),
        gpus=req_gpus,
        days=req_days,
        assumptions=a,
        preset=p,
        goodput_options=options,
    )


def _same(a: Any, b: Any) -> bool:
    """Equal inputs (numbers compared as floats, 90 == 90.0; arrays element-wise)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) or isinstance(b, bool):
        return a == b
    try:
        return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))
    except (TypeError, ValueError):
        return a == b


def _plain(value: Any) -> Any:
    """A value for ``changed_inputs``: Python scalars (0-d arrays too); arrays as lists."""
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0:
        value = float(value)
    if isinstance(value, float):
        return float(f"{value:.12g}")  # 1.45, not 1.4500000000000002 (float noise)
    return jsonable(value)
