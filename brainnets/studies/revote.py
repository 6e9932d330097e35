"""A finished multimodal comparison scored again under another vote, from the spike counts its arms saved.

The vote is read out after the simulation (``brainnets.stdp.readout``), so nothing is simulated again: each arm's
``responses.npz`` (test spike counts) and ``network.npz`` (the labels its neurons were given) are read out under
``--vote``, and every arm's metrics come back as ``brainnets multimodal`` writes them with that vote, the other
votes and the linear readout beside it. Before anything is written, each arm's recorded accuracies are checked to
come out again from its saved counts under the vote it was run with.

    brainnets study revote runs/mm100_tuned --vote per_sense --out runs/mm100_tuned_per_sense.json \\
        --summary docs/results/multimodal/summary.json
"""
from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ..checkpoint import RunFolderError, load_arrays, write_json_atomic
from ..provenance import command_line_of, options_given, provenance
from ..stdp.multimodal import MODALITIES
from ..stdp.readout import VOTES, confusion_matrix
from ..stdp.report import test_readouts
from .multimodal import add_arguments as multimodal_arguments, add_to_summary, summarize


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", type=Path, help="a finished `brainnets multimodal` comparison (its --out folder)")
    parser.add_argument("--vote", choices=VOTES, required=True, help="how the ensembles vote together")
    parser.add_argument("--out", type=Path, required=True, help="the study's metrics under that vote (JSON)")
    parser.add_argument("--summary", type=Path,
                        help="also put the study's entry, under that vote, into this summary file")


def revote_arm(folder: Path, metrics: dict, vote: str) -> dict:
    """An arm's ``metrics`` with its test accuracies, readout blocks and confusion matrix under ``vote``."""
    responses, network = load_arrays(folder / "responses.npz"), load_arrays(folder / "network.npz")
    slices, start = {}, 0
    for name in (name for name in MODALITIES if name in metrics["sizes"]):  # the order of the count columns
        slices[name] = slice(start, start + metrics["sizes"][name])
        start += metrics["sizes"][name]
    test_counts = {key[:-len("_counts")]: counts for key, counts in responses.items()
                   if key.startswith("test") and key.endswith("_counts")}
    labels = responses["test_labels"]
    recorded = metrics.get("vote", "pooled")  # arms run before the vote was a model constant pooled
    _, again = test_readouts(test_counts, labels, network["assignments"], slices, recorded)
    different = {key: (value, again["vote"].get(key)) for key, value in metrics.items()
                 if key.startswith("accuracy") and key != "accuracy_per_ensemble" and again["vote"].get(key) != value}
    if different:
        raise RunFolderError(f"{folder}: the saved spike counts do not give the recorded accuracies "
                             f"({', '.join(f'{key} {a} against {b}' for key, (a, b) in different.items())})")
    predictions, readout = test_readouts(test_counts, labels, network["assignments"], slices, vote)
    readout["linear"] = metrics.get("readout", {}).get("linear")
    return {**metrics, **readout["vote"], "vote": vote, "readout": readout,
            "confusion_matrix": confusion_matrix(labels, predictions["test"]).tolist()}


def revote_study(folder: Path, vote: str) -> dict:
    """The study document of ``folder`` (its metrics.json) with every arm under ``vote``."""
    path = folder / "metrics.json"
    if not path.is_file():
        raise RunFolderError(f"{folder}: no metrics.json; revote reads a finished `brainnets multimodal` comparison")
    document = json.loads(path.read_text())
    arms = {name: revote_arm(folder / "arms" / name, metrics, vote) for name, metrics in document["arms"].items()}
    return {**document, "arms": arms}


def run(args: argparse.Namespace) -> dict:
    """Write the revoted study to --out (and its entry to --summary); returns it."""
    if args.out.exists():
        raise RunFolderError(f"{args.out} exists; finished results are never overwritten: choose another --out")
    document = revote_study(args.study, args.vote)
    document.update(revoted={"vote": args.vote, "from": str(args.study), **provenance(),
                             "command": command_line_of(["study", "revote"], options_given(args, add_arguments))})
    write_json_atomic(args.out, document)
    if args.summary:
        parser = argparse.ArgumentParser()
        multimodal_arguments(parser)
        study_args = parser.parse_args(shlex.split(document["command"])[2:])  # the options the study ran with
        add_to_summary(args.summary, {**summarize(document["arms"], study_args), "git_commit": document["git_commit"],
                                      "revoted": document["revoted"]})
    print(json.dumps({name: arm["accuracy"] for name, arm in document["arms"].items()}, indent=2))
    return document

