#!/usr/bin/env python
"""Train the unimodal Diehl & Cook ensemble on MNIST with power-law STDP, then label and test it.

Example (Rathi 2021 ch. 2 baseline, 100 neurons, one epoch):
    python scripts/train_unimodal.py --model models/diehl_cook_2015.toml --n-exc 100 --out runs/dc100
"""
from __future__ import annotations

import argparse
import json
import sys

from brainnets.cli import fail_cleanly
from brainnets.datasets import load_mnist
from brainnets.devices import DEVICES
from brainnets.stdp.experiment import Settings, UnimodalExperiment


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/diehl_cook_2015.toml", help="model file (TOML)")
    parser.add_argument("--n-exc", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--train", type=int, default=60000, help="training images (first K of MNIST)")
    parser.add_argument("--test", type=int, default=10000, help="test images (first M of MNIST)")
    parser.add_argument("--epochs", type=int, default=1, help="passes through the training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=DEVICES, default="cpp",
                        help="Brian2 runtime, C++ standalone (default) or CUDA standalone")
    parser.add_argument("--no-inhibition", action="store_true", help="leave out lateral inhibition")
    parser.add_argument("--no-homeostasis", action="store_true", help="keep every threshold fixed")
    parser.add_argument("--slots-per-run", type=int, default=250,
                        help="presentations per compiled run (checkpoint granularity)")
    parser.add_argument("--data", default=None, help="folder holding mnist/ (default: the package's data/)")
    parser.add_argument("--out", required=True, help="output folder; must be new unless --resume")
    parser.add_argument("--resume", action="store_true", help="continue the run checkpointed in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


@fail_cleanly
def main(argv=None) -> int:
    args = parse_args(argv)
    settings = Settings(model=args.model, n_exc=args.n_exc, n_train=args.train, n_test=args.test,
                        epochs=args.epochs, seed=args.seed, device=args.device,
                        inhibition=not args.no_inhibition, homeostasis=not args.no_homeostasis,
                        slots_per_run=args.slots_per_run)
    experiment = UnimodalExperiment(settings, load_mnist("train", args.data), load_mnist("test", args.data),
                                    args.out, resume=args.resume, progress=not args.quiet)
    metrics = experiment.run()
    summary = {k: metrics[k] for k in ("accuracy", "n_exc", "n_train", "n_test", "train_ms_per_image",
                                       "train_seconds", "eval_seconds")}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
