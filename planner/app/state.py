"""The sidebar inputs: names, preset defaults, the core request they make, the URL round trip.

Pure Python (no Streamlit calls), so the rules are testable without a browser:

* a preset fills every input (:func:`preset_inputs`); ``custom`` keeps what is there;
* the core request carries the preset plus only the inputs the user changed
  (:func:`request_kwargs`), so every value keeps its source (``preset gtc2024-hopper: ...``
  or ``app input``) in the assumptions table;
* the URL holds the preset plus the changed inputs (:func:`inputs_to_query`), and a link
  rebuilds the same inputs (:func:`inputs_from_query`); a bad value in a link is reported
  with the core's message and ignored.

Units are in the input names: ``params_b`` in billions of parameters, ``tokens_t`` in
trillions of tokens, ``flops`` in FLOPs, ``days`` in days, ``grid_mw`` in MW.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from planner import quantities
from planner.app.formatting import input_label
from planner.assumptions import (
    GRID_INTENSITY_RANGE,
    LEGACY_PRICING,
    PRICING_MODES,
    PUE_RANGE,
    facility_profiles,
)
from planner.catalog import PRECISIONS, load_catalog
from planner.errors import InputError, PlannerError
from planner.presets import get_preset, load_presets
from planner.request import CHIP_SPECIFIC
from planner.scenarios import MAX_GRID_MW, MAX_PRICE_USD_PER_GPU, MAX_RENT_USD_PER_GPU_HOUR
from planner.sizing import MAX_DAYS, MAX_GPUS, MIN_DAYS
from planner.validation import check_range
from planner.workloads import MAX_FLOPS, MAX_PARAMS, MAX_TOKENS

CUSTOM = "custom"
DEFAULT_PRESET = "gtc2024-hopper"
PARAMS_PER_B = 1e9
TOKENS_PER_T = 1e12

WORK_MODES = ("params", "flops")  # params x tokens, or total FLOPs
GIVEN_MODES = ("days", "gpus")  # a deadline (answer: GPUs) or a GPU count (answer: days)

#: Money, carbon and measured-power inputs (a preset may set any of them; all are shown).
ECONOMY_KEYS = (
    "pricing",
    "price_usd_per_gpu",
    "rent_usd_per_gpu_hour",
    "electricity_usd_per_mwh",
    "grid_gco2_per_kwh",
    "avg_power_per_gpu_w",
    "network_overhead",
)
#: Inputs that may be empty: the catalog's value (prices, measured draw), a dense model, or the
#: design-day PUE derived from the annual PUE.
OPTIONAL_KEYS = (
    "active_params_b",
    "design_pue",
    "price_usd_per_gpu",
    "rent_usd_per_gpu_hour",
    "avg_power_per_gpu_w",
    "grid_mw",
    "service_life_years",
)
#: Inputs of a sizing, in sidebar order. ``facility`` is a shortcut that sets ``pue`` (annual:
#: energy) and ``design_pue`` (design-day: the grid peak; empty = derived from ``pue``).
SIZING_KEYS = (
    "preset",
    "work",
    "params_b",
    "active_params_b",
    "tokens_t",
    "flops",
    "chip",
    "precision",
    "mfu_model",
    "mfu",
    "goodput",
    "pue",
    "design_pue",
    "given",
    "days",
    "gpus",
    *ECONOMY_KEYS,
)
#: Every session-state key the sidebar owns. ``grid_mw`` (the grid verdict) is read by the page;
#: ``service_life_years`` (the amortised economics) goes to the core when it is set.
INPUT_KEYS = (*SIZING_KEYS, "facility", "grid_mw", "service_life_years")

#: Smallest MFU and goodput the percent sliders offer, % (the core accepts down to
#: ``assumptions.MIN_FRACTION``; below 0.1% a run takes longer than ``MAX_DAYS`` anyway).
MIN_PERCENT = 0.1
#: ``(low, high)`` of every numeric input: the core's own limits (sizing.MIN_DAYS/MAX_DAYS/
#: MAX_GPUS, workloads.MAX_*, scenarios.MAX_*, assumptions ranges) in the inputs' units.
#: Widgets are bounded by them and a link or scenario file outside them is refused.
LIMITS: dict[str, tuple[float, float]] = {
    "params_b": (1e-9, MAX_PARAMS / 1e9),
    "active_params_b": (1e-9, MAX_PARAMS / 1e9),
    "tokens_t": (1e-12, MAX_TOKENS / 1e12),
    "flops": (1.0, MAX_FLOPS),
    "mfu": (MIN_PERCENT / 100, 1.0),
    "goodput": (MIN_PERCENT / 100, 1.0),
    "pue": PUE_RANGE,
    "design_pue": PUE_RANGE,
    "days": (MIN_DAYS, MAX_DAYS),
    "gpus": (1.0, MAX_GPUS),
    "grid_mw": (1e-6, MAX_GRID_MW),
    "price_usd_per_gpu": (0.0, MAX_PRICE_USD_PER_GPU),
    "rent_usd_per_gpu_hour": (0.0, MAX_RENT_USD_PER_GPU_HOUR),
    "electricity_usd_per_mwh": (0.0, 10_000.0),
    "grid_gco2_per_kwh": GRID_INTENSITY_RANGE,
    "avg_power_per_gpu_w": (1.0, 20_000.0),
    "network_overhead": (0.0, 1.0),
    "service_life_years": (0.25, 30.0),
}
#: Plain-English names of the inputs (messages, the "changed from the preset" list).
LABELS = {
    "preset": "preset",
    "work": "work given as",
    "params_b": "parameters (billions)",
    "active_params_b": "active parameters (billions)",
    "tokens_t": "tokens (trillions)",
    "flops": input_label("flops"),
    "chip": "accelerator",
    "precision": "precision",
    "mfu_model": "MFU from the run model",
    "mfu": "MFU",
    "goodput": "goodput",
    "pue": input_label("pue"),
    "design_pue": input_label("design_pue"),
    "given": "sized for",
    "days": input_label("deadline_days"),
    "gpus": input_label("gpus"),
    "grid_mw": input_label("grid_mw"),
    "pricing": "pricing",
    "price_usd_per_gpu": input_label("price_usd_per_gpu"),
    "rent_usd_per_gpu_hour": "rent (USD per GPU-hour)",
    "electricity_usd_per_mwh": "electricity (USD/MWh)",
    "grid_gco2_per_kwh": "grid intensity (gCO2/kWh)",
    "avg_power_per_gpu_w": "measured draw (W per GPU)",
    "network_overhead": "network and storage overhead",
    "service_life_years": "service life (years)",
}

_FLOAT_KEYS = tuple(k for k in LIMITS if k != "gpus")
_WORK_KEYS = {"params": ("params_b", "active_params_b", "tokens_t"), "flops": ("flops",)}
_FLOAT_FORMAT = "{:.6g}"
_REQUIRED = {
    "params_b": "a number of parameters in billions > 0",
    "tokens_t": "a number of tokens in trillions > 0",
    "flops": f"a number of {quantities.label('flops', short=True)} > 0",
    "pue": f"a {quantities.label('pue', short=True)} in [1, 3]",
    "days": f"a {quantities.label('deadline_days', short=True)} in "
    f"{quantities.quantity('deadline_days').unit} > 0",
    "gpus": f"a number of {quantities.label('gpus')} > 0",
    "mfu": f"an {quantities.label('mfu', short=True)} in (0, 100] %",
    "goodput": f"a {quantities.label('goodput', short=True)} in (0, 100] %",
    "electricity_usd_per_mwh": "an electricity price in USD/MWh >= 0",
    "grid_gco2_per_kwh": "a grid intensity in gCO2/kWh >= 0",
    "network_overhead": "a network overhead fraction in [0, 1]",
}


def preset_names() -> list[str]:
    """Preset names of ``data/presets.toml``, then ``custom``."""
    return [*load_presets(), CUSTOM]


def chip_ids() -> list[str]:
    return load_catalog().ids


def facility_names() -> list[str]:
    """Facility profiles of ``data/facility.csv``, then ``custom`` (type the PUE)."""
    return [*facility_profiles().index, CUSTOM]


def facility_for_pue(pue: float | None, design_pue: float | None = None) -> str:
    """The facility profile with this annual PUE (and this design-day PUE, when given; empty
    = derived, which is each shipped profile's), or ``custom``."""
    if pue is None:
        return CUSTOM
    for name, row in facility_profiles().iterrows():
        if math.isclose(float(row["pue"]), float(pue), rel_tol=1e-9) and (
            design_pue is None
            or math.isclose(float(row["design_pue"]), float(design_pue), rel_tol=1e-9)
        ):
            return str(name)
    return CUSTOM


def facility_pues(profile: str) -> dict[str, float]:
    """``{"pue": annual, "design_pue": design-day}`` of a ``data/facility.csv`` profile."""
    row = facility_profiles().loc[profile]
    return {"pue": float(row["pue"]), "design_pue": float(row["design_pue"])}


def preset_inputs(name: str) -> dict[str, Any]:
    """Every sizing input as the preset ``name`` sets it (``gpus`` or ``days`` per preset).

    Values the preset leaves open (``days`` of a GPU-count preset...) are absent; the caller
    keeps whatever it had.
    """
    return dict(_preset_inputs(name))


@lru_cache(maxsize=64)
def _preset_inputs(name: str) -> dict[str, Any]:
    p = get_preset(name)
    a = p.sizing_assumptions()
    inputs: dict[str, Any] = {
        "preset": name,
        "chip": p.accelerator,
        "precision": a.precision,
        # a preset states its MFU; without one the run model (planner.utilisation) gives it
        "mfu_model": bool(a.mfu_from_run_model),
        "mfu": float(a.mfu),
        "goodput": float(a.goodput),
        "pue": float(a.pue),
        "design_pue": _optional(a.design_pue),
        "facility": facility_for_pue(float(a.pue), _optional(a.design_pue)),
        "pricing": a.pricing,
        "price_usd_per_gpu": _optional(a.price_usd_per_gpu),
        "rent_usd_per_gpu_hour": _optional(a.rent_usd_per_gpu_hour),
        "electricity_usd_per_mwh": float(a.electricity_usd_per_mwh),
        "grid_gco2_per_kwh": float(a.grid_gco2_per_kwh),
        "avg_power_per_gpu_w": _optional(a.avg_power_per_gpu_w),
        "network_overhead": float(a.network_overhead),
    }
    if p.flops is not None:
        inputs.update(work="flops", flops=float(p.flops))
    else:
        total = p.params if p.params is not None else p.active_params
        active = p.active_params or p.params
        # Preset validation: without flops, tokens and params or active_params are given
        assert total is not None and active is not None and p.tokens is not None
        inputs.update(
            work="params",
            params_b=float(total) / PARAMS_PER_B,
            active_params_b=None
            if p.active_params is None
            else float(p.active_params) / PARAMS_PER_B,
            tokens_t=float(p.tokens) / TOKENS_PER_T,
            flops=6.0 * float(active) * float(p.tokens),
        )
    if p.gpus is not None:
        inputs.update(given="gpus", gpus=int(p.gpus))
    else:
        assert p.days is not None  # Preset validation: exactly one of gpus or days
        inputs.update(given="days", days=float(p.days))
    return inputs


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def preset_hidden(name: str) -> list[tuple[str, Any]]:
    """``(input, value)`` of what the preset sets beyond the work, chip, days or GPUs.

    The values a user might not expect (a measured draw, rental pricing, no network overhead)
    that the sidebar shows as inputs, listed so that switching presets changes nothing unseen.
    """
    if name == CUSTOM:
        return []
    p = get_preset(name)
    return [(k, v) for k, v in p.assumptions.items() if k in ECONOMY_KEYS]


def normalise(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs with a preset's chip-specific values cleared once another chip is chosen.

    The core drops a preset's measured draw and prices on another chip
    (:data:`planner.request.CHIP_SPECIFIC`); clearing them here keeps the sidebar showing the
    values actually used (empty: the catalog's).
    """
    name = inputs.get("preset", CUSTOM)
    if name == CUSTOM or name not in load_presets():
        return inputs
    base = preset_inputs(name)
    if inputs.get("chip") != base["chip"]:
        for key in CHIP_SPECIFIC:
            if base.get(key) is not None and _same(inputs.get(key), base.get(key)):
                inputs[key] = None
    return inputs


def default_inputs() -> dict[str, Any]:
    """The app's opening state: the GTC 2024 Hopper preset, no grid limit."""
    inputs: dict[str, Any] = {
        "params_b": 1.0,
        "active_params_b": None,
        "tokens_t": 1.0,
        "flops": 1e24,
        "days": 90.0,
        "gpus": 1024,
        "grid_mw": None,
        "service_life_years": None,
    }
    inputs.update(preset_inputs(DEFAULT_PRESET))
    return inputs


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a == b


def relevant_keys(inputs: Mapping[str, Any]) -> list[str]:
    """The sizing inputs that matter for the current work and given modes."""
    work = inputs.get("work", "params")
    given = inputs.get("given", "days")
    return [
        "work",
        *_WORK_KEYS.get(work, ()),
        "chip",
        "precision",
        "mfu_model",
        *(() if inputs.get("mfu_model") else ("mfu",)),
        "goodput",
        "pue",
        "design_pue",
        "given",
        given,
        *ECONOMY_KEYS,
    ]


def changed_from_preset(inputs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(input, preset value, current value)`` for each relevant input the user changed.

    Empty for ``custom`` (there is nothing to differ from).
    """
    name = inputs.get("preset", CUSTOM)
    if name == CUSTOM:
        return []
    base = preset_inputs(name)
    changed = []
    for key in relevant_keys(inputs):
        if key not in base or not _same(base[key], inputs.get(key)):
            changed.append((key, base.get(key), inputs.get(key)))
    return changed


def request_kwargs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`planner.request.build_request` for these inputs.

    With a preset, only the inputs that differ from it are passed (so the preset's other
    assumptions and their sources stay); with ``custom``, every input is.
    """
    for key in relevant_keys(inputs):
        if key not in OPTIONAL_KEYS and inputs.get(key) is None:
            raise InputError(LABELS.get(key, key), "empty", _REQUIRED.get(key, "a value"))
    name = inputs.get("preset", CUSTOM)
    if name != CUSTOM and _cleared_preset_value(inputs):
        # An emptied price or draw cannot be passed on top of the preset (None = not given):
        # size it as a custom run so the catalog's value really applies.
        name = CUSTOM
    changed = {k for k, _, _ in changed_from_preset(inputs)} if name != CUSTOM else set(SIZING_KEYS)
    kwargs: dict[str, Any] = {"preset": None if name == CUSTOM else name}
    if changed & {"work", *_WORK_KEYS["params"], *_WORK_KEYS["flops"]}:
        if inputs.get("work") == "flops":
            kwargs["flops"] = inputs.get("flops")
        else:
            kwargs["params"] = _scaled(inputs.get("params_b"), PARAMS_PER_B)
            kwargs["active_params"] = _scaled(inputs.get("active_params_b"), PARAMS_PER_B)
            kwargs["tokens"] = _scaled(inputs.get("tokens_t"), TOKENS_PER_T)
    if inputs.get("mfu_model"):
        if name == CUSTOM or "mfu_model" in changed:
            kwargs["mfu_from_run_model"] = True  # the MFU slider is not used
    elif changed & {"mfu", "mfu_model"}:
        kwargs["mfu"] = inputs.get("mfu")
    for key, arg in (
        ("chip", "accelerator"),
        ("precision", "precision"),
        ("goodput", "goodput"),
        ("pue", "pue"),
        *((k, k) for k in ECONOMY_KEYS),
    ):
        if key in changed:
            kwargs[arg] = inputs.get(key)
    if changed & {"pue", "design_pue"}:
        # the two PUEs go together: a new annual PUE with an empty design-day PUE derives it
        kwargs["pue"] = inputs.get("pue")
        kwargs["design_pue"] = inputs.get("design_pue")
    if changed & {"given", "days", "gpus"}:
        given = inputs.get("given", "days")
        kwargs[given] = inputs.get(given)
    if inputs.get("service_life_years") is not None:
        kwargs["service_life_years"] = float(inputs["service_life_years"])
    return kwargs


def _cleared_preset_value(inputs: Mapping[str, Any]) -> bool:
    base = preset_inputs(str(inputs.get("preset")))
    chip_changed = inputs.get("chip") != base["chip"]
    for key in ECONOMY_KEYS:
        if base.get(key) is not None and inputs.get(key) is None:
            if not (chip_changed and key in CHIP_SPECIFIC):  # the core drops those itself
                return True
    return False


def _scaled(value: Any, factor: float) -> float | None:
    return None if value is None else float(value) * factor


def inputs_to_query(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The URL query of these inputs: the preset plus what differs from it (all for custom)."""
    name = inputs.get("preset", CUSTOM)
    query = {"preset": str(name)}
    keys = (
        [k for k, _, _ in changed_from_preset(inputs)] if name != CUSTOM else relevant_keys(inputs)
    )
    for key in keys:
        value = inputs.get(key)
        if value is not None:
            query[key] = _show(value)
        elif key in OPTIONAL_KEYS:
            query[key] = ""  # emptied: the catalog's value
    for key in ("grid_mw", "service_life_years"):
        if inputs.get(key) is not None:
            query[key] = _show(inputs[key])
    return query


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _FLOAT_FORMAT.format(value)
    return str(value)


def inputs_from_query(query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Inputs rebuilt from a URL query, and the messages of the values that were ignored.

    Starts from :func:`default_inputs`, applies the query's preset, then each given input.
    A value the widgets cannot hold (an unknown chip, MFU 2, "abc") is skipped and reported
    with the core's :class:`~planner.errors.InputError` message; values the widgets can hold
    but the core rejects (PUE 0.5) are kept, so the page shows the core's error for them.
    """
    inputs = default_inputs()
    errors: list[str] = []
    name = query.get("preset")
    if name is not None:
        try:
            if name != CUSTOM:
                inputs.update(preset_inputs(name))
            inputs["preset"] = name
        except PlannerError as err:
            errors.append(f"link: {err}")
    for key in INPUT_KEYS:
        if key in ("preset", "facility") or key not in query:
            continue
        try:
            inputs[key] = _parse(key, query[key])
        except PlannerError as err:
            errors.append(f"link: {err}")
    if "chip" in query:
        normalise(inputs)
    inputs["facility"] = facility_for_pue(inputs.get("pue"), inputs.get("design_pue"))
    return inputs, errors


def parse_number(
    field: str, raw: Any, low: float | None = None, high: float | None = None
) -> float:
    """A number as planners type it: ``2.15e25``, ``1800``, ``1,800``, ``1 800``, ``4_096``.

    Raises
    ------
    InputError
        Naming ``field``: not a number (``1.8T``, ``abc``), not finite, or outside
        ``[low, high]``.
    """
    if isinstance(raw, bool):
        raise InputError(field, raw, "a number")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = str(raw).strip().replace(",", "").replace("_", "").replace(" ", "")
        try:
            value = float(text)
        except ValueError:
            raise InputError(
                field, str(raw), "a number such as 1800 or 2.15e25 (no unit letters)"
            ) from None
    if not math.isfinite(value):
        raise InputError(field, str(raw), "a finite number")
    if low is not None and high is not None:
        check_range(field, value, low, high)
    return value


def _parse(key: str, raw: str) -> Any:
    if key == "work":
        return _choice(key, raw, WORK_MODES)
    if key == "given":
        return _choice(key, raw, GIVEN_MODES)
    if key == "precision":
        return _choice(key, raw, PRECISIONS)
    if key == "pricing":
        # older links and files say auto (now amortized) or buy (capex)
        return _choice(key, LEGACY_PRICING.get(raw.strip().lower(), raw), PRICING_MODES)
    if key == "mfu_model":
        return _choice(key, raw, ("true", "false")) == "true"
    if key in OPTIONAL_KEYS and raw.strip() == "":
        return None
    if key == "chip":
        return load_catalog().get(raw, field="chip").id
    if key == "gpus":
        value = parse_number(key, raw, *LIMITS[key])
        if value != int(value):
            raise InputError(key, value, "a whole number of GPUs")
        return int(value)
    if key in _FLOAT_KEYS:
        # the widgets hold the core's ranges only: a value outside is refused here
        return parse_number(key, raw, *LIMITS[key])
    raise InputError("link", key, "one of: " + ", ".join(INPUT_KEYS))


def _choice(key: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise InputError(key, raw, "one of: " + ", ".join(allowed))
    return value


# --- the Serve a model page ------------------------------------------------------------------
#
# Its inputs live under their own names (``srv_*``: session-state keys, URL keys and scenario
# file keys alike). Numbers are kept as the text the user typed and parsed by
# :func:`parse_number` when the request is built, so ``1e8`` and ``100,000,000`` both work and
# ``1e8 users`` is refused with a message; the core checks the ranges.

SERVE_DEFAULT_PRESET = "llama70b-h100-example"
#: The choice of the model picker that takes a parameter count instead of a published model.
SERVE_BY_PARAMS = "by parameter count"
#: Pricing modes of the serve page: the core's (PRICING_MODES); links with the former names
#: (auto, buy) still load and are mapped by LEGACY_PRICING.
SERVE_PRICING = PRICING_MODES
#: ``input key -> (core keyword, label, scale)`` of every numeric serve input, in sidebar
#: order. The core value is the parsed text x scale (billions of parameters, milliseconds).
SERVE_NUMBERS: dict[str, tuple[str, str, float]] = {
    "srv_params_b": ("params", f"{quantities.quantity('params').unit} (billions)", PARAMS_PER_B),
    "srv_active_params_b": (
        "active_params",
        f"{quantities.label('active_params', unit=False).lower()} (billions)",
        PARAMS_PER_B,
    ),
    "srv_users": ("users", input_label("users"), 1.0),
    "srv_queries_per_user_day": ("queries_per_user_day", "queries per user per day", 1.0),
    "srv_input_tokens": ("input_tokens", "input tokens per query", 1.0),
    "srv_output_tokens": ("output_tokens", "output tokens per query", 1.0),
    "srv_reasoning_multiplier": ("reasoning_multiplier", input_label("reasoning_multiplier"), 1.0),
    "srv_peak_to_average": ("peak_to_average", "peak-to-average demand", 1.0),
    "srv_ttft_target_s": ("ttft_target_s", "time to first token target (s)", 1.0),
    "srv_tpot_target_ms": ("tpot_target_s", "time per output token target (ms)", 1e-3),
    "srv_pue": ("pue", "PUE", 1.0),
    "srv_price_usd_per_gpu": ("price_usd_per_gpu", input_label("price_usd_per_gpu"), 1.0),
    "srv_rent_usd_per_gpu_hour": ("rent_usd_per_gpu_hour", "rent (USD per GPU-hour)", 1.0),
    "srv_electricity_usd_per_mwh": (
        "electricity_usd_per_mwh",
        "electricity (USD/MWh)",
        1.0,
    ),
    "srv_grid_gco2_per_kwh": ("grid_gco2_per_kwh", "grid intensity (gCO2/kWh)", 1.0),
    "srv_service_life_years": ("service_life_years", "service life (years)", 1.0),
}
#: ``input key -> (core keyword, label)`` of the serve pickers.
SERVE_CHOICES: dict[str, tuple[str, str]] = {
    "srv_chip": ("accelerator", "accelerator"),
    "srv_model": ("model", "model"),
    "srv_precision": ("precision", "precision"),
    "srv_pricing": ("pricing", "pricing"),
}
#: Serve inputs that may be empty: a dense model, the catalog's prices, no grid limit.
SERVE_OPTIONAL = (
    "srv_active_params_b",
    "srv_price_usd_per_gpu",
    "srv_rent_usd_per_gpu_hour",
    "srv_grid_mw",
)
SERVE_GRID = "srv_grid_mw"
#: Every session-state key of the serve inputs.
SERVE_KEYS = ("srv_preset", *SERVE_CHOICES, *SERVE_NUMBERS, SERVE_GRID)
#: Longest text a serve number may hold (a link or file with more is refused).
SERVE_TEXT_MAX = 40
_MODEL_GROUP = ("srv_model", "srv_params_b", "srv_active_params_b")


def serve_preset_names() -> list[str]:
    """Serving presets of ``data/serving_presets.toml``, then ``custom``."""
    from planner.serving_presets import load_serving_presets

    return [*load_serving_presets(), CUSTOM]


def serve_model_names() -> list[str]:
    """Published architectures of ``data/models.csv``, then :data:`SERVE_BY_PARAMS`."""
    from planner.serving import load_models

    return [*load_models(), SERVE_BY_PARAMS]


def _text_of(value: Any, scale: float = 1.0) -> str:
    if value is None:
        return ""
    text = _FLOAT_FORMAT.format(float(value) / scale)
    return text.replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def serve_preset_inputs(name: str) -> dict[str, Any]:
    """Every serve input as the serving preset ``name`` sets it (the defaults elsewhere)."""
    return dict(_serve_preset_inputs(name))


@lru_cache(maxsize=32)
def _serve_preset_inputs(name: str) -> dict[str, Any]:
    from planner.serving_presets import build_service_request

    request = build_service_request(name)
    a = request.assumptions
    inputs: dict[str, Any] = {
        "srv_preset": name,
        "srv_chip": request.accelerator,
        "srv_model": request.model if request.model is not None else SERVE_BY_PARAMS,
        "srv_precision": a.sizing.precision,
        "srv_pricing": a.sizing.pricing,
        SERVE_GRID: "",
    }
    demand = request.demand
    values = {
        "params": request.params,
        "active_params": request.active_params,
        "users": demand.users,
        "queries_per_user_day": demand.queries_per_user_day,
        "input_tokens": demand.input_tokens,
        "output_tokens": demand.output_tokens,
    }
    for key, (arg, _, scale) in SERVE_NUMBERS.items():
        if arg in values:
            value = values[arg]
        elif hasattr(a, arg):
            value = getattr(a, arg)
        else:
            value = getattr(a.sizing, arg)
        inputs[key] = _text_of(value, scale)
    return inputs


def serve_default_inputs() -> dict[str, Any]:
    """The Serve page's opening state: the Llama 3.1 70B-on-H100 worked example, no grid limit."""
    return serve_preset_inputs(SERVE_DEFAULT_PRESET)


def _serve_same(a: Any, b: Any) -> bool:
    """Same text, or the same number written two ways (``1e8`` and ``100,000,000``)."""
    x, y = str(a if a is not None else "").strip(), str(b if b is not None else "").strip()
    if x == y:
        return True
    try:
        return math.isclose(parse_number("", x), parse_number("", y), rel_tol=1e-9)
    except PlannerError:
        return False


def serve_changed(inputs: Mapping[str, Any]) -> list[str]:
    """The serve inputs (grid limit aside) that differ from the chosen preset; all for custom."""
    name = inputs.get("srv_preset", CUSTOM)
    keys = [k for k in SERVE_KEYS if k not in ("srv_preset", SERVE_GRID)]
    if name == CUSTOM:
        return keys
    base = serve_preset_inputs(str(name))
    return [k for k in keys if not _serve_same(base.get(k), inputs.get(k))]


def serve_number(key: str, raw: Any) -> float | None:
    """One serve number in the core's unit (None: empty and optional).

    Raises
    ------
    InputError
        Naming the input's label: empty when required, or not a number.
    """
    label = SERVE_NUMBERS[key][1] if key in SERVE_NUMBERS else input_label("grid_mw")
    scale = SERVE_NUMBERS[key][2] if key in SERVE_NUMBERS else 1.0
    if raw is None or str(raw).strip() == "":
        if key in SERVE_OPTIONAL:
            return None
        raise InputError(label, "empty", "a number")
    return parse_number(label, raw) * scale


def serve_request_kwargs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`planner.serving_presets.build_service_request`.

    The preset plus only the inputs that differ from it (so the preset's values keep their
    sources); every input for ``custom``. A new model, parameter count or active parameter
    count passes the whole model (the core then drops the preset's).

    Raises
    ------
    InputError
        For an empty or malformed number, named by its label.
    """
    name = str(inputs.get("srv_preset") or CUSTOM)
    changed = set(serve_changed(inputs))
    kwargs: dict[str, Any] = {"preset": None if name == CUSTOM else name}
    if changed & set(_MODEL_GROUP):
        changed |= set(_MODEL_GROUP)
        if inputs.get("srv_model") != SERVE_BY_PARAMS:
            changed -= {"srv_params_b", "srv_active_params_b"}
        else:
            changed.discard("srv_model")
    for key in sorted(changed, key=SERVE_KEYS.index):
        if key in SERVE_CHOICES:
            kwargs[SERVE_CHOICES[key][0]] = inputs.get(key)
        else:
            kwargs[SERVE_NUMBERS[key][0]] = serve_number(key, inputs.get(key))
    if kwargs.get("model") == SERVE_BY_PARAMS:
        kwargs.pop("model")
    return kwargs


def serve_grid_mw(inputs: Mapping[str, Any]) -> float | None:
    """The page's grid limit, MW (None: no limit), in the range the core accepts."""
    raw = inputs.get(SERVE_GRID)
    value = serve_number(SERVE_GRID, raw)
    if value is not None:
        check_range(input_label("grid_mw"), value, *LIMITS["grid_mw"])
    return value


def serve_to_query(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The URL pairs of the serve inputs: the preset plus what differs from it (nothing when
    the page is as it opens)."""
    if not inputs or all(inputs.get(k) is None for k in SERVE_KEYS):
        return {}
    query: dict[str, str] = {}
    name = str(inputs.get("srv_preset") or CUSTOM)
    for key in serve_changed(inputs):
        query[key] = str(inputs.get(key) if inputs.get(key) is not None else "").strip()
    grid = str(inputs.get(SERVE_GRID) or "").strip()
    if grid:
        query[SERVE_GRID] = grid
    if query or name != SERVE_DEFAULT_PRESET:
        query = {"srv_preset": name, **query}
    return query


def serve_from_query(query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Serve inputs rebuilt from URL pairs (or a scenario file's ``[serve]`` table), and the
    messages of the values that were ignored (an unknown preset, chip or model; text too
    long to be a number). Numbers that do not parse are kept: the page says why."""
    inputs = serve_default_inputs()
    errors: list[str] = []
    if not any(k in query for k in SERVE_KEYS):
        return inputs, errors
    name = query.get("srv_preset")
    if name is not None:
        name = str(name).strip()
        if name in serve_preset_names():
            if name != CUSTOM:
                inputs.update(serve_preset_inputs(name))
            inputs["srv_preset"] = name
        else:
            errors.append(
                str(InputError("srv_preset", name, "one of: " + ", ".join(serve_preset_names())))
            )
    allowed = {
        "srv_chip": chip_ids(),
        "srv_model": serve_model_names(),
        "srv_precision": list(PRECISIONS),
        "srv_pricing": [*SERVE_PRICING, *LEGACY_PRICING],
    }
    for key in SERVE_KEYS:
        if key == "srv_preset" or key not in query:
            continue
        raw = str(query[key]).strip()
        if key in allowed:
            if raw in allowed[key]:
                inputs[key] = LEGACY_PRICING.get(raw, raw) if key == "srv_pricing" else raw
            else:
                errors.append(str(InputError(key, raw, "one of: " + ", ".join(allowed[key]))))
        elif len(raw) > SERVE_TEXT_MAX:
            errors.append(str(InputError(key, raw[:20] + "...", "a number")))
        else:
            inputs[key] = raw
    return inputs, errors
