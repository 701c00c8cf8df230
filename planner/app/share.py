"""Save, load and share: the whole state of every page as a URL query and as a TOML file.

One description of the app's state (:func:`capture`), with two encodings:

* the URL query (:func:`to_query` / :func:`from_query`): the sizing inputs as readable
  ``key=value`` pairs (the preset plus what differs from it, :mod:`planner.app.state`), the
  Optimise and National demand choices as ``opt_*`` and ``nat_*`` pairs, and an edited
  optimise scenario or an uploaded projection file as compressed text (``opt_scenario``,
  ``nat_upload``), so the address bar is always a link to the what-if on screen;
* a scenario file (:func:`to_toml` / :func:`from_toml`), written with ``tomli_w`` when it is
  installed: ``[sizing]``, ``[optimise]`` (with the edited scenario in the format of
  ``data/scenarios``), ``[national]`` and ``[serve]`` (the Serve a model page's inputs as
  ``srv_*`` URL pairs, the keys without the prefix in the file).

Reading either one validates every value (the core's limits and choices); a value that cannot
be used is reported with a one-line message and skipped, the rest is applied (:func:`apply`).
Only the widgets' session-state keys are touched: this module computes nothing.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import zlib
from collections.abc import Mapping
from typing import Any

import streamlit as st

from planner.app import compute, state
from planner.assumptions import LEGACY_PRICING
from planner.assumptions import PRICING_MODES as CORE_PRICING_MODES
from planner.data_errors import dump_toml, parse_toml
from planner.errors import InputError, PlannerError

#: ``format`` of a scenario file written by the app.
FILE_FORMAT = "planner-app/1"
#: Session state shared with :mod:`planner.app.sidebar`.
LINK_ERRORS = "_link_errors"
LINK_INPUTS = "_link_inputs"
#: Messages of the last loaded scenario file (shown once, on the page that loaded it).
LOAD_MESSAGES = "_share_messages"
UPLOAD = "share_upload"
_KEEP = "_keep_"

# Session keys of the Optimise and National demand pages (kept in step with those modules,
# which import this one; a test checks they agree).
OPT_FILE, OPT_OBJECTIVE, OPT_PRICING, OPT_MIXED = (
    "opt_file",
    "opt_objective",
    "opt_pricing",
    "opt_mixed",
)
OPT_TABLES, OPT_BASES, OPT_SOLVED = "_opt_tables", "_opt_bases", "opt_solved"
OPT_EDITORS = ("opt_runs", "opt_candidates", "opt_limits")
NAT_FILE, NAT_VARIANTS, NAT_YEARS, NAT_SAMPLES, NAT_COUNTRIES = (
    "nat_file",
    "nat_variants",
    "nat_years",
    "nat_samples",
    "nat_countries",
)
NAT_CALIBRATE = "nat_calibrate"
NAT_UPLOADED = "_nat_uploaded"
NAT_CUSTOM = "custom"
#: The Optimise page's pricing picker: the core's modes. Older links and files may say
#: "buy" (= capex) or "auto" (= amortized): they load, mapped.
PRICING_MODES = CORE_PRICING_MODES


def normalised_pricing(value: Any) -> str:
    """A scenario's (or a link's) pricing as one of :data:`PRICING_MODES`: the former names
    mapped (``buy`` -> ``capex``, ``auto`` -> ``amortized``,
    :data:`planner.assumptions.LEGACY_PRICING`), none given -> ``amortized`` (the scenario
    default, as ``planner size``). Anything else is returned as is (then refused by name)."""
    if value is None:
        return "amortized"
    return LEGACY_PRICING.get(str(value), str(value))


def file_pricing(raw: Mapping[str, Any]) -> str:
    """The pricing a scenario file (parsed TOML) is solved under, normalised."""
    return normalised_pricing(raw.get("candidates", {}).get("pricing"))


# --- reading the session ------------------------------------------------------------------------


def _get(key: str) -> Any:
    """A page's value: its widget state, else the copy kept while another page is on screen."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(_KEEP + key)


