"""Fuzz the ``planner`` command with extreme values and broken files.

Issue 9, item 5: every input gets an answer (exit 0), one line naming what is wrong (exit 2)
or "no plan fits" (exit 3); never a traceback, never "internal error" (exit 1), and ``--json``
output is strict JSON (no NaN / Infinity). Seeded (``derandomize=True``).

The :data:`EXAMPLES` fuzz cases and the inputs the fuzzer found run in this process through
the console script's own entry point (:func:`planner.cli.main`: the same parsing, the same
error handling, the same exit code), with ``sys.stdout`` / ``sys.stderr`` captured: a planner
process costs a second or more of imports, the command itself milliseconds. The contract that
only a real process shows (file descriptor 1 holds exactly the answer even when a solver
prints from C; the exit status the shell sees) is checked on one command of each outcome run
as a real ``planner`` process (:data:`PROCESS_CONTRACT`). ``pytest -s`` prints the outcomes
counted by command and exit code.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _forkserver as forkserver
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from planner._paths import data_dir
from planner.cli import main as planner_main

ROOT = Path(__file__).resolve().parents[1]
PLANNER = Path(sys.executable).with_name("planner")
#: Fuzz cases, run in this process through planner.cli.main.
EXAMPLES = 120
#: Exit codes an input may give: 0 an answer, 2 bad input (one line), 3 no plan fits.
ALLOWED_EXIT_CODES = {0, 2, 3}

#: Extreme numbers as typed on a command line (e-notation, signs, overflow, not numbers).
NUMBERS = [
    "1",
    "0",
    "-1",
    "0.5",
    "1e7",
    "1e308",
    "-1e308",
    "1e400",
    "inf",
    "-inf",
    "nan",
    "",
    "1e-6",
    "1e-300",
    "5e-324",
    "2.5E-1",
    "1e25",
    "abc",
    "99999999999999999999999999999999999999999",
]
SIZE_OPTIONS = [
    "--mfu",
    "--goodput",
    "--pue",
    "--design-pue",
    "--network-overhead",
    "--load-fraction",
    "--avg-power-per-gpu-w",
    "--price-usd-per-gpu",
    "--rent-usd-per-gpu-hour",
    "--electricity-usd-per-mwh",
    "--grid-gco2-per-kwh",
    "--params",
    "--active-params",
    "--tokens",
]
SCENARIO = """\
title = "fuzz"
[site]
grid_limit_mw = 50
[[runs]]
name = "r"
flops = 1e24
deadline_days = 30
[candidates]
chips = ["h100", "gb200"]
"""


def _catalog_with(cell: str) -> str:
    lines = (data_dir() / "accelerators.csv").read_text(encoding="utf-8").splitlines()
    col = lines[0].split(",").index("price_usd_per_gpu")
    row = next(i for i, line in enumerate(lines) if line.startswith("h100,"))
    cells = lines[row].split(",")
    cells[col] = cell
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Good and broken input files, and paths that are not files at all, by kind."""
    d = tmp_path_factory.mktemp("fuzz")

    def write(name: str, text: str | bytes) -> str:
        p = d / name
        p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return str(p)

    long_path = str(d / ("a" * 300 + ".toml"))
    not_files = [
        long_path,
        "~nouser-fuzz/x.toml",
        str(d),
        str(d / "missing.toml"),
        "/dev/null",
        "",
        write("binary.toml", b"\x00\xff\xfe" * 50),
        write("latin1.toml", "title = 'Z\u00fcrich'\n".encode("latin-1")),
        write("empty.toml", ""),
    ]
    catalog_good = d / "acc.csv"
    shutil.copy(data_dir() / "accelerators.csv", catalog_good)
    catalogs = [
        str(catalog_good),
        write("empty.csv", ""),
        write("header.csv", _catalog_with("30000").splitlines()[0] + "\n"),
        write("inf.csv", _catalog_with("inf")),
        write("huge.csv", _catalog_with("1e30")),
        write("nan.csv", _catalog_with("nan")),
        write("dup.csv", _catalog_with("30000") + _catalog_with("30000").splitlines()[3] + "\n"),
        write("quote.csv", 'id,name\n"h100,x\n'),
        long_path.replace(".toml", ".csv"),
        *not_files[1:6],
    ]
    many_runs = "".join(
        f'[[runs]]\nname = "r{i}"\nflops = 1e24\ndeadline_days = 30\n' for i in range(300)
    )
    scenarios = [
        write("good.toml", SCENARIO),
        str(data_dir() / "scenarios" / "gtc2024_10mw_h100.toml"),  # no plan fits: exit 3
        write("malformed.toml", "[site\ngrid_limit_mw = "),
        write("deep.toml", "a = " + "[" * 2000 + "]" * 2000 + "\n"),
        write("deep40.toml", "a = " + "[" * 40 + "]" * 40 + "\n"),
        write("dup_chips.toml", SCENARIO.replace('"gb200"]', '"gb200", "h100"]')),
        write("inf.toml", SCENARIO.replace("flops = 1e24", "flops = inf")),
        write("e400.toml", SCENARIO.replace("grid_limit_mw = 50", "grid_limit_mw = 1e400")),
        write("tiny.toml", SCENARIO.replace("flops = 1e24", "flops = 5e-324")),
        write("zero_mfu.toml", SCENARIO + "mfu = 0\n"),
        write("many.toml", SCENARIO.split("[[runs]]")[0] + many_runs),
        write("dup_runs.toml", SCENARIO + '[[runs]]\nname = "r"\nflops = 1\ndeadline_days = 1\n'),
        *not_files,
    ]
    projection = (data_dir() / "projections" / "de-vries-2023.toml").read_text(encoding="utf-8")
    projections = [
        str(data_dir() / "projections" / "de-vries-2023.toml"),
        write("pub0.toml", projection.replace("value = 85.4", "value = 0", 1)),
        write("ship.toml", projection.replace("2027 = 1.5e6", "2027 = 1e308", 1)),
        write("ship_inf.toml", projection.replace("2027 = 1.5e6", "2027 = inf", 1)),
        write("life0.toml", projection.replace("lifetime_years = 1 ", "lifetime_years = 0 ", 1)),
        *not_files,
    ]
    outs = [
        str(d / "report.md"),
        str(d / "report.json"),
        str(d / ("b" * 300 + ".md")),
        "~nouser-fuzz/x.md",
        str(d),
        str(d / "no-such-dir" / "x.md"),
        str(d / "report.xlsx"),
        "",
    ]
    return {
        "catalog": catalogs,
        "scenario": scenarios,
        "projection": projections,
        "out": outs,
    }


