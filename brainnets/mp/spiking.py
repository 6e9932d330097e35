"""MP as a spike time: the non-leaky integrator with step-current synapses, in Brian2 (Kotak notes sec. 2.5).

A neuron without leak whose every input spike switches on a unit current from its time ``t_i`` on holds

    v(z) = sum_i [z - t_i]_+ / tau_c

so it reaches the threshold ``gamma`` at the first ``z`` with ``sum_i [z - t_i]_+ = gamma tau_c``: the MP
equation with ``p_i = c - t_i``. Inputs at ``t_i = c - p_i`` (times in units of ``tau_c``) make the neuron
fire at ``t_out = c - alpha(p, gamma)``: MP without sorting, event by event (TEMP, Madhuvanthi et al. 2023;
the ``tau -> infinity`` limit of the thesis' n-LIF neuron).

Exact spike times follow the package's convention (:mod:`brainnets.exact.timing`): the inputs are
integrators of :mod:`brainnets.exact.integrator` (slope 1 from 0, threshold ``t_i``), which fire at ``t_i``
exactly and publish the offset ``sp_off`` in their step; each synapse adds the unit current and the charge
it would have brought since its time (:data:`brainnets.exact.integrator.ON_PRE`). Between events ``v`` is
linear, so Brian2's Euler step is exact and a crossing can be traced back from the overshoot
``(v - gamma) tau_c / I``.

Unlike the TTFS layers, whose inputs all arrive before their window opens, the MP neuron receives inputs
while it integrates, possibly in the step in which it crosses. Its threshold is therefore checked after the
synapses (``'end'`` slot), on the complete ``v`` at the step's end, and each synapse also records the step's
arrivals: their summed weight, the charge they brought, and the earliest and latest arrival time. The
crossing is then exact when it follows all of the step's arrivals (trace back with the full current ``I``)
or precedes all of them (trace back the line without them, ``v - q`` with current ``I - j``); both cover every
step with at most one arrival. A crossing between two arrivals of one step (two inputs within ``dt`` of each
other and of the crossing) would need the step's arrivals in order; it is flagged (``between``) and traced
back with the full current, an error below ``dt``.

Under the ``'clock'`` semantics every spike, input or output, sits at the end of the step that detects it:
the plain clock-driven simulation, whose times are off by up to ``dt``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, defaultclock, ms, prefs

from ..exact import integrator
from ..exact.timing import OFFSET, check_semantics, on_device, recorded_spikes

#: The MP neuron (times in seconds, ``v`` and ``I`` in units of the unit input).
MP_NEURON = integrator.PERIOD_CLOCK + """
dv/dt = I / tau_c : 1
I : 1
theta : 1 (constant)
fired : boolean
j_step : 1              # this step's arrivals: summed weight,
q_step : 1              # the charge they brought by the step's end,
first_step : second     # earliest and latest time
last_step : second
t_far : second (shared, constant)
after = t_v - (v - theta) * tau_c / I : second
before = t_v - (v - q_step - theta) * tau_c / clip(I - j_step, 1e-12, I + 1) : second
use_before = int(v - q_step >= theta) * int(before <= first_step) : 1
between = (1 - use_before) * int(after < last_step) : 1
"""

#: The crossing's offset in its step, per semantics.
MP_OFFSET = {
    "exact": f"{OFFSET} = use_before * before + (1 - use_before) * after - t_local : second\n",
    "clock": f"{OFFSET} = dt : second\n",
}

MP_THRESHOLD = "not fired and v >= theta"
MP_RESET = "fired = True"
STEP_RESET = "j_step = 0\nq_step = 0\nfirst_step = t_far\nlast_step = -t_far"

#: The integrator's synapse (current and charge correction), plus the record of the step's arrivals.
MP_ON_PRE = integrator.ON_PRE + f"""
j_step_post += J
q_step_post += J * (dt - {OFFSET}_pre) / tau_c_post
first_step_post = clip(first_step_post, -t_far_post, t_local_post + {OFFSET}_pre)
last_step_post = clip(last_step_post, t_local_post + {OFFSET}_pre, t_far_post)
"""


@dataclass
class SpikingMP:
    alpha: np.ndarray    # (m,) c - t_out per problem
    t_out: np.ndarray    # (m,) output spike times (units of tau_c)
    between: np.ndarray  # (m,) True where the crossing fell between two arrivals of one step (see above)
    dt: float


def spiking_threshold(p: np.ndarray, gamma, *, dt: float = 2.0 ** -10, semantics: str = "exact",
                      codegen_target: str = "numpy") -> SpikingMP:
    """``alpha`` of each row of ``p`` (``(m, n)``) at ``gamma`` (a number or ``(m,)``) as ``c - t_out`` of one
    Brian2 MP neuron per row, inputs at ``t_i = c - p_i`` (``dt`` and times in units of ``tau_c`` = 1 ms).

    ``c`` is each row's ``max p`` plus two steps, so every input comes after the start, and the run ends four
    steps after the latest possible output (``t_out <= c - max p + gamma``). ``codegen_target``: Brian2's
    runtime code generation (``'numpy'`` needs no compiler).
    """
    p = np.atleast_2d(np.asarray(p, dtype=float))
    m, n = p.shape
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), (m,))
    if not (gamma > 0).all():
        raise ValueError("the MP equation needs gamma > 0")
    check_semantics(semantics)
    c = p.max(axis=1) + 2 * dt
    t_in = c[:, None] - p
    t_end = float((2 * dt + gamma).max() + 4 * dt)  # clock-driven: inputs and output each up to dt late
    tau_c = 1 * ms
    with on_device("runtime"):
        prefs.codegen.target = codegen_target
        defaultclock.dt = dt * tau_c
        period_steps = int(np.ceil(max(t_end, t_in.max()) / dt)) + 8
        inputs = _input_group(t_in.ravel(), semantics, period_steps, t_end=period_steps * dt, tau_c=tau_c)
        neurons = NeuronGroup(m, MP_NEURON + MP_OFFSET[semantics], threshold=MP_THRESHOLD, reset=MP_RESET,
                              method="euler", name="mp_neurons")
        neurons.thresholder["spike"].when = "end"  # after the synapses: v holds every arrival of the step
        neurons.period_steps, neurons.tau_c, neurons.theta = period_steps, tau_c, gamma
        neurons.t_far = 1e9 * tau_c
        neurons.run_regularly(STEP_RESET, when="start")  # every step
        synapses = Synapses(inputs, neurons, "J : 1 (constant)", on_pre=MP_ON_PRE, name="mp_inputs")
        synapses.connect(i=np.arange(m * n), j=np.repeat(np.arange(m), n))
        synapses.J = 1.0
        monitor = SpikeMonitor(neurons, variables=[OFFSET, "between"], when="end", order=1, name="mp_spikes")
        Network(inputs, neurons, synapses, monitor).run(t_end * tau_c, namespace={})
        neuron, step, offset_ms = recorded_spikes(monitor, dt)
        between = np.asarray(monitor.between[:], dtype=bool)
    if len(neuron) != m or len(set(neuron)) != m:
        raise RuntimeError("not every MP neuron fired exactly once")
    t_out, flags = np.empty(m), np.empty(m, dtype=bool)
    t_out[neuron] = step * dt + offset_ms
    flags[neuron] = between & (semantics == "exact")
    return SpikingMP(c - t_out, t_out, flags, dt)


def _input_group(times: np.ndarray, semantics: str, period_steps: int, t_end: float, tau_c) -> NeuronGroup:
    """Integrators with slope 1 from 0 and threshold ``times``: each fires once, at its time."""
    group = NeuronGroup(len(times), integrator.integrator_equations(semantics), threshold=integrator.THRESHOLD,
                        reset=integrator.RESET, method="euler", name="mp_input_times")
    group.alpha, group.pad, group.theta = 1.0, 0.0, times
    group.period_steps, group.tau_c = period_steps, tau_c
    group.t_ramp, group.t_min, group.t_open, group.t_max = 0 * ms, 0 * ms, 0 * ms, t_end * tau_c
    return group
