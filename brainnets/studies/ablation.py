"""Ablation of Rathi 2021 section 3.6 at 100 neurons: lateral inhibition and homeostasis switched off.

Trains three networks (two at a time) with the same protocol, data and seed, then writes the three
accuracies, beside the thesis's 81.6 / 77.2 / 68.3 %, to OUT.json and OUT.png. Each variant keeps its own
output folder under --work, so a killed ablation resumes where it stopped.

    brainnets study ablation --n-exc 100 --work runs/ablation --out docs/results/ablation_100
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..plotting import plot_bars
from ..provenance import command_line_of, options_given
from . import runs

#: variant -> the settings that differ from the full network's
VARIANTS = {
    "inhibition_and_homeostasis": {},
    "homeostasis_only": {"inhibition": False},
    "neither": {"inhibition": False, "homeostasis": False},
}
THESIS = {"inhibition_and_homeostasis": 0.816, "homeostasis_only": 0.772, "neither": 0.683}  # Rathi 3.6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    runs.add_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> dict:
    check_new_result(f"{args.out}.json")
    results = runs.train_all(args, {name: (runs.settings(args, seed=args.seed, **changes), Path(args.work) / name)
                                    for name, changes in VARIANTS.items()})
    accuracies = {name: results[name]["accuracy"] for name in VARIANTS}
    document = {**accuracies, "thesis": THESIS, "n_exc": args.n_exc, "n_train": args.train, "n_test": args.test,
                "seed": args.seed, "runs": results,
                "command": command_line_of(["study", "ablation"], options_given(args, add_arguments))}
    write_json_atomic(f"{args.out}.json", document)
    plot_bars({k: 100 * v for k, v in accuracies.items()}, f"{args.out}.png", ylabel="test accuracy (%)",
              title=f"Ablation, {args.n_exc} neurons", reference={k: 100 * v for k, v in THESIS.items()})
    print(json.dumps(accuracies, indent=2))
    return document
