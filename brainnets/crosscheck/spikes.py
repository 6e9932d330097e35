"""The spike file that ``brainnets crosscheck`` reads and writes, and a reader for ``neo`` spike trains.

A spike file is an ``.npz`` with one entry per spike in four arrays and a description of the layers:

=============== ================ =====================================================================
key             shape, type      meaning
=============== ================ =====================================================================
``times``       (n,) float       spike times, in ``time_unit``
``time_unit``   () str           ``"s"``, ``"ms"`` or ``"us"``
``neurons``     (n,) int         the neuron's index within its layer (flattened, C order)
``layer``       (n,) int         the spike's layer: an index into ``layer_names``
``layer_names`` (k,) str         the layers (NIR node names: the input nodes in an input file)
``layer_sizes`` (k,) int         neurons per layer (silent neurons count too)
``t_stop``      () float         optional: the end of the recorded run, in ``time_unit`` (spikes lie before it)
=============== ================ =====================================================================

In memory the same spikes are a :data:`Spikes` mapping: layer name -> one sorted array of times (ms) per neuron.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..checkpoint import save_arrays_atomic
from ..datasets import DataError

#: Layer name -> one sorted array of spike times (ms) per neuron of the layer.
Spikes = dict[str, list[np.ndarray]]

#: Milliseconds per unit of ``time_unit``.
TIME_UNITS = {"s": 1e3, "ms": 1.0, "us": 1e-3}
KEYS = ("times", "time_unit", "neurons", "layer", "layer_names", "layer_sizes")


class SpikeFileError(DataError):
    """A spike file that cannot be read as documented in :mod:`brainnets.crosscheck.spikes`."""


def from_events(layers: dict[str, tuple[np.ndarray, np.ndarray, int]]) -> Spikes:
    """:data:`Spikes` from ``{layer: (neuron indices, times_ms, n_neurons)}``."""
    spikes = {}
    for name, (neurons, times, size) in layers.items():
        neurons, times = np.asarray(neurons, dtype=np.int64), np.asarray(times, dtype=float)
        order = np.lexsort((times, neurons))
        neurons, times = neurons[order], times[order]
        bounds = np.searchsorted(neurons, np.arange(size + 1))
        spikes[name] = [times[bounds[j]:bounds[j + 1]] for j in range(size)]
    return spikes


def from_tensor(tensor: np.ndarray, dt_ms: float) -> list[np.ndarray]:
    """One array of spike times per neuron from a discrete-time simulator's (steps, neurons) spike tensor: the
    spikes of step k at k x ``dt_ms``."""
    return [np.flatnonzero(tensor[:, j]) * dt_ms for j in range(tensor.shape[1])]


def to_events(spikes: Spikes, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """``(neuron indices, times_ms)`` of one layer, in time order."""
    trains = spikes[layer]
    neurons = np.concatenate([np.full(len(t), j) for j, t in enumerate(trains)]) if trains else np.zeros(0, int)
    times = np.concatenate(trains) if trains else np.zeros(0)
    order = np.argsort(times, kind="stable")
    return neurons[order].astype(np.int64), times[order]


def read_spikes(path: str | Path) -> Spikes:
    """The :data:`Spikes` of a spike file; a missing, corrupt or inconsistent file raises :class:`SpikeFileError`
    naming what is wrong."""
    return read_spike_file(path)[0]


def read_spike_file(path: str | Path) -> tuple[Spikes, float | None]:
    """The :data:`Spikes` of a spike file and its ``t_stop`` in ms (None if it has none)."""
    path = Path(path)
    if not path.is_file():
        raise SpikeFileError(f"{path}: no such spike file")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in KEYS if key not in data.files]
            if missing:
                raise SpikeFileError(f"{path}: a spike file needs {', '.join(KEYS)}; missing {', '.join(missing)}")
            arrays = {key: data[key] for key in KEYS}
            t_stop = float(data["t_stop"]) if "t_stop" in data.files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise SpikeFileError(f"{path}: not a readable .npz spike file ({error})") from None
    unit = str(arrays["time_unit"])
    if unit not in TIME_UNITS:
        raise SpikeFileError(f"{path}: time_unit {unit!r}; expected one of {', '.join(TIME_UNITS)}")
    times, neurons, layer = arrays["times"], arrays["neurons"], arrays["layer"]
    names, sizes = [str(name) for name in arrays["layer_names"]], arrays["layer_sizes"]
    if not (times.ndim == neurons.ndim == layer.ndim == 1 and len(times) == len(neurons) == len(layer)):
        raise SpikeFileError(f"{path}: times, neurons and layer must be 1-d arrays of one length")
    if len(names) != len(sizes) or len(set(names)) != len(names):
        raise SpikeFileError(f"{path}: layer_names must be distinct and as many as layer_sizes")
    if not np.all(np.isfinite(times)) or (len(times) and times.min() < 0):
        raise SpikeFileError(f"{path}: spike times must be finite and >= 0")
    if len(layer) and (layer.min() < 0 or layer.max() >= len(names)):
        raise SpikeFileError(f"{path}: layer indices must lie in [0, {len(names)})")
    out_of_range = len(layer) and np.any((neurons < 0) | (neurons >= sizes[layer]))
    if out_of_range:
        raise SpikeFileError(f"{path}: a neuron index lies outside its layer's size")
    times_ms = times.astype(float) * TIME_UNITS[unit]
    if t_stop is not None:
        t_stop *= TIME_UNITS[unit]
        if not np.isfinite(t_stop) or (len(times) and times_ms.max() >= t_stop):
            raise SpikeFileError(f"{path}: t_stop must be finite and later than every spike")
    return from_events({name: (neurons[layer == k], times_ms[layer == k], int(sizes[k]))
                        for k, name in enumerate(names)}), t_stop


def write_spikes(path: str | Path, spikes: Spikes, time_unit: str = "ms", t_stop_ms: float | None = None) -> None:
    """Write :data:`Spikes` as a spike file (atomically), with ``t_stop`` if ``t_stop_ms`` is given."""
    names = list(spikes)
    events = [to_events(spikes, name) for name in names]
    extra = {} if t_stop_ms is None else {"t_stop": np.array(t_stop_ms / TIME_UNITS[time_unit])}
    save_arrays_atomic(Path(path), {**extra,
        "times": np.concatenate([times for _, times in events]) / TIME_UNITS[time_unit] if events else np.zeros(0),
        "time_unit": np.array(time_unit),
        "neurons": np.concatenate([neurons for neurons, _ in events]) if events else np.zeros(0, int),
        "layer": np.concatenate([np.full(len(times), k) for k, (_, times) in enumerate(events)])
        if events else np.zeros(0, int),
        "layer_names": np.array(names),
        "layer_sizes": np.array([len(spikes[name]) for name in names])})


def from_neo(spiketrains, layer_key: str = "layer", neuron_key: str = "neuron") -> Spikes:
    """:data:`Spikes` from ``neo.SpikeTrain`` objects (a list, or a ``neo.Segment``'s ``spiketrains``), each
    annotated with its layer name (``layer_key``) and its neuron index (``neuron_key``). A layer's size is its
    largest annotated index + 1."""
    trains = getattr(spiketrains, "spiketrains", spiketrains)
    layers: dict[str, dict[int, np.ndarray]] = {}
    for train in trains:
        try:
            name, neuron = str(train.annotations[layer_key]), int(train.annotations[neuron_key])
        except KeyError as missing:
            raise SpikeFileError(f"a neo SpikeTrain without the annotation {missing}") from None
        layers.setdefault(name, {})[neuron] = np.sort(train.rescale("ms").magnitude.astype(float))
    return {name: [by_neuron.get(j, np.zeros(0)) for j in range(max(by_neuron) + 1)]
            for name, by_neuron in layers.items()}
