"""Demo ``receptive-fields``: the input weights of a Diehl & Cook network becoming digit prototypes as it learns.

Every excitatory neuron sees all 784 pixels; its 784 input weights, drawn as a 28 x 28 image, are its
receptive field. They start random (uniform in [0.003, 0.303]); STDP strengthens the synapses of pixels that
fire just before the neuron does, lateral inhibition lets one neuron win each image, and the adaptive threshold
keeps a winner from winning everything: each neuron ends up holding one prototype of the images it won
(Diehl & Cook 2015, Fig. 2; Rathi 2021, Fig. 3.6). The run is :func:`.learning.learn`.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
from matplotlib import rc_context
from matplotlib.animation import FuncAnimation

from ..plotting import receptive_field_mosaic
from .figures import SCREEN_DPI, draw_mosaic, new_figure
from .learning import Learning, learn


def plot_snapshots(run: Learning, columns: int = 6):
    """The mosaic of every neuron's receptive field at ``columns`` moments of the run, on one colour scale."""
    picks = np.unique(np.linspace(0, len(run.shown) - 1, columns).round().astype(int))
    figure, axes = new_figure(1, len(picks), size=(2.1 * len(picks) + 0.8, 2.8))
    vmax = max(w.max() for w in run.weights)
    for panel, k in zip(np.atleast_1d(axes), picks):
        image = draw_mosaic(panel, run.weights[k], vmax)
        panel.set_title(f"after {run.shown[k]} images", fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.02, pad=0.01, label="weight")
    figure.suptitle(f"Receptive fields of {run.n_exc} neurons while they learn", fontsize=10)
    return figure


def plot_final(run: Learning):
    figure, axes = new_figure(size=(6, 5.6))
    image = draw_mosaic(axes, run.final)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.02, label=f"weight (w_max = {run.w_max:g})")
    axes.set_title(f"Receptive fields after {run.shown[-1]} images", fontsize=10)
    return figure


def preferred_digits(run: Learning, last: int | None = None) -> np.ndarray:
    """(n_exc, 10): each neuron's spikes per digit over the ``last`` images (default: the second half), as a share
    of the neuron's spikes."""
    last = last or len(run.counts) // 2
    counts, labels = run.counts[-last:], run.images.labels[-last:]
    per_digit = np.stack([counts[labels == digit].sum(axis=0) for digit in range(10)], axis=1).astype(float)
    return per_digit / np.maximum(per_digit.sum(axis=1, keepdims=True), 1)


def plot_preferences(run: Learning):
    """What each neuron responds to, learnt without labels: its spikes per digit label."""
    shares = preferred_digits(run)
    figure, axes = new_figure(size=(6, 0.28 * run.n_exc + 1.2))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(10))
    axes.set_yticks(range(run.n_exc))
    axes.set_xlabel("digit shown (the label, never given to the network)")
    axes.set_ylabel("excitatory neuron")
    axes.set_title(f"Share of each neuron's spikes per digit, last {len(run.counts) // 2} images", fontsize=10)
    figure.colorbar(image, ax=axes, label="share of the neuron's spikes")
    return figure


def animate(run: Learning, every: int = 2, interval_ms: int = 500, dpi: int = SCREEN_DPI) -> FuncAnimation:
    """The receptive fields over the run, one frame per ``every`` snapshots and the last (save it with
    ``.save("fields.gif")``; :func:`animation_html` embeds it in a notebook)."""
    frames = sorted(set(range(0, len(run.weights), every)) | {len(run.weights) - 1})
    figure, axes = new_figure(size=(3.2, 3.4))
    figure.set_dpi(dpi)
    vmax = max(w.max() for w in run.weights)
    image = draw_mosaic(axes, run.weights[0], vmax)

    def frame(k):
        image.set_data(receptive_field_mosaic(run.weights[k]))
        axes.set_title(f"after {run.shown[k]} images", fontsize=10)
        return [image]

    return FuncAnimation(figure, frame, frames=frames, interval=interval_ms)


def animation_html(run: Learning, dpi: int = 60) -> str:
    """:func:`animate` as HTML with its frames embedded (JPEG: the noisy early fields make large PNGs)."""
    animation = animate(run, dpi=dpi)
    with rc_context({"animation.frame_format": "jpeg"}):
        html = animation.to_jshtml()
    # matplotlib names the player's elements after a random uuid; a name made from the content keeps a notebook
    # the same from one build to the next
    player = re.search(r"anim([0-9a-f]{32})\.", html).group(1)
    return html.replace(player, hashlib.sha256(html.replace(player, "").encode()).hexdigest()[:32])


def receptive_fields(n_exc: int = 16, n_images: int = 600, seed: int = 0) -> dict:
    """Figures ``snapshots`` (the fields over time), ``final`` and ``preferences`` (spikes per digit)."""
    run = learn(n_exc, n_images, seed=seed)
    return {"snapshots": plot_snapshots(run), "final": plot_final(run), "preferences": plot_preferences(run)}
