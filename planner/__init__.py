"""planner: GPU and data-centre power capacity planning.

The library is plain functions and small dataclasses, one module per physical concept:
:mod:`planner.catalog`, :mod:`planner.workloads`, :mod:`planner.power`,
:mod:`planner.economics`, :mod:`planner.sizing`. The CLI, the Streamlit app and the reports
call these and compute nothing of their own.
"""

from planner.assumptions import SizingAssumptions
from planner.catalog import Accelerator, Catalog, get_accelerator, load_catalog
from planner.errors import CatalogError, InputError, PlannerError
from planner.sizing import SizingResult, compare_accelerators, size_frame, size_training
from planner.version import __version__
from planner.workloads import TrainingRun, training_flops

__all__ = [
    "Accelerator",
    "Catalog",
    "CatalogError",
    "InputError",
    "PlannerError",
    "SizingAssumptions",
    "SizingResult",
    "TrainingRun",
    "__version__",
    "compare_accelerators",
    "get_accelerator",
    "load_catalog",
    "size_frame",
    "size_training",
    "training_flops",
]
