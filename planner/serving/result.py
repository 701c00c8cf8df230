"""The answer of :func:`planner.serving.serve`: :class:`ServingResult`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from planner._arrays import jsonable

# --- 4. the result --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingResult:
    """The answer for one service on one chip (or arrays of scenarios).

    ``facility_power_mw`` is the PEAK the grid must supply (nameplate chain, as training, at
    the design-day PUE ``design_pue``); ``average_facility_power_mw`` is what the meter sees:
    idle + (busy - idle) x load, at the annual ``pue``; ``wh_per_query`` is facility energy /
    queries served.

    Money is for one year of serving (``served_hours`` = 8,760 h), as a training run's for its
    hours (:func:`planner.amortization.run_economics`): ``amortized_cost_usd`` (hardware share
    + electricity), ``rental_cost_usd`` (GPU-hours x rent), ``cluster_capex_usd`` (up front,
    never part of ``amortized_cost_usd``), ``embodied_tco2`` (manufacturing emissions charged
    to the year); ``cost_usd`` is the one ``pricing`` names (``amortized``, ``rent`` or
    ``capex`` = capex + electricity). ``usd_per_million_tokens`` (every token processed:
    prompt + generated) and ``usd_per_million_output_tokens`` follow ``cost_usd``.
    """

    accelerator: str
    precision: str
    model: str
    feasible: Any
    replicas: Any
    gpus_per_replica: Any
    gpus: Any
    systems: Any
    gpus_per_system: int
    batch_size: Any
    batch_limit: Any
    decode_bound: Any
    ttft_s: Any
    tpot_s: Any
    tokens_per_s_per_gpu: Any
    tokens_per_s_per_replica: Any
    queries_per_s_per_replica: Any
    queries_per_s_average: Any
    queries_per_s_peak: Any
    generated_tokens_per_query: Any
    load_fraction: Any
    weights_gb_per_replica: Any
    kv_cache_gb_per_replica: Any
    kv_cache_bytes_per_token: Any
    prefill_flops_per_query: Any
    decode_flops_per_query: Any
    pue: Any
    design_pue: Any
    it_power_mw: Any
    facility_power_mw: Any
    average_it_power_mw: Any
    average_facility_power_mw: Any
    energy_mwh_per_year: Any
    wh_per_query: Any
    served_hours: Any
    capex_usd: Any
    cluster_capex_usd: Any
    amortized_cost_usd: Any
    rental_cost_usd: Any
    electricity_cost_usd: Any
    cost_usd: Any
    pricing: Any
    usd_per_million_tokens_amortized: Any
    usd_per_million_tokens_rented: Any
    usd_per_million_tokens: Any
    usd_per_million_output_tokens: Any
    emissions_tco2_per_year: Any
    embodied_tco2: Any
    energy_breakdown: dict[str, Any] | None
    infeasible_reason: str | None
    assumptions: dict[str, dict[str, Any]]
    #: Name of the serving preset the service started from (``None``: no preset).
    preset: str | None = None
    #: The preset's published figures next to the model's (rows of
    #: :func:`planner.serving_presets.published_comparison`), set ONLY when every input
    #: equals the preset's own; otherwise :attr:`changed_inputs` names what differs.
    published: list[dict[str, Any]] | None = None
    #: Inputs that differ from the preset's: ``{"field", "preset", "value"}`` dicts.
    changed_inputs: list[dict[str, Any]] | None = None
    #: The production fleet next to this ideal bound (:mod:`planner.serving.production`):
    #: ``ideal``, ``production``, ``production_over_ideal``, ``factors`` by part, ``efficiency``,
    #: ``gpu_power_fraction``, ``assumptions``; and ``compute_budget`` (the analysts' method).
    #: Set by :meth:`planner.serving_presets.ServiceRequest.serve` for a feasible scalar service.
    production: dict[str, Any] | None = None

    @property
    def is_scalar(self) -> bool:
        return np.ndim(self.gpus) == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays become lists; NaN and inf become None; whole counts ints).

        A preset service carries ``preset`` and either ``published`` (every input is the
        preset's) or ``changed_inputs`` (the inputs that differ); others carry neither.
        """
        from planner.sizing import json_counts, jsonable_rows

        d = {
            f.name: json_counts(f.name, jsonable(getattr(self, f.name)))
            for f in fields(self)
            if f.name not in _PRESET_KEYS and f.name != "production"
        }
        if self.production is not None:
            d["production"] = jsonable(self.production)
        if self.preset is not None:
            d["preset"] = self.preset
            if self.changed_inputs:
                d["changed_inputs"] = jsonable_rows(self.changed_inputs)
            else:
                d["published"] = jsonable_rows(self.published or [])
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario with every per-scenario column."""
        skip = {"assumptions", "energy_breakdown", "infeasible_reason", "production", *_PRESET_KEYS}
        cols = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        n = max((np.size(v) for v in cols.values() if isinstance(v, np.ndarray)), default=1)
        data = {
            k: (v if isinstance(v, np.ndarray) and v.size == n else np.repeat(v, n))
            for k, v in cols.items()
        }
        return pd.DataFrame(data)


_PRESET_KEYS = ("preset", "published", "changed_inputs")
