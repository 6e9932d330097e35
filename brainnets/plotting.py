"""Figures a person would rather look at than read."""
from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .checkpoint import write_bytes_atomic  # noqa: E402


def _save(figure, path: str | Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    write_bytes_atomic(path, buffer.getvalue())


def receptive_field_mosaic(weights: np.ndarray, side: int = 28) -> np.ndarray:
    """Tile each neuron's input weights (n_input, n_neurons) as a side x side image on a square grid
    (Rathi 2021, Fig. 3.6). Empty cells are NaN."""
    n_neurons = weights.shape[1]
    grid = math.ceil(math.sqrt(n_neurons))
    mosaic = np.full((grid * side, grid * side), np.nan)
    for neuron in range(n_neurons):
        row, col = divmod(neuron, grid)
        mosaic[row * side:(row + 1) * side, col * side:(col + 1) * side] = \
            weights[:, neuron].reshape(side, side)
    return mosaic


def plot_receptive_fields(weights: np.ndarray, path: str | Path, title: str = "") -> None:
    mosaic = receptive_field_mosaic(weights)
    figure, axes = plt.subplots(figsize=(7, 7))
    image = axes.imshow(mosaic, cmap="hot_r", interpolation="nearest", vmin=0)
    grid = mosaic.shape[0] // 28
    for k in range(1, grid):
        axes.axhline(k * 28 - 0.5, color="0.7", lw=0.3)
        axes.axvline(k * 28 - 0.5, color="0.7", lw=0.3)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"Input weights per excitatory neuron{': ' + title if title else ''}")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.02, label="weight")
    _save(figure, path)


def plot_confusion(matrix: np.ndarray, path: str | Path, title: str = "") -> None:
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(6, 5))
    image = axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    n = matrix.shape[0]
    for true in range(n):
        for predicted in range(n):
            if matrix[true, predicted]:
                axes.text(predicted, true, str(matrix[true, predicted]), ha="center", va="center",
                          fontsize=7, color="white" if rates[true, predicted] > 0.5 else "black")
    axes.set_xticks(range(n))
    axes.set_yticks(range(n))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(title or "Confusion matrix")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.02, label="fraction of true digit")
    _save(figure, path)


def plot_bars(values: dict[str, float], path: str | Path, ylabel: str, title: str = "",
              reference: dict[str, float] | None = None, legend: tuple[str, str] = ("brainnets", "published")) -> None:
    """Bars for named values, with optional reference values beside them (published ones, by default);
    ``legend`` names the two series."""
    names = list(values)
    x = np.arange(len(names))
    figure, axes = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    width = 0.38 if reference else 0.6
    bars = axes.bar(x - (width / 2 if reference else 0), [values[n] for n in names], width, label=legend[0])
    axes.bar_label(bars, fmt="%.3g", fontsize=8)
    if reference:
        ref = axes.bar(x + width / 2, [reference.get(n, np.nan) for n in names], width, label=legend[1],
                       color="0.75")
        axes.bar_label(ref, fmt="%.3g", fontsize=8)
        axes.legend()
    axes.set_xticks(x, names, fontsize=8)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    _save(figure, path)


#: Where an error of exactly 0 is drawn on a logarithmic axis.
LOG_FLOOR = 1e-16


def on_log_scale(value: float | None) -> float:
    """Where a non-negative value is drawn on a logarithmic axis: 0 at :data:`LOG_FLOOR`, None nowhere (NaN)."""
    return np.nan if value is None else max(value, LOG_FLOOR)


def plot_lines(series: dict[str, tuple], path: str | Path, xlabel: str, ylabel: str, title: str = "",
               points: dict[str, tuple] | None = None, log: bool = False) -> None:
    """One line with markers per ``{label: (x, y)}``; ``points`` adds single labelled markers; ``log``: both axes
    logarithmic."""
    figure, axes = plt.subplots(figsize=(5.5, 4))
    if log:
        axes.set_xscale("log")
        axes.set_yscale("log")
    for label, (x, y) in series.items():
        order = np.argsort(x)
        axes.plot(np.asarray(x)[order], np.asarray(y)[order], marker="o", label=label)
    for label, (x, y) in (points or {}).items():
        axes.plot([x], [y], marker="*", markersize=12, linestyle="none", label=label)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    _save(figure, path)


