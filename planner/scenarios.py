"""Site scenarios: the work, the deadlines and the limits a cluster plan must respect.

A scenario is a TOML file (``data/scenarios/*.toml``) read by one validating loader
(:func:`load_scenario`). It names

- one ``[site]``: grid connection (``grid_limit_mw``, the PEAK facility power the grid can
  supply), PUE, electricity price, grid carbon intensity and an optional floor limit in racks;
- one or more ``[[runs]]``: the work (``flops``, or ``params`` / ``active_params`` x ``tokens``),
  the deadline, and optionally MFU (one number or one per chip), goodput and precision. A run
  that states no goodput takes goodput(N) of the failure model, as ``planner size``: the
  optimiser re-solves until it is the goodput of the GPUs it chose, hot spares installed
  (:mod:`planner.optimization.goodput_loop`);
- ``[candidates]``: the chips the optimiser may choose from (default: every catalog chip with a
  known price: a row of ``data/chip_economics.csv``, the catalog's price or an override),
  the pricing (``amortized`` | ``rent`` | ``capex``, below), optional supply caps in GPUs
  and price overrides;
- an optional ``budget_usd`` (top-level key; what it limits depends on the pricing, below);
- zero or more ``[[services]]`` (inference services): ``name``; ``model`` (an id of
  ``data/models.csv``) or ``params`` [``active_params``]; the demand ``users``,
  ``queries_per_user_day``, ``input_tokens``, ``output_tokens``; optional
  ``reasoning_multiplier``, ``peak_to_average``, ``tpot_target_s``, ``ttft_target_s``,
  ``precision`` and ``pue`` (a hall of its own; default the site's PUE for the chip). At most
  :data:`MAX_SERVICES`; names are unique across runs and services. ``site.horizon_years``
  (default 1) is the period of serving the plan charges (energy, electricity, rent).

**One site, several PUEs.** A site has one grid connection but may hold an air-cooled hall and
a liquid-cooled hall, and NVIDIA's own GTC 2024 comparison puts Hopper in air (annual PUE
~1.20, design-day 1.30) and GB200 NVL72 in direct liquid cooling (~1.10, design-day 1.15). So ``site.pue`` is either one number for the
whole site or a table keyed by the catalog's ``cooling`` column (``air``, ``liquid``) and/or
by chip id (a chip id wins over its cooling type). Each value is a number or the name of a
``data/facility.csv`` profile (``"colocation-air"``, ``"hyperscale-liquid"``...). Likewise
``runs[i].mfu`` is one number or a table of chip id -> MFU with an optional ``default`` key:
utilisation depends on the chip (GTC 2024: 0.20 on H100, 0.32 on GB200 NVL72, see
``data/presets.toml``).

A ``site.pue`` table must cover every candidate chip (by chip id or cooling type); a chip it
does not cover is an error naming the chip, unless the table has a ``default`` key, which is
then used for it (the fallback is explicit, and recorded as the PUE's source).

**Ramp limit.** An optional ``site.ramp_limit_mw_per_s`` (the utility's limit on how fast the
site's draw may change) makes the grid limit swing-aware: a run whose cluster ramps faster takes
``site.ramp_mitigation`` (``smoothing+storage``, the default: GPU power cap and rack storage;
``battery``; ``smoothing``), and the grid limit holds its grid-side peak after it, the
mitigation's energy and price counted (:mod:`planner.optimization.grid_swing`).

**Grid limit and PUE.** ``site.pue`` is the annual-average PUE: it sets the energy, the
electricity bill and the emissions. The grid connection must carry the design-day peak (hot
weather, chillers at full load), when the overhead is above its annual average. The optional
``site.design_pue`` (a number, a facility profile or a table like ``site.pue``) is used ONLY
for the peak facility power and the grid limit (the racks, supply and budget do not depend on
it). By default it is the facility profile's design-day PUE where ``site.pue`` names a profile
(``data/facility.csv`` ``design_pue``), else derived from the annual PUE with
:func:`planner.power.design_day_pue` (``1 + (pue - 1) x design_pue_overhead_ratio``, 1.5 in
``data/assumptions.csv``, an estimate): 1.20 -> 1.30. Each sizing's ``facility_power_mw`` is
the design-day peak; the source of the design-day PUE says which rule applied.

**Pricing** (``candidates.pricing``, as ``planner size --pricing``; the core's
:data:`planner.assumptions.PRICING_MODES`). ``"amortized"`` (the default): the systems are
bought and on site, and a run or service is charged the hardware's share of its service life
(servers, networking, facility: :func:`planner.amortization.amortized_cost_usd`) + electricity.
``"capex"``: bought and on site, charged the whole cluster capex + electricity. ``"rent"``:
cloud GPU-hours (below). The former names are still read and normalised when the file is
validated: ``"buy"`` = ``"capex"`` (same meaning), ``"auto"`` = ``"amortized"``
(:data:`planner.assumptions.LEGACY_PRICING`); ``scenario.candidates.pricing`` is always one of
the three. Prices come from ``data/chip_economics.csv`` (every shipped chip; estimates marked
there), unless ``candidates.price_usd_per_gpu`` / ``rent_usd_per_gpu_hour`` override them; a
chip of a user's own catalog without a row there is priced by the catalog's own columns.

**What ``budget_usd`` limits**: the plan's total ``cost_usd`` in the pricing in force, the
optimiser's cost objective: the whole cluster capex + electricity under ``capex``; the
amortised hardware + electricity under ``amortized`` (so a budget is NOT a cap on the
up-front spend there: the plan reports ``cluster_capex_usd`` beside it); GPU-hours at rent
under ``rent``. Services count their cost over ``site.horizon_years``.

**Rented capacity is off site.** With ``candidates.pricing = "rent"``, the systems are cloud
capacity in someone else's data centre: they do not draw on the site's grid connection
(``site.grid_limit_mw``) and take none of its racks (``site.max_racks``). Their energy and
emissions are still computed and reported, with the site's PUE, load and grid carbon
intensity as the proxy for the cloud region. A rented pool is not limited by the grid, so with
the ``time`` objective it needs a ``candidates.supply_gpus`` cap (the capacity the cloud will
rent you). Under ``amortized`` and ``capex`` the systems are bought and on site.

Every value not given comes from ``data/assumptions.csv`` (with its source). Types are strict
(TOML already gives real numbers, booleans and strings): ``"yes"`` is not a boolean, ``true``
is not a number, and ``inf`` / ``nan`` are never accepted. Errors name the file, the field as
written (``runs[1].deadline_days``), the value and what is allowed, as a
:class:`planner.errors.CatalogError` (the CLI exits 2 on it). The what-if copies
(``with_grid_limit`` ...) are validated the same way.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from planner import facility
from planner.amortization import chip_economics
from planner.assumptions import (
    GRID_INTENSITY_RANGE,
    LEGACY_PRICING,
    MAX_ELECTRICITY_USD_PER_MWH,
    MIN_FRACTION,
    PRICING_MODES,
    PUE_RANGE,
    SizingAssumptions,
    facility_profiles,
)
from planner.catalog import (
    MAX_PRICE_USD_PER_GPU,
    MAX_RENT_USD_PER_GPU_HOUR,
    PRECISIONS,
    Accelerator,
    Catalog,
    load_catalog,
)
from planner.data_errors import allowed_keys, data_error, field_error, not_allowed, read_toml
from planner.errors import CatalogError
from planner.serving import RANGES as SERVING_RANGES
from planner.sizing import MAX_DAYS, MIN_DAYS, with_run_model
from planner.workloads import MAX_FLOPS, MAX_PARAMS, MAX_TOKENS, TrainingRun

#: Systems per rack for 8-GPU servers when ``site.max_racks`` is set and the scenario gives no
#: ``site.servers_per_rack``: NVIDIA DGX SuperPOD reference architecture (DGX H100), four DGX
#: systems per ~40 kW rack. Rack-scale systems (``gpus_per_system >= 32``, e.g. GB200 NVL72)
#: are one rack each.
DEFAULT_SERVERS_PER_RACK = 4
#: A system with at least this many GPUs is a rack by itself (NVL36/NVL72).
RACK_SCALE_GPUS = 32
#: Largest grid connection accepted, MW (ten 1-GW campuses).
MAX_GRID_MW = 10_000.0
#: Largest budget accepted, USD (10 trillion: about a tenth of world GDP).
MAX_BUDGET_USD = 1e13
#: Largest supply cap accepted, GPUs (100 million: far above any one buyer's fleet).
MAX_SUPPLY_GPUS = 100_000_000
#: Most runs in one scenario. The optimiser's model has runs x chips integer variables and
#: re-solves it for every relaxation and binding check, and the report sizes every run on
#: every chip; a 10,000-run file ran for over 10 minutes with no progress shown. 200 is far
#: above any one site's concurrent training runs (a campus plans a handful to a few dozen)
#: and solves in seconds (200 runs x 2 chips: 1.5 s feasible, 2.8 s infeasible with mixed
#: chips and relaxations, on a 2-core machine). A larger study is several scenario files.
MAX_RUNS = 200
#: Most inference services in one scenario: each adds a row per candidate chip to the same MILP
#: (and a :func:`planner.serving.serve` call per chip when it is built); 100 is far above the
#: handful of model endpoints one site serves.
MAX_SERVICES = 100
#: Longest run name, characters (it is a table row label in every face).
MAX_NAME_CHARS = 200
COOLING_TYPES = ("air", "liquid")
#: Key of a ``site.pue`` / ``site.design_pue`` table used for chips no other key covers.
DEFAULT_KEY = "default"
HALL_FIELDS = ("pue", "design_pue")
PricingMode = Literal["amortized", "rent", "capex"]
#: What ``candidates.pricing`` accepts, in the error text.
PRICING_WORDS = (
    "one of "
    + ", ".join(PRICING_MODES)
    + " (the former names: "
    + ", ".join(f"{old} = {new}" for old, new in LEGACY_PRICING.items())
    + ")"
)

Mfu = Annotated[float, Field(ge=MIN_FRACTION, le=1)]
PueValue = Annotated[float, Field(ge=PUE_RANGE[0], le=PUE_RANGE[1])] | str


class _Strict(BaseModel):
    # strict: no "yes" -> True, no true -> 1.0; allow_inf_nan=False: inf/nan in any number
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Site(_Strict):
    """The site: grid connection, facility efficiency, prices, optional floor limit.

    ``grid_limit_mw`` is the peak facility power the grid connection supplies, checked against
    the bought (on-site) systems at ``design_pue`` (default: the profile's design-day PUE, else
    derived from ``pue``; :meth:`Scenario.design_pue_for`). ``pue`` is the annual average
    (energy, cost, emissions). Rented systems are off site (module docstring).
    """

    name: str = "site"
    grid_limit_mw: float = Field(gt=0, le=MAX_GRID_MW)
    pue: PueValue | dict[str, PueValue] | None = None
    design_pue: PueValue | dict[str, PueValue] | None = None
    electricity_usd_per_mwh: float | None = Field(
        default=None, ge=0, le=MAX_ELECTRICITY_USD_PER_MWH
    )
    grid_gco2_per_kwh: float | None = Field(
        default=None, ge=GRID_INTENSITY_RANGE[0], le=GRID_INTENSITY_RANGE[1]
    )
    network_overhead: float | None = Field(default=None, ge=0, le=1)
    avg_load_fraction: float | None = Field(default=None, ge=MIN_FRACTION, le=1)
    #: Cluster capex beyond the servers (default: data/economics.csv): networking as a share
    #: of cluster hardware, and the facility in USD per MW of IT load.
    networking_share: float | None = Field(default=None, ge=0, lt=1)
    facility_usd_per_mw: float | None = Field(default=None, ge=0, le=1e9)
    max_racks: int | None = Field(default=None, ge=1, le=1_000_000)
    servers_per_rack: int = Field(default=DEFAULT_SERVERS_PER_RACK, ge=1, le=64)
    #: Years of serving the plan covers (services' energy, electricity, rent), default 1.
    horizon_years: float = Field(default=1.0, gt=0, le=30)
    #: The utility's ramp limit, MW/s (none: no limit). With one, each run's cluster whose
    #: step ramp exceeds it takes ``ramp_mitigation``, and the grid limit holds its grid-side
    #: peak after it (:mod:`planner.optimization.grid_swing`).
    ramp_limit_mw_per_s: float | None = Field(default=None, gt=0, le=MAX_GRID_MW)
    #: ``smoothing+storage`` (GPU power cap + rack storage), ``battery`` or ``smoothing``.
    ramp_mitigation: Literal["smoothing+storage", "battery", "smoothing"] = "smoothing+storage"


class Run(_Strict):
    """One training run: the work, the deadline, how well the chips are used."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    flops: float | None = Field(default=None, gt=0, le=MAX_FLOPS)
    params: float | None = Field(default=None, gt=0, le=MAX_PARAMS)
    active_params: float | None = Field(default=None, gt=0, le=MAX_PARAMS)
    tokens: float | None = Field(default=None, gt=0, le=MAX_TOKENS)
    deadline_days: float = Field(ge=MIN_DAYS, le=MAX_DAYS)
    mfu: Mfu | dict[str, Mfu] | None = None
    goodput: float | None = Field(default=None, ge=MIN_FRACTION, le=1)
    precision: Literal["bf16", "fp8", "fp4"] = "bf16"
    #: The most GPUs the run can use at once (its largest useful parallelism). Default: from
    #: ``global_batch_tokens`` (:func:`planner.optimization.max_useful_gpus`).
    max_gpus: int | None = Field(default=None, ge=1, le=10_000_000)
    #: Tokens of one optimiser step over the whole cluster. Default: the batch-size scaling law
    #: of DeepSeek LLM (:func:`planner.optimization.max_useful_gpus`).
    global_batch_tokens: float | None = Field(default=None, ge=1, le=1e12)

    @model_validator(mode="after")
    def _work(self) -> Run:
        if self.flops is None and (
            self.tokens is None or (self.params is None and self.active_params is None)
        ):
            raise ValueError("give flops, or params (and optionally active_params) with tokens")
        if (
            self.params is not None
            and self.active_params is not None
            and self.active_params > self.params
        ):
            raise ValueError(f"active_params {self.active_params:g} exceeds params {self.params:g}")
        return self

    def training_run(self) -> TrainingRun:
        return TrainingRun(
            flops=self.flops,
            params=self.params,
            active_params=self.active_params,
            tokens=self.tokens,
            name=self.name,
        )


