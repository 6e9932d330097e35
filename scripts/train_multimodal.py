#!/usr/bin/env python
"""Unimodal and cross-modal STDP ensembles on MNIST + spoken digits (Rathi 2021, chapter 3): the main job.

Runs ``brainnets multimodal``: at equal total size, an image ensemble, an audio ensemble, and two half-size
ensembles with and without cross-modal STDP synapses, each trained, labelled and tested in its own process;
`brainnets multimodal --help` for the options. With no options, a small configuration on the shipped data
(MNIST and the synthetic spoken digits) into runs/multimodal, printing the results table:
    python scripts/train_multimodal.py
A larger run on the Free Spoken Digit Dataset:
    python scripts/train_multimodal.py --audio fsdd:../shared/data/fsdd/recordings --n-total 400 \\
        --train 10000 --test 2000 --noise awgn awgn_contrast --out runs/multimodal_400
The cross-modal sweep of Figs. 3.11 and 3.12:
    python scripts/train_multimodal.py --sweep --audio fsdd:../shared/data/fsdd/recordings --train 5000 \\
        --out runs/multimodal_sweep
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("multimodal"))
