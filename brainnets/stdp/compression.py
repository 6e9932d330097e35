"""STDP-based online pruning and weight quantization of the input -> excitatory synapses (Rathi 2021, ch. 2.3).

A synapse is *critical* when its STDP-trained weight is above the pruning threshold. Pruning sets every
non-critical weight to zero but keeps the synapse, so STDP can make it critical again; only the final
step, :meth:`~brainnets.stdp.experiment.UnimodalExperiment.finalize`, removes synapses for good.

Quantization shares values among the critical weights: with ``levels`` = k (zero counts as one level)
the critical weights are split at their k-2 inner quantiles into k-1 groups and each group
takes its mean. k = 2 gives {0, mean}; k = 3 gives {0, w1, w2} split at the median, the median itself
in the lower group. The shared values are global over the whole weight matrix ("the average weight of
all the critical connections", 2.3.2).

The schedule (2.3.2, Fig. 2.4): the training images are split into ``n_batches`` equal batches; after
batch ``first_step`` and after every later batch the weights are pruned and quantized. Those steps run
between simulation runs, after the last weight normalization of the batch; the normalization before
the next training image then rescales each neuron's shared values, which the next step recomputes.

After the last step no training image follows, so by default (``normalize_last``) that step ends with
the normalization itself: each neuron's weights are rescaled to sum to ``weight_sum``. The synapses keep
the layer-wide shared values, each neuron's column scaled by one gain, as a crossbar column's read-out
gain would. Without it the sums differ from neuron to neuron (a neuron with many small critical weights
gains input, one with few large weights loses it) and the thresholds learnt at sum 78 no longer fit:
on held-out training images (network trained on the first 12,000, labelled on images 50,000-54,999,
validated on 55,000-59,999; docs/results/compression/final_normalization.json) pruning at 0.15 gave
73.8 % without and 80.0 % with it for 3 levels, 61.5 % and 81.2 % for 2 levels, 81.0 % and 80.6 % for
continuous weights; the unpruned network 81.4 %. Nothing is normalized at test time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import choice, load_section, quantity, read_toml, require_table
from .ensemble import normalize_columns  # noqa: F401 - re-exported: the last step's normalization is the ensemble's

MODES = ("baseline", "during", "end", "random")


def prune(weights: np.ndarray, threshold: float) -> np.ndarray:
    """Non-critical weights (not above ``threshold``) set to zero."""
    return np.where(weights > threshold, weights, 0.0)


def quantize(weights: np.ndarray, levels: int) -> np.ndarray:
    """The nonzero (critical) weights replaced by ``levels - 1`` shared values; zeros stay zero."""
    if levels < 2:
        raise ValueError(f"levels must be >= 2 (zero is one of them), got {levels}")
    weights = np.asarray(weights, dtype=float)
    critical = weights > 0
    values = weights[critical]
    if values.size == 0:
        return weights.copy()
    edges = np.quantile(values, np.arange(1, levels - 1) / (levels - 1))
    group = np.searchsorted(edges, values, side="left")  # a weight equal to an edge joins the lower group
    shared = np.bincount(group, weights=values, minlength=levels - 1) / np.maximum(
        np.bincount(group, minlength=levels - 1), 1)
    quantized = np.zeros_like(weights)
    quantized[critical] = shared[group]
    return quantized


def threshold_for_connectivity(weights: np.ndarray, connectivity: float) -> float:
    """The pruning threshold that keeps the largest ``connectivity`` fraction of ``weights``."""
    if not 0 < connectivity <= 1:
        raise ValueError(f"connectivity must be in (0, 1], got {connectivity}")
    n_keep = int(round(connectivity * weights.size))
    descending = np.sort(weights, axis=None)[::-1]
    return float(descending[n_keep]) if n_keep < weights.size else -np.inf


def random_connections(shape: tuple[int, int], connectivity: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask with exactly ``round(connectivity * size)`` synapses placed at random."""
    if not 0 < connectivity <= 1:
        raise ValueError(f"connectivity must be in (0, 1], got {connectivity}")
    size = shape[0] * shape[1]
    mask = np.zeros(size, dtype=bool)
    mask[rng.choice(size, int(round(connectivity * size)), replace=False)] = True
    return mask.reshape(shape)


