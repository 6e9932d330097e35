"""Jiang & Zhang's noise-based training: a single-step network trained with noise in place of its memory, then run
over T steps without retraining (jiang.md, all of it; constants: ``brainnets/models/jiang2024_noise.toml``).

Every spiking layer follows Eqs. 1-3 (:class:`~brainnets.timestep.neuron.LIF`, hard reset, λ = 0.5), except
for what it carries from one step to the next, ``λ V(t-1)``. A :class:`NoisyNeuron` replaces that term through
the layer's ``memory`` hook, in one of three ways:

* **stage 1** (Sec 2.3, Eq. 6), training at T = 1: ``H = N_noise + Σ w S``. The training noise ``N_noise`` is a
  Gaussian rescaled into [0, 1] (:meth:`Noise.training`), drawn afresh at every forward pass;
* **stage 2**, the trained network at T = N: the same, with fresh noise at every step and nothing carried over:
  N independent noisy passes of the single-step network, whose outputs are averaged;
* **stage 3** (Eqs. 7-10), the memory restored: the carried potential, centred and scaled into ``β ± 1/α``,
  plus a smaller fresh noise ``N'`` that keeps the sum in the training range (:meth:`Noise.restored`).

Stages 1 and 2 are one mechanism (stage 2 at T = 1 is the trained network); stage 3 at ``α = inf`` is stage 2
again, and at ``α = 2`` it has no fresh noise left (Sec 3.3).

The choices where the paper is silent (jiang.md Sec 4.1 and 10.1):

* the training noise is ``z / (2 max abs(z)) + 0.5``, ``z`` standard normal, the maximum taken over each
  sample's layer (or the whole batch's, ``statistics = "batch"``): the one rescaling the paper describes;
* the statistics of Eqs. 9-10 are per sample and per layer by default, so that a sample's output does not
  depend on the rest of its batch; ``"batch"`` is the paper's literal reading;
* where a layer's carried potential has no spread (always at t = 1, since ``V(0) = 0``; also when every
  neuron of a sample fired and reset), Eqs. 9-10 divide by zero: that sample's layer then gets the training
  noise ``N_noise``, as in stages 1-2. So stage 3 at T = 1 is the trained network, too;
* ``N'`` is the same rescaled Gaussian, centred on 0, of half-range ``R - 1/α`` with ``R`` the training
  noise's half-range (0.5): ``N(λV) + N'`` then spans exactly the training range;
* the output layer is the integrating, non-spiking one of
  :class:`~brainnets.timestep.network.TimestepNet` and gets no noise; its potential after T steps divided by T
  is the output averaged over the steps, the quantity the MSE loss (against the one-hot label) and the
  prediction use;
* the initial weights into the spiking layers are PyTorch's times the model file's ``init_gain``: at
  PyTorch's own, the deeper layers hardly fire at a threshold of 1;
* the direct T = 10 baseline trains the same network with the same loss, optimizer and schedule, on
  snnTorch's ``Leaky`` neurons (:class:`~brainnets.timestep.neuron.LeakyLIF`), which carry their membrane.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn
from torch.nn import functional as F

from . import encoding
from .network import TimestepNet
from .neuron import lif_factory

STATISTICS = ("sample", "batch")
#: A layer's carried potential has "no spread" when its standard deviation is at most this many ulps of its
#: largest magnitude: identical values give a std of a few ulps, not 0, through the rounding of their mean.
NO_SPREAD_ULPS = 64
STAGES = (1, 2, 3)


def _layer_dims(x: torch.Tensor, statistics: str) -> tuple[int, ...]:
    """The dimensions of ``(batch, ...)`` one statistic spans: each sample's layer, or the whole batch's."""
    return tuple(range(1 if statistics == "sample" else 0, x.ndim))


def unit_gaussian(like: torch.Tensor, statistics: str = "sample",
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``z / max abs(z)`` with ``z`` standard normal of ``like``'s shape: a Gaussian whose largest magnitude in
    each layer (each sample's, or the batch's) is exactly 1."""
    z = torch.randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)
    return z / z.abs().amax(dim=_layer_dims(z, statistics), keepdim=True)


