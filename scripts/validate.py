#!/usr/bin/env python
"""Score trained networks on held-out *training* images, for choices the sources leave open.

Labels each network's neurons on --assign, scores them on --validate (optionally pruned and quantized at
--threshold) and writes the scores to --out. Same as `brainnets study validate`;
`brainnets study validate --help` for the options.

    python scripts/validate.py --network runs/base_12k/network.npz --threshold 0.15 \\
        --out docs/results/compression/final_normalization.json
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("study", "validate"))
