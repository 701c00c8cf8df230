"""Nested cross-validation of the run model's feature choice (:mod:`planner.utilisation`).

The run model's leave-one-out error is an honest out-of-sample figure only if nothing about
the model was chosen by looking at those same leave-one-out errors. Choosing which features
to add (or the ridge strength) by comparing leave-one-out errors on the 49 published runs
and keeping the winner makes the winner's figure optimistic: with 49 noisy runs, the median
|error| of a feature set moves by several points between sets that fit equally well.

This module measures the choice itself out of sample. For every held-out run (or family),
a SELECTION PROCEDURE sees only the other runs: it scores each candidate (a set of extra
features from :data:`CANDIDATE_FEATURES` added to the shipped seven, and a ridge strength)
by an inner cross-validation on those runs alone, fits the winner to them and predicts the
held-out run. The outer errors are what that procedure would achieve on a run it has never
seen (:func:`nested_cross_validation`).

The inner score is fixed before any outer result: mean |log(predicted / published)| of the
inner cross-validation (the loss the fit's least absolute deviations in logit space is
closest to, and steadier than a median of 48 values); ties go to fewer extra features, then
to the stronger ridge.

Every candidate feature has a physical or reporting reason and is computed from columns the
published record already has (``data/training_runs.csv``); none uses the published time.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import InputError
from planner.utilisation import (
    DEFAULT_SEQ_LEN,
    FEATURE_NAMES,
    LAD_ITERATIONS,
    LAD_RESIDUAL_FLOOR,
    PRIOR,
    REFERENCE_GPUS,
    RIDGE_LAMBDA,
    WITHIN,
    design_matrix,
    load_runs,
    model_shape,
)

#: Index of the shipped model's cluster_scale coefficient (constrained to be <= 0).
_CLUSTER = FEATURE_NAMES.index("cluster_scale")
#: Penalty that pins a coefficient at its prior (used to impose cluster_scale <= 0).
_PIN = 1e10


def _shape(runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return model_shape(
        runs["active_params"].to_numpy(dtype=float),
        runs["n_layers"].to_numpy(dtype=float),
        runs["d_model"].to_numpy(dtype=float),
    )


def _width(runs: pd.DataFrame) -> np.ndarray:
    return np.log2(_shape(runs)[1] / 4096.0)


def _generation(runs: pd.DataFrame) -> np.ndarray:
    from planner.utilisation import REFERENCE_BF16_TFLOPS

    return np.log2(runs["bf16_dense_tflops"].to_numpy(dtype=float) / REFERENCE_BF16_TFLOPS)


def _seq(runs: pd.DataFrame) -> np.ndarray:
    seq = runs["seq_len"].to_numpy(dtype=float)
    return np.log2(np.where(np.isnan(seq), DEFAULT_SEQ_LEN, seq) / 4096.0)


def _notes_say(runs: pd.DataFrame, *words: str) -> np.ndarray:
    notes = runs["notes"].fillna("").str.lower()
    return np.asarray([any(w in text for w in words) for text in notes], dtype=float)


#: Candidate extra features: name -> (meaning and reason, function of a runs frame).
CANDIDATE_FEATURES: dict[str, tuple[str, Callable[[pd.DataFrame], np.ndarray]]] = {
    "width": (
        "log2(d_model / 4,096): GEMM throughput rises with the matrix dimensions until the "
        "tiles fill every SM (NVIDIA, Matrix Multiplication Background User's Guide, "
        "docs.nvidia.com/deeplearning/performance/dl-performance-matrix-multiplication)",
        _width,
    ),
    "generation_x_width": (
        "chip_generation x width: a faster chip needs wider matrices to fill (same guide: "
        "wave quantisation over more SMs)",
        lambda r: _generation(r) * _width(r),
    ),
    "seq": (
        "log2(sequence length / 4,096): attention kernels run below GEMM efficiency "
        "(Dao 2023, FlashAttention-2, arXiv 2307.08691: 50-73% of the A100 peak)",
        _seq,
    ),
    "depth": (
        "log2(layers / 32): per-layer work outside the big GEMMs (norms, activations, "
        "launches) and pipeline bubbles grow with depth at a fixed width (Narayanan et al. "
        "2021, arXiv 2104.04473)",
        lambda r: np.log2(_shape(r)[0] / 32.0),
    ),
    "gpus_unknown": (
        "1 if the source gives cumulative GPU-hours without the cluster size: a reporting "
        "convention (model cards of large labs), not a property of the run",
        lambda r: np.isnan(r["gpus"].to_numpy(dtype=float)).astype(float),
    ),
    "tokens_per_param": (
        "log10(tokens / (20 x active parameters)): over-trained small models (tokens far "
        "above the Chinchilla 20 per parameter, Hoffmann et al. 2022, arXiv 2203.15556) "
        "run long at a global batch sized for convergence, not for the GPUs",
        lambda r: np.log10(
            r["tokens"].to_numpy(dtype=float) / (20.0 * r["active_params"].to_numpy(dtype=float))
        ),
    ),
    "distilled": (
        "1 if the source says the run trained on a teacher's logits (pruned / distilled / "
        "co-distilled: the Llama 3.2 and Llama 4 model cards), extra work per token",
        lambda r: _notes_say(r, "distilled", "logits"),
    ),
}
#: Ridge strengths the selection may choose from (logit units, as RIDGE_LAMBDA).
CANDIDATE_RIDGES: tuple[float, ...] = (0.3, 1.0, 3.0)
#: Most extra features a candidate adds (subsets of CANDIDATE_FEATURES up to this size).
MAX_EXTRA_FEATURES = 2


@dataclass(frozen=True)
class Candidate:
    """A feature set (the shipped seven plus ``extra``) and a ridge strength."""

    extra: tuple[str, ...]
    ridge: float

    def label(self) -> str:
        return f"{'+'.join(self.extra) or 'shipped features'} (ridge {self.ridge:g})"


def candidates(
    names: Sequence[str] | None = None,
    ridges: Sequence[float] = CANDIDATE_RIDGES,
    max_extra: int = MAX_EXTRA_FEATURES,
) -> list[Candidate]:
    """Every subset of ``names`` (default all :data:`CANDIDATE_FEATURES`) of at most
    ``max_extra`` features, with every ridge in ``ridges``."""
    pool = list(CANDIDATE_FEATURES if names is None else names)
    for name in pool:
        if name not in CANDIDATE_FEATURES:
            raise InputError("feature", name, f"one of {', '.join(CANDIDATE_FEATURES)}")
    return [
        Candidate(tuple(subset), float(lam))
        for k in range(max_extra + 1)
        for subset in itertools.combinations(pool, k)
        for lam in ridges
    ]


# --------------------------------------------------------------------------------------------
# A batched copy of the run model's fit (planner.utilisation.fit_utilisation)
# --------------------------------------------------------------------------------------------


class _Problem:
    """The published runs as arrays, with every candidate column computed once."""

    def __init__(self, runs: pd.DataFrame) -> None:
        self.n = len(runs)
        self.ids = runs["id"].to_numpy()
        self.families = runs["family"].to_numpy()
        log_gpus = np.log10(runs["gpus"].to_numpy(dtype=float) / REFERENCE_GPUS)
        self.log_gpus = log_gpus
        # the shipped columns with cluster_scale filled per fold below (NaN kept here)
        self.base = design_matrix(
            runs["bf16_dense_tflops"].to_numpy(dtype=float),
            runs["dense_tflops"].to_numpy(dtype=float),
            runs["moe"].to_numpy(dtype=float),
            runs["active_params"].to_numpy(dtype=float),
            runs["gpus"].to_numpy(dtype=float),
            log10_gpus_fill=math.nan,
        )
        self.extra = {name: fn(runs) for name, (_, fn) in CANDIDATE_FEATURES.items()}
        factor = runs["attention_factor"].to_numpy(dtype=float)
        target = runs["observed_mfu"].to_numpy(dtype=float) * factor
        self.y = np.log(target / (1.0 - target))
        self.factor = factor
        self.goodput = runs["goodput"].to_numpy(dtype=float)
        self.observed = runs["observed_utilisation"].to_numpy(dtype=float)

    def design(self, extra: Sequence[str], train: np.ndarray) -> np.ndarray:
        """(folds, runs, features): the cluster fill is the mean over each fold's train runs."""
        known = ~np.isnan(self.log_gpus)
        counts = (train & known).sum(axis=1)
        sums = np.where(train & known, self.log_gpus, 0.0).sum(axis=1)
        fill = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        x = np.broadcast_to(self.base, (train.shape[0], *self.base.shape)).copy()
        x[:, :, _CLUSTER] = np.where(known[None, :], self.log_gpus[None, :], fill[:, None])
        if extra:
            cols = np.stack([self.extra[e] for e in extra], axis=1)
            x = np.concatenate([x, np.broadcast_to(cols, (train.shape[0], *cols.shape))], axis=2)
        return x

    def fit(self, x: np.ndarray, train: np.ndarray, ridge: float) -> np.ndarray:
        """Coefficients per fold (folds, features): least absolute deviations in logit space
        plus ``ridge x |slopes - prior|^2``, cluster_scale <= 0, as
        :func:`planner.utilisation.fit_utilisation`."""
        k = x.shape[2]
        prior = np.concatenate([PRIOR, np.zeros(k - len(PRIOR))])
        y = self.y - x @ prior  # (folds, runs)
        penalty = np.full((x.shape[0], k), ridge)
        penalty[:, 0] = 0.0
        delta = _lad_batch(x, y, train.astype(float), penalty)
        bad = delta[:, _CLUSTER] > 0
        if bad.any():  # the constraint binds: refit those folds with the coefficient at 0
            pinned = penalty[bad].copy()
            pinned[:, _CLUSTER] = _PIN
            delta[bad] = _lad_batch(x[bad], y[bad], train[bad].astype(float), pinned)
            delta[bad, _CLUSTER] = 0.0
        return delta + prior

    def errors(self, x: np.ndarray, coef: np.ndarray, held: np.ndarray) -> np.ndarray:
        """Signed error predicted / published - 1 of each fold's held-out runs (NaN elsewhere)."""
        mfu = 1.0 / (1.0 + np.exp(-np.einsum("fnk,fk->fn", x, coef))) / self.factor
        err = self.observed / (mfu * self.goodput) - 1.0
        return np.where(held, err, np.nan)