@dataclass(frozen=True)
class Compression:
    """How the input weights are compressed during one training phase.

    ``mode``: ``baseline`` (never), ``during`` (after batch ``first_step`` and every later batch),
    ``end`` (once, after the last batch) or ``random`` (a random sparse network from the start, at
    ``connectivity``, trained without pruning). In ``end`` mode a ``connectivity`` replaces the
    threshold by the one that keeps that fraction of the synapses. ``levels`` None = continuous weights.
    ``normalize_last``: end the last step with the weight normalization (see the module's docstring).
    """

    mode: str = choice(*MODES)
    threshold: float = quantity(nonnegative=True, default=0.15)
    levels: int | None = quantity(positive=True, default=None, none_as="continuous")
    n_batches: int = quantity(positive=True, default=12)
    first_step: int = quantity(positive=True, default=3)
    connectivity: float | None = quantity(positive=True, default=None)
    normalize_last: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"compression mode must be one of {MODES}, got {self.mode!r}")
        if not np.isfinite(self.threshold) or self.threshold < 0:
            raise ValueError(f"threshold must be a finite number >= 0, got {self.threshold}")
        if self.levels is not None and self.levels < 2:
            raise ValueError(f"levels must be >= 2 or None (continuous), got {self.levels}")
        if not 1 <= self.first_step <= self.n_batches:
            raise ValueError(f"need 1 <= first_step <= n_batches, got {self.first_step}, {self.n_batches}")
        if self.connectivity is not None and not 0 < self.connectivity <= 1:
            raise ValueError(f"connectivity must be in (0, 1], got {self.connectivity}")
        if self.mode == "random" and self.connectivity is None:
            raise ValueError("mode 'random' needs a connectivity")

    @classmethod
    def load(cls, path: str | Path, **overrides) -> "Compression":
        """The ``[compression]`` table of a model file; ``overrides`` that are not None replace its values.
        ``levels = "continuous"`` means unquantized weights."""
        table = {**require_table(read_toml(path), "compression", path),
                 **{name: value for name, value in overrides.items() if value is not None}}
        return load_section(cls, table, f"{path} [compression]")

    def check_against(self, w_max: float) -> None:
        """Refuse a schedule that would prune every synapse of weights in [0, ``w_max``]."""
        prunes_by_threshold = self.mode in ("during", "end") and self.connectivity is None
        if prunes_by_threshold and self.threshold >= w_max:
            raise ValueError(f"pruning threshold {self.threshold:g} is not below w_max = {w_max:g}: every synapse "
                             "would be pruned")

    @property
    def removes_synapses(self) -> bool:
        """Whether the tested network is rebuilt with only the surviving synapses."""
        return self.mode != "baseline"

    def steps(self, n_images: int) -> list[int]:
        """Image counts of the training phase after which the weights are compressed."""
        if self.mode not in ("during", "end"):
            return []
        if n_images % self.n_batches:
            raise ValueError(f"{n_images} training images do not split into {self.n_batches} equal batches")
        batch = n_images // self.n_batches
        first = self.first_step if self.mode == "during" else self.n_batches
        return [b * batch for b in range(first, self.n_batches + 1)]

    def threshold_for(self, weights: np.ndarray) -> float:
        """The pruning threshold of a step on ``weights``."""
        if self.mode == "end" and self.connectivity is not None:
            return threshold_for_connectivity(weights, self.connectivity)
        return self.threshold

    def apply(self, weights: np.ndarray) -> np.ndarray:
        """One prune (+ quantize) step on a weight matrix."""
        pruned = prune(weights, self.threshold_for(weights))
        return pruned if self.levels is None else quantize(pruned, self.levels)

    def initial_connections(self, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray | None:
        """The synapses that exist when training starts (None: all of them)."""
        return random_connections(shape, self.connectivity, rng) if self.mode == "random" else None
