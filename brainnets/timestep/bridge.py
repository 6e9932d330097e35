"""A trained time-stepped network (:class:`~brainnets.timestep.network.TimestepNet`) re-simulated in Brian2, step
by step, against its PyTorch forward pass.

One Brian2 step is one of the network's steps, and the images follow one another: image n holds the steps
n T to n T + T - 1, and its first step starts every neuron from rest, as each forward pass does. A step runs in
Brian2's ``'end'`` slot, layer after layer (``order``), so that a layer sees the spikes its predecessor emitted
in the same step, as the PyTorch network propagates them:

* a **spiking layer** updates ``u`` from what it carried over (the previous step's potential, leaked, and its
  reset: subtractive ``λ u - v o`` or hard ``λ (u (1 - o) + V_reset o)``) plus the step's input ``I``; it
  spikes where ``u > v``, and its spikes add their weights to the next layer's ``I``;
* an **average pooling** layer is a carrier: it counts the spikes of each window in the step and, where any
  arrived, passes ``w P / k^2`` on to the next layer (pooled spikes do not spike again);
* the **output** integrates its input, ``u = λ u + I``; its potential at an image's last step is the logits.

Inputs: direct coding drives the first layer through a summed variable of the image (a ``TimedArray``), so the
first layer's currents are summed in Brian2 too; Poisson coding's signed spikes, drawn in PyTorch, are replayed
by a ``SpikeGeneratorGroup`` (positive and negative spikes as two sources with opposite weights).

Jiang & Zhang's noise networks (:mod:`brainnets.timestep.noise`, stages 2 and 3) start each step from noise
instead of their carried potential. Brian2 gets the Gaussian draws the PyTorch pass made (each sample's layer
divided by its largest magnitude, as drawn) and computes the rest itself: stage 2's ``N_noise``, stage 3's
restored memory (Eqs. 7-10 on its own potentials, with the layer-wide mean, spread and maximum of each image
taken by a ``NetworkOperation``, which only Brian2's runtime device runs: these networks are checked there, in
pieces of ``chunk`` images).

The connections come from the PyTorch layers' weights by index: a convolution (stride 1, padding k // 2) gives
one synapse per kernel tap inside the image, a fully connected layer all pairs (flattened channel-major, as
PyTorch flattens). The comparison runs PyTorch in float64 on the same inputs; Brian2 sums a neuron's inputs in
its own order, so the two can differ in the last bits of a potential, never by a spike unless a potential
lies within rounding of the threshold.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..exact import lif
from ..devices import build_standalone, is_standalone
from . import noise as noise_module
from .neuron import Integrator
from .noise import NoisyNeuron

#: ``order`` in Brian2's ``'end'`` slot: each stage k runs at STRIDE (k + 1) + one of these.
STRIDE, _NOISE, _STEP, _THRESHOLD, _RESET, _OUTGOING, _CARRIER_RESET, _MONITOR = 10, 0, 1, 2, 3, 4, 5, 6


@dataclass
class Connection:
    """Synapses ``pre[s] -> post[s]`` with weight ``weight[s]``."""
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray


@dataclass
class Stage:
    """One layer of the Brian2 network: "spiking", "pool" (a carrier of pooled spikes) or "output", its size,
    the connection from the stage before it (or the input), and its constants."""
    kind: str
    size: int
    incoming: Connection
    threshold: float = 1.0
    leak: float = 1.0
    reset: str = "subtract"
    v_reset: float = 0.0
    area: int = 1
    noise: object = None      # a noise network's NoisyNeuron (its stage, alpha and Noise), else None


def conv_connection(weight: np.ndarray, height: int, width: int) -> Connection:
    """A stride-1 convolution with padding k // 2 from (C_in, H, W) to (C_out, H, W): one synapse per tap."""
    c_out, c_in, k, _ = weight.shape
    pad, pixels = k // 2, height * width
    y, x = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    out_channel, in_channel = np.meshgrid(np.arange(c_out), np.arange(c_in), indexing="ij")
    pre, post, weights = [], [], []
    for dy in range(k):
        for dx in range(k):
            ys, xs = y + dy - pad, x + dx - pad
            inside = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
            pre.append((in_channel[..., None] * pixels + (ys * width + xs)[inside]).ravel())
            post.append((out_channel[..., None] * pixels + (y * width + x)[inside]).ravel())
            weights.append(np.broadcast_to(weight[:, :, dy, dx, None], (c_out, c_in, int(inside.sum()))).ravel())
    return Connection(np.concatenate(pre), np.concatenate(post), np.concatenate(weights))


