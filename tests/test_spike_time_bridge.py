"""The Brian2 bridge of the spike-time networks (brainnets.spike_time.bridge, on brainnets.exact.srm): Brian2's exact
re-simulation agrees with the PyTorch forward pass spike by spike, n_max overflows included."""
import math

import numpy as np
import pytest
import torch

from brainnets.exact import lif, srm
from brainnets.spike_time import bridge
from brainnets.spike_time.network import SpikingFC
from brainnets.spike_time.neuron import Neuron, potential

DT = 1e-4  # s


def random_net(seed=0, sizes=(20, 30, 5), n_max=(4, 3), duration=0.03, init=(-1.0, 1.0)):
    neurons = [Neuron(0.005, 0.3), Neuron(0.005, 0.5)]
    return SpikingFC(list(sizes), neurons, list(n_max), duration, init=init,
                     generator=torch.Generator().manual_seed(seed))


def random_inputs(seed=0, batch=3, n_in=20, k_in=2, window=0.02):
    """Random times with some silent inputs, several inputs at t = 0 and groups at a shared time."""
    g = torch.Generator().manual_seed(seed)
    times = torch.rand(batch, n_in, k_in, generator=g, dtype=torch.float64) * window
    times[torch.rand(batch, n_in, k_in, generator=g) < 0.2] = math.inf
    times[:, :4, 0] = 0.0
    times[:, 4:9, 1] = 0.0123
    return times


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_net_agrees_with_forward(seed, numpy_runtime, torch_one_thread):
    """Weights of both signs, inputs at identical times, neurons silent, firing and stopped at n_max: every
    spike count, overflow flag and spike time agrees."""
    net, x = random_net(seed), random_inputs(seed, batch=4)
    result = bridge.compare(net, x, DT, device="runtime")
    assert result["brian2_images"] == 4
    assert result["brian2_count_mismatches"] == 0 and result["brian2_overflow_mismatches"] == 0, result
    assert result["brian2_max_abs_dt"] <= 1e-12 and result["brian2_max_abs_dt_rel"] <= 1e-9, result
    torch_layers = net(x)
    hidden, out = (layer.counts.flatten() for layer in torch_layers)
    assert (hidden == 0).any() and (hidden == 4).any() and ((hidden > 0) & (hidden < 4)).any()
    assert (out > 0).any() and torch_layers[0].overflow.any()
    assert result["brian2_spikes"] == result["brian2_spikes_torch"] == int(hidden.sum() + out.sum()) >= 100
    assert [layer["count_mismatches"] for layer in result["brian2_layers"]] == [0, 0]
    assert result["brian2_n_slots"][0] == bridge.buffer_slots(x.numpy(), DT)


def test_single_spike_net_in_cpp_standalone(tmp_path, torch_one_thread):
    """Fast & Deep's n_max = 1, in C++ standalone (the bridge's default device), with the step and buffers
    chosen from the forward pass."""
    net, x = random_net(seed=1, n_max=(1, 1), init=(0.0, 1.0)), random_inputs(seed=1)
    run = bridge.resimulate(net, x, directory=tmp_path / "bridge", details=True)
    reference = net(x)
    for ours, theirs in zip(run.times, reference):
        assert ours.shape == theirs.times.shape
        np.testing.assert_array_equal(np.isfinite(ours), torch.isfinite(theirs.times).numpy())
        finite = np.isfinite(ours)
        np.testing.assert_allclose(ours[finite], theirs.times.detach().numpy()[finite], rtol=0, atol=1e-12)
    assert reference[0].overflow.any() and run.dt == bridge.DT


def one_neuron_net(weights, theta=0.5, tau_s=0.005, duration=0.05, n_max=3):
    net = SpikingFC([len(weights), 1], [Neuron(tau_s, theta)], [n_max], duration)
    with torch.no_grad():
        net.weights[0][:] = torch.tensor([weights], dtype=torch.float64)
    return net


def test_rise_and_fall_between_events_within_one_step(numpy_runtime):
    """One input lifts u just above threshold, near its peak, for a few microseconds: far shorter than a step,
    with u below threshold at both events and at every step's end. The crossing is found in closed form."""
    theta, tau = 0.5, 0.01
    net = one_neuron_net([4 * theta * (1 + 1e-6), -1.0])
    x = torch.tensor([[[0.0], [0.03]]], dtype=torch.float64)  # u peaks at tau ln 2 = 6.9 ms
    brian2 = bridge.resimulate(net, x, dt=2e-3, device="runtime")[0]
    expected = net(x)[0].times.detach().numpy()
    assert np.isfinite(expected).sum() == 1
    np.testing.assert_allclose(brian2, expected, rtol=0, atol=1e-12)
    step_ends = np.arange(1, 26) * 2e-3
    assert potential(step_ends, x[0].numpy(), np.array([4 * theta * (1 + 1e-6), -1.0]), np.array([]),
                     Neuron(tau / 2, theta)).max() < theta


