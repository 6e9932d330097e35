"""Demo ``ttfs-timing``: a small ReLU network mapped exactly onto single-spike neurons, its timing diagram in Brian2.

Stanojevic et al. (2022): a ReLU neuron computes ``x_i = [sum_j w_ij x_j + b_i]_+``; its spiking image is a
non-leaky integrator that fires once, at ``t_i = t_max - x_i`` (times in units of tau_c):

    tau_c dV_i/dt = alpha H(t - t_ramp) + sum_j J_ij H(t - t_j),   spike when V_i = theta_i in [t_min, t_max]

An input spike adds a constant current J, so V is a ramp that bends at every input spike; after the last input
its slope no longer changes, and the mapping (:mod:`brainnets.ttfs.mapping`) chooses J and theta so that the
ramp meets the threshold exactly ``x_i`` before ``t_max`` (a neuron whose ReLU is 0 is forced to fire at
``t_max``). Each layer has its own window and its spikes drive the next layer's ramps. The network here is
drawn at random; the constants are ``models/stanojevic2023_ttfs.toml``'s. The potentials come from the Brian2
reference (:class:`~brainnets.ttfs.reference.ReferenceNetwork`, exact spike times), the truth from the closed
form (:func:`brainnets.ttfs.exact.simulate`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import StateMonitor, prefs

from ..exact.timing import on_device
from ..ttfs import exact, mapping
from ..ttfs.experiment import TTFSModel, compare, layer_rows
from ..ttfs.layers import Dense
from ..ttfs.reference import ReferenceNetwork
from ..ttfs.relu import HiddenLayer, ReLUNetwork
from ..ttfs.spec import SNNSpec
from .figures import new_figure

MODEL = "stanojevic2023_ttfs"
SIZES = (6, 5, 4, 3)  # inputs, two hidden layers, logits


def random_relu_network(rng: np.random.Generator, sizes: tuple[int, ...] = SIZES) -> ReLUNetwork:
    """A ReLU network with ``sizes`` (inputs, hidden layers..., logits), weights and biases drawn from ``rng``."""
    hidden = [HiddenLayer(Dense(rng.normal(0.1, 0.6, (n_out, n_in))), rng.normal(0.05, 0.1, n_out))
              for n_in, n_out in zip(sizes[:-2], sizes[1:-1])]
    return ReLUNetwork((sizes[0],), hidden, Dense(rng.normal(0, 0.6, (sizes[-1], sizes[-2]))),
                       rng.normal(0, 0.1, sizes[-1]), name="random")


def spiking_network(network: ReLUNetwork, calibration: np.ndarray, model: TTFSModel) -> tuple[ReLUNetwork, SNNSpec]:
    """The mapping of ``brainnets ttfs`` (ch. 2, constant slope): the rescaled ReLU network (the same function)
    and its spiking image, windows set from ``calibration`` inputs."""
    m = model.mapping
    pre = mapping.preprocess(network, calibration, delta=m.delta, b_low=m.b_low)
    lengths = mapping.window_lengths(pre.max_activations, m.zeta, m.grid)
    return pre.network, mapping.convert(pre.network, lengths, mapping="alpha", alpha=m.alpha)


@dataclass(frozen=True)
class Diagram:
    """One input's run: the potentials of every spiking layer (time in units of tau_c; (steps, neurons) each),
    the Brian2 spike times, the closed form's, and the ReLU activations."""

    t: np.ndarray
    potentials: list[np.ndarray]
    brian2: exact.SpikeTimes
    closed_form: exact.SpikeTimes
    activations: list[np.ndarray]
    logits: np.ndarray


def run_brian2(spec: SNNSpec, x: np.ndarray, model: TTFSModel,
               semantics: str = "exact") -> tuple[np.ndarray, list[np.ndarray], exact.SpikeTimes]:
    """The Brian2 reference of ``spec`` on inputs ``x`` (one row per image), with every layer's potential
    recorded: (time in units of tau_c, potentials per layer, spike times). ``semantics="clock"``: spikes on the
    time grid, without the exact-time correction."""
    ref = model.reference
    with on_device("runtime"):
        prefs.codegen.target = "numpy"
        network = ReferenceNetwork(spec, x, ref.dt, semantics=semantics, tau_c=ref.tau_c)
        monitors = [StateMonitor(group, "v", record=True) for group in network.groups]
        network.network.add(*monitors)
        network.run()
        t = np.asarray(monitors[0].t / ref.tau_c)
        return t, [np.asarray(m.v).T.copy() for m in monitors], network.read()


def timing_diagram(seed: int = 1, semantics: str = "exact") -> tuple[SNNSpec, Diagram]:
    """A random network, mapped, and one random input through it (Brian2 with ``semantics``): the spec and its
    :class:`Diagram`."""
    model = TTFSModel.load(MODEL)
    rng = np.random.default_rng(seed)
    relu, spec = spiking_network(random_relu_network(rng), rng.uniform(0, 1, (2000, SIZES[0])), model)
    x = rng.uniform(0, 1, (1, SIZES[0]))
    t, potentials, brian2_times = run_brian2(spec, x, model, semantics)
    activations, logits = relu.forward(x)
    return spec, Diagram(t, potentials, brian2_times, exact.simulate(spec, x), [a[0] for a in activations],
                         logits[0])


