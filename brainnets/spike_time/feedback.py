"""Direct feedback in spiking networks: spiking DFA and SFDFA (Bacho 2023, ch. 5, Secs 5.2-5.3, Algs. 6-7).

The output layer learns with its own error and its local gradient, as in BATS. Each hidden neuron ``i`` of
layer ``l`` gets one error per sample, sent at the end of inference through a direct feedback matrix
``B^(l)`` (n_out, n_l), the same for all its spikes (Eqs. 138, 151):

    δ_i = sum_o B_oi δ_o,        g(w_ij) = δ_i sum_k ∇loc w_ij^k        (Eqs. 139, 152-153)

where ``δ_o = ∂L/∂t_o`` is the output's per-spike error and ``∇loc w_ij^k`` is the total derivative of spike
``k`` of ``i`` with respect to ``w_ij``, resets included (Eqs. 155-157). That sum over spikes is exactly what
the BATS backward pass of one layer computes when every spike of ``i`` carries the error ``δ_i`` and nothing
goes further back (:func:`.bats.backward` with ``to_inputs=False``), with the exact partials (Eq. 161) or the
bounded ones (Eq. 162, ``bounded``).

**DFA**: ``B`` fixed, uniform in [-1, 1] (the repository's baseline). **SFDFA**: ``B`` learns the output
layer's weights as seen from each hidden neuron. The first spike of every hidden neuron carries a Gaussian
grade ``p_i``; a neuron sums ``w_ij d_j`` over the grades it receives and passes the sum on with its next spike
(and restarts from 0: Eqs. 144-145, "emitted" where the thesis prints "received"). The grades an output
neuron emits add up to the directional derivative ``d_o``, with ``E[d_o p_i] = w_oi`` for a direct connection
whose spike arrives before the output's last (Eqs. 146-147), and

    B_oi <- (1 - α) B_oi + α d_o p_i                                              (Eq. 148)

averaged over the samples in which ``i`` fired (a silent neuron has no spike to perturb), ``B`` starting at 0.
This is the weight-only estimate of the equations; the repository's default kernel (``STD``) propagates the
spike times' temporal tangents instead, and the thesis does not say which made Table 17 (bacho.md §4.6).

Both add the repository's firing-rate regulariser to the hidden errors: ``reg (n̂ - mean count)`` on every
spike of a hidden neuron, its mean count taken over the batch (Eq. 166 with the repository's values), which
keeps hidden neurons from falling silent, where no local gradient exists.
"""
from __future__ import annotations

import torch
from torch import nn

from .bats import backward
from .forward import LayerRun
from .network import Gradients, SpikingFC

METHODS = ("dfa", "sfdfa")


class Feedback(nn.Module):
    """The direct feedback matrices ``B^(l)`` (n_out, n_l) of a network's hidden layers, as buffers (saved with
    the network's optimiser state in a checkpoint)."""

    def __init__(self, net: SpikingFC, method: str, generator: torch.Generator):
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"unknown direct feedback method {method!r}; choose one of {METHODS}")
        n_out = net.weights[-1].shape[0]
        like = dict(dtype=net.weights[0].dtype)
        for l, weight in enumerate(net.weights[:-1]):
            shape = (n_out, weight.shape[0])
            matrix = torch.rand(shape, generator=generator, **like) * 2 - 1 if method == "dfa" else torch.zeros(shape, **like)
            self.register_buffer(f"b{l}", matrix)
        self.method = method

    def __getitem__(self, layer: int) -> torch.Tensor:
        return getattr(self, f"b{layer}")

    def __len__(self) -> int:
        return len(self._buffers)


