"""Feedforward time-stepped networks built from an architecture string (Jiang & Zhang, Table 1; Rathi's VGGs).

The string names the layers in order, joined by ``-``:

* ``64C3``: a convolution to 64 channels with a 3x3 kernel, stride 1, padding 1 (the size is kept);
* ``AP2``: average pooling over 2x2 windows, stride 2 (sizes are floored: 7 becomes 3);
* ``512`` or ``512FC``: a fully connected layer of 512 neurons (the first one flattens its input).

Every convolution and fully connected layer but the last is followed by a spiking layer; the last one feeds the
integrating output (:class:`~brainnets.timestep.neuron.Integrator`), whose final potential is the logits. So
``64C3-AP2-128C3-AP2-128C3-AP2-512-10`` is Jiang's MNIST and Fashion-MNIST net (jiang.md Sec 5) and
``64C3-AP2-128C3-128C3-AP2-4096-4096-10`` the VGG5 of Rathi's code.

Pooling averages the spikes and does not spike again (Rathi's Algorithm 3: ``O_l = AvgPool(O_{l-1})``).
Dropout, when asked for, follows every hidden spiking layer, and its mask is drawn once per forward pass
(one mini-batch) and kept for all T steps (Algorithm 2). Layers have no bias unless asked (Rathi Sec 4.3: the
bias would shift the balanced thresholds).

The spiking layers come from a factory, ``neuron(index)``, so the same structure is an STDB, DIET-SNN or Jiang
network; with ``torch.nn.ReLU`` as the factory and T = 1 it is the ANN that conversion copies its weights from
(the state dicts then match).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .neuron import Integrator

_TOKEN = re.compile(r"^(?:(\d+)C(\d+)|AP(\d+)|(\d+)(?:FC)?)$")


@dataclass(frozen=True)
class LayerSpec:
    """One token of an architecture string: ``kind`` "conv", "pool" or "fc", and its sizes."""

    kind: str
    size: int
    kernel: int = 0


def parse_architecture(arch: str) -> list[LayerSpec]:
    """``"64C3-AP2-512-10"`` -> its layers; the last must be fully connected (the output)."""
    specs = []
    for token in arch.replace(" ", "").split("-"):
        match = _TOKEN.match(token)
        if not match:
            raise ValueError(f"architecture {arch!r}: cannot read {token!r} (expected e.g. 64C3, AP2, 512 or 512FC)")
        channels, kernel, pool, features = match.groups()
        if channels is not None:
            if int(kernel) % 2 == 0:
                raise ValueError(f"architecture {arch!r}: {token!r} needs an odd kernel to keep the size")
            specs.append(LayerSpec("conv", int(channels), int(kernel)))
        elif pool is not None:
            specs.append(LayerSpec("pool", int(pool), int(pool)))
        else:
            specs.append(LayerSpec("fc", int(features)))
    if specs[-1].kind != "fc":
        raise ValueError(f"architecture {arch!r}: the last layer must be fully connected (the output layer)")
    first_fc = next(i for i, spec in enumerate(specs) if spec.kind == "fc")
    if any(spec.kind != "fc" for spec in specs[first_fc:]):
        raise ValueError(f"architecture {arch!r}: convolutions and pooling must come before the fully connected layers")
    return specs


class FixedDropout(nn.Module):
    """Dropout whose mask is drawn once per call and shared by all T steps of the ``(T, batch, ...)`` input."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.full_like(x[0], 1 - self.p)
        return x * (torch.bernoulli(keep) / (1 - self.p))


class TimestepNet(nn.Module):
    """The network of ``arch`` on inputs of ``input_shape`` (C, H, W) or (features,), unrolled over the T steps
    of its input ``(T, batch, *input_shape)`` (coded by :mod:`brainnets.timestep.encoding`).

    After each forward pass ``layer_spikes`` holds, per spiking layer, each sample's spike count over all its
    neurons and steps (detached), and ``layer_neurons`` the layers' sizes: the spike rates of Rathi's Eq. 5.21."""

    def __init__(self, arch: str, input_shape: tuple[int, ...], neuron: Callable[[int], nn.Module],
                 dropout: float = 0.0, bias: bool = False, output_leak: float = 1.0):
        super().__init__()
        self.arch, self.input_shape = arch, tuple(input_shape)
        specs = parse_architecture(arch)
        shape = self.input_shape
        self.synapses, self.layers, self.layer_neurons = nn.ModuleList(), nn.ModuleList(), []
        # self.layers[i] follows self.synapses[i]; after a pooling step it is the identity (pooled spikes do not spike)
        n_spiking = 0
        for position, spec in enumerate(specs):
            last = position == len(specs) - 1
            if spec.kind == "conv":
                if len(shape) != 3:
                    raise ValueError(f"architecture {arch!r}: a convolution needs (C, H, W) input, not {shape}")
                self.synapses.append(nn.Conv2d(shape[0], spec.size, spec.kernel, padding=spec.kernel // 2, bias=bias))
                shape = (spec.size, *shape[1:])
            elif spec.kind == "pool":
                if len(shape) != 3 or min(shape[1:]) < spec.size:
                    raise ValueError(f"architecture {arch!r}: cannot pool {shape} by {spec.size}")
                self.synapses.append(nn.AvgPool2d(spec.size))
                shape = (shape[0], shape[1] // spec.size, shape[2] // spec.size)
                self.layers.append(nn.Identity())
                continue
            else:
                self.synapses.append(nn.Sequential(nn.Flatten(), nn.Linear(_count(shape), spec.size, bias=bias)))
                shape = (spec.size,)
            if last:
                self.layers.append(Integrator(output_leak))
            else:
                spiking = [neuron(n_spiking)]
                if dropout > 0:
                    spiking.append(FixedDropout(dropout))
                self.layers.append(nn.Sequential(*spiking))
                self.layer_neurons.append(_count(shape))
                n_spiking += 1
        self.n_classes = shape[0]
        self.layer_spikes: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The output potentials ``(T, batch, classes)``; ``[-1]`` are the logits ``u^T``."""
        if tuple(x.shape[2:]) != self.input_shape:
            want = ", ".join(map(str, self.input_shape))
            raise ValueError(f"expected input (T, batch, {want}), got {tuple(x.shape)}")
        self.layer_spikes = []
        for synapse, layer in zip(self.synapses, self.layers):
            steps, batch = x.shape[:2]
            x = synapse(x.reshape(steps * batch, *x.shape[2:]))
            x = x.reshape(steps, batch, *x.shape[1:])
            if isinstance(layer, nn.Sequential):
                x = layer[0](x)
                self.layer_spikes.append(x.detach().reshape(steps, batch, -1).ne(0).sum((0, 2)))
                x = layer[1:](x)
            else:
                x = layer(x)
        return x


def _count(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total
