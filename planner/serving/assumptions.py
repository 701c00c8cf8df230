"""Demand and the serving assumptions (one reader for ``data/serving_assumptions.csv``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner._paths import data_dir
from planner.assumptions import ECONOMICS_FIELDS, SizingAssumptions
from planner.errors import CatalogError, InputError
from planner.serving.base import RANGES
from planner.validation import check_fraction, check_range

# --- 2. demand and assumptions --------------------------------------------------------------


@dataclass(frozen=True)
class ServingDemand:
    """Who asks how much: scalars or arrays of one common length.

    Attributes
    ----------
    users : users (daily active)
    queries_per_user_day : queries per user per day
    input_tokens : prompt tokens per query (incl. system prompt and conversation so far)
    output_tokens : visible answer tokens per query; generated tokens = output x
        ``reasoning_multiplier`` (an assumption, so a preset or flag can change it).
    """

    users: Any
    queries_per_user_day: Any
    input_tokens: Any
    output_tokens: Any

    def validate(self) -> None:
        for f in fields(self):
            check_range(f.name, getattr(self, f.name), *RANGES[f.name])


_SERVING_FIELDS = (
    "tpot_target_s",
    "ttft_target_s",
    "bandwidth_utilisation",
    "prefill_mfu",
    "decode_mfu",
    "memory_headroom",
    "max_batch_size",
    "kv_bytes_per_value",
    "idle_load_fraction",
    "peak_to_average",
    "reasoning_multiplier",
    "tp_sync_s_per_layer",
)
#: The sizing assumptions a service takes (its power chain, prices and economics): the
#: inputs a preset may give and the rows the serving assumption listing shows.
SIZING_INPUTS = (
    "precision",
    "pue",
    "design_pue",
    "network_overhead",
    "avg_load_fraction",
    "avg_power_per_gpu_w",
    "electricity_usd_per_mwh",
    "grid_gco2_per_kwh",
    "pricing",
    "price_usd_per_gpu",
    "rent_usd_per_gpu_hour",
    "price_date",
    *ECONOMICS_FIELDS,  # service_life_years, cost_of_capital ... (data/economics.csv)
)


@lru_cache(maxsize=1)
def serving_default_table() -> dict[str, dict[str, Any]]:
    """Rows of ``data/serving_assumptions.csv`` by name: value, unit, source, description."""
    path = data_dir() / "serving_assumptions.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    table: dict[str, dict[str, Any]] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        try:
            value = float(row["value"])
        except ValueError:
            raise CatalogError(
                str(path), index + 2, "value", f"not a number: {row['value']!r}"
            ) from None
        if not row["source"].strip():
            raise CatalogError(str(path), index + 2, "source", "every default needs a source")
        table[row["name"]] = {
            "value": value,
            "unit": row["unit"],
            "source": row["source"],
            "description": row["description"],
        }
    missing = [n for n in _SERVING_FIELDS if n not in table]
    if missing:
        raise CatalogError(str(path), None, None, f"no row for {missing[0]!r}")
    return table


@dataclass(frozen=True)
class ServingAssumptions:
    """Every serving knob with its source, plus the training power/price chain it reuses.

    ``sizing`` carries PUE (annual, and ``design_pue`` for the grid peak), network overhead,
    ``avg_load_fraction`` (here: a busy server's draw / nameplate), electricity price, grid
    intensity, precision, the pricing mode, price overrides and the economics knobs
    (``service_life_years``, ``hardware_utilisation``, ``cost_of_capital``,
    ``networking_share``, ``facility_usd_per_mw``, ``facility_life_years``), with the defaults
    and sources of ``data/assumptions.csv`` and ``data/economics.csv`` - the same chain and
    economics as :mod:`planner.sizing`.
    """

    tpot_target_s: Any
    ttft_target_s: Any
    bandwidth_utilisation: Any
    prefill_mfu: Any
    decode_mfu: Any
    memory_headroom: Any
    max_batch_size: Any
    kv_bytes_per_value: Any
    idle_load_fraction: Any
    peak_to_average: Any
    reasoning_multiplier: Any
    tp_sync_s_per_layer: Any
    sizing: SizingAssumptions = field(default_factory=SizingAssumptions.defaults)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def defaults(cls) -> ServingAssumptions:
        table = serving_default_table()
        values = {n: table[n]["value"] for n in _SERVING_FIELDS}
        sources = {n: "default: " + table[n]["source"] for n in _SERVING_FIELDS}
        return cls(**values, sizing=SizingAssumptions.defaults(), sources=sources)

    def with_(self, source: str, **changes: Any) -> ServingAssumptions:
        """A copy with ``changes`` applied (``None`` ignored); sizing fields go to ``sizing``."""
        changes = {k: v for k, v in changes.items() if v is not None}
        own = {k: v for k, v in changes.items() if k in _SERVING_FIELDS}
        rest = {k: v for k, v in changes.items() if k not in _SERVING_FIELDS}
        sizing = self.sizing.with_(source, **rest) if rest else self.sizing
        sources = dict(self.sources)
        sources.update({k: source for k in own})
        return replace(self, **own, sizing=sizing, sources=sources)

    def for_chip(self, chip: Any) -> ServingAssumptions:
        """A copy whose default ``max_batch_size`` is the serving stack's for ``chip``
        (:func:`default_max_batch_size`); a given one is kept."""
        if not str(self.sources.get("max_batch_size", "default:")).startswith("default:"):
            return self
        cap, source = default_max_batch_size(chip)
        if cap == float(np.asarray(self.max_batch_size)):
            return self
        sources = dict(self.sources)
        sources["max_batch_size"] = "default: " + source
        return replace(self, max_batch_size=cap, sources=sources)

    def validate(self) -> None:
        self.sizing.validate()
        check_range("tpot_target_s", self.tpot_target_s, *RANGES["tpot_target_s"])
        check_range("ttft_target_s", self.ttft_target_s, *RANGES["ttft_target_s"])
        check_fraction("bandwidth_utilisation", self.bandwidth_utilisation, floor=1e-3)
        check_fraction("prefill_mfu", self.prefill_mfu, floor=1e-3)
        check_fraction("decode_mfu", self.decode_mfu, floor=1e-3)
        for name in (
            "memory_headroom",
            "max_batch_size",
            "kv_bytes_per_value",
            "idle_load_fraction",
            "peak_to_average",
            "reasoning_multiplier",
            "tp_sync_s_per_layer",
        ):
            check_range(name, getattr(self, name), *RANGES[name])
        idle = np.asarray(self.idle_load_fraction, dtype=float)
        busy = np.asarray(self.sizing.avg_load_fraction, dtype=float)
        if np.any(idle > busy):
            raise InputError(
                "idle_load_fraction",
                float(np.max(idle)),
                f"at most the busy draw avg_load_fraction = {float(np.min(busy)):g}",
            )

    UNITS = {
        "tpot_target_s": "s per output token",
        "ttft_target_s": "s",
        "bandwidth_utilisation": "fraction of peak HBM bandwidth",
        "prefill_mfu": "fraction of dense peak",
        "decode_mfu": "fraction of dense peak",
        "memory_headroom": "fraction of HBM",
        "max_batch_size": "sequences per replica",
        "kv_bytes_per_value": "bytes",
        "idle_load_fraction": "fraction of nameplate",
        "peak_to_average": "ratio",
        "reasoning_multiplier": "x output tokens",
        "tp_sync_s_per_layer": "s per layer per decode step",
    }


#: GPU memory from which vLLM schedules more sequences by default (70 GiB, in bytes).
LARGE_GPU_BYTES = 70 * 2**30


def default_max_batch_size(chip: Any) -> tuple[float, str]:
    """The serving stack's default scheduler limit on one replica's sequences for ``chip``
    and its source: vLLM's ``max_num_seqs`` rule (``EngineArgs.get_batch_defaults``) -
    ``max_batch_size_large_gpu`` (1024) on a GPU of at least 70 GiB that is not an A100,
    ``max_batch_size`` (256) otherwise (``data/serving_assumptions.csv``)."""
    table = serving_default_table()
    large = float(chip.memory_gb) * 1e9 >= LARGE_GPU_BYTES and not str(chip.id).startswith("a100")
    row = table["max_batch_size_large_gpu" if large else "max_batch_size"]
    return float(row["value"]), f"{row['source']} ({chip.id}: {float(chip.memory_gb):g} GB)"


def resolve_serving_assumptions(
    assumptions: ServingAssumptions | None, overrides: dict[str, Any], source: str = "user input"
) -> ServingAssumptions:
    """Defaults, then ``assumptions``, then keyword ``overrides``; validated."""
    base = assumptions if assumptions is not None else ServingAssumptions.defaults()
    resolved = base.with_(source, **overrides) if overrides else base
    resolved.validate()
    return resolved
