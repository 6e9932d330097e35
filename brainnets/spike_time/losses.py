"""Output decoding and losses (Bacho 2023, Sec 3.6.4).

Fast & Deep (time to first spike): the prediction is the output neuron that fires first (Eq. 90), and the loss
is the cross-entropy of the softmax over ``-t_o/τ_L`` (Eqs. 91-92), so ``∂L/∂t_o = (ŷ_o - softmax_o)/τ_L``
on first spikes. A silent neuron has no spike to move: it enters the loss at the end of the simulation and
gets no gradient (the thesis' code sets its NaN error to 0).

BATS (spike count): the prediction is the neuron with most spikes (Eq. 93), and the loss
``L = ½ sum_o (ŷ_o - n_o)^2`` (Eq. 94), with target counts ŷ (15 for the true class, 3 for the others). A count
is not differentiable in time; as the thesis' code does, every spike of neuron ``o`` receives the error
``-∂L/∂n_o = ŷ_o - n_o`` (:class:`SpikeCount`), so that descent moves its spikes earlier (and brings new ones
in) when it fires too little. Silent neurons get no gradient.
"""
from __future__ import annotations

import torch

from .bats import Spikes


class SpikeCount(torch.autograd.Function):
    """Spikes per neuron of ``times`` (..., n_max), whose gradient puts ``-∂L/∂n`` on each of the neuron's
    spikes (Sec 3.6.4 as the thesis' code implements it; any loss of the counts can use it)."""

    @staticmethod
    def forward(ctx, times):
        """The number of finite spike times per neuron."""
        spiked = torch.isfinite(times)
        ctx.save_for_backward(spiked)
        return spiked.sum(-1).to(times.dtype)

    @staticmethod
    def backward(ctx, grad_counts):
        """``-∂L/∂n`` on every spike of the neuron, nothing on empty slots."""
        (spiked,) = ctx.saved_tensors
        return torch.where(spiked, -grad_counts[..., None], 0)


def spike_count_loss(output: Spikes, labels: torch.Tensor, target_true: float, target_false: float) -> torch.Tensor:
    """Eq. 94, averaged over the batch."""
    counts = SpikeCount.apply(output.times)
    targets = torch.full_like(counts, target_false)
    targets[torch.arange(len(labels)), labels] = target_true
    return 0.5 * ((targets - counts) ** 2).sum(-1).mean()


def ttfs_cross_entropy(output: Spikes, labels: torch.Tensor, tau_loss: float, duration: float) -> torch.Tensor:
    """Eqs. 91-92 on first spikes, averaged over the batch; silent neurons count as firing at ``duration``."""
    first = output.times[..., 0]
    first = torch.where(torch.isfinite(first), first, duration)
    return torch.nn.functional.cross_entropy(-first / tau_loss, labels)


def predict_count(output: Spikes) -> torch.Tensor:
    """Eq. 93: the output neuron with most spikes."""
    return output.counts.argmax(-1)


def predict_first(output: Spikes) -> torch.Tensor:
    """Eq. 90: the output neuron that fires first."""
    return output.times[..., 0].argmin(-1)
