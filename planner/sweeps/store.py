"""Sweep results on disk: one Parquet file per batch, written atomically; resume by scenario id.

A sweep's folder holds

- ``sweep.json``: the sweep (as its TOML dict), its fingerprint, the input and output columns;
- ``part-NNNNNNNNNN.parquet``: one per batch (NNN = the batch's first scenario number), written
  by pyarrow to a hidden temporary file in the same folder and renamed into place
  (``os.replace``, atomic on POSIX and Windows): a reader, or a rerun after a kill, sees whole
  batch files or none. Temporary files a killed sweep left behind are removed on open.

A rerun reads the ``scenario_id`` column of every part file and runs only the scenarios not in
it. A folder holding another sweep (another fingerprint) is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from planner.errors import InputError

MANIFEST = "sweep.json"
PART_GLOB = "part-*.parquet"
_TMP_PREFIX = ".tmp-"


class SweepStore:
    """The Parquet folder of one sweep."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir)
        if self.path.exists() and not self.path.is_dir():
            raise InputError("out_dir", str(out_dir), "a folder (this is a file)")

    # --- manifest ------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        file = self.path / MANIFEST
        if not file.is_file():
            return None
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError):
            raise InputError(
                "out_dir", str(self.path), f"a sweep folder with a readable {MANIFEST}"
            ) from None

    def open(self, manifest: dict[str, Any]) -> None:
        """Create the folder (or check it holds this same sweep) and clear stale temp files."""
        self.path.mkdir(parents=True, exist_ok=True)
        old = self.manifest()
        if old is not None and old.get("fingerprint") != manifest["fingerprint"]:
            raise InputError(
                "out_dir",
                str(self.path),
                "an empty folder or one holding this same sweep",
                detail=f"it holds the results of another sweep ({old.get('title') or old.get('source')}); "
                "choose another --out",
            )
        if old is None and any(self.path.glob(PART_GLOB)):
            raise InputError(
                "out_dir",
                str(self.path),
                "an empty folder or one holding this same sweep",
                detail=f"Parquet files without {MANIFEST}",
            )
        for stale in self.path.glob(_TMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        self._write_bytes(
            self.path / MANIFEST, json.dumps(manifest, indent=2, default=str).encode()
        )

    # --- parts ---------------------------------------------------------------------------
    def parts(self) -> list[Path]:
        return sorted(self.path.glob(PART_GLOB))

    def done_ids(self) -> np.ndarray:
        """Scenario ids already written (uint64, sorted)."""
        import pyarrow.parquet as pq

        ids = [pq.read_table(p, columns=["scenario_id"]).column(0).to_numpy() for p in self.parts()]
        if not ids:
            return np.empty(0, dtype=np.uint64)
        return np.unique(np.concatenate(ids).astype(np.uint64))

    def write_batch(self, frame: Any, first: int) -> Path:
        """Write one batch (a DataFrame) as ``part-<first>.parquet``, atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        # one schema for every part: a categorical (dictionary) column is written as its values
        schema = pa.schema(
            [
                f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                for f in table.schema
            ]
        )
        if schema != table.schema:
            table = table.cast(schema)
        target = self.path / f"part-{first:010d}.parquet"
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".parquet", dir=self.path)
        try:
            with os.fdopen(fd, "wb") as sink:
                pq.write_table(table, sink)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target

    def _write_bytes(self, target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.path)
        try:
            with os.fdopen(fd, "wb") as sink:
                sink.write(data)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def read(self, columns: list[str] | None = None) -> Any:
        """Every row written, as a DataFrame sorted by scenario number."""
        import pyarrow.dataset as ds

        parts = self.parts()
        if not parts:
            import pandas as pd

            return pd.DataFrame(columns=columns or [])
        table = ds.dataset([str(p) for p in parts], format="parquet").to_table(columns=columns)
        return (
            table.to_pandas().sort_values("scenario").reset_index(drop=True)
            if (columns is None or "scenario" in columns)
            else table.to_pandas()
        )
