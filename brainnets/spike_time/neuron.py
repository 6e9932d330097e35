"""The current-based LIF neuron of BATS and Fast & Deep, in SRM form (Bacho 2023, Secs 2.3.4, 3.2-3.3).

With an exponential synaptic current and a subtractive reset the membrane potential is (Eq. 62, u_rest = 0)

    u_i(t) = sum_j w_ij sum_z Θ(t - t_j^z) [exp(-(t - t_j^z)/tau) - exp(-(t - t_j^z)/tau_s)]
             - Δ sum_k Θ(t - t_i^k) exp(-(t - t_i^k)/tau),

in the thesis' normalised units (the kernel's amplitude is one: it peaks at 1/4). The neuron spikes when
``u_i`` reaches the threshold ϑ, drops by ``Δ`` (the synaptic current is not reset; no refractory period).
The membrane time constant is tied to the synaptic one, ``tau = 2 tau_s``, so ``exp(-t/tau_s) = X^2`` with
``X = exp(-t/tau)`` and, between events, the potential is a quadratic in ``X``:

    u_i(t) = b X - a X^2,    a = sum_j w_ij sum_z exp(t_j^z/tau_s),
                             b = sum_j w_ij sum_z exp(t_j^z/tau) - Δ sum_k exp(t_i^k/tau),

the sums running over the events before ``t`` (a uses tau_s, b uses tau and carries the reset: the convention
of the thesis' Eqs. 72-89 and code; its printed Eqs. 66-67 swap them). The upward threshold crossing is the
larger root ``X = (b + x)/(2a)`` of ``a X^2 - b X + ϑ = 0``, hence the closed form (Eqs. 68-69)

    t = tau ln(2a / (b + x)),    x = sqrt(b^2 - 4 a ϑ),

which exists only for ``a > 0`` (a net excitatory current) and ``x`` real. The spike's partial derivatives,
holding the neuron's earlier spikes fixed (Eqs. 73-74, 86), are

    ∂t/∂a = (tau/a)(1 + ϑ e^{t/tau}/x),  ∂t/∂b = -tau/x,  ∂t_i^k/∂t_i^z = Δ e^{t_i^z/tau}/x_i^k  (z < k).

``x e^{-t/tau} = I(t) - ϑ``, the synaptic current at the spike minus the threshold: the slope of ``u`` there
times tau. It vanishes at a "hair-trigger" spike, where the derivatives diverge.

Units: the thesis' code (bats) and Brian2 write the same model as ``du/dt = -u/tau + v``, ``dv/dt = -v/tau_s``,
``v += w`` per input, whose potential is ``tau`` times the one above: a threshold θ̂ there is ϑ = θ̂/tau here
(:meth:`Neuron.from_bats`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Neuron:
    """``tau_s`` (s), threshold ϑ and reset Δ in normalised units; Δ = ϑ (u_rest = 0) unless given."""

    tau_s: float
    threshold: float
    reset: float | None = None

    @property
    def tau(self) -> float:
        return 2 * self.tau_s

    @property
    def delta(self) -> float:
        return self.threshold if self.reset is None else self.reset

    @classmethod
    def from_bats(cls, tau_s: float, theta: float) -> "Neuron":
        """The neuron whose bats/Brian2 threshold (and reset) is ``theta``: ϑ = θ̂/tau."""
        return cls(tau_s, theta / (2 * tau_s))


def crossing(a: torch.Tensor, b: torch.Tensor, neuron: Neuron) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eqs. 68-69 elementwise: the time ``t`` of the upward threshold crossing of ``b X - a X^2``, with ``x``
    and ``e^{t/tau}``. Where there is none (``a <= 0`` or ``b^2 < 4 a ϑ``) ``t`` is NaN; the caller also
    checks that ``t`` lies in the interval where ``a`` and ``b`` hold."""
    discriminant = b * b - 4 * a * neuron.threshold
    x = torch.sqrt(discriminant.clamp(min=0))
    exp_tau = 2 * a / (b + x)
    exists = (discriminant >= 0) & (a > 0) & (b + x > 0)
    t = torch.where(exists, neuron.tau * torch.log(torch.where(exists, exp_tau, 1)), torch.nan)
    return t, x, exp_tau


def time_partials(a: torch.Tensor, x: torch.Tensor, exp_tau: torch.Tensor, neuron: Neuron,
                  bounded: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Eqs. 73-74 at a spike: ``f1 = ∂t/∂a`` and ``f2 = -∂t/∂b``. Both carry ``1/x``, which diverges at a
    hair-trigger spike; ``bounded`` gives SFDFA's modified partials (Eq. 162: ``I - ϑ`` replaced by the current
    ``I = a e^{-t/tau_s}``, which is >= ϑ at a spike), ``f1 = tau/a`` and ``f2 = tau e^{t/tau}/a``."""
    if bounded:
        return neuron.tau / a, neuron.tau * exp_tau / a
    return neuron.tau / a * (1 + neuron.threshold * exp_tau / x), neuron.tau / x


def potential(t: np.ndarray, in_times: np.ndarray, weights: np.ndarray, out_times: np.ndarray,
              neuron: Neuron) -> np.ndarray:
    """Eq. 62 for one neuron at times ``t`` (1-d): inputs ``in_times`` (n_in, k; inf = no spike) of ``weights``
    (n_in,), own spikes ``out_times``. Resets count from strictly after their spike, so at a spike time this is
    the potential that reached threshold."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    in_times = np.asarray(in_times, dtype=np.float64)
    s = np.maximum(t - in_times.reshape(-1), 0)
    kernel = np.where(t >= in_times.reshape(-1), np.exp(-s / neuron.tau) - np.exp(-s / neuron.tau_s), 0)
    r = np.maximum(t - np.asarray(out_times), 0)
    resets = np.where(r > 0, np.exp(-r / neuron.tau), 0).sum(-1)
    return kernel @ np.repeat(weights, in_times.shape[1]) - neuron.delta * resets
