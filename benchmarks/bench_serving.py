"""How many serving scenarios per second: the vectorised path vs one call per scenario.

Target (issue 12): a million demand scenarios in about a second on a 2-core machine.

    .venv/bin/python benchmarks/bench_serving.py [--n 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from planner.catalog import load_catalog
from planner.serving import ServingDemand, serve, serve_frame


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scalar-n", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.n
    demand = ServingDemand(
        users=10 ** rng.uniform(4, 9, n),
        queries_per_user_day=rng.uniform(1, 30, n),
        input_tokens=rng.integers(100, 4000, n).astype(float),
        output_tokens=rng.integers(50, 2000, n).astype(float),
    )
    mult = rng.uniform(1, 20, n)
    chip = load_catalog().get("h100")

    def demand_only() -> object:
        return serve(chip, demand, model="llama-3.1-70b", reasoning_multiplier=mult)

    def with_models() -> object:  # estimated architectures: model size varies per scenario too
        params = 10 ** rng.uniform(9, 11.5, n)
        return serve(chip, demand, params=params, reasoning_multiplier=mult)

    t_demand = best_of(args.repeat, demand_only)
    t_models = best_of(args.repeat, with_models)

    ids = np.array(load_catalog().ids)[rng.integers(0, len(load_catalog()), n)]
    frame = pd.DataFrame(
        {
            "accelerator": ids,
            "model": "llama-3.1-70b",
            "users": demand.users,
            "queries_per_user_day": demand.queries_per_user_day,
            "input_tokens": demand.input_tokens,
            "output_tokens": demand.output_tokens,
            "reasoning_multiplier": mult,
        }
    )
    t_frame = best_of(args.repeat, lambda: serve_frame(frame))

    k = args.scalar_n
    t0 = time.perf_counter()
    for i in range(k):
        serve(
            chip,
            ServingDemand(
                float(demand.users[i]),
                float(demand.queries_per_user_day[i]),
                float(demand.input_tokens[i]),
                float(demand.output_tokens[i]),
            ),
            model="llama-3.1-70b",
            reasoning_multiplier=float(mult[i]),
        )
    per_s_scalar = k / (time.perf_counter() - t0)

    print(f"{n:,} serving scenarios, best of {args.repeat}:")
    print(f"  one chip, Llama 3.1 70B, demand + reasoning vary:  {t_demand * 1e3:8.0f} ms")
    print(f"  one chip, model size varies too (estimated arch.): {t_models * 1e3:8.0f} ms")
    print(
        f"  {len(load_catalog())} chips mixed (serve_frame):                 {t_frame * 1e3:8.0f} ms"
    )
    print(
        f"  one call per scenario: {per_s_scalar:,.0f} per s "
        f"({n / t_demand / per_s_scalar:,.0f}x slower than the vectorised path)"
    )


if __name__ == "__main__":
    main()
