"""What a finished experiment leaves in its folder: ``metrics.json``, ``network.npz``, ``responses.npz`` and,
for the unimodal experiment, ``receptive_fields.png`` and ``confusion.png``.

Each report reads the experiment after its last phase: the network's state, the spike counts its phases
kept and the loop's tallies (presentations, activity, seconds). ``metrics.json`` is written last, as its
presence marks the run finished.

Every test is read out twice: by the thesis' vote (each neuron labelled on the assign phase, the class whose
neurons fire most wins; the plain ``accuracy`` keys) and by a linear readout of the same spike counts
(:func:`.readout.linear_readout`, fitted on the assign phase), side by side under ``readout``: ``{"vote":
{"accuracy": ...}, "linear": {"accuracy": ...}}``.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ..checkpoint import save_arrays_atomic, write_json_atomic
from .readout import VOTES, assign_labels, confusion_matrix, linear_readout, predict

if TYPE_CHECKING:
    from .experiment import UnimodalExperiment
    from .multimodal import MultimodalNetwork
    from .multimodal_experiment import MultimodalExperiment
    from .phases import PhasedExperiment


def costs(experiment: PhasedExperiment, per: str) -> dict:
    """Time spent building, training and evaluating, and presentations per item of each phase (repeats
    included); ``per`` names an item: ``train_ms_per_{per}``, ``presentations_per_{per}``."""
    lengths = {phase.name: len(phase.items) for phase in experiment.phases}
    seconds = experiment.seconds
    return {"build_seconds": seconds["build"], "train_seconds": seconds["train"],
            f"train_ms_per_{per}": 1000 * seconds["train"] / lengths["train"],
            "eval_seconds": sum(seconds[name] for name in lengths if name != "train"),
            f"presentations_per_{per}": {name: experiment.tries[name] / n for name, n in lengths.items()}}


def neuron_slices(network) -> dict[str, slice]:
    """Where each layer's excitatory neurons lie in the network's spike counts."""
    slices, start = {}, 0
    for layer in network.layers:
        slices[layer.name] = slice(start, start + layer.n_exc)
        start += layer.n_exc
    return slices


def unimodal_report(experiment: UnimodalExperiment) -> dict:
    """Accuracy on the test images, the labelled neurons, the synapses left and the compression steps;
    with the receptive fields and the confusion matrix as figures."""
    from ..plotting import plot_confusion, plot_receptive_fields

    s, counts, assign, test = experiment.settings, experiment.counts, experiment.assign, experiment.test
    layer, state = experiment.sim.ensemble.layer, experiment.sim.state
    assignments = assign_labels(counts["assign"], assign.labels)
    predictions = predict(counts["test"], assignments)
    linear_predictions = linear_readout(counts["assign"], assign.labels, counts["test"])
    confusion = confusion_matrix(test.labels, predictions)
    weights = layer.weights(state)
    activity = experiment.activity
    accuracy = float(np.mean(predictions == test.labels))
    metrics = {
        "accuracy": accuracy,
        "readout": {"vote": {"accuracy": accuracy},
                    "linear": {"accuracy": float(np.mean(linear_predictions == test.labels))}},
        "n_exc": s.n_exc, "n_train": s.n_train, "n_test": s.n_test, "n_assign": len(assign), "epochs": s.epochs,
        "seed": s.seed, "device": s.device, "inhibition": s.inhibition, "homeostasis": s.homeostasis,
        "test_repeats": s.test_repeats, "eval_copies": s.eval_copies, "model": s.model, "dataset": s.dataset,
        "stdp_rule": type(experiment.model.stdp).__name__,
        **experiment.provenance,
        **costs(experiment, per="image"),
        "neurons_assigned_per_class": np.bincount(assignments[assignments >= 0], minlength=10).tolist(),
        # existing synapses / all possible ones (Rathi 2.5: the devices of the crossbar); the nonzero
        # fraction also counts the synapses STDP drove to 0 as absent (the baseline's dot in Fig. 2.6a)
        "connectivity": float(layer.connections.mean()),
        "nonzero_fraction": float(np.mean(weights > 0)),
        "n_synapses": int(layer.connections.sum()),
        "compression": dataclasses.asdict(s.compression),
        "compression_steps": experiment.steps_done,
        "activity": activity,
        "test_exc_spikes": activity["test"]["exc_spikes"],
        "test_synaptic_ops": activity["test"]["synaptic_ops"],
        "confusion_matrix": confusion.tolist(),
    }
    out = experiment.out
    save_arrays_atomic(out / "network.npz", {"weights": weights, "theta": state[("exc", "theta")],
                                             "assignments": assignments})
    save_arrays_atomic(out / "responses.npz", {
        "assign_counts": counts["assign"], "assign_labels": assign.labels,
        "test_counts": counts["test"], "test_labels": test.labels, "test_predictions": predictions,
        "test_predictions_linear": linear_predictions})
    plot_receptive_fields(weights, out / "receptive_fields.png",
                          title=f"{s.n_exc} neurons, {s.n_train * s.epochs} training images")
    plot_confusion(confusion, out / "confusion.png",
                   title=f"accuracy {100 * metrics['accuracy']:.1f}% on {s.n_test} test images")
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def multimodal_report(experiment: MultimodalExperiment) -> dict:
    """Accuracy of every test phase (``accuracy``, ``accuracy_missing_audio``, ...) and of each ensemble
    alone, the labelled neurons and, with cross-modal links, :func:`crossmodal_links`; ``readout`` holds
    every test phase's accuracy under the model's vote (``vote``, the plain ``accuracy`` keys), under each of
    :data:`.readout.VOTES` (``vote_pooled``, the thesis', and ``vote_per_sense``) and under the linear readout
    (one fit on the assign phase, all ensembles' neurons together)."""
    s, counts = experiment.settings, experiment.counts
    network, state = experiment.sim.ensemble, experiment.sim.state
    test_labels = experiment.labels["test"]
    assignments = assign_labels(counts["assign"], experiment.labels["train"][:experiment.n_assign])
    slices = neuron_slices(network)
    tests = [phase.name for phase in experiment.phases if phase.name.startswith("test")]
    vote = network.multimodal_model.readout.vote
    predictions, readout = test_readouts({phase: counts[phase] for phase in tests}, test_labels, assignments,
                                         slices, vote)
    # one fit, every test phase's counts read out at once
    linear = linear_readout(counts["assign"], experiment.labels["train"][:experiment.n_assign],
                            np.concatenate([counts[phase] for phase in tests]))
    readout["linear"] = test_accuracies(dict(zip(tests, np.split(linear, len(tests)))), test_labels)
    accuracies = readout["vote"]
    per_ensemble = {name: float(np.mean(predict(counts["test"][:, where], assignments[where]) == test_labels))
                    for name, where in slices.items()}
    metrics = {
        **accuracies, "accuracy_per_ensemble": per_ensemble,
        "vote": vote, "readout": readout,
        **dataclasses.asdict(s), "sizes": s.sizes, "n_total": sum(s.sizes.values()),
        "test_utterances": experiment.test_utterances,
        **experiment.provenance,
        **costs(experiment, per="pair"),
        "neurons_assigned_per_class": {
            name: np.bincount(assignments[where][assignments[where] >= 0], minlength=10).tolist()
            for name, where in slices.items()},
        "activity": experiment.activity,
        "confusion_matrix": confusion_matrix(test_labels, predictions["test"]).tolist(),
    }
    arrays = {"assignments": assignments}
    if network.crossmodal_links is not None:
        links = crossmodal_links(network, state, assignments, slices)
        metrics["crossmodal"] = links["summary"]
        arrays.update(links["arrays"])
    for layer in network.layers:
        arrays[f"{layer.name}_weights"] = layer.weights(state)
        arrays[f"{layer.name}_theta"] = state[(layer.exc.name, "theta")]
    save_arrays_atomic(experiment.out / "network.npz", arrays)
    save_arrays_atomic(experiment.out / "responses.npz", {
        **{f"{phase}_counts": phase_counts for phase, phase_counts in counts.items()},
        "train_labels": experiment.labels["train"], "test_labels": test_labels})
    write_json_atomic(experiment.out / "metrics.json", metrics)
    return metrics


def test_accuracies(predictions: dict[str, np.ndarray], test_labels: np.ndarray) -> dict[str, float]:
    """Accuracy of each test phase's predictions, keyed ``accuracy`` (phase ``test``) or ``accuracy_missing_audio``
    (phase ``test_missing_audio``) and so on."""
    return {("accuracy" if phase == "test" else phase.replace("test_", "accuracy_")):
            float(np.mean(predicted == test_labels)) for phase, predicted in predictions.items()}


def test_readouts(test_counts: dict[str, np.ndarray], test_labels: np.ndarray, assignments: np.ndarray,
                  slices: dict[str, slice], vote: str) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """The predictions of every test phase (phase -> labels) under ``vote``, and the accuracies
    (:func:`test_accuracies`) under it (``vote``) and under each of :data:`.readout.VOTES` (``vote_pooled``, ...)."""
    senses = tuple(slices.values())
    predictions = {other: {phase: predict(counts, assignments, vote=other, senses=senses)
                           for phase, counts in test_counts.items()} for other in VOTES}
    readout = {f"vote_{other}": test_accuracies(predictions[other], test_labels) for other in VOTES}
    return predictions[vote], {"vote": readout[f"vote_{vote}"], **readout}


def crossmodal_links(network: MultimodalNetwork, state: dict, assignments: np.ndarray,
                     slices: dict[str, slice]) -> dict:
    """Which cross-modal synapses join neurons of the same label (Rathi Fig. 3.12).

    Rathi: STDP "forms a stronger connection between neurons that spike together for the same label"
    and the other connections "are inhibited", i.e. depressed towards 0. A link counts as kept when its
    weight ends above the lowest initial weight (``w_init_low``); ``same_label_fraction`` is the share of
    the kept links whose two neurons carry the same label, ``same_label_fraction_all`` the same share over
    every link (what chance wiring gives), ``same_label_weight_share`` the share of all cross-modal weight
    that same-label links carry.
    """
    links, floor = network.crossmodal_links, network.multimodal_model.crossmodal.w_init_low
    same, kept, weights = [], [], []
    arrays = {}
    for synapses in links.synapses:
        pre_name, post_name = synapses.name.split("_to_")
        pairs = links.pairs[synapses.name]
        w = state[(synapses.name, "w")]
        pre_label = assignments[slices[pre_name]][pairs[:, 0]]
        post_label = assignments[slices[post_name]][pairs[:, 1]]
        same.append((pre_label == post_label) & (pre_label >= 0))
        kept.append(w > floor)
        weights.append(w)
        arrays[f"{synapses.name}_pairs"], arrays[f"{synapses.name}_w"] = pairs, w
    same, kept, weights = np.concatenate(same), np.concatenate(kept), np.concatenate(weights)
    summary = {"n_links": int(len(same)), "n_kept": int(kept.sum()),
               "same_label_fraction": float(same[kept].mean()) if kept.any() else 0.0,
               "same_label_fraction_all": float(same.mean()) if len(same) else 0.0,
               "same_label_weight_share": float(weights[same].sum() / weights.sum()) if weights.sum() > 0 else 0.0,
               "mean_weight_same_label": float(weights[same].mean()) if same.any() else 0.0,
               "mean_weight_other": float(weights[~same].mean()) if (~same).any() else 0.0}
    return {"summary": summary, "arrays": arrays}
