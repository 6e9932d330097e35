"""The event-level Brian2 reference simulation of a TTFS network (summary of Stanojevic, §8.3).

Every layer is one ``NeuronGroup`` of non-leaky integrators (Eq. 2.2 of the thesis), written once below:

    tau_c dv/dt = alpha H(t - t_ramp) + pad H(t - t_min) + I,   I = sum of J over the inputs that arrived

The potential is linear between events, so Brian2's Euler step is exact, and a spike's time within its
step follows from where ``v`` stands: at the threshold check ``v`` has already been integrated to
``t_v = t + dt`` (Brian2 updates state before thresholds, calibrated by a one-neuron test), so the
crossing was ``lag = (v - theta) tau_c / slope`` ago. Each synapse adds the charge its spike would have
delivered during that lag (``v_post += J lag_pre / tau_c``): the exact-time correction. With it the
spike times equal the closed form to rounding error for any grid-aligned ``dt``; without it
(``exact=False``, the naive clock-driven simulation) every spike sits on the grid and errors grow with
``dt``. A neuron may not fire before ``t_min`` (the guard) and is made to fire at ``t_max``.

Images are shown one after another in a single run (every group's state is reset at the start of each
image period), so the same network runs unchanged on the runtime, C++ standalone and CUDA standalone
devices. Max pooling is a group that fires one step after its earliest input and passes that input's
exact time on; a layer fed by pooling opens its guard one step later to wait for it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import brian2
import numpy as np
from brian2 import NeuronGroup, Network, SpikeMonitor, Synapses, TimedArray, ms, second

from ..devices import build_standalone, check_runnable, is_standalone, use_device
from .exact import SpikeTimes, input_times
from .spec import SNNSpec, SpikingLayer

#: Time within the current image, and the time to which ``v`` has been integrated at threshold checks.
_CLOCK = """
t_local = (timestep(t, dt) % period_steps) * dt : second
t_v = t_local + dt : second
period_steps : integer (shared, constant)
tau_c : second (shared, constant)
"""

INTEGRATOR = _CLOCK + """
dv/dt = slope / tau_c : 1
slope = alpha * int(t_local >= t_ramp - dt/2) + pad * int(t_local >= t_min - dt/2) + I : 1
I : 1
alpha : 1 (constant)
pad : 1 (constant)
fired : boolean
t_ramp : second (shared, constant)
t_min : second (shared, constant)
t_max : second (shared, constant)
t_open : second (shared, constant)
"""

#: Time since the threshold was crossed, as seen at the check (never earlier than t_min: the guard).
EXACT_LAG = "lag = int(v >= theta) * clip((v - theta) * tau_c / slope, 0*second, t_v - t_min) : second\n"
NAIVE_LAG = "lag = 0*second : second\n"

SPIKING_THRESHOLD = "not fired and ((t_v > t_open + dt/2 and v >= theta) or t_v >= t_max - dt/2)"

#: Max pooling: the earliest input of the image, passed on with its exact time.
POOL = _CLOCK + """
t_first : second
got_input : boolean
fired : boolean
t_max : second (shared, constant)
"""
EXACT_POOL_LAG = "lag = t_v - t_first : second\n"

READOUT = INTEGRATOR.replace("fired : boolean\n", "fired : boolean\nt_read : second (shared, constant)\n") + \
    "logit = v - (t_v - t_read) * slope / tau_c : 1\n"

TO_INTEGRATOR = "I_post += J\nv_post += J * lag_pre / tau_c_post"
TO_POOL = "got_input_post = True\nt_first_post = clip(t_first_post, 0*second, t_v_post - lag_pre)"


@dataclass
class ReferenceRun:
    times: SpikeTimes
    wall_seconds: float  # building and running, device compilation included
    run_seconds: float   # the simulation alone
    dt: float


def check_grid(spec: SNNSpec, dt: float) -> None:
    """Every window edge must lie on the time grid (the mapping's ``grid`` option makes it so)."""
    edges = [spec.input_window] + [t for layer in spec.layers for t in (layer.t_ramp, layer.t_min, layer.t_max)]
    steps = np.asarray(edges) / dt
    if not np.allclose(steps, np.round(steps), rtol=0, atol=1e-6):
        raise ValueError(f"dt = {dt} does not divide the windows {spec.windows()}: convert the network "
                         "with a grid that dt divides")


class ReferenceNetwork:
    """The Brian2 network of ``spec`` for ``n_images`` images at time step ``dt`` (units of tau_c)."""

    def __init__(self, spec: SNNSpec, inputs: np.ndarray, dt: float, *, exact: bool = True, tau_c=1 * ms):
        check_grid(spec, dt)
        self.spec, self.dt, self.tau_c, self.exact = spec, dt, tau_c, exact
        self.n_images = len(inputs)
        brian2.defaultclock.dt = dt * tau_c
        # the readout is read one step after t_read (two if pooling feeds it), then the next image starts
        self.period_steps = int(round(spec.readout.t_read / dt)) + 2 + (spec.layers[-1].pool is not None)
        period = self.period_steps * dt * tau_c
        self.input_times = TimedArray(input_times(spec, inputs), dt=period)
        self.groups, self.pools, self.monitors = [], [], []
        self.input_group = self._input_group()
        objects = [self.input_group, self._monitor(self.input_group, "lag")]
        source, pooled_input = self.input_group, False
        for n, layer in enumerate(spec.layers, start=1):
            group = self._spiking_group(f"layer{n}", layer, pooled_input)
            objects += [group, self._connect(source, group, layer.connection.matrix(), TO_INTEGRATOR),
                        self._monitor(group, "lag")]
            self.groups.append(group)
            source, pooled_input = group, layer.pool is not None
            if layer.pool:
                pool = self._pool_group(f"pool{n}", layer)
                groups = layer.pool.groups()
                members = np.repeat(np.arange(len(groups)), groups.shape[1])
                objects += [pool, self._synapses(group, pool, groups.ravel(), members, None, TO_POOL),
                            self._monitor(pool, "lag")]
                self.pools.append(pool)
                source = pool
        self.readout = self._readout_group(pooled_input)
        objects += [self.readout, self._connect(source, self.readout, spec.readout.connection.matrix(), TO_INTEGRATOR),
                    self._monitor(self.readout, "logit")]
        self.network = Network(objects)
        self.duration = self.n_images * period

    def _shared(self, group, **values):
        group.period_steps = self.period_steps
        group.tau_c = self.tau_c
        for name, value in values.items():
            setattr(group, name, value * self.tau_c)

    def _reset_each_image(self, group, code):
        group.run_regularly(code, dt=self.period_steps * self.dt * self.tau_c, when="start")

    def _integrator(self, name, n, equations, threshold, alpha, pad, t_ramp, t_min, t_max, t_open, **shared):
        group = NeuronGroup(n, equations, threshold=threshold, reset="fired = True", method="euler", name=name)
        group.alpha, group.pad = alpha, pad
        self._shared(group, t_ramp=t_ramp, t_min=t_min, t_max=t_max, t_open=t_open, **shared)
        self._reset_each_image(group, "v = 0\nI = 0\nfired = False")
        return group

    def _input_group(self):
        """Input neurons are integrators too: slope 1 from 0, threshold ``t^(0)``, so they fire at it."""
        equations = INTEGRATOR + "theta = input_times(t, i) : 1\n" + (EXACT_LAG if self.exact else NAIVE_LAG)
        n = self.input_times.values.shape[1]
        window = self.spec.input_window
        return self._integrator("inputs", n, equations, SPIKING_THRESHOLD, alpha=1.0, pad=0.0, t_ramp=0.0,
                                t_min=0.0, t_max=window, t_open=0.0)

    def _spiking_group(self, name, layer: SpikingLayer, pooled_input: bool):
        equations = INTEGRATOR + "theta : 1 (constant)\n" + (EXACT_LAG if self.exact else NAIVE_LAG)
        group = self._integrator(name, layer.n, equations, SPIKING_THRESHOLD, alpha=layer.alpha,
                                 pad=layer.connection.padding_weights(), t_ramp=layer.t_ramp, t_min=layer.t_min,
                                 t_max=layer.t_max, t_open=layer.t_min + self.dt * pooled_input)
        group.theta = layer.theta
        return group

    def _pool_group(self, name, layer: SpikingLayer):
        equations = POOL + (EXACT_POOL_LAG if self.exact else NAIVE_LAG)
        group = NeuronGroup(len(layer.pool.groups()), equations, threshold="got_input and not fired",
                            reset="fired = True", name=name)
        self._shared(group, t_max=layer.t_max)
        self._reset_each_image(group, "t_first = t_max\ngot_input = False\nfired = False")
        return group

    def _readout_group(self, pooled_input: bool):
        readout = self.spec.readout
        t_read = readout.t_read
        return self._integrator("readout", len(readout.alpha), READOUT,
                                "not fired and t_v > t_open + dt/2", alpha=readout.alpha,
                                pad=np.zeros(len(readout.alpha)), t_ramp=readout.t_ramp, t_min=readout.t_ramp,
                                t_max=t_read, t_open=t_read + self.dt * pooled_input, t_read=t_read)

    def _synapses(self, source, target, pre, post, weight, on_pre):
        synapses = Synapses(source, target, "J : 1 (constant)" if weight is not None else "", on_pre=on_pre,
                            name=f"{source.name}_to_{target.name}")
        synapses.connect(i=pre, j=post)
        if weight is not None:
            synapses.J = weight
        return synapses

    def _connect(self, source, target, matrix, on_pre):
        coo = matrix.tocoo()
        return self._synapses(source, target, coo.col, coo.row, coo.data, on_pre)

    def _monitor(self, group, variable):
        monitor = SpikeMonitor(group, variables=[variable], name=f"{group.name}_spikes")
        self.monitors.append(monitor)
        return monitor

    def run(self) -> None:
        """Simulate every image (on a standalone device: add the run to the project being generated)."""
        self.network.run(self.duration, namespace={"input_times": self.input_times})

    def _decode(self, group, variable: str) -> np.ndarray:
        """``(n_images, n)``: each neuron's spike time within its image (from ``lag``), or a readout value."""
        monitor = next(m for m in self.monitors if m.source is group)
        steps = np.round(np.asarray(monitor.t[:] / second) / float(self.dt * self.tau_c)).astype(np.int64)
        image, local = np.divmod(steps, self.period_steps)
        values = np.asarray(getattr(monitor, variable)[:])
        if variable == "lag":
            values = (local + 1) * self.dt - values / float(self.tau_c)
        out = np.full((self.n_images, len(group)), np.nan)
        out[image, np.asarray(monitor.i[:])] = values
        if np.isnan(out).any() or len(values) != out.size:
            raise RuntimeError(f"{group.name}: not every neuron spiked exactly once per image")
        return out

    def read(self) -> SpikeTimes:
        """Every group's spike times (units of tau_c, within each image) and the readout's logits."""
        layers = [self._decode(group, "lag") for group in self.groups]
        pools = iter(self.pools)
        pooled = [self._decode(next(pools), "lag") if layer.pool else t for layer, t in zip(self.spec.layers, layers)]
        return SpikeTimes(self._decode(self.input_group, "lag"), layers, pooled, self._decode(self.readout, "logit"))


def simulate(spec: SNNSpec, inputs: np.ndarray, dt: float, *, exact: bool = True, tau_c=1 * ms,
             device: str = "runtime", directory: str | Path | None = None) -> ReferenceRun:
    """Run ``inputs`` (batch, ...) in [0, 1] through the Brian2 network of ``spec`` on ``device``
    ('runtime', 'cpp' or 'cuda'; standalone projects go to ``directory``)."""
    start = time.perf_counter()
    check_runnable(device)
    use_device(device, directory)
    try:
        reference = ReferenceNetwork(spec, inputs, dt, exact=exact, tau_c=tau_c)
        run_start = time.perf_counter()
        reference.run()
        if is_standalone(device):
            build_standalone(directory, run=True, compile=True)
            device_object = brian2.get_device()
            run_seconds = device_object.timers["run_binary"] if hasattr(device_object, "timers") else None
        else:
            run_seconds = time.perf_counter() - run_start
        times = reference.read()
    finally:
        use_device("runtime")
    return ReferenceRun(times, time.perf_counter() - start, run_seconds, dt)
