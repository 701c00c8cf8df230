"""Options that more than one command takes, declared once (their help text is the same)."""

from __future__ import annotations

from typing import Annotated

import typer

#: ``--date``: price the chip at a date (``planner size`` and ``planner serve``).
PriceDate = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="YYYY-MM-DD",
        help="Price the chip at this date: the dated purchase price and rent of "
        "data/chip_prices_dated.csv on or before it (YYYY-MM-DD or YYYY; not before the "
        "chip existed) [default: the undated prices].",
    ),
]
