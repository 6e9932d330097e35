"""The connection patterns of feed-forward networks, shared by the ReLU source and its spiking image.

A connection knows its geometry and its weights and can write itself as an explicit sparse matrix
(``post x pre``). That one matrix drives every simulator: the ReLU forward pass, the closed-form spike
times and the Brian2 synapses, so a convolution is defined in exactly one place.

Convolutions are cross-correlations with stride 1 and symmetric zero padding, the convention of
PyTorch's ``Conv2d``; images are ``(channels, height, width)`` and flatten in that order.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse


@dataclass(frozen=True)
class Dense:
    """All-to-all: ``weight[i, j]`` connects input ``j`` to output ``i``."""

    weight: np.ndarray  # (n_out, n_in)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[1],)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[0],)

    @property
    def n_channels(self) -> int:
        return self.weight.shape[0]

    def channel_of_output(self) -> np.ndarray:
        return np.arange(self.weight.shape[0])

    def channel_sums(self) -> np.ndarray:
        """Sum of each output channel's weights (every weight, padded taps included)."""
        return self.weight.sum(axis=1)

    def scaled(self, out_factor: np.ndarray, in_factor: np.ndarray) -> "Dense":
        """Weights times ``out_factor`` (per output channel) and ``in_factor`` (per input neuron)."""
        return Dense(self.weight * out_factor[:, None] * in_factor[None, :])

    @cached_property
    def _matrix(self) -> scipy.sparse.csr_matrix:
        return scipy.sparse.csr_matrix(self.weight)

    def matrix(self) -> scipy.sparse.csr_matrix:
        return self._matrix

    def padding_weights(self) -> np.ndarray:
        return np.zeros(self.weight.shape[0])


@dataclass(frozen=True)
class Conv:
    """A 2-d convolution of an image of shape ``in_shape = (C, H, W)`` with ``kernel (C_out, C, k, k)``."""

    kernel: np.ndarray
    in_shape: tuple[int, int, int]
    padding: int = 0

    def __post_init__(self):
        c_out, c_in, k_h, k_w = self.kernel.shape
        if c_in != self.in_shape[0] or k_h != k_w:
            raise ValueError(f"kernel {self.kernel.shape} does not fit input {self.in_shape}")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c_out, _, k, _ = self.kernel.shape
        _, h, w = self.in_shape
        return (c_out, h + 2 * self.padding - k + 1, w + 2 * self.padding - k + 1)

    @property
    def n_channels(self) -> int:
        return self.kernel.shape[0]

    def channel_of_output(self) -> np.ndarray:
        c_out, h, w = self.out_shape
        return np.repeat(np.arange(c_out), h * w)

    def channel_sums(self) -> np.ndarray:
        return self.kernel.sum(axis=(1, 2, 3))

    def scaled(self, out_factor: np.ndarray, in_factor: np.ndarray) -> "Conv":
        per_channel = np.asarray(in_factor).reshape(self.in_shape[0], -1)
        if not np.all(per_channel == per_channel[:, :1]):
            raise ValueError("a convolution can only be rescaled by one factor per input channel")
        kernel = self.kernel * out_factor[:, None, None, None] * per_channel[None, :, 0, None, None]
        return Conv(kernel, self.in_shape, self.padding)

    @cached_property
    def _taps(self):
        """Every (output neuron, input neuron, weight) of the convolution, and whether the tap falls on
        the image (True) or on the zero padding around it (False)."""
        c_out, c_in, k, _ = self.kernel.shape
        _, h_in, w_in = self.in_shape
        _, h_out, w_out = self.out_shape
        o, c, ky, kx, y, x = np.meshgrid(np.arange(c_out), np.arange(c_in), np.arange(k), np.arange(k),
                                         np.arange(h_out), np.arange(w_out), indexing="ij")
        iy, ix = y + ky - self.padding, x + kx - self.padding
        on_image = (iy >= 0) & (iy < h_in) & (ix >= 0) & (ix < w_in)
        post = (o * h_out + y) * w_out + x
        pre = (c * h_in + iy) * w_in + ix
        weight = self.kernel[o, c, ky, kx]
        return post.ravel(), pre.ravel(), weight.ravel(), on_image.ravel()

    @cached_property
    def _matrix(self) -> scipy.sparse.csr_matrix:
        post, pre, weight, on_image = self._taps
        n_out, n_in = int(np.prod(self.out_shape)), int(np.prod(self.in_shape))
        return scipy.sparse.csr_matrix((weight[on_image], (post[on_image], pre[on_image])), shape=(n_out, n_in))

    def matrix(self) -> scipy.sparse.csr_matrix:
        """Built once per connection: every batch of every simulator reuses it."""
        return self._matrix

    def padding_weights(self) -> np.ndarray:
        """Per output neuron, the summed weight of its taps on the zero padding."""
        post, _, weight, on_image = self._taps
        return np.bincount(post[~on_image], weight[~on_image], minlength=int(np.prod(self.out_shape)))


Connection = Dense | Conv


@dataclass(frozen=True)
class MaxPool:
    """Non-overlapping ``size x size`` max pooling of a ``(C, H, W)`` image (odd edges dropped)."""

    in_shape: tuple[int, int, int]
    size: int = 2

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        return (c, h // self.size, w // self.size)

    def groups(self) -> np.ndarray:
        """``(n_out, size**2)``: the input neurons pooled into each output neuron."""
        c, h, w = self.in_shape
        _, h_out, w_out = self.out_shape
        cc, y, x, dy, dx = np.meshgrid(np.arange(c), np.arange(h_out), np.arange(w_out), np.arange(self.size),
                                       np.arange(self.size), indexing="ij")
        index = (cc * h + y * self.size + dy) * w + x * self.size + dx
        return index.reshape(c * h_out * w_out, self.size ** 2)


def n_neurons(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))
