"""Running many experiment scripts as one study: each run in its own folder, resumed where it stopped."""
from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def run_once(script: str, options: list[str], out: str | Path) -> dict:
    """``scripts/<script>.py OPTIONS --out OUT --quiet`` unless OUT holds a finished run; returns its metrics.

    A run killed earlier (OUT has a checkpoint) is resumed.
    """
    out = Path(out)
    metrics = out / "metrics.json"
    if not metrics.exists():
        command = [sys.executable, str(SCRIPTS / f"{script}.py"), *options, "--out", str(out), "--quiet"]
        if (out / "checkpoint.npz").exists():
            command.append("--resume")
        subprocess.run(command, check=True)
    return json.loads(metrics.read_text())


def run_all(tasks: dict[str, Callable[[], dict]], jobs: int) -> dict[str, dict]:
    """Call every task, ``jobs`` at a time, in the order given; returns ``{name: result}``."""
    with ThreadPoolExecutor(jobs) as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        return {name: future.result() for name, future in futures.items()}
