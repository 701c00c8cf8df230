"""The model's own out-of-sample error added to a projection's P10-P90 band.

Sampling the inputs of a scenario (:mod:`planner.projection.montecarlo`) gives a band for
parameter noise only: life, load, network, PUE and shipments within their ranges, the model
itself taken as right. The backtest (:mod:`planner.backtest`) measures how wrong the model
has been out of sample: the predictions of published data-centre totals one to three years
after a cut-off miss by ``ln(predicted / published)`` with P10 and P90 of about -0.6 and
+0.3 (stale anchors, studies that disagree on what a data centre is, growth that changed
regime). That error is the structural uncertainty a user betting on a figure faces.

Rules (fixed before any coverage was measured, never fitted to a study's figures):

1. The error quantiles are the P10 and P90 of the backtest's out-of-sample log errors with
   each figure predicted from its region's latest figure of ANY definition (the rule a
   projection anchors by, and compares with studies of any definition:
   ``planner.backtest.backtest(same_definition=False)``, 46 figures), leaving out the figures of the study the scenario reproduces (``published_study``), so
   that study's figures never set the band they are compared with.
2. The band of a figure ``h`` years after the fleet's last data year (the last shipment
   year of ``data/fleet/shipments.csv``) is ``central x exp(-P90 x k)`` to ``central x
   exp(-P10 x k)``, ``k = sqrt(max(h, H) / H)``, H the backtest's mean horizon
   (:func:`planner.backtest.horizon_scale`): never narrower than measured, wider further out.
3. The P10-P90 band reported is the envelope of the sampled band and this error band, for
   the totals the backtest measures: ``total_twh`` and what is proportional to it
   (``total_gw``, ``total_share``). AI-only quantities keep the sampled band (no published
   AI-only series to measure the error on). P50 is the sampled median, unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Quantities whose band carries the model's out-of-sample error.
ERROR_BANDED: tuple[str, ...] = ("total_twh", "total_gw", "total_share")


def last_data_year() -> int:
    """The fleet's last data year: the last shipment year of ``data/fleet/shipments.csv``."""
    from planner import fleet  # noqa: PLC0415 (fleet imports this package)

    return int(fleet.load_fleet().shipments["year"].max())


