"""Build-out input: validated sites, quarters, chips and workloads, and the coefficients the
formulation reads (:class:`BuildoutData`). No solver objects here.

Time: a horizon of ``quarters`` quarters from ``start`` (``"2026Q1"``), at most
:data:`MAX_QUARTERS`. A quarter is 365.25 / 4 = 91.3125 days. Anything "from a quarter" is
available for that whole quarter; a system installed in quarter ``q`` runs in ``q`` and retires
after its chip's service life (``service_life_years`` x 4 quarters). A plant, battery or grid
upgrade decided in quarter ``d`` is online from ``d + lead_quarters`` (the earliest decision is
the first quarter of the horizon).

Power (per site and quarter), from :mod:`planner.power` via the core's sizing of one system:

- the design-day peak (nameplate IT x design-day PUE) within grid + paid upgrades + on-site
  plants + batteries (a battery carries the hot hours above the annual draw);
- the sustained draw (nameplate IT x annual PUE) within grid + upgrades + plants (no battery);
- the IT nameplate within the floor the building shells provide;
- the energy (average draw x annual PUE x hours) bought from the grid or generated on site.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planner._paths import data_dir
from planner.errors import InputError

MAX_QUARTERS = 40
DAYS_PER_QUARTER = 365.25 / 4.0
HOURS_PER_QUARTER = DAYS_PER_QUARTER * 24.0
MAX_MW = 100_000.0
MAX_USD = 1e13
OBJECTIVES = ("cost", "compute", "finish")
#: US EPA, "Emission Factors for Greenhouse Gas Inventories" (2024), Table 1: natural gas
#: 53.06 kg CO2 per MMBtu.
NATURAL_GAS_KGCO2_PER_MMBTU = 53.06
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")

Mw = Annotated[float, Field(ge=0, le=MAX_MW)]
Usd = Annotated[float, Field(ge=0, le=MAX_USD)]
#: One number for every quarter, or a list with one number per quarter of the horizon.
PerQuarter = (
    Annotated[float, Field(ge=0, le=MAX_USD)] | list[Annotated[float, Field(ge=0, le=MAX_USD)]]
)
Lead = Annotated[int, Field(ge=0, le=MAX_QUARTERS)]


def quarter_index(label: str) -> int:
    """``"2026Q3"`` -> 4 x 2026 + 2 (an absolute count of quarters)."""
    m = _QUARTER.match(str(label))
    if m is None:
        raise ValueError(f"{label!r}")
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def quarter_label(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


QuarterText = Annotated[str, Field(pattern=r"^\d{4}Q[1-4]$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class GridStep(_Strict):
    """Grid connection capacity arriving on a date: ``mw`` more from ``quarter`` on."""

    quarter: QuarterText
    mw: Mw


class Shell(_Strict):
    """Building shell (floor, power distribution) for ``it_mw`` of IT load from ``quarter``."""

    quarter: QuarterText
    it_mw: Mw


class GridUpgrade(_Strict):
    """A paid upgrade of the grid connection: ``mw`` more, online ``lead_quarters`` after the
    decision, for ``cost_usd`` (paid at the decision)."""

    name: str = Field(min_length=1, max_length=80)
    mw: Annotated[float, Field(gt=0, le=MAX_MW)]
    cost_usd: Usd
    lead_quarters: Lead


class OnsitePlant(_Strict):
    """On-site generation bought in units (gas turbines, engines, fuel cells)."""

    name: str = Field(min_length=1, max_length=80)
    kind: Literal["gas-turbine", "gas-engine", "fuel-cell"] = "gas-turbine"
    unit_mw: Annotated[float, Field(gt=0, le=MAX_MW)]
    capex_usd_per_unit: Usd
    max_units: int = Field(ge=0, le=10_000)
    lead_quarters: Lead
    fuel_usd_per_mmbtu: PerQuarter
    heat_rate_btu_per_kwh: float = Field(ge=3_000, le=20_000)
    #: Emissions per MMBtu of fuel; default natural gas (EPA).
    kgco2_per_mmbtu: float = Field(default=NATURAL_GAS_KGCO2_PER_MMBTU, ge=0, le=200)
    variable_om_usd_per_mwh: float = Field(default=0.0, ge=0, le=1_000)


class Battery(_Strict):
    """Batteries bought in units: carry the design-day peak above the sustained draw."""

    name: str = Field(min_length=1, max_length=80)
    unit_mw: Annotated[float, Field(gt=0, le=MAX_MW)]
    unit_mwh: Annotated[float, Field(gt=0, le=10 * MAX_MW)]
    capex_usd_per_unit: Usd
    max_units: int = Field(ge=0, le=10_000)
    lead_quarters: Lead


class Site(_Strict):
    name: str = Field(min_length=1, max_length=80)
    region: str = Field(default="", max_length=80)
    #: A facility profile of data/facility.csv (annual and design-day PUE) or an annual PUE.
    pue: str | Annotated[float, Field(ge=1.0, le=3.0)] = "hyperscale-air"
    #: Design-day PUE (the power limit); default the profile's, else derived from ``pue``.
    design_pue: Annotated[float, Field(ge=1.0, le=3.0)] | None = None
    grid: list[GridStep] = Field(default_factory=list, max_length=200)
    upgrades: list[GridUpgrade] = Field(default_factory=list, max_length=50)
    plants: list[OnsitePlant] = Field(default_factory=list, max_length=50)
    batteries: list[Battery] = Field(default_factory=list, max_length=50)
    #: Floor: IT MW the building shells provide, from their quarters (none: no floor limit).
    shells: list[Shell] = Field(default_factory=list, max_length=200)
    electricity_usd_per_mwh: PerQuarter = 80.0
    grid_gco2_per_kwh: PerQuarter = 370.0
    #: The utility's ramp limit, MW/s (none: no limit). With one, a chip whose training
    #: clusters ramp faster takes ``ramp_mitigation`` at this site, and the peak and sustained
    #: power limits hold its grid-side draw after it (:attr:`BuildoutData.grid_peak_ratio`: a
    #: GPU power cap bounds every draw, not only the design-day one).
    ramp_limit_mw_per_s: Annotated[float, Field(gt=0, le=MAX_MW)] | None = None
    ramp_mitigation: Literal["smoothing+storage", "battery", "smoothing"] = "smoothing+storage"


class ChipSupply(_Strict):
    """A chip's deliveries to the buyer, price and life (all optional)."""

    #: GPUs delivered in each quarter (unbanked deliveries carry over); none: unlimited.
    deliveries_gpus: PerQuarter | None = None
    #: Server price per GPU in each quarter; default data/chip_economics.csv, falling by
    #: ``price_decline_per_year``.
    price_usd_per_gpu: PerQuarter | None = None
    price_decline_per_year: float = Field(default=0.0, ge=0, lt=1)
    #: Years a system runs before it retires; default data/economics.csv service_life_years.
    service_life_years: float | None = Field(default=None, gt=0, le=20)


