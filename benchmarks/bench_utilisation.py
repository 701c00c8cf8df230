"""How fast the run model predicts: a million scenarios, one chip and every chip mixed.

Target (issue 10): a million scenarios with the utilisation model in force in about a second.
Also times the model fit and the full validation (37 leave-one-out + 19 leave-family-out fits).

    .venv/bin/python benchmarks/bench_utilisation.py [--n 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from planner.amortization import amortized_cost_usd, embodied_tco2
from planner.catalog import load_catalog
from planner.utilisation import default_model, load_runs, predict_utilisation, validate_runs


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
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.n
    cat = load_catalog()
    default_model(cat)  # fit once (cached), as in any real session
    predict_utilisation("h100", catalog=cat)  # and the cached cross-validated error
    active = 10 ** rng.uniform(9, 12, n)
    gpus = rng.integers(8, 100_000, n).astype(float)
    moe = rng.random(n) < 0.3
    chips = np.array(cat.ids, dtype=object)[rng.integers(0, len(cat), n)]
    precs = np.full(n, "bf16", dtype=object)

    t_one = best_of(
        args.repeat, lambda: predict_utilisation("h100", "fp8", moe, active, gpus, catalog=cat)
    )
    t_mixed = best_of(
        args.repeat, lambda: predict_utilisation(chips, precs, moe, active, gpus, catalog=cat)
    )
    days = rng.uniform(10, 200, n)
    t_econ = best_of(
        args.repeat,
        lambda: (
            amortized_cost_usd(
                gpus, days, 33_750.0, energy_cost_usd=1e6, it_power_mw=gpus * 1.4e-3
            ),
            embodied_tco2(gpus, days, 462.5),
        ),
    )
    runs = load_runs(None, cat)
    from planner.utilisation import fit_utilisation

    t_fit = best_of(args.repeat, lambda: fit_utilisation(runs))
    t_val = best_of(1, lambda: validate_runs(None, cat))
    print(f"{n:,} scenarios, one chip (H100 FP8):      {t_one * 1e3:8.1f} ms")
    print(f"{n:,} scenarios, {len(cat)} chips mixed (BF16):  {t_mixed * 1e3:8.1f} ms")
    print(f"{n:,} amortised cost + embodied tCO2:   {t_econ * 1e3:8.1f} ms")
    print(f"fit on {len(runs)} runs:                        {t_fit * 1e3:8.1f} ms")
    print(f"validate_runs (in-sample + LOO + LOFO):   {t_val * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
