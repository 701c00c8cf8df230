"""The fleet's damped shipment trend against the packaging supply that bounds it."""

from __future__ import annotations

import numpy as np

from planner import fleet


def _extended(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    f = fleet.load_fleet()
    years = np.arange(first, last + 1, dtype=float)
    fams, m = fleet._family_matrix(f, years)
    watts = f.chips.set_index("family").loc[fams, "system_power_w_per_unit"].to_numpy(float)
    shipped = np.stack([m.sum(axis=0), (m * watts[:, None]).sum(axis=0)])
    known = int(f.shipments["year"].max()) - first + 1
    return years, fleet.extend_shipments(shipped, known)


def test_damped_shipment_trend_grows_slower_than_packaging_capacity_every_year():
    # Every accelerator the fleet adds after its last shipment year needs CoWoS packaging
    # (data/fleet/supply.csv: +100% 2025, +48% 2026, +26% 2027-2028). The damped trend
    # (units +25%, +12%, +6%, +3%; nameplate W +40%, +20%, +10%, +5%) stays under that
    # bound in every year the table covers, so the central projection never ships more
    # than packaging allows and the bound is not applied to it (only the LBNL high case
    # follows it).
    supply = fleet.load_supply().set_index("year")["packaging_capacity_growth_pct"]
    years, shipped = _extended(
        int(fleet.load_fleet().shipments["year"].min()), int(supply.index.max())
    )
    growth_pct = (shipped[:, 1:] / shipped[:, :-1] - 1.0) * 100.0
    last_shipped = int(fleet.load_fleet().shipments["year"].max())
    for year, bound in supply[supply.index > last_shipped].items():
        j = int(np.flatnonzero(years == year)[0]) - 1
        assert growth_pct[0, j] < bound, f"units {year}"
        assert growth_pct[1, j] < bound, f"nameplate W {year}"


def test_reported_units_of_the_last_shipment_year_grew_slower_than_packaging_capacity():
    # 2024, a shipped year with a reported CoWoS growth (TSMC: capacity doubled, +100%): the
    # fleet's units grew +55%, inside the bound; its nameplate watts grew +106% (each chip
    # draws more: H100 -> H200/B200), which wafer capacity does not bound one for one.
    supply = fleet.load_supply().set_index("year")["packaging_capacity_growth_pct"]
    last = int(fleet.load_fleet().shipments["year"].max())
    years, shipped = _extended(int(fleet.load_fleet().shipments["year"].min()), last)
    growth_pct = (shipped[:, -1] / shipped[:, -2] - 1.0) * 100.0
    assert growth_pct[0] < supply[last]
    assert growth_pct[1] > supply[last]
