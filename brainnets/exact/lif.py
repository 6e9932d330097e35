"""Exact-time (event-accurate) leaky integrate-and-fire neurons in Brian2.

Two linear models, with NEST's names, units and conventions (parameters are plain floats: mV, ms, pF, pA):

* ``'delta'`` (NEST ``iaf_psc_delta_ps``): ``dV/dt = -(V - E_L)/tau_m + I_e/C_m``; an input spike of weight
  ``w`` (mV) adds ``w`` to ``V`` at its exact time. Inputs that arrive while the neuron is refractory are lost.
* ``'exp'`` (NEST ``iaf_psc_exp_ps``): ``dV/dt = -(V - E_L)/tau_m + (I_ex + I_in + I_e)/C_m``,
  ``dI_x/dt = -I_x/tau_syn_x``; an input spike of weight ``w`` (pA) adds ``w`` to ``I_ex`` (``w >= 0``) or to
  ``I_in`` (``w < 0``) at its exact time, refractory or not.

Both: spike when ``V >= V_th``, then ``V = V_reset``, clamped for ``t_ref`` (absolute refractoriness).

**Exact semantics** (``semantics='exact'``). Between events the state follows a closed form, so each
neuron processes one time step ``(t, t + dt]`` as NEST's precise models do: its inputs of that step, sorted
by their exact times, split the step into segments; along each segment the state is propagated exactly, the
threshold is checked at the segment's end, and the crossing time inside the segment is found (closed form
for ``'delta'``: ``V`` relaxes monotonically to ``v_inf``; a bracketed Newton iteration on the analytic
trajectory for ``'exp'``). The reset happens at the crossing time, the refractory period ends at the exact
time ``t* + t_ref`` (mid-step: the segment that contains it starts free evolution there), and inputs act at
their own times. Everything is written as Brian2 abstract code (no ``refractory=``, no ``method=``):

* the inputs are a ``NeuronGroup`` that fires in the step holding each input time and carries the time's
  offset within the step (``tin``, from a ``TimedArray``); a source with two spikes in one step gets a
  second channel with the same weights;
* each synapse inserts its event (offset, weight) into a small sorted buffer of its target
  (``e1..eK``, ``w1..wK``, :func:`insertion_code`): the insertion is sequential, so the order in which Brian2
  delivers a step's spikes does not matter; ``K`` is the largest number of events one neuron receives in one
  step, counted from the inputs (a neuron would record any event that did not fit in ``n_over``); the same
  buffer carries other payloads, and can merge events at equal times, for :mod:`.srm`'s neuron;
* after the synapses (``when='end'``) each neuron runs through its buffer (:func:`step_code`), unrolled:
  ``K`` segments and a last one to the step's end;
* a crossing sets ``spiked`` and ``sp_off``, the crossing's offset in its step; the group's threshold
  (``spiked``) runs right after the step code, in the same step (its thresholder is moved to the ``'end'``
  slot), so the ``SpikeMonitor`` records the spike in the step that holds it: spike time ``= t + sp_off``.

Brian2 emits at most one spike per neuron and step: ``'exp'`` requires ``t_ref >= dt`` (as NEST does), and
``'delta'`` takes any ``t_ref >= 0`` (0 included: NIR's LIF), but a run in which a neuron would cross threshold
twice within one step raises :class:`StepTooLong` (use a smaller ``dt``).

**Stacks** (:func:`simulate_stack`; :func:`simulate` is its one-layer case). Layers are chained without delay
(NIR's feed-forward semantics): within each step, the inputs' threshold (``'thresholds'`` slot) and their
synapses (``'synapses'``) fill layer 0's buffer; then, in the ``'end'`` slot, ordered by ``order``
(:data:`ORDER_STRIDE` per layer): layer 0's step code, its threshold, its monitor, the synapses to layer 1
(``synapses.pre``, inserting the event at the presynaptic ``sp_off``: its true time in this same step),
layer 1's step code, and so on. Every layer thus sees its inputs at their exact times, and the stack gives the
event-accurate spike times of the whole network. A later layer's buffer holds its largest fan-in by default
(each presynaptic neuron spikes at most once per step, so it cannot overflow); a smaller ``n_slots`` is
faster, and an overflow raises ``RuntimeError``. Parameters may differ between the neurons of a layer: those
that differ become constant per-neuron variables of its group, the others stay in its namespace.

What is and is not covered:

* inhibitory inputs: for ``'delta'`` V is monotone between events, so checking at each event and at the
  step's end misses nothing. For ``'exp'`` V can rise and fall between two events; like
  ``iaf_psc_exp_ps`` (not its ``_lossless`` variant) the threshold is checked only at the events and the
  step's end, so an excursion above threshold that starts and ends between them is missed, and if V
  crosses several times within one segment the root search returns one of the crossings;
* inputs while refractory: lost for ``'delta'`` (NEST's default), added to the current for ``'exp'``;
* an input at exactly the time the refractory period ends counts (NEST leaves the order of such ties open);
* inputs at exactly the same time act together: their weights add up before the threshold is checked (NEST's
  precise models do the same); for ``'exp'`` they add to the currents, which is order-free anyway;
* ``t_ref`` is used as given; NEST rounds it to whole steps (use a multiple of ``dt`` to compare);
* not implemented: NEST's ``V_min``, ``tau_syn == tau_m`` (the singular propagator), an initial ``V_m`` at or
  above threshold; synaptic delays between stacked layers (NEST's precise networks have one of at least a
  step; a stack has none); recurrent connections.

**Clock semantics** (``semantics='clock'``): the plain Brian2 model (``method='exact'`` linear integration,
threshold, reset and ``refractory=t_ref`` on the grid), inputs applied at the end of the step that holds
them. Its spike times are reported as the end of the step whose state crossed threshold (Brian2's
``SpikeMonitor`` gives the start of that step).
"""
from __future__ import annotations

