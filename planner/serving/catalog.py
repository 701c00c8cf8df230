"""Model architectures: ``data/models.csv`` and an architecture estimated from a parameter count."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner._arrays import out
from planner._paths import data_dir
from planner.errors import CatalogError, InputError
from planner.serving.base import _EST_HEAD_DIM, _EST_KV_HEADS, _EST_WIDTH_PER_LAYER

# --- 1. model architectures ----------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A transformer's serving-relevant architecture (units in the names).

    ``total_params`` are stored in HBM; ``active_params`` are computed per token (equal for
    dense models). Values may be arrays (an estimated architecture for many parameter counts).
    """

    id: str
    name: str
    total_params: Any
    active_params: Any
    layers: Any
    hidden_size: Any
    attention_heads: Any
    kv_heads: Any
    head_dim: Any
    source: str
    #: Longest context (prompt + generated tokens) the model accepts; ``None``: not known.
    context_window_tokens: Any = None

    @property
    def kv_values_per_token(self) -> Any:
        """Cached keys and values per token: 2 x layers x kv_heads x head_dim."""
        return 2.0 * np.asarray(self.layers) * np.asarray(self.kv_heads) * np.asarray(self.head_dim)

    @property
    def attention_dim(self) -> Any:
        """Query width attention computes with: heads x head_dim."""
        return np.asarray(self.attention_heads, dtype=float) * np.asarray(self.head_dim)

    def kv_bytes_per_token(self, bytes_per_value: Any = 2.0) -> Any:
        """KV cache per token, bytes."""
        return out(self.kv_values_per_token * np.asarray(bytes_per_value, dtype=float))


_MODEL_COLUMNS = {
    "id": str,
    "name": str,
    "total_params": float,
    "active_params": float,
    "layers": float,
    "hidden_size": float,
    "attention_heads": float,
    "kv_heads": float,
    "head_dim": float,
    "release_year": float,
    "context_window_tokens": float,
    "source": str,
}


@lru_cache(maxsize=1)
def load_models() -> dict[str, ModelSpec]:
    """The architectures of ``data/models.csv`` by id (validated: positive, sourced)."""
    path = data_dir() / "models.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in _MODEL_COLUMNS:
        if column not in df.columns:
            raise CatalogError(str(path), 1, column, "required column is missing")
    models: dict[str, ModelSpec] = {}
    for index, row in enumerate(df.to_dict(orient="records")):
        line = index + 2
        values: dict[str, Any] = {}
        for column, kind in _MODEL_COLUMNS.items():
            text = row[column].strip()
            if kind is str:
                if not text:
                    raise CatalogError(str(path), line, column, "a value is required")
                values[column] = text
                continue
            try:
                number = float(text)
            except ValueError:
                raise CatalogError(str(path), line, column, f"not a number: {text!r}") from None
            if not (math.isfinite(number) and number > 0):
                raise CatalogError(str(path), line, column, f"{text} is not a number > 0")
            values[column] = number
        if values["active_params"] > values["total_params"]:
            raise CatalogError(str(path), line, "active_params", "above total_params")
        values.pop("release_year")
        models[values["id"]] = ModelSpec(**values)
    return models


def get_model(model_id: str) -> ModelSpec:
    """The architecture ``model_id`` of ``data/models.csv``, or an InputError listing them."""
    models = load_models()
    key = str(model_id).strip().lower()
    if key not in models:
        raise InputError("model", model_id, "one of: " + ", ".join(models))
    return models[key]


def estimate_architecture(params: Any, active_params: Any = None) -> ModelSpec:
    """A Llama-3-like architecture for a bare parameter count (vectorised).

    ``N_active ~ 12 x layers x hidden^2`` with ``hidden = 128 x layers`` (Llama 3 8B/70B/405B:
    128/102/130), grouped-query attention with 8 KV heads of 128 (Llama 3, Qwen3). Llama 3.1
    70B comes out at 71 layers (80 real), 8B at 34 (32): KV cache within about 15%.
    """
    total = np.asarray(params, dtype=float)
    active = total if active_params is None else np.asarray(active_params, dtype=float)
    layers = np.maximum(np.round((active / (12.0 * _EST_WIDTH_PER_LAYER**2)) ** (1.0 / 3.0)), 1.0)
    hidden = layers * _EST_WIDTH_PER_LAYER
    return ModelSpec(
        id="estimated",
        name="estimated from parameters",
        total_params=out(total),
        active_params=out(active),
        layers=out(layers),
        hidden_size=out(hidden),
        attention_heads=out(hidden / _EST_HEAD_DIM),
        kv_heads=_EST_KV_HEADS,
        head_dim=_EST_HEAD_DIM,
        source=(
            "ESTIMATE from the parameter count: N_active = 12 x layers x hidden^2, hidden = 128 "
            "x layers, 8 KV heads x 128 (Llama 3 shape); pass --model for a published one"
        ),
    )
