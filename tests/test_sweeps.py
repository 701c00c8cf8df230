"""Sweeps: seeded draws, Parquet batches, resume, Dask fan-out (in-process, LocalCluster and a
scheduler + worker started as separate processes over TCP), bad sweep files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planner.cli.sweep  # noqa: F401  (registers `planner sweep`)
from planner.cli._app import main
from planner.errors import InputError
from planner.sweeps import run_sweep, spec_from_dict
from planner.sweeps.store import SweepStore

REPO = Path(__file__).resolve().parents[1]
TIMING = ["elapsed_s"]


def sizing_spec(samples: int = 200, batch: int = 50, seed: int = 7) -> dict:
    return {
        "title": "test sizing",
        "base": {"kind": "sizing", "preset": "gtc2024-hopper"},
        "sample": {"samples": samples, "seed": seed, "batch_size": batch},
        "inputs": {
            "mfu": {"dist": "uniform", "min": 0.17, "max": 0.23},
            "pue": {"dist": "triangular", "min": 1.1, "mode": 1.2, "max": 1.4},
            "goodput": {"dist": "normal", "mean": 0.9, "sd": 0.03, "min": 0.8, "max": 0.99},
        },
    }


def grid_spec(batch: int = 1, grids: tuple = ((4, 8), (90, 120))) -> dict:
    return {
        "title": "test grid",
        "base": {"kind": "optimize", "scenario": "gtc2024", "objective": "cost"},
        "sample": {"batch_size": batch},
        "inputs": {
            "site.grid_limit_mw": {"grid": list(grids[0])},
            "runs[0].deadline_days": {"grid": list(grids[1])},
        },
    }


def results(out_dir: Path) -> pd.DataFrame:
    frame = SweepStore(out_dir).read()
    return frame.drop(columns=TIMING).sort_values("scenario").reset_index(drop=True)


def write_toml(path: Path, data: dict) -> Path:
    from planner.data_errors import dump_toml

    path.write_text(dump_toml(data))
    return path


# --- draws, Parquet, resume ---------------------------------------------------------------


def test_seeded_sweep_writes_the_same_parquet_twice(tmp_path):
    a = run_sweep(sizing_spec(), out_dir=tmp_path / "a")
    b = run_sweep(sizing_spec(), out_dir=tmp_path / "b")
    assert a.ran == b.ran == 200
    assert len(list((tmp_path / "a").glob("part-*.parquet"))) == 4
    pd.testing.assert_frame_equal(results(tmp_path / "a"), results(tmp_path / "b"))
    assert a.summary["percentiles"] == b.summary["percentiles"]


def test_draws_stay_inside_the_truncation_and_seed_changes_them(tmp_path):
    frame = results(run_sweep(sizing_spec(), out_dir=tmp_path / "a").out_dir)
    assert frame["in_goodput"].between(0.8, 0.99).all()
    assert frame["in_pue"].between(1.1, 1.4).all()
    other = results(run_sweep(sizing_spec(seed=8), out_dir=tmp_path / "b").out_dir)
    assert not np.allclose(frame["in_mfu"], other["in_mfu"])


def test_more_samples_extend_the_same_draws(tmp_path):
    from planner.sweeps import sample

    small = sample.scenarios(spec_from_dict(sizing_spec(samples=50)))
    large = sample.scenarios(spec_from_dict(sizing_spec(samples=120)))
    pd.testing.assert_frame_equal(small, large.iloc[:50])


def test_resumed_sweep_runs_only_the_missing_scenarios(tmp_path):
    out = tmp_path / "mc"
    first = run_sweep(sizing_spec(), out_dir=out)
    full = results(out)
    parts = sorted(out.glob("part-*.parquet"))
    for p in parts[1:3]:
        p.unlink()
    again = run_sweep(sizing_spec(), out_dir=out)
    assert (first.ran, again.ran, again.skipped) == (200, 100, 100)
    pd.testing.assert_frame_equal(results(out), full)
    assert run_sweep(sizing_spec(), out_dir=out).ran == 0


def test_a_folder_of_another_sweep_is_refused(tmp_path):
    run_sweep(sizing_spec(), out_dir=tmp_path)
    with pytest.raises(InputError, match="out_dir"):
        run_sweep(sizing_spec(seed=99), out_dir=tmp_path)


def test_summary_ranks_mfu_first_for_gpus_and_duckdb_queries_the_parquet(tmp_path):
    result = run_sweep(sizing_spec(samples=2000, batch=1000), out_dir=tmp_path)
    s = result.summary
    assert s["infeasible_share"] == 0.0
    assert s["tornado"]["gpus"][0]["input"] == "in_mfu"
    p = s["percentiles"]["facility_power_mw"]
    assert p["p10"] < p["p50"] < p["p90"]
    count = result.query("SELECT count(*) AS n FROM sweep WHERE status = 'ok'")["n"].iloc[0]
    assert count == 2000


def test_serving_sweep_counts_infeasible_draws_and_what_set_the_batch(tmp_path):
    spec = {
        "base": {"kind": "serving", "preset": "llama70b-h100-example"},
        "sample": {"samples": 300, "seed": 1},
        "inputs": {
            "tpot_target_s": {"dist": "uniform", "min": 0.0001, "max": 0.05},
            "users": {"grid": [1e6, 1e8]},
        },
    }
    s = run_sweep(spec, out_dir=tmp_path).summary
    assert s["scenarios"] == 600
    assert 0 < s["infeasible_share"] < 1
    assert s["binding"]


# --- optimiser fan-out ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def serial_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    run_sweep(grid_spec(), out_dir=out, scheduler="serial")
    return results(out)


def test_optimiser_grid_reports_status_binding_and_infeasible(serial_grid):
    assert len(serial_grid) == 4
    assert set(serial_grid["status"]) <= {"optimal", "infeasible"}
    assert (serial_grid["status"] == "infeasible").any()


def test_two_worker_local_cluster_gives_the_serial_results(tmp_path, serial_grid):
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = run_sweep(grid_spec(), out_dir=tmp_path, scheduler=cluster)
    assert result.engine == "dask (2 workers)"
    pd.testing.assert_frame_equal(results(tmp_path), serial_grid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow
def test_scheduler_and_worker_processes_over_tcp_give_the_serial_results(tmp_path, serial_grid):
    dask_cli = Path(sys.executable).parent / "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(dask_cli),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-dashboard",
                ],
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

        def listening() -> bool:
            assert procs[0].poll() is None, "the scheduler exited"
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        _wait(listening, 60, "the scheduler")
        procs.append(
            subprocess.Popen(
                [
                    str(dask_cli),
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                ],
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=120)
        spec = write_toml(tmp_path / "grid.toml", grid_spec())
        out = tmp_path / "out"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "planner",
                "sweep",
                str(spec),
                "--out",
                str(out),
                "--scheduler",
                address,
                "--json",
            ],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        payload = json.loads(done.stdout)
        assert payload["engine"] == "dask (1 worker)"
        pd.testing.assert_frame_equal(results(out), serial_grid)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_killed_sweep_leaves_no_partial_parquet_and_resumes(tmp_path):
    spec = write_toml(tmp_path / "grid.toml", grid_spec(grids=((4, 8, 16), (60, 90, 120))))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "planner",
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--scheduler",
            "serial",
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(
            lambda: any(out.glob("part-*.parquet")) or proc.poll() is not None,
            120,
            "the first batch",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    import pyarrow.parquet as pq

    parts = list(out.glob("part-*.parquet"))
    done = sum(pq.read_table(p).num_rows for p in parts)  # every part file is whole
    assert 1 <= done < 9, "the kill came after the first batch, before the last"
    result = run_sweep(spec, out_dir=out, scheduler="serial")
    assert (result.ran, result.skipped) == (9 - done, done)
    assert not list(out.glob(".tmp-*"))
    frame = results(out)
    assert sorted(frame["scenario"]) == list(range(9))
    assert frame["scenario_id"].is_unique


def buildout_spec(batch: int = 2) -> dict:
    return {
        "title": "test build-out",
        "base": {"kind": "buildout", "scenario": "small-hand-checkable"},
        "sample": {"batch_size": batch},
        "inputs": {
            "sites[0].grid[0].mw": {"grid": [5, 20]},
            "runs[0].flops": {"grid": [2e24, 2e26]},
        },
    }


def test_a_buildout_sweep_runs_the_real_buildout_planner(tmp_path):
    from planner.optimization.buildout import load_buildout, plan_buildout
    from planner.optimization.buildout.model import buildout_from_dict

    done = run_sweep(buildout_spec(), scheduler="serial", out_dir=tmp_path / "s")
    frame = results(done.out_dir)
    assert done.ran == 4 and list(frame["scenario"]) == [0, 1, 2, 3]
    # 100x the shipped run's FLOPs fits at no grid size: infeasible rows, the sweep goes on
    hundredfold = frame["in_runs[0].flops"] == 2e26
    assert (frame.loc[hundredfold, "status"] == "infeasible").all()
    assert frame.loc[hundredfold, "reason"].str.contains("no build-out fits").all()
    assert (frame.loc[~hundredfold, "status"] == "optimal").all()
    # each row is the planner's own answer for that scenario
    data = load_buildout("small-hand-checkable").model_dump(exclude_none=True)
    data["sites"][0]["grid"][0]["mw"] = 20
    plan = plan_buildout(buildout_from_dict(data), relax=False)
    row = frame[(frame["in_sites[0].grid[0].mw"] == 20) & ~hundredfold].iloc[0]
    assert row["cost_usd"] == pytest.approx(plan.totals["cost_usd"], rel=1e-9)
    assert row["energy_mwh"] == pytest.approx(plan.totals["energy_mwh"], rel=1e-9)


@pytest.mark.parametrize(
    ("base", "field", "value"),
    [
        ({"objective": "fastest"}, "base.objective", "fastest"),
        ({"solver": "cbc"}, "base.solver", "cbc"),
        ({"mip_rel_gap": 1.5}, "base.mip_rel_gap", "1.5"),
    ],
)
def test_a_bad_buildout_base_is_one_line_naming_the_field(base, field, value):
    spec = buildout_spec()
    spec["base"].update(base)
    with pytest.raises(InputError) as err:
        spec_from_dict(spec)
    assert err.value.field == field and value in str(err.value)


def test_a_buildout_input_out_of_the_files_range_is_one_line():
    spec = buildout_spec()
    spec["inputs"] = {"sites[0].grid[0].mw": {"grid": [-5, 20]}}
    with pytest.raises(InputError) as err:
        spec_from_dict(spec)
    assert "sites[0].grid[0].mw" in err.value.field


# --- bad sweep files: one line, exit 2 ------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "field", "value"),
    [
        (
            {"goodput": {"dist": "normal", "mean": 0.9, "sd": -0.03, "min": 0.8, "max": 0.99}},
            "inputs.goodput.sd",
            "-0.03",
        ),
        ({"mfu": {"dist": "uniform", "min": 0.5, "max": 0.3}}, "inputs.mfu.min", "0.5"),
        (
            {"mfu_typo": {"dist": "uniform", "min": 0.1, "max": 0.3}},
            "inputs.mfu_typo",
            "'mfu_typo'",
        ),
        ({"pue": {"dist": "uniform", "min": 0.9, "max": 1.3}}, "inputs.pue.min", "0.9"),
        ({"pue": {"dist": "normal", "mean": 1.2, "sd": 0.1}}, "inputs.pue.min", "'missing'"),
    ],
)
def test_bad_distribution_is_one_line_naming_the_field_exit_2(
    tmp_path, capsys, inputs, field, value
):
    spec = sizing_spec()
    spec["inputs"] = inputs
    path = write_toml(tmp_path / "bad.toml", spec)
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"planner: error: {field} = {value} is not allowed: expected ")


def test_bad_dotted_path_names_the_field():
    spec = grid_spec()
    spec["inputs"] = {"site.grid_mw": {"grid": [10]}}
    with pytest.raises(InputError, match=r"inputs\.site\.grid_mw .*grid_limit_mw"):
        spec_from_dict(spec)
    spec["inputs"] = {"site.grid_limit_mw": {"grid": [20000]}}
    with pytest.raises(
        InputError, match=r"inputs\.site\.grid_limit_mw\.grid\[0\] = 20000 .*\(0, 10000\]"
    ):
        spec_from_dict(spec)


def test_json_prints_one_object_and_help_loads_no_dask(tmp_path, capsys):
    spec = write_toml(tmp_path / "s.toml", sizing_spec(samples=100, batch=100))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["summary"]["scenarios"] == 100
    code = "import sys, planner.cli; print(sorted(m for m in ('dask', 'distributed', 'duckdb') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- single answers with uncertainty --------------------------------------------------------


def test_size_uncertainty_carries_the_run_models_cross_validated_band():
    from planner.sweeps.uncertainty import size_uncertainty
    from planner.utilisation import cross_validated_band

    r = size_uncertainty(accelerator="h100", params=7e10, tokens=1.5e13, days=60, n=4000, seed=1)
    lo, hi = cross_validated_band()
    mfu = r["outputs"]["mfu"]
    assert mfu["p10"] / mfu["p50"] == pytest.approx(1 + lo, rel=0.05)
    assert mfu["p90"] / mfu["p50"] == pytest.approx(1 + hi, rel=0.05)
    assert r["outputs"]["gpus"]["p10"] < r["outputs"]["gpus"]["p90"]


def test_size_uncertainty_with_a_given_mfu_draws_only_the_inputs():
    from planner.sweeps import parse_vary
    from planner.sweeps.uncertainty import size_uncertainty

    r = size_uncertainty(
        preset="gtc2024-hopper",
        distributions=dict([parse_vary("pue=triangular:1.1:1.2:1.4")]),
        n=2000,
    )
    assert r["model_error"] is None
    assert r["outputs"]["gpus"]["p10"] == r["outputs"]["gpus"]["p90"]
    assert r["outputs"]["facility_power_mw"]["p10"] < r["outputs"]["facility_power_mw"]["p90"]


def test_projection_sweep_replaces_the_studys_range_by_each_draw(tmp_path):
    spec = {
        "base": {"kind": "projection", "study": "iea-2025-base", "year": 2030},
        "sample": {"samples": 2, "seed": 3},
        "inputs": {
            "ai.shipments_scale": {"dist": "uniform", "min": 0.8, "max": 1.2},
            "pue.2024": {"grid": [1.15, 1.3]},
        },
    }
    frame = results(run_sweep(spec, out_dir=tmp_path, scheduler="serial").out_dir)
    assert list(frame["status"]) == ["ok"] * 4
    low, high = frame.groupby("in_pue.2024")["total_twh"].mean()
    assert low < high


def test_a_scheduler_that_is_not_an_address_is_one_line_exit_2(tmp_path, capsys):
    code = main(["sweep", "gtc2024-grid", "--out", str(tmp_path), "--scheduler", "foo:bar"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "planner: error: --scheduler = 'foo:bar' is not allowed: expected serial, or the "
        "address of a running Dask scheduler (tcp://HOST:PORT)"
    ]