import logging
import tempfile
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from brian2 import Clock, Function, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, ms, prefs

from ..devices import build_standalone, is_standalone
from .timing import check_semantics, on_device, recorded_spikes

MODELS = ("delta", "exp")

#: NEST's defaults (iaf_psc_delta_ps / iaf_psc_exp_ps); V_m, the initial potential, defaults to E_L.
DEFAULTS = {
    "delta": dict(E_L=-70.0, V_th=-55.0, V_reset=-70.0, tau_m=10.0, C_m=250.0, t_ref=2.0, I_e=0.0),
    "exp": dict(E_L=-70.0, V_th=-55.0, V_reset=-70.0, tau_m=10.0, C_m=250.0, t_ref=2.0, I_e=0.0,
                tau_syn_ex=2.0, tau_syn_in=2.0),
}

#: An empty buffer slot, and ('exp') "refractory for the rest of this step" (ms; any time beyond a step).
BIG = 1e9

# ---------------------------------------------------------------------------------------------------------
# Equations

#: Input channels: ``tin`` is the offset (ms, in (0, dt]; 0 only for a spike at time 0) of the channel's spike
#: within the current step, negative when it has none.
INPUT = "tin = in_times(t, i) : 1\n"
INPUT_THRESHOLD = "tin >= 0"

EXACT_STATE = """
v : 1             # membrane potential (mV) at the end of the last processed step
free_at : 1       # end of the refractory period, ms from the start of the step being processed (<= 0: free)
spiked : boolean  # threshold crossed in the step just processed: the spike is emitted in this step
sp_off : 1        # the (first) crossing's time, ms from the start of the step
n_over : integer  # input events that did not fit the buffer (0 when it is sized from the inputs)
n_multi : integer # steps in which the neuron crossed threshold more than once (only the first spike is emitted)
"""
EXACT_CURRENTS = """
I_ex : 1          # excitatory synaptic current (pA)
I_in : 1          # inhibitory synaptic current (pA)
"""
#: One buffer slot: offset (ms from the step's start; BIG when empty) and weight of an input event.
SLOT = "e{k} : 1\nw{k} : 1\n"

CLOCK_DELTA = "dv/dt = (v_inf - v) / (tau_m * ms) : 1 (unless refractory)\n"
CLOCK_EXP = """
dv/dt = (v_inf - v + R * (I_ex + I_in)) / (tau_m * ms) : 1 (unless refractory)
dI_ex/dt = -I_ex / (tau_ex * ms) : 1
dI_in/dt = -I_in / (tau_in * ms) : 1
"""
CLOCK_ON_PRE = {"delta": "v_post += w * int(not_refractory_post)",
                "exp": "I_ex_post += w * int(w >= 0)\nI_in_post += w * int(w < 0)"}

# ---------------------------------------------------------------------------------------------------------
# Per-step code of the exact semantics. ``tc`` is the time (ms from the step's start) to which the state has
# been brought; a segment ends at ``te`` (the next event's time, or the step's end: an empty slot has offset
# BIG, and the buffer is sorted, so ``te >= tc``); the neuron evolves freely on it from ``s0`` (later than
# ``tc`` when the refractory period ends inside it, ``te`` when it is refractory throughout).

#: 'delta': V relaxes monotonically to v_inf, so a crossing during a segment (``up`` at ``t_up``, only if
#: v_inf > V_th) is found in closed form from V at the segment's end; V then relaxes from V_reset once the
#: refractory period ends, and may cross again before the segment's end (``again``, a period shorter than the
#: rest of the segment). At the segment's end an input may lift V over threshold (``jump``: the spike is at the
#: input's time). An input arriving while refractory is lost. Inputs at the same time add up before the
#: threshold is checked (as in NEST's precise models; in a stack, one input often makes several neurons fire at
#: the same time): the check waits for the last of them (``{next}``: the next slot's time), and V may stand
#: above threshold in between (the zero-length segments, ``v >= V_th``, are not a crossing by relaxation).
#: ``xs`` keeps the step's first crossing, ``cross`` counts them all.
DELTA_SEGMENT = """
te = vmin(e{k}, h)
s0 = vmax(tc, vmin(free_at, te))
v1 = v + (v - v_inf) * xm1((s0 - te) / tau_m)
up = int(v1 >= V_th) * int(v < V_th)
t_up = te + tau_m * log(vmax((v_inf - v1) * inv_gap, tiny))
free_at = ifelse(up, t_up + t_ref, free_at)
v1 = ifelse(up, V_reset + (V_reset - v_inf) * xm1((vmin(free_at, te) - te) / tau_m), v1)
again = up * int(v1 >= V_th)
ok = int(free_at <= te)
jump = ok * int(v1 + w{k} >= V_th) * int({next} > te)
xs = ifelse(cross, xs, ifelse(up, t_up, te))
v = ifelse(jump, V_reset, v1 + ok * w{k})
free_at = ifelse(jump, te + t_ref, free_at)
cross = cross + up + again + jump
tc = te
"""

