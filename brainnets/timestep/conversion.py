"""Rathi's hybrid training (thesis 2021, ch. 4 and 5): a bias-free ANN, converted to an IF network by threshold
balancing, then trained in the spiking domain with STDB (fixed thresholds, Poisson input, Algorithms 2-3) or
as DIET-SNN (direct input, trainable leak and threshold, Algorithm 4).

The pipeline, one function a step:

1. :func:`ann_twin` builds the ANN: the ReLU twin of the spiking network (average pooling, dropout, no bias),
   trained by :func:`train_ann_epoch`, one epoch a call.
2. :func:`convert` copies its weights into the spiking network and sets every spiking layer's threshold by
   :func:`balance_thresholds`. Algorithm 1 (ch. 4), for each hidden layer ``l`` in turn, runs the network for
   T steps with the layers before ``l`` already balanced and spiking, and takes the largest input current
   ``A_l^t = W_l o_{l-1}^t`` that layer ``l`` receives over all steps and a mini-batch::

       v_l = max_t max_{batch, neurons} A_l^t

   Algorithm 4 (ch. 5) takes the 95th percentile of ``A_l^t`` over the mini-batch's neurons instead and keeps
   the largest over the steps: ``v_l = max_t P95(A_l^t)``. Both are ``max_t`` of a per-step percentile (the
   maximum is the 100th), which is how the model files name them. A reduced T then runs with every threshold
   multiplied by a scale factor (ch. 4's "adjusted thresholds", Table 4.1).
3. :func:`train_stdb_epoch` and :func:`train_diet_epoch` train the converted network for one epoch:
   cross-entropy on the output layer's integrated potential ``u^T`` (Eqs. 4.5-4.7, 5.4-5.5), a dropout mask
   drawn once per mini-batch and kept for all T steps (Algorithm 2), the surrogate of the network's neurons
   (STDB's ``α exp(-β Δt)``, DIET's linear one).
4. :func:`evaluate` gives the accuracy, the loss, the spikes per image and each layer's spike rate
   (Eq. 5.21), the inputs of :func:`brainnets.timestep.energy.energy_ratio_vs_ann`.

Images are float tensors ``(N, *input_shape)`` already scaled as the coding expects (Poisson: values in
[-1, 1]); labels are integer tensors ``(N,)``. Every constant comes from the model file
(``rathi2021_stdb.toml`` or ``rathi2021_diet.toml``), read by :func:`brainnets.config.read_toml`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import encoding
from . import surrogate as surrogates
from .network import TimestepNet
from .neuron import lif_factory

# ---------------------------------------------------------------- the ANN


def ann_twin(arch: str, input_shape: tuple[int, ...], dropout: float = 0.0) -> TimestepNet:
    """The bias-free ReLU network of ``arch``: average pooling, ``dropout`` after every hidden ReLU. Run with
    T = 1 and direct input, its output ``[-1]`` is the ANN's logits; its state dict is the spiking twin's
    weights (:func:`convert`)."""
    return TimestepNet(arch, input_shape, lambda index: nn.ReLU(), dropout=dropout, bias=False)


def make_optimizer(net: nn.Module, table: dict) -> torch.optim.Optimizer:
    """The optimizer a model file's ``[ann]`` or ``[train]`` table names ("adam" or "sgd"), over all of
    ``net``'s parameters (for DIET-SNN these include each layer's threshold and leak), with the table's
    ``lr``, ``weight_decay`` (0 if absent), ``amsgrad`` (Adam; false if absent), ``momentum`` (SGD; 0)."""
    kind = table.get("optimizer", "adam").lower()
    decay = float(table.get("weight_decay", 0.0))
    if kind == "adam":
        return torch.optim.Adam(net.parameters(), lr=float(table["lr"]), weight_decay=decay,
                                amsgrad=bool(table.get("amsgrad", False)))
    if kind == "sgd":
        return torch.optim.SGD(net.parameters(), lr=float(table["lr"]), weight_decay=decay,
                               momentum=float(table.get("momentum", 0.0)))
    raise ValueError(f"unknown optimizer {kind!r}: expected 'adam' or 'sgd'")


def learning_rate(table: dict, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (counted from 1) of ``epochs``: ``lr``, multiplied by ``lr_drop_factor``
    from each epoch ``int(fraction * epochs)`` of ``lr_drop_at`` on (STDB's step schedule; a table without it
    keeps ``lr``)."""
    drops = sum(epoch >= int(fraction * epochs) for fraction in table.get("lr_drop_at", []))
    return float(table["lr"]) * float(table.get("lr_drop_factor", 1.0)) ** drops


