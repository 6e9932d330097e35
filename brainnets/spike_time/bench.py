"""Training speed of BATS against time-stepped surrogate-gradient training in snnTorch, side by side (issue 27).

Both train the same 784-800-10 network on the same MNIST images with the same input coding (TTFS, window
0.1 s), simulation length (0.2 s), weights' initialisation (U(-1, 1)), spike-count targets (15 / 3), Adam
(lr 0.003), batch size (50), dtype and thread count:

* BATS: this package's exact spike-time training as it is (:func:`.network.train_epoch` on
  :meth:`.network.SpikingFC.from_config` of ``bacho2024_bats.toml [mnist_bats]``).
* snnTorch: what a user would pick instead: ``snntorch.Synaptic`` neurons (current-based LIF, the closest to
  BATS's neuron) stepped at ``dt`` = 1 ms (200 steps), the input spikes on that grid, a fast-sigmoid surrogate
  gradient and snnTorch's spike-count MSE loss, backpropagated through time.

Each side trains one warm-up batch (not timed: first-call allocations), then the remaining full batches under
the clock, the two taking turns at each batch; the speed is training images per second.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from torch import nn

from ..config import read_toml
from .kernel import threads_set
from .network import SpikingFC, image_inputs, train_epoch

MODEL_FILE = "bacho2024_bats"
SECTION = "mnist_bats"
SLOPE = 25.0  # snntorch.surrogate.fast_sigmoid's default


def settings() -> tuple[dict, dict]:
    """The ``[mnist_bats]`` section and the whole ``bacho2024_bats.toml`` configuration."""
    config = read_toml(MODEL_FILE)
    return config[SECTION], config


def available_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def adam(params, section: dict, config: dict) -> torch.optim.Adam:
    """Adam with the section's learning rate and the configuration's betas and eps (Bacho 2023, Sec 3.6.5)."""
    betas = (config["adam"]["beta1"], config["adam"]["beta2"])
    return torch.optim.Adam(params, lr=section["lr"], betas=betas, eps=config["adam"]["eps"])


def batches(n: int, batch_size: int) -> list[torch.Tensor]:
    """The indices of the full batches of ``n`` images, in order: the first is the warm-up."""
    if n < 2 * batch_size:
        raise ValueError(f"{n} images: need more than one batch of {batch_size} (the first is a warm-up)")
    return list(torch.arange(n // batch_size * batch_size).split(batch_size))


def timed(trainers: dict, batch_indices: list[torch.Tensor]) -> dict:
    """Each ``trainers[name](indices) -> hits`` on the warm-up batch, then timed batch by batch on the others,
    the trainers taking turns at each batch, so that bursts of other processes on a shared machine fall on all
    of them alike. Per name: images timed, seconds, images per second (all batches), that of the median batch
    (robust to such bursts) and the training accuracy of the timed batches."""
    for train_batch in trainers.values():
        train_batch(batch_indices[0])
    seconds = {name: [] for name in trainers}
    hits = dict.fromkeys(trainers, 0)
    for indices in batch_indices[1:]:
        for name, train_batch in trainers.items():
            start = time.perf_counter()
            hits[name] += train_batch(indices)
            seconds[name].append(time.perf_counter() - start)
    n_images = sum(len(indices) for indices in batch_indices[1:])
    return {name: {"images": n_images, "seconds": sum(seconds[name]),
                   "images_per_second": n_images / sum(seconds[name]),
                   "median_batch_images_per_second": len(batch_indices[1]) / float(np.median(seconds[name])),
                   "training_accuracy": hits[name] / n_images}
            for name in trainers}


# ---------------------------------------------------------------------------------------------------------
# BATS


def bats_trainer(images: np.ndarray, labels: np.ndarray, dtype: torch.dtype = torch.float32, seed: int = 0):
    """``train_batch(indices) -> hits``: the package's ``train_epoch`` of a fresh BATS net on the batch
    ``indices`` of ``images`` (n, 28, 28) uint8; the number of correct predictions before its update."""
    section, config = settings()
    x, y = image_inputs(images, labels, config["encoding"], dtype)
    generator = torch.Generator().manual_seed(seed)
    net = SpikingFC.from_config(section, x.shape[1], 10, generator=generator, dtype=dtype)
    optimizer = adam(net.parameters(), section, config)

    def train_batch(indices):
        history = train_epoch(net, optimizer, section, x[indices], y[indices], len(indices), generator)
        return round(history["accuracy"] * len(indices))

    return train_batch


def bats_training(images: np.ndarray, labels: np.ndarray, dtype: torch.dtype = torch.float32,
                  seed: int = 0) -> dict:
    """BATS training speed on ``images`` (n, 28, 28) uint8: each full batch in order, the first a warm-up; the
    keys of :func:`timed`."""
    batch_indices = batches(len(images), settings()[0]["batch_size"])
    return timed({"bats": bats_trainer(images, labels, dtype, seed)}, batch_indices)["bats"]


# ---------------------------------------------------------------------------------------------------------
# snnTorch


def spike_tensor(in_times: torch.Tensor, dt: float, steps: int) -> torch.Tensor:
    """(steps, n, inputs) 0/1 input spikes on the grid of ``dt`` of the spike times ``in_times`` (n, inputs, k;
    inf = none): each at its nearest step, those at or after ``steps`` dropped."""
    n, n_in, _ = in_times.shape
    step = torch.round(in_times / dt)
    sample, neuron, slot = torch.nonzero(torch.isfinite(step) & (step < steps), as_tuple=True)
    spikes = torch.zeros(steps, n, n_in, dtype=in_times.dtype)
    spikes[step[sample, neuron, slot].long(), sample, neuron] = 1
    return spikes


class SynapticNet(nn.Module):
    """A fully connected net of ``snntorch.Synaptic`` neurons stepped at ``dt``: per step ``syn <- alpha syn +
    dt W s``, ``mem <- beta mem + syn``, a spike where ``mem`` exceeds the layer's threshold and a subtractive
    reset by it at the next step, with ``alpha = exp(-dt/tau_s)``, ``beta = exp(-dt/tau)``.

    The input currents are scaled by ``dt`` so that ``mem`` is the bats/Brian2 potential (du/dt = -u/tau + v,
    v += w per input) to O(dt), and the weights, their initialisation and the thresholds are BATS's, unchanged."""

    def __init__(self, sizes: list[int], thresholds: list[float], tau_s: float, tau: float, dt: float,
                 init: tuple[float, float] = (-1.0, 1.0), slope: float = SLOPE,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        import snntorch
        from snntorch import surrogate

        super().__init__()
        low, high = init
        self.dt = dt
        self.fc = nn.ModuleList(nn.Linear(n_in, n_out, bias=False, dtype=dtype)
                                for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for fc in self.fc:
                fc.weight.copy_(torch.rand(fc.weight.shape, generator=generator, dtype=dtype) * (high - low) + low)
        self.lif = nn.ModuleList(
            snntorch.Synaptic(alpha=math.exp(-dt / tau_s), beta=math.exp(-dt / tau), threshold=theta,
                              spike_grad=surrogate.fast_sigmoid(slope=slope), reset_mechanism="subtract")
            for theta in thresholds)

    @classmethod
    def from_config(cls, section: dict, n_inputs: int, n_classes: int, dt: float, **kwargs) -> "SynapticNet":
        """The net of a BATS model section (sizes, tau_s, tau, thresholds, init) stepped at ``dt``."""
        sizes = [n_inputs, *section["hidden"], n_classes]
        return cls(sizes, section["thresholds"], section["tau_s"], section["tau"], dt, tuple(section["init"]),
                   **kwargs)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """(steps, batch, outputs) output spikes of the (steps, batch, inputs) input spikes."""
        # The first layer's input does not depend on the state: one matmul for all steps instead of one per step.
        first = self.fc[0](spikes) * self.dt
        # Fresh zero states: Synaptic otherwise carries its state (and graph) over from the previous batch.
        state = [lif.reset_mem() for lif in self.lif]
        out = []
        for current in first:
            for layer, lif in enumerate(self.lif):
                if layer:
                    current = self.fc[layer](current) * self.dt
                current, *state[layer] = lif(current, *state[layer])
            out.append(current)
        return torch.stack(out)


def count_loss(section: dict, steps: int):
    """snnTorch's ``mse_count_loss`` with BATS's target counts. Its targets are ``int(steps * rate)`` and its
    value is the mean over the batch and classes of the squared count error, divided by ``steps``: BATS's loss
    (half the sum over classes, batch mean) times 2 / (classes * steps), a constant factor Adam's steps ignore."""
    import snntorch.functional as sf

    # Half a count above the target, so that int() truncation gives the target whatever the rounding.
    return sf.mse_count_loss(correct_rate=(section["target_true"] + 0.5) / steps,
                             incorrect_rate=(section["target_false"] + 0.5) / steps)


def snntorch_trainer(images: np.ndarray, labels: np.ndarray, dt: float = 1e-3, steps: int | None = None,
                     dtype: torch.dtype = torch.float32, slope: float = SLOPE, seed: int = 0):
    """``train_batch(indices) -> hits``: one Adam step of BPTT through a fresh :class:`SynapticNet` on the batch
    ``indices`` of ``images`` (n, 28, 28) uint8 on the grid of ``dt`` (``steps`` steps, default BATS's duration
    / ``dt``); the number of correct predictions (most output spikes) before its update."""
    section, config = settings()
    steps = steps or round(section["duration"] / dt)
    x, y = image_inputs(images, labels, config["encoding"], dtype)
    spikes = spike_tensor(x, dt, steps)
    generator = torch.Generator().manual_seed(seed)
    net = SynapticNet.from_config(section, x.shape[1], 10, dt, slope=slope, generator=generator, dtype=dtype)
    optimizer = adam(net.parameters(), section, config)
    loss_fn = count_loss(section, steps)

    def train_batch(indices):
        out = net(spikes[:, indices])
        loss = loss_fn(out, y[indices])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return int((out.sum(0).argmax(-1) == y[indices]).sum())

    return train_batch


def snntorch_training(images: np.ndarray, labels: np.ndarray, dt: float = 1e-3, steps: int | None = None,
                      batch_size: int | None = None, dtype: torch.dtype = torch.float32, slope: float = SLOPE,
                      seed: int = 0) -> dict:
    """Surrogate-gradient training speed of the same net in snnTorch on ``images`` (n, 28, 28) uint8: each full
    batch in order (``batch_size`` default BATS's), the first a warm-up; the keys of :func:`timed`."""
    batch_indices = batches(len(images), batch_size or settings()[0]["batch_size"])
    return timed({"snntorch": snntorch_trainer(images, labels, dt, steps, dtype, slope, seed)},
                 batch_indices)["snntorch"]


# ---------------------------------------------------------------------------------------------------------
# Side by side


def benchmark(images: np.ndarray, labels: np.ndarray, n_images: int, threads: int | None = None,
              dtype: torch.dtype = torch.float32, dt: float = 1e-3, bats_float64: bool = False,
              seed: int = 0) -> dict:
    """Both trainings on the same images in one run, taking turns at each batch (:func:`timed`): a warm-up
    batch, then ``n_images`` timed (rounded down to full batches), on ``threads`` torch threads (default: all
    cores) for both. Images per second of each, their ratio (BATS / snnTorch), the same of the median batch,
    each side's details (:func:`timed`), the settings and the versions; with ``bats_float64`` also BATS in
    float64."""
    import snntorch

    section, _ = settings()
    batch_size = section["batch_size"]
    n = batch_size + n_images // batch_size * batch_size
    if len(images) < n:
        raise ValueError(f"{len(images)} images: {n} needed ({n_images} timed and a warm-up batch)")
    images, labels = np.asarray(images)[:n], np.asarray(labels)[:n]
    steps = round(section["duration"] / dt)
    trainers = {"bats": bats_trainer(images, labels, dtype, seed),
                "snntorch": snntorch_trainer(images, labels, dt, steps, dtype, seed=seed)}
    if bats_float64:
        trainers["bats_float64"] = bats_trainer(images, labels, torch.float64, seed)
    with threads_set(threads or available_cores()):
        runs = timed(trainers, batches(n, batch_size))
        used_threads = torch.get_num_threads()
    bats, snn = runs["bats"], runs["snntorch"]
    report = {
        "bats_images_per_second": bats["images_per_second"],
        "snntorch_images_per_second": snn["images_per_second"],
        "ratio": bats["images_per_second"] / snn["images_per_second"],
        "median_batch_ratio": bats["median_batch_images_per_second"] / snn["median_batch_images_per_second"],
        "bats": bats,
        "snntorch": snn,
        "settings": {"images_timed": bats["images"], "warmup_images": batch_size, "batch_size": batch_size,
                     "dt": dt, "steps": steps, "duration": section["duration"], "threads": used_threads,
                     "dtype": str(dtype).removeprefix("torch."), "network": [784, *section["hidden"], 10],
                     "cores": available_cores(),
                     "snntorch_neuron": "snntorch.Synaptic (alpha = exp(-dt/tau_s), beta = exp(-dt/tau), "
                                        "subtractive reset, BATS's thresholds on currents scaled by dt)",
                     "snntorch_surrogate": f"snntorch.surrogate.fast_sigmoid(slope={SLOPE:g})",
                     "snntorch_loss": f"snntorch.functional.mse_count_loss (target counts {section['target_true']} "
                                      f"/ {section['target_false']})",
                     "snntorch_first_layer": "one matmul over all steps (its input does not depend on the state)"},
        "versions": {"torch": torch.__version__, "snntorch": snntorch.__version__},
    }
    if bats_float64:
        report["bats_float64_images_per_second"] = runs["bats_float64"]["images_per_second"]
        report["bats_float64"] = runs["bats_float64"]
    return report
