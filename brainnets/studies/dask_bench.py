"""A study's arms on a Dask cluster against the same study run one arm after the other.

Trains ``--arms`` unimodal networks (seeds 0, 1, ...) twice, from scratch each time: on a local cluster of one
worker (serially) and on one of ``--jobs`` workers, and writes OUT.json with both wall times, their ratio and each
arm's accuracy both ways (equal: an arm is fixed by its settings, wherever it runs).

    brainnets study dask-bench --arms 4 --jobs 2 --train 2000 --test 1000 --work runs/dask_bench \\
        --out docs/results/dask_study
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..provenance import command_line_of, options_given, provenance
from . import runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    runs.add_arguments(parser, train=2000)
    parser.add_argument("--arms", type=int, default=4, help="arms of the study: one run per seed 0 .. N-1")


def timed_study(args: argparse.Namespace, jobs: int, work: Path) -> tuple[float, dict]:
    """The study's wall seconds on ``jobs`` workers, and each arm's metrics."""
    if work.exists():
        raise ValueError(f"--work {work.parent}: holds a {work.name} study already; give a new folder")
    plan = {f"seed_{seed}": (runs.settings(args, seed=seed), work / f"seed_{seed}") for seed in range(args.arms)}
    started = time.perf_counter()
    trained = runs.train_all(argparse.Namespace(jobs=jobs, scheduler=args.scheduler), plan)
    return time.perf_counter() - started, trained


def run(args: argparse.Namespace) -> dict:
    if args.arms < 2 or args.jobs < 2:
        raise ValueError(f"--arms {args.arms} --jobs {args.jobs}: the comparison needs at least 2 of each")
    check_new_result(f"{args.out}.json")
    origin = provenance()
    serial_seconds, serial = timed_study(args, 1, Path(args.work) / "serial")
    cluster_seconds, cluster = timed_study(args, args.jobs, Path(args.work) / f"workers_{args.jobs}")
    accuracy = {name: {"serial": serial[name]["accuracy"], "cluster": cluster[name]["accuracy"]} for name in serial}
    result = {"arms": args.arms, "workers": args.jobs, "serial_seconds": serial_seconds,
              "cluster_seconds": cluster_seconds, "speedup": serial_seconds / cluster_seconds,
              "accuracy": accuracy,
              "same_accuracies": all(pair["serial"] == pair["cluster"] for pair in accuracy.values()),
              "n_exc": args.n_exc, "n_train": args.train, "n_test": args.test, **origin,
              "command": command_line_of(["study", "dask-bench"], options_given(args, add_arguments))}
    write_json_atomic(f"{args.out}.json", result)
    print(json.dumps({key: result[key] for key in ("serial_seconds", "cluster_seconds", "speedup",
                                                   "same_accuracies")}, indent=2))
    return result
