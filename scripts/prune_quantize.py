#!/usr/bin/env python
"""Train the unimodal ensemble with STDP-based online pruning and weight quantization (Rathi 2021, ch. 2).

The training images are split into --batches equal batches. --mode during prunes (and quantizes) after
batch --first-step and after every later batch; end prunes once after training; random trains a random
sparse network from the start; baseline never prunes. The non-critical synapses left at the end are
removed before the network is labelled and tested. Same options and outputs as train_unimodal.py, plus
the compression steps, synapse count, test spike count and synaptic operations in metrics.json.

The schedule's defaults (threshold 0.15, 3 levels, 12 batches, first step after 3) are those of
models/rathi2021_compression.toml. Example, the same with continuous weights:
    python scripts/prune_quantize.py --levels continuous --out runs/prune_015_continuous
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from brainnets.cli import experiment_parser, fail_cleanly, run_experiment
from brainnets.stdp.compression import MODES, Compression


def levels(text: str) -> int | str:
    """'continuous' or a number of weight levels (zero included) >= 2."""
    if text == "continuous":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected 'continuous' or an integer >= 2, got {text!r}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = experiment_parser(__doc__)
    group = parser.add_argument_group("compression (defaults from --schedule)")
    group.add_argument("--schedule", default="models/rathi2021_compression.toml",
                       help="file with the [compression] table")
    group.add_argument("--mode", choices=MODES)
    group.add_argument("--threshold", type=float, help="pruning threshold (weights not above it are pruned)")
    group.add_argument("--levels", type=levels, metavar="{continuous,2,3,k}", help="weight levels, zero included")
    group.add_argument("--batches", type=int, help="equal batches of the training images")
    group.add_argument("--first-step", type=int, help="first pruning after this many batches")
    group.add_argument("--connectivity", type=float,
                       help="end: keep this fraction of synapses instead of using --threshold; "
                            "random: the density of the random network")
    return parser.parse_args(argv)


@fail_cleanly
def main(argv=None) -> int:
    args = parse_args(argv)
    compression = Compression.load(args.schedule, mode=args.mode, threshold=args.threshold, n_batches=args.batches,
                                   first_step=args.first_step, connectivity=args.connectivity)
    if args.levels is not None:
        compression = dataclasses.replace(compression, levels=None if args.levels == "continuous" else args.levels)
    run_experiment(args, compression=compression)
    return 0


if __name__ == "__main__":
    sys.exit(main())
