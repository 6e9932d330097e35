"""The Brian2 reference simulation reproduces the closed-form spike times; without its correction it does not."""
import numpy as np
import pytest

from brainnets.datasets import load_mnist
from brainnets.devices import use_device
from brainnets.ttfs import exact, mapping, reference
from brainnets.ttfs.layers import Dense
from brainnets.ttfs.relu import HiddenLayer, ReLUNetwork
from cuda_builds import compiles_cuda, ttfs_project
from ttfs_nets import one_neuron, small_convnet

DT = 2.0 ** -6


def test_calibration_an_input_neuron_fires_exactly_at_its_off_grid_time():
    """Brian2 checks thresholds after integrating to t + dt; the lag read there puts the spike of a ramp with
    slope 1 and threshold 0.37 at 0.37 (and 0.123456789 for the other), not on the grid."""
    spec = one_neuron([1.0, 1.0], theta=10.0)
    run = reference.simulate(spec, np.array([[0.63, 1 - 0.123456789]]), DT)
    np.testing.assert_allclose(run.times.inputs, [[0.37, 0.123456789]], rtol=0, atol=1e-15)


def test_hand_computed_crossing_forced_spike_and_guard():
    x = np.array([[0.8, 0.3]])  # input spikes at 0.2 and 0.7
    cases = {1.6: 1.1,   # crossing after t_min: (1.6 + 0.4 - 0.35) / 1.5 (see test_ttfs)
             9.0: 3.0,   # never reached: forced at t_max
             0.5: 1.0}   # reached at 0.45 < t_min: held to t_min by the guard
    for theta, expected in cases.items():
        run = reference.simulate(one_neuron([2.0, -0.5], theta), x, DT)
        assert run.times.layers[0][0, 0] == pytest.approx(expected, abs=1e-13), theta
        assert run.times.logits[0, 0] == pytest.approx(3.0 - expected, abs=1e-13)  # the readout copies t_max - t


@pytest.mark.parametrize("kind", mapping.MAPPINGS)
def test_padding_pooling_and_readout_match_the_closed_form(kind):
    rng = np.random.default_rng(5)
    net = small_convnet(rng)
    x = rng.uniform(0, 1, (6, 64))
    x[0, :8] = 1.0  # simultaneous input spikes at t = 0, pooled together
    pre = mapping.preprocess(net, rng.uniform(0, 1, (200, 64)), delta=0.01, b_low=10)
    source = pre.network if kind == "alpha" else net.with_hidden([mapping.fuse_batch_norm(h) for h in net.hidden])
    lengths = mapping.window_lengths(mapping.max_activations(source, x), 0.5, 0.25)
    spec = mapping.convert(source, lengths, mapping=kind)
    truth = exact.simulate(spec, x)
    run = reference.simulate(spec, x, DT)
    for ours, theirs in zip(run.times.layers + run.times.pooled, truth.layers + truth.pooled):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-11)
    np.testing.assert_allclose(run.times.logits, source.forward(x)[1], rtol=0, atol=1e-11)


def trained_looking_fc(rng, hidden=100) -> ReLUNetwork:
    """784-hidden-10 with PyTorch's default initialization (uniform, bound 1/sqrt(fan-in))."""
    def uniform(*shape):
        return rng.uniform(-1, 1, shape) / np.sqrt(shape[-1] if len(shape) > 1 else 784)
    return ReLUNetwork((784,), [HiddenLayer(Dense(uniform(hidden, 784)), uniform(hidden))],
                       Dense(uniform(10, hidden)), rng.uniform(-.1, .1, 10))


def test_fully_connected_net_on_mnist_end_to_end():
    """20 MNIST test images through a 784-100-10 net: Brian2 spike times within 1e-9 of the readout time,
    no neuron changing status, the ReLU's decisions everywhere."""
    images = load_mnist("test")[:20].images.reshape(20, -1) / 255
    net = trained_looking_fc(np.random.default_rng(6))
    pre = mapping.preprocess(net, images, delta=0.01, b_low=10)
    spec = mapping.convert(pre.network, mapping.window_lengths(pre.max_activations, 0.5, 0.25))
    run = reference.simulate(spec, images, 2.0 ** -7)
    truth = exact.simulate(spec, images)
    gap = max(np.abs(a - b).max() for a, b in zip(run.times.layers, truth.layers))
    assert gap <= 1e-9 * spec.readout.t_read
    assert np.array_equal(run.times.layers[0] < spec.layers[0].t_max, truth.layers[0] < spec.layers[0].t_max)
    np.testing.assert_array_equal(run.times.predictions(), net.logits(images).argmax(axis=1))


def test_the_naive_simulation_errs_in_proportion_to_dt():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (3, 64))
    net = small_convnet(rng)
    pre = mapping.preprocess(net, x, delta=0.01, b_low=10)
    spec = mapping.convert(pre.network, mapping.window_lengths(pre.max_activations, 0.5, 0.25))
    truth = exact.simulate(spec, x)
    errors = []
    for dt in (2.0 ** -4, 2.0 ** -7):
        run = reference.simulate(spec, x, dt, semantics="clock")
        errors.append(max(np.abs(a - b).max() for a, b in zip(run.times.layers, truth.layers)))
    assert 4 < errors[0] / errors[1] < 16  # 8x smaller steps, about 8x smaller errors
    assert errors[1] > 1e-4  # and far from the corrected simulation's rounding error


def test_dt_must_divide_the_windows():
    spec = one_neuron([1.0], theta=1.0, t_min=1.0, t_max=1.3)
    with pytest.raises(ValueError, match="does not divide the windows"):
        reference.simulate(spec, np.array([[0.5]]), 0.25)


def test_cpp_standalone_gives_the_runtimes_spike_times(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 1, (4, 64))
    pre = mapping.preprocess(small_convnet(rng), x, delta=0.01, b_low=10)
    spec = mapping.convert(pre.network, mapping.window_lengths(pre.max_activations, 0.5, 0.25))
    runtime = reference.simulate(spec, x, DT).times
    cpp = reference.simulate(spec, x, DT, device="cpp", directory=tmp_path / "cpp").times
    for ours, theirs in zip(cpp.layers + [cpp.logits], runtime.layers + [runtime.logits]):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@compiles_cuda
def test_the_cuda_kernels_only_a_ttfs_network_has_compile(tmp_path):
    """Its spike monitors record a variable; the kinds of kernel it shares with the STDP network's project are
    compiled with that (test_devices.py)."""
    ttfs_project(tmp_path)


@pytest.mark.slow
@compiles_cuda
def test_cuda_project_of_a_ttfs_network_compiles_whole(tmp_path):
    ttfs_project(tmp_path / "cuda", kernels=None)
    assert (tmp_path / "cuda" / "main").stat().st_size > 0