def _pick(draw: Any, good: list[str], bad: list[str]) -> str:
    """A sane value half the time (so answers and exit 3 are fuzzed too), else an extreme one."""
    return draw(st.sampled_from(good if draw(st.booleans()) else bad))


def _size(draw: Any, files: dict[str, list[str]]) -> list[str]:
    chip = _pick(draw, ["h100", "gb200", "v100", "a100-40gb"], ["nope", "", "H100 "])
    args = ["size", "-a", chip, "--flops", _pick(draw, ["2e25", "1e24", "3.8e25"], NUMBERS)]
    if draw(st.booleans()):
        args += ["--days", _pick(draw, ["90", "30", "1e3"], NUMBERS)]
    else:
        args += ["--gpus", _pick(draw, ["8000", "16", "1e4"], NUMBERS)]
    for option in draw(st.lists(st.sampled_from(SIZE_OPTIONS), max_size=3, unique=True)):
        args += [option, _pick(draw, ["0.4", "0.9", "1.2", "1e12"], NUMBERS)]
    if draw(st.integers(0, 3)) == 0:
        args += ["--catalog", _pick(draw, files["catalog"][:1], files["catalog"][1:])]
    if draw(st.integers(0, 4)) == 0:
        args += ["--compare"]
    return args


def _optimize(draw: Any, files: dict[str, list[str]]) -> list[str]:
    args = ["optimize", _pick(draw, files["scenario"][:2], files["scenario"][2:])]
    if draw(st.integers(0, 2)) == 0:
        args += ["--objective", _pick(draw, ["cost", "power", "time", "gpus"], ["x", ""])]
    if draw(st.integers(0, 3)) == 0:
        args += ["--time-limit-s", _pick(draw, ["10", "1e3"], ["0", "-1", "inf", "nan", "1e-300"])]
    return args


