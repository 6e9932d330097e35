#!/usr/bin/env python
"""The compression study of Rathi 2021 ch. 2 at 100 neurons: the runs behind Figs. 2.5-2.8 and a summary.

The same as ``brainnets compress study`` (brainnets/studies/compression.py): stages full, sweep and
order, each run a ``brainnets compress run`` in its own process in WORK/<name>; finished runs are
copied to OUT/runs/<name>.json and count as done from then on. Writes OUT/summary.json and the
figures. ``brainnets compress study --help`` lists the options. Example:
    python scripts/compression_study.py --work runs/compression --out docs/results/compression
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("compress", "study"))