class Run(_Strict):
    name: str = Field(min_length=1, max_length=80)
    flops: float | None = Field(default=None, gt=0, le=1e32)
    params: float | None = Field(default=None, gt=0, le=1e16)
    active_params: float | None = Field(default=None, gt=0, le=1e16)
    tokens: float | None = Field(default=None, gt=0, le=1e17)
    start: QuarterText
    deadline: QuarterText
    #: Optional: done within this many days of the start of ``start`` (trims the window).
    deadline_days: float | None = Field(default=None, gt=0, le=3_650)
    #: The site the run trains at; default: the model chooses one site.
    site: str | None = None
    precision: Literal["bf16", "fp8", "fp4"] = "bf16"
    mfu: (
        Annotated[float, Field(gt=0, le=1)]
        | dict[str, Annotated[float, Field(gt=0, le=1)]]
        | (None)
    ) = None
    goodput: float | None = Field(default=None, gt=0, le=1)


class Serving(_Strict):
    name: str = Field(min_length=1, max_length=80)
    model: str | None = None
    params: float | None = Field(default=None, gt=0, le=1e16)
    active_params: float | None = Field(default=None, gt=0, le=1e16)
    #: Daily active users per quarter (or ``tokens_per_day``).
    users: PerQuarter | None = None
    tokens_per_day: PerQuarter | None = None
    queries_per_user_day: float = Field(default=10.0, gt=0, le=1e4)
    input_tokens: float = Field(default=1_000.0, gt=0, le=1e7)
    output_tokens: float = Field(default=500.0, gt=0, le=1e6)
    precision: Literal["bf16", "fp8", "fp4"] | None = None
    #: Regions that may serve it (site ``region``); default: every site.
    regions: list[str] | None = None
    #: Price of a million tokens not served; none: demand must be met every quarter.
    unmet_usd_per_million_tokens: float | None = Field(default=None, ge=0, le=1e6)


class BuildoutScenario(_Strict):
    title: str = ""
    description: str = ""
    start: QuarterText
    quarters: int = Field(ge=1, le=MAX_QUARTERS)
    objective: Literal["cost", "compute", "finish"] = "cost"
    #: The run whose finish the ``finish`` objective brings forward.
    finish_run: str | None = None
    discount_rate_per_year: float = Field(default=0.0, ge=0, le=1)
    carbon_usd_per_tco2: float = Field(default=0.0, ge=0, le=10_000)
    budget_usd_per_year: float | None = Field(default=None, gt=0, le=MAX_USD)
    #: Candidate chips (catalog ids); default every catalog chip with a price.
    chips: list[str] | None = None
    supply: dict[str, ChipSupply] = Field(default_factory=dict)
    network_overhead: float | None = Field(default=None, ge=0, le=1)
    sites: list[Site] = Field(min_length=1, max_length=200)
    runs: list[Run] = Field(default_factory=list, max_length=200)
    serving: list[Serving] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _serving_demand_given(self) -> BuildoutScenario:
        for i, s in enumerate(self.serving):
            if (s.users is None) == (s.tokens_per_day is None):
                raise InputError(
                    f"serving[{i}].users", "missing", "exactly one of users or tokens_per_day"
                )
            if s.model is None and s.params is None:
                raise InputError(f"serving[{i}].model", "missing", "a model id or params")
        return self


