#!/usr/bin/env python
"""Ablation of Rathi 2021 section 3.6: lateral inhibition and homeostasis switched off.

Trains the three variants with the same protocol, data and seed and writes their accuracies, beside the
thesis's, to OUT.json and OUT.png. Same as `brainnets study ablation`; `brainnets study ablation --help`
for the options.

    python scripts/ablation.py --n-exc 100 --work runs/ablation --out docs/results/ablation_100
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("study", "ablation"))
