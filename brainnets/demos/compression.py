"""Demo ``compression``: STDP-based pruning and 2- and 3-level quantization of learnt weights (Rathi 2021, ch. 2).

After training, most input weights of a Diehl & Cook neuron lie near 0 (the background of its prototype) and a
few are large (the strokes). Pruning keeps the *critical* synapses, those above a threshold, and sets the others
to zero; quantization then lets the critical weights share ``levels - 1`` values (zero being a level of its own):
with 3 levels they are split at their median and each half takes its mean, with 2 levels they all take the one
mean. The functions are :mod:`brainnets.stdp.compression`'s, applied here once to the weights that
:func:`.learning.learn` learnt (``mode = "end"`` of ``brainnets compress``; Rathi's method prunes during training
instead, after every batch from the third on, and STDP keeps adjusting the survivors in between).
"""
from __future__ import annotations

import numpy as np

from ..resources import models_dir
from ..stdp.compression import Compression, prune, quantize, threshold_for_connectivity
from .figures import draw_mosaic, new_figure
from .learning import Learning, learn

SCHEDULE = models_dir() / "rathi2021_compression.toml"


def compressed(weights: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """The learnt weights, pruned at ``threshold``, and pruned then quantized to 3 and 2 levels."""
    pruned = prune(weights, threshold)
    return {"learnt": weights, f"pruned at {threshold:g}": pruned, "3 levels": quantize(pruned, 3),
            "2 levels": quantize(pruned, 2)}


def shared_values(weights: np.ndarray) -> np.ndarray:
    """The distinct nonzero values of a quantized matrix."""
    return np.unique(weights[weights > 0])


def plot_histogram(versions: dict[str, np.ndarray], threshold: float):
    learnt = versions["learnt"]
    figure, axes = new_figure(size=(7, 4))
    axes.hist(learnt.ravel(), bins=np.linspace(0, max(learnt.max(), 1e-9), 81), color="0.6")
    axes.set_yscale("log")
    axes.axvline(threshold, color="k", ls="--", label=f"pruning threshold {threshold:g}: "
                                                      f"{np.mean(learnt > threshold):.1%} of the synapses kept")
    for name, color in (("3 levels", "C3"), ("2 levels", "C0")):
        for k, value in enumerate(shared_values(versions[name])):
            axes.axvline(value, color=color, lw=1.5, label=f"{name}: shared values" if k == 0 else None)
    axes.set_xlabel("input weight")
    axes.set_ylabel("synapses")
    axes.set_title(f"The {learnt.size} input weights after learning", fontsize=10)
    axes.legend(fontsize=8)
    return figure


def plot_mosaics(versions: dict[str, np.ndarray]):
    figure, axes = new_figure(1, len(versions), size=(3.1 * len(versions) + 0.8, 3.6))
    vmax = versions["learnt"].max()
    for panel, (name, weights) in zip(axes, versions.items()):
        image = draw_mosaic(panel, weights, vmax)
        kept = np.mean(weights > 0)
        levels = len(shared_values(weights)) + 1
        panel.set_title(f"{name}\n{kept:.1%} nonzero, " + (f"{levels} levels" if levels <= 3 else "continuous"),
                        fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.02, pad=0.01, label="weight")
    return figure


def plot_connectivity(weights: np.ndarray, threshold: float):
    """The share of synapses kept against the threshold, and the thresholds that keep a given share."""
    thresholds = np.linspace(0, weights.max(), 200)
    figure, axes = new_figure(size=(6.5, 4))
    axes.plot(thresholds, [np.mean(weights > t) for t in thresholds], color="k")
    axes.axvline(threshold, color="k", ls="--", lw=0.8, label=f"the schedule's threshold {threshold:g}")
    for share, color in ((0.05, "C2"), (0.1, "C1"), (0.2, "C3")):
        axes.plot(threshold_for_connectivity(weights, share), share, "o", color=color,
                  label=f"keeps {share:.0%}: threshold {threshold_for_connectivity(weights, share):.3f}")
    axes.set_xlabel("pruning threshold")
    axes.set_ylabel("share of the synapses kept")
    axes.set_yscale("log")
    axes.legend(fontsize=8)
    return figure


def compression(n_exc: int = 16, n_images: int = 600, seed: int = 0, threshold: float | None = None) -> dict:
    """Figures ``histogram``, ``mosaics`` and ``connectivity`` for the weights of a fresh :func:`.learning.learn`
    run; ``threshold`` defaults to the schedule's (``models/rathi2021_compression.toml``)."""
    run: Learning = learn(n_exc, n_images, seed=seed)
    threshold = Compression.load(SCHEDULE).threshold if threshold is None else threshold
    versions = compressed(run.final, threshold)
    return {"histogram": plot_histogram(versions, threshold), "mosaics": plot_mosaics(versions),
            "connectivity": plot_connectivity(run.final, threshold)}
