"""Page "Serve a model": GPUs, megawatts, Wh per query and USD per million tokens of a service.

The inputs (a serving preset of ``data/serving_presets.toml``, the chip, the model or its
parameter count, the demand, the latency targets, the grid, PUE and pricing) are in this
page's sidebar, kept as the text typed (``1e8``, ``100,000,000``) and parsed by
:func:`planner.app.state.serve_request_kwargs`. Every number on the page comes from the core
through :mod:`planner.app.compute` (:func:`planner.serving.serve`, ``compare_serving``,
``serving_grid_fit``, ``validate_serving``); the page computes nothing. A
:class:`~planner.errors.PlannerError` is shown where it happens with ``st.error`` (or
``st.info`` for a chart that cannot be drawn), and the rest of the page stays.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from planner import quantities
from planner.app import charts, compute, layout, share, sidebar, state
from planner.app import formatting as fmt
from planner.assumptions import LEGACY_PRICING, PRICING_MODES
from planner.catalog import PRECISIONS, load_catalog
from planner.errors import PlannerError
from planner.serving import load_models

_KEEP = "_keep_"
_PRICING_LABELS = {
    "amortized": "amortized (hardware over its service life + electricity)",
    "rent": "rent (cloud GPU-hours, power included)",
    "capex": "capex (the whole cluster purchase + electricity)",
}
#: The pricing choices: the core's modes (a former name, auto or buy, is shown as its new one).
_PRICINGS = tuple(PRICING_MODES)
#: Plain names of the parts of the energy per query (keys of ``energy_breakdown``).
BREAKDOWN_LABELS = {
    "accelerators": "Accelerators while serving",
    "host": "Host (CPUs, memory, fans) while serving",
    "idle_capacity": "Idle capacity (held for the peak hour)",
    "network_storage": "Network and storage",
    "facility_overhead": "Facility overhead (cooling, conversion: PUE)",
}
#: Plain names of what limits the decode batch (``batch_limit``).
BATCH_LIMITS = {
    "tpot_target_s": "the TPOT target",
    "memory": "HBM capacity",
    "max_batch_size": "the most sequences per replica",
    "given": "the given batch",
}


# --- the widgets ------------------------------------------------------------------------------


def _restore_widgets() -> None:
    """Give the inputs their last values (Streamlit drops a widget's state off screen)."""
    defaults = state.serve_default_inputs()
    for key in state.SERVE_KEYS:
        if key not in st.session_state:
            st.session_state[key] = st.session_state.get(_KEEP + key, defaults[key])


def _keep_widgets() -> None:
    for key in state.SERVE_KEYS:
        if key in st.session_state:
            st.session_state[_KEEP + key] = st.session_state[key]


def current_inputs() -> dict[str, Any]:
    """The Serve page's inputs: on screen, else as last kept, else the opening defaults
    (read by the Reports page too)."""
    defaults = state.serve_default_inputs()
    return {
        key: st.session_state.get(key, st.session_state.get(_KEEP + key, defaults[key]))
        for key in state.SERVE_KEYS
    }


def apply_serve_preset() -> None:
    """Callback: a serving preset fills every input (``custom`` keeps what is there)."""
    name = st.session_state.get("srv_preset", state.CUSTOM)
    if name == state.CUSTOM:
        return
    for key, value in state.serve_preset_inputs(str(name)).items():
        if key != state.SERVE_GRID:
            st.session_state[key] = value


def _on_model_change() -> None:
    """Seed the parameter counts from the last published model when switching to a count."""
    if st.session_state.get("srv_model") != state.SERVE_BY_PARAMS:
        return
    if str(st.session_state.get("srv_params_b") or "").strip():
        return
    last = st.session_state.get(_KEEP + "srv_model")
    spec = load_models().get(str(last))
    if spec is None:
        return
    st.session_state["srv_params_b"] = f"{float(spec.total_params) / state.PARAMS_PER_B:.6g}"
    if float(spec.active_params) != float(spec.total_params):
        st.session_state["srv_active_params_b"] = (
            f"{float(spec.active_params) / state.PARAMS_PER_B:.6g}"
        )


def _text(key: str, label: str, help_text: str, placeholder: str | None = None) -> None:
    st.text_input(label, key=key, help=help_text, placeholder=placeholder)


def _inputs() -> dict[str, Any]:
    """Draw this page's inputs in the sidebar and return them by key."""
    from planner.serving_presets import load_serving_presets

    presets = load_serving_presets()
    catalog = load_catalog()
    models = load_models()
    with st.sidebar:
        st.header("Service")
        st.selectbox(
            "Serving preset",
            state.serve_preset_names(),
            key="srv_preset",
            on_change=apply_serve_preset,
            format_func=lambda n: (
                "custom (your own values)" if n == state.CUSTOM else f"{n}: {presets[n].title}"
            ),
            help="A named service with every input sourced (data/serving_presets.toml). "
            "Changing an input keeps the preset as the baseline; 'custom' keeps the values.",
        )
        st.selectbox(
            "Accelerator",
            catalog.ids,
            key="srv_chip",
            format_func=lambda i: f"{i}: {catalog.get(i).name}",
        )
        st.selectbox(
            "Model",
            state.serve_model_names(),
            key="srv_model",
            on_change=_on_model_change,
            format_func=lambda m: m if m == state.SERVE_BY_PARAMS else f"{m}: {models[m].name}",
            help="A published architecture (data/models.csv), or a parameter count whose "
            "architecture is estimated.",
        )
        if st.session_state.get("srv_model") == state.SERVE_BY_PARAMS:
            _text(
                "srv_params_b",
                f"{quantities.label('params', unit=False)} (billions)",
                "Total parameters, 70 = 70B.",
            )
            _text(
                "srv_active_params_b",
                f"{quantities.label('active_params', unit=False)} per token (billions)",
                "Mixture-of-experts: the parameters each token uses. Empty: dense.",
                placeholder="= parameters (dense)",
            )
        st.selectbox("Precision", PRECISIONS, key="srv_precision", format_func=str.upper)

        st.subheader("Demand")
        _text("srv_users", quantities.label("users"), "e.g. 1e8 or 100,000,000.")
        _text("srv_queries_per_user_day", "Queries per user per day", "Prompts a user sends a day.")
        _text(
            "srv_input_tokens", "Input tokens per query", "Prompt incl. system prompt and history."
        )
        _text("srv_output_tokens", "Output tokens per query", "Visible answer tokens.")
        _text(
            "srv_reasoning_multiplier",
            quantities.label("reasoning_multiplier"),
            "Generated / visible tokens: 1 without test-time reasoning; a reasoning model "
            "generates its hidden chain of thought too (10-50x).",
        )
        _text(
            "srv_peak_to_average",
            "Peak-to-average demand",
            "Peak hour / daily mean: the fleet is sized for the peak.",
        )
        with st.expander("Latency targets", expanded=True):
            _text("srv_ttft_target_s", "Time to first token (s)", "Prefill of one prompt.")
            _text(
                "srv_tpot_target_ms",
                "Time per output token (ms)",
                "50 ms = 20 tokens/s per user; bounds the decode batch.",
            )
        st.subheader("Site")
        _text(
            "srv_grid_mw",
            quantities.label("grid_mw"),
            "The site's grid connection: says whether the peak fits and how many users do.",
            placeholder="no limit",
        )
        _text(
            "srv_pue", quantities.label("pue", short=True), "Facility power / IT power, in [1, 3]."
        )
        with st.expander("Money and carbon"):
            chosen = st.session_state.get("srv_pricing")
            if chosen in LEGACY_PRICING:  # a former name (a saved link): its new one
                st.session_state["srv_pricing"] = LEGACY_PRICING[chosen]
            st.selectbox(
                "Pricing",
                list(_PRICINGS),
                key="srv_pricing",
                format_func=lambda m: _PRICING_LABELS.get(m, m),
                help="What the cost of a year of serving is, as for a training run.",
            )
            _text(
                "srv_price_usd_per_gpu",
                quantities.label("price_usd_per_gpu"),
                "System price / its GPUs. Empty: data/chip_economics.csv (estimates marked).",
                placeholder="data/chip_economics.csv",
            )
            _text(
                "srv_rent_usd_per_gpu_hour",
                "Rent (USD per GPU-hour)",
                "Empty: data/chip_economics.csv (estimates marked).",
                placeholder="data/chip_economics.csv",
            )
            _text("srv_electricity_usd_per_mwh", "Electricity (USD/MWh)", "Energy price.")
            _text("srv_grid_gco2_per_kwh", "Grid intensity (gCO2/kWh)", "Carbon per kWh.")
            _text(
                "srv_service_life_years",
                "Service life (years)",
                "Years the hardware is amortised over (data/economics.csv default).",
            )
    return {key: st.session_state.get(key) for key in state.SERVE_KEYS}


# --- the sections -------------------------------------------------------------------------------


def _metrics(r: dict[str, Any], system_name: str) -> None:
    v = fmt.value
    layout.metric_row(
        [
            fmt.metric(
                "replicas",
                r["replicas"],
                f"{v('gpus_per_replica', r['gpus_per_replica'])} each, "
                f"{fmt.label('batch_size', unit=False).lower()} {v('batch_size', r['batch_size'])} "
                f"(limited by {BATCH_LIMITS.get(str(r['batch_limit']), r['batch_limit'])})",
            ),
            fmt.metric("gpus", r["gpus"], f"{r['accelerator']} GPUs"),
            fmt.metric(
                "systems",
                r["systems"],
                f"whole {system_name} systems of {r['gpus_per_system']}",
            ),
            fmt.metric(
                "facility_power_mw",
                r["facility_power_mw"],
                "what the grid must supply: nameplate x (1 + network) x design-day PUE "
                f"{fmt.cell('design_pue', r['design_pue'])} (annual {fmt.cell('pue', r['pue'])})",
            ),
            fmt.metric(
                "average_facility_power_mw",
                r["average_facility_power_mw"],
                "what the meter sees: idle + (busy - idle) x load "
                f"({fmt.label('load_fraction', unit=False).lower()} "
                f"{fmt.cell('load_fraction', r['load_fraction'])})",
            ),
            fmt.metric("energy_mwh_per_year", r["energy_mwh_per_year"], "average power x 8,760 h"),
            fmt.metric("wh_per_query", r["wh_per_query"], "facility energy / queries served"),
            fmt.metric(
                "usd_per_million_tokens",
                r["usd_per_million_tokens"],
                f"pricing {r['pricing']}; every token processed (prompt + generated); "
                f"amortized {v('usd_per_million_tokens_amortized', r['usd_per_million_tokens_amortized'])}, "
                f"rent {v('usd_per_million_tokens_rented', r['usd_per_million_tokens_rented'])}",
            ),
            (
                "Cost a year",
                v("cost_usd", r["cost_usd"]),
                f"pricing {r['pricing']}; cluster capex up front "
                f"{v('cluster_capex_usd', r['cluster_capex_usd'])} (not part of the amortized "
                "cost)",
            ),
            fmt.metric(
                "emissions_tco2_per_year",
                r["emissions_tco2_per_year"],
                f"energy x grid intensity; embodied {v('embodied_tco2', r['embodied_tco2'])} more",
            ),
        ]
    )


def _grid(grid: dict[str, Any], r: dict[str, Any], users: float, system_name: str) -> None:
    def mw(x: float) -> str:
        return fmt.value("facility_power_mw", x)

    if grid["fits"]:
        st.success(
            f"Fits the grid: needs {mw(grid['need_mw'])} at peak of the "
            f"{mw(grid['grid_mw'])} limit ({mw(grid['grid_mw'] - grid['need_mw'])} headroom)."
        )
        return
    head = (
        f"Does not fit the grid: short by {mw(grid['short_mw'])} (needs "
        f"{mw(grid['need_mw'])} at peak; the grid gives {mw(grid['grid_mw'])})."
    )
    if grid["max_systems"] <= 0 or grid["max_users"] <= 0:
        st.warning(f"{head} Not even one replica fits under the limit.")
        return
    st.warning(
        f"{head} At most {fmt.plural(grid['max_systems'], system_name)} fit, serving about "
        f"{fmt.cell('users', grid['max_users'])} of the {fmt.cell('users', users)} users at "
        "this latency."
    )


def _breakdown(r: dict[str, Any]) -> None:
    parts = r.get("energy_breakdown")
    if not parts:
        return
    st.subheader("Energy per query, by part")
    table = pd.DataFrame(
        [
            {
                "Part": BREAKDOWN_LABELS.get(k, k.replace("_", " ")),
                "Share": fmt.cell("energy_breakdown", v),
            }
            for k, v in parts.items()
        ]
    )
    st.dataframe(table, hide_index=True, key="srv_breakdown_table")
    st.caption(
        f"Shares of the {fmt.value('wh_per_query', r['wh_per_query'])} per query (average facility "
        "energy): Google 2025 reports 58% accelerators, 25% host, 10% idle, 8% overhead for "
        "the median Gemini prompt."
    )


def _curves(key: compute.Key, r: dict[str, Any], users: float, grid: dict[str, Any] | None) -> None:
    st.subheader("Scale and reasoning")
    left, right = st.columns(2)
    try:
        curve = compute.serving_users_curve(key)
        gpus_spec = charts.serve_users(curve, r, users, "gpus", grid)
        mw_spec = charts.serve_users(curve, r, users, "facility_power_mw", grid)
    except PlannerError as err:
        left.info(f"No users charts for these inputs: {err}", icon=":material/info:")
    else:
        left.vega_lite_chart(spec=gpus_spec, key="srv_chart_gpus")
        right.vega_lite_chart(spec=mw_spec, key="srv_chart_mw")
    try:
        reasoning = compute.serving_reasoning_curve(key)
        spec = charts.serve_reasoning(reasoning, r, float(_assumption(r, "reasoning_multiplier")))
    except PlannerError as err:
        st.info(f"No reasoning chart for these inputs: {err}", icon=":material/info:")
        return
    st.vega_lite_chart(spec=spec, key="srv_chart_reasoning")
    st.caption(
        "The same service with every answer generating more hidden tokens: more decode time "
        "per query and longer KV caches, so energy per query grows faster than the multiplier."
    )


def _assumption(r: dict[str, Any], name: str) -> Any:
    item = r.get("assumptions", {}).get(name)
    return None if item is None else item["value"]


#: The columns of the serving chip comparison (vocabulary labels and formats).
COMPARISON_COLUMNS = (
    "gpus_per_replica",
    "gpus",
    "systems",
    "facility_power_mw",
    "wh_per_query",
    "usd_per_million_tokens",
)


def _comparison(key: compute.Key, current: str) -> None:
    st.subheader("Every chip for the same service")
    try:
        frame = compute.serving_comparison(key)
    except PlannerError as err:
        st.info(f"No chip comparison for these inputs: {err}", icon=":material/info:")
        return
    rows = []
    for row in frame.to_dict(orient="records"):
        rows.append(
            {
                fmt.label("accelerator"): row["accelerator"]
                + (" (this one)" if row["accelerator"] == current else ""),
                fmt.label("chip_name"): fmt.text(row.get("chip_name")),
                **{fmt.label(c): fmt.cell(c, row.get(c)) for c in COMPARISON_COLUMNS},
                fmt.label("pricing"): fmt.text(row.get("pricing")),
                fmt.label("note"): fmt.text(row.get("note")),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="srv_comparison_table")
    priced = {str(p) for p in frame.get("pricing", pd.Series(dtype=object)).dropna()}
    pricing = ", ".join(sorted(priced)) or "none"
    st.caption(
        "Same model, demand, latency targets and assumptions on every catalog chip; every cost "
        f"under one pricing ({pricing}), for a year of serving."
    )


def _published(answer: dict[str, Any], inputs: dict[str, Any]) -> None:
    """The preset's published figures beside the model, only when the inputs are the
    preset's own; otherwise one line naming the inputs that differ."""
    changed = answer.get("changed_inputs")
    if changed is None:  # a core without changed_inputs: the sidebar's own comparison
        changed = _changed_here(inputs)
    rows = answer.get("published") or []
    if changed:
        st.info(fmt.changed_note(changed), icon=":material/difference:")
        return
    if not rows:
        return
    st.subheader("Published vs model")
    st.caption(f"{answer['preset_title']}. Source: {answer['preset_source']}")
    table = pd.DataFrame(
        [
            {
                "Quantity": fmt.label(str(r["quantity"])),
                "Published": fmt.cell(str(r["quantity"]), r["published"]),
                "Model": fmt.cell(str(r["quantity"]), r["model"]),
                fmt.label("ratio"): fmt.cell("ratio", r.get("ratio")),
                fmt.label("tolerance_factor"): fmt.cell(
                    "tolerance_factor", r.get("tolerance_factor")
                ),
                "Within": fmt.text(r.get("within_tolerance")),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, key="srv_published_table")


def _production(r: dict[str, Any]) -> None:
    """The ideal bound next to the production estimate, and the servers part by part from
    the analysts' compute budget to the production estimate (the core's tables)."""
    from planner.serving.production import ideal_vs_production, production_parts

    prod = r.get("production")
    if not prod:
        return
    st.subheader("Ideal bound vs production estimate")
    rows = ideal_vs_production(prod)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    fmt.label("fleet_quantity"): fmt.label(row["fleet_quantity"]),
                    fmt.label("ideal_bound"): fmt.cell(row["fleet_quantity"], row["ideal_bound"]),
                    fmt.label("production_estimate"): fmt.cell(
                        row["fleet_quantity"], row["production_estimate"]
                    ),
                    fmt.label("production_over_ideal"): fmt.cell(
                        "production_over_ideal", row["production_over_ideal"]
                    ),
                }
                for row in rows
            ]
        ),
        hide_index=True,
        key="srv_production_table",
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    fmt.label("fleet_part"): row["fleet_part"],
                    fmt.label("systems"): fmt.cell("systems", row["systems"]),
                    fmt.label("fleet_factor"): fmt.cell("fleet_factor", row["fleet_factor"]),
                    fmt.label("part_note"): row["part_note"],
                }
                for row in production_parts(prod)
            ]
        ),
        hide_index=True,
        key="srv_production_parts",
    )
    st.caption(
        f"{fmt.label('serving_efficiency')} {fmt.cell('serving_efficiency', prod['efficiency'])}; "
        f"{fmt.label('gpu_power_fraction')} "
        f"{fmt.cell('gpu_power_fraction', prod['gpu_power_fraction'])} (fitted on measured "
        "serving configurations). The ideal bound is a lower bound: every replica at its batch "
        "limit at the planning utilisations; the production estimate adds what a real fleet "
        "carries, part by part."
    )


