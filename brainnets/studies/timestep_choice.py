"""Choose the reduced T of a conversion on held-out validation images, never on the test images.

Rathi ch. 4 runs the converted network at a reduced T where it loses accuracy against its ANN, and STDB training
then wins it back (Table 4.1: VGG5 on CIFAR-10 loses 3.3 points at T = 75). Where a network starts to lose
depends on the network and the data set, so the T is chosen per run: this study reopens a ``stdb``, ``diet`` or
``conversion`` run from a checkpoint written after its conversion, scores its ANN and its converted network (the
balanced thresholds scaled as the run scales them, the run's input coding) on the run's validation images at
every T given, and names the largest T at which the converted network loses at least ``--min-loss`` points: the
``--timesteps`` of the run to start next.

Example:
    brainnets study timestep-choice runs/timestep/stdb_t25 --timesteps 5 6 7 8 10 15 25 --min-loss 2 \\
        --out results/timestep/stdb_timestep_choice.json
"""
from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..provenance import command_line_of, options_given


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="RUN",
                        help="folder of a stdb, diet or conversion run whose checkpoint is past the conversion")
    parser.add_argument("--timesteps", type=int, nargs="+", required=True, help="the T to score")
    parser.add_argument("--min-loss", type=float, default=2.0,
                        help="accuracy points the converted network must lose against its ANN (default 2)")
    parser.add_argument("--data", default=None, help="folder of the run's data set (default: as the run found it)")
    parser.add_argument("--out", required=True, help="the JSON file to write (a new file)")


def largest_losing(rows: list[dict], min_loss: float) -> int | None:
    """The largest T whose loss against the ANN is at least ``min_loss`` points, None if no T loses that much."""
    losing = [row["timesteps"] for row in rows if row["loss_points"] >= min_loss]
    return max(losing) if losing else None


def run(args: argparse.Namespace) -> int:
    from ..timestep import experiment

    out = Path(args.out)
    check_new_result(out)
    if min(args.timesteps) < 1:
        raise ValueError(f"--timesteps {min(args.timesteps)}: give steps >= 1")
    if not args.min_loss >= 0:
        raise ValueError(f"--min-loss {args.min_loss}: give points >= 0")
    checkpoint = Path(args.folder) / "checkpoint.pt"
    if not checkpoint.is_file():
        raise ValueError(f"{checkpoint}: no checkpoint (a finished run has none; stop a run after its conversion)")
    training = experiment.reopen(checkpoint, args.data)
    s, d = training.settings, training.data
    if not s.conversion_based:
        raise ValueError(f"{args.folder}: a {s.method} run has no conversion to choose a T for")
    if not len(d.validation_y):
        raise ValueError(f"{args.folder}: the run holds no validation images out (--validation); the test images "
                         "must not choose T")
    converted = training.converted_network()
    ann = training.score(training.ann, d.validation_x, d.validation_y, 1, ann=True)["accuracy"]
    rows = []
    for steps in sorted(set(args.timesteps)):
        scored = training.score(converted, d.validation_x, d.validation_y, steps)
        rows.append({"timesteps": steps, "validation_accuracy": scored["accuracy"],
                     "loss_points": 100 * (ann - scored["accuracy"]), "spikes_per_image": scored["spikes_per_image"]})
        print(f"T = {steps:>4}: {scored['accuracy']:.4f} (ANN {ann:.4f}, loss {rows[-1]['loss_points']:.2f} points)")
    chosen = largest_losing(rows, args.min_loss)
    write_json_atomic(out, {
        "run_settings": asdict(s), "validation_images": len(d.validation_y),
        "ann_validation_accuracy": ann, "min_loss_points": args.min_loss, "rows": rows, "chosen_timesteps": chosen,
        "command": command_line_of(["study", "timestep-choice"], options_given(args, add_arguments))})
    print(f"chosen T: {chosen}" if chosen else f"no T given loses {args.min_loss} points")
    return 0
