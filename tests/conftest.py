"""Shared fixtures (the shipped catalog, the canonical GTC 2024 run), Hypothesis profiles and
how ``dev.py test`` spreads the suite over the cores (pytest-xdist, ``--dist loadgroup``).

Hypothesis: every property test is seeded (``derandomize=True``), so two runs of the same code
draw the same examples and a failure reproduces; no deadline and no "too slow" health check, so
a loaded machine cannot fail a test. Profiles (``HYPOTHESIS_PROFILE=...`` or
``pytest --hypothesis-profile=...``): ``ci`` and ``dev`` (the default) are the seeded run;
``explore`` draws fresh random examples (and remembers failures in ``.hypothesis/``) to hunt
for new bugs. A test's own ``@settings(max_examples=...)`` keeps its budget in every profile.

Parallel runs: tests that must not share the machine with themselves, or that share one
expensive module fixture, carry an ``xdist_group`` (added below by file, see
:data:`XDIST_GROUPS`) so one worker runs them in order; the slowest tests are started first
(:data:`SLOW_FIRST`) so no worker is left with a long test at the end.

Streamlit's AppTest scans the metadata of every installed distribution for custom components
each time a new AppTest runs (about 0.3 s of CPU; the suite creates a few hundred), and each new
AppTest compiles every page script again (with Streamlit's "magic" rewrite) because its script
cache is its own: the installed packages do not change during a run, and a script's bytecode is
kept per path, modification time and size, so each worker does both once
(:func:`pytest_configure`), as one Streamlit server does for all its sessions.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from planner.catalog import Catalog, load_catalog
from planner.workloads import TrainingRun

_SEEDED = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
    "print_blob": True,
}
settings.register_profile("ci", **_SEEDED)
settings.register_profile("dev", **_SEEDED)
settings.register_profile(
    "explore", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: test file -> xdist group: the files whose tests run on one worker, in file order.
XDIST_GROUPS = {
    # one real Chromium and one streamlit server at a time
    "test_app_browser.py": "browser",
    # one wheel build (a module fixture) shared by the installed-wheel tests
    "test_wheel.py": "wheel",
}

#: Tests started before all others (longest first), by node id prefix: on two workers a
#: 20-second test started last would leave one core idle for its whole run.
#: Single tests only if they use no module-scoped fixture: moved away from their file's other
#: tests, such a test would set that fixture up a second time (whole files move together).
SLOW_FIRST: tuple[str, ...] = (
    # whole files kept together (their module fixture is set up once): the browser group is
    # the longest unit of work (one worker, about a minute), the wheel group builds a wheel
    "tests/test_app_browser.py::",
    "tests/test_wheel.py::",
    "tests/test_app_fuzz.py::test_no_widget_value_on_any_page_reaches_a_traceback",
    "tests/test_optimization.py::test_property_loosening_a_limit_never_worsens",
    "tests/test_app_fuzz.py::test_no_link_reaches_a_traceback",
    "tests/test_optimization.py::test_property_infeasible_is_an_answer",
    "tests/test_cli_fuzz.py::test_fuzzed_cli_",
    "tests/test_serving.py::test_cli_bad_input_is_one_line_and_exit_2",
    "tests/test_serving.py::test_cli_compare_models_small_vs_large",
    "tests/test_optimization_numerics.py::test_a_solve_in_a_fresh_process_prints_nothing",
    "tests/test_serving.py::test_cli_preset_with_reasoning_and_grid_gives_a_verdict",
    "tests/test_optimization_numerics.py::test_time_with_mixed_chips_is_optimal_and_meets",
    "tests/test_serving_validation.py::test_planner_validate_json_carries_the_serving_section",
)


def pytest_configure(config: pytest.Config) -> None:
    """Scan the installed distributions for Streamlit components, and compile each page
    script, once per process that runs tests (module docstring; not the xdist controller)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    try:
        from streamlit.components.v2 import manifest_scanner
        from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    except ImportError:  # no Streamlit: the app tests skip
        return
    _compile_each_script_once(ScriptCache)
    _scan_components_once(manifest_scanner)