def test_identical_times_share_a_slot(numpy_runtime):
    """Forty inputs at one time act together and take one buffer slot; their sum decides. Without the
    inhibition the neuron fires within microseconds of its last spike: the default step is halved."""
    net = one_neuron_net([0.5] * 20 + [-0.49] * 20, theta=0.04, duration=0.02)
    x = torch.full((2, 40, 1), 0.01, dtype=torch.float64)
    x[1, 20:] = math.inf
    run = bridge.resimulate(net, x, device="runtime", details=True)
    assert run.n_slots[0] == 1 and run.dt < bridge.DT
    reference = net(x)[0].times.detach().numpy()
    np.testing.assert_allclose(run.times[0], reference, rtol=0, atol=1e-12)
    assert 0 < np.isfinite(reference[0]).sum() < np.isfinite(reference[1]).sum()
    assert np.diff(reference[1, 0]).min() < bridge.DT


def test_two_spikes_in_one_step_and_a_full_buffer_are_refused(numpy_runtime):
    net, x = random_net(), random_inputs()
    with pytest.raises(lif.StepTooLong):
        bridge.resimulate(net, x, dt=5e-3, device="runtime")
    assert bridge.grid_for(bridge.forward(net, x)[0], None) == DT  # the default step needs no halving here
    with pytest.raises(RuntimeError, match="did not fit"):
        bridge.resimulate(net, x[:1], dt=DT, device="runtime", n_slots=[1, 1])


def test_brian2_spikes_are_threshold_crossings(numpy_runtime):
    """Independently of the PyTorch forward: at each of Brian2's spikes the potential of Eq. 62 reaches the
    threshold, and between them it stays below (checked on a fine grid)."""
    rng = np.random.default_rng(3)
    neuron = Neuron(0.005, 0.4)
    weights = rng.uniform(-0.5, 1.2, (12, 4))
    in_times = np.where(rng.random((1, 12, 3)) < 0.8, rng.uniform(0, 20, (1, 12, 3)), np.inf)  # ms
    layer = srm.Layer(weights, neuron.tau_s * 1e3, neuron.threshold, neuron.delta, 50)
    times = srm.simulate([layer], in_times, 30.0, 0.1)[0][0] * 1e-3
    grid = np.linspace(0, 0.03, 30001)
    assert np.isfinite(times).sum() >= 5
    for j in range(4):
        spikes = times[j][np.isfinite(times[j])]
        u = potential(np.r_[spikes, grid], in_times[0] * 1e-3, weights[:, j], spikes, neuron)
        np.testing.assert_allclose(u[:len(spikes)], neuron.threshold, atol=1e-12)
        assert u[len(spikes):].max() <= neuron.threshold + 1e-12


@pytest.mark.slow
def test_cpp_standalone_agrees_on_a_mnist_sized_net(tmp_path, torch_one_thread):
    """784-800-10 with the thesis' MNIST constants (random weights), 20 TTFS-coded random images, in C++
    standalone (a minute with the compilation)."""
    from brainnets.config import read_toml
    config = read_toml("bacho2024_bats")
    net = SpikingFC.from_config(config["mnist_bats"], 784, 10, generator=torch.Generator().manual_seed(0))
    rng = np.random.default_rng(0)
    pixels = np.where(rng.random((20, 784)) < 0.2, rng.integers(1, 256, (20, 784)), 0)
    x = torch.tensor(np.where(pixels > 0, config["encoding"]["window"] * (1 - pixels / 255), np.inf))[..., None]
    result = bridge.compare(net, x, directory=tmp_path / "bridge")
    assert result["brian2_count_mismatches"] == 0 and result["brian2_overflow_mismatches"] == 0, result
    assert result["brian2_max_abs_dt_rel"] <= 1e-9 and result["brian2_spikes"] > 1000, result


def test_the_group_potential_is_eq_62(numpy_runtime):
    """``u`` of the Brian2 group, as a StateMonitor sees it at every step of the second image, is Eq. 62 with
    the spikes Brian2 emitted."""
    from brian2 import StateMonitor, ms
    rng = np.random.default_rng(4)
    neuron = Neuron(0.005, 0.4)
    weights = rng.uniform(-0.5, 1.2, (12, 3))
    in_times = np.where(rng.random((2, 12, 2)) < 0.8, rng.uniform(0, 20, (2, 12, 2)), np.inf)  # ms
    layer = srm.Layer(weights, neuron.tau_s * 1e3, neuron.threshold, neuron.delta, 50)
    stack = srm.build_stack([layer], in_times, 30.0, 0.1)
    monitor = StateMonitor(stack.groups[0], "u", record=True)
    stack.network.add(monitor)
    stack.network.run(stack.duration, namespace=stack.namespace)
    times = srm.read_layer(stack.monitors[0], stack.overflows[0], 2, 3, 50, 300, 0.1)[0] * 1e-3
    second = np.arange(301, 600)  # the second image's steps (its first still shows the first image's end)
    t = (second - 300) * 1e-4
    assert np.isfinite(times[1]).sum() >= 3
    for j in range(3):
        expected = potential(t, in_times[1] * 1e-3, weights[:, j], times[1, j][np.isfinite(times[1, j])], neuron)
        np.testing.assert_allclose(monitor.u[j][second], expected, rtol=0, atol=1e-12)
        assert np.allclose(monitor.t[second] / ms, second * 0.1)