def _optimise() -> dict[str, Any]:
    name = _get(OPT_FILE)
    if name is None:
        return {}
    out: dict[str, Any] = {"file": name}
    for key, field in ((OPT_OBJECTIVE, "objective"), (OPT_PRICING, "pricing")):
        if _get(key) is not None:
            out[field] = _get(key)
    if _get(OPT_MIXED) is not None:
        out["allow_mixed_chips"] = bool(_get(OPT_MIXED))
    tables = st.session_state.get(OPT_TABLES)
    if tables and tables.get("file") == name:
        try:
            data = compute.scenario_from_tables(
                compute.scenario_raw(name),
                tables["runs"],
                tables["candidates"],
                tables["limits"],
            )
        except PlannerError:
            data = None  # invalid cells: the page says which; the file keeps the example
        if data is not None and compute.scenario_key(data) != compute.scenario_key(
            compute.file_scenario(name)
        ):
            out["scenario"] = data
    return out


def _national() -> dict[str, Any]:
    name = _get(NAT_FILE)
    if name is None:
        return {}
    out: dict[str, Any] = {"file": name}
    if _get(NAT_VARIANTS) is not None:
        out["variants"] = list(_get(NAT_VARIANTS))
    if _get(NAT_YEARS) is not None:
        out["years"] = [int(y) for y in _get(NAT_YEARS)]
    if _get(NAT_SAMPLES) is not None:
        out["samples"] = _get(NAT_SAMPLES)
    if _get(NAT_COUNTRIES) is not None:
        out["countries"] = list(_get(NAT_COUNTRIES))
    if _get(NAT_CALIBRATE) is not None:
        out["calibrate"] = bool(_get(NAT_CALIBRATE))
    uploaded = st.session_state.get(NAT_UPLOADED)
    if name == NAT_CUSTOM and uploaded is not None:
        out["upload_name"], out["upload_text"] = uploaded
    return out


def _serve() -> dict[str, Any]:
    """The Serve a model page's inputs (empty until the page has been opened)."""
    if all(_get(key) is None for key in state.SERVE_KEYS):
        return {}
    return {key: _get(key) for key in state.SERVE_KEYS}


def capture() -> dict[str, Any]:
    """The state of every page: ``sizing`` (inputs), ``optimise``, ``national`` and ``serve``."""
    inputs = {key: st.session_state.get(key) for key in state.INPUT_KEYS}
    return {
        "sizing": inputs,
        "optimise": _optimise(),
        "national": _national(),
        "serve": _serve(),
    }


# --- the URL ------------------------------------------------------------------------------------


def _pack(data: Any) -> str:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")


def _unpack(field: str, text: str) -> Any:
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return json.loads(raw.decode("utf-8"))
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise InputError(
            field, text[:20] + ("..." if len(text) > 20 else ""), "text the app wrote"
        ) from None


def to_query(app: Mapping[str, Any]) -> dict[str, str]:
    """The URL query of :func:`capture`'s state: defaults are left out, so links stay short."""
    query = state.inputs_to_query(app["sizing"])
    opt = dict(app.get("optimise") or {})
    if opt:
        raw = compute.scenario_raw(opt["file"]) if opt["file"] in compute.scenario_names() else {}
        if opt["file"] != compute.DEFAULT_SCENARIO:
            query["opt_file"] = str(opt["file"])
        if opt.get("objective") not in (None, raw.get("objective", "cost")):
            query["opt_objective"] = str(opt["objective"])
        if opt.get("pricing") is not None and normalised_pricing(opt["pricing"]) != file_pricing(
            raw
        ):
            query["opt_pricing"] = normalised_pricing(opt["pricing"])
        if opt.get("allow_mixed_chips") not in (None, bool(raw.get("allow_mixed_chips", False))):
            query["opt_mixed"] = "true" if opt["allow_mixed_chips"] else "false"
        if "scenario" in opt:
            query["opt_scenario"] = _pack(opt["scenario"])
    nat = dict(app.get("national") or {})
    if nat:
        defaults = _national_defaults(nat)
        if nat["file"] != compute.projection_names()[0]:
            query["nat_file"] = str(nat["file"])
        for field in ("variants", "countries"):
            if field in nat and defaults is not None and nat[field] != defaults[field]:
                query[f"nat_{field}"] = ",".join(nat[field])
        if "years" in nat and defaults is not None and list(nat["years"]) != defaults["years"]:
            query["nat_years"] = f"{nat['years'][0]}-{nat['years'][1]}"
        if nat.get("calibrate"):
            query["nat_calibrate"] = "true"
        if nat.get("samples") not in (None, compute.DEFAULT_SAMPLES):
            query["nat_samples"] = state._show(nat["samples"])
        if "upload_text" in nat:
            query["nat_upload"] = _pack([nat["upload_name"], nat["upload_text"]])
    query.update(state.serve_to_query(app.get("serve") or {}))
    return query