#: 'exp': the currents decay through the whole segment; V is clamped until ``s0``. A crossing (V >= V_th
#: at the segment's end, as NEST checks it) is remembered with the segment's initial state (``c_*``) for the
#: root search after the last segment, which also starts the refractory period (``t_ref >= dt``: until then
#: the neuron is refractory for the rest of the step, ``BIG``). The input's weight then joins I_ex or I_in.
EXP_SEGMENT = """
te = vmin(e{k}, h)
s0 = vmax(tc, vmin(free_at, te))
L = te - s0
jex = I_ex * exp((tc - s0) / tau_ex)
jin = I_in * exp((tc - s0) / tau_in)
v1 = v + (v - v_inf) * xm1(-L / tau_m) + {PSP_EX} + {PSP_IN}
up = int(L > 0) * int(v1 >= V_th)
c_s = ifelse(up, s0, c_s)
c_L = ifelse(up, L, c_L)
c_v = ifelse(up, v, c_v)
c_ex = ifelse(up, jex, c_ex)
c_in = ifelse(up, jin, c_in)
v = ifelse(up, V_reset, v1)
free_at = ifelse(up, BIG, free_at)
cross = cross + up
I_ex = I_ex * exp((tc - te) / tau_ex) + w{k} * int(w{k} >= 0)
I_in = I_in * exp((tc - te) / tau_in) + w{k} * int(w{k} < 0)
tc = te
"""
#: The contribution of a synaptic current ``j`` (at the segment's start) to V after ``L`` ms (NEST's P21).
_PSP = "K_{x} * j{x} * exp(-L / tau_{x}) * xm1(L / tau_{x} - L / tau_m)"
EXP_SEGMENT = EXP_SEGMENT.replace("{PSP_EX}", _PSP.format(x="ex")).replace("{PSP_IN}", _PSP.format(x="in"))

#: V - V_th along the crossing segment, ``x`` ms after its start, and its time derivative.
EXP_DISTANCE = ("c_v + (c_v - v_inf) * xm1(-{x} / tau_m) + K_ex * c_ex * exp(-{x} / tau_ex) * xm1({x} / tau_ex - "
                "{x} / tau_m) + K_in * c_in * exp(-{x} / tau_in) * xm1({x} / tau_in - {x} / tau_m) - V_th")
EXP_SLOPE = "(v_inf - V_th - fx) / tau_m + (c_ex * exp(-x / tau_ex) + c_in * exp(-x / tau_in)) * inv_C"

#: The crossing inside [0, c_L]: a regula falsi step from the bracket, then Newton steps kept inside the
#: shrinking bracket (bisection when a step would leave it).
EXP_ROOT_START = f"""
f_lo = c_v - V_th
f_hi = {EXP_DISTANCE.format(x="c_L")}
lo = zero
hi = c_L
den = f_hi - f_lo
x = vmin(vmax(-f_lo * c_L / (den + int(den == 0)), 0.0), c_L)
"""
EXP_ROOT_STEP = f"""
fx = {EXP_DISTANCE.format(x="x")}
dfx = {EXP_SLOPE}
lo = ifelse(int(fx < 0), x, lo)
hi = ifelse(int(fx < 0), hi, x)
xn = x - fx / (dfx + int(dfx == 0))
x = ifelse(int(xn >= lo) * int(xn <= hi), xn, 0.5 * (lo + hi))
"""
NEWTON_STEPS = 10

#: (Per-neuron zeros: a temporary first set to a constant would be a scalar, which Brian2 then refuses to vary.)
_ZEROS = "zero = clip(v, 0.0, 0.0)\ncross = int(v > BIG)\ntc = zero\n"
STEP_START = {"delta": _ZEROS + "xs = zero\n",
              "exp": _ZEROS + "c_s = zero\nc_L = zero + h\nc_v = zero + V_th - 1.0\nc_ex = zero\nc_in = zero\n"}

#: 'exp': the crossing's time, from the segment it lies in, and the end of its refractory period.
EXP_CROSSING = "xs = c_s + x\nfree_at = ifelse(cross, xs + t_ref, free_at)\n"

#: After the last segment: publish the first spike (Brian2 emits one per neuron and step: further crossings
#: are counted in ``n_multi``, an error after the run), move to the next step.
STEP_END = """
spiked = cross > 0
sp_off = ifelse(cross, xs, 0.0)
free_at = vmax(free_at - h, -h)
n_multi += int(cross > 1)
"""


def _function(name: str, numpy_func, args: str, cpp: str, cython: str, body: bool = False) -> Function:
    """A Brian2 function of dimensionless floats (``args``: their names), implemented for numpy, C++ (standalone)
    and Cython: ``cpp`` and ``cython`` are the returned expression, or the function's body if ``body`` (where
    branches can skip work). The numpy implementation is registered as is: Brian2's default wrapper checks
    units on every call, formatting the arrays into its error message each time, which would dominate the run
    time."""
    names = args.split(", ")
    function = Function(numpy_func, arg_units=[1] * len(names), return_unit=1)
    function.implementations.add_implementation("numpy", numpy_func)
    cpp_args = ", ".join(f"const double {a}" for a in names)
    cpp_body = cpp if body else f"return {cpp};"
    function.implementations.add_implementation(
        "cpp", f"static inline double {name}({cpp_args}) {{ {cpp_body} }}", name=name)
    cython_args = ", ".join(f"double {a}" for a in names)
    cython_body = textwrap.indent(cython if body else f"return {cython}", "    ")
    function.implementations.add_implementation(
        "cython", f"cdef double {name}({cython_args}):\n{cython_body}\n", name=name)
    return function


