"""The ReLU -> TTFS mapping and its closed-form solver, against plain-numpy oracles and hand-computed times."""
import numpy as np
import pytest
from scipy.signal import correlate

from brainnets.ttfs import exact, mapping
from brainnets.ttfs.layers import Conv, MaxPool
from brainnets.ttfs.spec import SNNSpec, SpecError
from ttfs_nets import one_neuron, small_convnet


def test_convolution_matrix_is_scipys_cross_correlation_and_counts_the_padding():
    rng = np.random.default_rng(1)
    kernel, image = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=(3, 5, 6))
    conv = Conv(kernel, (3, 5, 6), padding=1)
    ours = (conv.matrix() @ image.ravel()).reshape(conv.out_shape)
    for c in range(2):
        expected = correlate(np.pad(image, ((0, 0), (1, 1), (1, 1))), kernel[c], mode="valid")[0]
        np.testing.assert_allclose(ours[c], expected, atol=1e-12)
    # a corner neuron sees 4 of the 9 taps per input channel: the other 5 fall on the padding
    corner = kernel[0].sum() - kernel[0][:, 1:, 1:].sum()
    assert conv.padding_weights()[0] == pytest.approx(corner)
    assert conv.padding_weights()[conv.out_shape[2] + 1] == pytest.approx(0)  # an interior neuron


def test_max_pool_groups_are_the_2x2_blocks_of_each_channel():
    groups = MaxPool((2, 4, 4)).groups()
    assert groups.shape == (8, 4)
    np.testing.assert_array_equal(groups[0], [0, 1, 4, 5])
    np.testing.assert_array_equal(groups[5], [16 + 2, 16 + 3, 16 + 6, 16 + 7])


def test_batch_norm_fusion_and_rescaling_keep_the_function_and_bound_the_weight_sums():
    rng = np.random.default_rng(2)
    net = small_convnet(rng)
    x = rng.uniform(0, 1, (50, 64))
    pre = mapping.preprocess(net, x, delta=0.01, b_low=10)
    np.testing.assert_allclose(pre.network.logits(x), net.logits(x), rtol=1e-12, atol=1e-12)
    for layer in pre.network.hidden:
        assert layer.batch_norm is None
        sums = layer.connection.channel_sums()
        assert np.all(sums <= 0.99 + 1e-12) and np.all(sums >= -10 - 1e-12)
    assert pre.max_activations == pytest.approx([a.max() for a in pre.network.forward(x)[0]])


@pytest.mark.parametrize("kind", mapping.MAPPINGS)
def test_every_spike_time_is_t_max_minus_the_relu_activation(kind):
    """Eq. 2.31 / Eq. 3.10: t_i = t_max - x_i in every hidden layer and the readout potentials are the logits."""
    rng = np.random.default_rng(3)
    net = small_convnet(rng)
    x = rng.uniform(0, 1, (100, 64))
    pre = mapping.preprocess(net, x, delta=0.01, b_low=10)
    source = pre.network if kind == "alpha" else net.with_hidden([mapping.fuse_batch_norm(h) for h in net.hidden])
    lengths = mapping.window_lengths(mapping.max_activations(source, x), 0.5, None)
    spec = mapping.convert(source, lengths, mapping=kind)
    activations, logits = source.forward(x)
    times = exact.simulate(spec, x)
    for layer, a, t_pooled in zip(spec.layers, activations, times.pooled):
        np.testing.assert_allclose(layer.t_max - t_pooled, a, atol=1e-12)
    np.testing.assert_allclose(times.logits, logits, atol=1e-12)
    assert exact.solver_disagreements(spec, x[:20]) == [0, 0]


def test_a_neuron_fires_where_its_piecewise_linear_potential_meets_threshold():
    """Inputs at t = 0.2 (J = 2) and 0.7 (J = -0.5): V(t) = 2 (t - 0.2) - 0.5 (t - 0.7) after 0.7, so with
    theta = 1.6 the crossing is at t = (1.6 + 0.4 - 0.35) / 1.5 = 1.1, after t_min = 1 (Eq. 3.7)."""
    spec = one_neuron([2.0, -0.5], theta=1.6)
    t = exact.simulate(spec, np.array([[0.8, 0.3]]))
    assert t.layers[0][0, 0] == pytest.approx(1.1, abs=1e-15)
    assert exact.simulate(spec, np.array([[0.8, 0.3]]), sorted_solver=True).layers[0][0, 0] == pytest.approx(1.1)


def test_forced_spike_at_t_max_and_the_guard_before_t_min():
    quiet = one_neuron([0.1, 0.1], theta=5.0)
    assert exact.simulate(quiet, np.array([[1.0, 1.0]])).layers[0][0, 0] == 3.0
    # theta 0.5 is reached by the first input alone at t = 0.45 < t_min: the guard holds the spike to t_min,
    # the unguarded event solver reports the early crossing, and the two are counted as disagreeing
    early = one_neuron([2.0, -0.5], theta=0.5)
    x = np.array([[0.8, 0.3]])
    assert exact.simulate(early, x).layers[0][0, 0] == 1.0
    assert exact.simulate(early, x, sorted_solver=True).layers[0][0, 0] == pytest.approx(0.45)
    assert exact.solver_disagreements(early, x) == [1]


def test_spec_round_trips_through_a_file_and_rejects_inconsistent_windows(tmp_path):
    rng = np.random.default_rng(4)
    net = small_convnet(rng)
    x = rng.uniform(0, 1, (30, 64))
    pre = mapping.preprocess(net, x, delta=0.01, b_low=10)
    spec = mapping.convert(pre.network, mapping.window_lengths(pre.max_activations, 0.5, 0.25), info={"a": 1})
    spec.save(tmp_path / "spec.npz")
    again = SNNSpec.load(tmp_path / "spec.npz")
    np.testing.assert_array_equal(exact.simulate(again, x).logits, exact.simulate(spec, x).logits)
    assert again.info["a"] == 1 and again.windows() == spec.windows()
    with pytest.raises(SpecError, match="t_min 1.5 must equal the previous layer's t_max 1.0"):
        one_neuron([1.0], theta=1.0, t_min=1.5)
    with pytest.raises(SpecError, match="alpha \\+ sum J must be > 0"):
        one_neuron([-1.0], theta=1.0)
    (tmp_path / "broken.npz").write_bytes(b"not an archive")
    with pytest.raises(SpecError, match="broken.npz: not a readable"):
        SNNSpec.load(tmp_path / "broken.npz")


def test_windows_are_rounded_up_to_the_grid_and_a_dead_layer_is_reported():
    assert mapping.window_lengths([1.0, 2.1], 0.5, 0.25) == [1.5, 3.25]
    with pytest.raises(ValueError, match="hidden layer 2 is never active"):
        mapping.window_lengths([1.0, 0.0], 0.5, 0.25)


def test_inputs_outside_the_unit_interval_are_refused():
    spec = one_neuron([1.0], theta=1.0)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        exact.simulate(spec, np.array([[1.5]]))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        exact.simulate(spec, np.array([[np.nan]]))