def error_band(
    central: Any, years: Any, exclude_study: str = ""
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The out-of-sample error band (low, high) around central values of given years, and the
    error statistics used (:func:`planner.backtest.out_of_sample_errors`)."""
    from planner import backtest  # noqa: PLC0415 (backtest imports the fleet, which imports us)

    err = backtest.out_of_sample_errors(exclude_study)
    c = np.asarray(central, dtype=float)
    h = np.asarray(years, dtype=float) - last_data_year()
    k = backtest.horizon_scale(h, err["mean_horizon_years"])
    return c * np.exp(-err["p90"] * k), c * np.exp(-err["p10"] * k), err


def widen(frame: pd.DataFrame, exclude_study: str = "") -> tuple[pd.DataFrame, str]:
    """``frame`` (one variant's rows with P10/P90 columns) with the bands of
    :data:`ERROR_BANDED` widened to the envelope of the sampled and the error band, and a
    note saying so (with the numbers)."""
    out = frame.copy()
    err: dict[str, Any] = {}
    for key in ERROR_BANDED:
        if f"{key}_p10" not in out:
            continue
        low, high, err = error_band(out[key].to_numpy(float), out["year"], exclude_study)
        out[f"{key}_p10"] = np.fmin(out[f"{key}_p10"].to_numpy(float), low)
        out[f"{key}_p90"] = np.fmax(out[f"{key}_p90"].to_numpy(float), high)
    if not err:
        return out, ""
    left = f", leaving out {exclude_study}'s own figures" if exclude_study else ""
    note = (
        "P10-P90 of total TWh, GW and share: the wider of the sampled inputs' band and the "
        f"model's out-of-sample error (backtest, {err['n']} predictions{left}: "
        f"ln(predicted / published) P10 {err['p10']:+.2f}, P90 {err['p90']:+.2f} at a mean "
        f"{err['mean_horizon_years']:.1f} years ahead, widened as sqrt(years after "
        f"{last_data_year()} / {err['mean_horizon_years']:.1f}) further out)."
    )
    return out, note


def shipped_studies() -> list[Any]:
    """Paths of the shipped scenario files (``data/projections/``) that carry published
    figures: the files whose figures the band coverage counts."""
    from planner._paths import data_dir  # noqa: PLC0415
    from planner.projection_scenarios import load_scenario  # noqa: PLC0415

    out = []
    for path in sorted((data_dir() / "projections").glob("*.toml")):
        sc = load_scenario(path)
        if any(spec.published for spec in sc.variants.values()):
            out.append(path)
    return out


#: Columns of :func:`study_band_coverage`.
COVERAGE_COLUMNS: tuple[str, ...] = (
    "scenario",
    "variant",
    "country",
    "year",
    "quantity",
    "published",
    "model",
    "inputs_p10",
    "inputs_p90",
    "inside_inputs_band",
    "p10",
    "p90",
    "inside_band",
    "label",
)


def study_band_coverage(samples: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """Every published figure of the shipped study files that is not an input, against the
    P10-P90 band of the sampled inputs alone (``inputs_p10``/``inputs_p90``) and the band
    with the model's out-of-sample error (``p10``/``p90``, what ``planner project`` shows).
    Nothing is calibrated (each figure is ``predicted``)."""
    from planner.projection.result import project  # noqa: PLC0415 (result imports this module)

    rows = []
    for path in shipped_studies():
        runs = {
            flag: project(path, samples=samples, seed=seed, error_band=flag)
            for flag in (False, True)
        }
        name = runs[True].scenario
        frames = {
            flag: r.frame.set_index(["variant", "country", "year"]) for flag, r in runs.items()
        }
        for p in runs[True].published:
            if p["used_as_input"] or p["model"] is None:
                continue
            key, q = (p["variant"], p["country"], p["year"]), p["quantity"]
            bands = {
                flag: (float(f.loc[key, f"{q}_p10"]), float(f.loc[key, f"{q}_p90"]))
                for flag, f in frames.items()
            }
            pub = float(p["published"])
            rows.append(
                {
                    "scenario": name,
                    "variant": p["variant"],
                    "country": p["country"],
                    "year": int(p["year"]),
                    "quantity": q,
                    "published": pub,
                    "model": float(p["model"]),
                    "inputs_p10": bands[False][0],
                    "inputs_p90": bands[False][1],
                    "inside_inputs_band": bands[False][0] <= pub <= bands[False][1],
                    "p10": bands[True][0],
                    "p90": bands[True][1],
                    "inside_band": bands[True][0] <= pub <= bands[True][1],
                    "label": p["label"],
                }
            )
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))


def coverage_summary(
    studies: pd.DataFrame | None = None, backtest_coverage: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Counts of :func:`study_band_coverage` and :func:`planner.backtest.band_coverage`:
    published study figures inside the sampled inputs' band and inside the band with the
    model's out-of-sample error, and the backtest's own out-of-sample coverage."""
    from planner import backtest  # noqa: PLC0415

    s = study_band_coverage() if studies is None else studies
    b = backtest.band_coverage() if backtest_coverage is None else backtest_coverage
    err = backtest.out_of_sample_errors()
    return {
        "study_figures": int(len(s)),
        "inside_inputs_band": int(s["inside_inputs_band"].sum()),
        "inside_band": int(s["inside_band"].sum()),
        "backtest_predictions": int(len(b)),
        "backtest_inside_band": int(b["inside"].sum()) if len(b) else 0,
        "log_error_p10": err["p10"],
        "log_error_p90": err["p90"],
        "mean_horizon_years": err["mean_horizon_years"],
        "label": "predicted",
    }
