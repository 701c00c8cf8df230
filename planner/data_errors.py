"""Data-file errors: a pydantic ``ValidationError`` as one line naming the file, the field, the
value and what is allowed.

Every validating loader (``data/accelerators.csv``, ``data/presets.toml``, site scenarios,
projection scenarios, ``data/countries/electricity.csv``) reports its first bad value through
:func:`data_error`, so a user reads the same kind of message whichever file is wrong::

    x.toml, field 'runs[1].deadline_days': -5 is not allowed: expected a number in [0.001, 3650]
    x.toml, field 'site.grid_limit_mv': unknown key: expected one of name, grid_limit_mw, pue,
        ... (did you mean 'grid_limit_mw'?)
    x.toml, field 'allow_mixed_chips': 'yes' is not allowed: expected true or false
    acc.csv, row 5, column 'tdp_w': '-1' is not allowed: expected a number in (0, 5000]

What is allowed is read from the schema itself: the error location is walked through the
model (unions, ``Annotated``, tables, lists) to the field that owns the value; a range comes
from the field's ``gt``/``ge``/``lt``/``le`` constraints, an unknown key lists the table's
keys (``extra="forbid"``), a type error words every type the field accepts (strict types:
``"yes"`` is not ``true``). A loader adds only its own wording through ``allowed`` (a mapping
of field -> words, or a callback given the resolved :class:`Problem`).

This module formats errors; the checks themselves stay in the models and in
:mod:`planner.validation`. It also holds the one way a data file is opened, for every loader
and face: :func:`check_input_path` / :func:`read_text_file` (an unknown ``~user``, a path too
long for the system, a directory, a device, an unreadable, oversized, binary or non-UTF-8
file: one line each) and :func:`read_toml` / :func:`parse_toml` (syntax, nesting deeper than
:data:`MAX_TOML_DEPTH`, and ``inf`` / ``nan`` / ``1e400`` anywhere, named by field).
"""

from __future__ import annotations

import dataclasses
import difflib
import errno
import math
import os
import stat
import tomllib
import types
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from planner.errors import CatalogError, InputError

#: Largest data file read, bytes. The shipped files are under 100 kB; 16 MiB leaves room for
#: any hand-written catalog or scenario while a mistaken path (a disk image, a log, a device)
#: is refused before it is read into memory.
MAX_DATA_FILE_BYTES = 16 * 1024 * 1024
#: Deepest nesting of tables and arrays accepted in a TOML data file. The deepest schema (a
#: projection's ``variants.NAME.ai.fleet.ID.shipments`` with a range table) is 7 levels;
#: 32 leaves room while staying far below Python's recursion limit (tomllib, pydantic and the
#: variant merge recurse, and 2,000 levels raise RecursionError).
MAX_TOML_DEPTH = 32
#: Longest path written in full in a message, characters; a longer one is shortened in the
#: middle (``aaaa...aaaa.toml``) so the error stays one readable line.
SHOWN_PATH_CHARS = 80
#: Longest value written in full in a message, characters (longer: shortened in the middle),
#: and most entries of an array or table written out (more: "an array of 10,000 entries").
SHOWN_VALUE_CHARS = 160
SHOWN_ENTRIES = 20

#: pydantic error types about a numeric bound (the words come from the field's constraints).
RANGE_KINDS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
#: pydantic error types about the type of a value (the words list every type the field takes).
TYPE_KINDS = frozenset(
    {
        "float_type",
        "float_parsing",
        "finite_number",
        "int_type",
        "int_parsing",
        "int_from_float",
        "bool_type",
        "bool_parsing",
        "string_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "list_type",
    }
)
#: Which error of several is reported (lowest first; a bad table key, ``{ 224 = 1e6 }``, comes
#: before all): an unknown key (a typo drops a whole input), a missing field, a value out of
#: range or a failed check, then a type error. Ties go to the first error, or to a deeper one
#: inside the same value (the branch of a union that got furthest).
_RANK: dict[str, float] = {
    "extra_forbidden": 0,
    "missing": 0.5,
    "value_error": 1,
    "assertion_error": 1,
    "literal_error": 1,
    "finite_number": 1,
    **dict.fromkeys(RANGE_KINDS, 1),
}