class Service(_Strict):
    """One inference service: its model, its demand and its latency targets.

    The model is ``model`` (an id of ``data/models.csv``) or ``params`` [``active_params``]
    (architecture estimated). Values not given come from ``data/assumptions.csv`` (as
    ``planner serve``). ``pue`` places the service in a hall of its own (a number or a facility
    profile); default: the site's ``pue`` for the chip, like a run.
    """

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    model: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    params: float | None = Field(
        default=None, ge=SERVING_RANGES["params"][0], le=SERVING_RANGES["params"][1]
    )
    active_params: float | None = Field(
        default=None, ge=SERVING_RANGES["params"][0], le=SERVING_RANGES["params"][1]
    )
    users: float = Field(ge=SERVING_RANGES["users"][0], le=SERVING_RANGES["users"][1])
    queries_per_user_day: float = Field(
        ge=SERVING_RANGES["queries_per_user_day"][0], le=SERVING_RANGES["queries_per_user_day"][1]
    )
    input_tokens: float = Field(
        ge=SERVING_RANGES["input_tokens"][0], le=SERVING_RANGES["input_tokens"][1]
    )
    output_tokens: float = Field(
        ge=SERVING_RANGES["output_tokens"][0], le=SERVING_RANGES["output_tokens"][1]
    )
    reasoning_multiplier: float | None = Field(
        default=None,
        ge=SERVING_RANGES["reasoning_multiplier"][0],
        le=SERVING_RANGES["reasoning_multiplier"][1],
    )
    peak_to_average: float | None = Field(
        default=None,
        ge=SERVING_RANGES["peak_to_average"][0],
        le=SERVING_RANGES["peak_to_average"][1],
    )
    tpot_target_s: float | None = Field(
        default=None, ge=SERVING_RANGES["tpot_target_s"][0], le=SERVING_RANGES["tpot_target_s"][1]
    )
    ttft_target_s: float | None = Field(
        default=None, ge=SERVING_RANGES["ttft_target_s"][0], le=SERVING_RANGES["ttft_target_s"][1]
    )
    precision: Literal["bf16", "fp8", "fp4"] | None = None
    pue: PueValue | None = None

    @model_validator(mode="after")
    def _model(self) -> Service:
        if self.model is None and self.params is None and self.active_params is None:
            raise ValueError("give model (an id of data/models.csv) or params")
        if self.model is not None and (self.params is not None or self.active_params is not None):
            raise ValueError("give model or params, not both")
        if (
            self.params is not None
            and self.active_params is not None
            and self.active_params > self.params
        ):
            raise ValueError(f"active_params {self.active_params:g} exceeds params {self.params:g}")
        return self

    def overrides(self) -> dict[str, Any]:
        """The serving assumptions this service sets (``None`` ones left out)."""
        keys = ("reasoning_multiplier", "peak_to_average", "tpot_target_s", "ttft_target_s")
        out = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if self.precision is not None:
            out["precision"] = self.precision
        return out


