"""planner: GPU and data-centre power capacity planning.

The library is plain functions and small dataclasses, one module per physical concept:
:mod:`planner.catalog`, :mod:`planner.workloads`, :mod:`planner.power`,
:mod:`planner.economics`, :mod:`planner.sizing`. The CLI, the Streamlit app and the reports
call these and compute nothing of their own.

``from planner import size_training`` works as always, but the modules behind these names
(and pandas, which they need) are imported on first use (PEP 562), so ``planner --version``
and ``planner --help`` start without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypy and IDEs see; at run time __getattr__ imports on first use
    from planner.assumptions import SizingAssumptions
    from planner.catalog import Accelerator, Catalog, get_accelerator, load_catalog
    from planner.errors import CatalogError, InputError, PlannerError
    from planner.sizing import SizingResult, compare_accelerators, size_frame, size_training
    from planner.version import __version__
    from planner.workloads import TrainingRun, training_flops

#: Each public name and the module that defines it.
_LAZY: dict[str, str] = {
    "SizingAssumptions": "planner.assumptions",
    "Accelerator": "planner.catalog",
    "Catalog": "planner.catalog",
    "get_accelerator": "planner.catalog",
    "load_catalog": "planner.catalog",
    "CatalogError": "planner.errors",
    "InputError": "planner.errors",
    "PlannerError": "planner.errors",
    "SizingResult": "planner.sizing",
    "compare_accelerators": "planner.sizing",
    "size_frame": "planner.sizing",
    "size_training": "planner.sizing",
    "TrainingRun": "planner.workloads",
    "training_flops": "planner.workloads",
    "__version__": "planner.version",  # the package metadata: importlib.metadata, ~40 ms
}

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


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use (PEP 562) and keep the name."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
