"""How differentiated the excitatory neurons of trained ensembles are: winner-take-all, or all alike?

For each ARM folder written by ``brainnets multimodal`` (or ``brainnets train``) and each of its ensembles:

- ``weight_vectors_mean_cosine``: mean cosine between the learned input-weight vectors of two neurons (1: every
  neuron has learned the same receptive field);
- ``theta_mv``: the adaptive thresholds, mean / min / max;
- from a finished arm's test responses: spikes, and neurons that fire, per pair; the busiest neuron's share of a
  pair's spikes (a winner-take-all layer: few neurons, one carrying most spikes); pairs that leave it silent;
- from an unfinished arm's checkpoint: ``last_spike_together``, the share of the neurons whose last spike fell in
  the same time step as the most of them (near 1: the layer fires in synchronous volleys).

    brainnets study ensemble-stats runs/mm400/arms/audio_only runs/mm100/arms/multimodal \\
        --json docs/results/multimodal/validation/ensemble_statistics.json
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from ..checkpoint import RunFolderError, load_arrays, write_json_atomic
from ..provenance import command_line_of, options_given, provenance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("arms", nargs="+", type=Path, help="arm folders")
    parser.add_argument("--json", type=Path, help="also write the statistics here")


def mean_cosine(weights: np.ndarray) -> float:
    """Mean cosine similarity over all pairs of columns (one column per neuron)."""
    norms = np.linalg.norm(weights, axis=0)
    unit = weights / np.where(norms > 0, norms, 1)
    similarity = unit.T @ unit
    return float(similarity[np.triu_indices(weights.shape[1], 1)].mean())


def thresholds(theta: np.ndarray) -> dict:
    millivolts = 1e3 * theta
    return {"mean": float(millivolts.mean()), "min": float(millivolts.min()), "max": float(millivolts.max())}


def response_statistics(counts: np.ndarray) -> dict:
    """Per test pair (rows), over one ensemble's neurons (columns)."""
    spikes = counts.sum(axis=1)
    answered = spikes > 0
    return {"spikes_per_pair": float(spikes.mean()),
            "neurons_firing_per_pair": float((counts > 0).sum(axis=1).mean()),
            "top_neuron_share": float((counts[answered].max(axis=1) / spikes[answered]).mean()) if answered.any()
            else 0.0,
            "silent_pairs": float(1 - answered.mean())}


def finished_arm(folder: Path) -> dict[str, dict]:
    """Ensembles of a finished arm: network.npz holds NAME_weights (inputs x neurons) and NAME_theta, in the
    order of the columns of responses.npz."""
    network, responses = np.load(folder / "network.npz"), np.load(folder / "responses.npz")
    names = [key[:-len("_weights")] for key in network.files if key.endswith("_weights")]
    prefixes = {name: f"{name}_" for name in names} or {"excitatory": ""}  # a unimodal run: weights, theta
    counts, start, found = responses["test_counts"], 0, {}
    for name, prefix in prefixes.items():
        weights, theta = network[f"{prefix}weights"], network[f"{prefix}theta"]
        n = weights.shape[1]
        found[name] = {"n_neurons": n, "weight_vectors_mean_cosine": mean_cosine(weights),
                       "theta_mv": thresholds(theta), **response_statistics(counts[:, start:start + n])}
        start += n
    return found


def training_arm(checkpoint: dict[str, np.ndarray], folder: Path) -> dict[str, dict]:
    """Ensembles of an arm still training, from the state in its checkpoint (all-to-all input synapses,
    stored input-major)."""
    found = {}
    for key in checkpoint:
        match = re.fullmatch(r"state/(?:(\w+)_)?input_synapses/w", key)
        if match is None:
            continue
        layer = match.group(1)  # None for a unimodal run, whose groups carry no prefix
        name, prefix = (layer, f"{layer}_") if layer else ("excitatory", "")
        theta, last_spike = (checkpoint[f"state/{prefix}exc/{variable}"] for variable in ("theta", "lastspike"))
        n = len(theta)
        if checkpoint[key].size % n:
            raise ValueError(f"{folder}: {key} is not all-to-all onto {n} neurons")
        _, together = np.unique(np.round(last_spike, 6), return_counts=True)
        found[name] = {"n_neurons": n, "weight_vectors_mean_cosine": mean_cosine(checkpoint[key].reshape(-1, n)),
                       "theta_mv": thresholds(theta), "last_spike_together": float(together.max() / n)}
    return found


def arm_statistics(folder: Path) -> dict:
    if (folder / "network.npz").exists():
        return {"state": "finished", "ensembles": finished_arm(folder)}
    if (folder / "checkpoint.npz").exists():
        checkpoint = load_arrays(folder / "checkpoint.npz")
        progress = json.loads(str(checkpoint["progress"]))
        return {"state": "training", "pairs_done": progress["position"], "ensembles": training_arm(checkpoint, folder)}
    raise RunFolderError(f"{folder}: neither network.npz (a finished arm) nor checkpoint.npz (one training)")


def run(args: argparse.Namespace) -> dict:
    """Print the statistics of every arm (and write them to --json); returns them."""
    found = {str(folder): arm_statistics(folder) for folder in args.arms}
    print(json.dumps(found, indent=1))
    if args.json:
        write_json_atomic(args.json, {"arms": found, **provenance(),
                                      "command": command_line_of(["study", "ensemble-stats"],
                                                                 options_given(args, add_arguments))})
    return found
