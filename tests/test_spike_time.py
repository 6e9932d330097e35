"""Exact spike times and BATS / Fast & Deep gradients (brainnets.spike_time; Bacho 2023, ch. 3)."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from brainnets.config import read_toml
from brainnets.spike_time import bats
from brainnets.spike_time.bats import spike_layer
from brainnets.spike_time.encoding import encode_ttfs
from brainnets.spike_time.gradcheck import check_against_finite_differences, linear_in_times, two_layer_problem
from brainnets.spike_time.forward import simulate_layer, simulate_layer_torch
from brainnets.spike_time.losses import SpikeCount, spike_count_loss, ttfs_cross_entropy
from brainnets.spike_time.network import SpikingFC, accuracy, image_inputs, train_epoch
from brainnets.spike_time.neuron import Neuron, potential
from brainnets.spike_time.reference import brian2_spikes

NEURON = Neuron(tau_s=0.1, threshold=0.05)


def single_input_spikes(w: float, t0: float, neuron: Neuron, n: int) -> list[float]:
    """Hand-made: one input at ``t0``, so ``a = w e^{t0/tau_s}``, ``b = w e^{t0/tau}`` minus the resets."""
    a, b, times = w * math.exp(t0 / neuron.tau_s), w * math.exp(t0 / neuron.tau), [t0]
    while len(times) <= n and a > 0 and b > 0 and b * b >= 4 * a * neuron.threshold:
        exp_tau = 2 * a / (b + math.sqrt(b * b - 4 * a * neuron.threshold))
        if neuron.tau * math.log(exp_tau) <= times[-1]:
            break
        times.append(neuron.tau * math.log(exp_tau))
        b -= neuron.delta * exp_tau
    return times[1:]


def clock_simulation(steps_in: np.ndarray, weight: np.ndarray, neuron: Neuron, dt: float, n_steps: int):
    """Brute force on a grid of ``dt``: inputs (step indices, -1 = none) kick the current at their step, the state
    is propagated exactly from step to step, and a neuron whose potential is at threshold at a step spikes there and
    drops by Δ. Spike lists per (sample, neuron)."""
    batch, n_in, _ = steps_in.shape
    drive = np.zeros((n_steps, batch, weight.shape[0]))
    for sample, j, step in zip(*np.nonzero(steps_in >= 0)):
        drive[steps_in[sample, j, step], sample] += weight[:, j]
    decay_m, decay_s = math.exp(-dt / neuron.tau), math.exp(-dt / neuron.tau_s)
    u, current = np.zeros(drive.shape[1:]), np.zeros(drive.shape[1:])
    spikes = [[[] for _ in range(weight.shape[0])] for _ in range(batch)]
    for m in range(n_steps):
        u = u * decay_m + current * (decay_m - decay_s)
        current = current * decay_s + drive[m]
        fired = u >= neuron.threshold
        u -= neuron.delta * fired
        for sample, i in zip(*np.nonzero(fired)):
            spikes[sample][i].append(m * dt)
    return spikes


def finite(times: torch.Tensor) -> np.ndarray:
    return times[torch.isfinite(times)].numpy()


# ---------------------------------------------------------------------------------------------------------
# The neuron and its exact forward pass


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_single_input_matches_closed_form(dtype, tol):
    weights = torch.tensor([[0.15], [0.5], [3.0], [-1.0]], dtype=torch.float64)
    run = simulate_layer(torch.tensor([[[0.02]]], dtype=dtype), weights.to(dtype), NEURON, n_max=50)
    assert not run.overflow.any()
    for row, w in zip(run.times[0], weights[:, 0].tolist()):
        expected = single_input_spikes(w, 0.02, NEURON, 50)
        np.testing.assert_allclose(finite(row), expected, rtol=0, atol=tol)
    # below the kernel's peak (w/4 < threshold) or inhibitory: silent; above: the first spike is Eq. 68 with one input
    assert run.counts[0].tolist()[0] == 0 and run.counts[0].tolist()[3] == 0
    first = 0.02 + NEURON.tau * math.log(2 / (1 + math.sqrt(1 - 4 * NEURON.threshold / 0.5)))
    assert abs(float(run.times[0, 1, 0]) - first) < tol


def random_layer(rng, batch=2, n_in=10, k_in=2, n=8, mean=0.1, std=0.3, dt=1e-5):
    steps = rng.integers(0, int(0.1 / dt), size=(batch, n_in, k_in))
    return steps, rng.normal(mean, std, size=(n, n_in))


def test_spikes_are_threshold_crossings(rng):
    steps, weight = random_layer(rng)
    in_times = torch.from_numpy(steps * 1e-5)
    run = simulate_layer(in_times, torch.from_numpy(weight), NEURON, n_max=100)
    assert run.counts.sum() > 20 and not run.overflow.any()
    for sample in range(2):
        for i in range(weight.shape[0]):
            out = finite(run.times[sample, i])
            if len(out):
                u = potential(out, in_times[sample].numpy(), weight[i], out, NEURON)
                np.testing.assert_allclose(u, NEURON.threshold, atol=1e-10)


def test_matches_time_stepped_simulation(rng):
    """Grid-aligned inputs: a first spike is detected on the grid at most one step late; later spikes inherit
    the grid's late resets (a few steps; bacho.md §7.4); the counts agree, and the error is O(dt)."""
    duration, coarse = 0.2, 1e-4
    steps, weight = random_layer(rng, dt=coarse)
    run = simulate_layer(torch.from_numpy(steps * coarse), torch.from_numpy(weight), NEURON, 100, duration)
    mean_error = []
    for refine in (1, 10):
        dt = coarse / refine
        reference = clock_simulation(steps * refine, weight, NEURON, dt, round(duration / dt))
        first, every = [], []
        for sample in range(steps.shape[0]):
            for i in range(weight.shape[0]):
                exact, clock = finite(run.times[sample, i]), np.array(reference[sample][i])
                assert len(exact) == len(clock)
                if len(exact):
                    first.append(clock[0] - exact[0])
                    every.extend(clock - exact)
        assert len(every) > 100
        assert 0 <= min(first) and max(first) < dt
        assert np.abs(every).max() < 5 * dt
        mean_error.append(np.abs(every).mean())
    assert 5 < mean_error[0] / mean_error[1] < 20


