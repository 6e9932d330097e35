"""The ReLU -> TTFS experiment: a source network, its spiking image, and the simulators compared.

:func:`compare` and :func:`naive_error_study` hold what the numbers mean; the script
``brainnets ttfs`` (:mod:`brainnets.studies.ttfs`) strings the steps together and writes them down.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import ms

from ..config import load_section, quantity, read_toml
from . import exact, reference
from .exact import SpikeTimes
from .spec import SNNSpec

NETS = ("fc2", "lenet5", "ttfs_fc")


@dataclass(frozen=True)
class MappingParams:
    alpha: float = quantity(positive=True)
    zeta: float = quantity(positive=True)
    delta: float = quantity(positive=True)
    b_low: float = quantity(positive=True)
    grid: float = quantity(positive=True)
    calibration_images: float = quantity(positive=True)


@dataclass(frozen=True)
class ReferenceParams:
    tau_c: object = quantity(ms, positive=True)
    dt: float = quantity(positive=True)
    naive_coarsest: float = quantity(nonnegative=True)
    naive_finest: float = quantity(nonnegative=True)

    def __post_init__(self):
        if self.naive_coarsest >= self.naive_finest:
            raise ValueError("naive_coarsest must be below naive_finest")

    def naive_dts(self) -> list[float]:
        return [2.0 ** -k for k in range(int(self.naive_coarsest), int(self.naive_finest) + 1)]


@dataclass(frozen=True)
class TrainingParams:
    lr: float = quantity(positive=True)
    lr_decay: float = quantity(positive=True)
    decay_steps: float = quantity(positive=True)
    batch_size: float = quantity(positive=True)
    epochs: float = quantity(positive=True)
    hidden: float = quantity(nonnegative=True, default=0)   # the fully connected nets' hidden layer
    dropout: float = quantity(nonnegative=True, default=0)
    zeta: float = quantity(nonnegative=True, default=0)     # TTFS training: initial window margin (Eq. 3.19)
    gamma: float = quantity(nonnegative=True, default=0)    # TTFS training: window growth (Eq. 3.3)


@dataclass(frozen=True)
class TTFSModel:
    """The model file: the mapping, the reference simulation, and one training recipe per source network."""

    mapping: MappingParams
    reference: ReferenceParams
    fc2: TrainingParams
    lenet5: TrainingParams
    ttfs_fc: TrainingParams

    @classmethod
    def load(cls, path: str | Path) -> "TTFSModel":
        return load_section(cls, read_toml(path), str(path))

    @property
    def training(self) -> dict[str, TrainingParams]:
        """The training recipe of each of :data:`NETS`."""
        return {net: getattr(self, net) for net in NETS}


def layer_rows(spec: SNNSpec, times: SpikeTimes) -> list[tuple[str, float, float, np.ndarray]]:
    """(name, t_min, t_max, times) of the input layer and every spiking layer (before pooling)."""
    rows = [("input", 0.0, spec.input_window, times.inputs)]
    return rows + [(f"layer {n}", layer.t_min, layer.t_max, t)
                   for n, (layer, t) in enumerate(zip(spec.layers, times.layers), start=1)]


def compare(spec: SNNSpec, simulated: SpikeTimes, truth: SpikeTimes, labels: np.ndarray | None = None) -> dict:
    """How closely ``simulated`` reproduces ``truth`` (same images): per layer the largest and RMS spike
    time difference relative to the window, neurons whose firing status (before ``t_max`` or forced)
    differs, and for the readout the largest logit difference and the argmax agreement."""
    t_read = spec.readout.t_read
    layers, worst, mismatches = [], 0.0, 0
    for (name, t_min, t_max, t_sim), (_, _, _, t_true) in zip(layer_rows(spec, simulated), layer_rows(spec, truth)):
        gap = np.abs(t_sim - t_true)
        tolerance = 1e-9 * t_read
        flips = int(np.sum((t_sim < t_max - tolerance) != (t_true < t_max - tolerance)))
        layers.append({"layer": name, "window": [t_min, t_max], "max_dt_rel_window": float(gap.max() / (t_max - t_min)),
                       "rms_dt_rel_window": float(np.sqrt(np.mean(gap ** 2)) / (t_max - t_min)),
                       "status_mismatches": flips})
        worst, mismatches = max(worst, float(gap.max())), mismatches + flips
    document = {"layers": layers, "max_dt_rel": worst / t_read, "status_mismatches": mismatches,
                "max_logit_difference": float(np.abs(simulated.logits - truth.logits).max()),
                "agreement": float(np.mean(simulated.predictions() == truth.predictions()))}
    if labels is not None:
        document["accuracy"] = float(np.mean(simulated.predictions() == labels))
    return document


def spike_fraction(spec: SNNSpec, times: SpikeTimes) -> float:
    """The share of hidden neurons that fire before their forced spike ("Spikes %" of Table 2.1)."""
    active = sum(int(np.sum(t < layer.t_max)) for layer, t in zip(spec.layers, times.layers))
    return active / sum(t.size for t in times.layers)


def timed_exact(spec: SNNSpec, x: np.ndarray, batch: int = 500) -> tuple[SpikeTimes, float]:
    """The closed-form solution of ``x`` in batches, and its throughput (images per second)."""
    start = time.perf_counter()
    parts = [exact.simulate(spec, x[k:k + batch]) for k in range(0, len(x), batch)]
    seconds = time.perf_counter() - start
    merged = SpikeTimes(np.concatenate([p.inputs for p in parts]),
                        [np.concatenate(t) for t in zip(*(p.layers for p in parts))],
                        [np.concatenate(t) for t in zip(*(p.pooled for p in parts))],
                        np.concatenate([p.logits for p in parts]))
    return merged, len(x) / seconds


def naive_error_study(spec: SNNSpec, x: np.ndarray, truth: SpikeTimes, dts: list[float], tau_c, device: str,
                      directory: Path | None) -> dict:
    """The clock-driven simulation without the exact-time correction at each ``dt``: its largest and RMS
    spike-time error (over every layer, relative to the readout time) and the slope of log(error) against
    log(dt), which is 1 when the error is proportional to dt."""
    rows = []
    for dt in dts:
        run = reference.simulate(spec, x, dt, semantics="clock", tau_c=tau_c, device=device,
                                 directory=directory / f"naive_{dt:g}" if directory else None)
        gaps = np.concatenate([np.abs(s - t).ravel() for (*_, s), (*_, t)
                               in zip(layer_rows(spec, run.times), layer_rows(spec, truth))])
        rows.append({"dt": dt, "max_dt_rel": float(gaps.max() / spec.readout.t_read),
                     "rms_dt_rel": float(np.sqrt(np.mean(gaps ** 2)) / spec.readout.t_read),
                     "agreement": float(np.mean(run.times.predictions() == truth.predictions()))})
    slope, _ = np.polyfit(np.log([r["dt"] for r in rows]), np.log([r["max_dt_rel"] for r in rows]), 1)
    rms_slope, _ = np.polyfit(np.log([r["dt"] for r in rows]), np.log([r["rms_dt_rel"] for r in rows]), 1)
    return {"runs": rows, "slope": float(slope), "rms_slope": float(rms_slope), "n_images": len(x)}
