"""Evaluation speed: labelling and testing one image after the other against frozen copies showing many at once.

One network, trained with STDP on ``--train`` MNIST images, is then labelled on ``--assign`` training images and
tested on ``--test`` test images twice, with plasticity off: by itself, one image after the other
(:class:`~brainnets.stdp.simulation.EnsembleSimulation`), and by ``--copies`` frozen copies of it in one simulation
(:class:`~brainnets.stdp.simulation.BatchedSimulation`). Compilation is excluded from both. Writes OUT.json
(milliseconds per image of each, their ratio, both accuracies and how often the two predict the same digit) and
OUT.png. The two draw other Poisson spikes, so their accuracies agree within the spread of a draw, not to the
last image; ``tests/test_batched.py`` shows a single frozen copy equal spike for spike.

    brainnets study bench-eval --train 5000 --assign 5000 --test 5000 --copies 16 --out docs/results/bench_eval
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from ..checkpoint import write_json_atomic
from ..datasets import load_mnist
from ..devices import use_device
from ..plotting import plot_bars
from ..provenance import command_line_of, options_given, provenance
from ..stdp.ensemble import UnimodalEnsemble
from ..stdp.model import DiehlCookModel
from ..stdp.readout import assign_labels, predict
from ..stdp.simulation import BatchedSimulation, EnsembleSimulation
from .unimodal import DEFAULT_MODEL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--n-exc", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--train", type=int, default=5000, help="training images (the first K)")
    parser.add_argument("--assign", type=int, default=5000, help="labelling images (the first K training images)")
    parser.add_argument("--test", type=int, default=5000, help="test images (the first M)")
    parser.add_argument("--copies", type=int, default=16, help="frozen copies of the batched evaluation")
    parser.add_argument("--slots-per-run", type=int, default=250, help="presentations per compiled run (each copy)")
    parser.add_argument("--device", choices=("cpp", "cuda"), default="cpp")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads of the compiled C++ projects (default: 1, no OpenMP; more: not reproducible "
                             "to the last spike)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")


def show_all(simulation, items, at_a_time: int, learning: bool = False) -> np.ndarray:
    """Every item's spike counts, ``at_a_time`` items per call."""
    counts, done = [], 0
    while done < len(items):
        shown = simulation.present(items[done:done + at_a_time], learning=learning)
        counts.append(shown.counts)
        done += shown.n_done
    return np.concatenate(counts)


def evaluate(simulation, assign, test, at_a_time: int) -> dict:
    """Label on ``assign``, test on ``test``: the accuracy, the predictions and the milliseconds per image."""
    started = time.perf_counter()
    assign_counts = show_all(simulation, assign.images, at_a_time)
    test_counts = show_all(simulation, test.images, at_a_time)
    seconds = time.perf_counter() - started
    predictions = predict(test_counts, assign_labels(assign_counts, assign.labels))
    return {"ms_per_image": 1000 * seconds / (len(assign) + len(test)), "seconds": seconds,
            "accuracy": float(np.mean(predictions == test.labels)), "predictions": predictions}


def run(args: argparse.Namespace) -> dict:
    """Train once, evaluate both ways; writes OUT.json and OUT.png and returns the result."""
    for name in ("train", "assign", "test", "copies", "slots_per_run", "n_exc"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(args, name)}: give at least 1")
    origin = provenance()
    model = DiehlCookModel.load(args.model)
    train, test = load_mnist("train"), load_mnist("test")[:args.test]
    assign = train[:args.assign]
    with tempfile.TemporaryDirectory() as trained_dir, tempfile.TemporaryDirectory() as batched_dir:
        use_device(args.device, trained_dir, threads=args.threads)
        network = UnimodalEnsemble(model, args.n_exc, slots_per_run=args.slots_per_run,
                                   rng=np.random.default_rng(args.seed))
        trained = EnsembleSimulation(network, args.device, trained_dir, seed=args.seed)
        show_all(trained, train.images[:args.train], args.slots_per_run, learning=True)
        one = evaluate(trained, assign, test, args.slots_per_run)
        use_device(args.device, batched_dir, threads=args.threads)
        copies = UnimodalEnsemble(model, args.n_exc, slots_per_run=args.slots_per_run,  # the same draws
                                  rng=np.random.default_rng(args.seed), copies=args.copies, plastic=False)
        batched = BatchedSimulation(copies, args.device, batched_dir, seed=args.seed + 1)
        batched.load(trained.state)
        many = evaluate(batched, assign, test, args.copies * (args.slots_per_run * 4 // 5))
    spread = float(np.sqrt(2 * one["accuracy"] * (1 - one["accuracy"]) / args.test))
    result = {
        "one_at_a_time_ms_per_image": one["ms_per_image"], "batched_ms_per_image": many["ms_per_image"],
        "ratio": one["ms_per_image"] / many["ms_per_image"],
        "one_at_a_time_accuracy": one["accuracy"], "batched_accuracy": many["accuracy"],
        "accuracy_difference": many["accuracy"] - one["accuracy"],
        "difference_spread": spread,
        "same_prediction": float(np.mean(one["predictions"] == many["predictions"])),
        "copies": args.copies, "threads": args.threads, "n_exc": args.n_exc, "n_train": args.train, "n_assign": args.assign,
        "n_test": args.test, "device": args.device, "model": args.model, **origin,
        "note": "difference_spread: the standard deviation of the difference of two independent draws' accuracies",
        "command": command_line_of(["study", "bench-eval"], options_given(args, add_arguments)),
    }
    write_json_atomic(f"{args.out}.json", result)
    plot_bars({"one image at a time": one["ms_per_image"], f"{args.copies} frozen copies": many["ms_per_image"]},
              f"{args.out}.png", ylabel="wall time per evaluated image (ms)",
              title=f"{args.n_exc} neurons: accuracy {100 * one['accuracy']:.1f} % / {100 * many['accuracy']:.1f} %")
    print(f"one at a time {one['ms_per_image']:.2f} ms/image ({100 * one['accuracy']:.2f} %), "
          f"{args.copies} copies {many['ms_per_image']:.2f} ms/image ({100 * many['accuracy']:.2f} %)")
    return result