def plot_link_census(runs: list[dict], path: str | Path, title: str = "") -> None:
    """Rathi Fig. 3.12: per run, the kept cross-modal links joining neurons of the same label ("correct")
    and of different labels, as shares of the kept links, with the run's accuracy and link count above.
    A run that kept no link has no bar."""
    figure, axes = plt.subplots(figsize=(1.1 * len(runs) + 2.5, 4))
    x = np.arange(len(runs))
    kept = np.array([run["n_kept"] for run in runs])
    correct = 100 * np.array([run["correct"] for run in runs]) / np.maximum(kept, 1)
    axes.bar(x, correct, 0.6, label="same label")
    axes.bar(x, np.where(kept > 0, 100 - correct, 0), 0.6, bottom=correct, color="0.75", label="different labels")
    for position, run in zip(x, runs):
        axes.annotate(f"{100 * run['accuracy']:.1f} %\n{run['n_kept']} of {run['n_links']} kept", (position, 102),
                      ha="center", fontsize=8)
    axes.axhline(70, color="k", linestyle=":", linewidth=1, label="thesis: > 70 % same label")
    axes.set_xticks(x, [f"seed {run['seed']}" for run in runs], fontsize=8)
    axes.set_ylim(0, 120)
    axes.set_ylabel("kept cross-modal links (%)")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, loc="lower right")
    _save(figure, path)