def _lad_batch(x: np.ndarray, y: np.ndarray, weights0: np.ndarray, penalty: np.ndarray):
    """Batched :func:`planner.utilisation._lad_ridge`: re-weighted least squares per fold;
    ``weights0`` is 1 for a fold's training runs, 0 for the rest."""
    eye = np.eye(x.shape[2])
    weights = weights0
    coef = np.zeros(x.shape[::2])
    for _ in range(LAD_ITERATIONS):
        xw = np.swapaxes(x * weights[:, :, None], 1, 2)
        a = xw @ x + penalty[:, :, None] * eye
        coef = np.linalg.solve(a, xw @ y[:, :, None])[..., 0]
        resid = np.abs(y - (x @ coef[:, :, None])[..., 0])
        weights = weights0 / np.maximum(resid, LAD_RESIDUAL_FLOOR)
    return coef


def _folds(labels: np.ndarray, within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, held) boolean masks, one row per label among the ``within`` runs."""
    keys = list(dict.fromkeys(labels[within]))
    held = np.array([within & (labels == k) for k in keys])
    return within[None, :] & ~held, held


def _cv(problem: _Problem, cand: Candidate, labels: np.ndarray, within: np.ndarray) -> np.ndarray:
    train, held = _folds(labels, within)
    x = problem.design(cand.extra, train)
    coef = problem.fit(x, train, cand.ridge)
    return np.nanmax(np.where(held, problem.errors(x, coef, held), -np.inf), axis=0)


def _score(errors: np.ndarray) -> float:
    return float(np.mean(np.abs(np.log1p(errors))))


def _labels(problem: _Problem, holdout: str) -> np.ndarray:
    if holdout == "run":
        return np.arange(problem.n)
    if holdout == "family":
        return problem.families
    raise InputError("holdout", holdout, "'run' or 'family'")


def cross_validation_errors(
    extra: Sequence[str] = (),
    ridge: float = RIDGE_LAMBDA,
    holdout: str = "run",
    runs: pd.DataFrame | None = None,
) -> np.ndarray:
    """Cross-validated signed errors of ONE fixed candidate (no selection): with no extra
    features and the shipped ridge these are ``validate_runs``' leave-one-out (``holdout =
    "run"``) or leave-one-family-out (``"family"``) errors."""
    problem = _Problem(load_runs() if runs is None else runs)
    labels = _labels(problem, holdout)
    cand = candidates(extra, (ridge,), len(extra))[-1]
    return _cv(problem, cand, labels, np.ones(problem.n, dtype=bool))


@dataclass(frozen=True)
class NestedResult:
    """Outer errors of a selection procedure and what it picked.

    Attributes
    ----------
    holdout : str
        ``"run"`` (leave-one-out) or ``"family"`` (leave-one-family-out), outer and inner.
    errors : ndarray
        Signed outer error predicted / published - 1 per run (file order).
    picks : list of Candidate
        The candidate chosen for each outer fold (fitted without the held-out runs).
    median_abs_error, mean_abs_log_error, share_within_30pct : float
    """

    holdout: str
    errors: np.ndarray
    picks: list[Candidate]
    median_abs_error: float
    mean_abs_log_error: float
    share_within_30pct: float

    def pick_counts(self) -> list[tuple[str, int]]:
        """How often each candidate was chosen, most often first."""
        return [(c.label(), k) for c, k in Counter(self.picks).most_common()]


def nested_cross_validation(
    cands: Sequence[Candidate] | None = None,
    holdout: str = "run",
    runs: pd.DataFrame | None = None,
) -> NestedResult:
    """Out-of-sample errors of "choose the candidate by inner cross-validation, then fit".

    For each outer fold (one run, or one family, held out), every candidate in ``cands``
    (default :func:`candidates`: the shipped features plus up to
    :data:`MAX_EXTRA_FEATURES` of :data:`CANDIDATE_FEATURES`, each ridge in
    :data:`CANDIDATE_RIDGES`) is scored by the same kind of cross-validation on the OTHER
    runs only; the best (lowest mean |log(predicted / published)|, then fewer features, then
    the stronger ridge) is fitted to them and predicts the held-out runs. The held-out runs'
    published figures enter neither the choice nor the fit.
    """
    problem = _Problem(load_runs() if runs is None else runs)
    pool = list(cands) if cands is not None else candidates()
    if not pool:
        raise InputError("candidates", 0, "at least one candidate")
    labels = _labels(problem, holdout)
    everyone = np.ones(problem.n, dtype=bool)
    outer_train, outer_held = _folds(labels, everyone)
    errors = np.full(problem.n, np.nan)
    picks: list[Candidate] = []
    for train, held in zip(outer_train, outer_held, strict=True):
        scored = [
            (_score(_cv(problem, c, labels, train)[train]), len(c.extra), -c.ridge, i)
            for i, c in enumerate(pool)
        ]
        best = pool[min(scored)[3]]
        picks.append(best)
        x = problem.design(best.extra, train[None, :])
        coef = problem.fit(x, train[None, :], best.ridge)
        errors[held] = problem.errors(x, coef, held[None, :])[0, held]
    a = np.abs(errors)
    return NestedResult(
        holdout=holdout,
        errors=errors,
        picks=picks,
        median_abs_error=float(np.median(a)),
        mean_abs_log_error=_score(errors),
        share_within_30pct=float(np.mean(a <= WITHIN)),
    )
