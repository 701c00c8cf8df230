"""``--uncertainty`` of ``planner size`` and ``planner serve``: the P10 / P50 / P90 band.

The numbers come from :mod:`planner.sweeps.uncertainty` (the input distributions drawn, and for
a sizing whose MFU comes from the run model, that model's cross-validated error); this module
reads ``--vary``, renames the core's error fields to the options the user typed, and prints the
band with the vocabulary's labels and formats. Imported only when a band is asked for.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from planner import quantities
from planner.cli._app import get_console, shown_value
from planner.errors import InputError

#: The outputs the text band shows, in order (``--json`` carries every output).
SIZE_BY_DEADLINE = ("gpus", "facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2")
SIZE_BY_GPUS = ("days", "facility_power_mw", "energy_mwh", "cost_usd", "emissions_tco2")
SERVE = ("gpus", "systems", "facility_power_mw", "wh_per_query", "usd_per_million_tokens")
_PERCENTILES = ("p10", "p50", "p90")


def distributions(vary: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--vary NAME=DIST:ARGS`` (repeatable) as ``{name: distribution}``."""
    from planner.sweeps.spec import parse_vary

    out: dict[str, dict[str, Any]] = {}
    for text in vary or []:
        name, body = parse_vary(text)
        if name in out:
            raise InputError("--vary", text, f"each input once ({name} is already drawn)")
        out[name] = body
    return out


def _as_option(exc: InputError) -> InputError:
    """The core's field names (``n``, ``seed``, ``inputs.mfu.min``) as the options typed."""
    field = exc.field
    if field == "n":
        field = "--draws"
    elif field == "seed":
        field = "--seed"
    elif field.startswith("inputs."):
        field = "--vary " + field.removeprefix("inputs.")
    else:
        return exc
    return InputError(field, exc.value, exc.allowed, detail=exc.detail)


def _counts(draws: int | None, seed: int | None) -> dict[str, int]:
    """Only what was given: the core's defaults stand otherwise."""
    return {
        **({} if draws is None else {"n": draws}),
        **({} if seed is None else {"seed": seed}),
    }


def size_band(
    request: Any, vary: list[str] | None, draws: int | None, seed: int | None
) -> dict[str, Any]:
    """:func:`planner.sweeps.uncertainty.size_uncertainty` of a built sizing request."""
    from planner.sweeps.uncertainty import DEFAULT_DRAWS, size_uncertainty

    try:
        return size_uncertainty(
            request,
            distributions=distributions(vary),
            n=DEFAULT_DRAWS if draws is None else draws,
            seed=0 if seed is None else seed,
        )
    except InputError as exc:
        raise _as_option(exc) from None


def serve_band(
    preset: str | None,
    given: dict[str, Any],
    vary: list[str] | None,
    draws: int | None,
    seed: int | None,
) -> dict[str, Any]:
    """:func:`planner.sweeps.uncertainty.serve_uncertainty` of the service's inputs."""
    from planner.sweeps.uncertainty import serve_uncertainty

    try:
        return serve_uncertainty(
            preset=preset, distributions=distributions(vary), **_counts(draws, seed), **given
        )
    except InputError as exc:
        raise _as_option(exc) from None


def size_rows(band: dict[str, Any], request: Any) -> tuple[str, ...]:
    """Days when the GPUs are given (or drawn), else the GPUs."""
    drawn = band["inputs"]
    by_gpus = "gpus" in drawn or ("days" not in drawn and request.gpus is not None)
    return SIZE_BY_GPUS if by_gpus else SIZE_BY_DEADLINE


def json_band(band: dict[str, Any]) -> dict[str, Any]:
    """The ``uncertainty`` key of ``--json``: every output's P10 / P50 / P90."""
    out: dict[str, Any] = {
        "draws": band["n"],
        "seed": band["seed"],
        "inputs": [{"name": name, **body} for name, body in band["inputs"].items()],
        "model_error": band["model_error"] is not None,
        "model_error_band": band["model_error"],
        "outputs": {
            name: {p: quantities.json_value(name, value[p]) for p in _PERCENTILES}
            for name, value in band["outputs"].items()
        },
    }
    if "infeasible_share" in band:
        out["infeasible_share"] = band["infeasible_share"]
    return out


def _drawn(name: str, body: dict[str, Any]) -> str:
    params = {k: v for k, v in body.items() if k != "dist"}
    if body.get("dist") == "choice":
        shown = ", ".join(shown_value(name, v) for v in params.get("values", []))
    else:
        shown = ", ".join(f"{k} {shown_value(name, v)}" for k, v in params.items())
    return f"{name} {body.get('dist')}({shown})"


def band_line(band: dict[str, Any], kind: str) -> str:
    """What the band includes: the draws, the inputs drawn, the model error and its source."""
    inputs = band["inputs"]
    drawn = "; ".join(_drawn(n, b) for n, b in inputs.items()) or "nothing (--vary NAME=DIST:ARGS)"
    parts = [
        f"Band: {quantities.format_value('draws', band['n'], unit=True)}, seed {band['seed']}",
        f"drawn: {drawn}",
    ]
    error = band["model_error"]
    if error is not None:
        parts.append(
            f"{error['applies_to']} x the run model's cross-validated error "
            f"({quantities.format_value('run_model_error', error['p10'])} to "
            f"{quantities.format_value('run_model_error', error['p90'])}, P10 to P90; "
            f"source: {error['source']})"
        )
    elif kind == "sizing" and "mfu" in inputs:
        parts.append("no run-model error (the MFU is drawn instead)")
    elif kind == "sizing":
        parts.append(
            "no run-model error (the MFU is given, not from the run model: "
            "draw it with --vary mfu=DIST:ARGS)"
        )
    else:
        parts.append(
            "no model error (the serving roofline has no fitted coefficients); "
            "the band is of the Answer (the ideal bound), not of a production estimate"
        )
    if not inputs and error is None:
        parts.append("so P10 = P50 = P90")
    share = band.get("infeasible_share") or 0.0
    if share > 0:
        parts.append(
            f"{quantities.format_value('infeasible_share', share)} of the draws have no "
            "replica meeting the latency targets and are left out"
        )
    return "; ".join(parts) + "."


def print_band(band: dict[str, Any], names: tuple[str, ...], kind: str) -> None:
    """The table "Uncertainty (P10 / P50 / P90)" of ``names`` and the line saying what it holds."""
    console = get_console()
    t = Table(title="Uncertainty (P10 / P50 / P90)")
    t.add_column("quantity")
    for p in _PERCENTILES:
        t.add_column(p.upper(), justify="right")
    for name in names:
        value = band["outputs"].get(name)
        if value is None:
            continue
        t.add_row(
            quantities.label(name), *(quantities.format_value(name, value[p]) for p in _PERCENTILES)
        )
    console.print(t)
    console.print(band_line(band, kind), markup=False)
