"""Finished runs read back for a summary: each run folder's metrics.json, and the columns a summary keeps."""
from __future__ import annotations

import json
from pathlib import Path


def read_metrics(folder: str | Path, command: str) -> dict:
    """The metrics.json of a finished ``brainnets COMMAND`` run in ``folder``."""
    path = Path(folder) / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"{folder}: no metrics.json (not a finished brainnets {command} run)")
    return json.loads(path.read_text())


def rows(folders, command: str, columns) -> list[dict]:
    """One row per run folder: its metrics' ``columns`` (None where a run has no such entry)."""
    return [{key: metrics.get(key) for key in columns} for metrics in (read_metrics(f, command) for f in folders)]
