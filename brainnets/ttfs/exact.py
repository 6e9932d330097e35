"""Closed-form spike times of a TTFS network: the truth every simulation is checked against.

Between input events a neuron's potential is linear, so its threshold crossing has a closed form
(Stanojevic et al. 2023, Eq. 3.7; summary §8.2). Two solvers, float64, vectorized over images:

- :func:`layer_times` (the default): once every input has arrived (by ``t_min``) the slope is
  ``S = alpha + sum J > 0`` and ``t = (theta + alpha t_ramp + sum_j J_j t_j) / S``, clipped to
  ``[t_min, t_max]``; the clip at ``t_min`` is the "no spike before t_min" guard (threshold infinite
  before it, ch. 2 Sec 2.4.2 (iv)).
- :func:`layer_times_sorted`: walks each neuron's input events in time order with the threshold
  constant for all t, so it also finds crossings *before* ``t_min`` (early, "premature" spikes that the
  guard forbids). Where the two differ the window was too tight for that input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import SNNSpec, SpikingLayer


@dataclass
class SpikeTimes:
    inputs: np.ndarray          # (batch, n_in): t^(0) = 1 - x
    layers: list[np.ndarray]    # per spiking layer (batch, n), before pooling
    pooled: list[np.ndarray]    # per spiking layer, what the next layer receives (after pooling)
    logits: np.ndarray          # (batch, n_out): readout potentials at t_read

    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    def __getitem__(self, images: slice) -> "SpikeTimes":
        return SpikeTimes(self.inputs[images], [t[images] for t in self.layers], [t[images] for t in self.pooled],
                          self.logits[images])


def input_times(spec: SNNSpec, x: np.ndarray) -> np.ndarray:
    """TTFS input code: value ``x`` in [0, 1] spikes at ``input_window (1 - x)`` (Eq. 3.1)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if np.isnan(x).any() or x.min() < 0 or x.max() > 1:
        raise ValueError("inputs must be numbers in [0, 1]")
    return spec.input_window * (1 - x)


def _event_terms(layer: SpikingLayer):
    """The ramp and the padding as extra inputs: (weights (n, 2), times (2,))."""
    padding = layer.connection.padding_weights()
    return np.stack([layer.alpha, padding], axis=1), np.array([layer.t_ramp, layer.t_min])


def layer_times(layer: SpikingLayer, t_in: np.ndarray) -> np.ndarray:
    """Guarded closed form (see module docstring). ``t_in``: (batch, n_in) input spike times."""
    extra_weight, extra_time = _event_terms(layer)
    charge = (layer.connection.matrix() @ t_in.T).T
    t = (layer.theta + extra_weight @ extra_time + charge) / layer.total_slope()
    return np.clip(t, layer.t_min, layer.t_max)


def layer_times_sorted(layer: SpikingLayer, t_in: np.ndarray) -> np.ndarray:
    """Event-by-event solution with a constant threshold from the start (no guard); see module docstring."""
    extra_weight, extra_time = _event_terms(layer)
    weights = np.hstack([layer.connection.matrix().toarray(), extra_weight])  # (n, n_in + 2)
    out = np.empty((len(t_in), layer.n))
    for b, times in enumerate(t_in):
        times = np.concatenate([times, extra_time])
        order = np.argsort(times, kind="stable")
        t_sorted, w_sorted = times[order], weights[:, order]
        slope = np.cumsum(w_sorted, axis=1)                    # S_k after the k-th event
        offset = np.cumsum(w_sorted * t_sorted, axis=1)        # V(t) = S_k t - offset_k until the next event
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = (layer.theta[:, None] + offset) / slope
        t_next = np.append(t_sorted[1:], np.inf)
        valid = (slope > 0) & (crossing >= t_sorted) & (crossing < t_next)
        first = valid.argmax(axis=1)
        t = np.where(valid.any(axis=1), crossing[np.arange(layer.n), first], layer.t_max)
        out[b] = np.minimum(t, layer.t_max)
    return out


def _pool(layer: SpikingLayer, t: np.ndarray) -> np.ndarray:
    return t[:, layer.pool.groups()].min(axis=2) if layer.pool else t


def simulate(spec: SNNSpec, x: np.ndarray, *, sorted_solver: bool = False) -> SpikeTimes:
    """Spike times of every layer and the logits, for inputs ``x`` (batch, ...) in [0, 1]."""
    solve = layer_times_sorted if sorted_solver else layer_times
    t_in = input_times(spec, x)
    layers, pooled, t = [], [], t_in
    for layer in spec.layers:
        t_layer = solve(layer, t)
        t = _pool(layer, t_layer)
        layers.append(t_layer)
        pooled.append(t)
    readout = spec.readout
    logits = readout.alpha * (readout.t_read - readout.t_ramp) + (readout.t_read - t) @ readout.connection.weight.T
    return SpikeTimes(t_in, layers, pooled, logits)


def solver_disagreements(spec: SNNSpec, x: np.ndarray, tolerance: float = 1e-9) -> list[int]:
    """Per layer, how many spike times the event solver puts elsewhere than the guarded closed form (by
    more than ``tolerance`` of the layer's ``t_max``), both given the closed form's inputs so that each
    layer is judged on its own. Nonzero means inputs reached threshold before ``t_min``."""
    guarded = simulate(spec, x)
    counts, t_in = [], guarded.inputs
    for layer, t_layer, t_next in zip(spec.layers, guarded.layers, guarded.pooled):
        difference = np.abs(layer_times_sorted(layer, t_in) - t_layer)
        counts.append(int(np.sum(difference > tolerance * layer.t_max)))
        t_in = t_next
    return counts