# --- loading -------------------------------------------------------------------------------


def example_dir() -> Path:
    return data_dir() / "buildout"


def example_names() -> list[str]:
    """Shipped build-out examples (``data/buildout/*.toml``) by name."""
    return sorted(p.stem for p in example_dir().glob("*.toml"))


def buildout_path(name_or_path: str | Path) -> Path:
    """A shipped example's name (``campus-2026-2030``) or a TOML file."""
    text = str(name_or_path)
    shipped = example_dir() / f"{text}.toml"
    if "/" not in text and not text.endswith(".toml") and shipped.exists():
        return shipped
    from planner.data_errors import check_input_path

    path = Path(text).expanduser()
    if not path.exists() and "/" not in text and not text.endswith(".toml"):
        raise InputError("build-out", text, "a file or one of: " + ", ".join(example_names()))
    return check_input_path(path, "build-out file", "FILE_OR_NAME")


def load_buildout(name_or_path: str | Path) -> BuildoutScenario:
    """Read and validate a build-out TOML (a shipped name or a path)."""
    from planner.data_errors import read_toml

    path = buildout_path(name_or_path)
    return buildout_from_dict(read_toml(path, "build-out file"), source=path.name)


def buildout_from_dict(data: dict[str, Any], *, source: str = "") -> BuildoutScenario:
    """Validate ``data`` (a parsed TOML); a bad value is one :class:`InputError` line."""
    try:
        scenario = BuildoutScenario.model_validate(data)
    except ValidationError as exc:
        raise _input_error(exc, source) from None
    check_scenario(scenario)
    return scenario


def _input_error(exc: ValidationError, source: str) -> InputError:
    from planner.data_errors import describe, resolve

    problem = resolve(exc, BuildoutScenario)
    text = describe(problem)
    if problem.kind == "missing":
        value: Any = "missing"
        allowed = "a value (" + text + ")"
    elif problem.kind == "extra_forbidden":
        value, allowed = problem.loc[-1] if problem.loc else "?", text.split(": ", 1)[-1]
    else:
        value = problem.value
        allowed = text.split("expected ", 1)[1] if "expected " in text else text
    return InputError(problem.path or "(file)", value, allowed, detail=source)


