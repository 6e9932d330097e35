"""What every exact-time model of this package shares: the two semantics and how a spike carries its time.

Brian2 advances on a grid of steps ``(t, t + dt]`` and emits a spike in a step. An exact-time group also
publishes **``sp_off``**, the spike's offset within the step that emits it, so the spike's true time is
``t + sp_off``; a synapse reads ``sp_off_pre`` to deliver the spike's effect from that time on. Under the
**exact** semantics ``sp_off`` is where the analytic trajectory crossed the threshold; under the **clock**
semantics (plain clock-driven Brian2) it is ``dt``: a crossing detected at the end of a step is put there,
and every spike sits on the grid.

The models: :mod:`~brainnets.exact.lif` (leaky neurons with voltage-jump or exponential-current synapses,
NEST's precise models as peers) and :mod:`~brainnets.exact.integrator` (the non-leaky integrator of TTFS
networks).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from brian2 import Quantity, ms

from ..devices import use_device

SEMANTICS = ("exact", "clock")

#: The spike-time variable of every exact-time group (see the module docstring).
OFFSET = "sp_off"


def check_semantics(semantics: str) -> str:
    if semantics not in SEMANTICS:
        raise ValueError(f"unknown semantics {semantics!r}; choose one of {SEMANTICS}")
    return semantics


def recorded_spikes(monitor, dt_ms: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(neuron, step, offset_ms)`` of every spike a ``SpikeMonitor`` recorded; the offsets (:data:`OFFSET`, a
    time or a number of ms) are None if the monitor does not record them."""
    steps = np.round(np.asarray(monitor.t[:] / ms) / dt_ms).astype(np.int64)
    offsets = None
    if OFFSET in monitor.record_variables:
        offsets = getattr(monitor, OFFSET)[:]
        offsets = np.asarray(offsets / ms if isinstance(offsets, Quantity) and not offsets.is_dimensionless
                             else offsets, dtype=float)
    return np.asarray(monitor.i[:]), steps, offsets


@contextmanager
def on_device(device: str, directory=None):
    """Build the networks of the ``with`` block for ``device`` (its project in ``directory``), then return to
    Brian2's runtime device whatever happens."""
    use_device(device, directory)
    try:
        yield
    finally:
        use_device("runtime")
