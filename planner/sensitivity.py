"""Sensitivity: how the headline numbers of a sizing move when one assumption moves.

One-at-a-time ("tornado") analysis: each factor is moved by ``-swing`` and ``+swing``
(default +-20%) of its value while every other input stays at its base value, and the run is
re-sized. All ``1 + 2 x len(factors)`` cases are evaluated in vectorised calls of
:func:`planner.sizing.size_training` (its assumptions accept arrays; one call, or two when the
goodput comes from the failure model), so the numbers are exactly the core's: the first case
is the base sizing itself, and each case equals the scalar sizing of its inputs.

Factors (:data:`FACTORS`):

- ``mfu``: model FLOPs utilisation;
- ``goodput``: useful fraction of wall-clock time. When no one stated it, the base goodput is
  ``goodput(N)`` of the failure model and the cases of the OTHER factors keep the model (the
  goodput follows their GPUs, as in the core sizing of those inputs); the goodput cases state
  the moved goodput, with the base sizing's hot spares still installed;
- ``pue``: the annual power usage effectiveness (energy, cost, emissions); the design-day PUE
  of the peak (given or derived) moves with it in proportion, kept in [pue, 3];
- ``price``: every price at once - GPU purchase price, GPU rental price and electricity price
  (one "price level" knob; ``gpu_price`` and ``electricity_price`` move them separately).
  Under the amortized and capex pricings the facility share (USD per MW of IT) does not move
  with it, so the cost moves by less than the swing; under rent it moves by exactly the swing.

The base values are those of the base sizing: with no MFU given, the run model's MFU
(:mod:`planner.utilisation`), moved +-swing like a given one; prices from
``data/chip_economics.csv`` unless overridden.

Physical limits are respected, not extrapolated past: MFU and goodput are clipped to (0, 1]
and PUE to [1, 3] (:data:`planner.assumptions.PUE_RANGE`). A clipped case says so in
``notes`` and in the ``clipped`` / ``applied_change`` columns, so a "+20%" bar that is really
+11% is never shown as +20%.

Headline outputs: the GPUs (when the run has a deadline) or the days (when the GPUs are
given), peak facility power (MW), energy (MWh), cost (USD) and emissions (tCO2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner._arrays import to_python
from planner.assumptions import PUE_RANGE, SizingAssumptions
from planner.catalog import Accelerator, Catalog, load_catalog
from planner.errors import InputError
from planner.sizing import resolve_assumptions, size_training
from planner.workloads import TrainingRun

#: Factor name -> the :class:`SizingAssumptions` fields it scales together.
FACTORS: dict[str, tuple[str, ...]] = {
    "mfu": ("mfu",),
    "pue": ("pue",),
    "goodput": ("goodput",),
    "price": ("price_usd_per_gpu", "rent_usd_per_gpu_hour", "electricity_usd_per_mwh"),
    "gpu_price": ("price_usd_per_gpu", "rent_usd_per_gpu_hour"),
    "electricity_price": ("electricity_usd_per_mwh",),
}
#: The default factors: MFU, PUE, goodput and price (the inputs a sizing is most uncertain in).
DEFAULT_FACTORS: tuple[str, ...] = ("mfu", "pue", "goodput", "price")
#: Default one-at-a-time move: +-20% of the base value.
DEFAULT_SWING = 0.20
#: Allowed range per field (lower bound exclusive for fractions): values outside are clipped.
_LIMITS: dict[str, tuple[float, float]] = {
    "mfu": (0.0, 1.0),
    "goodput": (0.0, 1.0),
    "pue": PUE_RANGE,
}


def _unit(output: str) -> str:
    """Unit of a headline output, from the vocabulary (``data/quantities.csv``)."""
    from planner import quantities

    return quantities.quantity(output).unit


@dataclass(frozen=True)
class SensitivityResult:
    """One-at-a-time sensitivity of the headline outputs.

    Attributes
    ----------
    swing : float
        Requested relative move of each factor (0.2 = +-20%).
    factors : tuple of str
        Factors moved, in order.
    outputs : tuple of str
        Headline outputs (``gpus`` or ``days``, ``facility_power_mw``, ``energy_mwh``,
        ``cost_usd``, ``emissions_tco2``).
    base : dict
        Output -> base value (identical to :func:`planner.sizing.size_training`).
    table : pandas.DataFrame
        Long form, one row per factor x case x output: ``factor, case (low/high),
        requested_change, applied_change, clipped, output, unit, base_value, value, change,
        relative_change``. Changes are fractions (-0.2 = -20%).
    notes : tuple of str
        What was clipped, and why.
    """

    swing: float
    factors: tuple[str, ...]
    outputs: tuple[str, ...]
    base: dict[str, float]
    table: pd.DataFrame
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The long table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""
        rows = [
            {k: to_python(v) for k, v in row.items()}
            for row in self.table.to_dict(orient="records")
        ]
        return {
            "swing": self.swing,
            "factors": list(self.factors),
            "outputs": list(self.outputs),
            "units": {o: _unit(o) for o in self.outputs},
            "base": {k: to_python(v) for k, v in self.base.items()},
            "cases": rows,
            "notes": list(self.notes),
        }


def _scalar(field: str, value: Any) -> float:
    if np.ndim(value) != 0:
        raise InputError(
            field, "an array", "one number", detail="sensitivity moves one scenario at a time"
        )
    return float(value)


def sensitivity(
    run: TrainingRun,
    accelerator: Accelerator | str,
    *,
    gpus: float | None = None,
    days: float | None = None,
    assumptions: SizingAssumptions | None = None,
    catalog: Catalog | None = None,
    swing: float = DEFAULT_SWING,
    factors: tuple[str, ...] = DEFAULT_FACTORS,
) -> SensitivityResult:
    """Move each factor by ``-swing`` / ``+swing``, one at a time, and re-size the run.

    Parameters
    ----------
    run, accelerator, gpus, days, assumptions, catalog
        As :func:`planner.sizing.size_training` (scalars only).
    swing : float
        Relative move in (0, 1), default 0.2 (+-20%).
    factors : tuple of str
        Names from :data:`FACTORS`; default MFU, PUE, goodput and price.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    InputError
        Unknown factor, a swing outside (0, 1), or any input :func:`size_training` rejects.
    """
    if not (isinstance(swing, int | float) and 0.0 < float(swing) < 1.0):
        raise InputError("swing", swing, "a fraction in (0, 1), e.g. 0.2 for +-20%")
    swing = float(swing)
    unknown = [f for f in factors if f not in FACTORS]
    if unknown or not factors:
        raise InputError(
            "factors", unknown[0] if unknown else "none", "one or more of: " + ", ".join(FACTORS)
        )
    chip = (
        accelerator
        if isinstance(accelerator, Accelerator)
        else (catalog or load_catalog()).get(accelerator)
    )
    a = resolve_assumptions(assumptions, {})
    # The base sizing fixes what the defaults leave open: the MFU of the run model (when no MFU
    # was given) and the prices of data/chip_economics.csv; the cases move those values.
    base_run = size_training(run, chip, gpus=gpus, days=days, assumptions=a)
    used = base_run.assumptions

    def _used(field: str) -> float | None:
        value = used.get(field, {}).get("value")
        return None if value is None else _scalar(field, value)

    base_values: dict[str, float | None] = {
        "mfu": _scalar("mfu", base_run.mfu),
        # the goodput used: stated, or the failure model's goodput(N) of the base sizing
        "goodput": _scalar("goodput", base_run.goodput),
        "pue": _scalar("pue", a.pue),
        "electricity_usd_per_mwh": _scalar("electricity_usd_per_mwh", a.electricity_usd_per_mwh),
        "price_usd_per_gpu": _used("price_usd_per_gpu"),
        "rent_usd_per_gpu_hour": _used("rent_usd_per_gpu_hour"),
    }
    if a.mfu_from_run_model:
        notes_mfu = [f"base MFU {base_values['mfu']:.3g}: {used['mfu']['source']}"]
    else:
        notes_mfu = []

    # case 0 is the base; then (factor, low), (factor, high) for each factor
    cases: list[tuple[str | None, str | None, float]] = [(None, None, 1.0)]
    for f in factors:
        cases += [(f, "low", 1.0 - swing), (f, "high", 1.0 + swing)]
    n = len(cases)
    moved: dict[str, np.ndarray] = {}
    for field, value in base_values.items():
        if value is not None:
            moved[field] = np.full(n, value, dtype=float)

    applied = np.ones(n)
    clipped = np.zeros(n, dtype=bool)
    notes: list[str] = list(notes_mfu)
    for i, (factor, case, scale) in enumerate(cases):
        if factor is None:
            continue
        scaled_fields = [fl for fl in FACTORS[factor] if fl in moved]
        for field in scaled_fields:
            wanted = base_values[field] * scale  # type: ignore[operator]
            lo, hi = _LIMITS.get(field, (0.0, np.inf))
            got = min(max(wanted, lo), hi)
            if field in ("mfu", "goodput") and got <= 0.0:  # pragma: no cover - swing < 1
                got = np.nextafter(0.0, 1.0)
            if got != wanted:
                clipped[i] = True
                what = "a fraction cannot exceed 1" if field != "pue" else "PUE is in [1, 3]"
                notes.append(
                    f"{factor} {case} ({scale - 1:+.0%}): {field} {wanted:.4g} clipped to "
                    f"{got:.4g} ({what}), an applied change of {got / base_values[field] - 1:+.1%}"  # type: ignore[operator]
                )
            moved[field][i] = got
            if base_values[field]:
                applied[i] = got / base_values[field]  # type: ignore[operator]
        if not scaled_fields:
            applied[i] = 1.0
            notes.append(f"{factor} {case}: no price is known for {chip.id}, nothing to move")

    if "pue" in moved:
        # the design-day PUE of the peak (given or derived) moves with the annual PUE, in
        # proportion, so the peak and the energy move alike; kept in [pue, 3]
        design = _scalar("design_pue", a.grid_pue()) * moved["pue"] / base_values["pue"]  # type: ignore[operator]
        moved["design_pue"] = np.clip(design, moved["pue"], PUE_RANGE[1])
    primary = "days" if gpus is not None else "gpus"
    outputs = (primary, "facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2")
    source = f"sensitivity +-{swing:.0%}"
    if base_run.goodput_model is None:
        # a stated goodput: every case in one call, the goodput a factor like any other
        groups = [(np.arange(n), moved, None)]
    else:
        # goodput(N) of the failure model: it is not an input but follows the GPUs, so the
        # cases of the other factors keep the model (each is the core sizing of its inputs);
        # the goodput cases state the moved goodput, the base's hot spares still installed
        is_g = np.array([factor == "goodput" for factor, _, _ in cases])
        rest = {k: v for k, v in moved.items() if k != "goodput"}
        groups = [(np.flatnonzero(~is_g), rest, None)]
        if is_g.any():
            groups.append((np.flatnonzero(is_g), moved, base_run.spare_gpus))
    values = {o: np.full(n, np.nan) for o in outputs}
    for rows, fields_, spares in groups:
        sized_a = a.with_(source, **{k: v[rows] for k, v in fields_.items()})
        result = size_training(
            run, chip, gpus=gpus, days=days, assumptions=sized_a, spare_gpus=spares
        )
        for o in outputs:
            values[o][rows] = np.asarray(getattr(result, o), dtype=float)
    base = {o: float(values[o][0]) for o in outputs}
    if not np.isfinite(base["cost_usd"]):
        notes.append(
            f"cost unknown: the catalog has no price for {chip.id} (give price_usd_per_gpu or "
            "rent_usd_per_gpu_hour), so its sensitivity is n/a"
        )

    table_rows: list[dict[str, Any]] = []
    for i, (factor, case, scale) in enumerate(cases):
        if factor is None:
            continue
        for o in outputs:
            b, v = base[o], float(values[o][i])
            rel = (v - b) / b if b not in (0.0,) and np.isfinite(b) else np.nan
            table_rows.append(
                {
                    "factor": factor,
                    "case": case,
                    "requested_change": scale - 1.0,
                    "applied_change": float(applied[i]) - 1.0,
                    "clipped": bool(clipped[i]),
                    "output": o,
                    "unit": _unit(o),
                    "base_value": b,
                    "value": v,
                    "change": v - b,
                    "relative_change": rel,
                }
            )
    return SensitivityResult(
        swing=swing,
        factors=tuple(factors),
        outputs=outputs,
        base=base,
        table=pd.DataFrame(table_rows),
        notes=tuple(notes),
    )
