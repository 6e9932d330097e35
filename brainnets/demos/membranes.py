"""Demo ``membranes``: a current-based and a conductance-based leaky integrate-and-fire neuron fed the same spikes.

The conductance-based neuron is the Diehl & Cook excitatory neuron of :mod:`brainnets.neurons`, built by
:func:`~brainnets.neurons.excitatory_group` from ``models/diehl_cook_2015.toml``:

    tau_m dv/dt = (v_rest - v) + g_e (E_exc - v) + g_i (E_inh - v),   tau_ge dg_e/dt = -g_e,   tau_gi dg_i/dt = -g_i

An input spike of weight w adds w to g_e (or g_i); the threshold is ``v_thresh + theta - theta_offset``, and
theta grows by ``theta_plus`` at each spike. The current-based neuron is the textbook LIF, NEST's
``iaf_psc_delta`` as :mod:`brainnets.exact.lif` builds it (clock-driven): ``tau_m dv/dt = E_L - v`` between
inputs, and every input spike makes v jump by its weight. It has the same resting potential, threshold, reset,
membrane time constant and refractory period, and its jumps bring the charge that the conductances bring *at
rest*: ``w (E - v_rest) tau_g / tau_m``. The further v moves from rest, the more the two differ: a conductance's
push shrinks as v nears its reversal potential, and reverses beyond it; a jump is the same everywhere.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, mV, ms, prefs

from ..exact import lif
from ..exact.timing import on_device
from ..neurons import ExcitatoryParams, excitatory_group, membrane_trajectory
from ..stdp.model import DiehlCookModel
from .figures import new_figure

MODEL = "diehl_cook_2015"
DURATION_MS = 300.0
#: Constants of the conductance-based neuron: their unit, and the values that the ``constants`` figure tries
#: beside the model file's.
VARIATIONS = {
    "tau_m": (ms, (50.0, 200.0)),
    "v_thresh": (mV, (-56.0, -48.0)),
    "theta_plus": (mV, (1.0, 3.0)),
    "v_reset": (mV, (-60.0, -55.0)),
    "E_exc": (mV, (-20.0, 30.0)),
    "E_inh": (mV, (-80.0, -65.0)),
    "tau_ge": (ms, (0.5, 3.0)),
    "tau_gi": (ms, (0.5, 10.0)),
}


@dataclass(frozen=True)
class Inputs:
    """Input spike times (ms) of the excitatory and the inhibitory input neurons, and their weights."""

    exc_times: np.ndarray
    exc_indices: np.ndarray
    inh_times: np.ndarray
    inh_indices: np.ndarray
    w_exc: float
    w_inh: float

    @property
    def n_exc(self) -> int:
        return int(self.exc_indices.max()) + 1

    @property
    def n_inh(self) -> int:
        return int(self.inh_indices.max()) + 1


def poisson_trains(n: int, rate_hz: float, start_ms: float, stop_ms: float, dt_ms: float,
                   rng: np.random.Generator):
    """``n`` Poisson trains in [start, stop) ms on the grid of ``dt_ms``, at most one spike per neuron and step:
    (times in ms, neuron indices)."""
    steps = np.arange(start_ms, stop_ms, dt_ms)
    fires = rng.random((len(steps), n)) < rate_hz * dt_ms / 1000
    step, neuron = np.nonzero(fires)
    return steps[step], neuron


def default_inputs(dt_ms: float, seed: int = 3) -> Inputs:
    """40 excitatory inputs at 30 Hz from 30 ms on, and an 80 ms volley of 10 inhibitory inputs at 60 Hz
    from 170 ms on."""
    rng = np.random.default_rng(seed)
    exc_times, exc_indices = poisson_trains(40, 30.0, 30.0, DURATION_MS, dt_ms, rng)
    inh_times, inh_indices = poisson_trains(10, 60.0, 170.0, 250.0, dt_ms, rng)
    return Inputs(exc_times, exc_indices, inh_times, inh_indices, w_exc=1.0, w_inh=1.0)


@dataclass(frozen=True)
class Traces:
    """One run: time (ms), membrane potential and threshold (mV), the two conductances (None for the
    current-based neuron), and the spike times (ms)."""

    t: np.ndarray
    v: np.ndarray
    threshold: np.ndarray
    exc: np.ndarray | None
    inh: np.ndarray | None
    spikes: np.ndarray


def _at_rest(params: ExcitatoryParams) -> ExcitatoryParams:
    """The same neuron starting at rest (Diehl & Cook start it 40 mV below, to keep it quiet at first)."""
    return dataclasses.replace(params, v_init_below_rest=0 * mV)


def conductance_neuron(params: ExcitatoryParams, inputs: Inputs, dt_ms: float, method: str,
                       duration_ms: float = DURATION_MS) -> Traces:
    """The Diehl & Cook excitatory neuron (learning on: theta adapts) driven by ``inputs``."""
    with on_device("runtime"):
        prefs.codegen.target = "numpy"  # small and short: no compiler needed
        defaultclock.dt = dt_ms * ms
        neuron = excitatory_group(1, _at_rest(params), method=method, name="conductance_lif")
        neuron.learning = 1
        exc = SpikeGeneratorGroup(inputs.n_exc, inputs.exc_indices, inputs.exc_times * ms, name="exc_inputs")
        inh = SpikeGeneratorGroup(inputs.n_inh, inputs.inh_indices, inputs.inh_times * ms, name="inh_inputs")
        to_ge = Synapses(exc, neuron, on_pre="ge_post += w_exc", namespace={"w_exc": inputs.w_exc})
        to_gi = Synapses(inh, neuron, on_pre="gi_post += w_inh", namespace={"w_inh": inputs.w_inh})
        to_ge.connect()
        to_gi.connect()
        state = StateMonitor(neuron, ["v", "ge", "gi", "theta"], record=0)
        spikes = SpikeMonitor(neuron)
        network = Network(neuron, exc, inh, to_ge, to_gi, state, spikes)
        network.run(duration_ms * ms, namespace={})
        threshold = (params.v_thresh - params.theta_offset + state.theta[0]) / mV
        return Traces(state.t / ms, state.v[0] / mV, np.asarray(threshold), state.ge[0], state.gi[0],
                      np.asarray(spikes.t / ms))


def current_twin(params: ExcitatoryParams) -> dict:
    """NEST-style parameters (mV, ms) of the current-based neuron with the constants of ``params``."""
    return {"E_L": float(params.v_rest / mV), "V_th": float(params.first_threshold / mV),
            "V_reset": float(params.v_reset / mV), "tau_m": float(params.tau_m / ms),
            "t_ref": float(params.refractory / ms)}


def jump_mv(params: ExcitatoryParams, kind: str, w: float) -> float:
    """The jump (mV) that brings the charge of a conductance ``w`` of ``kind`` ("exc" or "inh") at rest."""
    reversal, tau = (params.E_exc, params.tau_ge) if kind == "exc" else (params.E_inh, params.tau_gi)
    return float(w * (reversal - params.v_rest) / mV * (tau / params.tau_m))


def current_neuron(params: ExcitatoryParams, inputs: Inputs, dt_ms: float,
                   duration_ms: float = DURATION_MS) -> Traces:
    """The current-based twin of ``params`` (:func:`current_twin`, jumps of :func:`jump_mv`) driven by
    ``inputs``; it has no synaptic state (``exc`` and ``inh`` are None)."""
    twin = current_twin(params)
    n_exc, n_inh = inputs.n_exc, inputs.n_inh
    weights = np.concatenate([np.full((n_exc, 1), jump_mv(params, "exc", inputs.w_exc)),
                              np.full((n_inh, 1), jump_mv(params, "inh", inputs.w_inh))])
    times = (np.concatenate([inputs.exc_indices, n_exc + inputs.inh_indices]),
             np.concatenate([inputs.exc_times, inputs.inh_times]))
    with on_device("runtime"):
        prefs.codegen.target = "numpy"
        network, namespace, spikes, neuron, _ = lif.build("delta", twin, weights, times, duration_ms, dt_ms,
                                                          semantics="clock")
        state = StateMonitor(neuron, "v", record=0)
        network.add(state)
        network.run(duration_ms * ms, namespace=namespace)
        # lif's clock semantics: a spike at the end of the step whose state crossed threshold
        return Traces(state.t / ms, state.v[0].copy(), np.full(len(state.t), twin["V_th"]), None, None,
                      np.asarray(spikes.t / ms) + dt_ms)


def plot_two_membranes(inputs: Inputs, current: Traces, conductance: Traces, params: ExcitatoryParams):
    figure, axes = new_figure(3, 1, size=(8, 7), sharex=True, height_ratios=[1, 1.2, 2.5])
    raster, conductances, potential = axes
    raster.plot(inputs.exc_times, inputs.exc_indices, "|", color="C3", ms=3)
    raster.plot(inputs.inh_times, inputs.n_exc + inputs.inh_indices, "|", color="C0", ms=3)
    raster.set_ylabel("input neuron")
    raster.set_title("The same input spikes (red: excitatory, blue: inhibitory) drive both neurons")
    conductances.plot(conductance.t, conductance.exc, color="C3", label="g_e")
    conductances.plot(conductance.t, conductance.inh, color="C0", label="g_i")
    conductances.set_ylabel("conductance\n(units of the leak)")
    conductances.legend(loc="upper left", fontsize=8)
    for traces, color, label, top in ((current, "0.5", "current-based", -30),
                                      (conductance, "k", "conductance-based", -40)):
        potential.plot(traces.t, traces.v, color=color, lw=1, label=f"{label}: {len(traces.spikes)} spikes")
        potential.vlines(traces.spikes, top, top + 8, color=color, lw=1)
    potential.plot(conductance.t, conductance.threshold, "k--", lw=0.8, label="threshold")
    rest = float(params.v_rest / mV)
    potential.axhline(rest, color="0.6", lw=0.6, ls=":")
    potential.set_ylim(rest - 5, -12)
    potential.set_ylabel("membrane potential v (mV)")
    potential.set_xlabel("time (ms); spikes drawn as bars above")
    potential.legend(loc="upper center", ncols=3, fontsize=8)
    return figure


def plot_constants(runs: dict[str, list[tuple[float, Traces]]], params: ExcitatoryParams):
    """One panel per constant: v (and the threshold, for the thresholds' constants) for each value tried."""
    figure, axes = new_figure(4, 2, size=(9, 9.5), sharex=True)
    for panel, (name, tried) in zip(axes.ravel(), runs.items()):
        unit = VARIATIONS[name][0]
        for (value, traces), color in zip(tried, ("k", "C1", "C2")):
            label = f"{value:g} {unit}" + (" (model file)" if value == float(getattr(params, name) / unit) else "")
            panel.plot(traces.t, traces.v, color=color, lw=0.8, label=f"{label}: {len(traces.spikes)} spikes")
            if name in ("theta_plus", "v_thresh"):
                panel.plot(traces.t, traces.threshold, color=color, ls="--", lw=0.8)
        panel.set_title(name)
        panel.set_ylabel("v (mV)")
        panel.legend(fontsize=7, loc="lower right")
    for panel in axes[-1]:
        panel.set_xlabel("time (ms)")
    figure.suptitle("One constant changed at a time (dashed: the threshold)")
    return figure


def single_input(kind: str) -> Inputs:
    """One input spike of weight 1 at 10 ms, excitatory or inhibitory (``kind`` "exc" or "inh")."""
    at = (np.array([10.0]), np.array([0]))
    return Inputs(*at, *at, w_exc=float(kind == "exc"), w_inh=float(kind == "inh"))


def largest_change(change: np.ndarray) -> float:
    return float(change[np.argmax(np.abs(change))])


def conductance_psps(params: ExcitatoryParams, kind: str, v0_mv: np.ndarray, dt_ms: float,
                     method: str) -> np.ndarray:
    """The largest change (mV) that one input spike of ``kind`` makes to v, against v's course without it, when
    it arrives at each potential of ``v0_mv``. The conductance is the Brian2 neuron's; v is the subthreshold
    numpy twin's (:func:`~brainnets.neurons.membrane_trajectory`), which can start anywhere."""
    recorded = conductance_neuron(params, single_input(kind), dt_ms, method, duration_ms=100.0)
    none = np.zeros_like(recorded.exc)
    dt = dt_ms * ms
    return np.array([largest_change((membrane_trajectory(params, recorded.exc, recorded.inh, dt, v * mV, method)
                                     - membrane_trajectory(params, none, none, dt, v * mV, method)) / mV)
                     for v in v0_mv])


def current_psp(params: ExcitatoryParams, kind: str, dt_ms: float) -> float:
    """The same for the current-based twin, from rest (its jump does not depend on v)."""
    traces = current_neuron(params, single_input(kind), dt_ms, duration_ms=100.0)
    return largest_change(traces.v - float(params.v_rest / mV))


def plot_driving_force(params: ExcitatoryParams, dt_ms: float, method: str):
    """One input's effect against the potential at which it arrives: a conductance's shrinks to 0 at its reversal
    potential and changes sign beyond it; a current's is the same everywhere."""
    v0 = np.linspace(-110, 10, 121)
    figure, axes = new_figure(size=(7, 4.2))
    for kind, color, reversal in (("exc", "C3", "E_exc"), ("inh", "C0", "E_inh")):
        name = "excitatory" if kind == "exc" else "inhibitory"
        axes.plot(v0, conductance_psps(params, kind, v0, dt_ms, method), color=color,
                  label=f"conductance-based, one {name} spike")
        axes.axhline(current_psp(params, kind, dt_ms), color=color, ls="--",
                     label=f"current-based, one {name} spike")
        axes.axvline(getattr(params, reversal) / mV, color=color, ls=":", lw=0.8)
        axes.annotate(reversal, (getattr(params, reversal) / mV, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(3, -12), textcoords="offset points", fontsize=8, color=color)
    axes.axvline(params.v_rest / mV, color="0.5", ls=":", lw=0.8)
    axes.axhline(0, color="0.5", lw=0.6)
    axes.set_xlabel("membrane potential when the input arrives (mV)")
    axes.set_ylabel("largest change of v (mV)")
    axes.set_title("Driving force: about equal at rest (dotted grey), different everywhere else", fontsize=10)
    axes.legend(fontsize=8)
    return figure


def vary_constants(params: ExcitatoryParams, inputs: Inputs, dt_ms: float, method: str,
                   reference: Traces) -> dict[str, list[tuple[float, Traces]]]:
    """For each constant of :data:`VARIATIONS`: (value, traces) for the model file's value (``reference``, its
    run) and the two others."""
    runs = {}
    for name, (unit, values) in VARIATIONS.items():
        tried = [(float(getattr(params, name) / unit), reference)]
        for value in values:
            changed = dataclasses.replace(params, **{name: value * unit})
            tried.append((value, conductance_neuron(changed, inputs, dt_ms, method)))
        runs[name] = tried
    return runs


def membranes(seed: int = 3) -> dict:
    """Figures ``two_membranes`` (the same input into both neurons), ``driving_force`` (one input's effect
    against the potential) and ``constants`` (the conductance-based neuron with one constant changed at a
    time)."""
    model = DiehlCookModel.load(MODEL)
    params, dt_ms = model.excitatory, float(model.dt / ms)
    inputs = default_inputs(dt_ms, seed)
    conductance = conductance_neuron(params, inputs, dt_ms, model.method)
    current = current_neuron(params, inputs, dt_ms)
    return {"two_membranes": plot_two_membranes(inputs, current, conductance, params),
            "driving_force": plot_driving_force(params, dt_ms, model.method),
            "constants": plot_constants(vary_constants(params, inputs, dt_ms, model.method, conductance), params)}
