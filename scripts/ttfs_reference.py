#!/usr/bin/env python
"""Train (or take) a network, map it exactly to single-spike neurons, and check Brian2 against the closed form.

The same as ``brainnets ttfs`` (brainnets/studies/ttfs.py; Stanojevic, PhD thesis, EPFL 2023, ch. 2-3):
a ReLU network (--net fc2 / lenet5) or a trained TTFS network (--net ttfs_fc), its closed-form spike
times on the test images, the Brian2 reference simulation with the exact-time correction and the naive
clock-driven simulation at many time steps. ``brainnets ttfs --help`` lists the options. Examples:
    python scripts/ttfs_reference.py --net fc2 --out runs/ttfs/fc2
    python scripts/ttfs_reference.py --net lenet5 --brian2-images 200 --out runs/ttfs/lenet5
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("ttfs"))
