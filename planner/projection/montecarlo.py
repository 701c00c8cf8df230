"""Monte Carlo: seeded sampling of the inputs and the run of one variant with its P10/P50/P90 bands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner.catalog import Catalog
from planner.errors import InputError
from planner.projection.constants import BANDED, MWH_PER_TWH, PERCENTILES, TWH_PER_GWH
from planner.projection.data import resolve_country
from planner.projection.demand import (
    _denominators,
    _evaluate,
    _inputs_table,
    _region_table,
    reference_run,
)
from planner.projection.validation import _check_outputs, validate_spec
from planner.projection_scenarios import (
    Range,
    ScenarioSpec,
    Uncertain,
    central,
)

# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def _ppf(x: Range, u: np.ndarray) -> np.ndarray:
    """Inverse CDF: triangular(low, value, high), or uniform(low, high) without a value."""
    a, b = x.low, x.high
    if b == a:
        return np.full_like(u, a)
    if x.value is None:
        return a + u * (b - a)
    c = x.value
    fc = (c - a) / (b - a)
    left = a + np.sqrt(u * (b - a) * (c - a))
    right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
    return np.where(u < fc, left, right)


class _Draw:
    """Central values (``rng=None``, one sample) or seeded samples of every input, (n, 1)."""

    def __init__(self, n: int, rng: np.random.Generator | None) -> None:
        self.n = n
        self.rng = rng

    def __call__(self, x: Uncertain) -> np.ndarray:
        if self.rng is None or not isinstance(x, Range):
            return np.full((self.n, 1), central(x))
        return _ppf(x, self.rng.random(self.n))[:, None]

    def table(self, values: list[Uncertain]) -> np.ndarray:
        """A year-keyed table drawn with ONE quantile per sample (a coherent trajectory)."""
        return self.table_and_quantile(values)[0]

    def table_and_quantile(
        self, values: list[Uncertain], u: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`table` and the quantile per sample it used (None: nothing was drawn).

        A given ``u`` is reused instead of drawing (a second table moving with the first:
        the design-day PUE with the annual PUE); no random number is consumed then.
        """
        if self.rng is None or not any(isinstance(v, Range) for v in values):
            return np.array([[central(v) for v in values]] * self.n, dtype=float), u
        if u is None:
            u = self.rng.random(self.n)
        cols = [_ppf(v, u) if isinstance(v, Range) else np.full(self.n, float(v)) for v in values]
        return np.stack(cols, axis=1), u


@dataclass(frozen=True)
class _VariantRun:
    frame: pd.DataFrame
    inputs: list[dict[str, Any]]
    notes: list[str]


def _in_file(err: InputError, path: str, spec: ScenarioSpec) -> InputError:
    """The same error, its detail naming the scenario file (and variant)."""
    where = f"in {path}" + (f", variant {spec.variant!r}" if spec.variant != "base" else "")
    detail = f"{err.detail}; {where}" if err.detail else where
    return InputError(err.field, err.value, err.allowed, detail=detail)


def _run_variant(
    spec: ScenarioSpec,
    out_years: np.ndarray,
    samples: int,
    seed: int | None,
    catalog: Catalog,
    path: str = "<scenario>",
) -> _VariantRun:
    try:
        validate_spec(spec, catalog, (int(out_years[0]), int(out_years[-1])))
        return _run_valid_variant(spec, out_years, samples, seed, catalog)
    except InputError as err:
        raise _in_file(err, path, spec) from None