def check_scenario(s: BuildoutScenario) -> None:
    """Checks across fields: dates in the horizon and in order, leads within the horizon,
    per-quarter lists of the horizon's length, known chips, sites and runs."""
    from planner.catalog import load_catalog

    first = quarter_index(s.start)
    last = first + s.quarters - 1
    horizon = f"a quarter in {s.start}..{quarter_label(last)}"

    def in_horizon(name: str, label: str, lo: int = first) -> int:
        q = quarter_index(label)
        if not lo <= q <= last:
            allowed = (
                horizon
                if lo == first
                else f"a quarter in {quarter_label(lo)}..{quarter_label(last)}"
            )
            raise InputError(name, label, allowed)
        return q

    def per_quarter(name: str, value: Any) -> None:
        if isinstance(value, list) and len(value) != s.quarters:
            raise InputError(
                name,
                f"a list of {len(value)}",
                f"one number or a list of {s.quarters} (one per quarter)",
            )

    cat = load_catalog()
    for i, chip in enumerate(s.chips or []):
        cat.get(chip, field=f"chips[{i}]")
    for chip, sup in s.supply.items():
        cat.get(chip, field=f"supply.{chip}")
        for name in ("deliveries_gpus", "price_usd_per_gpu"):
            per_quarter(f"supply.{chip}.{name}", getattr(sup, name))
    names = [site.name for site in s.sites]
    for i, site in enumerate(s.sites):
        at = f"sites[{i}]"
        if names.count(site.name) > 1:
            raise InputError(f"{at}.name", site.name, "a name no other site has")
        if isinstance(site.pue, str):
            from planner.assumptions import facility_profiles

            profiles = list(facility_profiles().index)
            if site.pue not in profiles:
                raise InputError(
                    f"{at}.pue", site.pue, "a number in [1, 3] or one of: " + ", ".join(profiles)
                )
        for key in ("grid", "shells"):
            previous = None
            for j, step in enumerate(getattr(site, key)):
                q = in_horizon(f"{at}.{key}[{j}].quarter", step.quarter)
                if previous is not None and q < previous:
                    raise InputError(
                        f"{at}.{key}[{j}].quarter",
                        step.quarter,
                        f"a quarter from {quarter_label(previous)} on (steps in date order)",
                    )
                previous = q
        for key in ("upgrades", "plants", "batteries"):
            for j, item in enumerate(getattr(site, key)):
                if item.lead_quarters > s.quarters - 1:
                    raise InputError(
                        f"{at}.{key}[{j}].lead_quarters",
                        item.lead_quarters,
                        f"at most {s.quarters - 1} (the horizon has {s.quarters} quarters)",
                    )
        for j, plant in enumerate(site.plants):
            per_quarter(f"{at}.plants[{j}].fuel_usd_per_mmbtu", plant.fuel_usd_per_mmbtu)
        per_quarter(f"{at}.electricity_usd_per_mwh", site.electricity_usd_per_mwh)
        per_quarter(f"{at}.grid_gco2_per_kwh", site.grid_gco2_per_kwh)
    run_names = [r.name for r in s.runs]
    for i, run in enumerate(s.runs):
        at = f"runs[{i}]"
        if run_names.count(run.name) > 1:
            raise InputError(f"{at}.name", run.name, "a name no other run has")
        if run.flops is None and (run.tokens is None or (run.params or run.active_params) is None):
            raise InputError(
                f"{at}.flops", "missing", "flops, or params (or active_params) and tokens"
            )
        q0 = in_horizon(f"{at}.start", run.start)
        in_horizon(f"{at}.deadline", run.deadline, lo=q0)
        if run.site is not None and run.site not in names:
            raise InputError(f"{at}.site", run.site, "one of: " + ", ".join(names))
        if isinstance(run.mfu, dict):
            for chip in run.mfu:
                if chip != "default":
                    cat.get(chip, field=f"{at}.mfu.{chip}")
    regions = {site.region for site in s.sites}
    for i, svc in enumerate(s.serving):
        at = f"serving[{i}]"
        per_quarter(f"{at}.users", svc.users)
        per_quarter(f"{at}.tokens_per_day", svc.tokens_per_day)
        for j, region in enumerate(svc.regions or []):
            if region not in regions:
                raise InputError(
                    f"{at}.regions[{j}]", region, "one of: " + ", ".join(sorted(regions))
                )
    if s.objective == "finish" and s.finish_run not in run_names:
        raise InputError("finish_run", s.finish_run or "missing", "one of: " + ", ".join(run_names))
    if s.objective == "compute" and s.budget_usd_per_year is None:
        raise InputError(
            "budget_usd_per_year", "missing", "a budget in USD per year with objective = compute"
        )


# --- the resolved coefficients --------------------------------------------------------------


def _pue_for(site: Site, quarter: int) -> tuple[float, float]:
    """(annual PUE, design-day PUE) of ``site`` in ``quarter`` (constant over the horizon).

    To be replaced by planner.facility (the one place that resolves annual and design-day PUE).
    """
    del quarter  # a site's cooling does not change over the horizon in this model
    from planner.assumptions import facility_profiles
    from planner.facility import design_day_pue

    if isinstance(site.pue, str):
        row = facility_profiles().loc[site.pue]
        annual, design = float(row["pue"]), float(row["design_pue"])
    else:
        annual, design = float(site.pue), float(design_day_pue(site.pue))
    if site.design_pue is not None:
        design = float(site.design_pue)
    return annual, design


def _series(value: Any, n: int) -> np.ndarray:
    if value is None:
        return np.full(n, np.nan)
    if isinstance(value, list):
        return np.asarray(value, dtype=float)
    return np.full(n, float(value))


