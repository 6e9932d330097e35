"""The demos' figures: made without pyplot, saved as PNG files that are either whole or absent.

A demo returns its figures as ``{name: Figure}``. They are plain :class:`matplotlib.figure.Figure` objects,
drawn by the Agg renderer whatever backend is active: pyplot never holds them, so a demo run in a loop keeps
no figure alive, and a notebook shows each one where it is the value of a cell.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..checkpoint import check_new_result, write_bytes_atomic
from ..plotting import receptive_field_mosaic

#: Resolution of the figures as notebooks show them, and as ``brainnets demo --out`` writes them.
SCREEN_DPI = 72
FILE_DPI = 110


def new_figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.4, 4.0), **subplots):
    """A figure with a ``rows`` x ``cols`` grid of axes (squeezed as ``Figure.subplots`` does)."""
    figure = Figure(figsize=size, dpi=SCREEN_DPI, layout="constrained")
    return figure, figure.subplots(rows, cols, **subplots)


def png_bytes(figure: Figure, dpi: int = FILE_DPI) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def save_figures(figures: dict[str, Figure], folder: str | Path) -> list[Path]:
    """Write every figure to ``folder/<name>.png`` (atomically); returns the paths. A file that exists is never
    overwritten: if any does, nothing is written."""
    paths = {name: Path(folder) / f"{name}.png" for name in figures}
    for path in paths.values():
        check_new_result(path)
    for name, path in paths.items():
        write_bytes_atomic(path, png_bytes(figures[name]))
    return list(paths.values())


def draw_mosaic(axes, weights: np.ndarray, vmax: float | None = None, side: int = 28):
    """Each neuron's input weights (n_input, n_neurons) as a ``side`` x ``side`` tile of a square grid, the grid
    lines in grey; returns the image (for a colour bar)."""
    mosaic = receptive_field_mosaic(weights, side)
    image = axes.imshow(mosaic, cmap="hot_r", interpolation="nearest", vmin=0, vmax=vmax)
    for k in range(1, math.ceil(math.sqrt(weights.shape[1]))):
        axes.axhline(k * side - 0.5, color="0.7", lw=0.4)
        axes.axvline(k * side - 0.5, color="0.7", lw=0.4)
    axes.set_xticks([])
    axes.set_yticks([])
    return image
