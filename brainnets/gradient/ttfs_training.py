"""Training single-spike (TTFS) networks with exact spike-time gradients, and their ReLU twins
(Stanojevic et al. 2023, ch. 3 of the thesis).

A hidden neuron of the "linearly mappable" network (Eq. 3.9: ``alpha_i = 1 - sum_j W_ij``, so the slope
at threshold is ``B = 1``) fires at the closed-form time (Eq. 3.7 with Eq. 3.21, tau_c = 1)

    t_i = min(t_min + (t_max - t_min) + D_i + sum_j W_ij (t_j - t_min), t_max),

and the non-spiking readout's potential at ``t_read = t_max^(N)`` is the logit
``sum_j W_ij (t_read - t_j) - D_i``. The gradient of a spike time is the gradient of this expression,
masked where the spike is forced (Eq. 3.12). As in the thesis' code, training does not hold spikes back
to ``t_min``; the growing windows keep them inside, and the exported network (whose neurons cannot fire
before ``t_min``) is checked against the trained one. With ``t_j - t_min = -x_j`` the network is the ReLU network
``x = [W x - D]_+`` (Eq. 3.10), so the spiking network and its ReLU twin, started equal and trained by
the same optimizer on the same batches, follow the same trajectory: the claim this module lets one check.

Windows start from Eqs. 3.19-3.20 (``(1 + zeta)`` times the largest initial potential at ``t_min`` on
training data) and only grow during training (Eq. 3.3): after every step, each layer's window is
widened to ``gamma`` times the largest activation of the batch if it was shorter.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..checkpoint import write_bytes_atomic
from ..ttfs.layers import Dense
from ..ttfs.relu import HiddenLayer, ReLUNetwork
from .relu_nets import gradient_step


def _linear_init(sizes: list[int], generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """PyTorch's default ``nn.Linear`` initialization, drawn from ``generator``: the ANN-style start
    that the linearly mappable network takes over unchanged (Sec. 3.6.2)."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        weight = (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        bias = (torch.rand(n_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        layers.append((weight, bias))
    return layers


class ReLUTwin(nn.Module):
    """``x = [w x + b]_+`` per hidden layer, then ``w x + b``: the ReLU network of the TTFS net."""

    def __init__(self, parameters: list[tuple[torch.Tensor, torch.Tensor]]):
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(w.clone()) for w, _ in parameters])
        self.biases = nn.ParameterList([nn.Parameter(b.clone()) for _, b in parameters])

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            x = torch.relu(x @ w.T + b)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.activations(x)
        return (hidden[-1] if hidden else x) @ self.weights[-1].T + self.biases[-1]


