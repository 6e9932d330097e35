#!/usr/bin/env python
"""Training speed: brainnets' compiled path against the per-image Brian2 runtime loop of published ports.

Times both on the same MNIST images, compilation excluded, and writes OUT.json and OUT.png. Same as
`brainnets study bench`; `brainnets study bench --help` for the options.

    python scripts/bench_training.py --images 300 --out docs/results/bench_training
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("study", "bench"))
