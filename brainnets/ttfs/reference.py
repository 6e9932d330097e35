"""The event-level Brian2 reference simulation of a TTFS network (summary of Stanojevic, §8.3).

Every layer is one ``NeuronGroup`` of the non-leaky integrators of :mod:`brainnets.exact.integrator`, whose
spikes carry their exact times (``semantics='exact'``: equal to the closed form to rounding error for any
grid-aligned ``dt``) or sit on the grid (``'clock'``, the naive clock-driven simulation, whose errors grow with
``dt``). The input neurons are integrators too: slope 1 from 0 and threshold ``t^(0)``, so they fire at it.

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
from brian2 import NeuronGroup, Network, SpikeMonitor, Synapses, TimedArray, ms

from ..devices import build_standalone, check_runnable, is_standalone
from ..exact import integrator
from ..exact.timing import OFFSET, check_semantics, on_device, recorded_spikes
from .exact import SpikeTimes, input_times
from .spec import SNNSpec, SpikingLayer


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

    def __init__(self, spec: SNNSpec, inputs: np.ndarray, dt: float, *, semantics: str = "exact", tau_c=1 * ms):
        check_grid(spec, dt)
        self.spec, self.dt, self.tau_c, self.semantics = spec, dt, tau_c, check_semantics(semantics)
        self.n_images = len(inputs)
        brian2.defaultclock.dt = dt * tau_c
        # the readout is read one step after t_read (two if pooling feeds it), then the next image starts
        self.period_steps = int(round(spec.readout.t_read / dt)) + 2 + (spec.layers[-1].pool is not None)
        period = self.period_steps * dt * tau_c
        self.input_times = TimedArray(input_times(spec, inputs), dt=period)
        self.groups, self.pools, self.monitors = [], [], []
        self.input_group = self._input_group()
        objects = [self.input_group, self._monitor(self.input_group, OFFSET)]
        source, pooled_input = self.input_group, False
        for n, layer in enumerate(spec.layers, start=1):
            group = self._spiking_group(f"layer{n}", layer, pooled_input)
            objects += [group, self._connect(source, group, layer.connection.matrix(), integrator.ON_PRE),
                        self._monitor(group, OFFSET)]
            self.groups.append(group)
            source, pooled_input = group, layer.pool is not None
            if layer.pool:
                pool = self._pool_group(f"pool{n}", layer)
                groups = layer.pool.groups()
                members = np.repeat(np.arange(len(groups)), groups.shape[1])
                objects += [pool, self._synapses(group, pool, groups.ravel(), members, None, integrator.ON_PRE_POOL),
                            self._monitor(pool, OFFSET)]
                self.pools.append(pool)
                source = pool
        self.readout = self._readout_group(pooled_input)
        objects += [self.readout, self._connect(source, self.readout, spec.readout.connection.matrix(), integrator.ON_PRE),
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
        group = NeuronGroup(n, equations, threshold=threshold, reset=integrator.RESET, method="euler", name=name)
        group.alpha, group.pad = alpha, pad
        self._shared(group, t_ramp=t_ramp, t_min=t_min, t_max=t_max, t_open=t_open, **shared)
        self._reset_each_image(group, integrator.PERIOD_RESET)
        return group

    def _input_group(self):
        """Input neurons are integrators too: slope 1 from 0, threshold ``t^(0)``, so they fire at it."""
        equations = integrator.integrator_equations(self.semantics, theta="theta = input_times(t, i) : 1")
        n = self.input_times.values.shape[1]
        window = self.spec.input_window
        return self._integrator("inputs", n, equations, integrator.THRESHOLD, alpha=1.0, pad=0.0, t_ramp=0.0,
                                t_min=0.0, t_max=window, t_open=0.0)

    def _spiking_group(self, name, layer: SpikingLayer, pooled_input: bool):
        equations = integrator.integrator_equations(self.semantics)
        group = self._integrator(name, layer.n, equations, integrator.THRESHOLD, alpha=layer.alpha,
                                 pad=layer.connection.padding_weights(), t_ramp=layer.t_ramp, t_min=layer.t_min,
                                 t_max=layer.t_max, t_open=layer.t_min + self.dt * pooled_input)
        group.theta = layer.theta
        return group

    def _pool_group(self, name, layer: SpikingLayer):
        group = NeuronGroup(len(layer.pool.groups()), integrator.pool_equations(self.semantics),
                            threshold=integrator.POOL_THRESHOLD, reset=integrator.RESET, name=name)
        self._shared(group, t_max=layer.t_max)
        self._reset_each_image(group, integrator.POOL_PERIOD_RESET)
        return group

    def _readout_group(self, pooled_input: bool):
        readout = self.spec.readout
        t_read = readout.t_read
        return self._integrator("readout", len(readout.alpha), integrator.READOUT,
                                integrator.READOUT_THRESHOLD, alpha=readout.alpha,
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
        """``(n_images, n)``: each neuron's spike time within its image (units of tau_c), or a readout value."""
        monitor = next(m for m in self.monitors if m.source is group)
        tau_c_ms = float(self.tau_c / ms)
        neurons, steps, offsets_ms = recorded_spikes(monitor, self.dt * tau_c_ms)
        image, local = np.divmod(steps, self.period_steps)
        if variable == OFFSET:
            values = local * self.dt + offsets_ms / tau_c_ms
        else:
            values = np.asarray(getattr(monitor, variable)[:])
        out = np.full((self.n_images, len(group)), np.nan)
        out[image, neurons] = values
        if np.isnan(out).any() or len(values) != out.size:
            raise RuntimeError(f"{group.name}: not every neuron spiked exactly once per image")
        return out

    def read(self) -> SpikeTimes:
        """Every group's spike times (units of tau_c, within each image) and the readout's logits."""
        layers = [self._decode(group, OFFSET) for group in self.groups]
        pools = iter(self.pools)
        pooled = [self._decode(next(pools), OFFSET) if layer.pool else t for layer, t in zip(self.spec.layers, layers)]
        return SpikeTimes(self._decode(self.input_group, OFFSET), layers, pooled, self._decode(self.readout, "logit"))


def simulate(spec: SNNSpec, inputs: np.ndarray, dt: float, *, semantics: str = "exact", tau_c=1 * ms,
             device: str = "runtime", directory: str | Path | None = None) -> ReferenceRun:
    """Run ``inputs`` (batch, ...) in [0, 1] through the Brian2 network of ``spec`` on ``device``
    ('runtime', 'cpp' or 'cuda'; standalone projects go to ``directory``) with exact or clock-driven spike
    times (``semantics``)."""
    start = time.perf_counter()
    check_runnable(device)
    with on_device(device, directory):
        reference = ReferenceNetwork(spec, inputs, dt, semantics=semantics, tau_c=tau_c)
        run_start = time.perf_counter()
        reference.run()
        if is_standalone(device):
            build_standalone(directory, run=True, compile=True)
            device_object = brian2.get_device()
            run_seconds = device_object.timers["run_binary"] if hasattr(device_object, "timers") else None
        else:
            run_seconds = time.perf_counter() - run_start
        times = reference.read()
    return ReferenceRun(times, time.perf_counter() - start, run_seconds, dt)
