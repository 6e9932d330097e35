"""Weight porting: a ReLU MLP trained on MNIST, copied into an MP network without retraining (Kotak, sec. 3.2).

The thesis trains 784-1024-512-256-128-10 (about 1.5M parameters), copies the weights into an MP network,
and plots accuracy against ``gamma`` (Fig. 3.6) and the Pearson correlation between the two networks'
hidden activations (Figs 3.8, 3.9). Here the MLP is smaller, 784-128-64-10 by default (Kotak notes sec. 11.3
item 4: every setting of the sweep runs every evaluation image through sorts of ``2 x 785``-vectors per
first-layer neuron, which on two CPU cores bounds the widths), trained as
:func:`brainnets.gradient.relu_nets.train_relu` trains (Adam, cross-entropy, pixels / 255), once per dropout
rate of the settings (dropout on the input of every linear layer; 0 is the plain MLP).

The data: the MLPs train on the first ``n_train`` training images; the ``n_validation`` training images
after them are held out to choose among the settings (never the test set); the rescale (below) is fitted on
the first ``n_calibration`` training images; accuracies are reported on the first ``n_test`` test images.

The settings swept for each MLP, every layer at the same value:

* ``'gamma'``: the literal port, one absolute ``gamma`` (Fig. 3.6);
* ``'rho'``: one relative ``rho = gamma / s`` (:mod:`~brainnets.mp.layers`);
* ``'gamma+rescale'``, ``'rho+rescale'``: the same with each layer's least-squares rescale
  (:func:`~brainnets.mp.layers.calibrate`; Kotak notes sec. 11.1 item 3), since MP reproduces ``w^T x`` only
  up to a factor that differs between layers.

The chosen port is the one of highest validation accuracy over every MLP, family and value (ties: the
first in that order); its test accuracy is reported beside its own MLP's and beside the best literal port
of the plain MLP. Everything but the literal port of the plain MLP is a deviation from the thesis: relative
``gamma`` and the rescale change the MP network, dropout changes only how the MLP was trained (it makes
the MLP tolerate the perturbation MP adds to every pre-activation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..datasets import load_mnist
from ..gradient.relu_nets import MNIST_PIXELS, accuracy_torch, train_relu
from .layers import Gamma, MPNetwork, calibrate, port

FAMILIES = ("gamma", "rho", "gamma+rescale", "rho+rescale")


@dataclass(frozen=True)
class PortingSettings:
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    n_train: int
    n_validation: int
    n_calibration: int
    n_test: int
    gammas: tuple[float, ...]
    rhos: tuple[float, ...]
    dropouts: tuple[float, ...] = (0.0,)
    form: str = "zpm"
    chunk: int = 50


def mlp(hidden: tuple[int, ...], dropout: float = 0.0) -> nn.Sequential:
    """784-``hidden``-10 with ReLU between the linear layers, and dropout on the input of each (if > 0)."""
    sizes = (MNIST_PIXELS, *hidden, 10)
    layers: list[nn.Module] = [nn.Flatten()]
    for n, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if n < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 images as flat float32 pixels / 255: what the MLP was trained on."""
    return torch.from_numpy(np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255)


def families(gammas, rhos) -> dict[str, list[Gamma]]:
    """The swept values of the families without rescale (the rescaled ones calibrate these)."""
    return {"gamma": [Gamma(float(g)) for g in gammas], "rho": [Gamma(float(r), relative=True) for r in rhos]}


@torch.no_grad()
def accuracies(network: MPNetwork, images: np.ndarray, labels: np.ndarray, settings_list: list[list[Gamma]],
               chunk: int, progress: bool = True, desc: str = "MP accuracy") -> np.ndarray:
    """The fraction of ``images`` the MP network labels correctly, per entry of ``settings_list``."""
    correct = np.zeros(len(settings_list))
    labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    for start in tqdm(range(0, len(images), chunk), desc=desc, disable=not progress, leave=False):
        x, y = pixels(images[start:start + chunk]), labels[start:start + chunk]
        for n, outputs in enumerate(network.sweep(x, settings_list)):
            correct[n] += int((outputs[-1].argmax(1) == y).sum())
    return correct / len(images)


