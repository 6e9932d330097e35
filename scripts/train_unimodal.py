#!/usr/bin/env python
"""Train the unimodal Diehl & Cook ensemble on MNIST with power-law STDP, then label and test it.

Example (Rathi 2021 ch. 2 baseline, 100 neurons, one epoch):
    python scripts/train_unimodal.py --model models/diehl_cook_2015.toml --n-exc 100 --out runs/dc100
"""
from __future__ import annotations

import sys

from brainnets.cli import experiment_parser, fail_cleanly, run_experiment


@fail_cleanly
def main(argv=None) -> int:
    run_experiment(experiment_parser(__doc__).parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
