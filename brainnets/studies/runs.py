"""Studies made of unimodal training runs: the options they share, and one run trained in its own process.

Each run is an arm (:mod:`.arms`): its :class:`~brainnets.stdp.experiment.Settings` are written beside its
folder under ``--work`` and ``brainnets run-arm`` trains it there, so runs train side by side (``--jobs``
workers of a local Dask cluster, or the cluster ``--scheduler`` names) and a killed study resumes run by run.
"""
from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from ..stdp.experiment import Settings
from . import arms
from .unimodal import DEFAULT_MODEL


def add_arguments(parser: argparse.ArgumentParser, train: int = 60000, test: bool = True) -> None:
    """The options of a study of unimodal runs: the network and data sizes every run gets (``train``: the
    default of --train; ``test``: whether the study takes --test), where the runs train
    (:func:`.arms.add_cluster_arguments`), and where the runs and the results go."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--dataset", default="mnist",
                        help="mnist (shipped), fashion_mnist or idx:FOLDER, as for `brainnets train`")
    parser.add_argument("--n-exc", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--train", type=int, default=train,
                        help="training images (the first K of the data set; default: %(default)s)")
    if test:
        parser.add_argument("--test", type=int, default=10000, help="test images (the first M of the data set)")
    arms.add_cluster_arguments(parser)
    parser.add_argument("--work", required=True, help="folder for the training runs")
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")


def settings(args: argparse.Namespace, **fields) -> Settings:
    """The settings every run of the study shares (``fields`` adds or overrides some)."""
    shared = {"model": args.model, "dataset": args.dataset, "n_exc": args.n_exc, "n_train": args.train}
    if "test" in args:
        shared["n_test"] = args.test
    return Settings(**{**shared, **fields})


def train_all(args: argparse.Namespace, runs: dict[str, tuple[Settings, Path]]) -> dict[str, dict]:
    """Train every run of ``runs`` (name -> its settings and folder) where the study's options say; returns
    each run's metrics by name."""
    return arms.run_arms({name: partial(train, *run) for name, run in runs.items()},
                         jobs=args.jobs, scheduler=args.scheduler)


def train(settings: Settings, out: str | Path) -> dict:
    """Train, label and test one network into ``out`` in its own process, unless ``out`` holds the
    finished run (a killed one is resumed); returns its metrics."""
    return arms.run_arm_process("unimodal", settings, {"data_dir": None}, out)
