"""A small Diehl & Cook network learning MNIST, watched as it learns: what the ``receptive-fields`` and
``compression`` demos show.

It is the package's own network (:class:`~brainnets.stdp.ensemble.UnimodalEnsemble`, the model file's
constants, the in-simulation presentation protocol with its repeats and weight normalization), compiled once
as a C++ standalone program and run ``snapshot_every`` images at a time (:class:`~brainnets.stdp.simulation.
EnsembleSimulation`); between runs the input weights are copied out, so the snapshots cost nothing extra.

Compiling takes most of the time (about 20 s on two cores), so the compiled project is kept in the cache
(``brainnets cache`` shows it, ``brainnets cache clear`` removes it): a second run only relinks it. The
compiler's make rebuilds whatever changed, so an outdated project is never run. A second process that wants the
same project while one holds it compiles its own in a temporary folder.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checkpoint import RunFolderError, hold_folder, release_folder
from ..datasets import LabelledImages, load_mnist
from ..exact.timing import on_device
from ..resources import cache_dir
from ..stdp.ensemble import UnimodalEnsemble
from ..stdp.model import DiehlCookModel
from ..stdp.simulation import EnsembleSimulation

MODEL = "diehl_cook_2015"


@dataclass(frozen=True)
class Learning:
    """What a run learnt: the input weights (784, n_exc) after each snapshot's number of images (the first before
    any), each neuron's spike counts for every image (its accepted presentation), the images shown, and the
    weights' upper bound."""

    shown: list[int]
    weights: list[np.ndarray]
    counts: np.ndarray
    images: LabelledImages
    w_max: float

    @property
    def n_exc(self) -> int:
        return self.weights[0].shape[1]

    @property
    def final(self) -> np.ndarray:
        return self.weights[-1]


@contextmanager
def project_folder(name: str):
    """The cached folder of a compiled project, held by this process; a temporary one if another holds it."""
    folder = cache_dir() / "demos" / name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        hold_folder(folder)
    except RunFolderError:
        with tempfile.TemporaryDirectory(prefix=f"brainnets_{name}_") as scratch:
            yield Path(scratch)
        return
    try:
        yield folder
    finally:
        release_folder(folder)


def learn(n_exc: int = 16, n_images: int = 600, snapshot_every: int = 50, seed: int = 0, model: str = MODEL,
          inhibition: bool = True, homeostasis: bool = True) -> Learning:
    """Train a fresh network of ``n_exc`` excitatory neurons on the first ``n_images`` MNIST training images, as
    the first epoch of ``brainnets train`` does, with a snapshot of the input weights every ``snapshot_every``
    images (one simulation run each). ``inhibition=False`` leaves out the inhibitory neurons,
    ``homeostasis=False`` fixes every threshold (Rathi's ablations, 3.6)."""
    if n_images < 1 or snapshot_every < 1:
        raise ValueError(f"n_images and snapshot_every must be >= 1, got {n_images}, {snapshot_every}")
    network_model = DiehlCookModel.load(model)
    images = load_mnist("train")[:n_images]
    counts = np.zeros((n_images, n_exc), dtype=np.int64)
    project = f"learning_{n_exc}x{snapshot_every}" + "_no_inhibition" * (not inhibition) + "_fixed" * (not homeostasis)
    with project_folder(project) as folder, on_device("cpp", folder):
        ensemble = UnimodalEnsemble(network_model, n_exc, images.images[0].size, slots_per_run=snapshot_every,
                                    inhibition=inhibition, homeostasis=homeostasis, rng=np.random.default_rng(seed))
        sim = EnsembleSimulation(ensemble, "cpp", folder, seed=seed)
        shown, weights, position = [0], [ensemble.layer.weights(sim.state)], 0
        while position < n_images:
            target = min(position + snapshot_every - position % snapshot_every, n_images)
            while position < target:  # an image the layer ignores is shown again, brighter: it may not fit a run
                presented = sim.present(images.images[position:target], learning=True)
                counts[position:position + presented.n_done] = presented.counts
                position += presented.n_done
            shown.append(position)
            weights.append(ensemble.layer.weights(sim.state))
    return Learning(shown, weights, counts, images, float(network_model.stdp.w_max))
