"""The loops of :mod:`brainnets.spike_time` compiled for the CPU (numba): the forward event loop, one job per
(sample, neuron), and the backward pass's sums over events, one job per neuron or per sample.

The forward loop is the thesis' simulator design (Sec 3.6.6: one GPU thread per sample and neuron walking
through the sorted input events) on CPU threads. Each job keeps its neuron's ``a`` and ``b`` as scalars, so the
cost is one pass over the sample's events per neuron, with no tensor allocated per event. Everything computes
in float64 whatever the storage dtype; the rules are those of the vectorised torch versions used on other
devices (:func:`brainnets.spike_time.forward.simulate_layer_torch`, :func:`brainnets.spike_time.bats.event_sums_torch`),
and the tests hold each pair equal.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def simulate(times, source, exp_s, exp_m, n_events, weight, threshold, delta, tau, n_max, duration,
             out_times, out_a, out_x, out_exp_tau, out_events, overflow):
    """Fill the ``out_*`` buffers (batch, n, n_max) and ``overflow`` (batch, n) in place. ``times``, ``source``,
    ``exp_s``, ``exp_m``: (batch, E) sorted input events (time, presynaptic neuron, ``e^{t/tau_s}``,
    ``e^{t/tau}``), of which the first ``n_events[sample]`` are real; ``weight``: (n, n_in)."""
    batch, n = out_times.shape[0], out_times.shape[1]
    exp_duration = math.exp(duration / tau)
    for job in numba.prange(batch * n):
        sample, cell = job // n, job % n
        a = b = 0.0
        last = -math.inf
        count = 0
        for z in range(n_events[sample]):
            w = weight[cell, source[sample, z]]
            a += w * exp_s[sample, z]
            b += w * exp_m[sample, z]
            last = max(last, times[sample, z])
            while True:
                # the closed form of brainnets.spike_time.neuron.crossing, step by step
                discriminant = b * b - 4 * a * threshold
                if a <= 0 or discriminant < 0:
                    break
                x = math.sqrt(discriminant)
                if b + x <= 0:
                    break
                exp_tau = 2 * a / (b + x)
                # most crossings lie beyond the next event: seen without a logarithm (e^{t/tau} grows with t;
                # the margin covers e^{t/tau} of float32 inputs), then the rule itself, on t
                exp_end = exp_m[sample, z + 1] if z + 1 < n_events[sample] else math.inf
                if exp_tau > min(exp_end, exp_duration) * (1 + 1e-6):
                    break
                t = tau * math.log(exp_tau)
                end = min(times[sample, z + 1] if z + 1 < n_events[sample] else math.inf, duration)
                if not (t > last and t <= end):
                    break
                if count == n_max:
                    overflow[sample, cell] = True
                    break
                out_times[sample, cell, count] = t
                out_a[sample, cell, count] = a
                out_x[sample, cell, count] = x
                out_exp_tau[sample, cell, count] = exp_tau
                out_events[sample, cell, count] = z + 1
                b -= delta * exp_tau
                last = t
                count += 1
            if overflow[sample, cell]:
                break


@numba.njit(cache=True, inline="always")
def _later_errors(error_a, error_b, events, sample, cell, z, k, later_a, later_b):
    """Walking a neuron's spikes backwards from ``k``: add the errors of those that followed input event ``z``
    to the sums ``later_a``, ``later_b``; return the next spike to look at and the sums."""
    while k >= 0 and events[sample, cell, k] > z:
        later_a += error_a[sample, cell, k]
        later_b += error_b[sample, cell, k]
        k -= 1
    return k, later_a, later_b


@numba.njit(parallel=True, cache=True)
def weight_gradient(error_a, error_b, events, counts, source, exp_s, exp_m, n_events, grad_weight):
    """Add to ``grad_weight`` (n, n_in) each input event's contribution (Eqs. 79-81): the event's ``e^{t/tau_s}``
    times the sum of ``error_a`` over the spikes after it, minus its ``e^{t/tau}`` times that of ``error_b``.
    ``error_a``, ``error_b``, ``events``: (batch, n, n_max) per spike; ``counts``: (batch, n). One job per neuron
    (its row of ``grad_weight``), walking each sample's events from the last to the first."""
    batch, n = counts.shape
    for cell in numba.prange(n):
        for sample in range(batch):
            k, later_a, later_b = counts[sample, cell] - 1, 0.0, 0.0
            for z in range(n_events[sample] - 1, -1, -1):
                k, later_a, later_b = _later_errors(error_a, error_b, events, sample, cell, z, k, later_a, later_b)
                if k < counts[sample, cell] - 1:  # some spike followed this event
                    grad_weight[cell, source[sample, z]] += later_a * exp_s[sample, z] - later_b * exp_m[sample, z]


@numba.njit(parallel=True, cache=True)
def event_gradient(error_a, error_b, events, counts, source, exp_s, exp_m, n_events, weight, tau_s, tau,
                   grad_events):
    """Add to ``grad_events`` (batch, E) each input event's error (Eq. 85): over the neurons it reaches, its
    weight times the sums of :func:`weight_gradient`, scaled by ``e^{t/tau_s}/tau_s`` and ``e^{t/tau}/tau``.
    One job per sample."""
    batch, n = counts.shape
    for sample in numba.prange(batch):
        for cell in range(n):
            k, later_a, later_b = counts[sample, cell] - 1, 0.0, 0.0
            for z in range(n_events[sample] - 1, -1, -1):
                k, later_a, later_b = _later_errors(error_a, error_b, events, sample, cell, z, k, later_a, later_b)
                if k < counts[sample, cell] - 1:
                    grad_events[sample, z] += weight[cell, source[sample, z]] * (
                        later_a * exp_s[sample, z] / tau_s - later_b * exp_m[sample, z] / tau)


def buffers(batch: int, n: int, n_max: int) -> dict[str, np.ndarray]:
    """Empty spike buffers in float64, with the fill of empty slots (:class:`.forward.LayerRun`)."""
    shape = (batch, n, n_max)
    return dict(times=np.full(shape, np.inf), a=np.ones(shape), x=np.ones(shape), exp_tau=np.zeros(shape),
                events=np.zeros(shape, np.int64), overflow=np.zeros((batch, n), np.bool_))


def set_threads(threads: int) -> None:
    """torch's and numba's thread counts, both ``threads``."""
    # the compiled loop runs on numba's OpenMP threads, and each of its launches sets the OpenMP thread count
    # that torch shares: only both set alike keep either at the number asked for
    import torch
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


@contextmanager
def threads_set(threads: int):
    """:func:`set_threads` inside the block, the previous counts restored after it."""
    import torch
    before = torch.get_num_threads(), numba.get_num_threads()
    set_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before[1])
        torch.set_num_threads(before[0])