@dataclass
class BuildoutData:
    """Everything the formulation reads, as plain arrays and frames (the diagnosis protocol's
    ``model_data``: :func:`planner.optimization.buildout.diagnose.with_limit` returns a copy
    with one limit changed).

    Indices: ``sites`` (names), ``chips`` (ids), ``quarters`` (labels; position ``q`` = 0..Q-1).
    Per-site arrays are ``[site, quarter]``; per-chip ``[chip, quarter]``.
    """

    scenario: BuildoutScenario
    sites: list[str]
    chips: list[str]
    quarters: list[str]
    #: Grid connection steps: (site index, quarter position, MW added from then on).
    grid_steps: list[tuple[int, int, float]]
    floor_it_mw: np.ndarray  # [s, q]; inf where no shells are given
    pue: np.ndarray  # [s] annual
    design_pue: np.ndarray  # [s]
    electricity_usd_per_mwh: np.ndarray  # [s, q]
    grid_gco2_per_kwh: np.ndarray  # [s, q]
    #: One row per upgrade / plant / battery: site, name, kind, mw, cost, lead, max_units...
    options: pd.DataFrame
    fuel_usd_per_mmbtu: dict[tuple[str, str], np.ndarray]
    gpus_per_system: np.ndarray  # [c]
    it_mw_per_system: np.ndarray  # [c] nameplate IT (server + network)
    avg_it_mw_per_system: np.ndarray  # [c] average draw, IT
    price_usd_per_system: np.ndarray  # [c, q] servers + networking
    life_quarters: np.ndarray  # [c]
    deliveries_gpus: np.ndarray  # [c, q]; inf where unlimited
    pflops_per_system: np.ndarray  # [c] dense BF16 peak
    #: Draw of an idle system / its nameplate (data/serving_assumptions.csv).
    idle_load_fraction: float
    #: runs: name, site (or ""), start_q, deadline_q, window_days per quarter (array),
    #: system_days per chip (dict; chips that cannot run it are absent).
    runs: list[dict[str, Any]]
    #: serving: name, sites allowed, demand per quarter (fraction of its reference), systems
    #: per chip at the reference demand, unmet price per unit of reference demand per quarter.
    serving: list[dict[str, Any]]
    budget_usd_per_year: float | None
    discount_rate_per_year: float
    carbon_usd_per_tco2: float
    objective: str
    finish_run: str | None
    build_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: Grid-side peak / nameplate peak per [site, chip] after the ramp-limit mitigation
    #: (:func:`planner.training.transients.grid_mitigation`); None: 1 everywhere.
    grid_peak_ratio: np.ndarray | None = None
    #: One row per (site, chip) with a ramp limit: the mitigation, its ratio, its store and
    #: the cluster size it was sized at.
    mitigations: pd.DataFrame = field(default_factory=pd.DataFrame)

    def peak_ratio(self) -> np.ndarray:
        """:attr:`grid_peak_ratio`, ones where none is given ([site, chip])."""
        if self.grid_peak_ratio is None:
            return np.ones((len(self.sites), len(self.chips)))
        return self.grid_peak_ratio

    @property
    def n_quarters(self) -> int:
        return len(self.quarters)

    def grid_mw(self) -> np.ndarray:
        """Grid connection capacity per [site, quarter], MW (the steps added up)."""
        grid = np.zeros((len(self.sites), self.n_quarters))
        for i, q, mw in self.grid_steps:
            grid[i, max(q, 0) :] += mw
        return grid

    def window_days(self, run: dict[str, Any]) -> np.ndarray:
        """Days of each quarter inside ``run``'s window [start_day, end_day)."""
        lo = np.arange(self.n_quarters) * DAYS_PER_QUARTER
        hi = np.minimum(lo + DAYS_PER_QUARTER, run["end_day"])
        return np.clip(hi - np.maximum(lo, run["start_day"]), 0.0, None)

    def discount(self) -> np.ndarray:
        """Discount factor of each quarter (payments at the start of the quarter)."""
        q = np.arange(self.n_quarters)
        return (1.0 + self.discount_rate_per_year) ** (-q / 4.0)

    def copy(self) -> BuildoutData:
        return copy.deepcopy(self)


def _default_chips() -> list[str]:
    from planner.amortization import chip_economics
    from planner.catalog import load_catalog

    priced = set(chip_economics().index)
    return [c for c in load_catalog().ids if c in priced]


@lru_cache(maxsize=512)
def _system_numbers(chip_id: str, network_overhead: float | None) -> tuple[float, float, float]:
    """(nameplate IT MW, average IT MW, dense BF16 PFLOP/s) of ONE system, from the core's
    sizing (its power chain, measured average load where known)."""
    from planner.catalog import load_catalog
    from planner.sizing import size_training
    from planner.workloads import TrainingRun

    chip = load_catalog().get(chip_id)
    # a stated goodput (its value does not matter here): the power of ONE system, without the
    # failure model's hot spares (a run's spares are in its work, _run_system_days)
    over: dict[str, Any] = {"goodput": 1.0}
    if network_overhead is not None:
        over["network_overhead"] = network_overhead
    one = size_training(TrainingRun(flops=1e21), chip, gpus=chip.gpus_per_system, mfu=0.4, **over)
    return (
        float(one.it_power_mw),
        float(one.average_it_power_mw),
        chip.bf16_dense_tflops * chip.gpus_per_system / 1e3,
    )


