"""STDP-based online pruning and weight quantization (Rathi 2021, chapter 2): one run, or the chapter's study::

    brainnets compress run --levels continuous --out runs/prune_015_continuous
    brainnets compress study --work runs/compression --out docs/results/compression

``brainnets compress run --help`` and ``brainnets compress study --help`` describe each.
"""
from __future__ import annotations

import argparse

from ..cli import add_subcommands

ACTIONS = {
    "run": ("brainnets.studies.prune_quantize", "train with pruning (and quantization) during or after training"),
    "study": ("brainnets.studies.compression_study", "the runs behind Rathi's Figs. 2.5-2.8 and their summary"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subcommands(parser, ACTIONS, metavar="ACTION")
