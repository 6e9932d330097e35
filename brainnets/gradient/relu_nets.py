"""ReLU networks trained by gradient descent in PyTorch, and their export to :mod:`brainnets.ttfs.relu`.

Training follows Stanojevic (PhD thesis, 2023), ch. 2, Sec. 2.4.6: Adam, an exponential learning-rate
schedule, cross-entropy and dropout; the thesis' repository uses the rate ``5e-4 * 0.9 ** (step / 5000)``
per optimizer step and dropout 0.08. :func:`to_relu_network` turns a trained ``nn.Sequential`` into the
float64 :class:`~brainnets.ttfs.relu.ReLUNetwork` where the exact ReLU -> TTFS mapping starts.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..checkpoint import write_bytes_atomic
from ..ttfs.layers import Connection, Conv, Dense, MaxPool, n_neurons
from ..ttfs.relu import BatchNorm, HiddenLayer, ReLUNetwork

MNIST_PIXELS = 28 * 28


def fc2(hidden: int = 600, dropout: float = 0.08) -> nn.Sequential:
    """The fully connected 784-``hidden``-10 network, with dropout on the input and on the hidden layer."""
    return nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(MNIST_PIXELS, hidden), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(hidden, 10))


def lenet5(dropout: float = 0.08) -> nn.Sequential:
    """LeNet5 for ``(batch, 1, 28, 28)`` images, with batch normalization before every hidden ReLU.

    The hidden layers hold 6x14x14, 16x5x5, 120 and 84 neurons (after pooling); dropout acts on the inputs
    of the two fully connected layers.
    """
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.BatchNorm2d(120), nn.ReLU(),
        nn.Flatten(), nn.Dropout(dropout),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(84, 10))


# ---- export ------------------------------------------------------------------------------------------

def to_relu_network(model: nn.Sequential, name: str = "", *,
                    image_size: tuple[int, int] = (28, 28)) -> ReLUNetwork:
    """The float64 :class:`ReLUNetwork` that computes what ``model`` computes in eval mode.

    ``model`` is a sequence of blocks ``Linear|Conv2d [BatchNorm] ReLU [MaxPool2d]`` closed by a ``Linear``
    readout. ``Dropout``, ``Identity`` and ``Flatten`` are skipped: a ``Linear`` after a convolution reads
    its output flattened as ``(C, H, W)``. ``image_size`` is the height and width of the input when the
    first layer is a convolution. Any other layer or order raises a ValueError naming the layer.
    """
    blocks: list[_Block] = []
    for index, module in enumerate(model):
        label = f"layer {index} ({module!r})"
        if isinstance(module, (nn.Dropout, nn.Identity)):
            continue
        if isinstance(module, nn.Flatten):
            _check_flatten(module, label)
        elif isinstance(module, (nn.Linear, nn.Conv2d)):
            if blocks and not blocks[-1].relu:
                raise ValueError(f"{label}: follows a Linear or Conv2d layer without a ReLU between them")
            in_shape = blocks[-1].out_shape if blocks else _first_input_shape(module, image_size)
            blocks.append(_Block(_connection(module, in_shape, label), _bias(module)))
        elif not blocks:
            raise ValueError(f"{label}: the network must start with a Linear or Conv2d layer")
        else:
            blocks[-1].add(module, label)
    if not blocks or not blocks[-1].is_readout():
        raise ValueError("the network must end in a Linear readout, without batch normalization, ReLU or pooling")
    *hidden, readout = blocks
    return ReLUNetwork(input_shape=blocks[0].connection.in_shape, hidden=[block.hidden_layer() for block in hidden],
                       readout=readout.connection, readout_bias=readout.bias, name=name)


@dataclass
class _Block:
    """One Linear or Conv2d layer and the layers that follow it, collected while the model is read."""

    connection: Connection
    bias: np.ndarray
    batch_norm: BatchNorm | None = None
    relu: bool = False
    pool: MaxPool | None = None

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.pool.out_shape if self.pool else self.connection.out_shape

    def add(self, module: nn.Module, label: str) -> None:
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if self.batch_norm is not None or self.relu:
                raise ValueError(f"{label}: batch normalization must come directly after a Linear or Conv2d layer")
            self.batch_norm = _batch_norm(module, label)
        elif isinstance(module, nn.ReLU):
            self.relu = True  # a repeated ReLU, even after pooling, changes nothing
        elif isinstance(module, nn.MaxPool2d):
            if not self.relu or self.pool is not None or not isinstance(self.connection, Conv):
                raise ValueError(f"{label}: max pooling must follow the ReLU of a convolution, once")
            self.pool = _max_pool(module, self.connection.out_shape, label)
        else:
            raise ValueError(f"{label}: unsupported layer")

    def is_readout(self) -> bool:
        return isinstance(self.connection, Dense) and self.batch_norm is None and not self.relu

    def hidden_layer(self) -> HiddenLayer:
        return HiddenLayer(self.connection, self.bias, self.batch_norm, self.pool)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64)  # astype copies: later training leaves it alone


def _square(value: int | tuple[int, int] | str, label: str) -> int:
    """The one size of a square kernel, stride, padding or dilation."""
    if isinstance(value, str):
        raise ValueError(f"{label}: sizes given as {value!r} are not supported, give numbers")
    sizes = value if isinstance(value, tuple) else (value, value)
    if len(set(sizes)) != 1:
        raise ValueError(f"{label}: only square sizes are supported, got {value}")
    return sizes[0]


def _check_flatten(module: nn.Flatten, label: str) -> None:
    if (module.start_dim, module.end_dim) != (1, -1):
        raise ValueError(f"{label}: only flattening all but the batch dimension is supported")


def _first_input_shape(module: nn.Linear | nn.Conv2d, image_size: tuple[int, int]) -> tuple[int, ...]:
    if isinstance(module, nn.Linear):
        return (module.in_features,)
    return (module.in_channels, *image_size)


def _connection(module: nn.Linear | nn.Conv2d, in_shape: tuple[int, ...], label: str) -> Connection:
    if isinstance(module, nn.Linear):
        if module.in_features != n_neurons(in_shape):
            raise ValueError(f"{label}: takes {module.in_features} inputs, the layer before gives {in_shape}")
        return Dense(_numpy(module.weight))
    if len(in_shape) != 3:
        raise ValueError(f"{label}: a convolution needs an image, the layer before gives {in_shape}")
    _square(module.kernel_size, label)
    if (_square(module.stride, label), _square(module.dilation, label), module.groups) != (1, 1, 1) \
            or module.padding_mode != "zeros":
        raise ValueError(f"{label}: only convolutions with stride 1, no dilation, one group and zero padding "
                         "are supported")
    return Conv(_numpy(module.weight), in_shape, _square(module.padding, label))


def _bias(module: nn.Linear | nn.Conv2d) -> np.ndarray:
    return np.zeros(module.weight.shape[0]) if module.bias is None else _numpy(module.bias)


def _batch_norm(module: nn.BatchNorm1d | nn.BatchNorm2d, label: str) -> BatchNorm:
    if module.running_mean is None:
        raise ValueError(f"{label}: batch normalization without running statistics cannot be exported")
    if module.affine:
        gamma, beta = _numpy(module.weight), _numpy(module.bias)
    else:
        gamma, beta = np.ones(module.num_features), np.zeros(module.num_features)
    return BatchNorm(_numpy(module.running_mean), _numpy(module.running_var), gamma, beta, module.eps)


def _max_pool(module: nn.MaxPool2d, in_shape: tuple[int, int, int], label: str) -> MaxPool:
    size = _square(module.kernel_size, label)
    if (_square(module.stride, label), _square(module.padding, label), _square(module.dilation, label)) \
            != (size, 0, 1) or module.ceil_mode:
        raise ValueError(f"{label}: only non-overlapping max pooling (stride = kernel size, no padding, "
                         "no dilation, floor mode) is supported")
    return MaxPool(in_shape, size)


# ---- training ----------------------------------------------------------------------------------------

def train_relu(model: nn.Module, images: np.ndarray, labels: np.ndarray, *, epochs: int, batch_size: int,
               lr: float, lr_decay: float = 0.9, decay_steps: float = 5000, seed: int,
               checkpoint: Path | None = None, progress: bool = True,
               threads: int | None = None) -> dict[str, list[float]]:
    """Train ``model`` on uint8 ``images`` (pixels / 255) and their ``labels``; return ``{"loss": [...]}``,
    the mean training loss of each epoch.

    Adam minimizes the cross-entropy with the rate ``lr * lr_decay ** (step / decay_steps)`` at optimizer
    step ``step`` (thesis Sec. 2.4.6; its repository: ``lr=5e-4``, ``lr_decay=0.9``, ``decay_steps=5000``).
    The order of the images is drawn anew each epoch. ``seed`` fixes the order and the dropout masks; the
    caller's global torch random state is left as it was. With ``checkpoint``, the whole training state is
    written there atomically after every epoch, and a run finding the file resumes after its last epoch
    exactly as if it had not stopped. ``threads`` sets ``torch.set_num_threads``. The model is left in eval
    mode.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    x, y = _inputs(model, images), torch.from_numpy(np.array(labels, dtype=np.int64))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    settings = {"n_images": len(x), "batch_size": int(batch_size), "lr": float(lr),
                "lr_decay": float(lr_decay), "decay_steps": float(decay_steps), "seed": int(seed)}
    # two independent streams: the order of the images and the dropout masks (torch's global generator)
    order_seed, dropout_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    order_rng = torch.Generator().manual_seed(order_seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(dropout_seed)
        done = {"epoch": 0, "step": 0, "loss": []}
        if checkpoint is not None and Path(checkpoint).exists():
            done = _resume(Path(checkpoint), model, optimizer, order_rng, settings)
        model.train()
        for epoch in range(done["epoch"], epochs):
            batches = torch.randperm(len(x), generator=order_rng).split(batch_size)
            batches = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
            loss, step = _train_epoch(model, optimizer, x, y, batches, done["step"],
                                      lambda step: lr * lr_decay ** (step / decay_steps))
            done = {"epoch": epoch + 1, "step": step, "loss": done["loss"] + [loss]}
            if checkpoint is not None:
                _save(Path(checkpoint), model, optimizer, order_rng, settings, done)
    model.eval()
    return {"loss": done["loss"]}


def _inputs(model: nn.Module, images: np.ndarray) -> torch.Tensor:
    """Pixels / 255 as float32, shaped ``(n, 1, H, W)`` for a model starting with a convolution, else flat."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255)
    first = next(module for module in model.modules() if isinstance(module, (nn.Linear, nn.Conv2d)))
    return x.reshape(len(x), 1, *x.shape[-2:]) if isinstance(first, nn.Conv2d) else x.reshape(len(x), -1)


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, batches,
                 step: int, rate: Callable[[int], float]) -> tuple[float, int]:
    """One pass over ``batches`` (index tensors) from optimizer step ``step``: the mean loss and the next step."""
    total, count = 0.0, 0
    for batch in batches:
        total += gradient_step(model, optimizer, x[batch], y[batch], rate(step)) * len(batch)
        count += len(batch)
        step += 1
    return total / count, step


def gradient_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                  lr: float) -> float:
    """One optimizer step on the cross-entropy of ``model(x)`` at learning rate ``lr``; returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def _save(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, order_rng: torch.Generator,
          settings: dict, done: dict) -> None:
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "order_rng": order_rng.get_state(),
                "dropout_rng": torch.get_rng_state(), "settings": settings, **done}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def _resume(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, order_rng: torch.Generator,
            settings: dict) -> dict:
    """Restore the state saved in ``path`` and return how far it had come (epoch, step, losses)."""
    saved = torch.load(path, weights_only=True)
    if saved["settings"] != settings:
        raise ValueError(f"{path}: the checkpoint belongs to another run ({saved['settings']}; this run: {settings})")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    order_rng.set_state(saved["order_rng"])
    torch.set_rng_state(saved["dropout_rng"])
    return {"epoch": saved["epoch"], "step": saved["step"], "loss": saved["loss"]}


def accuracy_torch(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch: int = 1000) -> float:
    """The fraction of uint8 ``images`` that ``model``, put in eval mode, labels correctly."""
    model.eval()
    x = _inputs(model, images)
    with torch.no_grad():
        predicted = torch.cat([model(x[k:k + batch]).argmax(dim=1) for k in range(0, len(x), batch)])
    return float((predicted.numpy() == np.asarray(labels)).mean())