def _national_defaults(nat: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        if nat["file"] == NAT_CUSTOM:
            if "upload_text" not in nat:
                return None
            meta = compute.projection_meta(nat["upload_name"], nat["upload_text"])
        else:
            meta = compute.projection_meta(nat["file"])
    except PlannerError:
        return None
    return {
        "variants": list(meta["variants"]),
        "countries": list(meta["countries"]),
        "years": list(meta["years"]),
    }


def from_query(query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The app state of a URL query, and the messages of the values that were ignored."""
    inputs, errors = state.inputs_from_query(query)
    opt: dict[str, Any] = {}
    for field, key in (
        ("file", "opt_file"),
        ("objective", "opt_objective"),
        ("pricing", "opt_pricing"),
        ("allow_mixed_chips", "opt_mixed"),
    ):
        if key in query:
            opt[field] = query[key]
    if "opt_scenario" in query:
        try:
            opt["scenario"] = _unpack("opt_scenario", query["opt_scenario"])
        except PlannerError as err:
            errors.append(f"link: {err}")
    nat: dict[str, Any] = {}
    for field in ("file", "samples", "calibrate"):
        if f"nat_{field}" in query:
            nat[field] = query[f"nat_{field}"]
    for field in ("variants", "countries"):
        if f"nat_{field}" in query:
            nat[field] = [v for v in query[f"nat_{field}"].split(",") if v]
    if "nat_years" in query:
        nat["years"] = query["nat_years"].replace(":", "-").split("-")
    if "nat_upload" in query:
        try:
            nat["upload_name"], nat["upload_text"] = _unpack("nat_upload", query["nat_upload"])
        except (PlannerError, ValueError, TypeError):
            errors.append("link: nat_upload is not allowed: expected text the app wrote")
    serve: dict[str, Any] = {}
    if any(key in query for key in state.SERVE_KEYS):
        serve, serve_errors = state.serve_from_query(query)
        errors += [f"link: {e}" for e in serve_errors]
    app = {"sizing": inputs, "optimise": opt, "national": nat, "serve": serve}
    return _checked(app, errors, "link")


# --- the scenario file --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """TOML-ready: no None (TOML has no null), numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value if v is not None]
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def to_toml(app: Mapping[str, Any]) -> str:
    """The app state as a scenario file (TOML); :func:`from_toml` reads it back.

    Sizing inputs are written as the link writes them (the preset plus what differs, an
    emptied value as ``""``); numbers as TOML numbers.
    """
    sizing: dict[str, Any] = {}
    for key, text in state.inputs_to_query(app["sizing"]).items():
        sizing[key] = _number_or_text(text)
    data: dict[str, Any] = {"format": FILE_FORMAT, "sizing": sizing}
    if app.get("optimise"):
        data["optimise"] = _plain(dict(app["optimise"]))
    if app.get("national"):
        data["national"] = _plain(dict(app["national"]))
    serve = state.serve_to_query(app.get("serve") or {})
    if serve:
        data["serve"] = {k.removeprefix("srv_"): _finite_or_text(v) for k, v in serve.items()}
    header = (
        "planner app scenario: every page's inputs (load it with 'Load a scenario file').\n"
        "Units are in the key names: _b billions, _t trillions, _mw MW, _usd US dollars."
    )
    return _dumps(data, header)


def _dumps(data: dict[str, Any], header: str) -> str:
    return dump_toml(data, header)


def _finite_or_text(text: str) -> Any:
    """A serve input as a TOML number when it is a finite one, else the text typed ("nan",
    "1e999", "abc" stay text, so the file can be read back and the page says why)."""
    value = _number_or_text(text)
    return value if isinstance(value, str) or math.isfinite(value) else text


def _number_or_text(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def from_toml(text: str, name: str = "scenario file") -> tuple[dict[str, Any], list[str]]:
    """The app state of a scenario file, and the messages of the values that were ignored.

    Raises
    ------
    InputError
        When the text is not TOML or not a file the app wrote.
    """
    data = parse_toml(text, name)  # syntax, nesting depth, finite numbers: one line
    if data.get("format") != FILE_FORMAT:
        raise InputError(
            f"{name}: format",
            data.get("format", "missing"),
            f"{FILE_FORMAT!r} (a file the app wrote)",
        )
    sizing = data.get("sizing", {})
    if not isinstance(sizing, dict):
        raise InputError(f"{name}: sizing", type(sizing).__name__, "a table")
    query = {k: _text(v) for k, v in sizing.items()}
    inputs, errors = state.inputs_from_query(query)
    errors = [e.replace("link: ", f"{name}: ", 1) for e in errors]
    opt = data.get("optimise", {})
    nat = data.get("national", {})
    serve: dict[str, Any] = {}
    raw_serve = data.get("serve")
    if isinstance(raw_serve, dict) and raw_serve:
        serve, serve_errors = state.serve_from_query(
            {f"srv_{k}": _text(v) for k, v in raw_serve.items()}
        )
        errors += [f"{name}: {e}" for e in serve_errors]
    elif raw_serve is not None and not isinstance(raw_serve, dict):
        errors.append(f"{name}: {InputError('serve', type(raw_serve).__name__, 'a table')}")
    app = {
        "sizing": inputs,
        "optimise": opt if isinstance(opt, dict) else {},
        "national": nat if isinstance(nat, dict) else {},
        "serve": serve,
    }
    return _checked(app, errors, name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- checking and applying ----------------------------------------------------------------------


def _checked(
    app: dict[str, Any], errors: list[str], where: str
) -> tuple[dict[str, Any], list[str]]:
    """Drop (and report) the Optimise and National values the pages cannot hold."""
    opt = dict(app.get("optimise") or {})
    good_opt: dict[str, Any] = {}
    from planner.optimization import OBJECTIVES

    checks: list[tuple[str, Any, list[str]]] = [
        ("file", opt.get("file"), compute.scenario_names()),
        ("objective", opt.get("objective"), list(OBJECTIVES)),
        (
            "pricing",
            None if opt.get("pricing") is None else normalised_pricing(opt["pricing"]),
            list(PRICING_MODES),
        ),
    ]
    for field, value, allowed in checks:
        if value is None:
            continue
        if value in allowed:
            good_opt[field] = value
        else:
            errors.append(
                f"{where}: {InputError(f'optimise {field}', value, 'one of: ' + ', '.join(allowed))}"
            )
    mixed = opt.get("allow_mixed_chips")
    if mixed is not None:
        if str(mixed).lower() in ("true", "false"):
            good_opt["allow_mixed_chips"] = str(mixed).lower() == "true"
        else:
            errors.append(
                f"{where}: {InputError('optimise allow_mixed_chips', mixed, 'true or false')}"
            )
    if "scenario" in opt:
        file = good_opt.setdefault("file", compute.DEFAULT_SCENARIO)
        try:
            compute.validate_scenario(
                compute.scenario_key(opt["scenario"]), f"{where}: optimise scenario"
            )
            compute.scenario_tables(opt["scenario"])
            good_opt["scenario"] = opt["scenario"]
        except PlannerError as err:
            errors.append(f"{where}: {err}")
        except (TypeError, ValueError, AttributeError, KeyError):
            errors.append(
                f"{where}: optimise scenario is not a scenario table (data/scenarios/{file})"
            )
    nat = dict(app.get("national") or {})
    good_nat: dict[str, Any] = {}
    file = nat.get("file")
    if file is not None:
        if file in [*compute.projection_names(), NAT_CUSTOM]:
            good_nat["file"] = file
        else:
            errors.append(
                f"{where}: {InputError('national file', file, 'one of: ' + ', '.join(compute.projection_names()))}"
            )
    if isinstance(nat.get("upload_text"), str) and isinstance(nat.get("upload_name"), str):
        try:
            compute.projection_meta(nat["upload_name"], nat["upload_text"])
            good_nat["upload_name"], good_nat["upload_text"] = (
                nat["upload_name"],
                nat["upload_text"],
            )
        except PlannerError as err:
            errors.append(f"{where}: uploaded projection: {err}")
            if good_nat.get("file") == NAT_CUSTOM:
                good_nat.pop("file")
    if "samples" in nat:
        try:
            samples = state.parse_number("national samples", nat["samples"], 0, 1_000_000)
            if not samples.is_integer():
                raise InputError("national samples", samples, "a whole number")
            good_nat["samples"] = int(samples)
        except PlannerError as err:
            errors.append(f"{where}: {err}")
    if "years" in nat:
        try:
            years = [int(state.parse_number("national years", y, 1990, 2100)) for y in nat["years"]]
            if len(years) != 2 or years[0] > years[1]:
                raise InputError("national years", nat["years"], "two years, first <= last")
            good_nat["years"] = years
        except (PlannerError, TypeError) as err:
            errors.append(f"{where}: {err}")
    calibrate = nat.get("calibrate")
    if calibrate is not None:
        if str(calibrate).lower() in ("true", "false"):
            good_nat["calibrate"] = str(calibrate).lower() == "true"
        else:
            errors.append(
                f"{where}: {InputError('national calibrate', calibrate, 'true or false')}"
            )
    for field in ("variants", "countries"):
        if isinstance(nat.get(field), list) and all(isinstance(v, str) for v in nat[field]):
            good_nat[field] = list(nat[field])
    return {
        "sizing": app["sizing"],
        "optimise": good_opt,
        "national": good_nat,
        "serve": dict(app.get("serve") or {}),
    }, errors


def apply(app: Mapping[str, Any], errors: list[str]) -> None:
    """Put an app state (a link, a loaded file) into the session: every page's widgets."""
    inputs = app["sizing"]
    for key, value in inputs.items():
        if key in state.INPUT_KEYS:
            st.session_state[key] = value
    for widget in ("mfu_pct", "goodput_pct"):
        st.session_state.pop(widget, None)
    st.session_state[LINK_ERRORS] = list(errors)
    st.session_state[LINK_INPUTS] = {k: inputs.get(k) for k in state.INPUT_KEYS}

    opt = app.get("optimise") or {}
    if opt:
        file = opt.get("file", compute.DEFAULT_SCENARIO)
        raw = compute.scenario_raw(file)
        values = {
            OPT_FILE: file,
            OPT_OBJECTIVE: opt.get("objective", raw.get("objective", "cost")),
            OPT_PRICING: normalised_pricing(opt["pricing"])
            if opt.get("pricing") is not None
            else file_pricing(raw),
            OPT_MIXED: bool(opt.get("allow_mixed_chips", raw.get("allow_mixed_chips", False))),
        }
        for key, value in values.items():
            st.session_state[key] = value
            st.session_state[_KEEP + key] = value
        for key in (OPT_TABLES, OPT_BASES, OPT_SOLVED, *OPT_EDITORS):
            st.session_state.pop(key, None)
        if "scenario" in opt:
            st.session_state[OPT_TABLES] = {
                "file": file,
                **compute.scenario_tables(opt["scenario"]),
            }

    nat = app.get("national") or {}
    if nat:
        if "upload_text" in nat:
            st.session_state[NAT_UPLOADED] = (nat["upload_name"], nat["upload_text"])
        values = {
            NAT_FILE: nat.get("file"),
            NAT_VARIANTS: nat.get("variants"),
            NAT_YEARS: tuple(nat["years"]) if "years" in nat else None,
            NAT_SAMPLES: nat.get("samples"),
            NAT_COUNTRIES: nat.get("countries"),
            NAT_CALIBRATE: nat.get("calibrate"),
        }
        for key, value in values.items():
            st.session_state.pop(key, None)
            st.session_state.pop(_KEEP + key, None)
            if value is not None:
                st.session_state[key] = value
                st.session_state[_KEEP + key] = value

    serve = app.get("serve") or {}
    if serve:
        for key in state.SERVE_KEYS:
            if key in serve:
                st.session_state[key] = serve[key]
                st.session_state[_KEEP + key] = serve[key]


# --- the widgets and the address bar -------------------------------------------------------------


def sync_url() -> None:
    """Rewrite the address bar from the session, so it is always a link to this what-if."""
    try:
        wanted = to_query(capture())
    except PlannerError:
        return  # a page shows the error; the link keeps the last good state
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _on_load() -> None:
    file = st.session_state.get(UPLOAD)
    if file is None:
        return
    name = getattr(file, "name", "scenario file")
    try:
        app, errors = from_toml(file.getvalue().decode("utf-8", errors="replace"), name)
    except PlannerError as err:
        st.session_state[LOAD_MESSAGES] = ("error", [str(err)])
        return
    apply(app, [])  # the file's ignored values are said once, below the "Loaded" line
    st.session_state[LOAD_MESSAGES] = ("ok", [f"Loaded {name}.", *errors])


def _link_errors() -> list[str]:
    """Messages of the opening link's values that were ignored, on every page, until the
    sizing inputs change (then the link no longer describes the page)."""
    inputs = {key: st.session_state.get(key) for key in state.INPUT_KEYS}
    if inputs != st.session_state.get(LINK_INPUTS):
        st.session_state[LINK_ERRORS] = []
    return list(st.session_state.get(LINK_ERRORS, []))


def _toml_bytes(app: dict[str, Any]) -> bytes:
    return to_toml(app).encode("utf-8")


def footer() -> None:
    """End of every page: the sidebar's "Save, load, share" box, then the address bar.

    Drawn after the page so the file holds what the page now shows (this run's table edits
    included); the download renders the state captured here, as the click's callable runs
    outside the script (no session state there).
    """
    snapshot: dict[str, Any] | None = None
    try:
        captured = capture()
        to_query(captured)  # the state can be written (the link below checks the same)
        snapshot = captured
    except PlannerError:
        pass
    with st.sidebar.expander("Save, load, share", icon=":material/save:"):
        if snapshot is not None:
            st.download_button(
                "Download this what-if (TOML)",
                data=functools.partial(_toml_bytes, snapshot),
                file_name="planner-scenario.toml",
                mime="application/toml",
                key="share_download",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )
        st.file_uploader(
            "Load a scenario file",
            type=["toml"],
            key=UPLOAD,
            on_change=_on_load,
            help="A file downloaded here: every page's inputs come back.",
        )
        st.caption("The address bar holds every page's inputs: copy it to share this what-if.")
    sync_url()


def panel() -> None:
    """Top of every page: the messages of the opening link or of a loaded scenario file."""
    for message in _link_errors():
        st.error(message)
    shown = st.session_state.pop(LOAD_MESSAGES, None)
    if shown is not None:
        kind, messages = shown
        if kind == "error":
            st.error(messages[0])
        else:
            st.success(messages[0], icon=":material/check_circle:")
            for message in messages[1:]:
                st.warning(message)