def run_assumptions(run: Run, chip_id: str, network_overhead: float | None) -> tuple[Any, Any, Any]:
    """``(work, chip, SizingAssumptions)`` of a build-out run on ``chip_id``: its precision,
    MFU (else the run model's) and goodput (else goodput(N) of the failure model)."""
    from planner.assumptions import SizingAssumptions
    from planner.catalog import load_catalog
    from planner.workloads import TrainingRun

    chip = load_catalog().get(chip_id)
    mfu = run.mfu.get(chip_id, run.mfu.get("default")) if isinstance(run.mfu, dict) else run.mfu
    a = SizingAssumptions.defaults().with_(f"build-out run {run.name}", precision=run.precision)
    if mfu is not None:
        a = a.with_(f"build-out run {run.name}: mfu", mfu=mfu)
    if run.goodput is not None:
        a = a.with_(f"build-out run {run.name}: goodput", goodput=run.goodput)
    if network_overhead is not None:
        a = a.with_("build-out file: network_overhead", network_overhead=network_overhead)
    work = TrainingRun(
        flops=run.flops,
        params=run.params,
        active_params=run.active_params,
        tokens=run.tokens,
        name=run.name,
    )
    return work, chip, a


def _run_system_days(
    run: Run, chip_id: str, network_overhead: float | None, goodput: Any = None
) -> float | None:
    """System-days of ``chip_id`` ``run`` occupies (the core's sizing of ONE system: FLOPs /
    (dense peak x MFU x goodput)); None when the chip lacks the precision. A run taking
    goodput(N) is counted at its pair's stated goodput (``goodput``, an
    :class:`~planner.optimization.goodput_loop.AssumedGoodput`) and its hot spares ride with
    it: x (1 + spares per GPU), the systems it occupies beyond those that train."""
    from planner.optimization import goodput_loop
    from planner.sizing import size_training

    work, chip, a = run_assumptions(run, chip_id, network_overhead)
    if chip.dense_tflops_or_none(run.precision) is None:
        return None
    a, spares_per_system = goodput_loop.stated(a, goodput, chip.gpus_per_system)
    try:
        one = size_training(work, chip, gpus=chip.gpus_per_system, assumptions=a)
    except InputError:
        return None
    return float(one.days) * (1.0 + spares_per_system / chip.gpus_per_system)


def run_goodputs(run: Run, chips: list[str], network_overhead: float | None, days: float) -> dict:
    """The first goodput(N) guess of ``run`` on each chip: the failure model's at the GPUs
    the chip needs to finish it in ``days`` (its window), with hot spares; runs that state a
    goodput, and chips without a failure model, get none."""
    from planner.optimization import goodput_loop
    from planner.sizing import failure_model, goodput_from_failure_model

    out = {}
    for chip_id in chips:
        work, chip, a = run_assumptions(run, chip_id, network_overhead)
        if chip.dense_tflops_or_none(run.precision) is None or not goodput_from_failure_model(a):
            continue
        if failure_model([chip.id], 0, 1.0, chip.gpus_per_system) is None:
            continue
        g = goodput_loop.deadline_goodputs(chip, [work], [days], [a])[0]
        if g is not None:
            out[(run.name, chip_id)] = g
    return out