class Candidates(_Strict):
    """The chips the optimiser may use, their supply and their prices.

    ``pricing`` (default ``"amortized"``, as ``planner size``): ``"amortized"`` or ``"capex"``
    (bought, on site), or ``"rent"`` (cloud capacity, off the site's grid and racks; its energy
    and emissions are still reported). The former names ``"buy"`` (= ``"capex"``) and
    ``"auto"`` (= ``"amortized"``) are normalised when validated.
    """

    chips: list[str] | None = None
    pricing: PricingMode = "amortized"
    supply_gpus: dict[str, Annotated[int, Field(ge=0, le=MAX_SUPPLY_GPUS)]] = Field(
        default_factory=dict
    )
    price_usd_per_gpu: dict[str, Annotated[float, Field(gt=0, le=MAX_PRICE_USD_PER_GPU)]] = Field(
        default_factory=dict
    )
    rent_usd_per_gpu_hour: dict[
        str, Annotated[float, Field(gt=0, le=MAX_RENT_USD_PER_GPU_HOUR)]
    ] = Field(default_factory=dict)
    #: With mixed chips: the fewest systems of a chip a run's pool may have (a chip id -> whole
    #: systems); a chip not listed buys at least one whole rack of it
    #: (:meth:`Scenario.systems_per_rack`, as if ``site.max_racks`` were set).
    min_systems: dict[str, Annotated[int, Field(ge=1, le=1_000_000)]] = Field(default_factory=dict)

    @field_validator("pricing", mode="before")
    @classmethod
    def _pricing(cls, value: Any) -> Any:
        """The former names mapped to the core's (``buy`` -> ``capex``, ``auto`` ->
        ``amortized``); anything else not a pricing mode is refused with the allowed names."""
        if isinstance(value, str) and value in LEGACY_PRICING:
            return LEGACY_PRICING[value]
        if not isinstance(value, str) or value not in PRICING_MODES:
            raise ValueError("expected " + PRICING_WORDS)
        return value


