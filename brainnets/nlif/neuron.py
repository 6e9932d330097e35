"""The non-leaky integrate-and-fire (n-LIF) neuron of Kotak's thesis (ch. 5) in Brian2, exact at any input time.

The membrane has no leak; each input spike starts an exponentially decaying synaptic current:

    dV/dt = K I / tau,   dI/dt = -I / tau,   an input spike j at t_j:  I <- I + w_j

so that from rest (the thesis' closed form, §5.1 with tau = 1, Table 5.1 with any tau)

    V(t) = K sum_j w_j (1 - exp(-(t - t_j)/tau)) H(t - t_j) = sum_j w_j response(t - t_j).

``K`` is the potential a unit weight finally brings and ``tau`` the synaptic time constant (the thesis'
"hardware-specific parameters"). It is the neuron of Mostafa (2017), which the thesis cites. The classifier reads
``V`` at one time ``T`` and never uses a spike, so there is no threshold and no reset here.

**Inputs are spike times** (:func:`spike_times`): value ``x_j`` spikes at ``t_j = x_j`` (Table 5.1: the feature
*is* the latency; times in ms here), or, as a latency code for data in [0, 1], at ``t_max (1 - x_j)`` (bright
pixels early). **The readout time** (:func:`readout_times`) is a dataset constant by default, the end of the
encoding window (``T = b2`` of §5.2), or per sample ``T = max_j t_j`` (§5.1). With d = 1 the per-sample ``T`` is
the sample's only spike time, so ``phi = response(0) = 0`` for every sample and nothing can be learned.

**Brian2, exact** (``semantics='exact'``, the convention of :mod:`brainnets.exact.timing`). ``K I + V`` does not
change between inputs, so the group integrates only the current and keeps ``v_inf = K sum_j w_j``, the
potential the inputs so far will finally bring: ``V = v_inf - K I``. (The same system, but Brian2's ``'exact'``
method refuses the pair ``dV/dt = K I/tau, dI/dt = -I/tau`` as written.) A batch of N samples is N independent
neurons; input j of sample i is an input neuron of its own that fires once, in the step ``(t, t + dt]`` that
holds ``t_ij``, and carries its offset ``sp_off`` in that step. The synapse acts at the end of the step (the
state already stands at ``t + dt``), so it adds the current the input has left after the rest of the step,
``r = dt - sp_off`` (the charge correction of :mod:`brainnets.exact.integrator`, here with the current's decay):

    I += w exp(-r/tau),   v_inf += K w.

The readout may fall between grid points: the run ends at the first grid time ``t_end >= T``, and since no input
comes after ``T`` (an input after ``T`` cannot change ``V(T)``, the ``H`` above, so it is not delivered), the
current is taken back to ``T``: ``V(T) = v_inf - K I(t_end) exp((t_end - T)/tau)``. ``V(T)`` then equals the
closed form to rounding error, for any ``dt``.

**Clock semantics** (``semantics='clock'``): ``sp_off = dt``, every input acts from the end of the step that
holds it, as plain clock-driven Brian2 does. Each input is late by less than ``dt``, so ``V(T)`` is off by up
to ``K ||w||_1 dt / tau``: first order in ``dt``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Clock, Network, NeuronGroup, StateMonitor, Synapses, ms, prefs

from ..exact.timing import OFFSET, check_semantics, on_device

CODINGS = ("identity", "latency")

NEURON = """
dI/dt = -I / tau : 1
v = v_inf - K * I : 1
v_inf : 1
K : 1 (shared, constant)
tau : second (shared, constant)
t_read : second (constant)
v_read = v_inf - K * I * exp((t - t_read) / tau) : 1  # V(t_read), read once the run has passed it
"""

#: An input: fires once, in its step, at offset sp_off within it.
INPUT = f"""
step : integer (constant)
{OFFSET} : second (constant)
"""
INPUT_THRESHOLD = "timestep(t, dt) == step"

#: The input's current from its own time on (see the module docstring).
ON_PRE = f"""
I_post += w * exp(-(dt - {OFFSET}_pre) / tau_post)
v_inf_post += K_post * w
"""


def response(elapsed, K: float = 1.0, tau: float = 1.0) -> np.ndarray:
    """The potential a unit weight has brought ``elapsed`` ms after its spike: ``K (1 - exp(-elapsed/tau)) H``."""
    elapsed = np.asarray(elapsed, dtype=float)
    return np.where(elapsed > 0, K * -np.expm1(-np.maximum(elapsed, 0) / tau), 0.0)


def potential(t, times, w, K: float = 1.0, tau: float = 1.0) -> np.ndarray:
    """The closed form ``V(t)`` of each sample: ``t`` (samples,) or a scalar, ``times`` (samples, d)."""
    t = np.asarray(t, dtype=float)
    return response(t[..., None] - np.asarray(times, dtype=float), K, tau) @ np.asarray(w, dtype=float)


def spike_times(x, coding: str = "identity", t_max: float = 1.0) -> np.ndarray:
    """Input spike times (ms) of values ``x`` (samples, d): ``x`` itself, or the latency code ``t_max (1 - x)``."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    if coding == "identity":
        times = x
    elif coding == "latency":
        if x.min() < 0 or x.max() > 1:
            raise ValueError("the latency code takes values in [0, 1]")
        times = t_max * (1 - x)
    else:
        raise ValueError(f"unknown coding {coding!r}; choose one of {CODINGS}")
    if np.isnan(times).any() or times.min() < 0:
        raise ValueError("spike times must be numbers >= 0")
    return times