def _project(draw: Any, files: dict[str, list[str]]) -> list[str]:
    args = ["project", _pick(draw, files["projection"][:1], files["projection"][1:])]
    samples = _pick(draw, ["0", "1", "50"], ["-1", "1e3", "10000000000", "", "nan"])
    args += ["--samples", samples]
    if draw(st.integers(0, 2)) == 0:
        args += ["--seed", _pick(draw, ["0", "7"], ["-1", "18446744073709551617", "x"])]
    if draw(st.integers(0, 2)) == 0:
        args += ["--years", _pick(draw, ["2024:2030", "2027:2027"], ["2030:2024", "1:99999", ""])]
    return args


def _catalog(draw: Any, files: dict[str, list[str]]) -> list[str]:
    args = ["catalog"]
    if draw(st.integers(0, 4)) > 0:
        args += ["--catalog", _pick(draw, files["catalog"][:1], files["catalog"][1:])]
    return args


def _report(draw: Any, files: dict[str, list[str]]) -> list[str]:
    if draw(st.booleans()):
        args = ["report", "--preset", _pick(draw, ["gtc2024-hopper"], ["nope", ""])]
    else:
        kind = draw(st.sampled_from(["scenario", "projection"]))
        good = files[kind][: 2 if kind == "scenario" else 1]
        args = ["report", _pick(draw, good, files[kind][len(good) :])]
    if draw(st.booleans()):
        args += ["--out", _pick(draw, files["out"][:2], files["out"][2:])]
    else:
        args += ["--format", _pick(draw, ["md", "json"], ["html", "x", ""])]
    return args


BUILDERS = {
    "size": _size,
    "optimize": _optimize,
    "project": _project,
    "catalog": _catalog,
    "report": _report,
}


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def _run(args: list[str]) -> Result:
    """``planner ARGS`` as a real process (the console script of this environment)."""
    env = {k: v for k, v in os.environ.items() if k != "PLANNER_DEBUG"}
    env["COLUMNS"] = "200"
    proc = forkserver.run(args, cwd=ROOT, env=env)  # forked with the imports done
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _call(args: list[str]) -> Result:
    """``planner ARGS`` in this process: the console script's ``main``, its streams captured.

    Needs the ``in_process`` fixture (no ``PLANNER_DEBUG``, the checkout as working folder).
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = planner_main(args)
        except SystemExit as exc:  # the console script would exit with this status
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture()
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``_run`` gives a process: no ``PLANNER_DEBUG``, the checkout as working folder."""
    monkeypatch.delenv("PLANNER_DEBUG", raising=False)
    monkeypatch.chdir(ROOT)


def _problems(args: list[str], result: Result) -> list[str]:
    """Every promise ``planner ARGS`` broke, as one line (empty: all kept)."""
    command = args[0]
    problems = []
    if result.returncode not in ALLOWED_EXIT_CODES:
        problems.append(f"exit code {result.returncode}")
    if "Traceback" in result.stderr or "internal error" in result.stderr:
        problems.append("traceback/internal error")
    if result.returncode == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr for bad input")
    json_out = "--json" in args or (
        command == "report" and "--format" in args and args[args.index("--format") + 1] == "json"
    )
    if json_out and result.returncode in (0, 3):
        try:
            _strict_json(result.stdout)
        except ValueError as exc:
            problems.append(f"stdout is not strict JSON ({exc}): {result.stdout[:120]!r}")
    if not problems:
        return []
    return [f"{' '.join(args)[:300]} -> {'; '.join(problems)}; stderr: {result.stderr[-300:]!r}"]


def _fuzz(files: dict[str, list[str]], runner: Any, examples: int) -> None:
    """Run ``examples`` drawn commands through ``runner``; fail listing EVERY broken promise."""
    outcomes: Counter[str] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        command = data.draw(st.sampled_from(sorted(BUILDERS)), label="command")
        args = BUILDERS[command](data.draw, files)
        if command != "report" and data.draw(st.integers(0, 3), label="json") > 0:
            args.append("--json")
        note(f"planner {' '.join(args)}")
        result = runner(args)
        outcomes[f"{command} exit {result.returncode}"] += 1
        failures.extend(_problems(args, result))

    fuzz()
    total = sum(outcomes.values())
    print(f"\nCLI fuzz: {total} commands ({runner.__name__}), outcomes by command and exit code:")
    for key, count in sorted(outcomes.items()):
        print(f"  {key}: {count}")
    print(f"  broken promises: {len(failures)}")
    assert total >= examples // 2, outcomes  # hypothesis did not cut the run short
    assert not failures, f"{len(failures)} broken:\n" + "\n".join(failures)