class Scenario(_Strict):
    """A validated site scenario (see the module docstring for the file format)."""

    title: str = ""
    description: str = ""
    budget_usd: float | None = Field(default=None, gt=0, le=MAX_BUDGET_USD)
    objective: Literal["cost", "power", "energy", "emissions", "gpus", "time"] = "cost"
    allow_mixed_chips: bool = False
    #: ``time`` objective: after the earliest latest finish is found, the cheapest plan whose
    #: latest finish is within this fraction of it (0.01: 1% later at most).
    time_tolerance: float = Field(default=0.01, ge=0, le=1)
    site: Site
    runs: list[Run] = Field(min_length=1, max_length=MAX_RUNS)
    services: list[Service] = Field(default_factory=list, max_length=MAX_SERVICES)
    candidates: Candidates = Field(default_factory=Candidates)
    source: str = Field(default="scenario", exclude=True)
    #: :meth:`assumptions_for`'s cache: (run index, chip id) -> (what it was made from, value).
    _assumptions_cache: dict[tuple[int, str], tuple[tuple[Any, ...], SizingAssumptions]] = (
        PrivateAttr(default_factory=dict)
    )
    #: :meth:`_run_index`'s positions by identity, ``id(run) -> index`` (checked at each use).
    _run_positions: dict[int, int] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Equal values (and source): :meth:`assumptions_for`'s cache is left out (pydantic
        compares private attributes too, so a scenario that had computed something would
        differ from its twin)."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    # unhashable, as before (its tables are dicts)
    __hash__ = None  # type: ignore[assignment]

    # --- derived values -------------------------------------------------------------------
    def candidate_ids(self, catalog: Catalog | None = None) -> list[str]:
        """Chip ids the optimiser may choose from (listed, or every chip with a price)."""
        cat = catalog or load_catalog()
        if self.candidates.chips is not None:
            return [cat.get(c).id for c in self.candidates.chips]
        return [a.id for a in cat if self.has_price(a)]

    def has_price(self, chip: Accelerator) -> bool:
        """Whether ``chip`` has a price for the pricing mode: a row of
        ``data/chip_economics.csv`` (a server price and a rent for every shipped chip), the
        catalog's own price (a user's catalog) or a ``candidates`` override."""
        if chip.id in chip_economics().index:
            return True
        c = self.candidates
        buy = chip.price_usd_per_gpu is not None or chip.id in c.price_usd_per_gpu
        rent = chip.rent_usd_per_gpu_hour is not None or chip.id in c.rent_usd_per_gpu_hour
        return rent if c.pricing == "rent" else buy

    def hall_key(self, chip: Accelerator, name: str = "pue") -> str | None:
        """Key of the ``site.<name>`` table (``pue`` or ``design_pue``) that applies to ``chip``.

        The chip id wins over its cooling type, which wins over ``default``. ``None`` when the
        field is a single value or not given (both cover every chip), or when the table covers
        neither the chip nor has a ``default`` key (then :meth:`pue_for` raises).
        """
        table = getattr(self.site, name)
        if not isinstance(table, dict):
            return None
        for key in (chip.id, chip.cooling, DEFAULT_KEY):
            if key in table:
                return key
        return None

    def covers(self, chip: Accelerator) -> bool:
        """Whether the site's PUE tables give a value for ``chip`` (always true for a number)."""
        return all(
            not isinstance(getattr(self.site, name), dict) or self.hall_key(chip, name) is not None
            for name in HALL_FIELDS
        )

    def pue_for(self, chip: Accelerator, name: str = "pue") -> tuple[float, str]:
        """PUE of the hall ``chip`` sits in (``site.pue``; ``site.design_pue`` with ``name``),
        and where the value came from; ``(nan, "")`` when the field is not given. A facility
        profile gives its annual ``pue`` for ``site.pue`` and its ``design_pue`` for
        ``site.design_pue`` (``data/facility.csv``).

        Raises
        ------
        CatalogError
            A table that covers neither the chip id nor its cooling type and has no ``default``.
        """
        value, where = self._hall_value(chip, name)
        if value is None:
            return float("nan"), ""
        if isinstance(value, str):
            column = "design_pue" if name == "design_pue" else "pue"
            return float(facility_profiles().loc[value, column]), (
                f"{self.source}: {where} = facility profile {value} (data/facility.csv {column})"
            )
        return float(value), f"{self.source}: {where}"

    def _hall_value(self, chip: Accelerator, name: str) -> tuple[PueValue | None, str]:
        """The raw ``site.<name>`` value for ``chip`` (a number or a profile name) and the
        field it came from; ``(None, "")`` when the field is not given."""
        pue = getattr(self.site, name)
        if pue is None:
            return None, ""
        if isinstance(pue, dict):
            key = self.hall_key(chip, name)
            if key is None:
                raise field_error(self.source, f"site.{name}", _uncovered(chip, pue))
            where = f"site.{name}.{key}"
            if key == DEFAULT_KEY:
                where += f" (no {chip.id!r} or {chip.cooling!r} key)"
            return pue[key], where
        return pue, f"site.{name}"

    def design_pue_for(self, chip: Accelerator) -> tuple[float, str]:
        """PUE at the design-day peak, for the grid (peak facility power) only, and where it
        came from: ``site.design_pue``; else, when ``site.pue`` names a facility profile for
        the chip, that profile's design-day PUE (``data/facility.csv``); else derived from the
        annual PUE (``site.pue``, else data/assumptions.csv) with
        :func:`planner.power.design_day_pue`."""
        hall = self.hall_pues(chip)
        return hall.design, hall.design_source

    def hall_pues(self, chip: Accelerator) -> facility.HallPue:
        """Both PUEs of the hall ``chip`` sits in, with their sources
        (:func:`planner.facility.resolve` of ``site.pue`` and ``site.design_pue``)."""
        annual, annual_where = self._hall_value(chip, "pue")
        design, design_where = self._hall_value(chip, "design_pue")
        return facility.resolve(
            annual,
            design,
            annual_where=f"{self.source}: {annual_where}",
            design_where=f"{self.source}: {design_where}",
        )

    def mfu_for(self, run: Run, chip_id: str) -> tuple[float | None, str]:
        """MFU of ``run`` on ``chip_id`` (None: the default of data/assumptions.csv)."""
        index = self._run_index(run)
        if run.mfu is None:
            return None, ""
        if isinstance(run.mfu, dict):
            for key in (chip_id, "default"):
                if key in run.mfu:
                    return float(run.mfu[key]), f"{self.source}: runs[{index}].mfu.{key}"
            return None, ""
        return float(run.mfu), f"{self.source}: runs[{index}].mfu"

    def _run_index(self, run: Run) -> int:
        """Position of ``run`` in ``runs`` by identity (``list.index`` compares every field of
        every earlier run: O(runs) pydantic comparisons per call); equal-valued copies of a
        run fall back to that comparison."""
        runs = self.runs
        i = self._run_positions.get(id(run))
        if i is not None and i < len(runs) and runs[i] is run:
            return i
        positions: dict[int, int] = {}
        for k, r in enumerate(runs):
            positions.setdefault(id(r), k)  # the first, as list.index would
        self._run_positions = positions
        i = self._run_positions.get(id(run))
        if i is not None:
            return i
        return runs.index(run)

    def assumptions_for(self, run: Run, chip: Accelerator) -> SizingAssumptions:
        """The core :class:`SizingAssumptions` of ``run`` on ``chip`` at this site.

        Cached per (run index, chip id) on this scenario (the build, the read-back and the
        side-by-side table ask for the same pairs again): an entry is used only while the run,
        the site, the candidates, the source and the chip are the very objects it was made
        from (a ``model_copy(update=...)`` shares the cache but not those objects). The run
        model's MFU is cached across scenarios too (:func:`_run_model_mfu`): a sweep's copies
        re-use it.
        """
        index = self._run_index(run)
        key = (index, chip.id)
        hit = self._assumptions_cache.get(key)
        if hit is not None:
            made_from, a = hit
            if all(x is y for x, y in zip(made_from, self._cache_identity(run, chip), strict=True)):
                return a
        a = self._assumptions_for(index, run, chip)
        self._assumptions_cache[key] = (self._cache_identity(run, chip), a)
        return a

    def _cache_identity(self, run: Run, chip: Accelerator) -> tuple[Any, ...]:
        return (run, self.site, self.candidates, self.source, chip)

    def _assumptions_for(self, index: int, run: Run, chip: Accelerator) -> SizingAssumptions:
        a = SizingAssumptions.defaults()
        src = self.source
        a = a.with_(f"{src}: runs[{index}].precision", precision=run.precision)
        mfu, where = self.mfu_for(run, chip.id)
        if mfu is not None:
            a = a.with_(where, mfu=mfu)
        if run.goodput is not None:
            a = a.with_(f"{src}: runs[{index}].goodput", goodput=run.goodput)
        # else goodput(N) of the failure model, as planner size: a sizing at a GPU count or a
        # deadline takes it itself; the linear optimisers state it per (run, chip) pair and
        # re-solve until it is the goodput of the GPUs they chose
        # (planner.optimization.goodput_loop)
        if mfu is None and a.mfu_from_run_model:
            # Pin the run model's MFU for the WHOLE run on this chip. The optimiser sizes one
            # system, whole clusters and (mixed chips) shares of a run: a FLOPs-only run's
            # inferred model size must not change with the share, or a share re-sized on
            # read-back would get another MFU and miss the deadline its count was chosen for.
            model_mfu, why = _run_model_mfu(
                (run.flops, run.params, run.active_params, run.tokens),
                chip,
                run.precision,
                float(a.goodput),
            )
            a = a.with_(why, mfu=model_mfu)  # an explicit MFU: mfu_from_run_model False
        pue, where = self.pue_for(chip)
        if not math.isnan(pue):
            a = a.with_(where, pue=pue)
        # the grid peak (facility_power_mw) at the design-day PUE, energy at the annual one
        design, where = self.design_pue_for(chip)
        a = a.with_(where, design_pue=max(design, float(a.pue)))
        site = {
            k: getattr(self.site, k)
            for k in (
                "electricity_usd_per_mwh",
                "grid_gco2_per_kwh",
                "network_overhead",
                "avg_load_fraction",
                "networking_share",
                "facility_usd_per_mw",
            )
        }
        for key, value in site.items():
            if value is not None:
                a = a.with_(f"{src}: site.{key}", **{key: value})
        c = self.candidates
        a = a.with_(f"{src}: candidates.pricing", pricing=c.pricing)
        if chip.id in c.price_usd_per_gpu:
            a = a.with_(
                f"{src}: candidates.price_usd_per_gpu.{chip.id}",
                price_usd_per_gpu=c.price_usd_per_gpu[chip.id],
            )
        if chip.id in c.rent_usd_per_gpu_hour:
            a = a.with_(
                f"{src}: candidates.rent_usd_per_gpu_hour.{chip.id}",
                rent_usd_per_gpu_hour=c.rent_usd_per_gpu_hour[chip.id],
            )
        a.validate()
        return a

    def service_sizing_for(self, index: int, chip: Accelerator) -> dict[str, Any]:
        """The sizing values (and their sources) service ``index`` takes from the site on
        ``chip``: PUE (``services[i].pue``, else the site's for the chip), electricity, grid
        intensity, network overhead, load, pricing and price overrides, as
        ``{field: (value, source)}``; the caller applies them to its serving assumptions."""
        svc = self.services[index]
        src = self.source
        out: dict[str, Any] = {}
        if svc.pue is not None:
            value = svc.pue
            where = f"{src}: services[{index}].pue"
            if isinstance(value, str):
                where += f" = facility profile {value} (data/facility.csv)"
                value = float(facility_profiles().loc[value, "pue"])
            out["pue"] = (float(value), where)
        else:
            pue, where = self.pue_for(chip)
            if not math.isnan(pue):
                out["pue"] = (pue, where)
        for key in (
            "electricity_usd_per_mwh",
            "grid_gco2_per_kwh",
            "network_overhead",
            "avg_load_fraction",
        ):
            value = getattr(self.site, key)
            if value is not None:
                out[key] = (value, f"{src}: site.{key}")
        c = self.candidates
        out["pricing"] = (c.pricing, f"{src}: candidates.pricing")
        if chip.id in c.price_usd_per_gpu:
            out["price_usd_per_gpu"] = (
                c.price_usd_per_gpu[chip.id],
                f"{src}: candidates.price_usd_per_gpu.{chip.id}",
            )
        if chip.id in c.rent_usd_per_gpu_hour:
            out["rent_usd_per_gpu_hour"] = (
                c.rent_usd_per_gpu_hour[chip.id],
                f"{src}: candidates.rent_usd_per_gpu_hour.{chip.id}",
            )
        return out

    def service_design_pue_for(self, index: int, chip: Accelerator) -> tuple[float, float]:
        """(design-day PUE, annual PUE) of service ``index`` on ``chip``: the grid limit uses
        ``design / annual`` x the service's peak power, like a run's. The design-day PUE is
        ``site.design_pue``; else the profile's (``services[i].pue`` or the site's naming a
        profile); else derived from the annual PUE (:func:`planner.power.design_day_pue`)."""
        svc = self.services[index]
        annual = self.service_sizing_for(index, chip).get("pue", (math.nan, ""))[0]
        if math.isnan(annual):
            annual = float(SizingAssumptions.defaults().pue)
        if self.site.design_pue is None and svc.pue is not None:  # a hall of its own
            return facility.resolve(svc.pue if isinstance(svc.pue, str) else annual).design, annual
        return max(self.design_pue_for(chip)[0], annual), annual

    def systems_per_rack(self, chip: Accelerator) -> int:
        """Systems that fill one rack: 1 for rack-scale systems, else ``site.servers_per_rack``."""
        return 1 if chip.gpus_per_system >= RACK_SCALE_GPUS else self.site.servers_per_rack

    # --- what-if copies (used by the optimiser's sweeps and relaxations) ----------------
    def _validated_copy(
        self, update: dict[str, Any], site: dict[str, Any] | None = None
    ) -> Scenario:
        """A copy with ``update`` (top-level keys) and ``site`` changes, validated again."""
        data = self.model_dump()
        data.update(update)
        if site:
            data["site"] = {**data["site"], **site}
        try:
            return Scenario.model_validate({**data, "source": self.source})
        except ValidationError as exc:
            raise _scenario_error(self.source, exc) from None

    def with_grid_limit(self, grid_limit_mw: float) -> Scenario:
        return self._validated_copy({}, site={"grid_limit_mw": float(grid_limit_mw)})

    def with_deadline_scale(self, scale: float) -> Scenario:
        """Every run's deadline multiplied by ``scale`` (ratios between runs kept)."""
        runs = [
            {**r.model_dump(), "deadline_days": float(r.deadline_days * scale)} for r in self.runs
        ]
        return self._validated_copy({"runs": runs})

    def with_longest_deadline(self, days: float) -> Scenario:
        """Deadlines scaled so the longest is exactly ``days`` (the others in proportion)."""
        longest = max(r.deadline_days for r in self.runs)
        runs = [
            {
                **r.model_dump(),
                "deadline_days": float(days)
                if r.deadline_days == longest
                else float(r.deadline_days * days / longest),
            }
            for r in self.runs
        ]
        return self._validated_copy({"runs": runs})

    def with_run(self, index: int, **changes: Any) -> Scenario:
        """Run ``index`` with ``changes`` (e.g. ``max_gpus``), validated like the file."""
        runs = [r.model_dump() for r in self.runs]
        runs[index].update(changes)
        return self._validated_copy({"runs": runs})

    def with_candidates(self, chips: list[str]) -> Scenario:
        return self._validated_copy(
            {"candidates": {**self.candidates.model_dump(), "chips": list(chips)}}
        )

    def with_service(self, index: int, **changes: Any) -> Scenario:
        """Service ``index`` with ``changes`` (e.g. ``users``, ``tpot_target_s``)."""
        services = [svc.model_dump() for svc in self.services]
        services[index] = {**services[index], **changes}
        return self._validated_copy({"services": services})

    def with_pricing(self, pricing: str) -> Scenario:
        """A copy with ``candidates.pricing`` = ``pricing`` (a former name is normalised; a
        value not allowed is the same one-line error as in a file)."""
        return self._validated_copy(
            {"candidates": {**self.candidates.model_dump(), "pricing": pricing}}
        )

    def with_budget(self, budget_usd: float | None) -> Scenario:
        return self._validated_copy(
            {"budget_usd": None if budget_usd is None else float(budget_usd)}
        )


