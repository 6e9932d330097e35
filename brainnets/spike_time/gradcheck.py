"""Exact spike-time gradients against central finite differences in float64 (bacho.md §7.5).

Small random two-layer networks (6 inputs with up to 3 spikes each, 5 hidden, 4 outputs), multi-spike (BATS,
``n_max = 20``) or single-spike (Fast & Deep, ``n_max = 1``). A finite difference only measures the gradient
where a ±eps move of the parameter keeps the spike pattern (which input events precede each spike, and the
overflows); entries where it changes are skipped and counted. :func:`report` is what ``gradcheck.json`` holds.
"""
from __future__ import annotations

import math

import torch

from .bats import spike_layer
from .losses import ttfs_cross_entropy
from .neuron import Neuron


def two_layer_problem(seed: int, n_max: int, k_in: int = 3):
    g = torch.Generator().manual_seed(seed)
    in_times = torch.rand(2, 6, k_in, generator=g, dtype=torch.float64) * 0.2
    in_times[0, 0, 0] = math.inf  # a missing input spike
    w1 = torch.randn(5, 6, generator=g, dtype=torch.float64) * 0.6 + 0.25
    w2 = torch.randn(4, 5, generator=g, dtype=torch.float64) * 0.5 + 0.3
    hidden, output = Neuron(0.1, 0.05), Neuron(0.1, 0.08)

    def forward(in_times, w1, w2):
        h = spike_layer(in_times, w1, hidden, n_max)
        o = spike_layer(h.times, w2, output, n_max)
        return o, (h.events, o.events, h.overflow, o.overflow)

    return (in_times, w1, w2), forward


def check_against_finite_differences(parameters, forward, loss_fn, eps=1e-6):
    """Largest error of the autograd gradient over the parameters whose ±eps perturbation keeps the spike pattern
    (the input events before every spike, and the overflows), relative to ``max(|fd|, 1e-2 max |fd|)`` per tensor (an
    entry much smaller than the largest is only known to the FD round-off, about 1e-10 here);
    and the number of entries checked and skipped."""
    parameters = [p.clone().requires_grad_() for p in parameters]
    output, pattern = forward(*parameters)
    loss_fn(output).backward()
    worst, checked, skipped = 0.0, 0, 0
    for index, parameter in enumerate(parameters):
        exact, fd = parameter.grad.flatten(), torch.zeros(parameter.numel(), dtype=torch.float64)
        keep = torch.zeros(parameter.numel(), dtype=torch.bool)
        for entry in range(parameter.numel()):
            values, same = [], True
            for sign in (1, -1):
                moved = [p.detach().clone() for p in parameters]
                moved[index].view(-1)[entry] += sign * eps
                with torch.no_grad():
                    out, moved_pattern = forward(*moved)
                    values.append(float(loss_fn(out)))
                same &= all(torch.equal(x, y) for x, y in zip(pattern, moved_pattern))
            if math.isfinite(values[0]) and math.isfinite(values[1]) and same:
                fd[entry], keep[entry] = (values[0] - values[1]) / (2 * eps), True
        scale = torch.clamp(fd[keep].abs(), min=1e-2 * float(fd[keep].abs().max()))
        worst = max(worst, float(((exact[keep] - fd[keep]).abs() / scale).max()))
        checked, skipped = checked + int(keep.sum()), skipped + int((~keep).sum())
    return worst, checked, skipped


def linear_in_times(seed):
    """A loss linear in every output spike time, with random coefficients (each spike gets its own error)."""
    coefficients = torch.randn(2, 4, 20, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return lambda out: torch.where(torch.isfinite(out.times), coefficients[..., :out.times.shape[-1]] * out.times,
                                   0).sum()


#: Finite-difference step per method. Fast & Deep's loss has logits t / tau_L of order 100 (tau_L = 5 ms), so at
#: 1e-6 the differences' round-off reaches 1e-6 of the smallest entries checked; at 1e-5 it is 5e-8. BATS's multi-spike
#: pattern changes more often at 1e-5 (19 of 344 entries skipped) and its curvature shows: 1e-6 suits it.
STEPS = {"bats": 1e-6, "fast_deep": 1e-5}


def report(seeds=(0, 1, 2, 3)) -> dict:
    """The largest relative error of BATS (a loss linear in all output spike times) and of Fast & Deep (its TTFS
    cross-entropy) over ``seeds`` random problems, with the entries checked and skipped."""
    rows = {}
    for method, n_max, k_in in (("bats", 20, 3), ("fast_deep", 1, 1)):
        worst, checked, skipped = 0.0, 0, 0
        for seed in seeds:
            parameters, forward = two_layer_problem(seed, n_max, k_in)
            loss = (linear_in_times(seed) if method == "bats" else
                    lambda out: ttfs_cross_entropy(out, torch.tensor([0, 2]), tau_loss=0.005, duration=1.0))
            error, n_checked, n_skipped = check_against_finite_differences(parameters, forward, loss, STEPS[method])
            worst, checked, skipped = max(worst, error), checked + n_checked, skipped + n_skipped
        rows[method] = {"max_relative_error": worst, "entries_checked": checked, "entries_skipped": skipped,
                        "n_max": n_max, "eps": STEPS[method], "seeds": list(seeds)}
    return {"dtype": "float64", **rows}
