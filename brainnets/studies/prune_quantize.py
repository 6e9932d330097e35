"""Train the unimodal ensemble with STDP-based online pruning and weight quantization (Rathi 2021, ch. 2).

The training images are split into --batches equal batches. --mode during prunes (and quantizes) after
batch --first-step and after every later batch; end prunes once after training; random trains a random
sparse network from the start; baseline never prunes. The non-critical synapses left at the end are
removed before the network is labelled and tested. Same options and outputs as `brainnets train`, plus
the compression steps, synapse count, test spike count and synaptic operations in metrics.json.

The schedule's defaults (threshold 0.15, 3 levels, 12 batches, first step after 3) are those of the shipped
model file rathi2021_compression.toml. Example, the same with continuous weights::

    brainnets compress run --levels continuous --out runs/prune_015_continuous
"""
from __future__ import annotations

import argparse
import dataclasses

from ..stdp.compression import MODES, Compression
from . import unimodal

SCHEDULE = "rathi2021_compression"  # the shipped model file with the thesis's [compression] table


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    unimodal.add_arguments(parser)
    group = parser.add_argument_group("compression (defaults from --schedule)")
    group.add_argument("--schedule", default=SCHEDULE,
                       help="model file with the [compression] table, or the name of a shipped one "
                            "(default: %(default)s)")
    group.add_argument("--mode", choices=MODES)
    group.add_argument("--threshold", type=float, help="pruning threshold (weights not above it are pruned)")
    group.add_argument("--levels", type=levels, metavar="{continuous,2,3,k}", help="weight levels, zero included")
    group.add_argument("--batches", type=int, help="equal batches of the training images")
    group.add_argument("--first-step", type=int, help="first pruning after this many batches")
    group.add_argument("--connectivity", type=float,
                       help="end: keep this fraction of synapses instead of using --threshold; "
                            "random: the density of the random network")


def schedule(path: str, levels: int | str | None = None, **overrides) -> Compression:
    """The ``[compression]`` table of the model file ``path``, with ``overrides`` (None keeps the file's value)
    and ``levels`` ('continuous' or a number; None keeps the file's)."""
    compression = Compression.load(path, **overrides)
    if levels is not None:
        compression = dataclasses.replace(compression, levels=None if levels == "continuous" else int(levels))
    return compression


def compression_from(args: argparse.Namespace) -> Compression:
    """The schedule file's ``[compression]`` table with the options given on the command line."""
    return schedule(args.schedule, args.levels, mode=args.mode, threshold=args.threshold, n_batches=args.batches,
                    first_step=args.first_step, connectivity=args.connectivity)


def run(args: argparse.Namespace) -> dict:
    """One pruned (and quantized) training run; prints a summary and returns the metrics."""
    return unimodal.run(args, compression=compression_from(args))