@dataclass
class Noise:
    """The noise of a model file's ``[noise]`` table, shared by all the layers of one network.

    ``low`` and ``high`` bound the training noise (its centre is the stage-3 mean ``β``); ``alpha`` is stage 3's
    default; ``generator`` (torch's global one if None) makes runs reproducible."""

    low: float = 0.0
    high: float = 1.0
    alpha: float = 4.0
    beta: float = 0.5
    statistics: str = "sample"
    generator: torch.Generator | None = None

    def __post_init__(self):
        if self.statistics not in STATISTICS:
            raise ValueError(f"unknown noise statistics {self.statistics!r}: expected one of {', '.join(STATISTICS)}")
        if not self.low < self.high:
            raise ValueError(f"the noise range needs low < high, got [{self.low}, {self.high}]")
        if not math.isclose(self.beta, self.center):
            raise ValueError(f"beta = {self.beta} must be the centre of [{self.low}, {self.high}]: Eq. 7 keeps the "
                             "training noise's mean only then")

    @classmethod
    def from_document(cls, document: dict, generator: torch.Generator | None = None) -> "Noise":
        """The noise of a model file (:func:`brainnets.config.read_toml`)."""
        table = document["noise"]
        if table["distribution"] != "gauss_maxabs":
            raise ValueError(f"unknown noise distribution {table['distribution']!r}: expected 'gauss_maxabs'")
        return cls(low=float(table["low"]), high=float(table["high"]), alpha=float(table["alpha"]),
                   beta=float(table["beta"]), statistics=table.get("statistics", "sample"), generator=generator)

    @property
    def center(self) -> float:
        return (self.low + self.high) / 2

    @property
    def half_range(self) -> float:
        """``R``: the training noise spans ``center ± R``."""
        return (self.high - self.low) / 2

    def training(self, like: torch.Tensor) -> torch.Tensor:
        """``N_noise`` of Eq. 6 in ``like``'s shape: ``center + R z / max abs(z)``, in [low, high], each sample's
        layer (or the batch's) reaching one end exactly.

        Its spread shrinks slowly with the layer's size, as ``max abs(z)`` grows like ``sqrt(2 ln n)``."""
        return self.center + self.half_range * unit_gaussian(like, self.statistics, self.generator)

    def memory_term(self, carried: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``N(λ V(t-1))`` of Eqs. 8-10, and where the carried potential has no spread (``flat``, broadcastable:
        there the result is meaningless and :meth:`restored` falls back).

        σ and λ cancel (jiang.md Sec 4.1): the result is ``(V - mean V) / (α max abs(V - mean V)) + β``."""
        dims = _layer_dims(carried, self.statistics)
        a = carried                                                          # Eq. 8: A = λ V(t-1)
        mu = a.mean(dims, keepdim=True)
        sigma = a.std(dims, correction=0, keepdim=True)
        flat = sigma <= NO_SPREAD_ULPS * torch.finfo(a.dtype).eps * a.abs().amax(dims, keepdim=True)
        a_hat = (a - mu) / torch.where(flat, 1.0, sigma)                     # Eq. 9
        peak = torch.where(flat, 1.0, a_hat.abs().amax(dims, keepdim=True))
        return a_hat / (alpha * peak) + self.beta, flat                      # Eq. 10

    def restored(self, carried: torch.Tensor, alpha: float | None = None) -> torch.Tensor:
        """Eq. 7, ``N(λ V(t-1)) + N'``, with ``N' = (R - 1/α) z / max abs(z)``: the sum spans the training range.

        ``α = 2`` (with R = 0.5) leaves no fresh noise; ``α = inf`` leaves no memory and draws exactly what
        :meth:`training` draws; below ``1/R`` the sum would leave the training range, which is refused."""
        alpha = self.alpha if alpha is None else float(alpha)
        if alpha * self.half_range < 1:
            raise ValueError(f"alpha = {alpha} puts the restored potential outside the training range: "
                             f"it needs alpha >= {1 / self.half_range:g}")
        memory, flat = self.memory_term(carried, alpha)
        fresh = unit_gaussian(carried, self.statistics, self.generator)
        total = memory + (self.half_range - 1 / alpha) * fresh
        total = torch.where(flat, self.center + self.half_range * fresh, total)
        # at an alpha such as 3 the two halves' rounding can put the sum one ulp past the threshold's side
        return total.clamp(self.low, self.high)


class NoisyNeuron(nn.Module):
    """A spiking layer whose carried potential is replaced by Jiang's noise, as its ``stage`` (1, 2 or 3) and
    ``alpha`` say (:func:`set_stage`). ``neuron`` is a :class:`~brainnets.timestep.neuron.LIF`."""

    def __init__(self, neuron: nn.Module, noise: Noise):
        super().__init__()
        self.neuron, self.noise = neuron, noise
        self.stage, self.alpha = 1, noise.alpha

    def memory(self, carried: torch.Tensor, step: int) -> torch.Tensor:
        """What step ``step`` starts from instead of ``carried = λ V(t-1)``. The step number is not needed:
        t = 1 shows itself in stage 3 as a potential without spread."""
        if self.stage == 3:
            return self.noise.restored(carried, self.alpha)
        return self.noise.training(carried)

    def forward(self, current: torch.Tensor, return_potential: bool = False):
        """As :meth:`LIF.forward <brainnets.timestep.neuron.LIF.forward>`, with the stage's memory."""
        return self.neuron(current, memory=self.memory, return_potential=return_potential)

    def extra_repr(self) -> str:
        return f"stage={self.stage}, alpha={self.alpha:g}"


def noise_net(document: dict, arch: str, input_shape: tuple[int, ...], noise: Noise | None = None,
              dtype: torch.dtype | None = None, **options) -> TimestepNet:
    """Jiang's network: ``arch`` on our LIF layers, each wrapped in a :class:`NoisyNeuron` sharing one
    :class:`Noise` (the model file's unless given); ``options`` go to
    :class:`~brainnets.timestep.network.TimestepNet`."""
    noise = Noise.from_document(document) if noise is None else noise
    neuron = lif_factory(document, dtype=dtype)
    net = TimestepNet(arch, input_shape, lambda index: NoisyNeuron(neuron(index), noise), **options)
    return _initial_gain(net, document)


def direct_net(document: dict, arch: str, input_shape: tuple[int, ...], **options) -> TimestepNet:
    """The baseline: the same network without noise, its membrane carried over the steps, on snnTorch's
    ``Leaky`` neurons with the arctan surrogate (its weights load into :func:`noise_net`'s and back)."""
    return _initial_gain(TimestepNet(arch, input_shape, lif_factory(document, snntorch=True), **options), document)


def _initial_gain(net: TimestepNet, document: dict) -> TimestepNet:
    """PyTorch's initial weights into the spiking layers times the model file's ``init_gain`` (``[train]``, 1 if
    absent); the output layer's, which fire nothing, are left as they are.

    The paper gives no initialisation; at PyTorch's default (uniform within ``1/sqrt(fan_in)``) and a threshold of
    1, the layers after the first hardly ever fire, and the direct baseline's not at all."""
    gain = float(document["train"].get("init_gain", 1.0))
    with torch.no_grad():
        for parameter in net.synapses[:-1].parameters():
            parameter.mul_(gain)
    return net


def noisy_layers(net: nn.Module) -> list[NoisyNeuron]:
    return [module for module in net.modules() if isinstance(module, NoisyNeuron)]


def set_stage(net: nn.Module, stage: int, alpha: float | None = None) -> None:
    """Put every :class:`NoisyNeuron` of ``net`` in ``stage``; stage 3 uses ``alpha`` (the noise's own unless
    given). The stage changes only how a layer starts each step: no weight changes."""
    layers = noisy_layers(net)
    if not layers:
        raise ValueError("the network has no noisy layers: stages belong to a network from noise_net")
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: expected 1, 2 or 3")
    if alpha is not None and stage != 3:
        raise ValueError("alpha belongs to stage 3")
    for layer in layers:
        layer.stage = stage
        layer.alpha = layer.noise.alpha if alpha is None else float(alpha)


def mean_output(net: TimestepNet, images: torch.Tensor, timesteps: int, coding: str = "direct") -> torch.Tensor:
    """The network's output averaged over ``timesteps`` steps, ``(batch, classes)``: the integrating output
    layer's final potential over T."""
    return net(encoding.encode(coding, images, timesteps))[-1] / timesteps


def optimizer_for(net: nn.Module, document: dict, lr: float | None = None):
    """Adam and cosine annealing with warm restarts every ``restart_period`` epochs (Sec 3), from the model
    file's ``[train]`` table; ``lr`` overrides its learning rate. Step the scheduler once per epoch."""
    train = document["train"]
    if train["optimizer"] != "adam" or train["loss"] != "mse":
        raise ValueError("the noise-based recipe is Adam on an MSE loss (Sec 3)")
    optimizer = torch.optim.Adam(net.parameters(), lr=float(train["lr"] if lr is None else lr))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=int(train["restart_period"]))
    return optimizer, scheduler


