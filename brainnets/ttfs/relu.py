"""Deep ReLU networks in plain numpy (float64): the source of the exact ReLU -> TTFS mapping.

Stanojevic et al. (2022), Eq. 2.1: each hidden neuron computes ``x_i = [sum_j w_ij x_j + b_i]_+``,
optionally with batch normalization of the pre-activation (before the ReLU, as in LeNet5) and max
pooling after it; a final affine layer gives the logits. A network trained in any framework is
exported to this form (:mod:`brainnets.gradient` does it for PyTorch), and the mapping starts here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .layers import Connection, Dense, MaxPool, n_neurons


@dataclass(frozen=True)
class BatchNorm:
    """Per-channel normalization of the pre-activation: ``gamma (a - mean) / sqrt(var + eps) + beta``."""

    mean: np.ndarray
    var: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float = 1e-5

    @property
    def kappa(self) -> np.ndarray:
        return self.gamma / np.sqrt(self.var + self.eps)


@dataclass(frozen=True)
class HiddenLayer:
    """``pool(ReLU(bn(connection x + bias)))``; ``bias`` has one value per output channel."""

    connection: Connection
    bias: np.ndarray
    batch_norm: BatchNorm | None = None
    pool: MaxPool | None = None

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.pool.out_shape if self.pool else self.connection.out_shape

    def neuron_bias(self) -> np.ndarray:
        return self.bias[self.connection.channel_of_output()]


@dataclass(frozen=True)
class ReLUNetwork:
    input_shape: tuple[int, ...]
    hidden: list[HiddenLayer]
    readout: Dense
    readout_bias: np.ndarray
    name: str = ""

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Hidden activations (after ReLU and pooling, flattened) and logits of inputs ``x (batch, ...)``."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        if x.shape[1] != n_neurons(self.input_shape):
            raise ValueError(f"inputs have {x.shape[1]} values each, the network expects {self.input_shape}")
        activations = []
        for layer in self.hidden:
            a = x @ layer.connection.matrix().T + layer.neuron_bias()
            if layer.batch_norm is not None:
                bn, channel = layer.batch_norm, layer.connection.channel_of_output()
                a = bn.kappa[channel] * (a - bn.mean[channel]) + bn.beta[channel]
            x = np.maximum(a, 0.0)
            if layer.pool is not None:
                x = x[:, layer.pool.groups()].max(axis=2)
            activations.append(x)
        return activations, x @ self.readout.weight.T + self.readout_bias

    def logits(self, x: np.ndarray, batch: int = 1000) -> np.ndarray:
        return np.concatenate([self.forward(x[k:k + batch])[1] for k in range(0, len(x), batch)])

    def with_hidden(self, hidden: list[HiddenLayer], readout: Dense | None = None) -> "ReLUNetwork":
        return replace(self, hidden=hidden, readout=readout or self.readout)
