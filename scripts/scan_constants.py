#!/usr/bin/env python
"""Choose a constant the sources leave open on held-out training images, never on the test set.

Trains one network per value of the constant, scores each on training images it never saw and writes
OUT.json and OUT.png. Same as `brainnets study scan`; `brainnets study scan --help` for the options.

    python scripts/scan_constants.py --set stdp.eta 0.001 0.002 0.003 0.005 --train 50000 \\
        --work runs/scan_eta --out docs/results/eta_validation/full_schedule
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("study", "scan"))