def _run_valid_variant(
    spec: ScenarioSpec, out_years: np.ndarray, samples: int, seed: int | None, catalog: Catalog
) -> _VariantRun:
    names, shares = _region_table(spec, out_years)
    ai_shares = (
        shares if spec.ai_regions is None else _region_table(spec, out_years, "ai_regions")[1]
    )
    denom = _denominators(spec, names, out_years)
    scope = resolve_country(spec.scope)
    single = names == [scope]
    run = reference_run(spec.reference_run)

    def by_region(series: np.ndarray, split: np.ndarray = shares) -> np.ndarray:
        """(n, Y) scope series -> (n, Y, R[+1]) with the scope total last."""
        per = series[:, :, None] * split[None, :, :]
        return per if single else np.concatenate([per, series[:, :, None]], axis=2)

    labels = names if single else [*names, scope]
    dens = denom[:, : len(labels)] if single else denom

    def quantities(core: dict[str, Any]) -> dict[str, np.ndarray]:
        ai_twh = by_region(core["ai_twh"], ai_shares)
        non_ai = by_region(core["non_ai_twh"])
        total = ai_twh + non_ai
        return {
            "ai_twh": ai_twh,
            "non_ai_twh": non_ai,
            "total_twh": total,
            "ai_gw": ai_twh / (spec.hours_per_year * TWH_PER_GWH),
            "total_gw": total / (spec.hours_per_year * TWH_PER_GWH),
            "ai_peak_gw": by_region(core["ai_peak_gw"], ai_shares),
            "electricity_twh": np.broadcast_to(dens, total.shape),
            "ai_share": ai_twh / dens,
            "total_share": total / dens,
            "reference_runs_per_year": ai_twh * MWH_PER_TWH / run.energy_mwh,
            "ai_accelerators_in_service": by_region(core["ai_accelerators_in_service"], ai_shares),
            "ai_dense_bf16_eflops": by_region(core["ai_dense_bf16_eflops"], ai_shares),
            "pue": np.broadcast_to(core["pue"][:, :, None], total.shape),
            "design_pue": np.broadcast_to(core["design_pue"][:, :, None], total.shape),
        }

    core = _evaluate(spec, _Draw(1, None), catalog, out_years)
    point = quantities(core)
    _check_outputs(spec, point, core, labels, out_years)
    Y, L = out_years.size, len(labels)
    frame = pd.DataFrame(
        {
            "variant": spec.variant,
            "country": np.tile(labels, Y),
            "year": np.repeat(out_years.astype(int), L),
            "electricity_definition": spec.electricity.definition,
        }
    )
    for key, arr in point.items():
        frame[key] = np.asarray(arr[0], dtype=float).reshape(Y * L)
    notes: list[str] = []
    if spec.ai_regions is None and not single and spec.ai is not None:
        notes.append(
            f"Variant {spec.variant}: AI electricity is split by region with the common "
            "data-centre shares of `regions` (the file has no `ai_regions` table), so each "
            "region's AI TWh, AI share and reference runs are its data-centre share of the AI "
            "total, not a bottom-up allocation of the accelerator fleet."
        )
    if samples > 0:
        mc = quantities(
            _evaluate(spec, _Draw(samples, np.random.default_rng(seed)), catalog, out_years)
        )
        for key in BANDED:
            bands = np.percentile(mc[key], PERCENTILES, axis=0)  # (3, Y, L)
            for p, band in zip(PERCENTILES, bands, strict=True):
                frame[f"{key}_p{p}"] = band.reshape(Y * L)
        notes += _outside_band_notes(spec, frame)
    return _VariantRun(frame, _inputs_table(spec), notes)


def _one_sided_inputs(spec: ScenarioSpec) -> list[str]:
    """Ranged inputs whose central value is their low or high end, as 'name (low, value, high)'."""
    out = []
    for row in _inputs_table(spec):
        if spec.design_pue is None and row["name"].startswith("design_pue["):
            continue  # derived from pue, which is listed itself
        low, value, high = row["low"], row["value"], row["high"]
        if low < high and value in (low, high):
            out.append(f"{row['name']} (low {low:g}, value {value:g}, high {high:g})")
    return out


def _outside_band_notes(spec: ScenarioSpec, frame: pd.DataFrame) -> list[str]:
    """A note per variant when a central total lies outside its own P10-P90 band."""
    central_twh = frame["total_twh"].to_numpy()
    lo, hi = frame["total_twh_p10"].to_numpy(), frame["total_twh_p90"].to_numpy()
    tol = 1e-9 * np.maximum(1.0, np.abs(central_twh))
    outside = (central_twh < lo - tol) | (central_twh > hi + tol)
    if not outside.any():
        return []
    row = frame[outside].iloc[-1]
    side = "above" if row["total_twh"] > row["total_twh_p90"] else "below"
    one_sided = _one_sided_inputs(spec)
    why = (
        "one-sided input range(s) by design ("
        + "; ".join(one_sided)
        + "), so the central case is an end of the band, not its middle"
        if one_sided
        else "the model is non-linear in its uncertain inputs"
    )
    return [
        f"Variant {spec.variant}: the central value lies {side} its own P10-P90 band "
        f"({row['country']} {row['year']}: {row['total_twh']:,.1f} TWh vs P10-P90 "
        f"{row['total_twh_p10']:,.1f}-{row['total_twh_p90']:,.1f} TWh): {why}."
    ]
