"""The same unimodal network trained with several seeds: how much of one accuracy is the draw.

A seed fixes the input delays, the initial weights and every Poisson spike train, so one run is one draw.
Trains one network per --seeds value (two at a time), each in WORK/seed_S (a killed study resumes where it
stopped), and writes OUT.json (every seed's accuracy, their mean and sample standard deviation) and OUT.png.
All seeds given are reported; none is left out.

    brainnets study seeds --n-exc 100 --seeds 0 1 2 3 4 --work runs/seeds_100 \\
        --out docs/results/unimodal_mnist_100_seeds
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..checkpoint import check_new_result, write_json_atomic
from ..plotting import plot_bars
from ..provenance import command_line_of, options_given
from . import runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    runs.add_arguments(parser)
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="one run per seed")


def run(args: argparse.Namespace) -> dict:
    if len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds repeats a seed: {args.seeds}")
    check_new_result(f"{args.out}.json")
    trained = runs.train_all(args, {seed: (runs.settings(args, seed=seed), Path(args.work) / f"seed_{seed}")
                                    for seed in args.seeds})
    accuracies = np.array([trained[seed]["accuracy"] for seed in args.seeds])
    document = {"model": args.model, "n_exc": args.n_exc, "n_train": args.train, "n_test": args.test,
                "seeds": args.seeds, "accuracy": dict(zip(map(str, args.seeds), accuracies.tolist())),
                "mean": float(accuracies.mean()),
                "std": float(accuracies.std(ddof=1)) if len(accuracies) > 1 else None,
                "runs": {str(seed): metrics for seed, metrics in trained.items()},
                "command": command_line_of(["study", "seeds"], options_given(args, add_arguments))}
    write_json_atomic(f"{args.out}.json", document)
    plot_bars({f"seed {seed}": 100 * accuracy for seed, accuracy in zip(args.seeds, accuracies)},
              f"{args.out}.png", ylabel="test accuracy (%)",
              title=f"{args.n_exc} neurons, {args.train} training images: "
                    f"mean {100 * document['mean']:.1f} %")
    print(json.dumps({key: document[key] for key in ("accuracy", "mean", "std")}, indent=2))
    return document
