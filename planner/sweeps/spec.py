"""The sweep file: a base model, and for any of its inputs a grid of values or a distribution.

A sweep is a TOML file (``data/sweeps/*.toml`` ships examples)::

    title = "GTC 2024 Hopper run: MFU, PUE and goodput uncertain"

    [base]
    kind = "sizing"              # sizing | serving | optimize | buildout | projection
    preset = "gtc2024-hopper"    # a sizing / serving preset, and/or the request's own keys

    [sample]
    samples = 100000             # Monte Carlo draws (per grid point); needs a distribution
    seed = 2024
    batch_size = 100000          # scenarios per Parquet file

    [inputs]
    mfu = { dist = "uniform", min = 0.17, max = 0.23 }
    pue = { dist = "triangular", min = 1.1, mode = 1.2, max = 1.4 }
    goodput = { dist = "normal", mean = 0.9, sd = 0.03, min = 0.8, max = 0.99 }
    "runs[0].deadline_days" = { grid = [60, 90, 120] }          # optimiser: a dotted path
    accelerator = { dist = "choice", values = ["h100", "gb200"], weights = [3, 1] }

Distributions (every parameter a finite number, in the input's own unit):

- ``uniform``: ``min``, ``max`` (``min <= max``).
- ``triangular``: ``min``, ``mode``, ``max`` (``min <= mode <= max``).
- ``normal``: ``mean``, ``sd`` (> 0); optional ``min`` / ``max`` truncate it.
- ``lognormal``: ``median`` (> 0), ``sigma`` (> 0, of the natural log); optional ``min`` /
  ``max`` truncate it.
- ``choice``: ``values`` (numbers, or strings for a string input such as ``accelerator``),
  optional ``weights`` (>= 0, not all 0; default equal).
- a grid: ``grid = [v1, v2, ...]``: every value is crossed with every other grid input.

Every value a distribution can draw must lie in the input's allowed range (the core's own
bounds: MFU in [1e-06, 1], PUE in [1, 3] ...): a tail that leaves it must be truncated with
``min`` / ``max`` inside the range. Every mistake is one :class:`InputError` naming the field
as written in the file (``inputs.pue.max``), the value as given and the allowed range.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.errors import InputError, PlannerError

#: Kinds of base a sweep may name.
KINDS: tuple[str, ...] = ("sizing", "serving", "optimize", "buildout", "projection")
#: Kinds evaluated in one vectorised call (no per-draw Python).
CLOSED_FORM_KINDS: tuple[str, ...] = ("sizing", "serving")
#: Kinds fanned out one scenario at a time (over Dask).
FANOUT_KINDS: tuple[str, ...] = ("optimize", "buildout", "projection")
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "triangular", "normal", "lognormal", "choice")
#: Most scenarios in one sweep (grid points x samples): 10 million rows of Parquet.
MAX_SCENARIOS = 10_000_000
#: Default scenarios per Parquet file: closed-form kinds, fan-out kinds.
DEFAULT_BATCH = {"closed": 100_000, "fanout": 10}
MAX_SEED = 2**63 - 1

_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # dist: (required, optional)
    "uniform": (("min", "max"), ()),
    "triangular": (("min", "mode", "max"), ()),
    "normal": (("mean", "sd"), ("min", "max")),
    "lognormal": (("median", "sigma"), ("min", "max")),
    "choice": (("values",), ("weights",)),
}


@dataclass(frozen=True)
class InputRange:
    """What an input accepts: a closed/open numeric interval, or a set of strings."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None

    def words(self) -> str:
        if self.choices is not None:
            return "one of: " + ", ".join(self.choices)
        left = "(" if self.low_open or self.low == -math.inf else "["
        right = ")" if self.high_open or self.high == math.inf else "]"
        return f"a number in {left}{self.low:g}, {self.high:g}{right}"

    def contains(self, value: float) -> bool:
        if self.low_open and not value > self.low or not value >= self.low:
            return False
        return not (self.high_open and not value < self.high or not value <= self.high)


