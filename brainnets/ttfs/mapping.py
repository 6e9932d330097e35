"""The exact mapping from a ReLU network to single-spike (TTFS) neurons (Stanojevic et al. 2022).

Two phases, as in the thesis' ch. 2 (Algorithms 1 and 2):

1. :func:`preprocess` fuses batch normalization into the weights (Eqs. 2.7-2.8), rescales every hidden
   neuron so that ``-B_low <= sum_j w_ij <= 1 - delta`` without changing the function (Eqs. 2.15-2.19,
   using ``[a]_+ = C [a / C]_+``), and measures each layer's largest activation ``X`` on training data
   (Eq. 2.24).
2. :func:`convert` gives the spiking network: windows ``t_max = t_min + (1 + zeta) X`` and, for the
   constant-slope mapping (``alpha = 1``, the ramp starting at the previous layer's ``t_min``),
   ``J = alpha w / (1 - sum w)`` (Eq. 2.28) and ``theta = alpha (t_max - t_min^(n-1)) + sum J (t_max - t_min)
   - (alpha + sum J) b`` (Eqs. 2.25-2.27). The "linearly mappable" mapping of ch. 3 (Eq. 3.9) keeps
   ``J = w`` and sets ``alpha = 1 - sum w`` with the ramp starting at the layer's own ``t_min``, so that
   every neuron's slope is 1 and ``theta = (t_max - t_min) - b``.

Either way the hidden spike times are ``t_i = t_max - x_i`` and the readout potentials at ``t_read`` are
the logits, exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .layers import MaxPool
from .relu import HiddenLayer, ReLUNetwork
from .spec import Readout, SNNSpec, SpikingLayer

MAPPINGS = ("alpha", "linear")


@dataclass(frozen=True)
class Preprocessed:
    network: ReLUNetwork          # batch norm fused, rescaled: the same function as the original
    max_activations: list[float]  # X^(n) of each hidden layer on the calibration data
    n_calibration: int


def fuse_batch_norm(layer: HiddenLayer) -> HiddenLayer:
    """Batch normalization before the ReLU folded into the weights and bias (Eqs. 2.7-2.8)."""
    bn = layer.batch_norm
    if bn is None:
        return layer
    ones = np.ones(int(np.prod(layer.connection.in_shape)))
    return replace(layer, connection=layer.connection.scaled(bn.kappa, ones),
                   bias=bn.kappa * (layer.bias - bn.mean) + bn.beta, batch_norm=None)


def _scale_to_bounds(sums: np.ndarray, delta: float, b_low: float) -> np.ndarray:
    """Per channel, the factor that brings the weight sum into [-B_low, 1 - delta] (Eqs. 2.16, 2.18)."""
    factor = np.ones_like(sums)
    high, low = sums > 1 - delta, sums <= -b_low
    factor[high] = (1 - delta) / sums[high]
    factor[low] = b_low / np.abs(sums[low])
    return factor


def _downstream(per_neuron: np.ndarray, pool: MaxPool | None) -> np.ndarray:
    """A per-neuron factor as seen by the next layer (pooling keeps channels, so any member will do)."""
    return per_neuron[pool.groups()[:, 0]] if pool else per_neuron


def rescale(network: ReLUNetwork, delta: float, b_low: float) -> ReLUNetwork:
    """Eqs. 2.15-2.19, layer by layer: each layer first undoes the previous layer's scaling on its inputs,
    then scales its own rows; the readout is only corrected, so the logits are unchanged."""
    incoming = np.ones(int(np.prod(network.input_shape)))
    hidden = []
    for layer in network.hidden:
        layer = fuse_batch_norm(layer)
        channels = layer.connection.n_channels
        connection = layer.connection.scaled(np.ones(channels), incoming)
        factor = _scale_to_bounds(connection.channel_sums(), delta, b_low)
        hidden.append(replace(layer, connection=connection.scaled(factor, np.ones_like(incoming)),
                              bias=layer.bias * factor))
        incoming = _downstream(1 / factor[connection.channel_of_output()], layer.pool)
    readout = network.readout.scaled(np.ones(network.readout.n_channels), incoming)
    return network.with_hidden(hidden, readout)


def max_activations(network: ReLUNetwork, inputs: np.ndarray, batch: int = 1000) -> list[float]:
    """Eq. 2.24: each hidden layer's largest activation over ``inputs``."""
    peaks = np.zeros(len(network.hidden))
    for k in range(0, len(inputs), batch):
        activations, _ = network.forward(inputs[k:k + batch])
        peaks = np.maximum(peaks, [a.max() for a in activations])
    return peaks.tolist()


