"""Train (or take) a network, map it exactly to single-spike neurons, and check Brian2 against the closed form.

Stanojevic (PhD thesis, EPFL 2023), ch. 2-3. ``--net fc2`` / ``lenet5``: a ReLU network trained in PyTorch,
mapped with the constant-slope mapping of ch. 2. ``--net ttfs_fc``: a linearly mappable TTFS network trained
with exact spike-time gradients beside its ReLU twin (ch. 3), exported as it is. Then, on the test images:
the closed-form spike times (all of them), the Brian2 reference simulation with the exact-time correction
(``--brian2-images``), and the naive clock-driven simulation at many time steps (``--naive-images``).

Examples:
    brainnets ttfs --net fc2 --out runs/ttfs/fc2
    brainnets ttfs --net lenet5 --brian2-images 200 --out runs/ttfs/lenet5
    brainnets ttfs --net ttfs_fc --out runs/ttfs/trained_fc
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checkpoint import check_run_folder, write_json_atomic
from ..datasets import NAMED_DATASETS, load_images
from ..devices import DEVICES
from ..plotting import plot_error_histogram, plot_error_vs_dt, plot_ttfs_raster
from ..provenance import command_line_of, options_given, provenance
from ..ttfs import exact, mapping, reference
from ..ttfs.experiment import (NETS, TTFSModel, compare, layer_rows, naive_error_study, spike_fraction,
                               timed_exact)
from ..ttfs.relu import ReLUNetwork

DEFAULT_MODEL = "stanojevic2023_ttfs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--net", choices=NETS, default="fc2")
    parser.add_argument("--dataset", choices=NAMED_DATASETS, default="mnist",
                        help="fashion_mnist needs Debian's dataset-fashion-mnist package")
    parser.add_argument("--train", type=int, default=60000, help="training images (the first K)")
    parser.add_argument("--test", type=int, default=10000, help="test images for the ReLU and closed-form runs")
    parser.add_argument("--epochs", type=int, default=None, help="override the model file's epochs")
    parser.add_argument("--brian2-images", type=int, default=1000, help="test images simulated in Brian2")
    parser.add_argument("--naive-images", type=int, default=5, help="test images for the error-versus-dt study")
    parser.add_argument("--device", choices=DEVICES, default="cpp", help="device of the Brian2 reference run")
    parser.add_argument("--naive-device", choices=DEVICES, default="runtime",
                        help="device of the naive runs (one build per dt: the runtime avoids recompiling)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None,
                        help="folder of the data set (MNIST: the folder holding mnist/; default: the shipped data)")
    parser.add_argument("--out", required=True, help="output folder; must be new unless --resume")
    parser.add_argument("--resume", action="store_true", help="continue the training checkpointed in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float64) / 255


@dataclass
class Source:
    """The network to map, how, and where it came from."""

    network: ReLUNetwork
    mapping: str                 # "alpha" (ch. 2, after rescaling) or "linear" (ch. 3, as trained)
    lengths: list[float] | None  # its windows; None: set from the training data (ch. 2)
    training: dict
    twin: object = None          # a trained TTFS network's ReLU twin (PyTorch)


def train_source(args, model: TTFSModel, train) -> Source:
    import torch

    from ..gradient import relu_nets, ttfs_training

    params = model.training[args.net]
    epochs = args.epochs or int(params.epochs)
    checkpoint = Path(args.out) / "training.pt"
    common = dict(epochs=epochs, batch_size=int(params.batch_size), lr=params.lr, lr_decay=params.lr_decay,
                  decay_steps=params.decay_steps, seed=args.seed, checkpoint=checkpoint, progress=not args.quiet)
    torch.set_num_threads(1)  # small float64 batches: more threads only contend
    if args.net == "ttfs_fc":
        snn, twin, history = ttfs_training.train_twins([784, int(params.hidden), 10], train.images, train.labels,
                                                       zeta=params.zeta, gamma=params.gamma, **common)
        lengths = [mapping.round_up(float(length), model.mapping.grid) for length in snn.lengths]
        record = {"epochs": epochs, "history": history, "trained_window_lengths": snn.lengths.tolist()}
        return Source(snn.relu_network("ttfs_fc"), "linear", lengths, record, twin)
    torch.manual_seed(args.seed)
    net = relu_nets.fc2(int(params.hidden), params.dropout) if args.net == "fc2" else relu_nets.lenet5(params.dropout)
    history = relu_nets.train_relu(net, train.images, train.labels, **common)
    return Source(relu_nets.to_relu_network(net, args.net), "alpha", None, {"epochs": epochs, **history})


def run(args: argparse.Namespace) -> int:
    import torch  # noqa: F401  (every net is trained in PyTorch: without the gradient extra, stop before any work)

    out = Path(args.out)
    check_run_folder(out, args.resume, out / "training.pt")
    model = TTFSModel.load(args.model)
    origin = provenance()
    train = load_images(args.dataset, "train", args.data)[:args.train]
    test = load_images(args.dataset, "test", args.data)[:args.test]
    x_train, x_test, labels = pixels(train.images), pixels(test.images), test.labels

    source = train_source(args, model, train)
    relu_net, lengths, m = source.network, source.lengths, model.mapping
    if lengths is None:
        pre = mapping.preprocess(relu_net, x_train[:int(m.calibration_images)], delta=m.delta, b_low=m.b_low)
        relu_net, lengths = pre.network, mapping.window_lengths(pre.max_activations, m.zeta, m.grid)
    spec = mapping.convert(relu_net, lengths, mapping=source.mapping, alpha=m.alpha,
                           info={"net": args.net, "dataset": args.dataset, "calibration_images": len(x_train),
                                 "grid": m.grid})
    spec.save(out / "spec.npz")

    relu_logits = relu_net.logits(x_test)
    relu_predictions = relu_logits.argmax(axis=1)
    truth, exact_rate = timed_exact(spec, x_test)
    n_b = min(args.brian2_images, len(x_test))
    truth_subset = truth[:n_b]
    disagreements = exact.solver_disagreements(spec, x_test[:min(n_b, 200)])
    ref = model.reference
    run = reference.simulate(spec, x_test[:n_b], ref.dt, tau_c=ref.tau_c, device=args.device, directory=out / "brian2")
    checked = compare(spec, run.times, truth_subset, labels[:n_b])
    n_naive = min(args.naive_images, len(x_test))
    naive = naive_error_study(spec, x_test[:n_naive], truth[:n_naive], ref.naive_dts(),
                              ref.tau_c, args.naive_device, out / "naive")

    metrics = {
        "net": args.net, "dataset": args.dataset, "mapping": source.mapping, "n_train": len(x_train),
        "n_test": len(x_test),
        "relu_accuracy": float(np.mean(relu_predictions == labels)),
        "snn_accuracy": float(np.mean(truth.predictions() == labels)),
        "agreement": float(np.mean(truth.predictions() == relu_predictions)),
        "max_logit_difference_exact_vs_relu": float(np.abs(truth.logits - relu_logits).max()),
        "spike_fraction": spike_fraction(spec, truth),
        "latency": spec.readout.t_read, "windows": spec.windows(),
        "solver_disagreements": {"n_images": min(n_b, 200), "per_layer": disagreements},
        "exact_images_per_second": exact_rate,
        "brian2_n_images": n_b, "brian2_device": args.device, "brian2_dt": ref.dt,
        "brian2_agreement": float(np.mean(run.times.predictions() == relu_predictions[:n_b])),
        "brian2_accuracy": checked["accuracy"],
        "max_dt_rel": checked["max_dt_rel"], "status_mismatches": checked["status_mismatches"],
        "brian2_vs_exact": checked,
        "brian2_images_per_second": n_b / run.run_seconds, "brian2_wall_seconds": run.wall_seconds,
        "naive_dt_slope": naive["slope"], "naive_study": naive,
        "training": source.training, "model_file": args.model, **origin,
        "command": command_line_of(["ttfs"], options_given(args, add_arguments)),
    }
    if source.twin is not None:
        import torch
        with torch.no_grad():
            twin_logits = source.twin(torch.from_numpy(x_test)).numpy()
        metrics["twin_relu_accuracy"] = float(np.mean(twin_logits.argmax(1) == labels))

    rows = layer_rows(spec, run.times)
    plot_ttfs_raster([(name, t_min, t_max, t[0]) for name, t_min, t_max, t in rows], out / "raster.png",
                     title=f"{args.net}: Brian2 spike times of test image 0 (label {labels[0]})")
    gaps = {name: np.abs(t - t_true) / spec.readout.t_read
            for (name, *_, t), (*_, t_true) in zip(rows, layer_rows(spec, truth_subset))}
    plot_error_histogram(gaps, out / "dt_histogram.png",
                         title=f"{args.net}: Brian2 (dt = {ref.dt:g}, corrected) vs closed form, {n_b} images")
    dts = [r["dt"] for r in naive["runs"]]
    plot_error_vs_dt(dts, {"largest": [r["max_dt_rel"] for r in naive["runs"]],
                           "RMS": [r["rms_dt_rel"] for r in naive["runs"]]}, naive["slope"], out / "error_vs_dt.png",
                     title=f"{args.net}: naive clock-driven Brian2, {n_naive} images")
    write_json_atomic(out / "metrics.json", metrics)
    keys = ("relu_accuracy", "snn_accuracy", "agreement", "brian2_agreement", "max_dt_rel", "status_mismatches",
            "naive_dt_slope", "twin_relu_accuracy")
    for key in keys:
        if key in metrics:
            print(f"{key:>20}: {metrics[key]}")
    return 0
