"""The shipped examples, by name: site scenarios, projection studies and sizing presets.

A wheel carries the ``data/`` folder as ``planner/_data`` (see :mod:`planner._paths`), so
these names work without a source checkout, as PyPSA's ``pypsa.examples`` loaders do::

    from planner import examples
    examples.scenario_names()           # ['gtc2024', 'gtc2024_10mw_h100', 'my_site']
    path = examples.scenario_path("gtc2024")
    sc = examples.load_example_scenario("gtc2024")

The faces accept "a name or a path" wherever a file is expected (``planner optimize
gtc2024``, ``planner project iea-2025-base``, ``planner report gtc2024 --format md``); they
call :func:`resolve` and so give the same one-line error listing the known names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from planner._paths import data_dir
from planner.data_errors import check_input_path, resolve_user_path
from planner.errors import InputError

if TYPE_CHECKING:
    from planner.scenarios import Scenario

#: Kind of a shipped file: a site scenario for the optimiser or a national projection study.
Kind = Literal["scenario", "projection", "sweep", "buildout"]

_FOLDERS: dict[str, str] = {
    "scenario": "scenarios",
    "projection": "projections",
    "sweep": "sweeps",
    "buildout": "buildout",
}


@dataclass(frozen=True)
class Example:
    """One shipped example file.

    Attributes
    ----------
    name : str
        What to type (the file name without ``.toml``).
    kind : {"scenario", "projection"}
        Site scenario (``planner optimize``) or projection study (``planner project``).
    title : str
        The file's ``title``.
    path : Path
        Where the installed file is.
    """

    name: str
    kind: str
    title: str
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def _folder(kind: str) -> Path:
    return data_dir() / _FOLDERS[kind]


def _paths(kind: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted(_folder(kind).glob("*.toml"))}


def scenario_names() -> list[str]:
    """Names of the shipped site scenarios (``data/scenarios/*.toml``)."""
    return list(_paths("scenario"))


def projection_names() -> list[str]:
    """Names of the shipped projection studies (``data/projections/*.toml``)."""
    return list(_paths("projection"))


def preset_names() -> list[str]:
    """Names of the sizing presets (``data/presets.toml``), for ``--preset``."""
    from planner.presets import load_presets

    return list(load_presets())


def list_examples() -> list[Example]:
    """Every shipped scenario and projection study, with its title and installed path."""
    from planner.data_errors import read_toml

    out = []
    for kind in _FOLDERS:
        for name, path in _paths(kind).items():
            title = read_toml(path).get("title", "")
            out.append(Example(name, kind, str(title), path))
    return out


def resolve(name_or_path: str | Path, kind: Kind | None = None, *, field: str = "scenario") -> Path:
    """Return the file for a shipped example's name, or the path itself when it exists.

    Parameters
    ----------
    name_or_path : str or Path
        An existing file, or a shipped name (``gtc2024``, ``iea-2025-base``; ``.toml`` may
        be added).
    kind : {"scenario", "projection"}, optional
        Search only this kind of example; default both.
    field : str
        The input's name in the error message.

    Raises
    ------
    InputError
        Neither a file nor a shipped name; the message lists the known names.
    """
    path = resolve_user_path(name_or_path, field)
    try:
        is_file = path.is_file()
    except OSError:  # ENAMETOOLONG, ELOOP...: the path checks word it in one line
        return check_input_path(path, "scenario file", field)
    if is_file:
        return path
    kinds = [kind] if kind is not None else list(_FOLDERS)
    stem = path.name[: -len(".toml")] if path.name.endswith(".toml") else path.name
    known: list[str] = []
    for k in kinds:
        found = _paths(k)
        # A bare name ("gtc2024", "gtc2024.toml"), or the repository path the README uses
        # ("data/scenarios/gtc2024.toml") when there is no such file in the working folder.
        shipped_path = path.parent in (Path("."), Path("data") / _FOLDERS[k])
        if shipped_path and stem in found:
            return found[stem]
        known += list(found)
    raise InputError(
        field,
        str(name_or_path),
        "an existing TOML file or a shipped "
        + " or ".join(_FOLDERS[k].rstrip("s") for k in kinds)
        + " name: "
        + ", ".join(known),
        detail="file not found; `planner examples` lists the shipped names",
    )


def scenario_path(name_or_path: str | Path) -> Path:
    """The site scenario file for a shipped name (``gtc2024``) or a path."""
    return resolve(name_or_path, "scenario")


def projection_path(name_or_path: str | Path) -> Path:
    """The projection study file for a shipped name (``iea-2025-base``) or a path."""
    return resolve(name_or_path, "projection")


def load_example_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a shipped site scenario by name (or any scenario file)."""
    from planner.scenarios import load_scenario

    return load_scenario(scenario_path(name_or_path))
