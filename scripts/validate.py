#!/usr/bin/env python
"""Score trained networks on held-out *training* images, for choices the sources leave open.

Each --network is a network.npz written by scripts/train_unimodal.py (weights and thresholds). Its neurons are
labelled on the training images --assign and scored on the training images --validate; neither range may
overlap the images the network was trained on, and the test set is never touched.

With --threshold, each network is also pruned there and its weights kept continuous or shared among 3 or 2
levels, each with and without rescaling every neuron's weights to the model's weight_sum: the evidence for
ending the last compression step with the normalization (models/rathi2021_compression.toml).

    python scripts/train_unimodal.py --train 12000 --test 100 --out runs/base_12k
    python scripts/validate.py --network runs/base_12k/network.npz --threshold 0.15 \\
        --out docs/results/compression/final_normalization.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from brainnets.checkpoint import check_new_result, write_json_atomic
from brainnets.cli import fail_cleanly
from brainnets.datasets import load_mnist
from brainnets.devices import use_device
from brainnets.provenance import command_line, provenance
from brainnets.stdp.compression import normalize_columns, prune, quantize
from brainnets.stdp.ensemble import UnimodalEnsemble
from brainnets.stdp.model import DiehlCookModel
from brainnets.stdp.readout import assign_labels, predict
from brainnets.stdp.simulation import EnsembleSimulation


def image_range(text: str) -> range:
    start, stop = (int(part) for part in text.split(":"))
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
    """Weights, thresholds and settings of a train_unimodal.py run; checks that the held-out images are."""
    network = np.load(path)
    settings = json.loads((Path(path).parent / "settings.json").read_text())
    if first_held_out < settings["n_train"]:
        raise ValueError(f"{path} was trained on the first {settings['n_train']} training images; "
                         "--assign and --validate must lie beyond them")
    return network["weights"], network["theta"], settings


@fail_cleanly
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", required=True, nargs="+", help="network.npz files of train_unimodal.py runs")
    parser.add_argument("--threshold", type=float, help="also score pruned and quantized versions")
    parser.add_argument("--assign", type=image_range, default=range(50000, 55000), help="training images START:STOP")
    parser.add_argument("--validate", type=image_range, default=range(55000, 60000), help="training images START:STOP")
    parser.add_argument("--out", required=True, help="JSON file")
    args = parser.parse_args(argv)
    origin = provenance()  # the code as it was when the run started
    check_new_result(args.out)
    first_held_out = min(args.assign.start, args.validate.start)
    train = load_mnist("train")
    assign, validate = train.images[args.assign], train.images[args.validate]
    results = {}
    for path in args.network:
        trained, theta, settings = load_network(path, first_held_out)
        model = DiehlCookModel.load(settings["model"])
        scores = {}
        with tempfile.TemporaryDirectory() as build:
            use_device("cpp", build)
            ensemble = UnimodalEnsemble(model, trained.shape[1], trained.shape[0], slots_per_run=250,
                                        inhibition=settings["inhibition"], homeostasis=settings["homeostasis"],
                                        rng=np.random.default_rng(settings["seed"]))
            sim = EnsembleSimulation(ensemble, "cpp", build, seed=settings["seed"])
            for name, weights in variants(trained, args.threshold, model.protocol.weight_sum).items():
                sim.state = ensemble.layer.with_weights(sim.state, weights)
                sim.state[("exc", "theta")] = theta
                labels = assign_labels(responses(sim, assign)[0], train.labels[args.assign])
                validate_counts, spikes = responses(sim, validate)
                accuracy = float(np.mean(predict(validate_counts, labels) == train.labels[args.validate]))
                sums = weights.sum(axis=0)
                scores[name] = {"accuracy": accuracy, "nonzero_fraction": float(np.mean(weights > 0)),
                                "validation_exc_spikes": int(spikes),
                                "weight_sum_range": [float(sums.min()), float(sums.max())]}
                print(f"{path} {name:18s} accuracy {accuracy:.4f}  weight sums {sums.min():.1f}..{sums.max():.1f}",
                      flush=True)
        results[path] = {"settings": settings, "scores": scores}
    write_json_atomic(args.out, {
        "networks": results, "threshold": args.threshold,
        "assign_images": [args.assign.start, args.assign.stop],
        "validate_images": [args.validate.start, args.validate.stop], **origin,
        "command": command_line(__file__, argv)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
