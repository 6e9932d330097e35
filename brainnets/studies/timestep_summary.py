"""Collect finished ``brainnets timestep`` runs into summary.json (one row per run) and alpha_ablation.json.

summary.json: the issue's columns for every run, and, in each noise run's row, ``time_ratio_vs_direct``: the
training seconds a direct T = 10 run of the same data set and architecture took to reach its target accuracy,
over the noise run's (Jiang Sec 3.2: 528 s against 135 s, 3.9). alpha_ablation.json: each noise run's stage-3
accuracy for every alpha at T = 1, 5 and 10 (Jiang Fig. 6), with each alpha's gain from T = 1 to the largest T.

Example:
    brainnets study timestep-summary runs/timestep/* --out docs/results/timestep
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..provenance import command_line_of, options_given
from . import collect

#: The columns of summary.json, in the issue's order, then the context of each run.
COLUMNS = ("method", "dataset", "arch", "timesteps", "test_accuracy", "paper_accuracy", "spikes_per_image",
           "energy_ratio_vs_ann", "train_seconds", "brian2_images", "brian2_spike_mismatches", "test_accuracy_t1",
           "seconds_to_accuracy", "epochs_to_accuracy", "ann_accuracy", "converted_accuracy",
           "converted_spikes_per_image", "spike_reduction_vs_converted", "epochs", "ann_epochs", "selected_epoch",
           "torch_threads", "git_commit", "command")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="finished run folders (each with its metrics.json)")
    parser.add_argument("--out", required=True, help="folder for summary.json and alpha_ablation.json (new files)")


def time_ratios(rows: list[dict]) -> None:
    """``time_ratio_vs_direct`` in each noise row that has a direct row of the same data set and architecture,
    both having reached their target (None otherwise)."""
    for row in rows:
        if row["method"] != "noise":
            continue
        direct = [other for other in rows if other["method"] == "direct" and other["dataset"] == row["dataset"]
                  and other["arch"] == row["arch"]]
        seconds = direct[0]["seconds_to_accuracy"] if direct else None
        row["time_ratio_vs_direct"] = (seconds / row["seconds_to_accuracy"]
                                       if seconds and row["seconds_to_accuracy"] else None)


def ablation(metrics: dict) -> dict:
    """A noise run's alpha ablation: its rows, and each alpha's accuracy gain from T = 1 to the largest T."""
    table = metrics["alpha_ablation"]
    gains = {}
    for alpha in dict.fromkeys(row["alpha"] for row in table):
        by_steps = {row["timesteps"]: row["accuracy"] for row in table if row["alpha"] == alpha}
        gains[str(alpha)] = by_steps[max(by_steps)] - by_steps[min(by_steps)]
    return {"dataset": metrics["dataset"], "arch": metrics["arch"], "rows": table, "gain_over_timesteps": gains,
            "command": metrics["command"]}


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    for name in ("summary.json", "alpha_ablation.json"):
        check_new_result(out / name)
    runs = [collect.read_metrics(folder, "timestep") for folder in args.runs]
    rows = [{key: metrics.get(key) for key in COLUMNS} for metrics in runs]
    time_ratios(rows)
    command = command_line_of(["study", "timestep-summary"], options_given(args, add_arguments))
    write_json_atomic(out / "summary.json", {"rows": rows, "command": command})
    write_json_atomic(out / "alpha_ablation.json",
                      {"runs": [ablation(metrics) for metrics in runs if metrics.get("alpha_ablation")],
                       "command": command})
    for row in rows:
        print(f"{row['method']:>10} {row['dataset']:>14} T={row['timesteps']}: {row['test_accuracy']:.4f} "
              f"(paper {row['paper_accuracy']}), Brian2 mismatches {row['brian2_spike_mismatches']}")
    return 0
