"""Time-to-first-spike input coding of images (Bacho 2023, Sec 3.6.2; Eq. 38).

A pixel of intensity ``p`` in [0, 255] spikes once, at ``T (1 - p/255)``: white at 0, darker later, within the
window ``T`` (100 ms in the thesis); a black pixel (0) does not spike.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def encode_ttfs(images: np.ndarray, window: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(n, pixels, 1) spike times (s; inf = no spike) of the uint8 ``images`` (n, ...)."""
    pixels = torch.tensor(np.asarray(images).reshape(len(images), -1, 1), dtype=dtype)
    return torch.where(pixels > 0, window * (1 - pixels / 255), math.inf)