#: The plain name of each serve input (the sidebar's).
_SERVE_LABELS = {
    **{k: label for k, (_, label, _) in state.SERVE_NUMBERS.items()},
    **{k: label for k, (_, label) in state.SERVE_CHOICES.items()},
}


def _changed_here(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs that differ from the serving preset's, as the core names them."""
    name = str(inputs.get("srv_preset") or state.CUSTOM)
    if name == state.CUSTOM:
        return []
    base = state.serve_preset_inputs(name)
    return [
        {"field": _SERVE_LABELS.get(k, k), "preset": base.get(k), "value": inputs.get(k)}
        for k in state.serve_changed(inputs)
    ]


def _validation(preset: str | None) -> None:
    st.subheader("Model vs public record")
    try:
        frame = compute.serving_validation()
    except PlannerError as err:
        st.info(f"No validation cases: {err}", icon=":material/info:")
        return

    def table(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "Case": [str(c) + (" (this preset)" if c == preset else "") for c in rows["case"]],
                "Quantity": [fmt.label(str(q)) for q in rows["quantity"]],
                "Published": [
                    fmt.cell(str(q), v)
                    for q, v in zip(rows["quantity"], rows["published"], strict=True)
                ],
                "Model": [
                    fmt.cell(str(q), v)
                    for q, v in zip(rows["quantity"], rows["predicted"], strict=True)
                ],
                fmt.label("ratio"): [fmt.cell("ratio", v) for v in rows["ratio"]],
                fmt.label("tolerance_factor"): [
                    fmt.cell("tolerance_factor", t) for t in rows["tolerance_factor"]
                ],
                "Within": [fmt.text(bool(w)) for w in rows["within_tolerance"]],
                "Source": [str(s) for s in rows["source"]],
            }
        )

    record = frame[~frame["case"].str.startswith("mlenergy")]
    st.dataframe(table(record), hide_index=True, key="srv_validation_table")
    st.caption(
        "The shipped presets against the figures they reproduce, each with its stated "
        "tolerance (defaults never tuned per case); `planner validate` prints the same."
    )
    measured = frame[frame["case"].str.startswith("mlenergy")]
    if len(measured):
        with st.expander(f"ML.ENERGY leaderboard: {len(measured)} measured cases"):
            st.dataframe(table(measured), hide_index=True, key="srv_mlenergy_table")


