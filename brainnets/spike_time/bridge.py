"""The Brian2 bridge (issue 27): a :class:`.network.SpikingFC` re-simulated in Brian2 with exact spike times,
compared spike by spike with its PyTorch forward pass.

:func:`resimulate` runs the network's weights, neurons, ``n_max`` and ``duration`` on a batch of input times in
Brian2 (:mod:`brainnets.exact.srm`: the same neuron, its crossings found in closed form in every segment between
events, at most ``n_max`` spikes per neuron; all images in one run, C++ standalone by default) and returns each
layer's spike times shaped like the forward pass's. :func:`compare` puts them next to the float64 forward pass:
neurons whose spike counts differ, the largest time difference over matched spikes, per layer and in all.

Brian2 holds each neuron's state as the forward pass does (the coefficients of the closed form, in the
image's time), so the two agree to rounding, hair-trigger crossings included; what the comparison checks is
everything around the closed form, computed independently: the order of events and the segments between them,
inputs at equal times, the resets, the ``n_max`` stop, the chaining of layers and the spike times' bookkeeping.

The Brian2 grid only organises the work (a step's input events are sorted in a buffer, a neuron emits at most
one spike per step): the spike times do not depend on it. Two sizes follow from the forward pass, where they
are not given: the step (0.1 ms, halved until no neuron of the forward pass spikes twice within one step) and
each layer's buffer (the most distinct presynaptic spike times in one step). A Brian2 run that needs more (it
disagrees with the forward pass) raises instead of returning wrong times.

Cost (C++ standalone, the simulation on one core): 1,000 TTFS-coded MNIST test images through a 784-800-10 net
take about a minute with BATS' constants (0.2 s each, 2,000 steps of 0.1 ms; some 20 s of it code generation
and compilation) and under four minutes with Fast & Deep's (1 s each).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..exact import lif, srm
from .network import SpikingFC

#: The Brian2 step when the forward pass does not ask for a shorter one (s).
DT = 1e-4


def srm_layers(net: SpikingFC) -> list[srm.Layer]:
    """The network's layers for :mod:`brainnets.exact.srm` (ms; weights as (n_in, n))."""
    return [srm.Layer(weight.detach().to(torch.float64).cpu().numpy().T, neuron.tau_s * 1e3, neuron.threshold,
                      neuron.delta, n_max)
            for weight, neuron, n_max in zip(net.weights, net.neurons, net.n_max)]


def as_array(times) -> np.ndarray:
    """Spike times (s) as a float64 array."""
    if isinstance(times, torch.Tensor):
        return times.detach().to(torch.float64).cpu().numpy()
    return np.asarray(times, dtype=np.float64)


@torch.no_grad()
def forward(net: SpikingFC, in_times, batch_size: int = 250) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The float64 PyTorch forward pass of ``net`` (a float64 copy on the CPU, in batches): per layer the spike
    times (s) and the overflow flags."""
    net64 = copy.deepcopy(net).to("cpu", torch.float64)
    in_times = torch.as_tensor(as_array(in_times))
    runs = [net64(chunk) for chunk in in_times.split(batch_size)]
    times = [np.concatenate([as_array(run[k].times) for run in runs]) for k in range(len(net.weights))]
    overflow = [np.concatenate([run[k].overflow.cpu().numpy() for run in runs]) for k in range(len(net.weights))]
    return times, overflow


def _steps(times_s: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(image, neuron, step, time_ms)`` of every finite time of ``times_s`` (batch, n, k) on the Brian2 grid of
    ``dt`` (s)."""
    image, neuron, _ = np.nonzero(np.isfinite(times_s))
    t = times_s[np.isfinite(times_s)] * 1e3
    step, _ = lif.grid(t, dt * 1e3)
    return image, neuron, step, t


def spikes_twice_in_a_step(times_s: np.ndarray, dt: float) -> bool:
    """Whether some neuron of ``times_s`` (batch, n, n_max) spikes twice within one step of ``dt``."""
    image, neuron, step, _ = _steps(times_s, dt)
    keys = np.stack([image, neuron, step], axis=1)
    return len(np.unique(keys, axis=0)) < len(keys)


def buffer_slots(times_s: np.ndarray, dt: float) -> int:
    """The most distinct times of ``times_s`` (batch, n, k) within one step of one image."""
    image, _, step, t = _steps(times_s, dt)
    if image.size == 0:
        return 1
    distinct = np.unique(np.stack([image, step, t], axis=1), axis=0)
    return int(np.unique(distinct[:, :2], axis=0, return_counts=True)[1].max())


def grid_for(times: list[np.ndarray], dt: float | None) -> float:
    """``dt`` if given, else :data:`DT` halved until no neuron of ``times`` spikes twice within one step."""
    if dt is not None:
        return dt
    dt = DT
    while any(spikes_twice_in_a_step(t, dt) for t in times) and dt > 1e-9:
        dt /= 2
    return dt


