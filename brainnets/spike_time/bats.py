"""BATS: exact gradients of multi-spike LIF layers (Bacho 2023, Sec 3.5); Fast & Deep when ``n_max = 1`` (Sec 3.4).

A spike time is a differentiable function of the layer's weights and input times as long as the spike pattern
(which spikes exist, and which input events precede each) does not change. The error on spike ``k`` of neuron
``i``, ``δ_i^k = ∂L/∂t_i^k``, has two parts (Eq. 82): the inter-neuron one, through the synapses to the next
layer (what arrives as the gradient of this layer's output times), and the intra-neuron one, through the resets:
spike ``k`` lowers ``b`` for every later spike of ``i`` (Eqs. 86-89),

    δ_i^k += Δ e^{t_i^k/tau} β_i^{k+1},    β_i^k = β_i^{k+1} + δ_i^k / x_i^k,    β_i^{n+1} = 0,

a recursion from the last spike back to the first. With ``f1 = ∂t/∂a`` and ``f2 = -∂t/∂b`` (Eqs. 73-74) the
weight gradient and the error sent to each presynaptic spike ``t_j^z`` are (Eqs. 79-81, 84-85)

    ∂L/∂w_ij   = sum_k δ_i^k sum_{z: t_j^z < t_i^k} [f1_i^k e^{t_j^z/tau_s} - f2_i^k e^{t_j^z/tau}],
    ∂L/∂t_j^z  = sum_i w_ij sum_{k: t_i^k > t_j^z} δ_i^k [f1_i^k e^{t_j^z/tau_s}/tau_s - f2_i^k e^{t_j^z/tau}/tau].

Both sums over pairs are taken over the sample's sorted input events: a spike that followed ``events`` input
events is binned there, and a reversed cumulative sum over the bins gives, for each input event, the errors of all
spikes after it. The cost is linear in the number of events rather than in pairs of spikes.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from . import kernel
from .forward import LayerRun, simulate_layer, spike_counts
from .neuron import Neuron, time_partials


def backward(run: LayerRun, grad_times: torch.Tensor, weight: torch.Tensor, in_shape: torch.Size, neuron: Neuron,
             to_inputs: bool = True, bounded: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(∂L/∂weight, ∂L/∂in_times)`` given ``grad_times`` = the inter-neuron errors ∂L/∂times of ``run``
    (``∂L/∂in_times`` only ``to_inputs``); with the ``bounded`` partials of SFDFA if asked
    (:func:`.neuron.time_partials`). The sums over events run compiled on the CPU (:mod:`.kernel`), in torch
    elsewhere (:func:`event_sums_torch`)."""
    f1, f2 = time_partials(run.a, run.x, run.exp_tau, neuron, bounded)
    delta = torch.where(torch.isfinite(run.times), grad_times, 0)
    # intra-neuron errors (Eqs. 88-89: ∂t^k/∂t^z = Δ e^{t^z/tau} f2^k / tau), last spike first
    beta = torch.zeros_like(delta[..., 0])
    for k in reversed(range(int(run.counts.max()) if delta.numel() else 0)):
        delta[..., k] += neuron.delta * run.exp_tau[..., k] * beta
        beta = beta + delta[..., k] * f2[..., k] / neuron.tau
    sums = event_sums_compiled if weight.device.type == "cpu" else event_sums_torch
    grad_weight, grad_events = sums(run, delta * f1, delta * f2, weight, in_shape[-1], neuron, to_inputs)
    if grad_events is None:
        return grad_weight, None
    grad_in = torch.zeros(in_shape[0], in_shape[1] * in_shape[2], dtype=delta.dtype, device=delta.device)
    grad_in.scatter_(1, run.order, grad_events)
    return grad_weight, grad_in.view(in_shape)


