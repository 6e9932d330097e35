#!/usr/bin/env python
"""Train a network by one of Bacho's methods (BATS, Fast & Deep, SFDFA, spiking DFA; with --dense BP, FDFA, DFA,
FG-W, FG-A), test it and re-simulate the spiking ones in Brian2: the same as ``brainnets spike-time``
(brainnets/studies/spike_time.py; ``brainnets spike-time --help`` lists the options). Examples:
    python scripts/train_spike_time.py --method bats --epochs 10 --out runs/spike_time/bats
    python scripts/train_spike_time.py --method fdfa --dense --epochs 20 --out runs/spike_time/fdfa_dense
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("spike-time"))