def preprocess(network: ReLUNetwork, calibration: np.ndarray, *, delta: float, b_low: float) -> Preprocessed:
    """Phase 1 (Algorithm 1). ``calibration``: training inputs in [0, 1] (all of them, or a representative
    subset). The rescaled network's logits are checked against the original's on the first 100."""
    if calibration.min() < 0 or calibration.max() > 1:
        raise ValueError("the mapping expects inputs in [0, 1] (scale them before training the ReLU network)")
    scaled = rescale(network, delta, b_low)
    probe = calibration[:100]
    before, after = network.forward(probe)[1], scaled.forward(probe)[1]
    if not np.allclose(before, after, rtol=1e-9, atol=1e-9 * np.abs(before).max()):
        raise ArithmeticError("rescaling changed the logits: the network is not a ReLU network as assumed")
    return Preprocessed(scaled, max_activations(scaled, calibration), len(calibration))


def window_lengths(max_activations: list[float], zeta: float, grid: float | None) -> list[float]:
    """``B = (1 + zeta) X`` per layer, rounded up to a multiple of ``grid`` if given (any ``B >= X`` is
    exact once the thresholds follow; a grid lets a clock-driven simulator hit every window edge)."""
    lengths = []
    for n, x in enumerate(max_activations, start=1):
        if not x > 0:
            raise ValueError(f"hidden layer {n} is never active on the calibration data: no window can be set")
        lengths.append(round_up((1 + zeta) * x, grid))
    return lengths


def round_up(length: float, grid: float | None) -> float:
    return math.ceil(length / grid) * grid if grid else length


def convert(network: ReLUNetwork, lengths: list[float], *, mapping: str = "alpha", alpha: float = 1.0,
            input_window: float = 1.0, info: dict | None = None) -> SNNSpec:
    """Phase 2 (Algorithm 2): the spiking network of a batch-norm-free ``network`` with hidden windows of
    ``lengths``. ``mapping="alpha"`` needs the rescaled network of :func:`preprocess`."""
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    if len(lengths) != len(network.hidden):
        raise ValueError(f"{len(lengths)} window lengths for {len(network.hidden)} hidden layers")
    layers, t_ramp_prev, t_min = [], 0.0, input_window
    for layer, length in zip(network.hidden, lengths):
        if layer.batch_norm is not None:
            raise ValueError("fuse batch normalization first (preprocess)")
        t_max = t_min + length
        channel = layer.connection.channel_of_output()
        sums = layer.connection.channel_sums()
        bias = layer.neuron_bias()
        if mapping == "alpha":
            if np.any(sums >= 1):
                raise ValueError("weight sums must be < 1: rescale the network first (preprocess)")
            connection = layer.connection.scaled(alpha / (1 - sums), np.ones(int(np.prod(layer.connection.in_shape))))
            sum_j = connection.channel_sums()[channel]
            slope = np.full(len(bias), alpha)
            theta = alpha * (t_max - t_ramp_prev) + sum_j * length - (alpha + sum_j) * bias
            t_ramp = t_ramp_prev
        else:
            connection, slope = layer.connection, 1 - sums[channel]
            theta, t_ramp = length - bias, t_min
        layers.append(SpikingLayer(connection, slope, theta, t_ramp, t_min, t_max, layer.pool))
        t_ramp_prev, t_min = t_min, t_max
    last_window = lengths[-1]
    readout = Readout(network.readout, network.readout_bias / last_window, t_ramp_prev, t_min)
    return SNNSpec(network.input_shape, layers, readout, input_window,
                   {"mapping": mapping, "alpha": alpha if mapping == "alpha" else None, **(info or {})})
