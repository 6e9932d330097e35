#!/usr/bin/env python
"""Train the unimodal Diehl & Cook ensemble with power-law STDP, then label and test it: ``brainnets train``.

Rathi 2021 ch. 2 baseline, 100 neurons, one epoch of MNIST (``brainnets train --help`` for the options):
    python scripts/train_unimodal.py --n-exc 100 --out runs/dc100
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("train"))
