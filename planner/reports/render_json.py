"""JSON writer: everything the other formats show, as data (:meth:`Report.to_dict`)."""

from __future__ import annotations

import json

from planner.reports.model import Report


def render_json(report: Report) -> bytes:
    """The report as one JSON object (UTF-8 bytes; no NaN: missing values are null)."""
    return (json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n").encode("utf-8")