def event_sums_compiled(run: LayerRun, error_a: torch.Tensor, error_b: torch.Tensor, weight: torch.Tensor, k_in: int,
                        neuron: Neuron, to_inputs: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`event_sums_torch` by the compiled loops of :mod:`.kernel`, in float64."""
    as64 = lambda tensor: tensor.detach().to(torch.float64).contiguous().numpy()
    real_events = (run.exp_s > 0).sum(1)  # padding has e^{t/tau_s} = 0
    arguments = (as64(error_a), as64(error_b), run.events.numpy(), run.counts.numpy(), (run.order // k_in).numpy(),
                 as64(run.exp_s), as64(run.exp_m), real_events.numpy())
    grad_weight = np.zeros(weight.shape)
    kernel.weight_gradient(*arguments, grad_weight)
    grad_events = None
    if to_inputs:
        grad_events = np.zeros(run.exp_s.shape)
        kernel.event_gradient(*arguments, as64(weight), neuron.tau_s, neuron.tau, grad_events)
        grad_events = torch.from_numpy(grad_events).to(error_a.dtype)
    return torch.from_numpy(grad_weight).to(weight.dtype), grad_events


def event_sums_torch(run: LayerRun, error_a: torch.Tensor, error_b: torch.Tensor, weight: torch.Tensor, k_in: int,
                     neuron: Neuron, to_inputs: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(∂L/∂weight, ∂L/∂t per input event)`` (Eqs. 79-81, 85) from the spikes' errors times ``f1``
    (``error_a``) and ``f2`` (``error_b``); the second only ``to_inputs``."""
    batch, n, _ = error_a.shape
    n_events = run.order.shape[1]
    # events in reverse time order from here on, so that the sums over later spikes are plain cumulative sums
    order, exp_s, exp_m = run.order.flip(1), run.exp_s.flip(1)[..., None], run.exp_m.flip(1)[..., None]
    spike_bin = (n_events - run.events).transpose(1, 2)

    def after_each_event(error: torch.Tensor) -> torch.Tensor:
        """(batch, E, n): for each input event, latest first, the sum of ``error`` over the spikes after it."""
        binned = torch.zeros(batch, n_events + 1, n, dtype=error.dtype, device=error.device)
        binned.scatter_add_(1, spike_bin, error.transpose(1, 2))
        return binned[:, :n_events].cumsum_(1)

    later_a, later_b = after_each_event(error_a), after_each_event(error_b)
    # each input event's contribution to the weight of its synapse (Eqs. 79-81) ...
    source = order // k_in
    per_event = torch.mul(later_a, exp_s).sub_(later_b * exp_m)
    grad_weight = torch.zeros_like(weight.T).index_add_(0, source.flatten(), per_event.reshape(-1, n)).T
    if not to_inputs:
        return grad_weight, None
    # ... and its error, summed over the neurons it reaches (Eq. 85)
    incoming = weight.T[source]
    grad_events = (exp_s[..., 0] / neuron.tau_s * (incoming * later_a).sum(-1)
                   - exp_m[..., 0] / neuron.tau * (incoming * later_b).sum(-1))
    return grad_weight, grad_events.flip(1)


class SpikeLayer(torch.autograd.Function):
    """Spike times of an exact LIF layer (:func:`.forward.simulate_layer`) with the BATS backward pass.
    Outputs ``times`` (differentiable), ``overflow`` and ``events`` (not)."""

    @staticmethod
    def forward(ctx, in_times, weight, neuron: Neuron, n_max: int, duration: float):
        """Simulate the layer, keeping what the backward pass needs."""
        run = simulate_layer(in_times, weight, neuron, n_max, duration)
        # the output times go through save_for_backward: kept on ctx they would make a reference cycle (output ->
        # its grad_fn -> ctx -> output) that only the garbage collector frees, batches of tensors too late
        ctx.run, ctx.neuron, ctx.in_shape = dataclasses.replace(run, times=None), neuron, in_times.shape
        ctx.save_for_backward(weight, run.times)
        ctx.mark_non_differentiable(run.overflow, run.events)
        return run.times, run.overflow, run.events

    @staticmethod
    def backward(ctx, grad_times, _overflow, _events):
        """The BATS gradients of the input times and the weights."""
        weight, times = ctx.saved_tensors
        run = dataclasses.replace(ctx.run, times=times)
        grad_weight, grad_in = backward(run, grad_times, weight, ctx.in_shape, ctx.neuron, ctx.needs_input_grad[0])
        return grad_in, grad_weight, None, None, None


@dataclass
class Spikes:
    """A layer's output: ``times`` (batch, n, n_max; inf = none), ``overflow`` (batch, n): the neurons that would
    have spiked more than ``n_max`` times; ``events``: the input events before each spike (its pattern)."""

    times: torch.Tensor
    overflow: torch.Tensor
    events: torch.Tensor

    @property
    def counts(self) -> torch.Tensor:
        return spike_counts(self.times)


def spike_layer(in_times: torch.Tensor, weight: torch.Tensor, neuron: Neuron, n_max: int,
                duration: float = math.inf) -> Spikes:
    """The spikes of a fully connected layer, differentiable in ``in_times`` and ``weight`` by BATS."""
    return Spikes(*SpikeLayer.apply(in_times, weight, neuron, n_max, duration))