def _assumptions(r: dict[str, Any]) -> None:
    with st.expander("Every value used, with its source"):
        table = pd.DataFrame(
            [
                {
                    "name": k.replace("_", " "),
                    "value": fmt.input_number(v["value"]),
                    "unit": v["unit"],
                    "source": v["source"],
                }
                for k, v in r["assumptions"].items()
            ]
        )
        st.dataframe(table, hide_index=True, key="srv_assumptions_table")


# --- the page -----------------------------------------------------------------------------------


def render() -> None:
    """Draw the page for this page's sidebar inputs."""
    sidebar.load()
    try:
        _render()
    finally:
        _keep_widgets()
        share.footer()


def _render() -> None:
    st.title("Serve a model")
    _restore_widgets()
    inputs = _inputs()
    _keep_widgets()
    share.panel()
    preset = inputs.get("srv_preset")
    try:
        grid_mw = state.serve_grid_mw(inputs)
    except PlannerError as err:
        st.error(str(err))
        grid_mw = None
    try:
        key = compute.request_key(state.serve_request_kwargs(inputs))
        answer = compute.serving(key, grid_mw)
    except PlannerError as err:
        st.error(str(err))
        _validation(None if preset == state.CUSTOM else str(preset))
        return
    r = answer["result"]
    if answer["preset_title"]:
        st.caption(f"Preset {preset}: {answer['preset_title']}")
    users = float(_assumption(r, "users") or 0.0)
    if not r["feasible"]:
        st.warning(
            f"No replica of {r['accelerator']} serves this model within the latency targets: "
            f"{r.get('infeasible_reason') or 'see the assumptions'}. Loosen the targets, pick "
            "a larger chip or a smaller model; the chip comparison below shows which serve it.",
            icon=":material/block:",
        )
        _comparison(key, r["accelerator"])
        _validation(None if preset == state.CUSTOM else str(preset))
        return
    v = fmt.value
    st.caption(
        f"{r['model']} on {answer['chip_name']} at {r['precision'].upper()}: replicas of "
        f"{v('gpus_per_replica', r['gpus_per_replica'])}, {fmt.label('batch_size', unit=False).lower()} "
        f"{v('batch_size', r['batch_size'])}, TTFT {v('ttft_s', r['ttft_s'])}, TPOT "
        f"{v('tpot_s', r['tpot_s'])}; {v('queries_per_s_peak', r['queries_per_s_peak'])} at peak, "
        f"{v('generated_tokens_per_query', r['generated_tokens_per_query'])} generated per query."
    )
    _metrics(r, answer["system_name"])
    grid = answer["grid"]
    if grid is not None:
        _grid(grid, r, users, answer["system_name"])
    _published(answer, inputs)
    _production(r)
    _breakdown(r)
    _curves(key, r, users, grid)
    _comparison(key, r["accelerator"])
    _validation(None if preset == state.CUSTOM else str(preset))
    _assumptions(r)


if __name__ == "__main__":
    render()
