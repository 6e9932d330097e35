#!/usr/bin/env python
"""Synthesize the spoken-digit corpus shipped in ``brainnets/data/spoken_digits/`` with espeak-ng.

The same as ``brainnets make-spoken-digits`` (brainnets/studies/make_spoken_digits.py): twelve synthetic
espeak-ng speakers saying "zero" to "nine", seeded, resampled to 8 kHz and written in the Free Spoken
Digit layout with ``SHA256SUMS`` and a ``README.md``. ``brainnets make-spoken-digits --help`` lists the
options. Examples (the first remakes the corpus elsewhere to compare its checksums with the shipped ones):
    apt-get install espeak-ng          # Debian/Ubuntu
    python scripts/make_spoken_digits.py --out /tmp/spoken_digits
    python scripts/make_spoken_digits.py --overwrite
"""
import sys

from brainnets.cli import script

if __name__ == "__main__":  # not when a worker process (Dask, multiprocessing) imports it
    sys.exit(script("make-spoken-digits"))
