"""Train a network by one of Bacho's methods, test it, and re-simulate the spiking ones in Brian2, spike by spike.

Bacho (PhD thesis, Kent 2023): exact spike-time gradients of multi-spike networks (``bats``) and of
single-spike ones (``fast_deep``), ch. 3; spiking direct feedback alignment (``dfa``) and spiking forward direct
feedback alignment (``sfdfa``), ch. 5; and, with ``--dense``, non-spiking ReLU networks trained by ``bp``,
``fdfa``, ``dfa``, ``fg_w`` or ``fg_a`` (ch. 4). Constants: ``bacho2024_bats.toml`` (spiking) and
``bacho2024_fdfa.toml`` (dense). Every epoch is checkpointed (``--resume`` continues a killed run); at the end
the test accuracy (float64 spike times), the sparsity of the hidden layers and, for spiking networks, the
Brian2 re-simulation of ``--brian2-images`` test images with exact spike times are written to metrics.json,
with the training curves and a raster of one test image.

Examples:
    brainnets spike-time --method bats --epochs 10 --out runs/spike_time/bats
    brainnets spike-time --method sfdfa --epochs 8 --out runs/spike_time/sfdfa
    brainnets spike-time --method fdfa --dense --epochs 20 --out runs/spike_time/fdfa_dense
    brainnets spike-time --method bats --dataset fashion_mnist --out runs/spike_time/bats_fmnist
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..checkpoint import add_run_folder_arguments, check_run_folder, hold_folder, write_json_atomic
from ..datasets import NAMED_DATASETS, load_images
from ..devices import DEVICES
from ..provenance import command_line_of, options_given, provenance

ALL_METHODS = ("bats", "fast_deep", "sfdfa", "dfa", "bp", "fdfa", "fg_w", "fg_a")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=ALL_METHODS, required=True)
    parser.add_argument("--dense", action="store_true",
                        help="a non-spiking ReLU network (ch. 4); implied by bp, fdfa, fg_w and fg_a")
    parser.add_argument("--dataset", choices=NAMED_DATASETS, default="mnist",
                        help="fashion_mnist needs Debian's dataset-fashion-mnist package, or --data")
    parser.add_argument("--arch", default=None,
                        help="hidden and output sizes, e.g. 800-10 (default: the model file's)")
    parser.add_argument("--epochs", type=int, default=None, help="override the model file's epochs")
    parser.add_argument("--train", type=int, default=60000, help="training images (the first K)")
    parser.add_argument("--test", type=int, default=10000, help="test images")
    parser.add_argument("--validation", type=int, default=0,
                        help="hold the last N training images out of training; the epoch that scores best on them "
                             "is the one kept, tested and checked in Brian2 (default: none, the last epoch)")
    parser.add_argument("--init", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                        help="spiking: uniform weight initialisation (default: the model file's; Fast & Deep is "
                             "evaluated with U(0, 1) and U(-1, 1) in the thesis)")
    parser.add_argument("--output-init", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                        help="spiking: uniform initialisation of the output layer alone (default: as --init)")
    parser.add_argument("--thresholds", type=float, nargs="+", metavar="THETA", default=None,
                        help="spiking: firing threshold of each layer, hidden first (default: the model file's)")
    parser.add_argument("--local-gradient", choices=("exact", "bounded"), default=None,
                        help="DFA / SFDFA: Eq. 161 or the bounded Eq. 162 (default: the model file's)")
    parser.add_argument("--brian2-images", type=int, default=1000, help="test images re-simulated in Brian2")
    parser.add_argument("--device", choices=DEVICES, default="cpp", help="device of the Brian2 re-simulation")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder of the data set (default: the shipped MNIST)")
    add_run_folder_arguments(parser)


def parse_arch(arch: str) -> list[int]:
    try:
        sizes = [int(part) for part in arch.split("-")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"--arch {arch!r}: give hidden and output sizes joined by '-', e.g. 800-10")
    return sizes


def new_training(args, n_inputs: int, n_classes: int):
    """The training the options describe, and its record: model file, section and architecture."""
    from ..spike_time import experiment
    dense = args.dense or args.method not in experiment.SPIKING_METHODS
    if dense:
        from ..config import read_toml
        config = read_toml("bacho2024_fdfa")
        hidden = parse_arch(args.arch)[:-1] if args.arch else config["network"]["hidden"]
        training = experiment.DenseTraining.new(args.method, [n_inputs, *hidden, n_classes], config["training"],
                                                config["fdfa"]["alpha"], config["network"]["activation"], args.seed)
        return training, {"model_file": "bacho2024_fdfa", "sizes": [*hidden, n_classes], "dense": True,
                          "epochs": config["training"]["epochs"]}
    section, config = experiment.spiking_section(args.method, args.dataset)
    if args.arch:
        sizes = parse_arch(args.arch)
        if len(sizes) != len(section["hidden"]) + 1:
            raise ValueError(f"--arch {args.arch}: the model has {len(section['hidden'])} hidden layer(s)")
        section = {**section, "hidden": sizes[:-1]}
    if args.local_gradient:
        section = {**section, "local_gradient": args.local_gradient}
    if args.init:
        section = {**section, "init": list(args.init)}
    if args.output_init:
        section = {**section, "output_init": list(args.output_init)}
    if args.thresholds:
        if len(args.thresholds) != len(section["hidden"]) + 1 or min(args.thresholds) <= 0:
            raise ValueError(f"--thresholds {' '.join(map(str, args.thresholds))}: give one positive threshold per "
                             f"layer ({len(section['hidden']) + 1} for this network)")
        section = {**section, "thresholds": list(args.thresholds)}
    training = experiment.SpikingTraining.new(args.method, section, config["encoding"], n_inputs, n_classes,
                                              args.seed)
    return training, {"model_file": "bacho2024_bats", "section": f"{args.dataset}_{args.method}",
                      "sizes": [*section["hidden"], n_classes], "dense": False, "epochs": section["epochs"],
                      "constants": section}


def run(args: argparse.Namespace) -> int:
    import torch

    from ..spike_time import experiment

    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    check_run_folder(out, args.resume, checkpoint)
    origin = provenance()  # the code this run (or its resumption) starts with
    if args.threads:
        from ..spike_time.kernel import set_threads
        set_threads(args.threads)
    train_set = load_images(args.dataset, "train", args.data)[:args.train]
    if not 0 <= args.validation < len(train_set.labels):
        raise ValueError(f"--validation {args.validation}: give 0 (none) up to {len(train_set.labels) - 1} images")
    validation_set = train_set[len(train_set.labels) - args.validation:] if args.validation else None
    train_set = train_set[:len(train_set.labels) - args.validation]
    test_set = load_images(args.dataset, "test", args.data)[:args.test]
    n_inputs, n_classes = int(np.prod(train_set.images.shape[1:])), int(train_set.labels.max()) + 1
    training, record = new_training(args, n_inputs, n_classes)
    out.mkdir(parents=True, exist_ok=True)  # only once every option has been checked: bad input leaves no folder
    hold_folder(out)
    epochs = args.epochs or record["epochs"]
    progress = experiment.load_checkpoint(checkpoint, training) if args.resume else None
    progress = experiment.train(training, train_set, test_set, epochs, checkpoint, progress, not args.quiet,
                                on_epoch=None if args.quiet else report_epoch, validation_set=validation_set)
    experiment.keep_selected(training, progress)

    arch = "-".join(map(str, record["sizes"]))
    metrics = {"method": args.method, "dataset": args.dataset, "arch": arch, "dense": record["dense"],
               "init": record.get("constants", {}).get("init"),
               "output_init": record.get("constants", {}).get("output_init"),
               "thresholds": record.get("constants", {}).get("thresholds"),
               "epochs": progress.epochs, "thesis_epochs": record["epochs"],
               "test_accuracy": progress.selected["test_accuracy"], "selected_epoch": progress.selected["epoch"],
               "last_epoch_test_accuracy": progress.history[-1]["test_accuracy"], "n_validation": args.validation,
               "thesis_accuracy": experiment.thesis_accuracy(args.method, args.dataset, record["dense"],
                                                             len(record["sizes"])),
               "train_seconds": progress.train_seconds,
               "images_per_second": progress.epochs * len(train_set.labels) / progress.train_seconds,
               "n_train": len(train_set.labels), "n_test": len(test_set.labels), "torch_threads": torch.get_num_threads(),
               "history": progress.history, "model_file": record["model_file"], **origin,
               "command": command_line_of(["spike-time"], options_given(args, add_arguments))}
    if not record["dense"]:
        metrics.update(spiking_checks(training, test_set, args, out))
    plot_curves(progress.history, metrics["thesis_accuracy"], out / "training.png",
                title=f"{args.method} {arch} on {args.dataset}")
    write_json_atomic(out / "metrics.json", metrics)
    checkpoint.unlink(missing_ok=True)
    for key in ("test_accuracy", "thesis_accuracy", "images_per_second", "brian2_count_mismatches",
                "brian2_max_abs_dt_rel", "active_hidden_fraction"):
        if key in metrics:
            print(f"{key:>24}: {metrics[key]}")
    return 0


def report_epoch(record: dict) -> None:
    from tqdm import tqdm
    tqdm.write(f"epoch {record['epoch']}: test accuracy {record['test_accuracy']:.4f}, "
               f"loss {record['loss']:.3f}, {record['train_seconds']:.0f} s")


def spiking_checks(training, test_set, args, out: Path) -> dict:
    """Sparsity of the hidden layers on the test set, the network saved, and the Brian2 re-simulation."""
    import torch

    net = training.reference_net()
    x, _ = training.inputs(test_set.images, test_set.labels, torch.float64)
    active = []
    for batch in torch.arange(len(x)).split(200):
        runs = net.simulate(x[batch])
        active.append(torch.cat([(run.counts > 0).flatten(1) for run in runs[:-1]], 1).double().mean(1))
    active = torch.cat(active)
    torch.save({"weights": [w.detach() for w in net.weights], "section": training.section}, out / "network.pt")
    n_b = min(args.brian2_images, len(x))
    checked = {"brian2_images": 0, "brian2_count_mismatches": None, "brian2_max_abs_dt_rel": None}
    if n_b:
        from ..spike_time import bridge
        checked = bridge.compare(net, x[:n_b], device=args.device, directory=out / "brian2")
    plot_raster(net, x[0], int(test_set.labels[0]), out / "raster.png")
    return {"active_hidden_fraction": float(active.mean()), "active_hidden_fraction_std": float(active.std()),
            **checked}


def plot_curves(history: list[dict], thesis: float | None, path: Path, title: str) -> None:
    from ..plotting import plot_lines
    epochs = [r["epoch"] for r in history]
    series = {"test": (epochs, [100 * r["test_accuracy"] for r in history])}
    if "accuracy" in history[0]:
        series["training batches"] = (epochs, [100 * r["accuracy"] for r in history])
    if thesis is not None:
        series[f"thesis ({100 * thesis:.2f} %)"] = (epochs, [100 * thesis] * len(epochs))
    plot_lines(series, path, "epoch", "accuracy (%)", title=title)


def plot_raster(net, in_times, label: int, path: Path) -> None:
    from ..plotting import plot_spike_layers
    runs = net.simulate(in_times[None])
    layers = [("input", in_times.numpy())] + [(f"layer {l + 1}", run.times[0].numpy()) for l, run in enumerate(runs)]
    plot_spike_layers(layers, path, title=f"spikes of test image 0 (label {label})")
