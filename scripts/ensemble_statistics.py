#!/usr/bin/env python
"""How differentiated the excitatory neurons of trained ensembles are: winner-take-all, or all alike?

Prints, for each arm folder, the mean cosine between neurons' weight vectors, the thresholds and the test
responses (or, for an arm still training, its checkpoint's state). Same as `brainnets study ensemble-stats`;
`brainnets study ensemble-stats --help` for the options.

    python scripts/ensemble_statistics.py runs/mm400/arms/audio_only runs/mm100/arms/multimodal \\
        --json docs/results/multimodal/validation/ensemble_statistics.json
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("study", "ensemble-stats"))