def pool_connection(channels: int, height: int, width: int, k: int) -> Connection:
    """k x k windows, stride k, from (C, H, W) to (C, H // k, W // k); a window's leftover rows and columns
    (beyond a multiple of k) feed nothing, as PyTorch's pooling floors."""
    rows, cols = height // k, width // k
    c, py, px, a, b = np.meshgrid(np.arange(channels), np.arange(rows), np.arange(cols), np.arange(k), np.arange(k),
                                  indexing="ij")
    pre = c * height * width + (k * py + a) * width + (k * px + b)
    post = c * rows * cols + py * cols + px
    return Connection(pre.ravel(), post.ravel(), np.ones(pre.size))


def fc_connection(weight: np.ndarray) -> Connection:
    """All pairs of a fully connected layer, ``weight`` (out, in)."""
    n_out, n_in = weight.shape
    return Connection(np.tile(np.arange(n_in), n_out), np.repeat(np.arange(n_out), n_in), weight.ravel())


def stages(net) -> list[Stage]:
    """The Brian2 stages of ``net``'s layers, with its weights and constants."""
    shape, out = net.input_shape, []
    for synapse, layer in zip(net.synapses, net.layers):
        if isinstance(synapse, nn.AvgPool2d):
            k = int(np.atleast_1d(synapse.kernel_size)[0])
            if not out:
                raise ValueError("the Brian2 bridge needs a spiking layer before the first pooling")
            out.append(Stage("pool", shape[0] * (shape[1] // k) * (shape[2] // k), pool_connection(*shape, k), area=k * k))
            shape = (shape[0], shape[1] // k, shape[2] // k)
            continue
        if isinstance(synapse, nn.Conv2d):
            if synapse.bias is not None:
                raise ValueError("the Brian2 bridge takes bias-free layers")
            connection = conv_connection(synapse.weight.detach().double().numpy(), shape[1], shape[2])
            shape = (synapse.out_channels, shape[1], shape[2])
        else:
            linear = synapse[-1]
            if linear.bias is not None:
                raise ValueError("the Brian2 bridge takes bias-free layers")
            connection = fc_connection(linear.weight.detach().double().numpy())
            shape = (linear.out_features,)
        size = int(np.prod(shape))
        if isinstance(layer, Integrator):
            out.append(Stage("output", size, connection, leak=layer.leak))
            continue
        neuron = noisy = layer[0]
        if isinstance(noisy, NoisyNeuron):
            if noisy.stage == 1:
                raise ValueError("a noise network is checked at stage 2 or 3 (noise.set_stage), not while training")
            if noisy.stage == 3 and noisy.noise.statistics != "sample":
                raise NotImplementedError("the bridge runs one image at a time: stage 3 needs per-sample statistics")
            neuron = noisy.neuron
        else:
            noisy = None
        out.append(Stage("spiking", size, connection, threshold=float(neuron.threshold.detach()),
                         leak=float(neuron.leak.detach()), reset=neuron.reset,
                         v_reset=float(getattr(neuron, "v_reset", 0.0)), noise=noisy))
    return out


#: What each stage carries over into a step (``fresh`` is 1 at an image's first step: everything at rest).
CARRIED = {"subtract": "(1 - fresh(t)) * (leak * u - theta * o)",
           "hard": "(1 - fresh(t)) * leak * (u * (1 - o) + v_reset * o)"}


@dataclass
class Built:
    network: object
    namespace: dict
    spike_monitors: list      # one per spiking stage
    output_monitor: object
    duration: object


def build(stages_: list[Stage], inputs: np.ndarray, coding: str, steps: int, draws: list | None = None) -> Built:
    """The Brian2 network of ``stages_`` driven by ``inputs``: images ``(batch, *shape)`` for direct coding, or
    signed spikes ``(steps, batch, *shape)`` for Poisson coding; ``draws``, per spiking stage, the unit Gaussian
    draws ``(steps, batch, neurons)`` of a noise network (None for the others)."""
    from brian2 import (Clock, Network, NetworkOperation, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor,
                        StateMonitor, TimedArray, ms)

    n_images = inputs.shape[1] if coding == "poisson" else inputs.shape[0]
    clock = Clock(dt=1 * ms)
    fresh = np.zeros(n_images * steps)
    fresh[::steps] = 1
    namespace = {"fresh": TimedArray(fresh, dt=1 * ms)}
    network = Network()
    if coding == "direct":
        images = inputs.reshape(n_images, -1)
        namespace["image"] = TimedArray(images, dt=steps * ms)
        source = NeuronGroup(images.shape[1], "x = image(t, i) : 1", clock=clock, name="inputs", namespace=namespace)
    else:
        flat = inputs.reshape(steps, n_images, -1)
        step, image, pixel = np.nonzero(flat)
        index = pixel + flat.shape[2] * (flat[step, image, pixel] < 0)
        source = SpikeGeneratorGroup(2 * flat.shape[2], index, (image * steps + step) * ms, clock=clock, name="inputs")
    network.add(source)
    spike_monitors, output_monitor = [], None
    for k, stage in enumerate(stages_):
        base = STRIDE * (k + 1)
        ns = dict(namespace, theta=stage.threshold, leak=stage.leak, v_reset=stage.v_reset)
        if stage.kind == "spiking":
            group = NeuronGroup(stage.size, "u : 1\nI : 1\nI_in : 1\no : 1\ncarried : 1", threshold="u > theta",
                                reset="o = 1", clock=clock, name=f"layer_{k}", namespace=ns)
            if stage.noise is None:
                group.run_regularly(f"carried = {CARRIED[stage.reset]}", when="end", order=base + _NOISE)
            else:
                draw = draws[len(spike_monitors)]
                network.add(NetworkOperation(noisy_start(group, stage, draw, steps), clock=clock, when="end",
                                             order=base + _NOISE, name=f"layer_{k}_noise"))
            group.run_regularly("u = carried + I + I_in\nI = 0\no = 0", when="end", order=base + _STEP)
            group.thresholder["spike"].when, group.thresholder["spike"].order = "end", base + _THRESHOLD
            group.resetter["spike"].when, group.resetter["spike"].order = "end", base + _RESET
            monitor = SpikeMonitor(group, record=True, when="end", order=base + _MONITOR, name=f"layer_{k}_spikes")
            spike_monitors.append(monitor)
            network.add(group, monitor)
        elif stage.kind == "pool":
            group = NeuronGroup(stage.size, "P : 1", threshold="P > 0", reset="P = 0", clock=clock,
                                name=f"pool_{k}", namespace=ns)
            group.thresholder["spike"].when, group.thresholder["spike"].order = "end", base + _THRESHOLD
            group.resetter["spike"].when, group.resetter["spike"].order = "end", base + _CARRIER_RESET
            network.add(group)
        else:
            group = NeuronGroup(stage.size, "u : 1\nI : 1\nI_in : 1", clock=clock, name="output", namespace=ns)
            group.run_regularly("u = (1 - fresh(t)) * leak * u + I + I_in\nI = 0", when="end", order=base + _STEP)
            output_monitor = StateMonitor(group, "u", record=True, when="end", order=base + _MONITOR,
                                          name="output_potential")
            network.add(group, output_monitor)
        network.add(connect(source, group, stage, stages_[k - 1] if k else None, coding, k, clock, ns))
        source = group
    return Built(network, namespace, spike_monitors, output_monitor, n_images * steps * ms)


def noisy_start(group, stage: Stage, draw: np.ndarray, steps: int):
    """What a noise network's layer starts each step from (``carried``), computed from its own potentials:
    stage 2's ``N_noise``, or stage 3's Eq. 7 with :meth:`Noise.restored <brainnets.timestep.noise.Noise.restored>`'s
    choices (the training noise where the carried potential has no spread; the sum clamped to the range)."""
    noisy, noise = stage.noise, stage.noise.noise
    alpha = noisy.alpha

    def start():
        g = int(group.clock.timestep[:])
        step, image = g % steps, g // steps
        unit = draw[step, image]
        training = noise.center + noise.half_range * unit
        if noisy.stage == 2:
            group.carried_ = training
            return
        u, o = np.asarray(group.u_), np.asarray(group.o_)
        a = np.zeros_like(u) if step == 0 else stage.leak * (u * (1 - o) + stage.v_reset * o)   # Eq. 8
        mu, sigma = a.mean(), a.std()
        if sigma <= noise_module.NO_SPREAD_ULPS * np.finfo(float).eps * np.abs(a).max():
            group.carried_ = training
            return
        a_hat = (a - mu) / sigma                                                                 # Eq. 9
        memory = a_hat / (alpha * np.abs(a_hat).max()) + noise.beta                              # Eq. 10
        group.carried_ = np.clip(memory + (noise.half_range - 1 / alpha) * unit, noise.low, noise.high)  # Eq. 7
    return start


def connect(source, group, stage: Stage, before: Stage | None, coding: str, k: int, clock, namespace: dict):
    """The synapses into ``stage`` from the stage ``before`` it (None: the input)."""
    from brian2 import Synapses

    c = stage.incoming
    pre, post, weight = c.pre, c.post, c.weight
    target = "P_post += 1" if stage.kind == "pool" else "I_post += w"
    if before is None and coding == "direct":
        synapses = Synapses(source, group, "w : 1 (constant)\nI_in_post = w * x_pre : 1 (summed)", clock=clock,
                            name=f"to_{k}", namespace=namespace)
    else:
        if before is None:  # Poisson: the negative spikes' copies carry -w
            pre, post, weight = np.r_[pre, pre + len(source) // 2], np.r_[post, post], np.r_[weight, -weight]
        elif before.kind == "pool":
            target = f"I_post += w * (P_pre / {before.area})"
        synapses = Synapses(source, group, "w : 1 (constant)", on_pre=target, clock=clock, name=f"to_{k}",
                            namespace=namespace)
        if before is not None:
            synapses.pre.when, synapses.pre.order = "end", STRIDE * k + _OUTGOING
    synapses.connect(i=pre.astype(np.int64), j=post.astype(np.int64))
    synapses.w = weight
    return synapses


@dataclass
class Reference:
    """The float64 PyTorch pass: each spiking layer's spikes as sorted codes (:func:`spike_codes`), the logits
    ``(batch, classes)``, and a noise network's unit Gaussian draws per spiking layer ``(steps, batch, neurons)``."""
    codes: list
    logits: np.ndarray
    draws: list | None


def reference(net, x: torch.Tensor, batch_size: int = 100) -> Reference:
    """The float64 PyTorch forward pass of ``x`` ``(steps, batch, *shape)``, batch by batch."""
    twin = copy.deepcopy(net).double().eval()
    steps = x.shape[0]
    spiking = [layer[0] for layer in twin.layers if isinstance(layer, nn.Sequential)]
    noisy = any(isinstance(neuron, NoisyNeuron) for neuron in spiking)
    codes, logits, draws = [[] for _ in spiking], [], [[] for _ in spiking]
    drawn, batch_spikes = [], []
    hooks = [neuron.register_forward_hook(lambda _m, _i, out: batch_spikes.append(out.detach())) for neuron in spiking]
    unit_gaussian = noise_module.unit_gaussian

    def recording(*args, **kwargs):  # a noisy layer draws once per step, the layers one after the other
        draw = unit_gaussian(*args, **kwargs)
        drawn.append(draw.flatten(1).numpy())
        return draw

    noise_module.unit_gaussian = recording
    try:
        with torch.no_grad():
            for start in range(0, x.shape[1], batch_size):
                drawn.clear()
                batch_spikes.clear()
                logits.append(twin(x[:, start:start + batch_size].double())[-1].numpy())
                for k, spikes in enumerate(batch_spikes):
                    step, image, neuron = np.nonzero(spikes.flatten(2).numpy())
                    codes[k].append(spike_codes(step, image + start, neuron, steps, spikes.flatten(2).shape[2]))
                    if noisy:
                        draws[k].append(np.stack(drawn[k * steps:(k + 1) * steps]))
    finally:
        noise_module.unit_gaussian = unit_gaussian
        for hook in hooks:
            hook.remove()
    return Reference([np.sort(np.concatenate(parts)) for parts in codes], np.concatenate(logits),
                     [np.concatenate(parts, axis=1) for parts in draws] if noisy else None)


def spike_codes(step: np.ndarray, image: np.ndarray, neuron: np.ndarray, steps: int, size: int) -> np.ndarray:
    """One integer per spike (its global step and neuron), sorted."""
    return np.sort((image.astype(np.int64) * steps + step) * size + neuron)


def compare(net, x: torch.Tensor, coding: str, device: str = "runtime", *, directory=None,
            target: str = "numpy", chunk: int | None = None) -> dict:
    """Brian2 against the float64 PyTorch forward pass on the coded inputs ``x`` ``(steps, batch, *shape)``
    (direct coding: the image repeated; Poisson: its signed spikes): ``brian2_images``,
    ``brian2_spike_mismatches`` (spikes, over all layers, steps and images, that one simulator has and the other
    not), the spike totals, ``brian2_prediction_mismatches``, ``brian2_max_abs_logit_diff``, per layer the
    same, and the device and wall times. ``device``: 'runtime' (code generation ``target``) or 'cpp'; a noise
    network runs on the runtime device whatever is asked, ``chunk`` images at a time (default 100; others all
    at once unless given)."""
    start = time.perf_counter()
    steps, n_images = x.shape[:2]
    the_stages = stages(net)
    if any(stage.noise is not None for stage in the_stages):
        device, chunk = "runtime", chunk or 100
    chunk = chunk or n_images
    directory = lif._directory(device, directory)
    sizes = [stage.size for stage in the_stages if stage.kind == "spiking"]
    layers = [{"spikes_brian2": 0, "spikes_torch": 0, "spike_mismatches": 0} for _ in sizes]
    predictions, max_diff, run_seconds = 0, 0.0, 0.0
    for first in range(0, n_images, chunk):
        part = x[:, first:first + chunk]
        truth = reference(net, part)
        inputs = part[0].double().numpy() if coding == "direct" else part.double().numpy()
        with lif._session(device, directory, target):
            built = build(the_stages, inputs, coding, steps, truth.draws)
            run_start = time.perf_counter()
            built.network.run(built.duration, namespace=built.namespace)
            if is_standalone(device):
                build_standalone(directory, run=True, compile=True)
                from brian2 import get_device
                run_seconds += get_device().timers["run_binary"]
            else:
                run_seconds += time.perf_counter() - run_start
            for layer, monitor, size, theirs in zip(layers, built.spike_monitors, sizes, truth.codes):
                g = np.round(np.asarray(monitor.t_) * 1000).astype(np.int64)
                ours = spike_codes(g % steps, g // steps, np.asarray(monitor.i[:]), steps, size)
                layer["spikes_brian2"] += int(len(ours))
                layer["spikes_torch"] += int(len(theirs))
                layer["spike_mismatches"] += int(len(np.setxor1d(ours, theirs, assume_unique=True)))
            potential = np.asarray(built.output_monitor.u[:])  # (classes, images * steps)
        brian2_logits = potential[:, steps - 1::steps].T
        predictions += int((brian2_logits.argmax(1) != truth.logits.argmax(1)).sum())
        max_diff = max(max_diff, float(np.abs(brian2_logits - truth.logits).max()))
    return dict(brian2_images=int(n_images),
                brian2_spike_mismatches=sum(layer["spike_mismatches"] for layer in layers),
                brian2_spikes=sum(layer["spikes_brian2"] for layer in layers),
                brian2_spikes_torch=sum(layer["spikes_torch"] for layer in layers),
                brian2_prediction_mismatches=predictions, brian2_max_abs_logit_diff=max_diff,
                brian2_layers=layers, brian2_device=device, brian2_seconds=time.perf_counter() - start,
                brian2_run_seconds=run_seconds)
