#!/usr/bin/env python
"""Train a time-stepped spiking network (ANN -> SNN conversion, STDB, DIET-SNN, Jiang & Zhang's noise-based
training or its direct baseline), test it over T steps and re-simulate it in Brian2: the same as
``brainnets timestep`` (brainnets/studies/timestep.py; ``brainnets timestep --help`` lists the options). Examples::

    python scripts/train_timestep.py --method noise --dataset fashion_mnist --epochs 20 --out runs/timestep/noise
    python scripts/train_timestep.py --method stdb --ann-epochs 10 --epochs 5 --out runs/timestep/stdb
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("timestep"))