@torch.no_grad()
def activation_correlations(model: nn.Sequential, network: MPNetwork, x: torch.Tensor,
                            settings: list[Gamma]) -> list[dict]:
    """Per hidden layer, Pearson correlations between the MLP's and the MP network's activations (after
    ReLU) on ``x``: of the per-neuron means over the samples (Fig. 3.8), and of each neuron over the samples
    (Fig. 3.9; neurons silent in either network are left out), with all activations pooled beside them."""
    mlp_hidden = _mlp_activations(model.eval(), x)[:-1]
    mp_hidden = network.activations(x, settings)[:-1]
    rows = []
    for n, (a, b) in enumerate(zip(mlp_hidden, mp_hidden), start=1):
        a, b = a.double().numpy(), b.double().numpy()
        alive = (a.std(0) > 0) & (b.std(0) > 0)
        per_neuron = np.array([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in np.flatnonzero(alive)])
        rows.append({"layer": n, "neurons": a.shape[1], "mean_activation_r": _pearson(a.mean(0), b.mean(0)),
                     "pooled_r": _pearson(a.ravel(), b.ravel()), "neuron_r": per_neuron.tolist(),
                     "neuron_r_median": float(np.median(per_neuron)) if len(per_neuron) else float("nan"),
                     "silent_neurons": int((~alive).sum())})
    return rows


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _mlp_activations(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every linear layer, after its ReLU where one follows."""
    outputs = []
    for module in model:
        x = module(x)
        if isinstance(module, nn.ReLU):
            outputs[-1] = x
        elif isinstance(module, nn.Linear):
            outputs.append(x)
    return outputs


def run_porting(settings: PortingSettings, *, seed: int, progress: bool = True) -> dict:
    """Train each MLP (one per dropout rate), port, sweep, choose on the validation images, test: the numbers
    of the Fig. 3.6 analogue and the activation correlations of the chosen network (its MLP and MP network
    under the keys ``model`` and ``network``)."""
    train = load_mnist("train")
    data = {"fit": train[:settings.n_train],
            "validation": train[settings.n_train:settings.n_train + settings.n_validation],
            "test": load_mnist("test")[:settings.n_test]}
    calibration = pixels(train.images[:settings.n_calibration])
    ports = [_port_one(settings, dropout, data, calibration, seed, progress) for dropout in settings.dropouts]
    rows = [row for one in ports for row in one["rows"]]
    best = {f"dropout={one['dropout']:g} {name}": _best([r for r in one["rows"] if r["family"] == name])
            for one in ports for name in FAMILIES}
    chosen = _best(list(best.values()))
    mine = next(one for one in ports if one["dropout"] == chosen["dropout"])
    literal = best[f"dropout={settings.dropouts[0]:g} gamma"]
    chosen_settings = mine["settings"][mine["rows"].index(chosen)]
    return {
        "architecture": [MNIST_PIXELS, *settings.hidden, 10], "form": settings.form,
        "mlps": [{key: one[key] for key in ("dropout", "mlp_validation_accuracy", "mlp_test_accuracy")}
                 for one in ports],
        "rows": rows, "best_per_family": best, "literal": literal, "chosen": chosen,
        "chosen_by": "best validation accuracy of the MP network over every MLP (dropout), family and value; "
                     "validation: training images held out from the MLPs' training; the test images only report",
        "chosen_mlp_test_accuracy": mine["mlp_test_accuracy"],
        "chosen_gap_to_mlp_points": 100 * (mine["mlp_test_accuracy"] - chosen["test_accuracy"]),
        "literal_gap_to_mlp_points": 100 * (ports[0]["mlp_test_accuracy"] - literal["test_accuracy"]),
        "correlations": activation_correlations(mine["model"], mine["network"], pixels(data["test"].images),
                                                chosen_settings),
        "n": {"train": len(data["fit"]), "validation": len(data["validation"]), "calibration": len(calibration),
              "test": len(data["test"])},
        "model": mine["model"], "network": mine["network"], "chosen_settings": chosen_settings,
    }


def _port_one(settings: PortingSettings, dropout: float, data: dict, calibration: torch.Tensor, seed: int,
              progress: bool) -> dict:
    """One MLP trained, ported and swept: its rows (every family and value) and the settings behind them."""
    torch.manual_seed(seed)
    model = mlp(settings.hidden, dropout)
    fit = data["fit"]
    train_relu(model, fit.images, fit.labels, epochs=settings.epochs, batch_size=settings.batch_size,
               lr=settings.lr, seed=seed, progress=progress)
    network = port(model, Gamma(1.0), form=settings.form)
    swept = families(settings.gammas, settings.rhos)
    n_layers = len(network.layers)
    grid = {name: [[g] * n_layers for g in values] for name, values in swept.items()}
    for name in swept:
        grid[f"{name}+rescale"] = calibrate(network, calibration, grid[name])
    flat = [(name, settings_) for name in FAMILIES for settings_ in grid[name]]
    every = [s for _, s in flat]
    accuracy = {split: accuracies(network, data[split].images, data[split].labels, every, settings.chunk,
                                  progress, f"{split}, dropout {dropout:g}") for split in ("validation", "test")}
    rows = [{"dropout": dropout, "family": name, "value": s[0].value, "rescale": [g.rescale for g in s],
             "validation_accuracy": float(v), "test_accuracy": float(t)}
            for (name, s), v, t in zip(flat, accuracy["validation"], accuracy["test"])]
    return {"dropout": dropout, "rows": rows, "settings": every, "model": model, "network": network,
            "mlp_validation_accuracy": accuracy_torch(model, data["validation"].images, data["validation"].labels),
            "mlp_test_accuracy": accuracy_torch(model, data["test"].images, data["test"].labels)}


def _best(rows: list[dict]) -> dict:
    """The row of highest validation accuracy; the first of equals."""
    return max(rows, key=lambda row: (row["validation_accuracy"], -rows.index(row)))
