"""Single answers with uncertainty: P10 / P50 / P90 of one sizing or one service.

:func:`size_uncertainty` draws the given input distributions (the sweep file's forms,
:mod:`planner.sweeps.spec`) and, when the MFU comes from the run model (no MFU given), the run
model's own error: its leave-one-out cross-validated error on the published runs
(:func:`planner.utilisation.cross_validated_band`: four in five published runs within
P10..P90 of ``predicted / published - 1`` of the GPU-hours). A planned duration off by
``e`` means the true utilisation is the predicted one x ``(1 + e)``, so the MFU is multiplied by
a factor whose P10 and P90 are ``1 + P10`` and ``1 + P90`` of that band and whose median is 1:
lognormal on each side of 1 (a two-piece normal in log space), truncated so MFU stays <= 1.
An MFU given (a preset's, the user's) carries no model error: give it a distribution instead.

:func:`serve_uncertainty` draws the input distributions only: the serving roofline has no
fitted coefficients (its published comparisons are in ``planner validate``).

Both run the core once, vectorised over the draws (no Python per draw).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from planner.errors import InputError
from planner.sweeps import sample
from planner.sweeps.spec import MAX_SCENARIOS, check_distributions

#: Draws by default (P10 / P90 to about +-0.5% of their value).
DEFAULT_DRAWS = 10_000
#: Quantiles reported.
QUANTILES = {"p10": 10.0, "p50": 50.0, "p90": 90.0}
#: Stream name of the run-model error (its own random stream, as every input's).
MODEL_ERROR_STREAM = "run_model_error"


def _check_n(n: Any, seed: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SCENARIOS:
        raise InputError("n", n, f"a whole number in 1..{MAX_SCENARIOS:,} (draws)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("seed", seed, "a whole number >= 0")


def _bands(frame: Any, skip: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in frame.columns:
        if name in skip:
            continue
        col = frame[name]
        if col.dtype.kind not in "fiu":
            continue
        values = col.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not values.size:
            continue
        q = np.percentile(values, list(QUANTILES.values()))
        out[name] = {k: float(v) for k, v in zip(QUANTILES, q, strict=True)}
    return out


def model_error_factor(
    n: int, seed: int, band: tuple[float, float], cap: float = math.inf
) -> np.ndarray:
    """``n`` draws of the run model's utilisation factor (median 1, P10 / P90 = 1 + band),
    each at most ``cap``."""
    lo, hi = band
    z90 = 1.2815515655446004  # standard normal P90
    s_low, s_high = -math.log1p(lo) / z90, math.log1p(hi) / z90
    u = sample.uniforms(seed, MODEL_ERROR_STREAM, n)
    if math.isfinite(cap):  # truncate the upper tail so the factor stays <= cap
        u_max = sample.norm_cdf(math.log(cap) / s_high) if cap > 1 else 0.5
        u = u * u_max
    z = sample.norm_ppf(u)
    return np.exp(np.where(z < 0, z * s_low, z * s_high))


def size_uncertainty(
    request: Any = None,
    *,
    distributions: Mapping[str, Mapping[str, Any]] | None = None,
    n: int = DEFAULT_DRAWS,
    seed: int = 0,
    model_error: bool = True,
    **request_kwargs: Any,
) -> dict[str, Any]:
    """P10 / P50 / P90 of every output of one sizing.

    Parameters
    ----------
    request : SizingRequest, optional
        From :func:`planner.request.build_request`; else ``request_kwargs`` build one
        (``preset="gtc2024-hopper"``, ``accelerator="h100"``, ``days=90``, ``mfu=0.4``...).
    distributions : mapping, optional
        ``{input: distribution}`` in the sweep file's form, e.g. ``{"pue": {"dist":
        "triangular", "min": 1.1, "mode": 1.2, "max": 1.4}}`` (or :func:`parse_vary` of
        ``"pue=triangular:1.1:1.2:1.4"``). Inputs: those of a sizing sweep.
    n, seed : int
        Draws and seed (same seed, same answer).
    model_error : bool
        Draw the run model's cross-validated error when the MFU comes from it.

    Returns
    -------
    dict
        ``{"n", "seed", "inputs": {name: distribution}, "model_error": {...} or None,
        "outputs": {name: {"p10", "p50", "p90"}}}``; outputs that do not vary are included
        (P10 = P90).
    """
    import pandas as pd

    from planner.request import SizingRequest, build_request
    from planner.sizing import size_training, with_run_model
    from planner.sweeps import closed

    _check_n(n, seed)
    req = request if isinstance(request, SizingRequest) else build_request(**request_kwargs)
    if req.accelerator is None:
        raise InputError("accelerator", "missing", "a catalog chip id (or a preset that has one)")
    dists = check_distributions("sizing", {"accelerator": req.accelerator}, distributions or {})
    strings = [d.name for d in dists if d.is_string]
    if strings:
        raise InputError(
            f"inputs.{strings[0]}",
            strings[0],
            "a numeric input (one answer is for one chip, precision and pricing)",
        )
    draws = {d.name: sample.ppf(d, sample.uniforms(seed, d.name, n)) for d in dists}
    a = (
        req.assumptions.with_(
            "uncertainty draw",
            **{k: v for k, v in draws.items() if k not in closed.bases.SIZING_WORK},
        )
        if draws
        else req.assumptions
    )
    work = {k: v for k, v in draws.items() if k in closed.bases.SIZING_WORK}
    run, gpus, days = closed.with_work(req, work)
    error_info = None
    if model_error and a.mfu_from_run_model:
        from planner.catalog import load_catalog
        from planner.utilisation import cross_validated_band

        chip = load_catalog().get(req.accelerator)
        # the assumptions as they are: re-sourcing goodput here would switch off the failure
        # model's goodput(N) (and its hot spares) and move the whole band
        modelled = with_run_model(a, run, chip, gpus)
        mfu = np.asarray(modelled.mfu, dtype=float)
        band = cross_validated_band()
        cap = float(np.min(1.0 / mfu))
        factor = model_error_factor(n, seed, band, cap=cap)
        a = modelled.with_(
            modelled.sources.get("mfu", "run model") + " x its cross-validated error (drawn)",
            mfu=np.minimum(mfu * factor, 1.0),
        )
        error_info = {
            "applies_to": "mfu",
            "source": "planner.utilisation.cross_validated_band(): leave-one-out error of the run model on data/training_runs.csv",
            "p10": band[0],
            "p90": band[1],
        }
    result = size_training(run, req.accelerator, gpus=gpus, days=days, assumptions=a)
    size = max(n, 1)
    frame = closed.result_frame(result, size, skip=("power_chain", "assumptions"))
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - defensive
        frame = pd.DataFrame(frame)
    return {
        "n": n,
        "seed": seed,
        "inputs": {d.name: d.to_dict() for d in dists},
        "model_error": error_info,
        "outputs": _bands(frame),
    }


def serve_uncertainty(
    request: Any = None,
    *,
    distributions: Mapping[str, Mapping[str, Any]] | None = None,
    n: int = DEFAULT_DRAWS,
    seed: int = 0,
    preset: str | None = None,
    **given: Any,
) -> dict[str, Any]:
    """P10 / P50 / P90 of every output of one service, from the input distributions.

    ``request`` is a :class:`~planner.serving_presets.ServiceRequest`'s inputs as a sweep base
    (``{"preset": ..., "users": ...}``) or None with ``preset`` / ``given``. Scenarios no
    replica can serve are left out of the bands; their share is ``infeasible_share``.
    """
    from planner.sweeps import closed
    from planner.sweeps.spec import SweepSpec

    _check_n(n, seed)
    base = (
        dict(request)
        if isinstance(request, Mapping)
        else {
            **({"preset": preset} if preset else {}),
            **{k: v for k, v in given.items() if v is not None},
        }
    )
    dists = check_distributions("serving", base, distributions or {})
    if any(d.is_string for d in dists):
        name = next(d.name for d in dists if d.is_string)
        raise InputError(
            f"inputs.{name}", name, "a numeric input (one answer is for one chip and model)"
        )
    if not dists:
        closed.bases.serving_request(base)  # validate the base even with nothing to draw
    spec = SweepSpec(kind="serving", base=base, inputs=dists, samples=n, seed=seed)
    import pandas as pd

    frame = (
        pd.DataFrame(
            {d.name: sample.ppf(d, sample.uniforms(seed, d.name, n)) for d in dists}, index=range(n)
        )
        if dists
        else pd.DataFrame(index=range(1))
    )
    out = closed._serving(
        base, {c: frame[c].to_numpy(dtype=float) for c in frame.columns}, {}, len(frame)
    )
    ok = out["status"].astype(str) == "ok"
    return {
        "n": n,
        "seed": seed,
        "inputs": {d.name: d.to_dict() for d in spec.inputs},
        "model_error": None,
        "infeasible_share": float(1.0 - ok.mean()),
        "outputs": _bands(out[ok.to_numpy()], skip=("feasible",)),
    }
