"""Exact-time Brian2 simulation of the LIF neuron of BATS and Fast & Deep (Bacho 2023, Secs 3.2-3.3), in SRM form.

The neuron (:mod:`brainnets.spike_time.neuron`): current-based LIF with ``tau = 2 tau_s``, in normalised units

    u(t) = sum_j w_j sum_z [exp(-(t - t_j^z)/tau) - exp(-(t - t_j^z)/tau_s)] - Δ sum_k exp(-(t - t^k)/tau),

threshold ϑ, subtractive reset by Δ, no refractory period, the synaptic current not reset, weights of both
signs. With ``X = exp(-t/tau)`` (``t``: the time within the image) the potential between events is the
quadratic ``u = b X - a X^2`` of the coefficients of the events so far, ``a = sum w exp(t_j/tau_s)`` and
``b = sum w exp(t_j/tau) - Δ sum_k exp(t^k/tau)``: each input adds to ``a`` and ``b``, each spike takes
``Δ exp(t^k/tau)`` from ``b``. ``u`` can rise and fall between two events; its upward crossing of ϑ is the
larger root ``X+`` of ``a X^2 - b X + ϑ = 0`` (Eqs. 68-69: it exists only for ``a > 0``), so it is found in
closed form in every segment between events (:data:`upcross`), and no excursion above threshold is missed.
A neuron emits at most ``n_max`` spikes per image: a crossing after them sets ``over`` and stops the neuron
(the PyTorch forward's ``overflow``). The group's ``u`` is the potential (Brian2's ODE form of the same neuron,
``du/dt = (I - u)/tau``, ``dI/dt = -I/tau_s``, ``I += w``, has it as its solution). The state is kept as the
coefficients rather than as ``u`` and ``I`` propagated from event to event because they are exact in the
image's time and use the arithmetic of the PyTorch forward pass (:mod:`brainnets.spike_time.forward`): the two
agree to rounding, even at hair-trigger crossings (``u`` grazing ϑ), whose time a propagated state would
shift by about the square root of its rounding error.

The simulation is the exact machinery of :mod:`brainnets.exact.lif` (the ``'exact'`` semantics): each neuron
processes one step ``(t, t + dt]`` at a time, its inputs of the step sorted in a buffer (:func:`lif.insertion_code`)
split the step into segments, the crossing of each segment (and a second one after its reset) is sought in
closed form, and the step's spike is emitted in the step with its offset ``sp_off``; layers are chained
without delay within each step (:data:`lif.ORDER_STRIDE`), and a neuron that would spike twice in one step
raises :class:`lif.StepTooLong`. Two things differ from the leaky models there:

* a buffer slot holds an input *time* and the event's contributions to ``a`` and ``b``: the synapse computes
  them (``w exp(t/tau_s)``, ``w exp(t/tau)``), and events at the same time merge into one slot (their weights
  act together, as in the PyTorch forward); so a layer's buffer needs as many slots as the most distinct input
  times in one step, one for TTFS-coded images on a step shorter than their time resolution;
* many images run one after another in one run: image ``m`` occupies the steps ``[m P, (m + 1) P)`` (``P``
  steps cover the image's ``duration``), times are counted from its start, and every neuron starts it afresh
  (``a = b = n = 0``) in its first step. The inputs (``(batch, n_in, k)`` times, one channel per input and
  spike) come from two ``TimedArray`` of one row per image: the step of each spike within its image and its
  offset in that step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import brian2
import numpy as np
from brian2 import Clock, EventMonitor, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, ms

from ..devices import build_standalone, is_standalone
from . import lif
from .timing import OFFSET, recorded_spikes


@dataclass(frozen=True)
class Layer:
    """A fully connected layer: ``weights`` (n_in, n), ``tau_s`` (ms; tau = 2 tau_s), threshold ϑ and reset Δ
    (normalised units), at most ``n_max`` spikes per neuron and image."""
    weights: np.ndarray
    tau_s: float
    threshold: float
    reset: float
    n_max: int


# ---------------------------------------------------------------------------------------------------------
# Equations

#: Input channels: the step (within its image) of the channel's spike in the current image, -1 if none, and
#: its offset in that step (ms).
INPUT = f"""
in_step = input_step(t, i) : 1
{OFFSET} = input_offset(t, i) : 1
"""
INPUT_THRESHOLD = "in_step == timestep(t, dt) % period_steps"

NEURON = f"""
a : 1                 # sum over this image's inputs so far of w exp(t_j / tau_s)  (t_j: ms from the image's start)
b : 1                 # sum over them of w exp(t_j / tau), minus delta exp(t_k / tau) for each own spike t_k
n : integer           # spikes emitted in this image
over : boolean        # a crossing came after n_max spikes: the neuron stopped for the rest of the image
spiked : boolean      # threshold crossed in the step just processed: the spike is emitted in this step
{OFFSET} : 1            # that crossing's time, ms from the start of the step
n_over : integer      # input events that did not fit the buffer
n_multi : integer     # steps in which the neuron crossed threshold more than once (only the first is emitted)
X = exp(-(timestep(t, dt) % period_steps) * h / tau) : 1
u = b * X - a * X**2 : 1   # the potential at the step's start (a StateMonitor's default slot, 'start')
"""
#: One buffer slot: an input time (offset in the step, ms; BIG when empty) and its contributions to a and b.
SLOT = "e{k} : 1\nda{k} : 1\ndb{k} : 1\n"

#: What a synapse stores for an event at offset ``x``: its contributions to ``a`` and ``b`` at the event's time
#: within the image.
EVENT_TIME = "((timestep(t, dt) % period_steps) * h + x)"
PAYLOAD = {"da": f"w * exp({EVENT_TIME} / tau_s)", "db": f"w * exp({EVENT_TIME} / tau)"}


def _upcross(a, b, lo, hi, theta, tau):
    with np.errstate(all="ignore"):
        disc = b * b - 4 * a * theta
        x = np.sqrt(np.maximum(disc, 0))
        big_x = 2 * a / (b + x)
        ok = (a > 0) & (disc >= 0) & (b + x > 0)
        t = tau * np.log(np.where(ok, big_x, 1.0))
    return np.where(ok & (t > lo) & (t <= hi), big_x, 0.0)


#: ``upcross(a, b, lo, hi, theta, tau)``: ``exp(t/tau)`` of the upward crossing of ``b X - a X^2 = theta`` at
#: ``t = tau ln(2a / (b + x))``, ``x = sqrt(b^2 - 4 a theta)`` (:func:`brainnets.spike_time.neuron.crossing`,
#: the same arithmetic), if it lies in ``(lo, hi]``; 0 otherwise. In C++ it returns early when there is none.
upcross = lif._function("upcross", _upcross, "a, b, lo, hi, theta, tau", """
    if (a <= 0 || lo >= hi) return 0.0;
    const double disc = b * b - 4 * a * theta;
    if (disc < 0) return 0.0;
    const double x = sqrt(disc);
    if (b + x <= 0) return 0.0;
    const double big_x = 2 * a / (b + x);
    const double t = tau * log(big_x);
    return (t > lo && t <= hi) ? big_x : 0.0;""", """