def readout_times(times, T: float | None = None) -> np.ndarray:
    """Each sample's readout time: the global ``T`` (the encoding window's end, §5.2), or, with ``T=None``, the
    sample's last spike ``max_j t_j`` (§5.1; ``phi = 0`` when d = 1)."""
    times = np.atleast_2d(np.asarray(times, dtype=float))
    return times.max(axis=1) if T is None else np.full(len(times), float(T))


@dataclass
class NLIFRun:
    v_at_T: np.ndarray        # (samples,) V at each sample's readout time
    T: np.ndarray             # (samples,) the readout times (ms)
    dt: float                 # ms
    semantics: str
    trace_t: np.ndarray       # (steps + 1,) grid times (ms) of the recorded traces
    trace_v: np.ndarray       # (recorded samples, steps + 1) V on the grid; empty if none recorded


def _input_events(times: np.ndarray, T: np.ndarray, dt: float, semantics: str):
    """(sample, input, step, offset) of every input that arrives by its sample's readout time."""
    sample, j = np.nonzero(times <= T[:, None])
    t = times[sample, j]
    step = np.maximum(np.ceil(t / dt).astype(np.int64) - 1, 0)
    offset = np.clip(t - step * dt, 0.0, dt) if semantics == "exact" else np.full(len(t), dt)
    return sample, j, step, offset


def simulate(times, w, T=None, *, K: float = 1.0, tau: float = 1.0, dt: float = 2.0 ** -7,
             semantics: str = "exact", record=(), target: str = "numpy") -> NLIFRun:
    """Run one n-LIF neuron per sample: ``times`` (samples, d) input spike times (ms), ``w`` (d,) the weights,
    ``T`` the readout time (a number, one per sample, or None for each sample's last spike), ``tau`` and ``dt``
    in ms. ``record``: the samples whose ``V(t)`` is kept on the grid. Runs on Brian2's runtime device with
    code generation ``target``."""
    check_semantics(semantics)
    times = np.atleast_2d(np.asarray(times, dtype=float))
    w = np.asarray(w, dtype=float).ravel()
    if times.shape[1] != len(w):
        raise ValueError(f"{times.shape[1]} inputs per sample but {len(w)} weights")
    T = readout_times(times) if T is None else np.broadcast_to(np.asarray(T, dtype=float), (len(times),)).copy()
    sample, j, step, offset = _input_events(times, T, dt, semantics)
    # up to the first grid time >= every T, and past the step of the last input whatever the rounding
    n_steps = max(int(np.ceil(T.max() / dt - 1e-9)), int(step.max(initial=-1)) + 1, 1)
    record = list(record)
    with on_device("runtime"):
        prefs.codegen.target = target
        clock = Clock(dt * ms)
        neurons = NeuronGroup(len(times), NEURON, method="exact", clock=clock)
        neurons.K, neurons.tau, neurons.t_read = K, tau * ms, T * ms
        n_inputs = max(len(sample), 1)  # with no input at all, one spare input that never fires
        inputs = NeuronGroup(n_inputs, INPUT, threshold=INPUT_THRESHOLD, reset="", clock=clock)
        inputs.step = np.append(step, -1)[:n_inputs]
        setattr(inputs, OFFSET, np.append(offset, 0.0)[:n_inputs] * ms)
        synapses = Synapses(inputs, neurons, "w : 1 (constant)", on_pre=ON_PRE, clock=clock)
        synapses.connect(i=np.arange(len(sample)), j=sample)
        synapses.w = w[j]
        objects = [neurons, inputs, synapses]
        if record:
            monitor = StateMonitor(neurons, "v", record=record, clock=clock)
            objects.append(monitor)
        Network(objects).run(n_steps * dt * ms, namespace={})  # names come from the groups only
        v_at_T = np.asarray(neurons.v_read[:], dtype=float)
        trace_t = np.arange(n_steps + 1) * dt
        trace_v = (np.column_stack([monitor.v[:], neurons.v[record]]) if record
                   else np.empty((0, n_steps + 1)))
    return NLIFRun(v_at_T, T, dt, semantics, trace_t, trace_v)
