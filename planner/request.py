"""A sizing request as a user states it: a preset and/or explicit values, merged once.

The CLI, the app and the reports all build requests here, so "a preset, then what the user
typed on top" means the same thing in every face. Precedence: defaults
(``data/assumptions.csv``) < preset < explicit values. Giving ``gpus`` replaces a preset's
``days`` and vice versa; giving ``flops`` replaces a preset's parameters x tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from planner import facility
from planner.assumptions import SizingAssumptions
from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.presets import Preset, get_preset
from planner.sizing import SizingResult, compare_accelerators, size_training
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

    def size(self, catalog: Catalog | None = None) -> SizingResult:
        if self.accelerator is None:
            cat = catalog or load_catalog()
            raise InputError("accelerator", "missing", "one of: " + ", ".join(cat.ids))
        return size_training(
            self.run,
            self.accelerator,
            gpus=self.gpus,
            days=self.days,
            assumptions=self.assumptions,
            catalog=catalog,
        )

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
    **assumption_overrides: Any,
) -> SizingRequest:
    """Merge defaults, an optional preset and explicit values into a :class:`SizingRequest`.

    ``assumption_overrides`` are :class:`SizingAssumptions` fields (``mfu``, ``pue``...);
    ``None`` means "not given". ``facility_profile`` sets both PUEs from ``data/facility.csv``
    (the annual ``pue`` for energy, the design-day ``design_pue`` for the grid peak) unless
    ``pue`` is given too (then the design-day PUE is ``design_pue`` if given, else derived).
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
    )