class _Member(NamedTuple):
    """One type a value may take, with its ``Annotated`` / ``Field`` constraints."""

    annotation: Any
    metadata: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One pydantic error resolved against the schema (what an ``allowed`` callback is given).

    Attributes
    ----------
    kind : str
        pydantic's error type (``greater_than``, ``float_type``, ``extra_forbidden`` ...).
    loc : tuple
        Where the value is in the data: keys and list indices, pydantic's union tags removed.
    value : Any
        The offending value (the key itself for a bad table key).
    message, ctx : str, mapping
        pydantic's own message and context (``{"gt": 0}``), the words of last resort.
    field : str or None
        The model field the value belongs to: ``mfu`` for ``runs[0].mfu`` and for
        ``runs[0].mfu.h100`` (then ``inside`` is true).
    inside : bool
        The value is an entry of that field's table or list, not the field itself.
    is_key : bool
        A table key is bad (``{ 224 = 1e6 }``), not its value.
    members : tuple
        The types allowed at ``loc`` (every member of a union).
    failed : tuple
        The types whose check failed (the branch of a union the error comes from).
    tables : tuple
        The models owning the last key of ``loc`` (to list their keys).
    """

    kind: str
    loc: tuple[str | int, ...]
    value: Any
    message: str
    ctx: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    field: str | None = None
    inside: bool = False
    is_key: bool = False
    members: tuple[_Member, ...] = ()
    failed: tuple[_Member, ...] = ()
    tables: tuple[type[BaseModel], ...] = ()

    @property
    def path(self) -> str:
        """The field as written in the file: ``runs[1].deadline_days``."""
        return field_path(self.loc)

    @property
    def pattern(self) -> str | None:
        """The key of an ``allowed`` mapping that applies: ``mfu``, or ``mfu.*`` inside it."""
        if self.field is None:
            return None
        return f"{self.field}.*" if self.inside else self.field


#: A loader's own words: field pattern -> words, or a callback (None: the generic words).
Allowed = Mapping[str, str] | Callable[[Problem], str | None]

_BOOL = "true or false"
_BOOL_IN_LIST = "true/false"


# --- small public helpers ----------------------------------------------------------------------


def whole_number(value: Any) -> Any:
    """A whole number written with a fraction or an exponent (``1e6``, ``8.0``, ``"1e3"`` in a
    CSV cell) as an ``int``; anything else unchanged, for the field's own (strict) check.

    Use as ``Annotated[int, BeforeValidator(whole_number), Field(...)]``: TOML reads ``1e6``
    as a float, and a GPU count of ``1e6`` is a valid whole number. ``1.5``, ``inf``,
    ``true`` and numbers beyond 2**53 (not exact as floats) stay as they are and are refused.
    """
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
    if isinstance(number, float) and number.is_integer() and abs(number) <= 2**53:
        return int(number)
    return value


def show_path(path: str | Path) -> str:
    """A path as written in a message: in full, or shortened in the middle past
    :data:`SHOWN_PATH_CHARS` characters (``aaaa...aaaa.toml (312 characters)``)."""
    text = str(path)
    if len(text) <= SHOWN_PATH_CHARS:
        return text
    keep = SHOWN_PATH_CHARS // 2
    return f"{text[:keep]}...{text[-keep:]} ({len(text)} characters)"


def resolve_user_path(path: str | Path, field: str = "path") -> Path:
    """``path`` with a leading ``~`` / ``~user`` expanded, or a one-line :class:`InputError`.

    ``Path.expanduser`` raises ``RuntimeError`` on an unknown user and ``os.path.expanduser``
    leaves ``~nouser/x`` unchanged (then a file literally named ``~nouser`` would be read or
    written in the current directory): both are refused here, naming the user.

    Parameters
    ----------
    path : str or Path
        As the user typed it (``--out``, ``--catalog``, a scenario argument).
    field : str
        The input's name in the message (``"--out"``, ``"scenario"``).
    """
    text = os.fspath(path)
    if not text.strip():
        raise InputError(field, text, "a file path")
    if "\x00" in text:
        raise InputError(field, show_path(text.replace("\x00", "\\0")), "a path without NUL")
    if not text.startswith("~"):
        return Path(text)
    try:
        expanded = os.path.expanduser(text)
    except (RuntimeError, KeyError, OSError):  # pragma: no cover - some platforms raise
        expanded = text
    if expanded.startswith("~"):
        user = text[1:].split(os.sep, 1)[0]
        who = f"user {user!r}" if user else "home directory (HOME is not set)"
        raise InputError(
            field,
            show_path(text),
            "a path whose ~ or ~USER names a user of this machine",
            detail=f"unknown {who}",
        )
    return Path(expanded)


def _os_problem(exc: OSError) -> str:
    """An ``OSError`` while opening or reading a file, in words (no traceback, no errno)."""
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for this system (a file name is at most 255 bytes)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the file cannot be read"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if exc.errno == errno.ELOOP:
        return "too many symbolic links"
    return str(exc.strerror or exc)


def check_input_path(path: str | Path, what: str = "file", field: str = "path") -> Path:
    """The data file at ``path`` (``~`` expanded), or a one-line :class:`CatalogError`.

    Refused, each with its own words: an empty path, an unknown ``~user``, a path too long for
    the system (``ENAMETOOLONG``), a missing file, a directory, something that is not a
    regular file (a device, a FIFO), an unreadable file (``EACCES``), and a file larger than
    :data:`MAX_DATA_FILE_BYTES`. ``what`` words the message (``"scenario file not found"``);
    ``field`` names the input for the path-level errors (``"--catalog"``).

    Every face should call this (or :func:`read_text_file`, which does) before touching a
    user-given input file, so the CLI, the app and the reports word a bad path the same way.
    """
    p = resolve_user_path(path, field)
    shown = show_path(p)
    try:
        info = os.stat(p)
    except FileNotFoundError:
        raise CatalogError(shown, None, None, f"{what} not found") from None
    except OSError as exc:
        raise CatalogError(
            shown, None, None, f"cannot open this {what}: {_os_problem(exc)}"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise CatalogError(shown, None, None, f"is a directory: expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(
            shown, None, None, f"not a regular file (a device or a pipe): expected a {what}"
        )
    if info.st_size > MAX_DATA_FILE_BYTES:
        raise CatalogError(
            shown,
            None,
            None,
            f"{info.st_size:,} bytes is not allowed: expected a {what} of at most "
            f"{MAX_DATA_FILE_BYTES:,} bytes",
        )
    return p


def read_text_file(path: str | Path, what: str = "file", field: str = "path") -> str:
    """The text of a UTF-8 data file (see :func:`check_input_path`), or a one-line
    :class:`CatalogError`: also for a binary file (a NUL byte) or text that is not UTF-8.
    A leading byte-order mark is dropped."""
    p = check_input_path(path, what, field)
    shown = show_path(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CatalogError(
            shown, None, None, f"cannot read this {what}: {_os_problem(exc)}"
        ) from None
    if b"\x00" in data:
        raise CatalogError(shown, None, None, f"a binary file: expected a text {what} (UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(
            shown,
            None,
            None,
            f"not UTF-8 text (byte {exc.start}): expected a text {what} saved as UTF-8",
        ) from None


def read_toml(path: str | Path, what: str = "scenario file") -> dict[str, Any]:
    """Parse a TOML data file, or raise a one-line :class:`CatalogError` naming it.

    ``what`` words the missing-file message (``"presets file not found"``). Besides the
    checks of :func:`read_text_file`: TOML syntax, nesting deeper than
    :data:`MAX_TOML_DEPTH` (tomllib recurses: 2,000 levels raise ``RecursionError``, caught), and any number that is
    not finite (``inf``, ``nan``, ``1e400`` which overflows to ``inf``), named by its field.
    """
    text = read_text_file(path, what)
    return parse_toml(text, show_path(resolve_user_path(path)))


def parse_toml(text: str, source: str = "scenario") -> dict[str, Any]:
    """Parse TOML text already in memory (an upload, an edited scenario, a shared link) with
    the checks of :func:`read_toml`: syntax, nesting, finite numbers. ``source`` names it in
    the one-line :class:`CatalogError`."""
    if "\x00" in text:
        raise CatalogError(source, None, None, "a binary file: expected TOML text")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(source, None, None, f"not valid TOML ({exc})") from None
    except RecursionError:
        raise CatalogError(source, None, None, _too_deep()) from None
    check_toml_tree(data, source)
    return data


def dump_toml(data: dict[str, Any], header: str = "") -> str:
    """``data`` as TOML text written by ``tomli_w`` (``parse_toml`` gives it back).

    ``None`` values are left out (TOML has no null); every number must be finite (a
    one-line :class:`InputError` otherwise, naming the key). Each line of ``header`` becomes a
    comment on top.
    """
    import tomli_w

    def clean(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {
                k: clean(v, f"{key}.{k}" if key else str(k))
                for k, v in value.items()
                if v is not None
            }
        if isinstance(value, list | tuple):
            return [clean(v, f"{key}[{i}]") for i, v in enumerate(value) if v is not None]
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(key or "value", value, "a finite number")
        if isinstance(value, np.generic):
            return clean(value.item(), key)
        return value

    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return comments + tomli_w.dumps(clean(data, ""))


def _too_deep() -> str:
    return (
        f"tables or arrays nested too deep: expected at most {MAX_TOML_DEPTH} levels "
        "(the planner's files use fewer than 8)"
    )


def check_toml_tree(data: dict[str, Any], source: str) -> None:
    """Every number in parsed TOML finite, and nesting at most :data:`MAX_TOML_DEPTH` deep.

    Walks the tree without recursion. Raises a :class:`CatalogError` naming the field
    (``runs[0].flops``): TOML's ``inf``, ``nan`` and literals like ``1e400`` (which overflow a
    float to ``inf``) are never a meaningful input to the planner.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > MAX_TOML_DEPTH:
            raise CatalogError(source, None, None, _too_deep())
        if isinstance(value, dict):
            stack.extend((v, (*loc, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise field_error(
                source,
                field_path(loc),
                not_allowed(
                    value,
                    "a finite number (TOML inf and nan, and literals beyond 1.8e308, which "
                    "overflow to inf, are not inputs)",
                ),
            )


def field_path(loc: Sequence[Any]) -> str:
    """A location as written in the file: ``("runs", 1, "deadline_days")`` ->
    ``runs[1].deadline_days``."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else ("." if name else "") + str(part)
    return name


def show_value(value: Any) -> str:
    """A value as a TOML file spells it: ``true``, ``1e+24``, ``'h100'``, ``{low = 6, high = 4}``."""
    if value is None:
        return "an empty value"
    if isinstance(value, list | tuple | dict) and len(value) > SHOWN_ENTRIES:
        kind = "table" if isinstance(value, dict) else "array"
        return f"an {kind} of {len(value):,} entries"
    text = _toml(value)
    if len(text) > SHOWN_VALUE_CHARS:
        half = SHOWN_VALUE_CHARS // 2
        text = f"{text[:half]}...{text[-half:]} ({len(text):,} characters)"
    return text


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        from planner.errors import _show

        return _show(value)  # as given: 10000001.0 is not "1e+07"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if value is None:
        return "empty"
    return repr(value) if isinstance(value, str) else str(value)


def not_allowed(value: Any, allowed: str) -> str:
    """``"<value> is not allowed: expected <allowed>"``, the value spelled as in TOML."""
    return f"{show_value(value)} is not allowed: expected {allowed}"


def range_words(
    metadata: Sequence[Any], *, whole: bool = False, finite: bool = False
) -> str | None:
    """The range a number's ``gt``/``ge``/``lt``/``le`` constraints allow, in words.

    ``[Gt(0), Le(10)]`` -> ``"a number in (0, 10]"``; ``[Ge(1)]`` with ``whole`` ->
    ``"a whole number >= 1"``; None when there is no bound. ``metadata`` is a field's
    ``FieldInfo.metadata`` (or ``Annotated`` metadata).
    """
    lo = hi = None
    lo_open = hi_open = False
    for meta in _flat(metadata):
        if getattr(meta, "gt", None) is not None:
            lo, lo_open = meta.gt, True
        if getattr(meta, "ge", None) is not None:
            lo, lo_open = meta.ge, False
        if getattr(meta, "lt", None) is not None:
            hi, hi_open = meta.lt, True
        if getattr(meta, "le", None) is not None:
            hi, hi_open = meta.le, False
    noun = "a whole number" if whole else "a finite number" if finite else "a number"
    if lo is not None and hi is not None:
        return f"{noun} in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{noun} {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{noun} {'<' if hi_open else '<='} {hi:g}"
    return None


def field_error(source: str, field: str | None, problem: str) -> CatalogError:
    """A problem with one field of a TOML file (``x.toml, field 'site.pue': ...``)."""
    return CatalogError(source, None, field, problem, column_label="field")


def allowed_keys(model: type[BaseModel], hidden: Collection[str] = ()) -> str:
    """The keys a table of ``model`` may hold, comma-separated (``hidden`` left out)."""
    return ", ".join(k for k in model.model_fields if k not in hidden)


def type_words(
    annotation: Any, tables: Mapping[Any, str] | None = None, *, finite: bool = False
) -> str:
    """What a value of ``annotation`` must be, in words (``"a number in (0, 1]"``, ``"true or
    false"``, ``"a table"``); a union lists each member (``"a number or a table"``).

    ``tables`` words a model as a TOML table (default ``"a table"``), e.g.
    ``{Range: "a range table {low = .., high = ..}"}``.
    """
    return _join([_member_words(m, tables or {}, finite) for m in _members(annotation)])


# --- the one entry point -----------------------------------------------------------------------


def data_error(
    source: str,
    exc: ValidationError,
    root: type[BaseModel],
    *,
    row: int | None = None,
    column_label: str = "field",
    prefix: str = "",
    suffix: str = "",
    allowed: Allowed | None = None,
    tables: Mapping[Any, str] | None = None,
    hidden: Collection[str] = (),
) -> CatalogError:
    """The first error of ``exc`` as one :class:`CatalogError` line: the file, the field as
    written, the value and what is allowed.

    Parameters
    ----------
    source : str
        The file (or label) named in the message.
    exc : ValidationError
        From ``root.model_validate(data)``.
    root : pydantic model class
        The model validated (its schema gives the keys, ranges and types).
    row, column_label : optional
        A CSV row: its 1-based line and ``column_label="column"``; TOML files use ``"field"``.
    prefix : str
        Where ``data`` sits in the file (``"gtc2024-hopper"`` for one preset table).
    suffix : str
        Appended to the problem, e.g. ``" (variant 'low')"``.
    allowed : mapping or callable, optional
        The loader's own words for what is allowed. A mapping from :attr:`Problem.pattern`
        (``"mfu"``, or ``"mfu.*"`` for an entry of the ``mfu`` table) to words is used for
        range and type errors; a callable gets the :class:`Problem` and returns words or None
        (the generic words).
    tables : mapping, optional
        Words for a model where a value may be one (see :func:`type_words`).
    hidden : collection of str
        Fields not written in files (set by the loader), left out of key lists.
    """
    problem = resolve(exc, root)
    path = field_path((prefix, *problem.loc) if prefix else problem.loc)
    text = describe(problem, allowed=allowed, tables=tables, hidden=hidden)
    return CatalogError(source, row, path or None, text + suffix, column_label=column_label)


def resolve(exc: ValidationError, root: type[BaseModel]) -> Problem:
    """The error of ``exc`` to report, walked through ``root``'s schema (see :data:`_RANK`)."""
    errors = exc.errors()
    problems = [_problem(err, root) for err in errors]
    keyed = [p for p in problems if p.is_key]
    if keyed:
        return keyed[0]
    best = min(_RANK.get(p.kind, 5) for p in problems)
    tied = [p for p in problems if _RANK.get(p.kind, 5) == best]
    chosen = tied[0]
    for p in tied[1:]:
        if len(p.loc) > len(chosen.loc) and p.loc[: len(chosen.loc)] == chosen.loc:
            chosen = p
    return chosen


def describe(
    problem: Problem,
    *,
    allowed: Allowed | None = None,
    tables: Mapping[Any, str] | None = None,
    hidden: Collection[str] = (),
) -> str:
    """The problem part of the message (after the file and field), see :func:`data_error`."""
    p = problem
    if p.kind == "extra_forbidden":
        if not p.tables:
            return "unknown key: expected a known key"
        names = [k for k in p.tables[0].model_fields if k not in hidden]
        typo = str(p.loc[-1]) if p.loc else ""
        close = difflib.get_close_matches(typo, names, n=1, cutoff=0.75)
        text = "unknown key: expected one of " + ", ".join(names)
        return text + (f" (did you mean {close[0]!r}?)" if close else "")
    if p.kind == "missing":
        keys = allowed_keys(p.tables[0], hidden) if p.tables else ""
        return "required field is missing" + (f" (fields of this table: {keys})" if keys else "")
    if p.kind in ("value_error", "assertion_error"):
        text = str(p.ctx.get("error", p.message)).removeprefix("Value error, ")
        if not p.loc or " is not allowed" in text:
            return text
        return f"{show_value(p.value)} is not allowed: {text}"
    words = _own_words(p, allowed)
    if words is None:
        words = _generic_words(p, tables or {})
    return not_allowed(p.value, words + (" as the key" if p.is_key else ""))


# --- internals ---------------------------------------------------------------------------------


def _own_words(p: Problem, allowed: Allowed | None) -> str | None:
    if allowed is None:
        return None
    if callable(allowed):
        return allowed(p)
    if p.is_key or p.pattern is None or (p.kind not in RANGE_KINDS | TYPE_KINDS):
        return None
    return allowed.get(p.pattern)


def _generic_words(p: Problem, tables: Mapping[Any, str]) -> str:
    ctx = p.ctx
    finite = p.kind == "finite_number"
    if p.kind in RANGE_KINDS:
        for member in (*p.failed, *p.members):
            whole = member.annotation is int
            words = range_words(member.metadata, whole=whole)
            if words is not None:
                return words
        bound = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(
            p.kind, "<="
        )
        limit = next(iter(ctx.values()), "")
        return f"a number {bound} {_toml(limit)}"
    if p.kind in TYPE_KINDS or p.is_key:
        return _join([_member_words(m, tables, finite) for m in p.members]) or p.message.lower()
    if p.kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if p.kind == "string_too_short":
        n = int(ctx.get("min_length", 1))
        return "non-empty text" if n == 1 else f"text of at least {n} characters"
    if p.kind == "too_short":
        n = int(ctx.get("min_length", 1))
        what = _join([_member_words(m, tables, False) for m in p.members]) or "a list"
        return f"{what} with at least {n} {'entry' if n == 1 else 'entries'}"
    if p.kind == "too_long":
        n = int(ctx.get("max_length", 0))
        what = _join([_member_words(m, tables, False) for m in p.members]) or "a list"
        return f"{what} with at most {n:,} {'entry' if n == 1 else 'entries'}"
    if p.kind == "string_too_long":
        return f"text of at most {int(ctx.get('max_length', 0)):,} characters"
    if p.kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    return p.message.lower()


def _problem(err: Any, root: type[BaseModel]) -> Problem:
    raw = tuple(err["loc"])
    members: list[_Member] = [_Member(root)]
    union: list[_Member] = members
    before: list[_Member] = []
    loc: list[str | int] = []
    owner_field: str | None = None
    depth = 0
    is_key = tagged = False
    for part in raw:
        if part == "[key]":
            is_key = True
            members = [k for m in before if _origin(m) is dict for k in _key_members(m)]
            union = members
            continue
        if len(members) > 1 and isinstance(part, str) and not tagged:
            # pydantic names the union member an error comes from: keep that branch
            union, tagged = members, True
            members = [m for m in members if _tag_matches(m, part)] or members
            continue
        tagged = False
        before = members
        found = False
        nxt: list[_Member] = []
        for m in members:
            ann = m.annotation
            if _is_model(ann):
                info = ann.model_fields.get(str(part))
                if info is not None:
                    nxt += _members(info.annotation, tuple(info.metadata))
                    found = True
            elif _origin(m) is dict:
                nxt += _members(get_args(ann)[1])
            elif _origin(m) is list and isinstance(part, int):
                nxt += _members(get_args(ann)[0])
        if found:
            owner_field, depth = str(part), 0
        else:
            depth += 1
        members = union = nxt
        loc.append(part)
    owners = tuple(m.annotation for m in before if _is_model(m.annotation))
    if err["type"] == "missing" and loc:
        owners = tuple(o for o in owners if str(loc[-1]) in o.model_fields) or owners
    return Problem(
        kind=err["type"],
        loc=tuple(loc),
        value=err.get("input"),
        message=err["msg"],
        ctx=err.get("ctx") or {},
        field=owner_field,
        inside=depth > 0,
        is_key=is_key,
        members=tuple(union),
        failed=tuple(members),
        tables=owners,
    )


def _members(annotation: Any, metadata: tuple[Any, ...] = ()) -> list[_Member]:
    """The types ``annotation`` allows (union members), ``Annotated`` constraints attached."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return _members(base, (*metadata, *extra))
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _members(arg, metadata)]
    if annotation is type(None):
        return []
    return [_Member(annotation, metadata)]


def _flat(metadata: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for meta in metadata:
        out += meta.metadata if isinstance(meta, FieldInfo) else [meta]
    return out


def _description(metadata: Sequence[Any]) -> str | None:
    return next(
        (m.description for m in metadata if isinstance(m, FieldInfo) and m.description), None
    )


def _origin(member: _Member) -> Any:
    return get_origin(member.annotation)


def _is_model(annotation: Any) -> bool:
    return (
        get_origin(annotation) is None
        and isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
    )


def _key_members(member: _Member) -> list[_Member]:
    return _members(get_args(member.annotation)[0])


def _tag_matches(member: _Member, tag: str) -> bool:
    """Whether pydantic's union tag (``constrained-float``, ``dict[str,float]``,
    ``function-after[_ordered(), Range]``) names ``member``."""
    ann = member.annotation
    origin = get_origin(ann)
    if origin is dict:
        return tag.startswith("dict[")
    if origin is list:
        return tag.startswith("list[")
    if origin is Literal:
        return tag.startswith("literal[")
    if _is_model(ann):
        return tag == ann.__name__ or tag.endswith((f" {ann.__name__}]", f"[{ann.__name__}]"))
    name = getattr(ann, "__name__", "")
    return tag in (name, f"constrained-{name}")


def _member_words(member: _Member, tables: Mapping[Any, str], finite: bool) -> str:
    ann = member.annotation
    origin = get_origin(ann)
    if ann is bool:
        return _BOOL
    if ann is int:
        return range_words(member.metadata, whole=True) or "a whole number"
    if ann is float:
        return range_words(member.metadata, finite=finite) or (
            "a finite number" if finite else "a number"
        )
    if ann is str:
        return "text (a quoted string)"
    if origin is Literal:
        return "one of " + _join([repr(a) for a in get_args(ann)])
    if _is_model(ann):
        return tables.get(ann, "a table")
    if origin is dict:
        key = get_args(ann)[0]
        noun = _description(get_args(key)[1:]) if get_origin(key) is Annotated else None
        return f"a table of {noun} = value" if noun else "a table"
    if origin is list:
        item = get_args(ann)[0]
        return "an array of tables" if _is_model(item) else "a list"
    if ann in tables:
        return tables[ann]
    return f"a {getattr(ann, '__name__', ann)}"


def _join(words: Sequence[str]) -> str:
    """``"a, b or c"``; ``true or false`` reads ``true/false`` among other choices."""
    unique = list(dict.fromkeys(w for w in words if w))
    if len(unique) <= 1:
        return "".join(unique)
    unique = [_BOOL_IN_LIST if w == _BOOL else w for w in unique]
    return ", ".join(unique[:-1]) + " or " + unique[-1]
