"""Cached calls into the core, keyed by plain hashable inputs.

Each function takes the :func:`planner.app.state.request_kwargs` items as a sorted tuple (so
``st.cache_data`` hashes plain values) and returns plain data: dicts and DataFrames, never a
core or solver object that a session could mutate. A :class:`~planner.errors.PlannerError`
propagates uncached; the page shows its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from planner.catalog import load_catalog
from planner.presets import compare_to_published
from planner.request import build_request
from planner.sizing import compare_accelerators, size_training

#: Source tag of the values a user typed (shown in the assumptions table).
APP_SOURCE = "app input"
#: The GPU-count curves span the answer divided and multiplied by this factor (log axis).
CURVE_SPAN = 8.0
CURVE_POINTS = 49

Key = tuple[tuple[str, Any], ...]


def request_key(kwargs: Mapping[str, Any]) -> Key:
    """A hashable cache key of :func:`~planner.request.build_request` keyword arguments."""
    return tuple(sorted(kwargs.items()))


@st.cache_data(max_entries=512, show_spinner=False)
def sizing(key: Key) -> dict[str, Any]:
    """The answer for one request: ``result`` (JSON-ready dict), ``published`` and context.

    Returns
    -------
    dict
        ``result``: :meth:`~planner.sizing.SizingResult.to_dict`; ``published``: rows of
        :func:`~planner.presets.compare_to_published` (empty without a preset);
        ``preset_title`` / ``preset_source``; ``chip_name``; ``system_name``. Where each
        value came from is in ``result["assumptions"]``.
    """
    request = build_request(**dict(key), source=APP_SOURCE)
    result = request.size()
    payload = result.to_dict()
    chip = load_catalog().get(result.accelerator)
    preset = request.preset
    return {
        "result": payload,
        "published": compare_to_published(payload, preset.published) if preset else [],
        "preset_title": preset.title if preset else None,
        "preset_source": preset.source if preset else None,
        "chip_name": chip.name,
        "system_name": chip.system_name,
    }


@st.cache_data(max_entries=512, show_spinner=False)
def gpu_curve(key: Key, gpus: float) -> pd.DataFrame:
    """Days, peak facility MW and energy over GPU counts around ``gpus`` (whole systems).

    One vectorised :func:`~planner.sizing.size_training` call over a log-spaced range of
    GPU counts from ``gpus / CURVE_SPAN`` to ``gpus x CURVE_SPAN``.
    """
    request = build_request(**dict(key), source=APP_SOURCE)
    chip = load_catalog().get(request.accelerator or "")
    per_system = chip.gpus_per_system
    raw = np.geomspace(gpus / CURVE_SPAN, gpus * CURVE_SPAN, CURVE_POINTS)
    counts = np.unique(np.maximum(np.round(raw / per_system), 1.0) * per_system)
    result = size_training(request.run, chip, gpus=counts, assumptions=request.assumptions)
    frame = result.to_frame()
    return frame[["gpus", "systems", "days", "facility_power_mw", "energy_mwh", "cost_usd"]]


@st.cache_data(max_entries=512, show_spinner=False)
def chip_comparison(key: Key, days: float) -> pd.DataFrame:
    """Every catalog chip sized for the same run and the same deadline ``days``.

    :func:`~planner.sizing.compare_accelerators` with the request's assumptions; chips
    without the precision keep their row with NaN values and a ``note``.
    """
    request = build_request(**dict(key), source=APP_SOURCE)
    frame = compare_accelerators(request.run, days=days, assumptions=request.assumptions)
    names = {chip.id: chip.name for chip in load_catalog()}
    frame = frame.reset_index()
    frame.insert(1, "chip_name", frame["accelerator"].map(names))
    return frame


@st.cache_data(max_entries=512, show_spinner=False)
def sized_at_gpus(key: Key, gpus: float) -> dict[str, Any]:
    """The same request at a given GPU count (e.g. the most that fit under a grid limit)."""
    request = build_request(**dict(key), source=APP_SOURCE)
    result = size_training(
        request.run, request.accelerator or "", gpus=gpus, assumptions=request.assumptions
    )
    return result.to_dict()