#: ``ifelse(c, a, b)``: ``a`` where ``c`` is non-zero, else ``b`` (Brian2 abstract code has no conditional
#: expression); ``vmin``/``vmax``: the smaller/larger of two values; ``xm1``: ``exp(x) - 1`` (Brian2's own
#: ``expm1`` goes through that slow wrapper on the numpy target).
ifelse = _function("ifelse", lambda c, a, b: np.where(c, a, b), "c, a, b", "c != 0 ? a : b", "a if c != 0 else b")
vmin = _function("vmin", np.minimum, "a, b", "a < b ? a : b", "a if a < b else b")
vmax = _function("vmax", np.maximum, "a, b", "a > b ? a : b", "a if a > b else b")
xm1 = _function("xm1", np.expm1, "x", "expm1(x)", "expm1(x)")


def step_code(model: str, n_slots: int, newton_steps: int = NEWTON_STEPS) -> str:
    """The abstract code that advances every neuron of ``model`` through one step with ``n_slots`` buffered
    input events, then empties the buffer."""
    segment = DELTA_SEGMENT if model == "delta" else EXP_SEGMENT
    code = STEP_START[model]
    for k in range(1, n_slots + 1):
        code += segment.format(k=k, next=f"e{k + 1}" if k < n_slots else "BIG")
    # the last segment, to the step's end
    code += segment.replace("{next}", "BIG").replace("e{k}", "h").replace("w{k}", "0.0").replace(
        "int(0.0 >= 0)", "0").replace(
        "int(0.0 < 0)", "0")
    if model == "exp":
        code += EXP_ROOT_START + EXP_ROOT_STEP * newton_steps + EXP_CROSSING
    code += STEP_END
    code += "".join(f"e{k} = BIG\nw{k} = 0.0\n" for k in range(1, n_slots + 1))
    return code


def insertion_code(n_slots: int, source: str = "tin", payload: dict | None = None, merge: bool = False) -> str:
    """``on_pre``: insert the event (``{source}_pre``, ``w``) into the target's buffer, kept sorted by time (events
    at equal times keep their arrival order); a full buffer counts the lost event in ``n_over``. ``source`` is
    ``tin`` for the input channels and ``sp_off`` for a presynaptic exact layer.

    ``payload``: what an event stores besides its time, as ``{slot variable: expression}`` (the expressions may
    use the event's offset ``x``); by default its weight, ``{"w": "w"}``. ``merge``: an event at the time of
    one already in the buffer adds its payload to that slot's instead of taking a slot of its own, so a
    step's slots count its distinct times."""
    payload = payload or {"w": "w"}
    lines = [f"x = {source}_pre"] + [f"{name}_in = {expression}" for name, expression in payload.items()]
    full = f"int(e{n_slots}_post < half_big)"
    if merge:
        lines += ["same = int(e1_post == x)"] + [f"same += int(e{k}_post == x)" for k in range(2, n_slots + 1)]
        full += " * int(same == 0)"
    lines.append(f"n_over_post += {full}")

    def unless_merged(name: str, k: int, inserted: str) -> str:
        """Slot ``k``'s new ``name``: ``inserted``, or (``merge``, the time is present) the sum at its slot."""
        if not merge:
            return inserted
        merged = f"e{k}_post" if name == "e" else f"{name}{k}_post + int(e{k}_post == x) * {name}_in"
        return f"ifelse(same, {merged}, {inserted})"

    for k in range(n_slots, 1, -1):
        lines += [f"keep = int(e{k}_post <= x)", f"take = int(e{k - 1}_post <= x)"]
        for name in [*payload, "e"]:
            new = "x" if name == "e" else f"{name}_in"
            lines.append(f"{name}{k}_post = " + unless_merged(
                name, k, f"ifelse(keep, {name}{k}_post, ifelse(take, {new}, {name}{k - 1}_post))"))
    lines.append("keep = int(e1_post <= x)")
    for name in [*payload, "e"]:
        new = "x" if name == "e" else f"{name}_in"
        lines.append(f"{name}1_post = " + unless_merged(name, 1, f"ifelse(keep, {name}1_post, {new})"))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Parameters and inputs