def output_errors(output: LayerRun, labels: torch.Tensor, section: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """``(δ_o, loss)``: the per-spike errors ∂L/∂t of the spike-count loss (:mod:`.losses`), per sample and
    output neuron, and the batch-mean loss."""
    counts = output.counts.to(output.times.dtype)
    targets = torch.full_like(counts, section["target_false"])
    targets[torch.arange(len(labels)), labels] = section["target_true"]
    return targets - counts, 0.5 * ((targets - counts) ** 2).sum(-1).mean()


def grades(run: LayerRun, weight: torch.Tensor, in_grades: torch.Tensor | None, perturbation: torch.Tensor | None,
           k_in: int) -> torch.Tensor:
    """(batch, n, n_max): the grade each spike of ``run`` carries (Eqs. 144-145): the sum of ``w_ij d_j`` over
    the input events since the neuron's previous spike, plus ``perturbation`` (batch, n) on its first.
    ``in_grades`` (batch, n_in * k_in): the grades of the input slots (None: all 0, as for the data)."""
    spiked = torch.isfinite(run.times)
    out = torch.zeros_like(run.times)
    if in_grades is not None:
        batch, n, _ = run.times.shape
        arriving = weight.T[run.order // k_in] * torch.gather(in_grades, 1, run.order)[..., None]
        received = torch.cat([torch.zeros(batch, 1, n, dtype=out.dtype), arriving.cumsum(1)], 1)
        # received before each spike, then since the previous one
        before = torch.gather(received, 1, run.events.transpose(1, 2)).transpose(1, 2) * spiked
        out = before - torch.nn.functional.pad(before[..., :-1], (1, 0))
    if perturbation is not None:
        out[..., 0] += perturbation
    return torch.where(spiked, out, 0)


def update_feedback(matrix: torch.Tensor, direction: torch.Tensor, perturbation: torch.Tensor, fired: torch.Tensor,
                    alpha: float) -> None:
    """Eq. 148 in place: ``B_oi`` moves by ``α`` towards the mean of ``d_o p_i`` over the samples in which ``i``
    fired; ``direction`` (batch, n_out), ``perturbation`` and ``fired`` (batch, n_l)."""
    n_fired = fired.sum(0)
    estimate = direction.T @ (perturbation * fired) / n_fired.clamp(min=1)
    matrix += torch.where(n_fired > 0, alpha * (estimate - matrix), 0)


def direct_feedback_gradients(section: dict, feedback: Feedback, bounded: bool = False) -> Gradients:
    """The weight updates of spiking DFA or SFDFA (``feedback.method``) for the section's spike-count loss,
    regulariser ``reg`` / ``n_hat`` and feedback rate ``alpha``; SFDFA's feedback is updated first (Alg. 7)."""

    @torch.no_grad()  # the updates are computed, not differentiated: no graph may reach the feedback buffers
    def gradients(net: SpikingFC, in_times: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
        runs = net.simulate(in_times)
        delta_out, loss = output_errors(runs[-1], labels, section)
        batch = len(labels)
        if feedback.method == "sfdfa":
            perturbations, slots, k_in = [], None, in_times.shape[-1]
            for l, (run, weight) in enumerate(zip(runs, net.weights)):
                hidden = l < len(runs) - 1
                p = torch.randn(run.counts.shape, generator=generator, dtype=run.times.dtype) if hidden else None
                slots = grades(run, weight, slots, p, k_in).flatten(1)
                k_in = run.times.shape[-1]
                perturbations.append(p)
            direction = slots.view(runs[-1].times.shape).sum(-1)
            for l, p in enumerate(perturbations[:-1]):
                update_feedback(feedback[l], direction, p, runs[l].counts > 0, section["alpha"])
        shapes = [in_times.shape] + [run.times.shape for run in runs[:-1]]
        for l, (run, weight, neuron, shape) in enumerate(zip(runs, net.weights, net.neurons, shapes)):
            if l == len(runs) - 1:
                error = delta_out
            else:
                rate = run.counts.to(run.times.dtype).mean(0)
                error = delta_out @ feedback[l] + section["reg"] * (section["n_hat"] - rate)
            weight.grad, _ = backward(run, (error / batch)[..., None].expand_as(run.times), weight, shape, neuron,
                                      to_inputs=False, bounded=bounded)
        return runs, loss
    return gradients
