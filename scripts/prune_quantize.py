#!/usr/bin/env python
"""Train the unimodal ensemble with STDP-based online pruning and weight quantization (Rathi 2021, ch. 2).

The same as ``brainnets compress run`` (brainnets/studies/compression.py): the training images in
--batches equal batches, pruned (and quantized) after batch --first-step and every later one (--mode
during), once at the end (end), a random sparse network from the start (random) or never (baseline);
the defaults come from the shipped rathi2021_compression.toml. ``brainnets compress run --help`` lists
the options. Example, threshold 0.15 with continuous weights:
    python scripts/prune_quantize.py --levels continuous --out runs/prune_015_continuous
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("compress", "run"))
