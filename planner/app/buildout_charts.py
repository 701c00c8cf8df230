"""Charts of the Build-out page (Altair), from the core's plan frames only: labels, units and
number formats from :mod:`planner.quantities`; no numbers of their own."""

from __future__ import annotations

from typing import Any

import pandas as pd

from planner import quantities

#: The chart's title (the page and its tests find it by this).
POWER_TITLE = "Peak facility power by site against the power available"


def power_chart(power: pd.DataFrame) -> Any:
    """A stacked area of each site's design-day peak (MW) per quarter, with the power
    available at every site together as a dashed line (Vega-Lite sums the sites' rows)."""
    import altair as alt

    peak, available = "facility_power_mw", "available_mw"
    frame = power[["site", "quarter", peak, available]]
    quarters = list(dict.fromkeys(frame["quarter"]))
    x = alt.X("quarter:O", title=quantities.label("quarter"), sort=quarters)
    base = alt.Chart(frame)
    areas = base.mark_area(opacity=0.85).encode(
        x=x,
        y=alt.Y(
            f"sum({peak}):Q",
            stack="zero",
            title=quantities.label(peak),
            axis=alt.Axis(format=quantities.vega_format(peak)),
        ),
        color=alt.Color("site:N", title=quantities.label("site")),
        order=alt.Order("site:N"),
        tooltip=[
            alt.Tooltip("site:N", title=quantities.label("site")),
            alt.Tooltip("quarter:O", title=quantities.label("quarter")),
            alt.Tooltip(
                f"sum({peak}):Q", title=quantities.label(peak), format=quantities.vega_format(peak)
            ),
        ],
    )
    line = base.mark_line(color="black", strokeDash=[6, 4], point=True).encode(
        x=x,
        y=alt.Y(f"sum({available}):Q", title=quantities.label(available)),
        tooltip=[
            alt.Tooltip("quarter:O", title=quantities.label("quarter")),
            alt.Tooltip(
                f"sum({available}):Q",
                title=quantities.label(available),
                format=quantities.vega_format(available),
            ),
        ],
    )
    return (areas + line).properties(title=POWER_TITLE, height=320)
