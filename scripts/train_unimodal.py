#!/usr/bin/env python
"""Train the unimodal Diehl & Cook ensemble with power-law STDP, then label and test it: ``brainnets train``.

Rathi 2021 ch. 2 baseline, 100 neurons, one epoch of MNIST (``brainnets train --help`` for the options):
    python scripts/train_unimodal.py --n-exc 100 --out runs/dc100
"""
import sys

from brainnets.cli import script

sys.exit(script("train"))