def plot_cochleagram(probabilities: np.ndarray, path: str | Path, *, frame_rate: float | None = None,
                     center_frequencies: np.ndarray | None = None, title: str = "") -> None:
    """Firing probability of every cochlear channel over time (Rathi 2021, Fig. 3.4, an utterance of "0").

    ``probabilities`` is (frames, channels) with channel 0 the cochlea's base (highest frequency), drawn at
    the top. ``frame_rate`` (frames per second of audio) puts seconds on the time axis instead of frames;
    ``center_frequencies`` (Hz, one per channel) labels the channel axis with frequencies.
    """
    n_frames, n_channels = probabilities.shape
    duration = n_frames / frame_rate if frame_rate else n_frames
    figure, axes = plt.subplots(figsize=(7, 4))
    image = axes.imshow(probabilities.T, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0,
                        extent=(0, duration, n_channels - 0.5, -0.5))
    axes.set_xlabel("time (s of audio)" if frame_rate else "frame")
    if center_frequencies is None:
        axes.set_ylabel("channel (0 = base, highest frequency)")
    else:
        ticks = np.arange(0, n_channels, max(1, n_channels // 8))
        axes.set_yticks(ticks, [f"{center_frequencies[k] / 1000:.2g}" for k in ticks])
        axes.set_ylabel("channel centre frequency (kHz)")
    axes.set_title(title or "Cochleagram")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.02, label="firing probability")
    _save(figure, path)


def plot_ttfs_raster(layers: list[tuple[str, float, float, np.ndarray]], path: str | Path, title: str = "") -> None:
    """One image's spikes, layer by layer (``(name, t_min, t_max, times)``), over its coding window
    (shaded): the later a spike in its window, the smaller the value it carries (Stanojevic Fig. 2.4)."""
    figure, axes = plt.subplots(len(layers), 1, figsize=(9, 1.4 * len(layers) + 0.6), sharex=True)
    for ax, (name, t_min, t_max, times) in zip(np.atleast_1d(axes), layers):
        ax.axvspan(t_min, t_max, color="0.92")
        active = times < t_max
        ax.plot(times[active], np.flatnonzero(active), "|", color="C0", markersize=3)
        ax.plot(times[~active], np.flatnonzero(~active), "|", color="0.6", markersize=3)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    np.atleast_1d(axes)[-1].set_xlabel("time (units of tau_c); grey: forced spikes at t_max (value 0)")
    np.atleast_1d(axes)[0].set_title(title)
    _save(figure, path)


def plot_spike_layers(layers: list[tuple[str, np.ndarray]], path: str | Path, title: str = "") -> None:
    """One sample's spikes, layer by layer: ``(name, times)`` with ``times`` (neurons, slots) in seconds, inf for an
    empty slot; drawn in ms."""
    figure, axes = plt.subplots(len(layers), 1, figsize=(9, 1.5 * len(layers) + 0.6), sharex=True)
    for ax, (name, times) in zip(np.atleast_1d(axes), layers):
        neuron, _ = np.nonzero(np.isfinite(times))
        ax.plot(1e3 * times[np.isfinite(times)], neuron, "|", color="C0", markersize=3)
        ax.set_ylabel(f"{name}\n({len(neuron)} spikes)", rotation=0, ha="right", va="center")
        ax.set_ylim(-0.5, times.shape[0] - 0.5)
    np.atleast_1d(axes)[-1].set_xlabel("time (ms)")
    np.atleast_1d(axes)[0].set_title(title)
    _save(figure, path)


def plot_error_histogram(gaps: dict[str, np.ndarray], path: str | Path, title: str = "") -> None:
    """Histogram per layer of ``log10 |difference|`` (exact zeros drawn at the left edge)."""
    figure, axes = plt.subplots(figsize=(7, 4))
    floor = -18
    bins = np.linspace(floor, 0, 73)
    for name, gap in gaps.items():
        axes.hist(np.log10(np.maximum(gap.ravel(), 10.0 ** floor)), bins=bins, histtype="step", label=name)
    axes.set_xlabel(f"log10 |t_Brian2 - t_exact| relative to the readout time (zeros at {floor})")
    axes.set_ylabel("spikes")
    axes.set_yscale("log")
    axes.legend()
    axes.set_title(title)
    _save(figure, path)


def plot_error_vs_dt(dts, errors: dict[str, list[float]], slope: float, path: str | Path, title: str = "") -> None:
    """Log-log plot of simulation error against the time step, with the fitted slope."""
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for name, values in errors.items():
        axes.loglog(dts, values, "o-", label=name)
    axes.set_xlabel("dt (units of tau_c)")
    axes.set_ylabel("spike-time error / readout time")
    axes.set_title(f"{title}\nfitted slope of the largest error: {slope:.3f}")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    _save(figure, path)


def plot_crosscheck(reference: dict, other: dict, report: dict, errors: dict, path: str | Path,
                    title: str = "") -> None:
    """Two runs of one network: the raster of the layer where they first part (the reference's spikes as dots,
    the other's as crosses, the divergence marked), and per layer the histogram of ``log10 |dt|`` of the paired
    spikes (``errors``: layer -> their time differences in ms; exact zeros at the left edge)."""
    first = report["first_divergence"]
    layer = first["layer"] if first else next(iter(reference))
    figure, (raster, histogram) = plt.subplots(1, 2, figsize=(11, 4))
    for spikes, marker, label in ((reference, ".", "Brian2 (reference)"), (other, "x", "other simulator")):
        trains = spikes[layer]
        times = np.concatenate(trains) if trains else np.zeros(0)
        neurons = np.concatenate([np.full(len(t), j) for j, t in enumerate(trains)]) if trains else np.zeros(0)
        raster.plot(times, neurons, marker, markersize=4, linestyle="none", label=label)
    if first:
        raster.axvline(first["time_ms"], color="r", linewidth=1,
                       label=f"first divergence: {first['kind']}, neuron {first['neuron']}")
    raster.set_xlabel("time (ms)")
    raster.set_ylabel(f"neuron of {layer}")
    raster.legend(fontsize=8, loc="upper right")
    floor = -16
    bins = np.linspace(floor, 2, 73)
    for name, layer_errors in errors.items():
        histogram.hist(np.log10(np.maximum(layer_errors, 10.0 ** floor)), bins=bins, histtype="step",
                       label=f"{name}: {report['layers'][name]['count_mismatches']} count mismatches")
    histogram.set_xlabel(f"log10 |t_other - t_Brian2| (ms; zeros at {floor})")
    histogram.set_ylabel("paired spikes")
    histogram.legend(fontsize=8)
    figure.suptitle(title)
    _save(figure, path)
