"""Train a time-stepped spiking network by one of the seeds' methods, test it over T steps, and re-simulate it
in Brian2, spike by spike.

Methods (``--method``; constants in the model file named):

* ``conversion``: Rathi ch. 4's ANN -> SNN conversion: the bias-free ANN trained ``--ann-epochs``, its thresholds
  balanced layer by layer (Algorithm 1), the converted network run at ``--long-timesteps`` with the balanced
  thresholds and at ``--timesteps`` with them scaled (``rathi2021_stdb.toml``);
* ``stdb``: the same conversion at ``--timesteps``, then ``--epochs`` of spike-timing-dependent backpropagation
  (ch. 4, fixed thresholds, Poisson input; ``rathi2021_stdb.toml``);
* ``diet``: conversion with direct input at ``--timesteps``, then DIET-SNN training of the weights, thresholds
  and leaks (ch. 5; ``rathi2021_diet.toml``);
* ``noise``: Jiang & Zhang's stage 1, the single-step network trained with noise; each epoch scored at T = 1
  and at ``--timesteps`` with the memory restored (stage 3); at the end stage 2 and the alpha ablation
  (``jiang2024_noise.toml``);
* ``direct``: Jiang's baseline, the same network trained directly at ``--timesteps`` (default 10).

Every epoch is checkpointed (``--resume`` continues a killed run). metrics.json holds the test accuracy at
``--timesteps``, the paper's where the model file has one for the data set, spikes per image and per layer, the
compute energy against the ANN (Rathi's Eqs. 5.18-5.21), training seconds (``noise`` and ``direct``: also the
seconds until the test accuracy first reached ``--target-accuracy``, whose ratio between two such runs is the
paper's speed-up), the Brian2 re-simulation of ``--brian2-images`` test images, the history, and for ``stdb``
and ``diet`` the ANN's and the converted network's numbers beside the trained one's. Figures: accuracy against
T, spikes per layer, test accuracy per epoch.

Examples:
    brainnets timestep --method noise --dataset fashion_mnist --epochs 20 --out runs/timestep/noise_fmnist
    brainnets timestep --method direct --dataset fashion_mnist --epochs 20 --out runs/timestep/direct_fmnist
    brainnets timestep --method stdb --arch 32C3-AP2-64C3-AP2-256-10 --ann-epochs 10 --epochs 5 --out runs/timestep/stdb
    brainnets timestep --method diet --ann-epochs 10 --epochs 5 --validation 5000 --out runs/timestep/diet
    brainnets timestep --method conversion --ann-epochs 10 --long-timesteps 1000 --out runs/timestep/conversion
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import add_run_folder_arguments, check_run_folder, hold_folder, write_bytes_atomic, write_json_atomic
from ..datasets import COLOUR_DATASETS, NAMED_DATASETS
from ..provenance import command_line_of, options_given, provenance

METHOD_NAMES = ("conversion", "stdb", "diet", "noise", "direct")
BRIAN2_DEVICES = ("runtime", "cpp")
DATASETS = NAMED_DATASETS + COLOUR_DATASETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", required=True, metavar="|".join(METHOD_NAMES),
                        help="the training method (above)")
    parser.add_argument("--dataset", default="mnist", metavar="|".join(DATASETS),
                        help="fashion_mnist needs Debian's dataset-fashion-mnist package, or --data; cifar10 needs "
                             "--data, the cifar-10-batches-py folder of its python version")
    parser.add_argument("--arch", default=None,
                        help="layers joined by '-', e.g. 64C3-AP2-128C3-AP2-512-10 (default: the model file's)")
    parser.add_argument("--timesteps", type=int, default=None,
                        help="T of the spiking network (default: the model file's; direct: its direct_timesteps)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of the spiking training (default: the model file's; not for conversion)")
    parser.add_argument("--ann-epochs", type=int, default=None,
                        help="conversion, stdb, diet: epochs of the ANN (default: the model file's [ann] epochs)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate of the spiking training")
    parser.add_argument("--ann-lr", type=float, default=None, help="learning rate of the ANN")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="mini-batch size (default: the model file's; conversion, stdb, diet: the ANN's too)")
    parser.add_argument("--train", type=int, default=60000, help="training images (the first N)")
    parser.add_argument("--test", type=int, default=10000, help="test images (the first N)")
    parser.add_argument("--validation", type=int, default=0,
                        help="hold the last N training images out of training; in each phase the epoch that scores "
                             "best on them is kept (the ANN converted, the network tested and checked in Brian2); "
                             "default: none, the last epoch")
    parser.add_argument("--target-accuracy", type=float, default=None,
                        help="noise, direct: the test accuracy (a fraction) whose training seconds are reported "
                             "(default: the model file's target_accuracy of the data set)")
    parser.add_argument("--stop-at-target", action="store_true", default=None,
                        help="noise, direct: end the training after the first epoch that reaches the target accuracy "
                             "(a run that only times the training to it)")
    parser.add_argument("--threshold-scale", type=float, default=None,
                        help="conversion, stdb, diet: balanced thresholds times this at --timesteps "
                             "(default: the model file's)")
    parser.add_argument("--balance-images", type=int, default=None,
                        help="conversion, stdb, diet: training images of threshold balancing "
                             "(default: the model file's)")
    parser.add_argument("--balance-timesteps", type=int, default=None,
                        help="conversion, stdb, diet: steps of threshold balancing (default: the model file's, "
                             "else --timesteps)")
    parser.add_argument("--long-timesteps", type=int, default=None,
                        help="conversion: the long T of the unscaled conversion, 0 to skip (default: the model file's)")
    parser.add_argument("--brian2-images", type=int, default=1000,
                        help="test images re-simulated in Brian2 (0: no check)")
    parser.add_argument("--device", default=None, metavar="|".join(BRIAN2_DEVICES),
                        help="device of the Brian2 re-simulation (default: cpp; runtime for noise, whose noise the "
                             "bridge computes in Python)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of PyTorch (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder of the data set (default: the shipped MNIST)")
    add_run_folder_arguments(parser)


#: Options that only some methods use: given to another, they are refused rather than ignored.
METHOD_OPTIONS = {"ann_epochs": ("conversion", "stdb", "diet"), "ann_lr": ("conversion", "stdb", "diet"),
                  "threshold_scale": ("conversion", "stdb", "diet"), "balance_images": ("conversion", "stdb", "diet"),
                  "balance_timesteps": ("conversion", "stdb", "diet"), "long_timesteps": ("conversion",),
                  "target_accuracy": ("noise", "direct"), "stop_at_target": ("noise", "direct"),
                  "epochs": ("stdb", "diet", "noise", "direct")}


def checked_options(args: argparse.Namespace) -> str:
    """Refuse options that are wrong whatever the data; returns the Brian2 device."""
    if args.method not in METHOD_NAMES:
        raise ValueError(f"--method {args.method!r}: expected one of {', '.join(METHOD_NAMES)}")
    for name, methods in METHOD_OPTIONS.items():
        if getattr(args, name) is not None and args.method not in methods:
            hint = "; conversion trains the ANN only: give its epochs as --ann-epochs" if name == "epochs" else ""
            raise ValueError(f"--{name.replace('_', '-')} is not an option of --method {args.method} "
                             f"(only of {', '.join(methods)}){hint}")
    if args.dataset not in DATASETS:
        raise ValueError(f"--dataset {args.dataset!r}: expected one of {', '.join(DATASETS)}")
    device = args.device or ("runtime" if args.method == "noise" else "cpp")
    if device not in BRIAN2_DEVICES:
        raise ValueError(f"--device {device!r}: expected one of {', '.join(BRIAN2_DEVICES)}")
    for name in ("train", "test"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} {getattr(args, name)}: give at least 1 image")
    if args.brian2_images < 0:
        raise ValueError(f"--brian2-images {args.brian2_images}: give 0 (no check) or more")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads {args.threads}: give at least 1")
    return device


def run(args: argparse.Namespace) -> int:
    import torch

    from ..config import read_toml
    from ..timestep import experiment

    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    check_run_folder(out, args.resume, checkpoint)
    device = checked_options(args)
    origin = provenance()  # the code this run (or its resumption) starts with
    model_file = experiment.MODEL_FILES[args.method]
    document = read_toml(model_file)
    pixel_range = tuple(document["encoding"].get("pixel_range", (0.0, 1.0)))
    data = experiment.Data.load(args.dataset, args.train, args.test, args.validation, pixel_range, args.data)
    settings = experiment.resolve(
        args.method, args.dataset, document, arch=args.arch, timesteps=args.timesteps, epochs=args.epochs,
        ann_epochs=args.ann_epochs, lr=args.lr, ann_lr=args.ann_lr, batch_size=args.batch_size, seed=args.seed,
        target_accuracy=args.target_accuracy, threshold_scale=args.threshold_scale,
        balance_images=args.balance_images, balance_timesteps=args.balance_timesteps,
        long_timesteps=args.long_timesteps, stop_at_target=bool(args.stop_at_target), n_train=len(data.train_y),
        n_validation=args.validation, n_test=len(data.test_y))
    if args.threads:
        torch.set_num_threads(args.threads)
    training = experiment.Run(settings, document, data)  # builds the networks: a bad --arch stops here
    out.mkdir(parents=True, exist_ok=True)  # only once every option has been checked: bad input leaves no folder
    hold_folder(out)
    if args.resume:
        training.load(experiment.load_checkpoint(checkpoint))
    training.train(checkpoint, not args.quiet, on_epoch=None if args.quiet else report_epoch)
    result = training.finish(checkpoint)
    checked = experiment.brian2_check(training, args.brian2_images, device, out / "brian2")

    metrics = {"method": settings.method, "dataset": settings.dataset, "arch": settings.arch,
               "timesteps": settings.timesteps, "epochs": settings.epochs, "ann_epochs": settings.ann_epochs,
               **paper_numbers(settings, document), **result, **checked,
               "n_train": settings.n_train, "n_validation": settings.n_validation, "n_test": settings.n_test,
               "settings": vars_of(settings), "model_file": model_file,
               "torch_threads": torch.get_num_threads(), **origin,
               "command": command_line_of(["timestep"], options_given(args, add_arguments))}
    save_network(training, out / "network.pt")
    plot_results(metrics, out)
    write_json_atomic(out / "metrics.json", metrics)
    checkpoint.unlink(missing_ok=True)
    for key in ("test_accuracy", "paper_accuracy", "ann_accuracy", "converted_accuracy", "test_accuracy_t1",
                "spikes_per_image", "energy_ratio_vs_ann", "train_seconds", "seconds_to_accuracy",
                "brian2_images", "brian2_spike_mismatches", "brian2_not_checked"):
        if key in metrics:
            print(f"{key:>24}: {metrics[key]}")
    return 0


def vars_of(settings) -> dict:
    from dataclasses import asdict
    values = asdict(settings)
    values["pixel_range"] = list(values["pixel_range"])
    return values


def paper_numbers(settings, document: dict) -> dict:
    """The paper's accuracy (a fraction) of a run like this one where the model file has one for the data set
    (for Rathi's chapters: STDB's VGG5 on CIFAR-10); otherwise the model file's CIFAR-10 table is given as
    ``paper_reference``."""
    if settings.method == "noise":
        section = document[settings.dataset]
        numbers = {"paper_accuracy": section["paper_accuracy"] / 100}
        if "paper_seconds" in section:
            numbers["paper_seconds"] = section["paper_seconds"]
        return numbers
    if settings.method == "direct":
        section = document[settings.dataset]
        numbers = {"paper_accuracy": None, "paper_note": "Jiang & Zhang time the direct baseline, give no accuracy"}
        if "paper_direct_seconds" in section:
            numbers["paper_seconds"] = section["paper_direct_seconds"]
        return numbers
    table = "vgg5" if "vgg5" in document else "vgg6_cifar10"
    reference = document[table]
    if settings.dataset == "cifar10" and settings.method == "stdb" and settings.arch == reference["arch"]:
        return {"paper_accuracy": reference["paper_hybrid"] / 100, "paper_reference": {"table": table, **reference}}
    return {"paper_accuracy": None, "paper_reference": {"table": table, **reference},
            "paper_note": f"Rathi reports no {settings.dataset} result for this method and network; "
                          f"paper_reference is the model file's [{table}] (CIFAR-10, percent)"}


def save_network(training, path: Path) -> None:
    import io

    import torch
    buffer = io.BytesIO()
    torch.save({"snn": training.snn.state_dict(), "ann": None if training.ann is None else training.ann.state_dict(),
                "arch": training.settings.arch, "method": training.settings.method}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def report_epoch(record: dict) -> None:
    from tqdm import tqdm
    extra = f", at T = 1 {record['test_accuracy_t1']:.4f}" if "test_accuracy_t1" in record else ""
    tqdm.write(f"{record['phase']} epoch {record['epoch']}: test accuracy {record['test_accuracy']:.4f}{extra}, "
               f"loss {record['loss']:.4f}, {record['train_seconds']:.0f} s")


def plot_results(metrics: dict, out: Path) -> None:
    """accuracy_vs_timesteps.png, spikes_per_layer.png and training.png."""
    from ..plotting import plot_bars, plot_lines
    title = f"{metrics['method']} {metrics['arch']} on {metrics['dataset']}"
    percent = lambda rows: ([r["timesteps"] for r in rows], [100 * r["accuracy"] for r in rows])  # noqa: E731
    label = {"noise": f"stage 3 (alpha {metrics['settings']['alpha']})", "stdb": "after STDB",
             "diet": "after DIET-SNN", "conversion": "converted", "direct": "direct training"}[metrics["method"]]
    series = {label: percent(metrics["accuracy_vs_timesteps"])}
    if "stage2_accuracy_vs_timesteps" in metrics:
        series["stage 2 (fresh noise)"] = percent(metrics["stage2_accuracy_vs_timesteps"])
    if metrics["method"] in ("stdb", "diet"):
        series["converted"] = percent(metrics["converted_accuracy_vs_timesteps"])
    points = {}
    if metrics.get("paper_accuracy") is not None:
        points[f"paper ({100 * metrics['paper_accuracy']:.2f} %)"] = (metrics["timesteps"],
                                                                     100 * metrics["paper_accuracy"])
    if metrics.get("ann_accuracy") is not None:
        points[f"ANN ({100 * metrics['ann_accuracy']:.2f} %)"] = (1, 100 * metrics["ann_accuracy"])
    plot_lines(series, out / "accuracy_vs_timesteps.png", "time steps T", "test accuracy (%)", title=title,
               points=points)
    # rates (Eq. 5.21: a layer's spikes per neuron and image over the T steps), comparable across layer sizes
    layers = {f"layer {k + 1}": value for k, value in enumerate(metrics["layer_spike_rates"])}
    reference = None
    if metrics["method"] in ("stdb", "diet"):
        reference = {f"layer {k + 1}": value for k, value in enumerate(metrics["converted_layer_spike_rates"])}
    plot_bars(layers, out / "spikes_per_layer.png",
              f"spikes per neuron per test image over T = {metrics['timesteps']}",
              title=f"{title}: {metrics['spikes_per_image']:.0f} spikes per image", reference=reference,
              legend=("trained", "converted"))
    curves = {}
    for phase, name in (("ann", "ANN"), ("snn", "spiking, at T = %d" % metrics["timesteps"])):
        records = [r for r in metrics["history"] if r["phase"] == phase]
        if records:
            curves[name] = ([r["epoch"] for r in records], [100 * r["test_accuracy"] for r in records])
    if curves:
        plot_lines(curves, out / "training.png", "epoch", "test accuracy (%)", title=title)
