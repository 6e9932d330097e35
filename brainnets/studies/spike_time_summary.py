"""Collect finished ``brainnets spike-time`` runs into summary.json (one row per run) and sparsity.json.

sparsity.json compares the active hidden neurons per test image of the BATS run and the Fast & Deep run with
U(-1, 1) initialisation of its hidden weights among the runs given (thesis Sec 3.7.4: 7 % against 24 %).

Example:
    brainnets study spike-time-summary runs/spike_time/* --out docs/results/spike_time
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..provenance import command_line_of, options_given
from . import collect

#: The columns of summary.json, in the issue's order, then the context of each run.
COLUMNS = ("method", "dataset", "arch", "dense", "init", "output_init", "thresholds", "epochs", "thesis_epochs", "test_accuracy", "thesis_accuracy",
           "selected_epoch", "last_epoch_test_accuracy", "n_validation", "train_seconds", "images_per_second",
           "brian2_images", "brian2_count_mismatches", "brian2_max_abs_dt_rel", "active_hidden_fraction",
           "active_hidden_fraction_std", "torch_threads", "git_commit", "command")
#: Thesis Sec 3.7.4: the fraction of hidden neurons active per MNIST test image.
THESIS_SPARSITY = {"bats": 0.07, "fast_deep_u(-1,1)": 0.24}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="finished run folders (each with its metrics.json)")
    parser.add_argument("--out", required=True, help="folder for summary.json and sparsity.json (new files)")


def sparsity(rows: list[dict]) -> dict:
    """The BATS and Fast & Deep U(-1, 1) rows' active hidden fractions on MNIST, with the thesis' numbers."""
    found = {}
    for row in rows:
        if row["dataset"] != "mnist" or row.get("active_hidden_fraction") is None:
            continue
        if row["method"] == "bats":
            found["bats"] = row
        elif row["method"] == "fast_deep" and row.get("init") == [-1.0, 1.0]:
            found["fast_deep_u(-1,1)"] = row
    return {name: {"active_hidden_fraction": row["active_hidden_fraction"],
                   "active_hidden_fraction_std": row.get("active_hidden_fraction_std"),
                   "thesis": THESIS_SPARSITY[name], "arch": row["arch"], "init": row["init"],
                   "output_init": row.get("output_init"), "thresholds": row.get("thresholds"), "epochs": row["epochs"],
                   "test_accuracy": row["test_accuracy"], "command": row["command"]} for name, row in found.items()}


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    for name in ("summary.json", "sparsity.json"):
        check_new_result(out / name)
    rows = collect.rows(args.runs, "spike-time", COLUMNS)
    command = command_line_of(["study", "spike-time-summary"], options_given(args, add_arguments))
    write_json_atomic(out / "summary.json", {"rows": rows, "command": command})
    write_json_atomic(out / "sparsity.json", {**sparsity(rows), "command": command})
    for row in rows:
        print(f"{row['method']:>10} {row['dataset']:>14} {row['arch']:>12}: {row['test_accuracy']:.4f} "
              f"(thesis {row['thesis_accuracy']}), Brian2 mismatches {row['brian2_count_mismatches']}")
    return 0