def model_params(model: str, params: dict | None) -> dict:
    """NEST's defaults of ``model`` updated with ``params`` (unknown names are refused)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {MODELS}")
    merged = dict(DEFAULTS[model])
    unknown = set(params or {}) - set(merged) - {"V_m"}
    if unknown:
        raise ValueError(f"unknown parameters for {model!r}: {sorted(unknown)}")
    merged.update({k: float(v) for k, v in (params or {}).items()})
    merged.setdefault("V_m", merged["E_L"])
    if merged["V_reset"] >= merged["V_th"] or merged["V_m"] >= merged["V_th"]:
        raise ValueError("V_reset and the initial V_m must be below V_th")
    if model == "exp":
        for name in ("tau_syn_ex", "tau_syn_in"):
            if abs(merged[name] - merged["tau_m"]) <= 1e-9 * merged["tau_m"]:
                raise ValueError(f"{name} == tau_m needs the singular propagator, which is not implemented")
    return merged


def check_t_ref(model: str, t_ref: float, dt_ms: float) -> None:
    """'delta' takes any ``t_ref >= 0``; 'exp' finds its crossing after the step's last segment, so it needs
    ``t_ref >= dt`` (at most one spike per neuron and step, as NEST requires)."""
    if t_ref < 0:
        raise ValueError(f"model {model!r}: t_ref must be >= 0, not {t_ref} ms")
    if model == "exp" and t_ref < dt_ms * (1 - 1e-12):
        raise ValueError(f"model 'exp': t_ref must be at least one time step ({dt_ms} ms), not {t_ref} ms")


def namespace(model: str, p: dict, dt_ms: float) -> dict:
    """The constants the equations and the step code refer to."""
    v_inf = p["E_L"] + p["tau_m"] / p["C_m"] * p["I_e"]
    gap = v_inf - p["V_th"]
    ns = dict(h=dt_ms, tau_m=p["tau_m"], V_th=p["V_th"], V_reset=p["V_reset"], t_ref=p["t_ref"], v_inf=v_inf,
              R=p["tau_m"] / p["C_m"], inv_gap=1.0 / gap if gap > 0 else 0.0, tiny=1e-300, BIG=BIG,
              half_big=BIG / 2, ifelse=ifelse, vmin=vmin, vmax=vmax, xm1=xm1)
    if model == "exp":
        tm, c = p["tau_m"], p["C_m"]
        ns.update(tau_ex=p["tau_syn_ex"], tau_in=p["tau_syn_in"], inv_C=1.0 / c,
                  K_ex=p["tau_syn_ex"] * tm / (c * (tm - p["tau_syn_ex"])),
                  K_in=p["tau_syn_in"] * tm / (c * (tm - p["tau_syn_in"])))
    return ns


def as_events(input_times, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sources, times_ms)`` from an ``(n, 2)`` array of ``(index, time_ms)`` rows or a pair
    ``(indices, times_ms)``."""
    if isinstance(input_times, tuple) and len(input_times) == 2 and np.ndim(input_times[0]) == 1:
        sources, times = (np.asarray(a) for a in input_times)
    else:
        pairs = np.asarray(input_times, dtype=float).reshape(-1, 2)
        sources, times = pairs[:, 0], pairs[:, 1]
    sources = np.asarray(sources).astype(np.int64)
    times = np.asarray(times, dtype=float)
    if sources.size and (sources.min() < 0 or sources.max() >= n_in):
        raise ValueError(f"input indices must lie in [0, {n_in})")
    if np.any(times < 0):
        raise ValueError("input times must be >= 0 ms")
    return sources, times


def grid(times: np.ndarray, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """The step ``n`` whose interval ``(n dt, (n + 1) dt]`` holds each time, and the offset in (0, dt]; time 0 is
    in step 0, at offset 0."""
    step = np.maximum(np.ceil(times / dt_ms).astype(np.int64) - 1, 0)
    offset = times - step * dt_ms
    low, high = (offset <= 0) & (step > 0), offset > dt_ms  # the division's rounding
    step, offset = step - low + high, offset + dt_ms * low - dt_ms * high
    return step, offset


@dataclass
class Inputs:
    """Input events on the grid: a channel per (source, k-th spike of that source within a step)."""
    channel_source: np.ndarray  # source index of every channel
    values: np.ndarray          # (n_steps, n_channels): offset of the channel's spike in each step, or -1
    steps: np.ndarray           # step of every event
    sources: np.ndarray         # source of every event


def grid_inputs(sources: np.ndarray, times: np.ndarray, dt_ms: float, n_steps: int) -> Inputs:
    step, offset = grid(times, dt_ms)
    order = np.lexsort((times, step, sources))
    sources, step, offset = sources[order], step[order], offset[order]
    # rank of each event among the events of its source in its step
    new_group = np.ones(len(step), bool)
    new_group[1:] = (sources[1:] != sources[:-1]) | (step[1:] != step[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(step)), 0))
    rank = np.arange(len(step)) - group_start
    pairs, channel = np.unique(np.stack([rank, sources], axis=1), axis=0, return_inverse=True)
    channel = channel.ravel()
    values = np.full((n_steps, max(1, len(pairs))), -1.0)  # one idle channel when there are no inputs
    values[step, channel] = offset
    return Inputs(pairs[:, 1].copy() if len(pairs) else np.zeros(0, np.int64), values, step, sources)


def buffer_size(inputs: Inputs, weights: np.ndarray) -> int:
    """The largest number of input events one neuron receives in one step."""
    if inputs.steps.size == 0:
        return 1
    connected = (weights != 0)[inputs.sources].astype(np.int32)  # (n_events, n_out)
    order = np.argsort(inputs.steps, kind="stable")
    steps = inputs.steps[order]
    starts = np.flatnonzero(np.r_[True, steps[1:] != steps[:-1]])
    return max(1, int(np.add.reduceat(connected[order], starts, axis=0).max()))


# ---------------------------------------------------------------------------------------------------------
# The Brian2 network

class _QuietOrderWarning(logging.Filter):
    """The buffer insertion writes to target variables in a loop over a step's spikes. Brian2 warns that the
    outcome might depend on their order (it does not: the buffer stays sorted), and the numpy target says
    that it loops in Python (by design): both messages are dropped."""

    def filter(self, record):
        message = record.getMessage()
        return "may not be well-defined" not in message and "Failed to vectorise code" not in message


@dataclass
class Run:
    """Spike times (ms) per output neuron, and how the run went."""
    times: list
    semantics: str
    dt_ms: float
    n_slots: int              # buffer slots (exact semantics)
    wall_seconds: float       # building and running (compilation included)


