"""Five ways to obtain the weight updates of a fully connected network (Bacho 2023, ch. 4).

The network is ``a^(l) = W^(l) y^(l-1)``, ``y^(l) = σ(a^(l))`` for the hidden layers ``l < L`` and a linear
output ``y^(L) = a^(L)`` read by a softmax cross-entropy (Sec 4.8, Eqs. 136-137); there are no biases, as in
Algs. 3-5. With ``e = ∂L/∂y^(L)`` and the local gradient ``∂y^(l)/∂W^(l)``, every method below is some
estimate of

    g(W^(l)) = (e ∂y^(L)/∂y^(l) ⊙ σ'(a^(l))) ⊗ y^(l-1),

averaged over the mini-batch:

- **BP**: the exact gradient, by reverse-mode autograd.
- **FG-W** (Alg. 3, Eqs. 100-101): one Gaussian direction ``V^(l)`` per weight matrix; forward-mode AD gives the
  directional derivative ``d = Σ_l <∂L/∂W^(l), V^(l)>`` and the estimate is ``d V^(l)``. Unbiased, variance
  O(n_1 n_0) (Prop. 5).
- **FG-A** (Alg. 4, Eqs. 102-103): one Gaussian vector ``u^(l)`` per layer and sample added to the tangent of the
  activities; ``d = Σ_l <∂L/∂y^(l), u^(l)>`` and the estimate is ``(d u^(l) ⊙ σ'(a^(l))) ⊗ y^(l-1)``.
  Unbiased, variance O(n_1) (Prop. 6).
- **DFA** (Nøkland 2016, Eq. 104): ``∂y^(L)/∂y^(l)`` is replaced by a fixed random matrix ``B^(l)``; the output
  layer keeps its exact gradient.
- **FDFA** (Alg. 5, Eqs. 105-113): as DFA, but ``B^(l)`` learns ``E[∂y^(L)/∂y^(l)]``. The hidden activities are
  perturbed as in FG-A, forward-mode AD returns the vector ``d = Σ_l ∂y^(L)/∂y^(l) u^(l)`` at the output, and

      B^(l) <- (1 - α) B^(l) + α d ⊗ u^(l)                                          (Eq. 106)

  an exponential average (a momentum) whose estimation variance is O(α^2) (Prop. 7). ``B^(l)`` starts at 0.
  Alg. 5 line 22 prints ``- α d ⊗ v``; that sign is a typo (Eq. 106 and the fixed point Eq. 110 need ``+``).

Every method is an :data:`Estimator`, ``(net, x, labels, generator) -> [g(W^(1)), ..., g(W^(L))]``, so that a
training loop (:func:`train_step`) can call any of them; FDFA also updates ``net.feedback`` in place, before the
weights use it (Alg. 5 lines 22-23).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch.func import jvp

Layers = list[torch.Tensor]  # one tensor per layer

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


@dataclass
class Net:
    """The weights ``W^(l)`` (out, in) of a fully connected network, its hidden activation, and the direct
    feedback matrices ``B^(l)`` (n_L, n_l) of its hidden layers (DFA and FDFA only; empty otherwise)."""

    weights: list[torch.Tensor]
    activation: str = "relu"
    feedback: list[torch.Tensor] = field(default_factory=list)

    @property
    def sigma(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return ACTIVATIONS[self.activation]

    def sigma_prime(self, a: torch.Tensor) -> torch.Tensor:
        if self.activation == "relu":
            return (a > 0).to(a.dtype)
        return 1 - torch.tanh(a) ** 2


def make_net(sizes: list[int], activation: str = "relu", *, feedback: str | None = None,
             generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> Net:
    """A network with layer sizes ``[n_0, n_1, ..., n_L]`` and Kaiming-uniform weights (Sec 4.8.3), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as ``torch.nn.Linear`` draws them. ``feedback``: ``"random"`` for DFA
    (fixed Kaiming-uniform ``B^(l)``, Sec 4.8.3, with the bound ``1/sqrt(n_l)`` that ``W^(L)``, which they stand in
    for in the last hidden layer, also has), ``"zero"`` for FDFA
    (Alg. 5 line 3), ``None`` for the other methods."""
    def uniform(rows: int, cols: int, fan_in: int) -> torch.Tensor:
        bound = 1 / math.sqrt(fan_in)
        return (torch.rand(rows, cols, generator=generator, dtype=dtype) * 2 - 1) * bound

    weights = [uniform(n_out, n_in, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    n_out = sizes[-1]
    if feedback is None:
        matrices = []
    elif feedback == "random":
        matrices = [uniform(n_out, n, n) for n in sizes[1:-1]]
    elif feedback == "zero":
        matrices = [torch.zeros(n_out, n, dtype=dtype) for n in sizes[1:-1]]
    else:
        raise ValueError(f"feedback must be 'random', 'zero' or None, got {feedback!r}")
    return Net(weights, activation, matrices)


def forward(net: Net, x: torch.Tensor, weights: list[torch.Tensor] | None = None,
            noise: list[torch.Tensor] | None = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``([a^(1), ..., a^(L)], [y^(0), ..., y^(L)])`` for inputs ``x`` (batch, n_0). ``weights`` replaces
    ``net.weights`` and ``noise[l-1]`` is added to ``y^(l)`` for the first ``len(noise)`` layers: the two
    arguments forward-mode AD differentiates."""
    weights = net.weights if weights is None else weights
    noise = noise or []
    ys, pre = [x], []
    for index, w in enumerate(weights):
        a = ys[-1] @ w.T
        y = a if index == len(weights) - 1 else net.sigma(a)
        if index < len(noise):
            y = y + noise[index]
        pre.append(a)
        ys.append(y)
    return pre, ys


