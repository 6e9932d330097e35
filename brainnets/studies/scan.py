"""Choose a constant the sources leave open on held-out training images, never on the test set.

For each VALUE of --set SECTION.KEY VALUE..., writes the model file with that one constant changed, trains
on the first --train training images (two runs at a time by default), then labels the neurons on --assign
and scores them on --validate, two ranges of training images the networks never saw (as
``brainnets study validate`` does; its result is WORK/validation.json). Writes OUT.json (the validation
accuracies and the runs) and OUT.png. Runs keep their folders under --work, so a killed scan resumes where
it stopped.

    brainnets study scan --set stdp.eta 0.001 0.002 0.003 0.005 --train 50000 \\
        --work runs/scan_eta --out docs/results/eta_validation/full_schedule
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..plotting import plot_bars
from ..provenance import command_line_of, options_given
from ..resources import model_file
from . import runs, validate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    runs.add_arguments(parser, train=50000, test=False)
    parser.add_argument("--set", nargs="+", required=True, metavar=("SECTION.KEY", "VALUE"),
                        help="the constant and the values to try")
    validate.add_held_out_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)


def with_constant(model_text: str, section: str, key: str, value: str) -> str:
    """The model file's text with ``[section] key`` set to ``value`` (a number, or a quantity or word)."""
    try:
        written = repr(float(value))
    except ValueError:
        written = json.dumps(value)
    lines = model_text.splitlines(keepends=True)
    current = None
    for number, line in enumerate(lines):
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            current = header.group(1)
        elif current == section and re.match(rf"^{re.escape(key)}\s*=", line):
            lines[number] = f"{key} = {written}  # set by brainnets study scan\n"
            return "".join(lines)
    raise ValueError(f"the model file has no constant {key!r} in section [{section}]")


def run(args: argparse.Namespace) -> dict:
    if len(args.set) < 2 or "." not in args.set[0]:
        raise ValueError("--set needs SECTION.KEY and at least one value, e.g. --set stdp.eta 0.001 0.002")
    held_out = [validate.image_range(args.assign, "--assign"), validate.image_range(args.validate, "--validate")]
    if min(images.start for images in held_out) < args.train:
        raise ValueError(f"--assign and --validate must lie beyond the {args.train} training images (--train)")
    check_new_result(f"{args.out}.json")
    (section, key), values = args.set[0].split(".", 1), args.set[1:]
    work = Path(args.work)
    text = model_file(args.model).read_text()
    models = {value: work / "models" / f"{key}_{value}.toml" for value in values}
    texts = {value: with_constant(text, section, key, value) for value in values}
    settings = {value: runs.settings(args, model=str(models[value]), n_assign=100, n_test=100, seed=args.seed)
                for value in values}  # every value checked before anything is written
    (work / "models").mkdir(parents=True, exist_ok=True)
    for value in values:
        models[value].write_text(texts[value])
    runs.train_all(args, {value: (settings[value], work / f"{key}_{value}") for value in values})

    scores_file = work / "validation.json"
    networks = [str(work / f"{key}_{value}" / "network.npz") for value in values]
    if not scores_file.exists():
        validate.run(argparse.Namespace(network=networks, threshold=None, assign=args.assign,
                                        validate=args.validate, out=str(scores_file)))
    scores = json.loads(scores_file.read_text())
    accuracies = {value: scores["networks"][network]["scores"]["as_trained"]["accuracy"]
                  for value, network in zip(values, networks)}
    document = {"constant": f"[{section}] {key}", "validation_accuracy": accuracies, "n_exc": args.n_exc,
                "n_train": args.train, "seed": args.seed, "validation": scores,
                "command": command_line_of(["study", "scan"], options_given(args, add_arguments))}
    write_json_atomic(f"{args.out}.json", document)
    plot_bars({value: 100 * accuracy for value, accuracy in accuracies.items()}, f"{args.out}.png",
              ylabel="held-out accuracy (%)",
              title=f"[{section}] {key}: trained on {args.train}, scored on training images {args.validate}")
    print(json.dumps(accuracies, indent=2))
    return document