def build_data(scenario: BuildoutScenario) -> BuildoutData:
    """Resolve ``scenario`` into the coefficients of the build-out MILP (core calls only)."""
    from planner.amortization import chip_prices, cluster_capex_usd, parameter
    from planner.catalog import load_catalog
    from planner.serving import serving_default_table

    t0 = time.perf_counter()
    check_scenario(scenario)
    cat = load_catalog()
    n = scenario.quarters
    first = quarter_index(scenario.start)
    labels = [quarter_label(first + q) for q in range(n)]
    chips = [cat.get(c).id for c in (scenario.chips or _default_chips())]
    sites = [s.name for s in scenario.sites]
    S, C = len(sites), len(chips)

    steps: list[tuple[int, int, float]] = []
    floor = np.full((S, n), np.inf)
    pue, design = np.zeros(S), np.zeros(S)
    price_e, gco2 = np.zeros((S, n)), np.zeros((S, n))
    rows: list[dict[str, Any]] = []
    fuel: dict[tuple[str, str], np.ndarray] = {}
    for i, site in enumerate(scenario.sites):
        for step in site.grid:
            steps.append((i, quarter_index(step.quarter) - first, step.mw))
        if site.shells:
            floor[i] = 0.0
            for shell in site.shells:
                floor[i, quarter_index(shell.quarter) - first :] += shell.it_mw
        pue[i], design[i] = _pue_for(site, first)
        price_e[i] = _series(site.electricity_usd_per_mwh, n)
        gco2[i] = _series(site.grid_gco2_per_kwh, n)
        for u in site.upgrades:
            rows.append(
                dict(
                    site=site.name,
                    name=u.name,
                    kind="grid-upgrade",
                    unit_mw=u.mw,
                    unit_mwh=0.0,
                    cost_usd=u.cost_usd,
                    lead_quarters=u.lead_quarters,
                    max_units=1,
                    heat_rate_btu_per_kwh=0.0,
                    kgco2_per_mmbtu=0.0,
                    variable_om_usd_per_mwh=0.0,
                )
            )
        for p in site.plants:
            rows.append(
                dict(
                    site=site.name,
                    name=p.name,
                    kind=p.kind,
                    unit_mw=p.unit_mw,
                    unit_mwh=0.0,
                    cost_usd=p.capex_usd_per_unit,
                    lead_quarters=p.lead_quarters,
                    max_units=p.max_units,
                    heat_rate_btu_per_kwh=p.heat_rate_btu_per_kwh,
                    kgco2_per_mmbtu=p.kgco2_per_mmbtu,
                    variable_om_usd_per_mwh=p.variable_om_usd_per_mwh,
                )
            )
            fuel[(site.name, p.name)] = _series(p.fuel_usd_per_mmbtu, n)
        for b in site.batteries:
            rows.append(
                dict(
                    site=site.name,
                    name=b.name,
                    kind="battery",
                    unit_mw=b.unit_mw,
                    unit_mwh=b.unit_mwh,
                    cost_usd=b.capex_usd_per_unit,
                    lead_quarters=b.lead_quarters,
                    max_units=b.max_units,
                    heat_rate_btu_per_kwh=0.0,
                    kgco2_per_mmbtu=0.0,
                    variable_om_usd_per_mwh=0.0,
                )
            )
    options = pd.DataFrame(
        rows,
        columns=[
            "site",
            "name",
            "kind",
            "unit_mw",
            "unit_mwh",
            "cost_usd",
            "lead_quarters",
            "max_units",
            "heat_rate_btu_per_kwh",
            "kgco2_per_mmbtu",
            "variable_om_usd_per_mwh",
        ],
    )

    gps = np.zeros(C)
    it_mw, avg_mw, pflops = np.zeros(C), np.zeros(C), np.zeros(C)
    price = np.zeros((C, n))
    life = np.zeros(C, dtype=int)
    deliveries = np.full((C, n), np.inf)
    default_life = parameter("service_life_years")
    years = np.arange(n) / 4.0
    for k, chip_id in enumerate(chips):
        chip = cat.get(chip_id)
        sup = scenario.supply.get(chip_id, ChipSupply())
        gps[k] = chip.gpus_per_system
        it_mw[k], avg_mw[k], pflops[k] = _system_numbers(chip_id, scenario.network_overhead)
        if sup.price_usd_per_gpu is not None:
            per_gpu = _series(sup.price_usd_per_gpu, n)
        else:
            base = float(chip_prices(chip)[0])
            per_gpu = base * (1.0 - sup.price_decline_per_year) ** years
        capex = cluster_capex_usd(chip.gpus_per_system, per_gpu)
        price[k] = np.asarray(capex.servers_usd, dtype=float) + np.asarray(
            capex.networking_usd, dtype=float
        )
        life_years = sup.service_life_years or default_life
        life[k] = max(1, int(round(life_years * 4)))
        if sup.deliveries_gpus is not None:
            deliveries[k] = _series(sup.deliveries_gpus, n)

    runs = []
    for run in scenario.runs:
        q0 = quarter_index(run.start) - first
        q1 = quarter_index(run.deadline) - first
        start_day = q0 * DAYS_PER_QUARTER
        end_day = (q1 + 1) * DAYS_PER_QUARTER
        if run.deadline_days is not None:
            end_day = min(end_day, start_day + run.deadline_days)
        system_days = {}
        guesses = run_goodputs(run, chips, scenario.network_overhead, end_day - start_day)
        for chip_id in chips:
            days = _run_system_days(
                run, chip_id, scenario.network_overhead, guesses.get((run.name, chip_id))
            )
            if days is not None:
                system_days[chip_id] = days
        if not system_days:
            raise InputError(
                f"runs[{scenario.runs.index(run)}].precision",
                run.precision,
                "a precision one of the candidate chips has",
            )
        runs.append(
            dict(
                name=run.name,
                site=run.site or "",
                start_day=start_day,
                end_day=end_day,
                system_days=system_days,
                goodput=guesses,
            )
        )

    serving = [
        _serving_coefficients(i, svc, scenario, chips, n) for i, svc in enumerate(scenario.serving)
    ]
    ratio, mitigations = _ramp_mitigations(scenario, chips, runs)
    return BuildoutData(
        scenario=scenario,
        sites=sites,
        chips=chips,
        quarters=labels,
        grid_steps=steps,
        floor_it_mw=floor,
        pue=pue,
        design_pue=design,
        electricity_usd_per_mwh=price_e,
        grid_gco2_per_kwh=gco2,
        options=options,
        fuel_usd_per_mmbtu=fuel,
        gpus_per_system=gps,
        it_mw_per_system=it_mw,
        avg_it_mw_per_system=avg_mw,
        price_usd_per_system=price,
        life_quarters=life,
        deliveries_gpus=deliveries,
        pflops_per_system=pflops,
        idle_load_fraction=float(serving_default_table()["idle_load_fraction"]["value"]),
        runs=runs,
        serving=serving,
        budget_usd_per_year=scenario.budget_usd_per_year,
        discount_rate_per_year=scenario.discount_rate_per_year,
        carbon_usd_per_tco2=scenario.carbon_usd_per_tco2,
        objective=scenario.objective,
        finish_run=scenario.finish_run,
        build_s=time.perf_counter() - t0,
        grid_peak_ratio=ratio,
        mitigations=mitigations,
    )


