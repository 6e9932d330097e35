#!/usr/bin/env python
"""Train the unimodal ensemble with STDP-based online pruning and weight quantization (Rathi 2021, ch. 2).

The training images are split into --batches equal batches. --mode during prunes (and quantizes) after
batch --first-step and after every later batch; end prunes once after training; random trains a random
sparse network from the start; baseline never prunes. The non-critical synapses left at the end are
removed before the network is labelled and tested. Same options and outputs as train_unimodal.py, plus
the compression steps, synapse count, test spike count and synaptic operations in metrics.json.

Example (the thesis's best trade-off, 100 neurons):
    python scripts/prune_quantize.py --threshold 0.15 --levels 3 --mode during --out runs/prune_015_3
"""
from __future__ import annotations

import argparse
import sys

from brainnets.cli import experiment_parser, fail_cleanly, run_experiment
from brainnets.stdp.compression import MODES, Compression


def levels(text: str) -> int | None:
    """'continuous' or a number of weight levels (zero included) >= 2."""
    if text == "continuous":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected 'continuous' or an integer >= 2, got {text!r}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = experiment_parser(__doc__)
    group = parser.add_argument_group("compression")
    group.add_argument("--mode", choices=MODES, default="during")
    group.add_argument("--threshold", type=float, default=0.15, help="pruning threshold (weights not above it)")
    group.add_argument("--levels", type=levels, default=None, metavar="{continuous,2,3,k}",
                       help="weight levels, zero included (default continuous)")
    group.add_argument("--batches", type=int, default=12, help="equal batches of the training images")
    group.add_argument("--first-step", type=int, default=3, help="first pruning after this many batches")
    group.add_argument("--connectivity", type=float, default=None,
                       help="end: keep this fraction of synapses instead of using --threshold; "
                            "random: the density of the random network")
    return parser.parse_args(argv)


@fail_cleanly
def main(argv=None) -> int:
    args = parse_args(argv)
    compression = Compression(mode=args.mode, threshold=args.threshold, levels=args.levels,
                              n_batches=args.batches, first_step=args.first_step, connectivity=args.connectivity)
    run_experiment(args, compression=compression)
    return 0


if __name__ == "__main__":
    sys.exit(main())
