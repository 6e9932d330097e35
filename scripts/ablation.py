#!/usr/bin/env python
"""Ablation of Rathi 2021 section 3.6 at 100 neurons: lateral inhibition and homeostasis switched off.

Runs scripts/train_unimodal.py three times (two at a time) with the same protocol, data and seed, then
writes the three accuracies, beside the thesis's 81.6 / 77.2 / 68.3 %, to OUT.json and OUT.png. Each
variant keeps its own output folder under --work, so a killed ablation resumes where it stopped.

    python scripts/ablation.py --n-exc 100 --work runs/ablation --out docs/results/ablation_100
"""
from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

from brainnets.checkpoint import write_json_atomic
from brainnets.plotting import plot_bars
from brainnets.provenance import command_line
from brainnets.sweeps import run_all, run_once, study_parser, training_options

VARIANTS = {
    "inhibition_and_homeostasis": [],
    "homeostasis_only": ["--no-inhibition"],
    "neither": ["--no-inhibition", "--no-homeostasis"],
}
THESIS = {"inhibition_and_homeostasis": 0.816, "homeostasis_only": 0.772, "neither": 0.683}  # Rathi 3.6


def main(argv=None) -> int:
    parser = study_parser(__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    common = training_options(args) + ["--seed", str(args.seed)]
    results = run_all({name: partial(run_once, "train_unimodal", common + flags, Path(args.work) / name)
                       for name, flags in VARIANTS.items()}, args.jobs)
    accuracies = {name: results[name]["accuracy"] for name in VARIANTS}
    document = {**accuracies, "thesis": THESIS, "n_exc": args.n_exc, "n_train": args.train, "n_test": args.test,
                "seed": args.seed, "runs": results,
                "command": command_line(__file__, argv)}
    write_json_atomic(f"{args.out}.json", document)
    plot_bars({k: 100 * v for k, v in accuracies.items()}, f"{args.out}.png", ylabel="test accuracy (%)",
              title=f"Ablation, {args.n_exc} neurons", reference={k: 100 * v for k, v in THESIS.items()})
    print(json.dumps(accuracies, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
