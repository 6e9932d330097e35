"""Fully connected BATS and Fast & Deep networks and their training loop (Bacho 2023, Secs 3.6.4-3.6.5).

A network is a stack of :func:`.bats.spike_layer` layers, each with its own neuron (threshold) and spike buffer,
simulated one after the other. Weights start uniform in ``init`` and are trained by Adam with the exact
gradients of the loss: BATS' spike-count loss (multi-spike layers) or Fast & Deep's TTFS cross-entropy
(``n_max = 1``), as the model section says (``tau_loss`` present: Fast & Deep).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .bats import Spikes, spike_layer
from .encoding import encode_ttfs
from .forward import LayerRun, simulate_layer
from .losses import predict_count, predict_first, spike_count_loss, ttfs_cross_entropy
from .neuron import Neuron


class SpikingFC(nn.Module):
    """Layer sizes ``sizes`` (inputs first), one neuron and one buffer size per layer."""

    def __init__(self, sizes: list[int], neurons: list[Neuron], n_max: list[int], duration: float = math.inf,
                 init: tuple[float, float] = (-1.0, 1.0), generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64, output_init: tuple[float, float] | None = None):
        super().__init__()
        if not len(sizes) - 1 == len(neurons) == len(n_max):
            raise ValueError(f"{len(sizes) - 1} layers, {len(neurons)} neurons, {len(n_max)} buffer sizes")
        inits = [init] * (len(sizes) - 2) + [output_init or init]
        self.weights = nn.ParameterList([
            nn.Parameter(torch.rand(n_out, n_in, generator=generator, dtype=dtype) * (high - low) + low)
            for n_in, n_out, (low, high) in zip(sizes[:-1], sizes[1:], inits)])
        self.neurons, self.n_max, self.duration = list(neurons), list(n_max), duration

    @classmethod
    def from_config(cls, section: dict, n_inputs: int, n_classes: int, **kwargs) -> "SpikingFC":
        """The network of a model section of ``bacho2024_bats.toml``."""
        sizes = [n_inputs, *section["hidden"], n_classes]
        neurons = [Neuron.from_bats(section["tau_s"], theta) for theta in section["thresholds"]]
        output_init = tuple(section["output_init"]) if "output_init" in section else None
        return cls(sizes, neurons, section["n_max"], section["duration"], tuple(section["init"]),
                   output_init=output_init, **kwargs)

    def forward(self, in_times: torch.Tensor) -> list[Spikes]:
        layers = []
        for weight, neuron, n_max in zip(self.weights, self.neurons, self.n_max):
            layers.append(spike_layer(in_times, weight, neuron, n_max, self.duration))
            in_times = layers[-1].times
        return layers

    @torch.no_grad()
    def simulate(self, in_times: torch.Tensor) -> list[LayerRun]:
        """The layers' runs, with what a gradient needs at each spike, outside autograd (the direct feedback
        methods compute their own updates)."""
        runs = []
        for weight, neuron, n_max in zip(self.weights, self.neurons, self.n_max):
            runs.append(simulate_layer(in_times, weight, neuron, n_max, self.duration))
            in_times = runs[-1].times
        return runs


def objective(section: dict):
    """``(loss(output, labels), predict(output))`` of the section: Fast & Deep's if it names ``tau_loss``."""
    if "tau_loss" in section:
        return (lambda out, y: ttfs_cross_entropy(out, y, section["tau_loss"], section["duration"])), predict_first
    return (lambda out, y: spike_count_loss(out, y, section["target_true"], section["target_false"])), predict_count


#: ``(net, in_times, labels, generator) -> (layers, loss)``: one batch's forward pass, with the weights' ``.grad`` set.
Gradients = Callable[[SpikingFC, torch.Tensor, torch.Tensor, torch.Generator], tuple[list, torch.Tensor]]


def exact_gradients(section: dict) -> Gradients:
    """BATS / Fast & Deep: the exact gradients of the section's loss, by autograd through :mod:`.bats`."""
    loss_fn, _ = objective(section)

    def gradients(net, in_times, labels, generator):
        layers = net(in_times)
        loss = loss_fn(layers[-1], labels)
        loss.backward()
        return layers, loss.detach()
    return gradients


def train_epoch(net: SpikingFC, optimizer: torch.optim.Optimizer, section: dict, in_times: torch.Tensor,
                labels: torch.Tensor, batch_size: int, generator: torch.Generator,
                gradients: Gradients | None = None, progress: bool = False) -> dict:
    """One epoch over ``in_times`` (n, inputs, 1) in shuffled batches, the weights moved by ``optimizer`` along
    ``gradients`` (default: the exact ones): mean loss, training accuracy (of each batch before its update), mean
    spikes per hidden neuron and the fraction of neurons that overflowed (with Fast & Deep's ``n_max = 1``: that
    would have fired again, as the single-spike model intends)."""
    gradients = gradients or exact_gradients(section)
    _, predict = objective(section)
    totals = np.zeros(4)
    batches = torch.randperm(len(labels), generator=generator).split(batch_size)
    for batch in tqdm(batches, desc="batches", disable=not progress, leave=False):
        optimizer.zero_grad()
        layers, loss = gradients(net, in_times[batch], labels[batch], generator)
        optimizer.step()
        hidden = torch.cat([layer.counts.flatten(1) for layer in layers[:-1]], 1).to(torch.float64)
        overflow = torch.cat([layer.overflow.flatten(1) for layer in layers], 1).to(torch.float64)
        totals += len(batch) * np.array([loss.item(), (predict(layers[-1]) == labels[batch]).double().mean().item(),
                                         hidden.mean().item(), overflow.mean().item()])
    return dict(zip(("loss", "accuracy", "hidden_spikes", "overflow"), (totals / len(labels)).tolist()))


@torch.no_grad()
def accuracy(net: SpikingFC, section: dict, in_times: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    _, predict = objective(section)
    hits = sum(int((predict(net.simulate(in_times[batch])[-1]) == labels[batch]).sum())
               for batch in torch.arange(len(labels)).split(batch_size))
    return hits / len(labels)


def image_inputs(images: np.ndarray, labels: np.ndarray, encoding: dict,
                 dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """TTFS spike times (the ``[encoding]`` table's window) and int64 labels of a set of images."""
    return encode_ttfs(images, encoding["window"], dtype), torch.from_numpy(np.asarray(labels, np.int64))