def train_epoch(net: TimestepNet, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], optimizer,
                timesteps: int, scheduler=None, coding: str = "direct") -> float:
    """One epoch of surrogate-gradient training on ``(images, labels)`` batches, the MSE of the averaged output
    against the one-hot labels (Sec 3); the mean loss over the epoch.

    Stage 1 is a :func:`noise_net` at ``timesteps = 1`` (its layers are put in stage 1); the baseline a
    :func:`direct_net` at ``timesteps = 10``. ``scheduler``, if given, steps once at the end."""
    if noisy_layers(net):
        set_stage(net, 1)
    net.train()
    total, count = 0.0, 0
    for images, labels in batches:
        output = mean_output(net, images, timesteps, coding)
        loss = F.mse_loss(output, F.one_hot(labels.long(), net.n_classes).to(output.dtype))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
    if scheduler is not None:
        scheduler.step()
    return total / max(count, 1)


@dataclass(frozen=True)
class Evaluation:
    """Accuracy (a fraction), the spikes an image causes in all spiking layers over all steps, and per layer."""

    accuracy: float
    spikes_per_image: float
    layer_spikes_per_image: tuple[float, ...]
    images: int


def evaluate(net: TimestepNet, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], timesteps: int,
             stage: int | None = None, alpha: float | None = None, coding: str = "direct") -> Evaluation:
    """Accuracy and spikes per image at ``timesteps`` steps, the prediction being the averaged output's argmax.

    A :func:`noise_net` needs its ``stage``: 2 (fresh noise, no memory) or 3 (memory restored, ``alpha`` or the
    noise's own); 1 is the same as 2. A :func:`direct_net` takes none."""
    if noisy_layers(net):
        if stage is None:
            raise ValueError("a noise network is evaluated at stage 2 or 3: give stage")
        set_stage(net, stage, alpha)
    elif stage is not None or alpha is not None:
        raise ValueError("stage and alpha belong to a noise network")
    net.eval()
    correct, count, layer_totals = 0, 0, None
    with torch.no_grad():
        for images, labels in batches:
            output = mean_output(net, images, timesteps, coding)
            correct += int((output.argmax(1) == labels.long()).sum())
            count += len(labels)
            counts = torch.stack([spikes.double().sum() for spikes in net.layer_spikes])
            layer_totals = counts if layer_totals is None else layer_totals + counts
    if count == 0:
        raise ValueError("no images to evaluate")
    per_layer = tuple(float(total) / count for total in layer_totals)
    return Evaluation(correct / count, sum(per_layer), per_layer, count)