def test_fuzzed_cli_gives_an_answer_one_line_or_no_plan_never_a_traceback(
    files, in_process
) -> None:
    """:data:`EXAMPLES` commands through ``planner.cli.main``; every broken promise listed."""
    _fuzz(files, _call, EXAMPLES)


#: One command of each outcome as a real process: stdout holds exactly one strict JSON object
#: (a solver printing from C must not reach it), stderr one line for bad input.
PROCESS_CONTRACT = {
    "answer-json": (["size", "-a", "h100", "--flops", "1e25", "--days", "90", "--json"], 0),
    "solved-json": (["optimize", "GOOD", "--json"], 0),
    "no-plan-json": (["optimize", "NO_PLAN", "--json"], 3),
    "bad-value": (["size", "-a", "h100", "--flops", "nan", "--days", "90", "--json"], 2),
    "usage-error": (["size", "--no-such-option"], 2),
}


@pytest.mark.parametrize(
    ("args", "code"), list(PROCESS_CONTRACT.values()), ids=list(PROCESS_CONTRACT)
)
def test_a_planner_process_keeps_the_stdout_and_exit_code_contract(files, args, code) -> None:
    by_name = {"GOOD": files["scenario"][0], "NO_PLAN": files["scenario"][1]}
    args = [by_name.get(a, a) for a in args]
    result = _run(args)
    assert result.returncode == code, result.stderr
    assert _problems(args, result) == []
    if code == 2:
        assert result.stderr.startswith("planner: error:") and result.stdout == ""
    else:
        assert isinstance(_strict_json(result.stdout), dict)


@pytest.mark.parametrize(
    "args",
    [
        ["size", "-a", "h100", "--flops", "1e25", "--days", "90", "--mfu", "1e-6", "--goodput",
         "1e-6", "--json"],
        ["size", "-a", "h100", "--flops", "1e25", "--days", "90", "--electricity-usd-per-mwh",
         "1e308", "--json"],
        ["size", "-a", "h100", "--flops", "1e25", "--days", "90", "--price-usd-per-gpu", "1e30"],
        ["catalog", "--catalog", "EMPTY"],
        ["optimize", "DEEP"],
        ["optimize", "DUP"],
        ["report", "--preset", "gtc2024-hopper", "--out", "~nouser-fuzz/x.md"],
        ["size", "-a", "h100", "--flops", "1e25", "--days", "90", "--catalog", "LONG"],
    ],
    ids=[
        "mfu-goodput-1e-6",
        "electricity-1e308",
        "price-1e30",
        "empty-catalog",
        "toml-2000-deep",
        "duplicate-chips",
        "tilde-unknown-user",
        "300-char-catalog",
    ],
)  # fmt: skip
def test_each_input_the_fuzzer_found_is_one_line_and_exit_2(files, in_process, args) -> None:
    """The exact findings of issue 9 (item 5), each through ``planner.cli.main``."""
    by_name = {
        "EMPTY": next(p for p in files["catalog"] if p.endswith("empty.csv")),
        "DEEP": next(p for p in files["scenario"] if p.endswith("deep.toml")),
        "DUP": next(p for p in files["scenario"] if p.endswith("dup_chips.toml")),
        "LONG": next(p for p in files["catalog"] if p.endswith("a.csv") and len(p) > 300),
    }
    args = [by_name.get(a, a) for a in args]
    result = _call(args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("planner: error:") and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


#: Found by this fuzzer and fixed in examples.resolve (path checks before is_file) and
#: projection.project (check_seed).
FOUND_AND_FIXED = {
    "optimize-300-char-scenario": ["optimize", "LONG_TOML"],
    "project-negative-seed": ["project", "DE_VRIES", "--samples", "5", "--seed", "-1"],
}


@pytest.mark.parametrize("args", list(FOUND_AND_FIXED.values()), ids=list(FOUND_AND_FIXED))
def test_inputs_found_by_the_fuzzer_and_fixed_are_one_line(files, in_process, args) -> None:
    by_name = {
        "LONG_TOML": next(p for p in files["scenario"] if len(p) > 300),
        "DE_VRIES": files["projection"][0],
    }
    result = _call([by_name.get(a, a) for a in args])
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
