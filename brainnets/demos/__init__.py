"""Teaching demos: small runs of the package's own models, each drawn as a few figures in well under a minute.

Each demo is one function that returns its figures (``{name: matplotlib Figure}``); ``brainnets demo NAME``
writes them as PNG files, and ``docs/tutorials/NAME.ipynb`` walks through the same function with explanations
(:mod:`.lessons` holds the notebooks' text, :mod:`.notebooks` builds and executes them). A new demo is a function,
one line in ``DEMOS`` (its module) and a lesson; ``python -m brainnets.demos.notebooks NAME`` then makes its notebook.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

# name -> (the module holding the demo, one line of description), in the order `brainnets demo --list` shows
# them. The demo is the module's function of the same name (dashes as underscores): a function of keyword
# arguments with defaults returning {figure name: Figure}. Modules are imported only when their demo runs, so
# that every `brainnets` command starts fast.
DEMOS: dict[str, tuple[str, str]] = {
    "membranes": ("membranes", "a current-based and a conductance-based LIF neuron fed the same spikes, and what "
                               "each constant of the Diehl & Cook neuron does"),
    "stdp-window": ("stdp_window", "the power-law weight-dependent STDP window and its weight dependence "
                                   "(Rathi Fig. 2.3)"),
    "receptive-fields": ("receptive_fields", "receptive fields forming while a 16-neuron Diehl & Cook network "
                                             "learns 600 MNIST images (C++ standalone)"),
    "cochlea": ("cochlea", "a spoken digit through Lyon's cochlear model to a cochleagram and Poisson input spikes"),
    "compression": ("compression", "STDP-based pruning and 2- and 3-level quantization of freshly learnt weights "
                                   "(Rathi ch. 2)"),
    "ttfs-timing": ("ttfs_timing", "timing diagram of a ReLU network mapped exactly onto single-spike neurons, "
                                   "simulated in Brian2"),
    "clock-vs-exact": ("clock_vs_exact", "clock-driven Brian2 spike times against exact ones, and their error "
                                         "against dt"),
    "nlif-perceptron": ("nlif_perceptron", "Kotak's non-leaky n-LIF neuron as a perceptron: Algorithm 1 on spike "
                                           "times, its boundary in x and phi space, the step size, shrinking "
                                           "margins"),
    "margin-propagation": ("margin_propagation", "Kotak's margin propagation: the MP threshold as water-filling, "
                                                 "MP against the true dot product, and MP as the spike time of "
                                                 "a non-leaky neuron"),
}


def find(name: str) -> Callable[..., dict]:
    """The demo called ``name``; an unknown name raises ValueError listing the known ones."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; the demos are {', '.join(DEMOS)} (brainnets demo --list)")
    module = importlib.import_module(f"{__name__}.{DEMOS[name][0]}")
    return getattr(module, name.replace("-", "_"))
