"""Sweeps and uncertainty: Monte Carlo and grids over any input of a sizing, a service or a
site plan, on one machine by default and on a Dask cluster when one machine is not enough.

- :mod:`~planner.sweeps.spec`: the sweep file (a base, and per input a grid or a distribution);
- :mod:`~planner.sweeps.sample`: seeded draws and grids, stable scenario ids;
- :mod:`~planner.sweeps.closed`: sizing and serving, vectorised (a million draws per call);
- :mod:`~planner.sweeps.fanout`: optimiser (and build-out) scenarios over Dask;
- :mod:`~planner.sweeps.store`: atomic per-batch Parquet files, resume;
- :mod:`~planner.sweeps.summary`: P10/P50/P90, tornado ranks, infeasible share, binding
  limits, DuckDB queries;
- :mod:`~planner.sweeps.uncertainty`: P10/P50/P90 of one sizing or service.

Nothing here imports Dask, pyarrow or DuckDB until a sweep runs.
"""

from __future__ import annotations

from planner.sweeps.api import SweepResult, as_spec, run_sweep
from planner.sweeps.spec import SweepSpec, load_spec, parse_vary, spec_from_dict

__all__ = [
    "SweepResult",
    "SweepSpec",
    "as_spec",
    "load_spec",
    "parse_vary",
    "run_sweep",
    "spec_from_dict",
]