def test_matches_brian2(rng, numpy_runtime):
    """The clock-driven Brian2 model of :mod:`brainnets.spike_time.reference` at dt = 10 µs (bats' own tests use
    Brian2 as ground truth): the same counts, first spikes at most one step late, every spike within a few steps."""
    dt, duration = 1e-5, 0.2
    steps, weight = random_layer(rng, batch=1, dt=dt)
    in_times = steps[0] * dt
    run = simulate_layer(torch.from_numpy(in_times)[None], torch.from_numpy(weight), NEURON, 100, duration)
    reference = brian2_spikes(in_times, weight, NEURON, dt, duration)
    first, every = [], []
    for i, clock in enumerate(reference):
        exact = finite(run.times[0, i])
        assert len(exact) == len(clock)
        if len(exact):
            first.append(clock[0] - exact[0])
            every.extend(clock - exact)
    assert len(every) > 30
    assert 0 <= min(first) and max(first) < dt
    assert np.abs(every).max() < 5 * dt


def test_float32_matches_float64(rng):
    steps, weight = random_layer(rng)
    runs = [simulate_layer(torch.from_numpy(steps * 1e-5).to(dtype), torch.from_numpy(weight).to(dtype), NEURON, 100)
            for dtype in (torch.float64, torch.float32)]
    assert torch.equal(runs[0].counts, runs[1].counts)
    both = torch.isfinite(runs[0].times)
    assert (runs[0].times[both] - runs[1].times[both].double()).abs().max() < 1e-5


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_loop_equals_torch_loop(rng, dtype):
    """The CPU kernel and the vectorised torch loop (other devices) apply one rule: the same spikes, patterns and
    overflows; the kernel computes in float64 (the torch loop in float32 for float32 inputs)."""
    steps, weight = random_layer(rng, batch=3, n=20, mean=0.2, std=0.5)
    in_times, weight = torch.from_numpy(steps * 1e-5).to(dtype), torch.from_numpy(weight).to(dtype)
    compiled, vectorised = simulate_layer(in_times, weight, NEURON, 6), simulate_layer_torch(in_times, weight, NEURON, 6)
    assert compiled.counts.sum() > 100 and compiled.overflow.any()
    assert torch.equal(compiled.overflow, vectorised.overflow) and torch.equal(compiled.events, vectorised.events)
    tolerance = 1e-15 if dtype == torch.float64 else 1e-5
    for key in ("times", "a", "x", "exp_tau"):
        mine, theirs = getattr(compiled, key), getattr(vectorised, key)
        assert torch.equal(torch.isfinite(mine), torch.isfinite(theirs))
        both = torch.isfinite(theirs)
        assert ((mine[both] - theirs[both]).abs() <= tolerance * theirs[both].abs().clamp(min=1)).all(), key


