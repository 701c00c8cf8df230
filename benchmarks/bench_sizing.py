"""How many sizing scenarios per second: the vectorised path vs one call per scenario.

Target (issue 2): a million scenarios in about a second on a 2-core machine.

    .venv/bin/python benchmarks/bench_sizing.py [--n 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from planner.catalog import load_catalog
from planner.sizing import size_frame, size_training
from planner.workloads import TrainingRun


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scalar-n", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.n
    flops = 10 ** rng.uniform(22, 26, n)
    gpus = rng.integers(8, 100_000, n)
    mfu = rng.uniform(0.2, 0.6, n)
    pue = rng.uniform(1.05, 1.6, n)
    run = TrainingRun(flops=flops)
    chip = load_catalog().get("h100")

    t_one_chip = best_of(args.repeat, lambda: size_training(run, chip, gpus=gpus, mfu=mfu, pue=pue))
    ids = np.array(load_catalog().ids)[rng.integers(0, 13, n)]
    frame = pd.DataFrame({"accelerator": ids, "flops": flops, "gpus": gpus, "mfu": mfu, "pue": pue})
    t_frame = best_of(args.repeat, lambda: size_frame(frame))

    k = args.scalar_n

    def scalar_loop() -> None:
        for i in range(k):
            size_training(
                TrainingRun(flops=float(flops[i])),
                chip,
                gpus=int(gpus[i]),
                mfu=float(mfu[i]),
                pue=float(pue[i]),
            )

    t_scalar = best_of(1, scalar_loop)
    print(
        f"vectorised, one chip   : {n:,} scenarios in {t_one_chip * 1e3:8.1f} ms -> {n / t_one_chip:14,.0f} scenarios/s"
    )
    print(
        f"vectorised, 13 chips   : {n:,} scenarios in {t_frame * 1e3:8.1f} ms -> {n / t_frame:14,.0f} scenarios/s (size_frame, DataFrame in and out)"
    )
    print(
        f"one call per scenario  : {k:,} scenarios in {t_scalar * 1e3:8.1f} ms -> {k / t_scalar:14,.0f} scenarios/s"
    )
    print(f"speed-up of the vectorised path: {(n / t_one_chip) / (k / t_scalar):,.0f}x")


if __name__ == "__main__":
    main()