if a <= 0 or lo >= hi:
    return 0.0
disc = b * b - 4 * a * theta
if disc < 0:
    return 0.0
x = disc ** 0.5
if b + x <= 0:
    return 0.0
big_x = 2 * a / (b + x)
t = tau * log(big_x)
return big_x if t > lo and t <= hi else 0.0""", body=True)

# ---------------------------------------------------------------------------------------------------------
# Per-step code. ``t0``/``t1``: the step's start and end (ms within the image; the end no later than the
# image's duration); ``tc``: the time from which the current segment is searched; ``te``: its end (the next
# buffered event, or the step's end: an empty slot has offset BIG, and the buffer is sorted).

#: A new image starts afresh; ``zero`` is a per-neuron zero (a temporary first set to a constant would be a
#: scalar, which Brian2 then refuses to vary).
STEP_START = """
step = timestep(t, dt) % period_steps
t0 = step * h
t1 = vmin((step + 1) * h, t_end)
a = ifelse(step, a, 0.0)
b = ifelse(step, b, 0.0)
n = n * int(step > 0)
over = over and step > 0
zero = clip(a, 0.0, 0.0)
cross = int(zero > 1)
Xs = zero
tc = t0 + zero
"""

#: A crossing in ``(lo, te]`` with the current ``a``, ``b``: a spike (the reset lowers ``b``), or, after
#: ``n_max`` spikes, the neuron stops. ``Xs`` keeps the step's first spike, ``cross`` counts them.
CHECK = """
Xc = upcross(a, b, {lo}, te, theta, tau) * int(not over)
over = over or (Xc > 0 and n >= n_max)
fire = int(Xc > 0) * int(n < n_max)
Xs = ifelse(fire * int(cross == 0), Xc, Xs)
cross += fire
n += fire
b -= fire * delta * Xc
"""
#: The crossings of a segment: one, and a second after its reset (a third in the same step is an error anyway).
CROSSINGS = (CHECK.format(lo="tc") + "t_again = ifelse(fire, tau * log(vmax(Xc, tiny)), BIG)\n"
             + CHECK.format(lo="t_again"))
#: A segment ends at the next buffered event, whose contributions then join ``a`` and ``b``; the last one at
#: the step's end.
SEGMENT = "te = vmin(t0 + vmin(e{k}, h), t1)\n" + CROSSINGS + "a += da{k}\nb += db{k}\ntc = te\n"
LAST_SEGMENT = "te = t1\n" + CROSSINGS

#: Publish the step's first spike (Brian2 emits one per neuron and step: more are counted in ``n_multi``, an
#: error after the run).
STEP_END = f"""
spiked = cross > 0
{OFFSET} = ifelse(cross, tau * log(vmax(Xs, tiny)) - t0, 0.0)
n_multi += int(cross > 1)
"""

#: The overflow event: recorded in the last step of an image in which the neuron stopped.
OVERFLOW = "over and timestep(t, dt) % period_steps == period_steps - 1"


def step_code(n_slots: int) -> str:
    """The abstract code that advances every neuron through one step with ``n_slots`` buffered input times,
    then empties the buffer."""
    code = STEP_START + "".join(SEGMENT.format(k=k) for k in range(1, n_slots + 1)) + LAST_SEGMENT + STEP_END
    return code + "".join(f"e{k} = BIG\nda{k} = 0.0\ndb{k} = 0.0\n" for k in range(1, n_slots + 1))


# ---------------------------------------------------------------------------------------------------------
# Inputs

@dataclass
class Inputs:
    """Input spikes on the grid, per image (row) and channel (column): the step within the image (-1: none)
    and the offset in that step (ms)."""
    step: np.ndarray
    offset: np.ndarray
    period_steps: int

    @property
    def n_slots(self) -> int:
        """The most distinct input times in one step of one image."""
        image, channel = np.nonzero(self.step >= 0)
        if image.size == 0:
            return 1
        times = np.stack([image, self.step[image, channel], self.offset[image, channel]], axis=1)
        _, steps = np.unique(np.unique(times, axis=0)[:, :2], axis=0, return_counts=True)
        return int(steps.max())


def period_steps(duration_ms: float, dt_ms: float) -> int:
    """The steps of one image: enough to cover ``duration_ms``."""
    return max(1, int(np.ceil(duration_ms / dt_ms - 1e-9)))


def grid_inputs(in_times_ms: np.ndarray, duration_ms: float, dt_ms: float) -> Inputs:
    """``in_times_ms`` (batch, n_in, k; inf = none) on the grid; channel ``j k + s`` is spike ``s`` of input
    ``j``. Spikes after ``duration_ms`` are dropped (they could not make a neuron fire within it)."""
    times = np.asarray(in_times_ms, dtype=float).reshape(len(in_times_ms), -1)
    if np.any(times < 0):
        raise ValueError("input times must be >= 0 ms")
    real = np.isfinite(times) & (times <= duration_ms)
    step, offset = lif.grid(np.where(real, times, 0.0), dt_ms)
    return Inputs(np.where(real, step, -1).astype(float), np.where(real, offset, 0.0),
                  period_steps(duration_ms, dt_ms))


# ---------------------------------------------------------------------------------------------------------
# The Brian2 network

def layer_namespace(layer: Layer, dt_ms: float, n_steps: int, duration_ms: float) -> dict:
    """The constants the equations, the step code and the synapses into the layer refer to."""
    return dict(h=dt_ms, period_steps=n_steps, t_end=duration_ms, tau=2 * layer.tau_s, tau_s=layer.tau_s,
                theta=layer.threshold, delta=layer.reset, n_max=int(layer.n_max), BIG=lif.BIG,
                half_big=lif.BIG / 2, tiny=1e-300, upcross=upcross, ifelse=lif.ifelse, vmin=lif.vmin,
                vmax=lif.vmax)


@dataclass
class Stack:
    """The Brian2 objects of a feed-forward stack of SRM layers over ``n_images`` images."""
    network: Network
    namespace: dict
    groups: list
    monitors: list            # SpikeMonitor of each layer
    overflows: list           # EventMonitor of each layer's overflow event
    n_slots: list
    inputs: Inputs

    @property
    def duration(self):
        """The run's length: every image's steps."""
        return self.inputs.step.shape[0] * self.inputs.period_steps * self.groups[0].clock.dt


def layer_group(n: int, k: int, n_slots: int, namespace: dict, clock, name: str):
    """Layer ``k``'s ``NeuronGroup`` of ``n`` neurons with ``n_slots`` buffer slots, scheduled in the ``'end'`` slot
    (:data:`lif.ORDER_STRIDE`), and its monitors: spikes (with their offsets) and overflow events."""
    equations = NEURON + "".join(SLOT.format(k=s) for s in range(1, n_slots + 1))
    group = NeuronGroup(n, equations, threshold="spiked", reset="", clock=clock, events={"overflow": OVERFLOW},
                        name=name, namespace=namespace)
    base = lif.ORDER_STRIDE * k
    group.run_regularly(step_code(n_slots), when="end", order=base + lif._STEP, name=f"{name}_step")
    for event in ("spike", "overflow"):
        group.thresholder[event].when = "end"
        group.thresholder[event].order = base + lif._THRESHOLD
    for s in range(1, n_slots + 1):
        setattr(group, f"e{s}", lif.BIG)
    monitor = SpikeMonitor(group, variables=[OFFSET], when="end", order=base + lif._MONITOR, name=f"{name}_spikes")
    overflow = EventMonitor(group, "overflow", when="end", order=base + lif._MONITOR, name=f"{name}_overflow")
    return group, monitor, overflow


def connect(source, group, weights: np.ndarray, k: int, n_slots: int, namespace: dict, clock) -> list:
    """The synapses of ``weights`` (``(len(source), len(group))``, zero: none) into layer ``k``'s buffer: from the
    inputs in the ``'synapses'`` slot, from layer ``k - 1`` right after its monitor; ``[]`` if there are none
    (Brian2 refuses a Synapses object without synapses)."""
    pre, post = np.nonzero(weights)
    if not len(pre):
        return []
    synapses = Synapses(source, group, "w : 1 (constant)", clock=clock, name=f"{source.name}_to_{group.name}",
                        on_pre=lif.insertion_code(n_slots, OFFSET, PAYLOAD, merge=True), namespace=namespace)
    synapses.connect(i=pre, j=post)
    synapses.w = weights[pre, post]
    if k == 0:
        synapses.pre.when, synapses.pre.order = "synapses", 0
    else:
        synapses.pre.when, synapses.pre.order = "end", lif.ORDER_STRIDE * (k - 1) + lif._OUTGOING
    return [synapses]


def build_stack(layers: list[Layer], in_times_ms: np.ndarray, duration_ms: float, dt_ms: float,
                n_slots=None, name: str = "srm") -> Stack:
    """The Brian2 network of ``layers`` driven by ``in_times_ms`` (batch, n_in, k; see :func:`simulate`)."""
    in_times_ms = np.asarray(in_times_ms, dtype=float)
    inputs = grid_inputs(in_times_ms, duration_ms, dt_ms)
    n_steps, k_in = inputs.period_steps, in_times_ms.shape[2]
    slots_given = list(n_slots) if isinstance(n_slots, (list, tuple)) else [n_slots] * len(layers)
    clock = Clock(dt=dt_ms * ms)
    period = n_steps * dt_ms * ms
    run_ns = dict(input_step=TimedArray(inputs.step, dt=period), input_offset=TimedArray(inputs.offset, dt=period))
    source = NeuronGroup(inputs.step.shape[1], INPUT, threshold=INPUT_THRESHOLD, reset="", clock=clock,
                         name=f"{name}_inputs", namespace=dict(run_ns, period_steps=n_steps))
    stack = Stack(Network(source), run_ns, [], [], [], [], inputs)
    for k, layer in enumerate(layers):
        weights = np.atleast_2d(np.asarray(layer.weights, dtype=float))
        if k == 0:
            weights = np.repeat(weights, k_in, axis=0)  # one channel per input and spike
            k_slots = slots_given[k] or inputs.n_slots
        else:  # one spike per presynaptic neuron and step at most: the fan-in bounds the buffer
            k_slots = slots_given[k] or max(1, int((weights != 0).sum(axis=0).max(initial=0)))
        if weights.shape[0] != len(source):
            raise ValueError(f"layer {k}: weights of shape {layer.weights.shape} after {len(source)} sources")
        ns = layer_namespace(layer, dt_ms, n_steps, duration_ms)
        group, monitor, overflow = layer_group(weights.shape[1], k, k_slots, ns, clock, f"{name}_{k}")
        stack.network.add(group, monitor, overflow, *connect(source, group, weights, k, k_slots, ns, clock))
        stack.groups.append(group)
        stack.monitors.append(monitor)
        stack.overflows.append(overflow)
        stack.n_slots.append(k_slots)
        source = group
    return stack


@dataclass
class StackRun:
    """Spike times (ms within each image; ``(batch, n, n_max)``, inf = none) and overflow flags (``(batch, n)``)
    per layer, and how the run went."""
    times: list
    overflow: list
    dt_ms: float
    n_slots: list
    wall_seconds: float       # building and running (compilation included)
    run_seconds: float        # the simulation alone (the standalone binary, or the runtime's run)


def read_layer(monitor, overflow, n_images: int, n: int, n_max: int, n_steps: int, dt_ms: float):
    """A layer's ``(times, overflow)`` per image from its monitors."""
    neuron, steps, offsets = recorded_spikes(monitor, dt_ms)
    image, local = np.divmod(steps, n_steps)
    t = local * dt_ms + offsets
    order = np.lexsort((t, neuron, image))
    image, neuron, t = image[order], neuron[order], t[order]
    first = np.r_[True, (image[1:] != image[:-1]) | (neuron[1:] != neuron[:-1])]
    rank = np.arange(len(t)) - np.maximum.accumulate(np.where(first, np.arange(len(t)), 0))
    times = np.full((n_images, n, n_max), np.inf)
    times[image, neuron, rank] = t
    flags = np.zeros((n_images, n), bool)
    over_neuron, over_steps, _ = recorded_spikes(overflow, dt_ms)
    flags[over_steps // n_steps, over_neuron] = True
    return times, flags


def simulate(layers: list[Layer], in_times_ms, duration_ms: float, dt_ms: float = 0.1, device: str = "runtime", *,
             target: str = "numpy", directory=None, n_slots=None, details: bool = False):
    """Exact spikes of a feed-forward stack of fully connected SRM ``layers`` for each image of ``in_times_ms``
    (batch, n_in, k; ms within the image, inf = none), each image simulated for ``duration_ms``.

    ``device``: 'runtime' (code generation ``target``) or 'cpp' (C++ standalone, project in ``directory``).
    ``n_slots``: per layer (or one for all), the buffer's size (``None``: layer 0 counts the most distinct input
    times in a step, a later layer uses its fan-in); a run whose buffer overflows raises ``RuntimeError``; a run
    in which a neuron would spike twice within one step raises :class:`lif.StepTooLong`.
    Returns per layer the spike times ``(batch, n, n_max)`` (ms, inf = none), or a :class:`StackRun` (with the
    overflow flags) if ``details``.
    """
    start = time.perf_counter()
    directory = lif._directory(device, directory)
    in_times_ms = np.asarray(in_times_ms, dtype=float)
    with lif._session(device, directory, target):
        stack = build_stack(layers, in_times_ms, duration_ms, dt_ms, n_slots)
        run_start = time.perf_counter()
        stack.network.run(stack.duration, namespace=stack.namespace)
        run_seconds = time.perf_counter() - run_start
        if is_standalone(device):
            build_standalone(directory, run=True, compile=True)
            run_seconds = brian2.get_device().timers["run_binary"]
        check_run(stack, dt_ms)
        out = [read_layer(monitor, overflow, len(in_times_ms), len(group), layer.n_max, stack.inputs.period_steps,
                          dt_ms)
               for monitor, overflow, group, layer in zip(stack.monitors, stack.overflows, stack.groups, layers)]
    times = [t for t, _ in out]
    if not details:
        return times
    return StackRun(times, [f for _, f in out], dt_ms, stack.n_slots, time.perf_counter() - start, run_seconds)


def check_run(stack: Stack, dt_ms: float) -> None:
    """Refuse a run whose buffers overflowed or in which a neuron crossed threshold twice within a step."""
    for k, (group, slots) in enumerate(zip(stack.groups, stack.n_slots)):
        lost = int(np.asarray(group.n_over[:]).sum())
        if lost:
            raise RuntimeError(f"layer {k}: {lost} input events did not fit the {slots}-slot buffer "
                               f"(pass a larger n_slots or a smaller dt)")
        multi = int(np.asarray(group.n_multi[:]).sum())
        if multi:
            raise lif.StepTooLong(f"layer {k}: {multi} times a neuron crossed threshold more than once within "
                                  f"one step of {dt_ms} ms, which emits one spike; use a smaller dt")
