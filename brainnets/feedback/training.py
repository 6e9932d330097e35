"""Mini-batch training of a fully connected network by any of the five methods, and the MNIST comparison
(Bacho 2023, Sec 4.8-4.9, Table 14, on a CPU-sized scale).

Adam updates the forward weights from each method's estimates (Sec 4.8.3); the learning rate decays by
``lr_decay`` per epoch. FDFA's feedback follows Eq. 106 with rate ``alpha`` inside :func:`.methods.fdfa`.
Inputs are pixels scaled to [-1, 1], as the repository's ``Normalize(0.5, 0.5)`` does.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from tqdm import tqdm

from .methods import METHODS, Estimator, Net, fdfa, feedback_kind, forward, make_net, mean_loss, train_step


def estimator_for(method: str, alpha: float) -> Estimator:
    """The estimator named ``method`` (a key of :data:`.methods.METHODS`), FDFA with feedback rate ``alpha``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    return functools.partial(fdfa, alpha=alpha) if method == "FDFA" else METHODS[method]


def train_epoch(net: Net, estimator: Estimator, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                labels: torch.Tensor, batch_size: int, generator: torch.Generator, progress: bool = False) -> float:
    """One epoch in shuffled mini-batches; the mean training loss of the batches as they were seen."""
    order = torch.randperm(len(x), generator=generator)
    seen = []
    for batch in tqdm(order.split(batch_size), desc="batches", disable=not progress, leave=False):
        seen.append(mean_loss(net, x[batch], labels[batch]))
        train_step(net, estimator, x[batch], labels[batch], optimizer, generator)
    return float(np.mean(seen))


def new_training(method: str, sizes: list[int], *, lr: float, lr_decay: float = 1.0, alpha: float = 1e-4,
                 activation: str = "relu", generator: torch.Generator, dtype: torch.dtype = torch.float32):
    """``(net, estimator, optimizer, scheduler)`` of a new ``sizes`` network trained by ``method``: Adam at ``lr``,
    decayed by ``lr_decay`` per epoch (Sec 4.8.3)."""
    net = make_net(sizes, activation, feedback=feedback_kind(method), generator=generator, dtype=dtype)
    optimizer = torch.optim.Adam(net.weights, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    return net, estimator_for(method, alpha), optimizer, torch.optim.lr_scheduler.ExponentialLR(optimizer, lr_decay)


def train(method: str, sizes: list[int], x: torch.Tensor, labels: torch.Tensor, *, epochs: int = 1,
          batch_size: int = 64, lr: float = 1e-3, lr_decay: float = 1.0, alpha: float = 1e-4,
          activation: str = "relu", seed: int = 0) -> tuple[Net, list[float]]:
    """Train a new ``sizes`` network on ``(x, labels)`` by ``method``; return it and the mean training loss of
    each epoch (of the mini-batches as they were seen)."""
    generator = torch.Generator().manual_seed(seed)
    net, estimator, optimizer, scheduler = new_training(method, sizes, lr=lr, lr_decay=lr_decay, alpha=alpha,
                                                        activation=activation, generator=generator, dtype=x.dtype)
    history = []
    for _ in range(epochs):
        history.append(train_epoch(net, estimator, optimizer, x, labels, batch_size, generator))
        scheduler.step()
    return net, history


def accuracy(net: Net, x: torch.Tensor, labels: torch.Tensor) -> float:
    return float((forward(net, x)[1][-1].argmax(-1) == labels).double().mean())


def mnist_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened images scaled to [-1, 1] and int64 labels."""
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32)) / 127.5 - 1
    return x, torch.from_numpy(labels.astype(np.int64))


def mnist_comparison(config: dict, methods=tuple(METHODS), data_dir=None) -> list[dict]:
    """Rows ``{method, train_loss, test_accuracy}``: each method trains 784-hidden-10 on the first
    ``train_images`` MNIST training images with the ``[network]`` and ``[mnist_quick]`` constants of
    ``bacho2024_fdfa.toml`` and is tested on the 10,000 test images."""
    from ..datasets import load_mnist

    quick, network = config["mnist_quick"], config["network"]
    train_set = load_mnist("train", data_dir)[:quick["train_images"]]
    x, labels = mnist_tensors(train_set.images, train_set.labels)
    test_set = load_mnist("test", data_dir)
    x_test, labels_test = mnist_tensors(test_set.images, test_set.labels)
    rows = []
    for method in methods:
        net, history = train(method, [x.shape[1], *network["hidden"], 10], x, labels, epochs=quick["epochs"],
                             batch_size=quick["batch_size"], lr=quick["lr"], alpha=quick["alpha"],
                             activation=network["activation"], seed=quick["seed"])
        rows.append({"method": method, "train_loss": history[-1], "test_accuracy": accuracy(net, x_test, labels_test)})
    return rows