def test_overflow_is_counted_not_hidden(rng):
    steps, weight = random_layer(rng, mean=0.3, std=0.6)
    in_times, weight = torch.from_numpy(steps * 1e-5), torch.from_numpy(weight)
    full = simulate_layer(in_times, weight, NEURON, 200)
    short = simulate_layer(in_times, weight, NEURON, 5)
    assert not full.overflow.any()
    assert torch.equal(short.overflow, full.counts > 5) and short.overflow.any()
    assert torch.equal(short.times, full.times[..., :5])


def test_silent_inputs_give_silent_layers_and_zero_gradients():
    weight = torch.ones(4, 3, dtype=torch.float64, requires_grad=True)
    hidden = spike_layer(torch.full((2, 3, 1), math.inf, dtype=torch.float64), weight, NEURON, 3)
    output = spike_layer(hidden.times, torch.ones(2, 4, dtype=torch.float64), NEURON, 2)
    assert hidden.counts.sum() == 0 and output.counts.sum() == 0
    torch.where(torch.isfinite(output.times), output.times, 0).sum().backward()
    assert torch.equal(weight.grad, torch.zeros_like(weight))


def test_ttfs_encoding():
    times = encode_ttfs(np.array([[[0, 255], [51, 1]]], dtype=np.uint8), window=0.1)
    assert times.shape == (1, 4, 1)
    np.testing.assert_allclose(times[0, :, 0].numpy(), [math.inf, 0.0, 0.08, 0.1 * 254 / 255])


# ---------------------------------------------------------------------------------------------------------
# BATS and Fast & Deep gradients against central finite differences (float64)


@pytest.mark.parametrize("seed", [0, 1])
def test_bats_gradient_multi_spike(seed):
    parameters, forward = two_layer_problem(seed, n_max=20)
    output, (h_events, o_events, h_over, o_over) = forward(*parameters)
    assert (h_events > 0).sum(-1).max() >= 5 and (o_events > 0).sum(-1).max() >= 3  # several spikes per neuron
    worst, checked, skipped = check_against_finite_differences(parameters, forward, linear_in_times(seed))
    assert checked >= 0.9 * (checked + skipped)
    assert worst < 1e-6


def test_intra_neuron_term_is_needed(monkeypatch):
    """Without the reset recursion (Eqs. 86-89) the multi-spike gradient is wrong (bacho.md §7.5: 13.5 %)."""
    exact_backward = bats.backward
    monkeypatch.setattr(bats, "backward", lambda run, grad, weight, shape, neuron, to_inputs:
                        exact_backward(run, grad, weight, shape, dataclasses.replace(neuron, reset=0.0), to_inputs))
    parameters, forward = two_layer_problem(0, n_max=20)
    worst, _, _ = check_against_finite_differences(parameters, forward, linear_in_times(0))
    assert worst > 0.05


def test_spike_count_loss_backpropagates_its_errors_exactly():
    """The count loss is piecewise constant; its gradient is, by the thesis' convention, the exact gradient of
    sum_o sum_k (ŷ_o - n_o) t_o^k / batch with the errors held fixed (which the test above checks against FD)."""
    parameters, forward = two_layer_problem(2, n_max=20)
    labels = torch.tensor([1, 3])
    targets = torch.tensor([[1.0, 6.0, 1.0, 1.0], [1.0, 1.0, 1.0, 6.0]], dtype=torch.float64)
    grads = []
    for loss_fn in (lambda out: spike_count_loss(out, labels, 6.0, 1.0),
                    lambda out: torch.where(torch.isfinite(out.times),
                                            (targets - out.counts)[..., None] * out.times, 0).sum() / 2):
        leaves = [p.clone().requires_grad_() for p in parameters]
        loss_fn(forward(*leaves)[0]).backward()
        grads.append([p.grad for p in leaves])
    assert grads[0][1].abs().max() > 0
    for count_grad, linear_grad in zip(*grads):
        torch.testing.assert_close(count_grad, linear_grad, rtol=1e-12, atol=1e-12)


def test_fast_and_deep_gradient():
    parameters, forward = two_layer_problem(3, n_max=1, k_in=1)
    output, _ = forward(*parameters)
    assert torch.isfinite(output.times).sum() >= 6  # the silent ones sit at the end of the simulation: no gradient
    labels = torch.tensor([0, 2])
    worst, checked, _ = check_against_finite_differences(
        parameters, forward, lambda out: ttfs_cross_entropy(out, labels, tau_loss=0.005, duration=1.0))
    assert checked > 40 and worst < 1e-6


