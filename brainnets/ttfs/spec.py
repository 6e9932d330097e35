"""The spiking network a mapping produces: one description that every simulator reads.

Stanojevic et al. (2022), Eq. 2.2: neuron ``i`` of layer ``n`` is a non-leaky integrator

    tau_c dV_i/dt = alpha_i H(t - t_ramp) + sum_j J_ij H(t - t_j) + (forced spike at t_max),

fires once, when ``V`` reaches ``theta_i`` after ``t_min`` (or at ``t_max`` if it has not), and encodes
its value as ``x_i = (t_max - t_i) / tau_c``. Times here are in units of ``tau_c`` (the input window is
``[0, 1]``); zero padding of a convolution is a set of inputs that always fire at ``t_min`` (value 0).
The readout integrates without firing and is read at ``t_read``: its potentials are the logits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..checkpoint import save_arrays_atomic, load_arrays
from .layers import Connection, Conv, Dense, MaxPool, n_neurons


class SpecError(ValueError):
    """A spiking-network description is inconsistent or cannot be read."""


@dataclass(frozen=True)
class SpikingLayer:
    connection: Connection  # step-current amplitudes J
    alpha: np.ndarray       # (n,) slope of the ramp current
    theta: np.ndarray       # (n,) threshold
    t_ramp: float           # the ramp starts here: t_min of the previous layer (ch. 2) or of this one (ch. 3)
    t_min: float            # no spike before (the previous layer's t_max)
    t_max: float            # forced spike here (value 0)
    pool: MaxPool | None = None  # max pooling of the spike times: the earliest spike of each group

    @property
    def n(self) -> int:
        return n_neurons(self.connection.out_shape)

    def total_slope(self) -> np.ndarray:
        """``alpha + sum_j J_ij`` (padding included): the slope once every input has arrived."""
        return self.alpha + self.connection.channel_sums()[self.connection.channel_of_output()]


@dataclass(frozen=True)
class Readout:
    connection: Dense
    alpha: np.ndarray
    t_ramp: float
    t_read: float


@dataclass(frozen=True)
class SNNSpec:
    input_shape: tuple[int, ...]
    layers: list[SpikingLayer]
    readout: Readout
    input_window: float = 1.0
    info: dict = field(default_factory=dict)  # how it was made (mapping, constants, data), for the record

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        t_previous = self.input_window
        shape = self.input_shape
        for n, layer in enumerate(self.layers, start=1):
            where = f"layer {n}"
            if n_neurons(layer.connection.in_shape) != n_neurons(shape):  # a dense layer takes its input flattened
                raise SpecError(f"{where}: takes {layer.connection.in_shape}, gets {shape}")
            for name in ("alpha", "theta"):
                value = getattr(layer, name)
                if value.shape != (layer.n,) or not np.all(np.isfinite(value)):
                    raise SpecError(f"{where}: {name} must be {layer.n} finite values, got shape {value.shape}")
            if not np.isclose(layer.t_min, t_previous, rtol=1e-12, atol=0):
                raise SpecError(f"{where}: t_min {layer.t_min} must equal the previous layer's t_max {t_previous}")
            if not layer.t_max > layer.t_min or layer.t_ramp > layer.t_min:
                raise SpecError(f"{where}: needs t_ramp <= t_min < t_max, got {layer.t_ramp}, {layer.t_min}, "
                                f"{layer.t_max}")
            if np.any(layer.total_slope() <= 0):
                raise SpecError(f"{where}: alpha + sum J must be > 0 for every neuron (the spike time is "
                                "then unique); the mapping's rescaling guarantees it")
            t_previous, shape = layer.t_max, (layer.pool.out_shape if layer.pool else layer.connection.out_shape)
        readout = self.readout
        if readout.connection.in_shape[0] != n_neurons(shape) or readout.alpha.shape != readout.connection.out_shape:
            raise SpecError(f"readout: takes {readout.connection.in_shape}, gets {shape}")
        if not np.isclose(readout.t_read, t_previous, rtol=1e-12, atol=0):
            raise SpecError(f"readout: t_read {readout.t_read} must be the last layer's t_max {t_previous}")

    def windows(self) -> list[tuple[float, float]]:
        return [(0.0, self.input_window)] + [(layer.t_min, layer.t_max) for layer in self.layers]

    def save(self, path: str | Path) -> None:
        arrays, layers = {}, []
        for n, layer in enumerate(self.layers):
            arrays |= {f"{n}_alpha": layer.alpha, f"{n}_theta": layer.theta, **_connection_arrays(n, layer.connection)}
            layers.append({"connection": _connection_header(layer.connection), "t_ramp": layer.t_ramp,
                           "t_min": layer.t_min, "t_max": layer.t_max,
                           "pool": layer.pool.size if layer.pool else None})
        arrays |= {"readout_alpha": self.readout.alpha, "readout_weight": self.readout.connection.weight}
        header = {"input_shape": list(self.input_shape), "input_window": self.input_window, "layers": layers,
                  "readout": {"t_ramp": self.readout.t_ramp, "t_read": self.readout.t_read}, "info": self.info}
        arrays["header"] = np.array(json.dumps(header))
        save_arrays_atomic(path, arrays)

    @classmethod
    def load(cls, path: str | Path) -> "SNNSpec":
        try:
            arrays = load_arrays(path)
            header = json.loads(str(arrays["header"]))
            layers = []
            for n, entry in enumerate(header["layers"]):
                connection = _connection_from(n, entry["connection"], arrays)
                pool = MaxPool(connection.out_shape, entry["pool"]) if entry["pool"] else None
                layers.append(SpikingLayer(connection, arrays[f"{n}_alpha"], arrays[f"{n}_theta"], entry["t_ramp"],
                                           entry["t_min"], entry["t_max"], pool))
            readout = Readout(Dense(arrays["readout_weight"]), arrays["readout_alpha"], header["readout"]["t_ramp"],
                              header["readout"]["t_read"])
            return cls(tuple(header["input_shape"]), layers, readout, header["input_window"], header["info"])
        except (OSError, ValueError, KeyError) as error:
            raise SpecError(f"{path}: not a readable spiking-network spec ({error})") from None


def _connection_arrays(n: int, connection: Connection) -> dict:
    return {f"{n}_weight": connection.weight} if isinstance(connection, Dense) else {f"{n}_kernel": connection.kernel}


def _connection_header(connection: Connection) -> dict:
    if isinstance(connection, Dense):
        return {"kind": "dense"}
    return {"kind": "conv", "in_shape": list(connection.in_shape), "padding": connection.padding}


def _connection_from(n: int, header: dict, arrays: dict) -> Connection:
    if header["kind"] == "dense":
        return Dense(arrays[f"{n}_weight"])
    return Conv(arrays[f"{n}_kernel"], tuple(header["in_shape"]), header["padding"])