class LinearTTFSNet(nn.Module):
    """The linearly mappable TTFS network: weights ``W`` and threshold offsets ``D`` per layer, computing
    with spike times (see the module docstring). ``D = -b`` of the ReLU twin (the thesis' sign)."""

    def __init__(self, parameters: list[tuple[torch.Tensor, torch.Tensor]], window_lengths: list[float]):
        super().__init__()
        if len(window_lengths) != len(parameters) - 1:
            raise ValueError(f"{len(window_lengths)} windows for {len(parameters) - 1} hidden layers")
        self.weights = nn.ParameterList([nn.Parameter(w.clone()) for w, _ in parameters])
        self.offsets = nn.ParameterList([nn.Parameter(-b.clone()) for _, b in parameters])
        self.register_buffer("lengths", torch.tensor(window_lengths, dtype=torch.float64))

    def windows(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(t_min, t_max)`` of each hidden layer; the input window is [0, 1]."""
        t_max = 1.0 + torch.cumsum(self.lengths, 0)
        return list(zip(torch.cat([torch.ones(1, dtype=torch.float64), t_max[:-1]]), t_max))

    def spike_times(self, x: torch.Tensor) -> list[torch.Tensor]:
        t = 1 - x
        times = []
        for (t_min, t_max), w, d in zip(self.windows(), self.weights, self.offsets):
            t = torch.minimum(t_max + d + (t - t_min) @ w.T, t_max)
            times.append(t)
        return times

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        times = self.spike_times(x)
        t_read = self.windows()[-1][1]
        return (t_read - times[-1]) @ self.weights[-1].T - self.offsets[-1]

    @torch.no_grad()
    def widen_windows(self, x: torch.Tensor, gamma: float) -> None:
        """Eq. 3.3: each window at least ``gamma`` times the batch's largest activation."""
        largest = torch.stack([(t_max - t).max() for (_, t_max), t in zip(self.windows(), self.spike_times(x))])
        self.lengths.copy_(torch.maximum(self.lengths, gamma * largest))

    def relu_network(self, name: str = "") -> ReLUNetwork:
        """The trained network as ReLU weights ``w = W``, ``b = -D``, for the ch. 3 mapping."""
        w = [p.detach().numpy().copy() for p in self.weights]
        b = [-p.detach().numpy().copy() for p in self.offsets]
        hidden = [HiddenLayer(Dense(wn), bn) for wn, bn in zip(w[:-1], b[:-1])]
        return ReLUNetwork((w[0].shape[1],), hidden, Dense(w[-1]), b[-1], name)


def initial_windows(parameters, x: torch.Tensor, zeta: float) -> list[float]:
    """Eqs. 3.19-3.20 with B_0 = 1: ``(1 + zeta)`` times the largest potential at each layer's ``t_min``,
    i.e. its largest bias-free activation, over training inputs ``x``."""
    lengths = []
    for w, b in parameters[:-1]:
        potential = x @ w.T
        lengths.append(float((1 + zeta) * potential.max()))
        x = torch.relu(potential + b)
    return lengths


def train_twins(sizes: list[int], images: np.ndarray, labels: np.ndarray, *, epochs: int, batch_size: int,
                lr: float, lr_decay: float, decay_steps: float, zeta: float, gamma: float, seed: int,
                checkpoint: Path | None = None, progress: bool = True) -> tuple[LinearTTFSNet, ReLUTwin, dict]:
    """Train a TTFS net of layer ``sizes`` and its ReLU twin side by side (same start, batches and Adam
    schedule ``lr * lr_decay ** (step / decay_steps)``), in float64. Per epoch the history records both
    losses and how far the parameters have drifted apart. ``checkpoint``: as in :func:`relu_nets.train_relu`."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    parameters = _linear_init(sizes, generator)
    snn = LinearTTFSNet(parameters, initial_windows(parameters, x[:1000], zeta))
    twin = ReLUTwin(parameters)
    optimizers = [torch.optim.Adam(net.parameters(), lr=lr) for net in (snn, twin)]
    done = {"epoch": 0, "step": 0, "history": []}
    if checkpoint is not None and Path(checkpoint).exists():
        done = _resume(Path(checkpoint), (snn, twin), optimizers, generator)
    for epoch in range(done["epoch"], epochs):
        losses, step = np.zeros(2), done["step"]
        batches = torch.randperm(len(x), generator=generator).split(batch_size)
        for batch in tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False):
            for k, (net, optimizer) in enumerate(zip((snn, twin), optimizers)):
                losses[k] += gradient_step(net, optimizer, x[batch], y[batch], lr * lr_decay ** (step / decay_steps)) \
                    * len(batch)
            snn.widen_windows(x[batch], gamma)
            step += 1
        record = {"epoch": epoch + 1, "loss_snn": float(losses[0] / len(x)), "loss_relu": float(losses[1] / len(x)),
                  **parameter_drift(snn, twin)}
        done = {"epoch": epoch + 1, "step": step, "history": done["history"] + [record]}
        if checkpoint is not None:
            _save(Path(checkpoint), (snn, twin), optimizers, generator, done)
    return snn, twin, done["history"]


@torch.no_grad()
def parameter_drift(snn: LinearTTFSNet, twin: ReLUTwin) -> dict:
    """How far the two trajectories have separated: the largest weight and bias difference, and the
    cosine similarity of all weights (1 when they coincide; thesis Fig. 3.3b)."""
    w_snn = torch.cat([p.flatten() for p in snn.weights])
    w_twin = torch.cat([p.flatten() for p in twin.weights])
    bias_gap = max(float((-d - b).abs().max()) for d, b in zip(snn.offsets, twin.biases))
    return {"max_weight_difference": float((w_snn - w_twin).abs().max()), "max_bias_difference": bias_gap,
            "weight_cosine_similarity": float(F.cosine_similarity(w_snn, w_twin, dim=0))}


def _save(path: Path, nets, optimizers, generator: torch.Generator, done: dict) -> None:
    buffer = io.BytesIO()
    torch.save({"nets": [net.state_dict() for net in nets], "optimizers": [opt.state_dict() for opt in optimizers],
                "generator": generator.get_state(), **done}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def _resume(path: Path, nets, optimizers, generator: torch.Generator) -> dict:
    saved = torch.load(path, weights_only=True)
    for net, state in zip(nets, saved["nets"]):
        net.load_state_dict(state)
    for optimizer, state in zip(optimizers, saved["optimizers"]):
        optimizer.load_state_dict(state)
    generator.set_state(saved["generator"])
    return {"epoch": saved["epoch"], "step": saved["step"], "history": saved["history"]}
