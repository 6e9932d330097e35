"""Score trained networks on held-out *training* images, for choices the sources leave open.

Each --network is a network.npz written by ``brainnets train`` (weights and thresholds). Its neurons are
labelled on the training images --assign and scored on the training images --validate; neither range may
overlap the images the network was trained on, and the test set is never touched.

With --threshold, each network is also pruned there and its weights kept continuous or shared among 3 or 2
levels, each with and without rescaling every neuron's weights to the model's weight_sum: the evidence for
ending the last compression step with the normalization (the shipped model rathi2021_compression), as
``docs/results/compression/final_normalization.json`` was made::

    brainnets train --train 12000 --test 100 --out runs/base_12k
    brainnets study validate --network runs/base_12k/network.npz --threshold 0.15 \\
        --out docs/results/compression/final_normalization.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from ..checkpoint import check_new_result, write_json_atomic
from ..datasets import LabelledImages, load_images
from ..devices import use_device
from ..provenance import command_line_of, options_given, provenance
from ..stdp.compression import normalize_columns, prune, quantize
from ..stdp.ensemble import UnimodalEnsemble
from ..stdp.model import DiehlCookModel
from ..stdp.readout import assign_labels, predict
from ..stdp.simulation import EnsembleSimulation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", required=True, nargs="+", help="network.npz files of `brainnets train` runs")
    parser.add_argument("--threshold", type=float, help="also score pruned and quantized versions")
    add_held_out_arguments(parser)
    parser.add_argument("--out", required=True, help="JSON file")


def add_held_out_arguments(parser: argparse.ArgumentParser) -> None:
    """The training images that label the neurons and those that score them, beyond those trained on."""
    parser.add_argument("--assign", default="50000:55000",
                        help="training images START:STOP that label the neurons (default: %(default)s)")
    parser.add_argument("--validate", default="55000:60000",
                        help="training images START:STOP that score them (default: %(default)s)")


def image_range(text: str, option: str) -> range:
    """``START:STOP`` as a range of image indices."""
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise ValueError(f"{option} takes training images as START:STOP, got {text!r}") from None
    if not 0 <= start < stop:
        raise ValueError(f"{option} {text}: need 0 <= START < STOP")
    return range(start, stop)


def responses(sim: EnsembleSimulation, images: np.ndarray) -> tuple[np.ndarray, int]:
    """Spike counts of every image with plasticity off, and the layer's spikes over all presentations."""
    batch = sim.ensemble.protocol.slots_per_run
    counts = np.zeros((len(images), sim.ensemble.n_exc), dtype=np.int32)
    position, spikes = 0, 0
    while position < len(images):
        shown = sim.present(images[position:position + batch], learning=False)
        counts[position:position + shown.n_done] = shown.counts
        position += shown.n_done
        spikes += shown.exc_spikes
    return counts, spikes


def variants(trained: np.ndarray, threshold: float | None, weight_sum: float) -> dict[str, np.ndarray]:
    """The network as trained and, with a threshold, its compressed versions."""
    found = {"as_trained": trained}
    if threshold is not None:
        pruned = prune(trained, threshold)
        for kind, weights in {"continuous": pruned, "3": quantize(pruned, 3), "2": quantize(pruned, 2)}.items():
            found[f"{kind}_as_is"] = weights
            found[f"{kind}_normalized"] = normalize_columns(weights, weight_sum)[0]
    return found


def load_network(path: str, first_held_out: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Weights, thresholds and settings of a `brainnets train` run; checks that the held-out images are."""
    network = np.load(path)
    settings = json.loads((Path(path).parent / "settings.json").read_text())
    if first_held_out < settings["n_train"]:
        raise ValueError(f"{path} was trained on the first {settings['n_train']} training images; "
                         "--assign and --validate must lie beyond them")
    return network["weights"], network["theta"], settings


def score_network(path: str, network: tuple[np.ndarray, np.ndarray, dict], train: LabelledImages, assign: range,
                  validate: range, threshold: float | None) -> dict:
    """The accuracy on ``validate`` of ``network`` (:func:`load_network` of ``path``) and of its compressed
    versions, its neurons labelled on ``assign``."""
    trained, theta, settings = network
    model = DiehlCookModel.load(settings["model"])
    scores = {}
    with tempfile.TemporaryDirectory() as build:
        use_device("cpp", build)
        ensemble = UnimodalEnsemble(model, trained.shape[1], trained.shape[0], slots_per_run=250,
                                    inhibition=settings["inhibition"], homeostasis=settings["homeostasis"],
                                    rng=np.random.default_rng(settings["seed"]))
        sim = EnsembleSimulation(ensemble, "cpp", build, seed=settings["seed"])
        for name, weights in variants(trained, threshold, model.protocol.weight_sum).items():
            sim.state = ensemble.layer.with_weights(sim.state, weights)
            sim.state[("exc", "theta")] = theta
            labels = assign_labels(responses(sim, train.images[assign])[0], train.labels[assign])
            validate_counts, spikes = responses(sim, train.images[validate])
            accuracy = float(np.mean(predict(validate_counts, labels) == train.labels[validate]))
            sums = weights.sum(axis=0)
            scores[name] = {"accuracy": accuracy, "nonzero_fraction": float(np.mean(weights > 0)),
                            "validation_exc_spikes": int(spikes),
                            "weight_sum_range": [float(sums.min()), float(sums.max())]}
            print(f"{path} {name:18s} accuracy {accuracy:.4f}  weight sums {sums.min():.1f}..{sums.max():.1f}",
                  flush=True)
    return {"settings": settings, "scores": scores}


def run(args: argparse.Namespace) -> dict:
    """Score every --network and write --out; returns what it wrote."""
    origin = provenance()  # the code as it was when the run started
    check_new_result(args.out)
    assign, validate = image_range(args.assign, "--assign"), image_range(args.validate, "--validate")
    first_held_out = min(assign.start, validate.start)
    networks = {path: load_network(path, first_held_out) for path in args.network}  # all checked before scoring
    images: dict[str, LabelledImages] = {}  # data set -> its training images
    results = {}
    for path, network in networks.items():
        dataset = network[2].get("dataset", "mnist")
        if dataset not in images:
            images[dataset] = load_images(dataset, "train")
        results[path] = score_network(path, network, images[dataset], assign, validate, args.threshold)
    document = {"networks": results, "threshold": args.threshold,
                "assign_images": [assign.start, assign.stop], "validate_images": [validate.start, validate.stop],
                **origin, "command": command_line_of(["study", "validate"], options_given(args, add_arguments))}
    write_json_atomic(args.out, document)
    return document
