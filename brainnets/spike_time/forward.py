"""Event-driven exact simulation of a fully connected layer of :mod:`brainnets.spike_time.neuron` LIF neurons (Sec 3.6.6).

Layers have no lateral or recurrent connections, so each is simulated over the whole duration, one after the
other. Per sample the presynaptic events are sorted in time and visited in order; after event ``z`` every
neuron's coefficients hold ``a += w_ij e^{t_z/tau_s}``, ``b += w_ij e^{t_z/tau}`` until the next event, and
its spikes in ``(t_z, t_{z+1}]`` are found in closed form (:func:`brainnets.spike_time.neuron.crossing`), one after the other:
each spike lowers ``b`` by ``Δ e^{t/tau}`` (the reset), after which the next crossing, if any, is sought from
the spike on. The loop over events is sequential; on the CPU it runs compiled, one job per (sample, neuron)
(:mod:`.kernel`), elsewhere in torch, vectorised over (sample, neuron).

Spikes go to a buffer of ``n_max`` slots per neuron, padded with ``+inf``. A neuron whose ``n_max + 1``-th
spike is found stops there and is flagged in ``overflow`` (the thesis' simulator stops it silently). Fast &
Deep's single-spike neurons are ``n_max = 1``: they stop after their first spike by design, and ``overflow``
then only says which would have fired again.

For the backward pass (:mod:`.bats`) each spike keeps ``a``, ``x``, ``e^{t/tau}`` and ``events``, the number
of the sample's sorted input events before it: the inputs that shaped it are exactly those events.

Results are stored in the dtype of the inputs: float64 is the reference, float32 the fast path of the backward
pass (``e^{t/tau_s}`` overflows float32 beyond ``t = 88 tau_s``, 11 s for tau_s = 130 ms). The compiled loop
computes the spikes themselves in float64 either way; the torch loop in the inputs' dtype.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import kernel
from .neuron import Neuron, crossing


@dataclass
class LayerRun:
    """One layer's simulation. ``times``, ``a``, ``x``, ``exp_tau``, ``events``: (batch, n, n_max), per spike
    slot (``times`` inf, ``a``, ``x`` 1, ``exp_tau`` and ``events`` 0 in empty slots). ``order``: (batch, E),
    the flat input slots ``j * k_in + k`` in time order; ``exp_s``, ``exp_m``: (batch, E), their
    ``e^{t/tau_s}`` and ``e^{t/tau}`` (0 past a sample's last event). ``overflow``: (batch, n) bool."""

    times: torch.Tensor
    a: torch.Tensor
    x: torch.Tensor
    exp_tau: torch.Tensor
    events: torch.Tensor
    order: torch.Tensor
    exp_s: torch.Tensor
    exp_m: torch.Tensor
    overflow: torch.Tensor

    @property
    def counts(self) -> torch.Tensor:
        return spike_counts(self.times)


def spike_counts(times: torch.Tensor) -> torch.Tensor:
    """Spikes per neuron of spike-time buffers (..., n_max; inf = empty slot)."""
    return torch.isfinite(times).sum(-1)


def sorted_events(in_times: torch.Tensor, neuron: Neuron) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                     torch.Tensor]:
    """The events of ``in_times`` (batch, n_in, k_in) in time order, cut after the busiest sample's last:
    times, flat slots, ``e^{t/tau_s}`` and ``e^{t/tau}`` (both 0 for padding)."""
    # a spike layer's slots fill from the first, mostly not far: only the slots in use are sorted
    k_in = in_times.shape[-1]
    used = int(torch.isfinite(in_times).sum(-1).max()) if in_times.numel() else 0
    times, order = torch.sort(in_times[..., :used].flatten(1), dim=1, stable=True)
    if used < k_in:
        order = order // used * k_in + order % used
    n_events = int(torch.isfinite(times).sum(1).max()) if times.numel() else 0
    times, order = times[:, :n_events], order[:, :n_events]
    real = torch.isfinite(times)
    safe = torch.where(real, times, 0)
    return (times, order, torch.where(real, torch.exp(safe / neuron.tau_s), 0),
            torch.where(real, torch.exp(safe / neuron.tau), 0))


