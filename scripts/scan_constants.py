#!/usr/bin/env python
"""Choose a constant the sources leave open on held-out training images, never on the test set.

For each VALUE of --set SECTION.KEY VALUE..., writes the model file with that one constant changed,
trains on the first --train training images (scripts/train_unimodal.py, two runs at a time by default),
then labels the neurons on --assign and scores them on --validate, two ranges of training images the
networks never saw (scripts/validate.py). Writes OUT.json (the validation accuracies and the runs) and
OUT.png. Runs keep their folders under --work, so a killed scan resumes where it stopped.

    python scripts/scan_constants.py --set stdp.eta 0.001 0.002 0.003 0.005 --train 50000 \\
        --work runs/scan_eta --out docs/results/eta_validation/full_schedule
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

from brainnets.checkpoint import check_new_result, write_json_atomic
from brainnets.cli import fail_cleanly
from brainnets.plotting import plot_bars
from brainnets.provenance import command_line
from brainnets.sweeps import SCRIPTS, run_all, run_once


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
            lines[number] = f"{key} = {written}  # set by scripts/scan_constants.py\n"
            return "".join(lines)
    raise ValueError(f"the model file has no constant {key!r} in section [{section}]")


@fail_cleanly
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/diehl_cook_2015.toml")
    parser.add_argument("--set", nargs="+", required=True, metavar=("SECTION.KEY", "VALUE"),
                        help="the constant and the values to try")
    parser.add_argument("--n-exc", type=int, default=100)
    parser.add_argument("--train", type=int, default=50000, help="train on the first K training images")
    parser.add_argument("--assign", default="50000:55000", help="training images START:STOP that label the neurons")
    parser.add_argument("--validate", default="55000:60000", help="training images START:STOP that score them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="networks trained at the same time")
    parser.add_argument("--work", required=True, help="folder for the model files and training runs")
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")
    args = parser.parse_args(argv)
    if len(args.set) < 2 or "." not in args.set[0]:
        raise ValueError("--set needs SECTION.KEY and at least one value, e.g. --set stdp.eta 0.001 0.002")
    check_new_result(f"{args.out}.json")
    (section, key), values = args.set[0].split(".", 1), args.set[1:]
    work = Path(args.work)
    (work / "models").mkdir(parents=True, exist_ok=True)
    text = Path(args.model).read_text()
    runs = {}
    for value in values:
        variant = work / "models" / f"{key}_{value}.toml"
        variant.write_text(with_constant(text, section, key, value))
        options = ["--model", str(variant), "--n-exc", str(args.n_exc), "--train", str(args.train),
                   "--assign", "100", "--test", "100", "--seed", str(args.seed)]
        runs[value] = partial(run_once, "train_unimodal", options, work / f"{key}_{value}")
    run_all(runs, args.jobs)

    scores_file = work / "validation.json"
    if not scores_file.exists():
        networks = [str(work / f"{key}_{value}" / "network.npz") for value in values]
        subprocess.run([sys.executable, str(SCRIPTS / "validate.py"), "--network", *networks,
                        "--assign", args.assign, "--validate", args.validate, "--out", str(scores_file)], check=True)
    scores = json.loads(scores_file.read_text())
    accuracies = {value: scores["networks"][str(work / f"{key}_{value}" / "network.npz")]["scores"]["as_trained"]
                  ["accuracy"] for value in values}
    write_json_atomic(f"{args.out}.json", {
        "constant": f"[{section}] {key}", "validation_accuracy": accuracies, "n_exc": args.n_exc,
        "n_train": args.train, "seed": args.seed, "validation": scores,
        "command": command_line(__file__, argv)})
    plot_bars({value: 100 * accuracy for value, accuracy in accuracies.items()}, f"{args.out}.png",
              ylabel="held-out accuracy (%)",
              title=f"[{section}] {key}: trained on {args.train}, scored on training images {args.validate}")
    print(json.dumps(accuracies, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