def _layer_params(model: str, params, n: int, dt_ms: float, index: int) -> list[dict]:
    """One parameter dict per neuron of a layer (``params``: ``None``, one dict for all, or a list of dicts)."""
    if params is None or isinstance(params, dict):
        merged = [model_params(model, params)] * n
    else:
        if len(params) != n:
            raise ValueError(f"layer {index}: {len(params)} parameter dicts for {n} neurons")
        merged = [model_params(model, p) for p in params]
    for p in merged:
        check_t_ref(model, p["t_ref"], dt_ms)
    return merged


def _layer_namespace(model: str, per_neuron: list[dict], dt_ms: float) -> tuple[dict, dict]:
    """The layer's constants: those shared by all its neurons (a namespace) and those that differ (per neuron
    arrays, declared as constant variables of the group)."""
    spaces = [namespace(model, p, dt_ms) for p in per_neuron]
    shared, varying = dict(spaces[0]), {}
    if len(spaces) > 1 and any(p is not per_neuron[0] for p in per_neuron):
        for key, value in spaces[0].items():
            if isinstance(value, float):
                values = np.array([ns[key] for ns in spaces], dtype=float)
                if np.any(values != values[0]):
                    varying[key] = values
                    del shared[key]
    return shared, varying


#: Scheduling of the exact layers, all in the ``'end'`` slot of each step (after the inputs' threshold, the
#: ``'thresholds'`` slot, and their synapses, the ``'synapses'`` slot): layer ``l`` uses the orders
#: ``ORDER_STRIDE * l + ...``: its step code, then its threshold (``spiked`` of this step), its monitor, and
#: the synapses to layer ``l + 1``, whose step code comes next.
ORDER_STRIDE = 10
_STEP, _THRESHOLD, _MONITOR, _OUTGOING = 0, 1, 2, 3


@dataclass
class Stack:
    """The Brian2 objects of a feed-forward stack of exact layers."""
    network: Network
    namespace: dict           # the run's namespace (every group also has its own)
    monitors: list            # SpikeMonitor of each layer
    groups: list              # NeuronGroup of each layer
    n_slots: list             # buffer slots of each layer


def build_stack(models, params_per_layer, weights_per_layer, input_times, duration_ms: float, dt_ms: float,
                n_slots=None, newton_steps: int = NEWTON_STEPS, name: str = "exact_lif") -> Stack:
    """The Brian2 network of a feed-forward stack of exact layers (see :func:`simulate_stack`)."""
    n_layers = len(weights_per_layer)
    if n_layers == 0:
        raise ValueError("a stack needs at least one layer")
    models = [models] * n_layers if isinstance(models, str) else list(models)
    if len(models) != n_layers or len(params_per_layer) != n_layers:
        raise ValueError(f"{n_layers} weight matrices, but {len(models)} models and {len(params_per_layer)} "
                         f"parameter sets")
    slots_given = list(n_slots) if isinstance(n_slots, (list, tuple)) else [n_slots] + [None] * (n_layers - 1)
    weights_per_layer = [np.atleast_2d(np.asarray(w, dtype=float)) for w in weights_per_layer]
    for k in range(1, n_layers):
        if weights_per_layer[k].shape[0] != weights_per_layer[k - 1].shape[1]:
            raise ValueError(f"layer {k}: weights of shape {weights_per_layer[k].shape} after a layer of "
                             f"{weights_per_layer[k - 1].shape[1]} neurons")
    n_in = weights_per_layer[0].shape[0]
    sources, times = as_events(input_times, n_in)
    keep = times <= duration_ms
    sources, times = sources[keep], times[keep]
    n_steps = int(round(duration_ms / dt_ms)) + 1
    inputs = grid_inputs(sources, times, dt_ms, n_steps)
    clock = Clock(dt=dt_ms * ms)
    run_ns = dict(in_times=TimedArray(inputs.values, dt=dt_ms * ms))
    synapse_ns = dict(ifelse=ifelse, half_big=BIG / 2)

    source_group = NeuronGroup(inputs.values.shape[1], INPUT, threshold=INPUT_THRESHOLD, reset="",
                               clock=clock, name=f"{name}_inputs", namespace=dict(run_ns))
    network = Network(source_group)
    groups, monitors, slots = [], [], []
    previous = None
    for k, (model, params, weights) in enumerate(zip(models, params_per_layer, weights_per_layer)):
        n_out = weights.shape[1]
        per_neuron = _layer_params(model, params, n_out, dt_ms, k)
        shared, varying = _layer_namespace(model, per_neuron, dt_ms)
        if k == 0:
            k_slots = slots_given[0] or buffer_size(inputs, weights)
        else:  # one spike per presynaptic neuron and step at most: the fan-in bounds the buffer
            k_slots = slots_given[k] or max(1, int((weights != 0).sum(axis=0).max(initial=0)))
        layer_name = name if k == 0 else f"{name}_{k}"
        equations = (EXACT_STATE + (EXACT_CURRENTS if model == "exp" else "")
                     + "".join(SLOT.format(k=s) for s in range(1, k_slots + 1))
                     + "".join(f"{key} : 1 (constant)\n" for key in varying))
        group = NeuronGroup(n_out, equations, threshold="spiked", reset="", clock=clock, name=layer_name,
                            namespace=shared)
        base = ORDER_STRIDE * k
        group.run_regularly(step_code(model, k_slots, newton_steps), when="end", order=base + _STEP,
                            name=f"{layer_name}_step")
        group.thresholder["spike"].when = "end"
        group.thresholder["spike"].order = base + _THRESHOLD
        for key, values in varying.items():
            setattr(group, key, values)
        group.free_at = -dt_ms
        for s in range(1, k_slots + 1):
            setattr(group, f"e{s}", BIG)
        group.v = np.array([p["V_m"] for p in per_neuron])
        monitor = SpikeMonitor(group, variables=["sp_off"], when="end", order=base + _MONITOR,
                               name=f"{layer_name}_spikes")
        network.add(group, monitor)
        if k == 0:
            channel_weights = weights[inputs.channel_source]  # (n_channels, n_out)
            pre_group, source_var, when, order = source_group, "tin", "synapses", 0
        else:
            channel_weights = weights
            pre_group, source_var = previous, "sp_off"
            when, order = "end", ORDER_STRIDE * (k - 1) + _OUTGOING
        pre, post = np.nonzero(channel_weights)
        if len(pre):  # Brian2 refuses a Synapses object without synapses
            synapses = Synapses(pre_group, group, "w : 1 (constant)", on_pre=insertion_code(k_slots, source_var),
                                clock=clock, name=f"{pre_group.name}_to_{layer_name}", namespace=synapse_ns)
            synapses.connect(i=pre, j=post)
            synapses.w = channel_weights[pre, post]
            synapses.pre.when = when
            synapses.pre.order = order
            network.add(synapses)
        groups.append(group)
        monitors.append(monitor)
        slots.append(k_slots)
        previous = group
    return Stack(network, run_ns, monitors, groups, slots)