def plot_timing(spec: SNNSpec, diagram: Diagram):
    layers = layer_rows(spec, diagram.brian2)
    figure, axes = new_figure(len(layers), 1, size=(8, 2.3 * len(layers)), sharex=True)
    inputs = diagram.brian2.inputs[0]
    axes[0].axvspan(0, spec.input_window, color="0.93")
    axes[0].plot(inputs, np.arange(len(inputs)), "o", color="k")
    for j, t_j in enumerate(inputs):
        axes[0].annotate(f"x = {1 - t_j:.2f}", (t_j, j), xytext=(6, -3), textcoords="offset points", fontsize=7)
    axes[0].set_ylabel("input neuron")
    axes[0].set_title("Input spikes at t = 1 - x; each neuron's potential over its own threshold (dashed: 1)",
                      fontsize=10)
    for panel, layer, v, (name, t_min, t_max, times), values in zip(
            axes[1:], spec.layers, diagram.potentials, layers[1:], diagram.activations):
        panel.axvspan(t_min, t_max, color="0.93")
        panel.hlines(1, t_min, t_max, color="k", ls="--", lw=0.8)
        for i in range(layer.n):
            color = f"C{i}"
            panel.plot(diagram.t, v[:, i] / layer.theta[i], color=color, lw=1)
            forced = values[i] == 0
            panel.plot(times[0, i], 1, "s" if forced else "o", color=color, mfc="w" if forced else color,
                       label=f"ReLU {values[i]:.2f} -> t = {times[0, i]:.2f}" + (" (forced)" if forced else ""))
        panel.set_ylim(-0.25, 1.75)
        panel.set_ylabel(f"{name}\nV / theta")
        panel.legend(fontsize=7, loc="upper left", ncols=2)
    axes[-1].set_xlabel("time (units of tau_c); grey: each layer's window [t_min, t_max]")
    return figure


def plot_values(spec: SNNSpec, diagram: Diagram):
    """``t_max - t`` against the ReLU activation for every hidden neuron, and the readout's potentials at
    ``t_read`` against the ReLU network's logits: both on the identity."""
    figure, (hidden, readout) = new_figure(1, 2, size=(9, 4.2))
    for n, (layer, t, x) in enumerate(zip(spec.layers, diagram.brian2.layers, diagram.activations), start=1):
        hidden.plot(x, layer.t_max - t[0], "o", label=f"layer {n} (Brian2)")
        hidden.plot(x, layer.t_max - diagram.closed_form.layers[n - 1][0], "k+", ms=10,
                    label="closed form" if n == 1 else None)
    readout.plot(diagram.logits, diagram.brian2.logits[0], "o", color="C2", label="readout (Brian2)")
    readout.plot(diagram.logits, diagram.closed_form.logits[0], "k+", ms=10, label="closed form")
    for axes, values in ((hidden, np.concatenate(diagram.activations)), (readout, diagram.logits)):
        low, high = min(values.min(), 0), max(values.max(), 0.1)
        axes.plot([low, high], [low, high], color="0.6", lw=0.8, zorder=0, label="identity")
        axes.legend(fontsize=8)
    hidden.set_xlabel("ReLU activation x")
    hidden.set_ylabel("t_max - t (units of tau_c)")
    hidden.set_title("Hidden spike times code the ReLU values", fontsize=10)
    readout.set_xlabel("ReLU network's logit")
    readout.set_ylabel("readout potential at t_read")
    readout.set_title("The readout's potentials are the logits", fontsize=10)
    return figure


def agreement(spec: SNNSpec, diagram: Diagram) -> dict:
    """How far Brian2's spike times and logits lie from the closed form's (:func:`brainnets.ttfs.experiment.compare`),
    and the closed form's from the ReLU network's values."""
    checked = compare(spec, diagram.brian2, diagram.closed_form)
    relu_gap = max(float(np.abs(layer.t_max - t[0] - x).max())
                   for layer, t, x in zip(spec.layers, diagram.closed_form.layers, diagram.activations))
    logit_gap = float(np.abs(diagram.closed_form.logits[0] - diagram.logits).max())
    return {"brian2_vs_closed_form_max_dt_rel": checked["max_dt_rel"],
            "brian2_vs_closed_form_max_logit_difference": checked["max_logit_difference"],
            "closed_form_vs_relu_max_difference": relu_gap, "closed_form_vs_relu_max_logit_difference": logit_gap}


def ttfs_timing(seed: int = 1) -> dict:
    """Figures ``timing`` (the diagram) and ``values`` (spike times against ReLU activations)."""
    spec, diagram = timing_diagram(seed)
    return {"timing": plot_timing(spec, diagram), "values": plot_values(spec, diagram)}
