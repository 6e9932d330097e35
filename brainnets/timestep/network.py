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

:meth:`TimestepNet.stream` runs a trained network without gradients on an input that arrives in pieces of
steps, each layer's state carried from one piece to the next, so that a conversion at T = 2500 needs the memory
of a few steps only; its ``probe`` reads a spiking layer's input current, which threshold balancing takes its
maxima from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn

from .neuron import LIF, Integrator

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

    @property
    def spiking_layers(self) -> list[nn.Module]:
        """The spiking neuron layers, in order (the ones whose thresholds conversion sets)."""
        return [layer[0] for layer in self.layers if isinstance(layer, nn.Sequential)]

    @torch.no_grad()
    def stream(self, pieces: Iterable[torch.Tensor], probe: Callable[[int, torch.Tensor], bool] | None = None
               ) -> torch.Tensor | None:
        """Run the input ``pieces`` ``(steps, batch, *input_shape)``, consecutive stretches of one input, as one
        simulation: the same result as :meth:`forward` on their concatenation, without gradients.

        Returns the output potential after the last step ``(batch, classes)``; ``layer_spikes`` then holds the
        spike counts of all pieces together. ``probe(index, current)``, if given, sees the synaptic current
        ``(steps, batch, ...)`` of spiking layer ``index`` in every piece before that layer runs; when it returns
        ``True`` the piece goes no further (the layers after it are not needed), and the method returns ``None``.

        A neuron layer resumes through its ``memory`` hook (:class:`~brainnets.timestep.neuron.LIF`): each piece
        is run with one extra step of zero input, whose potential is then exactly the carried potential the
        next piece must start from, whatever the reset."""
        carried: dict[int, torch.Tensor] = {}
        counts: list[torch.Tensor] = []
        output = None
        for x in pieces:
            if tuple(x.shape[2:]) != self.input_shape:
                want = ", ".join(map(str, self.input_shape))
                raise ValueError(f"expected input (steps, batch, {want}), got {tuple(x.shape)}")
            spiking = 0
            stopped = False
            for position, (synapse, layer) in enumerate(zip(self.synapses, self.layers)):
                steps, batch = x.shape[:2]
                current = synapse(x.reshape(steps * batch, *x.shape[2:]))
                current = current.reshape(steps, batch, *current.shape[1:])
                if isinstance(layer, nn.Sequential):
                    if probe is not None and probe(spiking, current):
                        stopped = True
                        break
                    x = self._resume(layer[0], current, carried, position)
                    count = x.reshape(steps, batch, -1).ne(0).sum((0, 2))
                    if spiking < len(counts):
                        counts[spiking] += count
                    else:
                        counts.append(count)
                    x = layer[1:](x)
                    spiking += 1
                elif isinstance(layer, Integrator):
                    potentials = layer(current)
                    if position in carried:
                        # u^t of this piece plus the earlier potential, leaked over the steps since
                        decay = layer.leak ** torch.arange(1, steps + 1, dtype=current.dtype, device=current.device)
                        potentials = potentials + decay.reshape(-1, *[1] * (current.dim() - 1)) * carried[position]
                    carried[position] = potentials[-1]
                    x = potentials
                else:
                    x = layer(current)
            if not stopped:
                output = x[-1]
        self.layer_spikes = counts
        return output

    @staticmethod
    def _resume(neuron: nn.Module, current: torch.Tensor, carried: dict, key: int) -> torch.Tensor:
        """``neuron``'s spikes on ``current``, starting from the potential ``carried[key]`` left by the previous
        piece; stores the potential the next piece starts from. A layer without state (the ANN's ReLU) simply
        runs; a stateful layer other than :class:`~brainnets.timestep.neuron.LIF` runs one piece only."""
        before = carried.get(key)
        if not isinstance(neuron, LIF):
            if hasattr(neuron, "threshold") and key in carried:
                raise ValueError(f"{type(neuron).__name__} cannot resume from a previous piece: run it in one piece")
            carried[key] = None
            return neuron(current)

        def memory(potential: torch.Tensor, step: int) -> torch.Tensor:
            return before if step == 1 and before is not None else potential

        padded = torch.cat([current, torch.zeros_like(current[:1])])
        spikes, potentials = neuron(padded, memory=memory, return_potential=True)
        carried[key] = potentials[-1]
        return spikes[:-1]


def _count(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total