def build(model: str, params: dict | None, weights, input_times, duration_ms: float, dt_ms: float,
          semantics: str = "exact", n_slots: int | None = None, newton_steps: int = NEWTON_STEPS):
    """The Brian2 objects of the layer: ``(network, namespace, monitor, neurons, n_slots)``."""
    check_semantics(semantics)
    if semantics == "exact":
        stack = build_stack(model, [params], [weights], input_times, duration_ms, dt_ms, [n_slots], newton_steps)
        return stack.network, stack.namespace, stack.monitors[0], stack.groups[0], stack.n_slots[0]
    p = model_params(model, params)
    check_t_ref(model, p["t_ref"], dt_ms)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    n_in, n_out = weights.shape
    sources, times = as_events(input_times, n_in)
    keep = times <= duration_ms
    sources, times = sources[keep], times[keep]
    n_steps = int(round(duration_ms / dt_ms)) + 1
    inputs = grid_inputs(sources, times, dt_ms, n_steps)
    ns = namespace(model, p, dt_ms)
    ns["in_times"] = TimedArray(inputs.values, dt=dt_ms * ms)
    clock = Clock(dt=dt_ms * ms)

    source_group = NeuronGroup(inputs.values.shape[1], INPUT, threshold=INPUT_THRESHOLD, reset="",
                               clock=clock, name="exact_inputs")
    n_slots = 0
    neurons = NeuronGroup(n_out, CLOCK_DELTA if model == "delta" else CLOCK_EXP, threshold="v >= V_th",
                          reset="v = V_reset", refractory=p["t_ref"] * ms, method="exact", clock=clock,
                          name="clock_lif")
    on_pre = CLOCK_ON_PRE[model]
    monitor = SpikeMonitor(neurons, name="clock_lif_spikes")
    neurons.v = p["V_m"]
    channel_weights = weights[inputs.channel_source]  # (n_channels, n_out)
    pre, post = np.nonzero(channel_weights)
    network = Network(source_group, neurons, monitor)
    if len(pre):  # Brian2 refuses a Synapses object without synapses
        synapses = Synapses(source_group, neurons, "w : 1 (constant)", on_pre=on_pre, clock=clock,
                            name="exact_inputs_to_lif")
        synapses.connect(i=pre, j=post)
        synapses.w = channel_weights[pre, post]
        network.add(synapses)
    return network, ns, monitor, neurons, n_slots


def read_times(monitor, neurons, semantics: str, dt_ms: float, duration_ms: float) -> list:
    index, steps, offsets = recorded_spikes(monitor, dt_ms)
    # exact: the layer fires in the step that holds the crossing, at offset sp_off; clock: plain Brian2 records
    # the start of the step whose end stood above threshold
    times = steps * dt_ms + (offsets if semantics == "exact" else dt_ms)
    out = []
    for j in range(len(neurons)):
        t = np.sort(times[index == j])
        out.append(t[t <= duration_ms + 1e-9])
    return out