@torch.no_grad()
def simulate_layer(in_times: torch.Tensor, weight: torch.Tensor, neuron: Neuron, n_max: int,
                   duration: float = math.inf) -> LayerRun:
    """Exact spikes up to ``duration`` (s) of ``weight.shape[0]`` neurons driven by ``in_times`` (batch, n_in,
    k_in; s, inf = none) through ``weight`` (n, n_in): the compiled CPU loop (:mod:`.kernel`) for CPU tensors,
    the vectorised torch loop on other devices."""
    if in_times.device.type != "cpu":
        return simulate_layer_torch(in_times, weight, neuron, n_max, duration)
    batch, _, k_in = in_times.shape
    times, order, exp_s, exp_m = sorted_events(in_times, neuron)
    out = kernel.buffers(batch, weight.shape[0], n_max)
    as64 = lambda tensor: tensor.detach().to(torch.float64).numpy()
    kernel.simulate(as64(times), (order // k_in).numpy(), as64(exp_s), as64(exp_m),
                    torch.isfinite(times).sum(1).numpy(), as64(weight), neuron.threshold, neuron.delta, neuron.tau,
                    n_max, duration, out["times"], out["a"], out["x"], out["exp_tau"], out["events"],
                    out["overflow"])
    like = lambda key: torch.from_numpy(out[key]).to(in_times.dtype)
    return LayerRun(like("times"), like("a"), like("x"), like("exp_tau"), torch.from_numpy(out["events"]), order,
                    exp_s, exp_m, torch.from_numpy(out["overflow"]))


@torch.no_grad()
def simulate_layer_torch(in_times: torch.Tensor, weight: torch.Tensor, neuron: Neuron, n_max: int,
                         duration: float = math.inf) -> LayerRun:
    """:func:`simulate_layer` vectorised over (sample, neuron) in torch, one event after the other."""
    batch, _, k_in = in_times.shape
    n = weight.shape[0]
    times, order, exp_s, exp_m = sorted_events(in_times, neuron)
    source = order // k_in
    like = dict(dtype=in_times.dtype, device=in_times.device)
    a, b = torch.zeros(batch, n, **like), torch.zeros(batch, n, **like)
    last = torch.full((batch, n), -math.inf, **like)
    count = torch.zeros(batch, n, dtype=torch.long, device=in_times.device)
    overflow = torch.zeros(batch, n, dtype=torch.bool, device=in_times.device)
    out = {key: torch.full((batch, n, n_max), fill, **like)
           for key, fill in (("times", math.inf), ("a", 1.0), ("x", 1.0), ("exp_tau", 0.0))}
    events = torch.zeros(batch, n, n_max, dtype=torch.long, device=in_times.device)
    end = torch.cat([times[:, 1:], torch.full((batch, 1), math.inf, **like)], 1).clamp(max=duration)
    for z in range(times.shape[1]):
        w = weight.T[source[:, z]]
        a += w * exp_s[:, z, None]
        b += w * exp_m[:, z, None]
        last = torch.maximum(last, times[:, z, None])
        live = torch.isfinite(times[:, z, None]) & ~overflow
        while True:
            t, x, exp_tau = crossing(a, b, neuron)
            fires = live & (t > last) & (t <= end[:, z, None])
            if not fires.any():
                break
            full = fires & (count == n_max)
            overflow |= full
            live &= ~full
            fires &= ~full
            sample, cell = fires.nonzero(as_tuple=True)
            slot = count[sample, cell]
            for key, value in (("times", t), ("a", a), ("x", x), ("exp_tau", exp_tau)):
                out[key][sample, cell, slot] = value[sample, cell]
            events[sample, cell, slot] = z + 1
            b -= torch.where(fires, neuron.delta * exp_tau, 0)
            last = torch.where(fires, t, last)
            count += fires
    return LayerRun(out["times"], out["a"], out["x"], out["exp_tau"], events, order, exp_s, exp_m, overflow)
