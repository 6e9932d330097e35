#!/usr/bin/env python
"""The same unimodal network trained with several seeds: how much of one accuracy is the draw.

A seed fixes the input delays, the initial weights and every Poisson spike train, so one run is one draw.
Runs scripts/train_unimodal.py once per --seeds value (two at a time), each in WORK/seed_S (a killed study
resumes where it stopped), and writes OUT.json (every seed's accuracy, their mean and sample standard
deviation) and OUT.png. All seeds given are reported; none is left out.

    python scripts/seed_spread.py --n-exc 100 --seeds 0 1 2 3 4 --work runs/seeds_100 \\
        --out docs/results/unimodal_mnist_100_seeds
"""
from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import numpy as np

from brainnets.checkpoint import check_new_result, write_json_atomic
from brainnets.cli import fail_cleanly
from brainnets.plotting import plot_bars
from brainnets.provenance import command_line
from brainnets.sweeps import run_all, run_once, study_parser, training_options


@fail_cleanly
def main(argv=None) -> int:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds repeats a seed: {args.seeds}")
    check_new_result(f"{args.out}.json")
    runs = run_all({seed: partial(run_once, "train_unimodal", training_options(args) + ["--seed", str(seed)],
                                  Path(args.work) / f"seed_{seed}") for seed in args.seeds}, args.jobs)
    accuracies = np.array([runs[seed]["accuracy"] for seed in args.seeds])
    document = {"model": args.model, "n_exc": args.n_exc, "n_train": args.train, "n_test": args.test,
                "seeds": args.seeds, "accuracy": dict(zip(map(str, args.seeds), accuracies.tolist())),
                "mean": float(accuracies.mean()),
                "std": float(accuracies.std(ddof=1)) if len(accuracies) > 1 else None,
                "runs": {str(seed): metrics for seed, metrics in runs.items()},
                "command": command_line(__file__, argv)}
    write_json_atomic(f"{args.out}.json", document)
    plot_bars({f"seed {seed}": 100 * accuracy for seed, accuracy in zip(args.seeds, accuracies)},
              f"{args.out}.png", ylabel="test accuracy (%)",
              title=f"{args.n_exc} neurons, {args.train} training images: "
                    f"mean {100 * document['mean']:.1f} %")
    print(json.dumps({key: document[key] for key in ("accuracy", "mean", "std")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