@contextmanager
def _session(device: str, directory, target: str):
    """Brian2's device and target for one run, with the insertion's harmless warnings dropped."""
    quiet = _QuietOrderWarning()
    loggers = [logging.getLogger(f"brian2.codegen.generators.{name}") for name in ("base", "numpy_generator")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        with on_device(device, directory):
            if device == "runtime":
                prefs.codegen.target = target
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def _directory(device: str, directory):
    if device not in ("runtime", "cpp"):
        raise ValueError("device must be 'runtime' or 'cpp'")
    if is_standalone(device) and directory is None:
        directory = tempfile.mkdtemp(prefix="brainnets_exact_")
    return directory


class StepTooLong(ValueError):
    """A neuron would spike more than once within one step: the run needs a shorter step."""


@dataclass
class StackRun:
    """Spike times (ms) per layer and neuron, and how the run went."""
    times: list               # one list per layer of one sorted array per neuron
    dt_ms: float
    n_slots: list             # buffer slots of each layer
    wall_seconds: float       # building and running (compilation included)


def simulate_stack(models, params_per_layer, weights_per_layer, input_times, duration_ms: float,
                   dt_ms: float = 0.1, device: str = "runtime", *, target: str = "numpy", directory=None,
                   n_slots=None, details: bool = False):
    """Event-accurate spike times of a feed-forward stack of exact LIF layers: ``input_times`` drive layer 0
    through ``weights_per_layer[0]`` (``(n_in, n_0)``), layer ``k - 1`` drives layer ``k`` through
    ``weights_per_layer[k]`` (``(n_{k-1}, n_k)``), with no delay: a spike reaches the next layer at its own
    exact time (NIR's feed-forward semantics; NEST's precise networks would add a delay >= dt).

    ``models``: one model for all layers or one per layer; ``params_per_layer``: per layer ``None``, one dict
    (NEST's names, as in :func:`simulate`) or a list of one dict per neuron. ``n_slots``: per layer, the buffer
    size (``None``: layer 0 counts it from the inputs, a later layer uses its largest fan-in, which cannot be
    exceeded since a neuron spikes at most once per step); a smaller value is faster, and a run whose buffer
    overflows raises ``RuntimeError``; a run in which a neuron would spike twice within one step raises
    :class:`StepTooLong`.
    Returns one list per layer of one sorted array per neuron (spikes up to ``duration_ms``), or a
    :class:`StackRun` if ``details``.
    """
    start = time.perf_counter()
    directory = _directory(device, directory)
    with _session(device, directory, target):
        stack = build_stack(models, params_per_layer, weights_per_layer, input_times, duration_ms, dt_ms,
                            n_slots)
        stack.network.run(int(round(duration_ms / dt_ms)) * dt_ms * ms + dt_ms * ms, namespace=stack.namespace)
        if is_standalone(device):
            build_standalone(directory, run=True, compile=True)
        for k, (group, slots) in enumerate(zip(stack.groups, stack.n_slots)):
            lost = int(np.asarray(group.n_over[:]).sum())
            if lost:
                raise RuntimeError(f"layer {k}: {lost} input events did not fit the {slots}-slot buffer "
                                   f"(pass a larger n_slots)")
            multi = int(np.asarray(group.n_multi[:]).sum())
            if multi:
                raise StepTooLong(f"layer {k}: {multi} times a neuron crossed threshold more than once within "
                                  f"one step of {dt_ms} ms, which emits one spike; use a smaller dt")
        times = [read_times(m, g, "exact", dt_ms, duration_ms) for m, g in zip(stack.monitors, stack.groups)]
    if not details:
        return times
    return StackRun(times, dt_ms, stack.n_slots, time.perf_counter() - start)


def simulate(model: str, params: dict | None, weights, input_times, duration_ms: float, dt_ms: float = 0.1,
             semantics: str = "exact", device: str = "runtime", *, target: str = "numpy", directory=None,
             n_slots: int | None = None, details: bool = False):
    """Spike times (ms) of a layer of ``weights.shape[1]`` LIF neurons of ``model`` ('delta' or 'exp') driven by
    ``weights.shape[0]`` inputs (``weights`` in mV for 'delta', pA for 'exp'; zero: no synapse).

    ``params``: NEST's parameter names and units (see :data:`DEFAULTS`; ``V_m`` is the initial potential).
    ``input_times``: ``(index, time_ms)`` rows, or a pair ``(indices, times_ms)``; times in [0, duration].
    ``semantics``: 'exact' (event-accurate) or 'clock' (plain Brian2). ``device``: 'runtime' (code generation
    ``target``, numpy by default) or 'cpp' (C++ standalone, project in ``directory``, a temporary one by default).
    Returns one sorted array per neuron (spikes up to ``duration_ms``), or a :class:`Run` if ``details``.
    The exact semantics is the one-layer case of :func:`simulate_stack`.
    """
    start = time.perf_counter()
    check_semantics(semantics)
    if semantics == "exact":
        run = simulate_stack(model, [params], [weights], input_times, duration_ms, dt_ms, device, target=target,
                             directory=directory, n_slots=[n_slots], details=True)
        if not details:
            return run.times[0]
        return Run(run.times[0], semantics, dt_ms, run.n_slots[0], time.perf_counter() - start)
    directory = _directory(device, directory)
    with _session(device, directory, target):
        network, ns, monitor, neurons, n_slots = build(model, params, weights, input_times, duration_ms, dt_ms,
                                                       semantics, n_slots)
        network.run(int(round(duration_ms / dt_ms)) * dt_ms * ms + dt_ms * ms, namespace=ns)
        if is_standalone(device):
            build_standalone(directory, run=True, compile=True)
        times = read_times(monitor, neurons, semantics, dt_ms, duration_ms)
    if not details:
        return times
    return Run(times, semantics, dt_ms, n_slots, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------------
# Inputs for comparisons (the comparisons themselves: brainnets.crosscheck.compare)

def poisson_inputs(n_in: int, rate_hz: float, duration_ms: float, rng: np.random.Generator,
                   t_min_ms: float = 0.0) -> np.ndarray:
    """Off-grid Poisson input times: ``(n, 2)`` rows ``(index, time_ms)`` in ``(t_min_ms, duration_ms]``, sorted
    by time."""
    rows = []
    for i in range(n_in):
        n = rng.poisson(rate_hz * (duration_ms - t_min_ms) / 1000.0)
        t = np.sort(rng.uniform(t_min_ms, duration_ms, n))
        rows.append(np.stack([np.full(n, i, float), t], axis=1))
    events = np.concatenate(rows) if rows else np.zeros((0, 2))
    return events[np.argsort(events[:, 1], kind="stable")]
