"""Workloads: how many FLOPs a training run needs.

Training compute follows Kaplan et al. 2020 (arXiv 2001.08361, sec. 2.1) and Hoffmann et al.
2022 (Chinchilla, arXiv 2203.15556): ``C = 6 N D`` FLOPs, with ``N`` the parameters active per
token (all parameters for a dense model, the routed subset for a mixture-of-experts) and ``D``
the training tokens (2 N D forward, 4 N D backward; attention FLOPs are ignored, under 10% for
contexts well below the model width).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner._arrays import out
from planner.errors import InputError
from planner.validation import check_positive, check_range, first_bad

FLOPS_PER_PARAM_TOKEN = 6.0  # 2 forward + 4 backward (Kaplan et al. 2020)

#: Upper bounds that keep every later division finite. The largest runs to date are ~5e25
#: FLOPs (Epoch AI), so 1e32 leaves six orders of magnitude of head-room.
MAX_FLOPS = 1e32
MAX_PARAMS = 1e16
MAX_TOKENS = 1e17


def training_flops(active_params: Any, tokens: Any) -> Any:
    """Training compute ``6 x N_active x D`` in FLOPs (scalars or arrays)."""
    check_positive("active_params", active_params)
    check_positive("tokens", tokens)
    return out(
        FLOPS_PER_PARAM_TOKEN
        * np.asarray(active_params, dtype=float)
        * np.asarray(tokens, dtype=float)
    )


@dataclass(frozen=True)
class TrainingRun:
    """A training run, given either as total FLOPs or as parameters x tokens.

    Parameters
    ----------
    flops : float or array, optional
        Total training compute, FLOPs. Takes precedence when given.
    params : float, optional
        Total parameters (for display; a mixture-of-experts has more than it computes with).
    active_params : float, optional
        Parameters active per token; defaults to ``params`` (a dense model).
    tokens : float, optional
        Training tokens.
    name : str
        Label used in reports.
    """

    flops: Any = None
    params: Any = None
    active_params: Any = None
    tokens: Any = None
    name: str = "custom run"

    def __post_init__(self) -> None:
        if self.flops is not None:
            check_positive("flops", self.flops)
            check_range("flops", self.flops, 0.0, MAX_FLOPS)
            return
        if self.tokens is None or (self.params is None and self.active_params is None):
            raise InputError(
                "work",
                "missing",
                "either flops, or params (and optionally active_params) with tokens",
            )
        if self.params is not None:
            check_positive("params", self.params)
            check_range("params", self.params, 0.0, MAX_PARAMS)
        if self.active_params is not None:
            check_positive("active_params", self.active_params)
            check_range("active_params", self.active_params, 0.0, MAX_PARAMS)
            if self.params is not None and np.any(
                np.asarray(self.active_params, dtype=float) > np.asarray(self.params, dtype=float)
            ):
                raise InputError(
                    "active_params",
                    self.active_params,
                    f"at most params = {self.params:g}"
                    if np.ndim(self.params) == 0
                    else "<= params",
                )
        check_positive("tokens", self.tokens)
        check_range("tokens", self.tokens, 0.0, MAX_TOKENS)
        # each factor in range does not bound the product: 6 x 1e16 x 1e17 = 6e33 > MAX_FLOPS
        work = (
            FLOPS_PER_PARAM_TOKEN
            * np.asarray(self.effective_active_params, dtype=float)
            * np.asarray(self.tokens, dtype=float)
        )
        bad = work > MAX_FLOPS
        if bad.any():
            value, where = first_bad(work, bad)
            raise InputError(
                "flops",
                value,
                f"at most {MAX_FLOPS:g}",
                detail="6 x active_params x tokens" + (f"; {where}" if where else ""),
            )

    @property
    def effective_active_params(self) -> Any:
        return self.active_params if self.active_params is not None else self.params

    def total_flops(self) -> Any:
        """Total training FLOPs: ``flops`` if given, else ``6 x N_active x tokens``."""
        if self.flops is not None:
            return self.flops
        return training_flops(self.effective_active_params, self.tokens)

    def describe(self) -> str:
        """How the FLOPs were obtained, for the assumptions list."""
        if self.flops is not None:
            return "given as total FLOPs"
        return "6 x active parameters x tokens (Kaplan et al. 2020, arXiv 2001.08361)"