def batch_indices(count: int, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Index tensors of the mini-batches of ``count`` samples, in a random order when ``shuffle``."""
    order = torch.randperm(count, generator=generator) if shuffle else torch.arange(count)
    for start in range(0, count, batch_size):
        yield order[start:start + batch_size]


def train_epoch(net: TimestepNet, images: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer,
                steps: int, coding: str, batch_size: int, generator: torch.Generator | None = None,
                max_leak: float | None = None) -> float:
    """One epoch of back-propagation through the T = ``steps`` steps of ``net`` on inputs coded by ``coding``
    ("poisson" or "direct"): per mini-batch, the cross-entropy of ``u^T`` and one optimizer step, after which
    every leak is clamped to ``max_leak`` where one is given. Returns the epoch's mean training loss. The ANN,
    STDB and DIET-SNN all train through it."""
    net.train()
    total, seen = 0.0, 0
    for index in batch_indices(len(images), batch_size, generator):
        x = encoding.encode(coding, images[index], steps, generator)
        loss = F.cross_entropy(net(x)[-1], labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if max_leak is not None:
            with torch.no_grad():
                for layer in net.spiking_layers:
                    layer.leak.clamp_(max=max_leak)
        total += loss.item() * len(index)
        seen += len(index)
    return total / seen


def train_ann_epoch(ann: TimestepNet, images: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer,
                    batch_size: int, generator: torch.Generator | None = None) -> float:
    """One epoch of the ANN (Algorithm 4, "ANN training"): one step of the analog image, cross-entropy."""
    return train_epoch(ann, images, labels, optimizer, 1, "direct", batch_size, generator)


# ---------------------------------------------------------------- conversion


def threshold_percentile(conversion: dict) -> float:
    """The per-step percentile of a model file's ``[conversion]`` table: ``threshold_percentile``, or 100 (the
    maximum) for ``threshold_rule = "max"``."""
    if "threshold_percentile" in conversion:
        percentile = float(conversion["threshold_percentile"])
    elif conversion.get("threshold_rule") == "max":
        percentile = 100.0
    else:
        raise ValueError("[conversion] needs threshold_rule = \"max\" or a threshold_percentile")
    if not 0 < percentile <= 100:
        raise ValueError(f"threshold_percentile must be in (0, 100], not {percentile}")
    return percentile


def coded_pieces(coding: str, x: torch.Tensor, steps: int, piece_steps: int | None = None,
                 generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """``x`` coded over ``steps`` steps, delivered in pieces of at most ``piece_steps`` steps (all at once
    when ``None``) for :meth:`~brainnets.timestep.network.TimestepNet.stream`."""
    piece = steps if piece_steps is None else int(piece_steps)
    for start in range(0, steps, piece):
        yield encoding.encode(coding, x, min(piece, steps - start), generator)


#: What one layer's tensor of one piece ``(steps, batch, neurons)`` may take when a long T runs in pieces: a
#: piece holds several such tensors (the current, its padded copy, spikes, potentials) for the widest layer.
PIECE_BYTES = 256 * 2 ** 20
#: Images :func:`evaluate` classifies at once.
EVALUATION_BATCH = 256


def piece_steps_for(net: TimestepNet, batch: int, longest: int = 100) -> int:
    """Steps per piece of :meth:`~brainnets.timestep.network.TimestepNet.stream` for ``batch`` images at once:
    at most ``longest``, fewer where the widest layer's piece would exceed :data:`PIECE_BYTES` (a 12,544-neuron
    convolution over 512 images and 100 steps took 21 GB and was killed)."""
    element = next(net.parameters()).element_size()
    per_step = batch * max(net.layer_neurons) * element
    return max(1, min(longest, PIECE_BYTES // per_step))


def _step_statistic(current: torch.Tensor, percentile: float) -> torch.Tensor:
    """The largest over steps of the ``percentile`` of ``current`` ``(steps, batch, ...)`` over its batch
    and neurons."""
    per_step = current.reshape(current.shape[0], -1)
    if percentile == 100.0:
        return per_step.amax()
    # numpy's percentile has no size limit (torch.quantile refuses more than 2**24 values)
    values = np.percentile(per_step.double().cpu().numpy(), percentile, axis=1)
    return torch.as_tensor(values.max())


def set_thresholds(snn: TimestepNet, thresholds) -> None:
    """Write one threshold per spiking layer into ``snn`` (buffers or trainable parameters alike)."""
    layers = snn.spiking_layers
    if len(thresholds) != len(layers):
        raise ValueError(f"{len(layers)} spiking layers, but {len(thresholds)} thresholds")
    with torch.no_grad():
        for layer, value in zip(layers, thresholds):
            layer.threshold.fill_(float(value))


def balance_thresholds(snn: TimestepNet, images: torch.Tensor, steps: int, coding: str, percentile: float = 100.0,
                       generator: torch.Generator | None = None, piece_steps: int | None = None) -> list[float]:
    """Threshold balancing (Algorithm 1; Algorithm 4 with a percentile): set each spiking layer's threshold in
    turn to the largest, over the ``steps`` steps, of the ``percentile`` of its input current over ``images``
    (one mini-batch), the layers before it running with the thresholds already set. Returns the thresholds.

    Each layer gets a fresh simulation from the input on, as Algorithm 1 draws its Poisson input anew for every
    layer. The neurons run as IF neurons meanwhile, their leaks set to 1 and restored afterwards (Sec 5.4:
    "during threshold computation, the leak in the hidden layers is set to unity"). A layer that receives no
    positive current cannot be balanced, and is an error."""
    was_training = snn.training
    snn.eval()
    leaks = [layer.leak.detach().clone() for layer in snn.spiking_layers]
    with torch.no_grad():
        for layer in snn.spiking_layers:
            layer.leak.fill_(1.0)
    thresholds = []
    try:
        for target, layer in enumerate(snn.spiking_layers):
            found = []

            def probe(index: int, current: torch.Tensor) -> bool:
                if index < target:
                    return False
                found.append(_step_statistic(current, percentile))
                return True

            snn.stream(coded_pieces(coding, images, steps, piece_steps, generator), probe=probe)
            value = float(torch.stack(found).max())
            if not value > 0:
                raise ValueError(f"spiking layer {target} receives no positive input current "
                                 f"(largest {value:g}): its threshold cannot be balanced")
            with torch.no_grad():
                layer.threshold.fill_(value)
            thresholds.append(value)
    finally:
        with torch.no_grad():
            for layer, leak in zip(snn.spiking_layers, leaks):
                layer.leak.copy_(leak)
        snn.train(was_training)
    return thresholds


def spiking_twin(ann: TimestepNet, document: dict, dropout: float = 0.0) -> TimestepNet:
    """The spiking network of ``ann``'s architecture with the model file's neurons and output layer, and
    ``ann``'s weights; thresholds are the neuron table's (1 unless it names one) until balanced."""
    snn = TimestepNet(ann.arch, ann.input_shape, lif_factory(document), dropout=dropout, bias=False,
                      output_leak=float(document["output"]["leak"]))
    missing, unexpected = snn.load_state_dict(ann.state_dict(), strict=False)
    not_neurons = [key for key in missing if not key.startswith("layers.")]
    if unexpected or not_neurons:
        raise ValueError(f"the ANN does not match the spiking network: missing {not_neurons}, unexpected {unexpected}")
    return snn.to(next(ann.parameters()).dtype)


def convert(ann: TimestepNet, document: dict, images: torch.Tensor, steps: int, scale: float = 1.0,
            dropout: float = 0.0, generator: torch.Generator | None = None,
            piece_steps: int | None = None) -> tuple[TimestepNet, list[float]]:
    """ANN -> SNN conversion (Algorithm 1; Algorithm 4's conversion): ``ann``'s weights in the spiking network
    of ``document``, thresholds balanced on ``images`` over ``steps`` steps with the model file's coding
    (Poisson for STDB, direct for DIET-SNN) and rule, then multiplied by ``scale`` for a run at reduced T.

    Returns the network and the balanced thresholds before scaling (the ones a run at another T rescales)."""
    snn = spiking_twin(ann, document, dropout)
    percentile = threshold_percentile(document["conversion"])
    thresholds = balance_thresholds(snn, images, steps, document["encoding"]["kind"], percentile, generator,
                                    piece_steps)
    set_thresholds(snn, [scale * value for value in thresholds])
    return snn, thresholds


# ---------------------------------------------------------------- spike-based training


def _surrogates(snn: TimestepNet, kind: type) -> None:
    wrong = [type(layer.surrogate).__name__ for layer in snn.spiking_layers
             if not isinstance(getattr(layer, "surrogate", None), kind)]
    if wrong:
        raise ValueError(f"expected {kind.__name__} surrogates in every spiking layer, found {wrong}")


def train_stdb_epoch(snn: TimestepNet, document: dict, images: torch.Tensor, labels: torch.Tensor,
                     optimizer: torch.optim.Optimizer, steps: int, batch_size: int,
                     generator: torch.Generator | None = None) -> float:
    """One epoch of STDB (Algorithms 2-3): Poisson input, fixed thresholds, the spike-time surrogate
    ``α exp(-β Δt)`` (Eq. 4.11), only the weights trained. Returns the mean training loss."""
    _surrogates(snn, surrogates.SpikeTime)
    trained = [name for name, _ in snn.named_parameters() if name.endswith(("threshold", "leak"))]
    if trained:
        raise ValueError(f"STDB keeps thresholds and leaks fixed (Sec 4.5), but {trained} are parameters")
    return train_epoch(snn, images, labels, optimizer, steps, document["encoding"]["kind"], batch_size, generator)


def train_diet_epoch(snn: TimestepNet, document: dict, images: torch.Tensor, labels: torch.Tensor,
                     optimizer: torch.optim.Optimizer, steps: int, batch_size: int,
                     generator: torch.Generator | None = None) -> float:
    """One epoch of DIET-SNN (Algorithm 4, spike-based back-propagation): direct input, the linear surrogate
    (Eq. 5.12), and the weights, each layer's threshold (Eqs. 5.14-5.15) and leak (Eqs. 5.16-5.17) trained
    together, the leaks kept at most the model file's ``max_leak``. Returns the mean training loss."""
    _surrogates(snn, surrogates.Linear)
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for index, layer in enumerate(snn.spiking_layers):
        for name in ("threshold", "leak"):
            value = getattr(layer, name)
            if not isinstance(value, nn.Parameter) or id(value) not in optimized:
                raise ValueError(f"DIET-SNN trains every layer's {name}, but layer {index}'s is not in the optimizer")
    return train_epoch(snn, images, labels, optimizer, steps, document["encoding"]["kind"], batch_size, generator,
                       max_leak=document["neuron"].get("max_leak"))


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """What a network does on a test set.

    ``layer_spike_rates`` are Eq. 5.21's ``SpikeRate_l``: a layer's spikes over all T steps divided by its
    neurons, averaged over the images; ``spikes_per_image`` sums the hidden layers' spikes (the input's are
    not counted); ``input_spike_rate`` is the same rate of the Poisson input (``None`` for direct input)."""

    accuracy: float
    loss: float
    spikes_per_image: float
    layer_spike_rates: list[float] = field(default_factory=list)
    layer_spikes_per_image: list[float] = field(default_factory=list)
    input_spike_rate: float | None = None


@torch.no_grad()
def evaluate(net: TimestepNet, images: torch.Tensor, labels: torch.Tensor, steps: int, coding: str,
             batch_size: int = EVALUATION_BATCH, generator: torch.Generator | None = None,
             piece_steps: int | None = None) -> Evaluation:
    """Classify ``images`` by the largest ``u^T`` after ``steps`` steps of ``coding`` (dropout off); the spike
    counts come from :meth:`~brainnets.timestep.network.TimestepNet.stream`, so a long T may run in pieces of
    ``piece_steps`` steps."""
    was_training = net.training
    net.eval()
    correct, loss_sum, input_spikes = 0, 0.0, 0
    layer_totals = torch.zeros(len(net.layer_neurons), dtype=torch.float64)
    try:
        for index in batch_indices(len(images), batch_size, shuffle=False):
            def counted(source):
                nonlocal input_spikes
                for piece in source:
                    input_spikes += int(piece.ne(0).sum())
                    yield piece

            source = coded_pieces(coding, images[index], steps, piece_steps, generator)
            output = net.stream(counted(source) if coding == "poisson" else source)
            loss_sum += F.cross_entropy(output, labels[index], reduction="sum").item()
            correct += int((output.argmax(-1) == labels[index]).sum())
            for layer, spikes in enumerate(net.layer_spikes):
                layer_totals[layer] += float(spikes.sum())
    finally:
        net.train(was_training)
    count = len(images)
    per_image = (layer_totals / count).tolist()
    rates = [spikes / neurons for spikes, neurons in zip(per_image, net.layer_neurons)]
    input_rate = None
    if coding == "poisson":
        input_rate = input_spikes / (count * math.prod(net.input_shape))
    return Evaluation(accuracy=correct / count, loss=loss_sum / count, spikes_per_image=float(sum(per_image)),
                      layer_spike_rates=rates, layer_spikes_per_image=per_image, input_spike_rate=input_rate)

