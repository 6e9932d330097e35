"""Surrogate gradients of the spike: a Heaviside step forward, a smooth stand-in for its derivative backward.

Each surrogate is a small callable ``spike(u, threshold, since)`` that returns the spikes ``o = Θ(u - v)``
(strictly above threshold, as Rathi's Eqs. 4.3 and 5.10 and Jiang's Eq. 2 all write it) and decides what
the backward pass sees:

* :class:`SpikeTime`: STDB (Rathi 2021, Sec 4.2, Eqs. 4.11-4.12). ``∂o/∂u = α exp(-β Δt)`` with ``Δt`` the
  number of steps since the neuron's most recent earlier spike (``since``); it does not depend on ``u`` at all,
  only on the neuron's history. snnTorch's surrogates are functions of ``u - v`` alone and cannot express it,
  so it is our own :class:`torch.autograd.Function`.
* :class:`Linear`: DIET-SNN (Rathi 2021, Sec 5.3.4, Eqs. 5.10, 5.12-5.13). The spike is a function of the
  normalised potential ``z = u/v - 1``, and ``∂o/∂z = γ max(0, 1 - abs(z))``. Autograd then supplies
  ``∂z/∂u = 1/v`` (Eq. 5.13) and ``∂z/∂v = -u/v^2``, which with the soft reset's ``-v o`` term in ``u`` is
  Eq. 5.15. snnTorch's triangular surrogate takes ``u - v``, whose derivative in ``v`` is ``-1``, not
  ``-u/v^2``; so this one is our own too.
* :class:`ArcTan`: Jiang & Zhang, Eq. 4, ``∂o/∂u = a / (2 (1 + (π a (u - v) / 2)^2))`` with ``a = 3``. This is
  exactly snnTorch's ``surrogate.atan(alpha=a)`` (strict ``>`` forward, the same backward), which it calls.

``since`` is ignored by the surrogates that do not need it; a layer tracks it only for those whose
``needs_last_spike`` is true.
"""
from __future__ import annotations

import math

import torch


class SpikeTimeFunction(torch.autograd.Function):
    """Heaviside of ``x = u - v`` forward; ``α exp(-β Δt)`` backward (Eq. 4.11), whatever ``x`` is."""

    @staticmethod
    def forward(ctx, x, since, alpha, beta):
        """Spikes where ``x > 0``; ``since`` (steps since the last spike, same shape) is kept for backward."""
        ctx.save_for_backward(since)
        ctx.alpha, ctx.beta = alpha, beta
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_spikes):
        """Eq. 4.11 on ``x``; nothing flows to ``since``, ``alpha`` or ``beta``."""
        (since,) = ctx.saved_tensors
        return grad_spikes * ctx.alpha * torch.exp(-ctx.beta * since), None, None, None


class LinearFunction(torch.autograd.Function):
    """Heaviside of ``z`` forward; ``γ max(0, 1 - abs(z))`` backward (Eq. 5.12)."""

    @staticmethod
    def forward(ctx, z, gamma):
        """Spikes where ``z > 0``."""
        ctx.save_for_backward(z)
        ctx.gamma = gamma
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad_spikes):
        """Eq. 5.12; nothing flows to ``gamma``."""
        (z,) = ctx.saved_tensors
        return grad_spikes * ctx.gamma * torch.clamp(1 - z.abs(), min=0), None


class SpikeTime:
    """STDB's surrogate (Eqs. 4.11-4.12): ``α exp(-β Δt)``, ``Δt`` steps since the neuron's last spike."""

    needs_last_spike = True

    def __init__(self, alpha: float, beta: float):
        self.alpha, self.beta = float(alpha), float(beta)

    def __call__(self, u: torch.Tensor, threshold: torch.Tensor, since: torch.Tensor | None) -> torch.Tensor:
        if since is None:
            raise ValueError("SpikeTime needs the steps since each neuron's last spike")
        return SpikeTimeFunction.apply(u - threshold, since.to(u.dtype), self.alpha, self.beta)

    def __repr__(self) -> str:
        return f"SpikeTime(alpha={self.alpha}, beta={self.beta})"


class Linear:
    """DIET-SNN's surrogate (Eqs. 5.10, 5.12): triangular in ``z = u/v - 1``, peak ``γ`` at threshold."""

    needs_last_spike = False

    def __init__(self, gamma: float):
        self.gamma = float(gamma)

    def __call__(self, u: torch.Tensor, threshold: torch.Tensor, since: torch.Tensor | None = None) -> torch.Tensor:
        return LinearFunction.apply(u / threshold - 1, self.gamma)

    def __repr__(self) -> str:
        return f"Linear(gamma={self.gamma})"


class ArcTan:
    """Jiang & Zhang's surrogate (Eq. 4): snnTorch's ``atan`` of ``u - v`` with slope ``a``, peak ``a/2``;
    ``snntorch`` is that function itself, for snnTorch's neurons."""

    needs_last_spike = False

    def __init__(self, a: float):
        from snntorch import surrogate

        self.a = float(a)
        self.snntorch = surrogate.atan(alpha=self.a)

    def __call__(self, u: torch.Tensor, threshold: torch.Tensor, since: torch.Tensor | None = None) -> torch.Tensor:
        # snnTorch's forward returns float32 whatever its input; the layer's dtype is kept
        return self.snntorch(u - threshold).to(u.dtype)

    def __repr__(self) -> str:
        return f"ArcTan(a={self.a})"


def arctan_derivative(x, a: float):
    """Eq. 4 itself, ``a / (2 (1 + (π a x / 2)^2))`` at ``x = u - v``: for tests and plots."""
    return a / (2 * (1 + (math.pi / 2 * a * x) ** 2))


def make(kind: str, **constants: float):
    """The surrogate named ``kind`` ("spike_time", "linear" or "arctan") with its constants from a model file."""
    kinds = {"spike_time": SpikeTime, "linear": Linear, "arctan": ArcTan}
    if kind not in kinds:
        raise ValueError(f"unknown surrogate {kind!r}: expected one of {', '.join(kinds)}")
    return kinds[kind](**constants)
