#!/usr/bin/env python
"""The same unimodal network trained with several seeds: how much of one accuracy is the draw.

Trains one network per seed (two at a time), each in WORK/seed_S (a killed study resumes where it stopped),
and writes OUT.json (every seed's accuracy, their mean and sample standard deviation) and OUT.png.
Same as `brainnets study seeds`; `brainnets study seeds --help` for the options.

    python scripts/seed_spread.py --n-exc 100 --seeds 0 1 2 3 4 --work runs/seeds_100 \\
        --out docs/results/unimodal_mnist_100_seeds
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("study", "seeds"))