@dataclass(frozen=True)
class Distribution:
    """One input's grid or distribution, validated (see the module docstring)."""

    name: str
    dist: str  # "grid" or one of DISTRIBUTIONS
    params: dict[str, Any]

    @property
    def is_grid(self) -> bool:
        return self.dist == "grid"

    @property
    def is_string(self) -> bool:
        values = self.params.get("values", self.params.get("grid", []))
        return any(isinstance(v, str) for v in values)

    def to_dict(self) -> dict[str, Any]:
        if self.is_grid:
            return {"grid": list(self.params["grid"])}
        return {"dist": self.dist, **self.params}


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the base, its inputs' grids and distributions, seed and samples."""

    kind: str
    base: dict[str, Any]
    inputs: tuple[Distribution, ...]
    samples: int = 1
    seed: int = 0
    batch_size: int | None = None
    title: str = ""
    source: str = "sweep"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def grid_inputs(self) -> tuple[Distribution, ...]:
        return tuple(d for d in self.inputs if d.is_grid)

    @property
    def random_inputs(self) -> tuple[Distribution, ...]:
        return tuple(d for d in self.inputs if not d.is_grid)

    @property
    def draws(self) -> int:
        """Monte Carlo draws per grid point (1 when nothing is random)."""
        return self.samples if self.random_inputs else 1

    @property
    def size(self) -> int:
        """Number of scenarios: grid points x draws."""
        return math.prod(len(d.params["grid"]) for d in self.grid_inputs) * self.draws

    @property
    def input_names(self) -> list[str]:
        return [d.name for d in self.inputs]

    @property
    def batch(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return DEFAULT_BATCH["closed" if self.kind in CLOSED_FORM_KINDS else "fanout"]

    def to_dict(self) -> dict[str, Any]:
        """The sweep as a TOML-shaped dict (``spec_from_dict`` gives it back)."""
        return {
            "title": self.title,
            "base": {"kind": self.kind, **self.base},
            "sample": {
                "samples": self.samples,
                "seed": self.seed,
                **({} if self.batch_size is None else {"batch_size": self.batch_size}),
            },
            "inputs": {d.name: d.to_dict() for d in self.inputs},
            **({"options": dict(self.options)} if self.options else {}),
        }

    def fingerprint(self) -> str:
        """Hex digest of what the scenarios ARE (base, inputs, seed): not samples or batches.

        Two runs of a sweep with the same fingerprint draw the same scenarios (a larger
        ``samples`` extends the draws: each input has its own random stream), so a rerun
        skips what is done.
        """
        payload = {
            "kind": self.kind,
            "base": _base_identity(self),
            "inputs": [d.to_dict() | {"name": d.name} for d in self.inputs],
            "seed": self.seed,
            "options": self.options,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _base_identity(spec: SweepSpec) -> dict[str, Any]:
    """The base as given, with a named file replaced by the hash of its contents."""
    out = dict(spec.base)
    for key in ("scenario", "study"):
        if key in out:
            from planner.sweeps.base import resolve_file

            path = resolve_file(spec.kind, out[key])
            out[key + "_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# --- reading ---------------------------------------------------------------------------------


def load_spec(name_or_path: str | Path) -> SweepSpec:
    """Read and validate a sweep file, or a shipped sweep by name (``data/sweeps/NAME.toml``)."""
    from planner._paths import data_dir
    from planner.data_errors import read_toml

    text = str(name_or_path)
    path = Path(text)
    if not path.is_file():
        shipped = {p.stem: p for p in sorted((data_dir() / "sweeps").glob("*.toml"))}
        stem = path.name.removesuffix(".toml")
        if stem in shipped and path.parent in (Path("."), Path("data") / "sweeps"):
            path = shipped[stem]
        else:
            raise InputError(
                "sweep",
                text,
                "an existing sweep TOML file or a shipped sweep name: " + ", ".join(shipped),
                detail="file not found",
            )
    return spec_from_dict(read_toml(path, "sweep file"), source=str(path))


def spec_from_dict(data: Mapping[str, Any], *, source: str = "sweep") -> SweepSpec:
    """Validate a sweep given as a dict (the parsed TOML). Raises :class:`InputError`."""
    from planner.sweeps.base import check_base, input_range

    _keys("", data, ("title", "description", "base", "sample", "inputs", "options"))
    base = _table("base", data.get("base"))
    kind = base.get("kind")
    if kind not in KINDS:
        raise InputError("base.kind", kind if kind is not None else "missing", _one_of(KINDS))
    base = {k: v for k, v in base.items() if k != "kind"}
    options = dict(_table("options", data.get("options", {})))
    check_base(kind, base, options)
    sample = _table("sample", data.get("sample", {}))
    _keys("sample", sample, ("samples", "seed", "batch_size"))
    seed = sample.get("seed", 0)
    _whole("sample.seed", seed, 0, MAX_SEED)
    batch_size = sample.get("batch_size")
    if batch_size is not None:
        _whole("sample.batch_size", batch_size, 1, MAX_SCENARIOS)
    raw_inputs = _table("inputs", data.get("inputs"))
    if not raw_inputs:
        raise InputError("inputs", "{}", "at least one input with a grid or a distribution")
    inputs = tuple(
        _distribution(name, body, input_range(kind, name, base))
        for name, body in raw_inputs.items()
    )
    has_random = any(not d.is_grid for d in inputs)
    if has_random and "samples" not in sample:
        raise InputError(
            "sample.samples", "missing", f"a whole number in 1..{MAX_SCENARIOS:,} (draws)"
        )
    samples = sample.get("samples", 1)
    _whole("sample.samples", samples, 1, MAX_SCENARIOS)
    spec = SweepSpec(
        kind=kind,
        base=base,
        inputs=inputs,
        samples=int(samples),
        seed=int(seed),
        batch_size=None if batch_size is None else int(batch_size),
        title=str(data.get("title", "")),
        source=source,
        options=options,
    )
    if spec.size > MAX_SCENARIOS:
        raise InputError(
            "sample.samples",
            samples,
            f"at most {MAX_SCENARIOS:,} scenarios in all (grid points x samples)",
            detail=f"{spec.size:,} scenarios",
        )
    return spec


def _distribution(name: str, body: Any, allowed: InputRange) -> Distribution:
    where = f"inputs.{name}"
    if not isinstance(body, Mapping):
        raise InputError(
            where, body, '{ grid = [...] } or { dist = "uniform", min = ..., max = ... }'
        )
    if "grid" in body:
        _keys(where, body, ("grid",))
        values = body["grid"]
        if not isinstance(values, list) or not values:
            raise InputError(f"{where}.grid", values, "a non-empty list of values")
        for i, v in enumerate(values):
            _value_in(f"{where}.grid[{i}]", v, allowed)
        return Distribution(name, "grid", {"grid": list(values)})
    dist = body.get("dist")
    if dist not in DISTRIBUTIONS:
        raise InputError(
            f"{where}.dist",
            dist if dist is not None else "missing",
            _one_of(DISTRIBUTIONS) + ", or a grid = [...]",
        )
    required, optional = _PARAMS[dist]
    _keys(where, body, ("dist", *required, *optional))
    for key in required:
        if key not in body:
            raise InputError(
                f"{where}.{key}", "missing", f"a value ({dist} needs {', '.join(required)})"
            )
    p = {k: body[k] for k in (*required, *optional) if k in body}
    if dist == "choice":
        values = p["values"]
        if not isinstance(values, list) or not values:
            raise InputError(f"{where}.values", values, "a non-empty list of values")
        for i, v in enumerate(values):
            _value_in(f"{where}.values[{i}]", v, allowed)
        if "weights" in p:
            w = p["weights"]
            if not isinstance(w, list) or len(w) != len(values):
                raise InputError(
                    f"{where}.weights", w, f"a list of {len(values)} numbers (one per value)"
                )
            for i, x in enumerate(w):
                _number(f"{where}.weights[{i}]", x)
                if x < 0:
                    raise InputError(f"{where}.weights[{i}]", x, "a number >= 0")
            if sum(w) <= 0:
                raise InputError(f"{where}.weights", w, "weights that are not all 0")
        return Distribution(name, dist, p)
    if allowed.choices is not None:
        raise InputError(
            f"{where}.dist",
            dist,
            f"choice or a grid ({name} is one of: {', '.join(allowed.choices)})",
        )
    for key, value in p.items():
        _number(f"{where}.{key}", value)
    if dist in ("uniform", "triangular"):
        if p["min"] > p["max"]:
            raise InputError(f"{where}.min", p["min"], f"at most max = {p['max']:g}")
        if dist == "triangular" and not p["min"] <= p["mode"] <= p["max"]:
            raise InputError(
                f"{where}.mode", p["mode"], f"in [min, max] = [{p['min']:g}, {p['max']:g}]"
            )
        low, high = p["min"], p["max"]
    else:
        scale = "sd" if dist == "normal" else "sigma"
        if not p[scale] > 0:
            raise InputError(f"{where}.{scale}", p[scale], "a number > 0 (the spread)")
        if dist == "lognormal" and not p["median"] > 0:
            raise InputError(f"{where}.median", p["median"], "a number > 0")
        if "min" in p and "max" in p and p["min"] >= p["max"]:
            raise InputError(f"{where}.min", p["min"], f"below max = {p['max']:g}")
        low = p.get("min", -math.inf if dist == "normal" else 0.0)
        high = p.get("max", math.inf)
        centre = p["mean"] if dist == "normal" else p["median"]
        if not low <= centre <= high:
            key = "mean" if dist == "normal" else "median"
            raise InputError(
                f"{where}.{key}", centre, f"in the truncation [min, max] = [{low:g}, {high:g}]"
            )
        for side, bound, limit in (("min", low, allowed.low), ("max", high, allowed.high)):
            if side not in p and math.isfinite(limit) and not allowed.contains(bound):
                raise InputError(
                    f"{where}.{side}",
                    "missing",
                    f"a truncation bound inside {name}'s allowed range, {allowed.words()} "
                    f"(a {dist} without it draws outside that range)",
                )
    _value_in(f"{where}.min" if "min" in p else where, low, allowed)
    _value_in(f"{where}.max" if "max" in p else where, high, allowed)
    return Distribution(name, dist, p)


# --- small checks ----------------------------------------------------------------------------


def _one_of(names: tuple[str, ...]) -> str:
    return "one of: " + ", ".join(names)


def _table(where: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        raise InputError(where, "missing", f"a [{where}] table")
    if not isinstance(value, Mapping):
        raise InputError(where, value, f"a [{where}] table")
    return value


def _keys(where: str, body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            field_name = f"{where}.{key}" if where else key
            raise InputError(
                field_name, body[key], "no such key: expected one of " + ", ".join(allowed)
            )


def _number(where: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(where, value, "a finite number")


def _whole(where: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(where, value, f"a whole number in {low:,}..{high:,}")


def _value_in(where: str, value: Any, allowed: InputRange) -> None:
    if allowed.choices is not None:
        if value not in allowed.choices:
            raise InputError(where, value, allowed.words())
        return
    _number(where, value)
    if not allowed.contains(float(value)):
        raise InputError(where, value, allowed.words())


_VARY = re.compile(r"^\s*([A-Za-z_][\w.\[\]]*)\s*=\s*([a-z]+)\s*:(.*)$")


def parse_vary(text: str) -> tuple[str, dict[str, Any]]:
    """``"mfu=uniform:0.35:0.45"`` -> ``("mfu", {"dist": "uniform", "min": 0.35, "max": 0.45})``.

    Forms: ``uniform:MIN:MAX``, ``triangular:MIN:MODE:MAX``, ``normal:MEAN:SD[:MIN:MAX]``,
    ``lognormal:MEDIAN:SIGMA[:MIN:MAX]``, ``choice:V1,V2,...``; for a one-line command option
    (``planner size --vary``). The result is checked as a sweep input would be.
    """
    m = _VARY.match(text)
    allowed = "NAME=uniform:MIN:MAX, triangular:MIN:MODE:MAX, normal:MEAN:SD[:MIN:MAX], lognormal:MEDIAN:SIGMA[:MIN:MAX] or choice:V1,V2"
    if not m or m.group(2) not in DISTRIBUTIONS:
        raise InputError("--vary", text, allowed)
    name, dist, rest = m.group(1), m.group(2), m.group(3)
    if dist == "choice":
        values: list[Any] = []
        for item in rest.split(","):
            item = item.strip()
            try:
                values.append(float(item))
            except ValueError:
                values.append(item)
        return name, {"dist": "choice", "values": values}
    try:
        numbers = [float(x) for x in rest.split(":")]
    except ValueError:
        raise InputError("--vary", text, allowed) from None
    forms: dict[str, list[tuple[str, ...]]] = {
        "uniform": [("min", "max")],
        "triangular": [("min", "mode", "max")],
        "normal": [("mean", "sd"), ("mean", "sd", "min", "max")],
        "lognormal": [("median", "sigma"), ("median", "sigma", "min", "max")],
    }
    for names in forms[dist]:
        if len(names) == len(numbers):
            return name, {"dist": dist, **dict(zip(names, numbers, strict=True))}
    raise InputError("--vary", text, allowed)


def check_distributions(
    kind: str, base: Mapping[str, Any], inputs: Mapping[str, Any]
) -> tuple[Distribution, ...]:
    """Validate ``{name: distribution}`` for a base (as a sweep's ``[inputs]``)."""
    from planner.sweeps.base import input_range

    return tuple(_distribution(n, b, input_range(kind, n, base)) for n, b in inputs.items())


__all__ = [
    "CLOSED_FORM_KINDS",
    "DISTRIBUTIONS",
    "FANOUT_KINDS",
    "KINDS",
    "Distribution",
    "InputRange",
    "PlannerError",
    "SweepSpec",
    "check_distributions",
    "load_spec",
    "parse_vary",
    "spec_from_dict",
]