# --- loading ------------------------------------------------------------------------------


def load_scenario(path: str | Path, catalog: Catalog | None = None) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    CatalogError
        Naming the file, the field (``runs[1].deadline_days``), the value and what is allowed.
    """
    resolved = Path(path)
    raw = read_toml(resolved)
    return scenario_from_dict(raw, source=str(resolved), catalog=catalog)


def scenario_from_dict(
    data: dict[str, Any], *, source: str = "scenario", catalog: Catalog | None = None
) -> Scenario:
    """Validate a scenario given as a dict (the parsed TOML); see :func:`load_scenario`."""
    if "source" in data:
        raise field_error(
            source,
            "source",
            "unknown key: expected one of " + allowed_keys(Scenario, _HIDDEN),
        )
    try:
        scenario = Scenario.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise _scenario_error(source, exc) from None
    _check_against_catalog(scenario, catalog or load_catalog())
    return scenario


@lru_cache(maxsize=65_536)
def _run_model_mfu(
    work: tuple[float | None, float | None, float | None, float | None],
    chip: Accelerator,
    precision: str,
    goodput: float,
) -> tuple[float, str]:
    """The run model's MFU of a run (``flops, params, active_params, tokens``) on ``chip``
    for a deadline (no GPU count) and where it came from, as
    :func:`planner.sizing.with_run_model` gives it (~0.7 ms a call, cached: the optimiser asks
    for the same run and chip from every copy of a scenario)."""
    flops, params, active, tokens = work
    base = SizingAssumptions.defaults().with_("scenario", precision=precision, goodput=goodput)
    sized = with_run_model(
        base,
        TrainingRun(flops=flops, params=params, active_params=active, tokens=tokens),
        chip,
        None,
    )
    return float(sized.mfu), str(sized.sources["mfu"])


def _uncovered(chip: Accelerator, table: dict[str, Any]) -> str:
    keys = ", ".join(table) or "none"
    return (
        f"no value for candidate chip {chip.id!r} (cooling {chip.cooling!r}; keys given: "
        f"{keys}): expected a key {chip.cooling!r} or {chip.id!r}, or a {DEFAULT_KEY!r} key "
        "for every other chip"
    )


_FRACTION = "a fraction in (0, 1]"
_PUE = f"a number in [{PUE_RANGE[0]:g}, {PUE_RANGE[1]:g}] or a facility profile"
#: What scenarios allow where the schema's own range is not the whole story (a PUE may name a
#: facility profile) or lacks the unit; "x.*" is an entry of the table x.
_ALLOWED = {
    "mfu": _FRACTION,
    "mfu.*": _FRACTION,
    **dict.fromkeys([*HALL_FIELDS, *(f"{name}.*" for name in HALL_FIELDS)], _PUE),
    "supply_gpus.*": f"a whole number of GPUs in [0, {MAX_SUPPLY_GPUS:g}]",
    "price_usd_per_gpu.*": f"a number in (0, {MAX_PRICE_USD_PER_GPU:g}] (USD per GPU)",
    "rent_usd_per_gpu_hour.*": (
        f"a number in (0, {MAX_RENT_USD_PER_GPU_HOUR:g}] (USD per GPU-hour)"
    ),
}
#: Set by the loader (the file's path), never written in a scenario file.
_HIDDEN = ("source",)


def _scenario_error(source: str, exc: ValidationError) -> CatalogError:
    return data_error(source, exc, Scenario, allowed=_ALLOWED, hidden=_HIDDEN)


def _check_against_catalog(s: Scenario, cat: Catalog) -> None:
    """Chip ids, facility profiles and prices that only the catalog can check."""
    src = s.source
    ids = ", ".join(cat.ids)

    def chip(field: str, chip_id: str) -> Accelerator:
        if chip_id not in cat:
            raise field_error(src, field, not_allowed(chip_id, f"a catalog chip id: {ids}"))
        return cat.get(chip_id)

    c = s.candidates
    for i, chip_id in enumerate(c.chips or []):
        acc = chip(f"candidates.chips[{i}]", chip_id)
        if (c.chips or []).index(chip_id) != i:
            raise field_error(
                src,
                f"candidates.chips[{i}]",
                not_allowed(chip_id, "each chip id once (it is already listed)"),
            )
        if not s.has_price(acc):
            raise field_error(
                src,
                f"candidates.chips[{i}]",
                (
                    f"{chip_id!r} has no {c.pricing} price (no row in data/chip_economics.csv "
                    f"and none in the catalog): add candidates."
                    f"{'rent_usd_per_gpu_hour' if c.pricing == 'rent' else 'price_usd_per_gpu'}"
                    f".{chip_id}, or set candidates.pricing"
                ),
            )
    if c.chips is not None and not c.chips:
        raise field_error(
            src, "candidates.chips", "[] is not allowed: expected at least one chip id"
        )
    for table in ("supply_gpus", "price_usd_per_gpu", "rent_usd_per_gpu_hour", "min_systems"):
        for chip_id in getattr(c, table):
            chip(f"candidates.{table}.{chip_id}", chip_id)
    profiles = list(facility_profiles().index)
    for name in HALL_FIELDS:
        pue = getattr(s.site, name)
        entries = pue.items() if isinstance(pue, dict) else [] if pue is None else [("", pue)]
        for key, value in entries:
            field = f"site.{name}.{key}" if key else f"site.{name}"
            if key and key not in COOLING_TYPES and key not in cat and key != DEFAULT_KEY:
                raise field_error(
                    src,
                    field,
                    not_allowed(
                        key,
                        f"a cooling type ({', '.join(COOLING_TYPES)}), {DEFAULT_KEY!r} or a "
                        f"catalog chip id: {ids}",
                    ),
                )
            if isinstance(value, str) and value not in profiles:
                raise field_error(
                    src,
                    field,
                    not_allowed(
                        value,
                        f"a number in [{PUE_RANGE[0]:g}, {PUE_RANGE[1]:g}] or a facility "
                        "profile: " + ", ".join(profiles),
                    ),
                )
    candidates = s.candidate_ids(cat)
    for chip_id in candidates:
        acc = cat.get(chip_id)
        for name in HALL_FIELDS:
            table = getattr(s.site, name)
            if isinstance(table, dict) and s.hall_key(acc, name) is None:
                raise field_error(src, f"site.{name}", _uncovered(acc, table))
        if s.site.design_pue is not None:
            design, _ = s.pue_for(acc, "design_pue")
            annual, _ = s.pue_for(acc)
            if math.isnan(annual):
                annual = float(SizingAssumptions.defaults().pue)
            if design < annual - 1e-12:
                key = s.hall_key(acc, "design_pue")
                raise field_error(
                    src,
                    f"site.design_pue.{key}" if key else "site.design_pue",
                    not_allowed(
                        design,
                        f"at least the annual PUE of {chip_id} ({annual:g}): the design-day "
                        "peak overhead is never below the annual average",
                    ),
                )
    if not candidates:
        raise field_error(
            src,
            "candidates.chips",
            (
                f"no catalog chip has a {c.pricing} price (data/chip_economics.csv or the "
                "catalog): list chips with price overrides"
            ),
        )
    for i, run in enumerate(s.runs):
        if isinstance(run.mfu, dict):
            for key in run.mfu:
                if key != "default":
                    chip(f"runs[{i}].mfu.{key}", key)
        usable = [x for x in candidates if cat.get(x).dense_tflops_or_none(run.precision)]
        if not usable:
            supported = [
                p for p in PRECISIONS if any(cat.get(x).dense_tflops_or_none(p) for x in candidates)
            ]
            raise field_error(
                src,
                f"runs[{i}].precision",
                not_allowed(
                    run.precision,
                    "a precision one of the candidate chips supports: " + ", ".join(supported),
                ),
            )
    names = [r.name for r in s.runs]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise field_error(
                src, f"runs[{i}].name", f"{name!r} is not allowed: names must be unique"
            )
    for i, svc in enumerate(s.services):
        if svc.name in names:
            raise field_error(
                src,
                f"services[{i}].name",
                f"{svc.name!r} is not allowed: names must be unique (runs and services)",
            )
        names.append(svc.name)
        if isinstance(svc.pue, str) and svc.pue not in profiles:
            raise field_error(
                src,
                f"services[{i}].pue",
                not_allowed(
                    svc.pue,
                    f"a number in [{PUE_RANGE[0]:g}, {PUE_RANGE[1]:g}] or a facility "
                    "profile: " + ", ".join(profiles),
                ),
            )
        if svc.model is not None:
            from planner.serving import load_models  # the serving physics only when used

            models = list(load_models())
            if svc.model.strip().lower() not in models:
                raise field_error(
                    src,
                    f"services[{i}].model",
                    not_allowed(svc.model, "an id of data/models.csv: " + ", ".join(models)),
                )
