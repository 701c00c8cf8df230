"""``run_sweep``: draw the scenarios, run the ones not done yet, write Parquet, summarise."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.sweeps import closed, fanout, sample
from planner.sweeps.spec import CLOSED_FORM_KINDS, SweepSpec, load_spec, spec_from_dict
from planner.sweeps.store import SweepStore
from planner.sweeps.summary import query, summarize

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did and its summary (:func:`planner.sweeps.summary.summarize`)."""

    out_dir: Path
    title: str
    kind: str
    scenarios: int
    ran: int
    skipped: int
    elapsed_s: float
    engine: str
    dashboard: str | None
    summary: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Every row written, by scenario number."""
        return SweepStore(self.out_dir).read()

    def query(self, sql: str) -> pd.DataFrame:
        """DuckDB SQL on the view ``sweep`` of this folder."""
        return query(self.out_dir, sql)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "title": self.title,
            "kind": self.kind,
            "scenarios": self.scenarios,
            "ran": self.ran,
            "skipped": self.skipped,
            "elapsed_s": self.elapsed_s,
            "engine": self.engine,
            "dashboard": self.dashboard,
            "summary": self.summary,
        }


def as_spec(spec: SweepSpec | str | Path | Mapping[str, Any]) -> SweepSpec:
    """A :class:`SweepSpec` from itself, a file or shipped name, or a TOML-shaped dict."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        return spec_from_dict(spec)
    return load_spec(spec)


def run_sweep(
    spec: SweepSpec | str | Path | Mapping[str, Any],
    *,
    scheduler: Any = None,
    workers: int | None = None,
    out_dir: str | Path,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run a sweep into ``out_dir`` (Parquet, one file per batch) and summarise it.

    Parameters
    ----------
    spec : SweepSpec, path, shipped name or dict
        The sweep (:mod:`planner.sweeps.spec`).
    scheduler : None, "serial", "tcp://HOST:PORT", a Dask Client or cluster
        Where optimiser / build-out scenarios run (:mod:`planner.sweeps.fanout`); closed-form
        kinds (sizing, serving) always run vectorised in this process.
    workers : int, optional
        Worker processes of the default LocalCluster (default: one per core).
    out_dir : path
        The sweep's folder: created, or resumed when it holds this same sweep (only the
        scenarios not yet written run).
    progress : callable, optional
        ``progress(stage, done, total)`` after each batch (scenarios done of the total).
    log : callable, optional
        One-line messages (the Dask workers and dashboard address).
    """
    started = time.perf_counter()
    fanout.check_scheduler(scheduler)
    spec = as_spec(spec)
    store = SweepStore(out_dir)
    table = sample.scenarios(spec)
    table.insert(1, "scenario", np.arange(len(table), dtype=np.int64))
    store.open(
        {
            "title": spec.title,
            "source": spec.source,
            "kind": spec.kind,
            "fingerprint": spec.fingerprint(),
            "spec": spec.to_dict(),
            "inputs": {n: closed.input_column(n) for n in spec.input_names},
        }
    )
    done = store.done_ids()
    todo = table[~np.isin(table["scenario_id"].to_numpy(), done)] if done.size else table
    total = len(table)
    skipped = total - len(todo)
    finished = skipped
    step = spec.batch
    chunks = [todo.iloc[i : i + step] for i in range(0, len(todo), step)]
    stage = f"{spec.kind} sweep"
    if progress is not None:
        progress(stage, finished, total)

    def write(chunk: pd.DataFrame, outputs: pd.DataFrame, elapsed: Any) -> None:
        nonlocal finished
        frame = _rows(spec, chunk, outputs, elapsed)
        store.write_batch(frame, int(chunk["scenario"].iloc[0]))
        finished += len(chunk)
        if progress is not None:
            progress(stage, finished, total)

    dashboard = None
    if spec.kind in CLOSED_FORM_KINDS:
        engine = "vectorised"
        for chunk in chunks:
            t0 = time.perf_counter()
            outputs = closed.evaluate(spec, chunk[spec.input_names])
            write(chunk, outputs, (time.perf_counter() - t0) / len(chunk))
    else:
        by_first = {int(c["scenario"].iloc[0]): c for c in chunks}
        payload = _payload(spec)
        records = [(first, _records(spec, c)) for first, c in by_first.items()]

        def on_result(first: int, frame: pd.DataFrame) -> None:
            chunk = by_first[first]
            outputs = frame.set_index("scenario").loc[chunk["scenario"].to_numpy()]
            outputs.index = chunk.index
            write(chunk, outputs.drop(columns=["elapsed_s"]), outputs["elapsed_s"].to_numpy())

        def remember(line: str) -> None:
            nonlocal dashboard
            if "dashboard " in line:
                dashboard = line.rsplit("dashboard ", 1)[1]
            if log is not None:
                log(line)

        engine = fanout.fan_out(
            payload,
            records,
            scheduler=scheduler,
            workers=workers,
            on_result=on_result,
            log=remember,
        )
    summary = summarize(
        store.path,
        [closed.input_column(n) for n in spec.input_names],
    )
    return SweepResult(
        out_dir=store.path,
        title=spec.title,
        kind=spec.kind,
        scenarios=total,
        ran=total - skipped,
        skipped=skipped,
        elapsed_s=time.perf_counter() - started,
        engine=engine,
        dashboard=dashboard,
        summary=summary,
    )


def _payload(spec: SweepSpec) -> dict[str, Any]:
    from planner.sweeps import base as bases

    key = bases.file_key(spec.kind)
    options = (
        bases.projection_options(spec.base)
        if spec.kind == "projection"
        else {k: v for k, v in spec.base.items() if k != key}
    )
    return {
        "kind": spec.kind,
        "inputs": spec.input_names,
        "data": bases.scenario_data(spec.kind, spec.base),
        "source": str(bases.resolve_file(spec.kind, spec.base[key])),
        "options": options,
    }


def _records(spec: SweepSpec, chunk: pd.DataFrame) -> list[dict[str, Any]]:
    cols = ["scenario", *spec.input_names]
    return chunk[cols].to_dict(orient="records")


def _rows(
    spec: SweepSpec, chunk: pd.DataFrame, outputs: pd.DataFrame, elapsed: Any
) -> pd.DataFrame:
    """One batch as written: ids, inputs (``in_<name>``), outputs, status, timings."""
    meta = chunk[["scenario_id", "scenario", "draw"]].reset_index(drop=True)
    ins = pd.DataFrame({closed.input_column(n): chunk[n].to_numpy() for n in spec.input_names})
    outs = outputs.reset_index(drop=True)
    outs = outs.drop(
        columns=[c for c in outs.columns if c in spec.input_names and c not in ("days",)],
        errors="ignore",
    )
    if "reason" not in outs:
        outs["reason"] = ""
    frame = pd.concat([meta, ins, outs], axis=1)
    frame["elapsed_s"] = np.broadcast_to(np.asarray(elapsed, dtype=float), len(frame))
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].astype(str)
    return frame