@dataclass
class Resimulation:
    """Brian2's spike times (s; per layer (batch, n, n_max), inf = none) and overflow flags (per layer (batch,
    n)), with the grid and buffers it used, its wall time (building, compiling and running) and the time of the
    simulation alone."""
    times: list
    overflow: list
    dt: float
    n_slots: list
    device: str
    wall_seconds: float
    run_seconds: float


def resimulate(net: SpikingFC, in_times, dt: float | None = None, device: str = "cpp", *, n_slots=None,
               directory=None, details: bool = False, reference: list[np.ndarray] | None = None):
    """``net`` (its ``weights``, ``neurons``, ``n_max``, ``duration``) run by Brian2 on ``in_times`` (batch, n_in,
    k; s, inf = none): per layer the spike times (s) as an array shaped like the forward pass's ``times``
    (batch, n, n_max), or a :class:`Resimulation` if ``details``.

    ``device``: 'cpp' (C++ standalone, project in ``directory``, a temporary one by default) or 'runtime'
    (numpy; small networks). ``dt`` (s) and ``n_slots`` (per layer) size the grid and the buffers (see the
    module docstring); where not given they follow from ``reference``, the forward pass's times per layer
    (computed here if needed)."""
    start = time.perf_counter()
    if not np.isfinite(net.duration):
        raise ValueError("Brian2 simulates a finite duration: give the network one")
    in_times = as_array(in_times)
    if (dt is None or n_slots is None) and reference is None:
        reference = forward(net, in_times)[0]
    dt = grid_for(reference, dt) if dt is None else dt
    if n_slots is None:
        n_slots = [buffer_slots(t, dt) for t in [in_times, *reference[:-1]]]
    run = srm.simulate(srm_layers(net), in_times * 1e3, net.duration * 1e3, dt * 1e3, device, directory=directory,
                       n_slots=n_slots, details=True)
    times = [t * 1e-3 for t in run.times]
    if not details:
        return times
    return Resimulation(times, run.overflow, dt, run.n_slots, device, time.perf_counter() - start, run.run_seconds)


def layer_agreement(brian2: np.ndarray, torch_times: np.ndarray, duration: float) -> dict:
    """Spike by spike: neurons (over all images) whose counts differ, and the largest time difference over the
    spikes both have (the k-th spike of a neuron with the k-th), in s and relative to ``duration``."""
    both = np.isfinite(brian2) & np.isfinite(torch_times)
    dt = np.abs(brian2[both] - torch_times[both])
    max_dt = float(dt.max()) if dt.size else 0.0
    counts = np.isfinite(brian2).sum(-1), np.isfinite(torch_times).sum(-1)
    return dict(neurons=int(counts[0].size), count_mismatches=int((counts[0] != counts[1]).sum()),
                max_abs_dt=max_dt, max_abs_dt_rel=max_dt / duration, spikes_brian2=int(counts[0].sum()),
                spikes_torch=int(counts[1].sum()))


def compare(net: SpikingFC, in_times, dt: float | None = None, device: str = "cpp", *, directory=None,
            n_slots=None) -> dict:
    """Brian2 (:func:`resimulate`) against the float64 PyTorch forward pass on ``in_times`` (batch, n_in, k; s):
    ``brian2_images``, ``brian2_count_mismatches`` (neurons, over all layers and images, whose spike counts
    differ), ``brian2_max_abs_dt_rel`` (the largest ``|t_brian2 - t_torch|`` over matched spikes, divided by the
    duration), ``brian2_max_abs_dt`` (s), the spike totals, ``brian2_overflow_mismatches`` (neurons whose
    ``n_max`` overflow flags differ), ``brian2_layers`` (the same per layer), and the run's grid, buffers,
    device and wall time."""
    in_times = as_array(in_times)
    reference, reference_overflow = forward(net, in_times)
    run = resimulate(net, in_times, dt, device, n_slots=n_slots, directory=directory, details=True,
                     reference=reference)
    layers = [dict(layer_agreement(b, t, net.duration), overflow_mismatches=int((bo != to).sum()))
              for b, t, bo, to in zip(run.times, reference, run.overflow, reference_overflow)]
    total = {key: sum(layer[key] for layer in layers)
             for key in ("count_mismatches", "spikes_brian2", "spikes_torch", "overflow_mismatches")}
    max_dt = max(layer["max_abs_dt"] for layer in layers)
    return dict(brian2_images=len(in_times), brian2_count_mismatches=total["count_mismatches"],
                brian2_max_abs_dt_rel=max_dt / net.duration, brian2_max_abs_dt=max_dt,
                brian2_spikes=total["spikes_brian2"], brian2_spikes_torch=total["spikes_torch"],
                brian2_overflow_mismatches=total["overflow_mismatches"], brian2_layers=layers,
                brian2_dt=run.dt, brian2_n_slots=run.n_slots, brian2_device=device,
                brian2_seconds=run.wall_seconds, brian2_run_seconds=run.run_seconds)
