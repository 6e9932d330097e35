"""Input coding over T steps: Poisson rate coding with signed spikes (STDB) and direct analog input (DIET-SNN,
Jiang & Zhang).

Poisson (Rathi 2021, Sec 4.5; Algorithms 1 and 3): at every step each input draws a fresh uniform number and
spikes when it is below the input's normalised value, so that its rate over many steps is that value. Rathi's
code normalises images to [-1, 1] and lets a negative value spike with -1, the rate being its magnitude: the
spike is ``sign(x) Θ(abs(x) - r)``, ``r`` uniform on [0, 1). A magnitude of 1 or more spikes at every step.

Direct (Rathi Sec 5.3.1; Jiang Sec 2.3): the analog input itself at every step; the first layer's neurons make
the spikes.
"""
from __future__ import annotations

import torch


def poisson(x: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Signed Poisson spikes ``(steps, *x.shape)`` in {-1, 0, 1} of ``x`` (values in [-1, 1])."""
    draws = torch.rand((steps, *x.shape), generator=generator, dtype=x.dtype, device=x.device)
    return torch.sign(x) * (draws < x.abs()).to(x.dtype)


def direct(x: torch.Tensor, steps: int) -> torch.Tensor:
    """``x`` repeated over ``steps`` steps, ``(steps, *x.shape)`` (a view: no copy)."""
    return x.expand(steps, *x.shape)


def encode(kind: str, x: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The coding a model file names: "poisson" or "direct"."""
    if kind == "poisson":
        return poisson(x, steps, generator)
    if kind == "direct":
        return direct(x, steps)
    raise ValueError(f"unknown input coding {kind!r}: expected 'poisson' or 'direct'")
