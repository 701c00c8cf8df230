"""Errors the planner raises for bad input.

Every error a user can cause is a :class:`PlannerError`. Faces (CLI, app, reports) catch it
and show ``str(err)``: one line naming the field, the value and what is allowed. The CLI exits
with code 2 on it. Anything else escaping the library is a bug.
"""

from __future__ import annotations

from typing import Any


class PlannerError(Exception):
    """Base class of every error caused by input (a value, a file, a scenario)."""


class InputError(PlannerError, ValueError):
    """A value is outside what the model accepts.

    Parameters
    ----------
    field : str
        Name of the input, as the user wrote it (``mfu``, ``--days``, ``runs[0].deadline_days``).
    value : Any
        The offending value (the first one, for arrays).
    allowed : str
        What is allowed, in words (``"(0, 1]"``, ``"one of: h100, gb200"``).
    """

    def __init__(self, field: str, value: Any, allowed: str, *, detail: str = "") -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.detail = detail
        msg = f"{field} = {self._show_value(value)} is not allowed: expected {allowed}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)

    @staticmethod
    def _show_value(value: Any) -> str:
        """An input as given (never rounded into the allowed range)."""
        return _show(value)


class ResultOutOfRange(InputError):
    """Valid inputs whose answer is physically absurd (2.6e15 GPUs, 4.4e12 MW, USD 7.9e33).

    ``field`` names the computed quantity, ``allowed`` its bound and ``detail`` the input
    that drove it there, e.g. ``gpus = 2.6e+15 is not allowed: expected at most 1e+07
    (mfu x goodput = 1e-12 is too small for this run)``. A subclass of :class:`InputError`,
    so every face treats it as bad input (CLI exit code 2).

    The value is a computed answer, not something the user typed, so it is shown in six
    significant digits (``3.25078e+12`` days); :func:`planner.sizing._check_outputs` spells
    it out in full where those digits would read as the bound itself.
    """

    @staticmethod
    def _show_value(value: Any) -> str:
        return f"{value:g}" if isinstance(value, float) else _show(value)


class CatalogError(PlannerError):
    """A data file (catalog, presets, scenario) has a malformed row or field."""

    def __init__(
        self,
        file: str,
        row: int | str | None,
        column: str | None,
        problem: str,
        *,
        column_label: str = "column",
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", {column_label} {column!r}"  # "field" for TOML files
        super().__init__(f"{where}: {problem}")


def _show(value: Any) -> str:
    """The value as given: short (``0.5``, ``1e+24``) when that is exact, never rounded
    (10,000,001 GPUs show as ``10000001``, not ``1e+07``: a rejected value must not read as
    one inside the allowed range)."""
    if isinstance(value, float):
        short = f"{value:g}"
        if value != value or float(short) == value:  # NaN, or exact in 6 digits
            return short
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(float(value))
    return repr(value) if isinstance(value, str) else str(value)