def _scan_components_once(manifest_scanner: Any) -> None:
    scan = manifest_scanner.scan_component_manifests
    if getattr(scan, "planner_scanned_once", False):
        return
    once = functools.lru_cache(maxsize=None)(scan)

    @functools.wraps(scan)
    def scan_once(max_workers: int | None = None) -> list[Any]:
        return list(once(max_workers))  # a new list each call, as the original returns

    scan_once.planner_scanned_once = True  # type: ignore[attr-defined]
    manifest_scanner.scan_component_manifests = scan_once


def _compile_each_script_once(script_cache: Any) -> None:
    compile_script = script_cache.get_bytecode
    if getattr(compile_script, "planner_compiled_once", False):
        return
    compiled: dict[tuple[str, int, int, Any], Any] = {}

    @functools.wraps(compile_script)
    def get_bytecode(self: Any, script_path: str) -> Any:
        from streamlit import config as st_config

        path = os.path.abspath(script_path)
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size, st_config.get_option("runner.magicEnabled"))
        if key not in compiled:
            compiled[key] = compile_script(self, script_path)
        return compiled[key]

    get_bytecode.planner_compiled_once = True  # type: ignore[attr-defined]
    script_cache.get_bytecode = get_bytecode


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    loadgroup = _loadgroup(config)
    for item in items:
        group = XDIST_GROUPS.get(item.path.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            if loadgroup:
                _name_the_group(item, group)

    def rank(item: pytest.Item) -> int:
        for i, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return i
        return len(SLOW_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its place


def _loadgroup(config: pytest.Config) -> bool:
    """True in an xdist worker under ``--dist loadgroup`` (xdist sets the option there)."""
    return bool(getattr(config.option, "loadgroup", False))


def _name_the_group(item: pytest.Item, group: str) -> None:
    """Give ``item`` the node id suffix ``@group`` by which ``--dist loadgroup`` schedules a
    group as one unit (pytest-xdist's convention).

    pytest-xdist 3.8 writes the suffix into ``item._nodeid``, which pytest 9.2's structured
    node ids no longer read, so every group was silently spread over the workers (two Streamlit
    servers and two Chromiums at once; pytest-xdist issue #1386). Where the node id is
    structured, the suffix is written there; elsewhere xdist's own hook still adds it.
    :func:`pytest_collection_finish` fails the run if a group is not named either way."""
    suffix = f"@{group}"
    if item.nodeid.endswith(suffix) or not hasattr(item, "_id"):
        return
    from _pytest.nodeid import NodeId  # pytest >= 9.2

    item._id = NodeId.parse(item.nodeid + suffix)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under ``--dist loadgroup``, every test of :data:`XDIST_GROUPS` carries its group."""
    if not _loadgroup(session.config):
        return
    lost = [
        item.nodeid
        for item in session.items
        if (group := XDIST_GROUPS.get(item.path.name)) and not item.nodeid.endswith(f"@{group}")
    ]
    if lost:
        raise pytest.UsageError(
            f"--dist loadgroup would spread {len(lost)} grouped tests over the workers "
            f"(e.g. {lost[0]}): pytest-xdist's group suffix is not in effect"
        )


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def gtc_run() -> TrainingRun:
    """GPT-MoE-1.8T as NVIDIA's GTC 2024 comparison: 2.8e11 active params, 1.3e13 tokens."""
    return TrainingRun(params=1.8e12, active_params=2.8e11, tokens=1.3e13)


@pytest.fixture(scope="session")
def contract_keys() -> set[str]:
    """Top-level keys `planner size --json` promises (issue 2's scripted contract)."""
    return {
        "accelerator",
        "precision",
        "flops",
        "gpus",
        "systems",
        "days",
        "gpu_hours",
        "mfu",
        "goodput",
        "pue",
        "design_pue",
        "it_power_mw",
        "facility_power_mw",
        "average_facility_power_mw",
        "energy_mwh",
        "cost_usd",
        "emissions_tco2",
        "assumptions",
        # issue 10: amortised economics and embodied carbon, each its own top-level key
        "pricing",
        "amortized_cost_usd",
        "rental_cost_usd",
        "cluster_capex_usd",
        "embodied_tco2",
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop this worker's fork server (tests/_forkserver.py), if a test started one."""
    import sys

    forkserver = sys.modules.get("_forkserver")
    if forkserver is not None and forkserver._server is not None:
        forkserver._server.close()