def _ramp_mitigations(
    scenario: BuildoutScenario, chips: list[str], runs: list[dict[str, Any]]
) -> tuple[np.ndarray | None, pd.DataFrame]:
    """Per [site, chip] of the sites with a ramp limit: the grid-side peak ratio after
    ``site.ramp_mitigation`` (:func:`planner.training.transients.grid_mitigation`), sized at
    the largest training cluster of that chip a run needs (its system-days over its window,
    whole systems; one system when no run uses the chip), at the site's annual PUE and the
    file's network overhead. The ratio of
    GPU power smoothing does not depend on the cluster's size; whether a cluster needs a
    mitigation at all (its own ramp within the limit) does."""
    from planner.catalog import load_catalog
    from planner.training.transients import grid_mitigation, training_power_profile

    if all(site.ramp_limit_mw_per_s is None for site in scenario.sites):
        return None, pd.DataFrame()
    cat = load_catalog()
    ratio = np.ones((len(scenario.sites), len(chips)))
    rows = []
    for i, site in enumerate(scenario.sites):
        if site.ramp_limit_mw_per_s is None:
            continue
        annual, _ = _pue_for(site, 0)
        for k, chip_id in enumerate(chips):
            chip = cat.get(chip_id)
            # the largest cluster a run trains on: its system-days over its window
            sizes = [
                np.ceil(run["system_days"][chip_id] / (run["end_day"] - run["start_day"]) - 1e-9)
                * chip.gpus_per_system
                for run in runs
                if chip_id in run["system_days"]
            ]
            gpus = float(max(sizes, default=chip.gpus_per_system))
            profile = training_power_profile(
                gpus, chip_id, network_overhead=scenario.network_overhead, pue=annual
            )
            mit = grid_mitigation(
                profile,
                ramp_limit_mw_per_s=site.ramp_limit_mw_per_s,
                mitigation=site.ramp_mitigation,
                electricity_usd_per_mwh=float(np.nanmean(_series(site.electricity_usd_per_mwh, 1))),
            )
            ratio[i, k] = mit.grid_peak_ratio
            rows.append({"site": site.name, "chip": chip_id, "gpus": gpus, **mit.to_dict()})
    frame = pd.DataFrame(rows).drop(columns=["sources", "n_gpus"], errors="ignore")
    return ratio, frame


def _serving_coefficients(
    i: int, svc: Serving, scenario: BuildoutScenario, chips: list[str], n: int
) -> dict[str, Any]:
    """Systems per chip for the service's largest quarter (:func:`planner.serving.serve`,
    whole replicas at the peak); demand in other quarters is a fraction of that reference."""
    from planner.serving import ServingDemand, serve

    tokens_per_query = svc.input_tokens + svc.output_tokens
    if svc.users is not None:
        users = _series(svc.users, n)
    else:
        users = _series(svc.tokens_per_day, n) / (svc.queries_per_user_day * tokens_per_query)
    ref = float(users.max())
    systems: dict[str, float] = {}
    if ref > 0:
        demand = ServingDemand(
            users=ref,
            queries_per_user_day=svc.queries_per_user_day,
            input_tokens=svc.input_tokens,
            output_tokens=svc.output_tokens,
        )
        over: dict[str, Any] = {"precision": svc.precision} if svc.precision else {}
        for chip_id in chips:
            try:
                res = serve(
                    chip_id,
                    demand,
                    model=svc.model,
                    params=svc.params,
                    active_params=svc.active_params,
                    **over,
                )
            except InputError:
                continue
            if bool(res.feasible):
                systems[chip_id] = float(res.gpus) / float(res.gpus_per_system)
        if not systems:
            raise InputError(
                f"serving[{i}].model",
                svc.model or svc.params,
                "a model one of the candidate chips can serve",
            )
    allowed = [s.name for s in scenario.sites if svc.regions is None or s.region in svc.regions]
    tokens_per_quarter_ref = ref * svc.queries_per_user_day * tokens_per_query * DAYS_PER_QUARTER
    unmet = (
        None
        if svc.unmet_usd_per_million_tokens is None
        else svc.unmet_usd_per_million_tokens * tokens_per_quarter_ref / 1e6
    )
    return dict(
        name=svc.name,
        sites=allowed,
        demand=users / ref if ref > 0 else users,
        reference_users=ref,
        systems_at_reference=systems,
        unmet_usd_per_reference_quarter=unmet,
        tokens_per_quarter_at_reference=tokens_per_quarter_ref,
    )