def test_loss_errors_follow_the_thesis():
    times = torch.tensor([[[0.1, 0.2, math.inf], [0.05, math.inf, math.inf], [math.inf] * 3]],
                         dtype=torch.float64, requires_grad=True)
    out = type("Out", (), {"times": times})
    # spike count: every spike of o gets -dL/dn_o = (target - n_o), silent neurons nothing
    spike_count_loss(out, torch.tensor([0]), 5.0, 1.0).backward()
    np.testing.assert_array_equal(times.grad[0].numpy(), [[3, 3, 0], [0, 0, 0], [0, 0, 0]])
    assert float(SpikeCount.apply(times).sum()) == 3
    # TTFS: dL/dt_o = (y_o - softmax_o)/tau_L on first spikes, the silent neuron none
    times.grad = None
    ttfs_cross_entropy(out, torch.tensor([1]), tau_loss=0.005, duration=1.0).backward()
    softmax = torch.softmax(-torch.tensor([0.1, 0.05, 1.0], dtype=torch.float64) / 0.005, 0)
    np.testing.assert_allclose(times.grad[0, :2, 0].numpy(), ((torch.tensor([0.0, 1.0]) - softmax[:2]) / 0.005).numpy())
    assert times.grad[0, 2].abs().sum() == 0 and times.grad[0, :, 1:].abs().sum() == 0


# ---------------------------------------------------------------------------------------------------------
# Constants


def test_model_constants():
    config = read_toml("bacho2024_bats")
    assert config["encoding"]["window"] == 0.1
    for name in ("mnist_bats", "mnist_fast_deep", "emnist_bats", "fashion_mnist_bats"):
        section = config[name]
        assert section["tau"] == pytest.approx(2 * section["tau_s"])
        assert len(section["thresholds"]) == len(section["n_max"]) == len(section["hidden"]) + 1
    assert config["mnist_bats"]["n_max"] == [30, 30] and config["mnist_fast_deep"]["n_max"] == [1, 1]
    assert Neuron.from_bats(0.13, 0.2).threshold == pytest.approx(0.2 / 0.26)


# ---------------------------------------------------------------------------------------------------------
# Training


@pytest.mark.slow
def test_bats_learns_mnist(mnist_train, mnist_test, torch_one_thread):
    """BATS 800-10 with the thesis' MNIST constants, one epoch on 2,000 images (40 Adam steps, float32):
    far above chance on 1,000 test images (measured: 72.8 %; 60-90 s on two shared cores)."""
    config = read_toml("bacho2024_bats")
    section = config["mnist_bats"]
    x, y = image_inputs(mnist_train.images[:2000], mnist_train.labels[:2000], config["encoding"], torch.float32)
    x_test, y_test = image_inputs(mnist_test.images[:1000], mnist_test.labels[:1000], config["encoding"],
                                  torch.float32)
    generator = torch.Generator().manual_seed(0)
    net = SpikingFC.from_config(section, 784, 10, generator=generator, dtype=torch.float32)
    adam = config["adam"]
    optimizer = torch.optim.Adam(net.parameters(), lr=section["lr"], betas=(adam["beta1"], adam["beta2"]),
                                 eps=adam["eps"])
    history = train_epoch(net, optimizer, section, x, y, section["batch_size"], generator)
    assert history["overflow"] < 0.01
    assert accuracy(net, section, x_test, y_test, batch_size=100) > 0.5


@pytest.mark.parametrize("to_inputs", [True, False])
def test_compiled_event_sums_equal_torch_sums(rng, to_inputs):
    """The CPU loops and the torch cumulative sums of the backward pass (other devices) give the same gradients."""
    steps, weight = random_layer(rng, batch=3, n=12, mean=0.2, std=0.5)
    in_times, weight = torch.from_numpy(steps * 1e-5), torch.from_numpy(weight)
    run = simulate_layer(in_times, weight, NEURON, 8)
    errors = [torch.from_numpy(rng.normal(size=run.times.shape)) * torch.isfinite(run.times) for _ in range(2)]
    compiled = bats.event_sums_compiled(run, *errors, weight, 2, NEURON, to_inputs)
    vectorised = bats.event_sums_torch(run, *errors, weight, 2, NEURON, to_inputs)
    assert run.counts.sum() > 50
    for mine, theirs in zip(compiled, vectorised):
        if theirs is None:
            assert mine is None
        else:
            torch.testing.assert_close(mine, theirs, rtol=1e-12, atol=1e-12)