def losses(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The softmax cross-entropy of each sample (Eqs. 136-137)."""
    return F.cross_entropy(outputs, labels, reduction="none")


def output_error(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``e = ∂L/∂y^(L)`` of each sample: softmax minus the one-hot label."""
    return torch.softmax(outputs, -1) - F.one_hot(labels, outputs.shape[-1]).to(outputs.dtype)


def local_update(delta: torch.Tensor, y_prev: torch.Tensor) -> torch.Tensor:
    """``mean_batch(δ ⊗ y^(l-1))``: a layer's weight update from the error ``δ = ∂L/∂a^(l)`` of its neurons."""
    return delta.T @ y_prev / delta.shape[0]


def gaussians_like(tensors: list[torch.Tensor], generator: torch.Generator | None) -> list[torch.Tensor]:
    return [torch.randn(t.shape, generator=generator, dtype=t.dtype) for t in tensors]


Estimator = Callable[[Net, torch.Tensor, torch.Tensor, "torch.Generator | None"], Layers]


def bp(net: Net, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None) -> Layers:
    """The gradient of the mean loss, by reverse-mode autograd."""
    weights = [w.detach().requires_grad_() for w in net.weights]
    _, ys = forward(net, x, weights)
    return list(torch.autograd.grad(losses(ys[-1], labels).mean(), weights))


def fg_w(net: Net, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None) -> Layers:
    """Weight-perturbed forward gradient (Alg. 3): ``d V^(l)`` with ``d`` the derivative of the mean loss along
    ``V``. One direction per mini-batch, since a direction per sample would need a copy of the weights each."""
    directions = gaussians_like(net.weights, generator)
    _, d = jvp(lambda weights: losses(forward(net, x, weights)[1][-1], labels).mean(), (net.weights,), (directions,))
    return [d * v for v in directions]


def _activity_jvp(net: Net, x: torch.Tensor, read: Callable[[torch.Tensor], torch.Tensor], layers: int,
                  generator: torch.Generator | None):
    """Perturb the activities of the first ``layers`` layers with one ``u^(l)`` per sample and return
    ``(a, y, u, d)``: the forward pass and the derivative of ``read(y^(L))`` along ``u`` (per sample, because
    sample b's output depends on sample b's perturbation only)."""
    zeros = [torch.zeros(x.shape[0], w.shape[0], dtype=x.dtype) for w in net.weights[:layers]]
    u = gaussians_like(zeros, generator)

    def run(noise):
        pre, ys = forward(net, x, noise=noise)
        return read(ys[-1]), (pre, ys)

    _, d, (pre, ys) = jvp(run, (zeros,), (u,), has_aux=True)
    return pre, ys, u, d


def fg_a(net: Net, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None) -> Layers:
    """Activity-perturbed forward gradient (Alg. 4): ``(d u^(l) ⊙ σ'(a^(l))) ⊗ y^(l-1)``.

    Every layer, the output included, is perturbed, as Eq. 102 sums over ``l = 1..L``: Alg. 4 adds ``v^(L)``
    to no tangent yet uses it in the update of ``W^(L)``, which would make that estimate pure noise."""
    layers = len(net.weights)
    pre, ys, u, d = _activity_jvp(net, x, lambda out: losses(out, labels), layers, generator)
    slopes = [net.sigma_prime(a) for a in pre[:-1]] + [torch.ones_like(pre[-1])]
    return [local_update(d[:, None] * u_l * s, y_prev) for u_l, s, y_prev in zip(u, slopes, ys[:-1])]


def _direct_feedback(net: Net, pre: Layers, ys: Layers, labels: torch.Tensor) -> Layers:
    """DFA's updates (Eq. 104 / 112): ``(e B^(l) ⊙ σ'(a^(l))) ⊗ y^(l-1)`` for the hidden layers, the exact
    ``e ⊗ y^(L-1)`` for the output layer."""
    e = output_error(ys[-1], labels)
    hidden = [local_update(e @ b * net.sigma_prime(a), y_prev) for b, a, y_prev in zip(net.feedback, pre, ys)]
    return hidden + [local_update(e, ys[-2])]


def dfa(net: Net, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None) -> Layers:
    """Direct feedback alignment with the fixed matrices ``net.feedback``."""
    pre, ys = forward(net, x)
    return _direct_feedback(net, pre, ys, labels)


def fdfa(net: Net, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None, *,
         alpha: float = 1e-4) -> list[torch.Tensor]:
    """Forward direct feedback alignment (Alg. 5): learn ``net.feedback`` by Eq. 106 with feedback learning rate
    ``alpha`` from the batch mean of ``d ⊗ u^(l)``, then update as DFA does."""
    hidden = len(net.weights) - 1
    pre, ys, u, d = _activity_jvp(net, x, lambda out: out, hidden, generator)
    for b, u_l in zip(net.feedback, u):
        b.mul_(1 - alpha).add_(d.T @ u_l / x.shape[0], alpha=alpha)
    return _direct_feedback(net, pre, ys, labels)


METHODS: dict[str, Estimator] = {"BP": bp, "FG-W": fg_w, "FG-A": fg_a, "DFA": dfa, "FDFA": fdfa}


def feedback_kind(method: str) -> str | None:
    """The feedback :func:`make_net` must draw for ``method``."""
    return {"DFA": "random", "FDFA": "zero"}.get(method)


def train_step(net: Net, estimator: Estimator, x: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer,
               generator: torch.Generator | None = None) -> None:
    """One update of ``net.weights`` (the optimizer's parameters) along the estimator's gradient estimates."""
    for w, g in zip(net.weights, estimator(net, x, labels, generator)):
        w.grad = g
    optimizer.step()


def mean_loss(net: Net, x: torch.Tensor, labels: torch.Tensor) -> float:
    return float(losses(forward(net, x)[1][-1], labels).mean())
