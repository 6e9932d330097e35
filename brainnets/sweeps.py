"""Running many experiment scripts as one study: each run in its own folder, resumed where it stopped."""
from __future__ import annotations

import argparse
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


def study_parser(description: str) -> argparse.ArgumentParser:
    """The options of a study made of unimodal training runs: the network and data sizes every run gets,
    how many runs train at once, and where the runs and the results go."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/diehl_cook_2015.toml")
    parser.add_argument("--n-exc", type=int, default=100)
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at the same time")
    parser.add_argument("--work", required=True, help="folder for the training runs")
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")
    return parser


def training_options(args: argparse.Namespace) -> list[str]:
    """The scripts/train_unimodal.py options every run of a :func:`study_parser` study shares."""
    return ["--model", args.model, "--n-exc", str(args.n_exc), "--train", str(args.train), "--test", str(args.test)]
