"""The analysts' 'compute budget' method of sizing an inference fleet.

Securities analysts size a fleet from a FLOP budget: daily tokens x 2 x parameters FLOPs a
day, spread evenly over the day, divided by a server's peak at an assumed utilisation:

    servers = daily_tokens x 2 x params / 86,400 s / (gpus_per_server x peak x utilisation)

or, when the report states the compute it needs directly, ``required_flops_per_s /
(gpus_per_server x peak x utilisation)``. It has no memory, latency, batching, peak hour or
redundancy: :func:`compute_budget_factors` names what separates it from the production model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.errors import InputError

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class ComputeBudget:
    required_flops_per_s: float
    flops_per_s_per_server: float
    utilisation: float
    servers: float

    def to_dict(self) -> dict[str, float]:
        return {
            "required_flops_per_s": self.required_flops_per_s,
            "flops_per_s_per_server": self.flops_per_s_per_server,
            "utilisation": self.utilisation,
            "servers": self.servers,
        }


def compute_budget(
    *,
    peak_flops_per_gpu: float,
    gpus_per_server: int,
    utilisation: float = 1.0,
    required_flops_per_s: float | None = None,
    daily_tokens: float | None = None,
    params: float | None = None,
) -> ComputeBudget:
    """Servers by the compute-budget method (see the module docstring).

    Give ``required_flops_per_s``, or ``daily_tokens`` and ``params``.
    """
    if not 0.0 < utilisation <= 1.0:
        raise InputError("utilisation", utilisation, "0 < utilisation <= 1")
    if peak_flops_per_gpu <= 0:
        raise InputError("peak_flops_per_gpu", peak_flops_per_gpu, "> 0")
    if gpus_per_server < 1:
        raise InputError("gpus_per_server", gpus_per_server, ">= 1")
    if required_flops_per_s is None:
        if daily_tokens is None or params is None:
            raise InputError("daily_tokens", daily_tokens, "daily tokens and params, or flops")
        if daily_tokens <= 0 or params <= 0:
            raise InputError("daily_tokens", daily_tokens, "> 0 (and params > 0)")
        required_flops_per_s = daily_tokens * 2.0 * params / SECONDS_PER_DAY
    per_server = gpus_per_server * peak_flops_per_gpu * utilisation
    return ComputeBudget(
        float(required_flops_per_s),
        float(per_server),
        float(utilisation),
        float(required_flops_per_s) / per_server,
    )


#: The Anxin Securities (2023) ChatGPT estimate, as its stated inputs: about 50 EFLOP/s of
#: compute, on DGX A100 servers (8 x A100 at 624 TFLOP/s FP16 'with sparsity' each: the
#: datasheet figure analysts quote), i.e. the peak at full utilisation.
ANXIN_2023 = {
    "required_flops_per_s": 50e18,
    "peak_flops_per_gpu": 624e12,
    "gpus_per_server": 8,
    "utilisation": 1.0,
    "published_servers": 10_000,
    "source": (
        "Anxin Securities research report (2023) on ChatGPT's computing-power demand (in "
        "Chinese), quoted in the Chinese tech press: about 50 EFLOPs of compute, about 10,000 "
        "servers; NVIDIA A100 datasheet: 624 TFLOP/s FP16/BF16 with sparsity, 8 GPUs per DGX A100"
    ),
}


def compute_budget_factors(
    budget: ComputeBudget, production: dict[str, Any], stated: ComputeBudget | None = None
) -> list[dict]:
    """The servers of each method and production part, in order, with what separates them.

    ``budget`` is the compute budget for the service's own tokens (2 x active parameters per
    token at the chip's dense peak, full utilisation); ``stated`` the one a published estimate
    states (its own FLOP/s and peak), if any; ``production`` the dict of
    :func:`planner.serving.production.production_fleet`. Rows ``part, systems, note``.
    """
    prod_systems = float(production["production"]["systems"])
    ideal_systems = float(production["ideal"]["systems"])
    rows = []
    if stated is not None:
        rows.append(
            {
                "part": "compute budget, the estimate's stated inputs",
                "systems": stated.servers,
                "note": f"{stated.required_flops_per_s:.3g} FLOP/s at {stated.utilisation:g} of "
                f"{stated.flops_per_s_per_server:.3g} FLOP/s per server "
                f"({stated.required_flops_per_s / budget.required_flops_per_s:.3g}x the "
                "FLOPs of this service's tokens)",
            }
        )
    rows += [
        {
            "part": "compute budget, this service's tokens",
            "systems": budget.servers,
            "note": f"daily tokens x 2 x active parameters = {budget.required_flops_per_s:.3g} "
            f"FLOP/s at {budget.utilisation:g} of {budget.flops_per_s_per_server:.3g} FLOP/s "
            "per server (dense peak): no memory, latency, batching or peak hour",
        },
        {
            "part": "ideal roofline",
            "systems": ideal_systems,
            "note": f"roofline at the planning utilisations, peak hour "
            f"x{float(production['peak_to_average']):g}, batch set by latency and memory "
            f"({ideal_systems / budget.servers:.3g}x the compute budget of the tokens)",
        },
    ]
    for f in production["factors"]:
        rows.append({"part": f["part"], "systems": f["systems_after"], "note": f["note"]})
    rows.append(
        {
            "part": "production estimate",
            "systems": prod_systems,
            "note": f"{prod_systems / ideal_systems:.3g}x the ideal bound"
            + (
                f"; the stated compute budget is {stated.servers / prod_systems:.3g}x this"
                if stated is not None
                else ""
            ),
        }
    )
    return rows
