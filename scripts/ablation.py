#!/usr/bin/env python
"""Ablation of Rathi 2021 section 3.6 at 100 neurons: lateral inhibition and homeostasis switched off.

Runs scripts/train_unimodal.py three times (two at a time) with the same protocol, data and seed, then
writes the three accuracies, beside the thesis's 81.6 / 77.2 / 68.3 %, to OUT.json and OUT.png. Each
variant keeps its own output folder under --work, so a killed ablation resumes where it stopped.

    python scripts/ablation.py --n-exc 100 --work runs/ablation --out docs/results/ablation_100
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from brainnets.checkpoint import write_json_atomic
from brainnets.plotting import plot_bars

VARIANTS = {
    "inhibition_and_homeostasis": [],
    "homeostasis_only": ["--no-inhibition"],
    "neither": ["--no-inhibition", "--no-homeostasis"],
}
THESIS = {"inhibition_and_homeostasis": 0.816, "homeostasis_only": 0.772, "neither": 0.683}  # Rathi 3.6


def run_variant(name: str, flags: list[str], args) -> dict:
    out = Path(args.work) / name
    metrics = out / "metrics.json"
    if not metrics.exists():
        command = [sys.executable, "scripts/train_unimodal.py", "--model", args.model, "--n-exc", str(args.n_exc),
                   "--train", str(args.train), "--test", str(args.test), "--seed", str(args.seed),
                   "--out", str(out), "--quiet", *flags]
        if (out / "checkpoint.npz").exists():
            command.append("--resume")
        subprocess.run(command, check=True)
    return json.loads(metrics.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/diehl_cook_2015.toml")
    parser.add_argument("--n-exc", type=int, default=100)
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="variants trained at the same time")
    parser.add_argument("--work", required=True, help="folder for the three training runs")
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")
    args = parser.parse_args(argv)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(zip(VARIANTS, pool.map(lambda item: run_variant(*item, args), VARIANTS.items())))
    accuracies = {name: results[name]["accuracy"] for name in VARIANTS}
    document = {**accuracies, "thesis": THESIS, "n_exc": args.n_exc, "n_train": args.train, "n_test": args.test,
                "seed": args.seed, "runs": results,
                "command": "python scripts/ablation.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    write_json_atomic(f"{args.out}.json", document)
    plot_bars({k: 100 * v for k, v in accuracies.items()}, f"{args.out}.png", ylabel="test accuracy (%)",
              title=f"Ablation, {args.n_exc} neurons", reference={k: 100 * v for k, v in THESIS.items()})
    print(json.dumps(accuracies, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
