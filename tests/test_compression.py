"""Pruning and quantization (Rathi 2021, 2.3) against hand-made weight matrices, and in a small network."""
import numpy as np
import pytest

from brainnets.cli import build_parser, main
from brainnets.config import ConfigError
from brainnets.stdp.compression import (Compression, normalize_columns, prune, quantize, random_connections,
                                        threshold_for_connectivity)
from brainnets.stdp.ensemble import UnimodalEnsemble
from brainnets.stdp.simulation import EnsembleSimulation
from brainnets.studies.prune_quantize import compression_from

WEIGHTS = np.array([[0.00, 0.10, 0.20],
                    [0.30, 0.05, 0.60],
                    [0.15, 0.40, 0.90]])


def test_prune_zeroes_weights_not_above_the_threshold():
    expected = np.array([[0, 0, 0.2], [0.3, 0, 0.6], [0, 0.4, 0.9]])
    np.testing.assert_array_equal(prune(WEIGHTS, 0.15), expected)  # 0.15 itself is not critical


def test_two_levels_are_zero_and_the_mean_of_the_critical_weights():
    pruned = prune(WEIGHTS, 0.15)  # critical: 0.2 0.3 0.6 0.4 0.9, mean 0.48
    expected = np.where(pruned > 0, 0.48, 0.0)
    np.testing.assert_allclose(quantize(pruned, 2), expected, rtol=1e-15)


def test_three_levels_split_at_the_median_with_the_median_in_the_lower_group():
    pruned = prune(WEIGHTS, 0.15)  # sorted critical: 0.2 0.3 0.4 | 0.6 0.9, median 0.4
    low, high = (0.2 + 0.3 + 0.4) / 3, (0.6 + 0.9) / 2
    expected = np.array([[0, 0, low], [low, 0, high], [0, low, high]])
    np.testing.assert_allclose(quantize(pruned, 3), expected, rtol=1e-15)


def test_k_levels_split_at_quantiles_and_keep_the_mean_of_each_group():
    critical = np.arange(1, 17) / 16.0  # 16 distinct weights, 5 levels -> 4 groups of 4
    quantized = quantize(critical, 5)
    groups = critical.reshape(4, 4)
    np.testing.assert_allclose(quantized, np.repeat(groups.mean(axis=1), 4), rtol=1e-15)
    assert len(np.unique(quantize(np.random.default_rng(0).uniform(0.01, 1, 1000), 16))) == 15
    assert quantized.mean() == pytest.approx(critical.mean())  # sharing keeps the total weight


def test_quantize_leaves_zeros_and_an_all_zero_matrix_alone():
    assert not quantize(np.zeros((3, 2)), 3).any()
    with pytest.raises(ValueError, match="levels"):
        quantize(WEIGHTS, 1)


def test_normalizing_columns_scales_each_neuron_by_one_gain():
    quantized = quantize(prune(WEIGHTS, 0.15), 3)
    normalized, gains = normalize_columns(quantized, 2.0)
    np.testing.assert_allclose(normalized.sum(axis=0), 2.0)
    np.testing.assert_allclose(gains, 2.0 / quantized.sum(axis=0))
    np.testing.assert_allclose(normalized / gains, quantized)  # the shared levels, column by column
    zero_column = np.array([[0.0, 0.5], [0.0, 0.5]])
    normalized, gains = normalize_columns(zero_column, 2.0)
    np.testing.assert_array_equal(normalized, [[0, 1], [0, 1]])
    np.testing.assert_array_equal(gains, [1, 2])


def test_threshold_for_connectivity_keeps_the_largest_weights():
    threshold = threshold_for_connectivity(WEIGHTS, 4 / 9)
    assert np.count_nonzero(prune(WEIGHTS, threshold)) == 4
    assert prune(WEIGHTS, threshold).min(initial=1, where=WEIGHTS > threshold) == 0.3
    assert threshold_for_connectivity(WEIGHTS, 1.0) == -np.inf


def test_random_connections_have_the_asked_density(rng):
    mask = random_connections((784, 100), 0.25, rng)
    assert mask.shape == (784, 100) and mask.sum() == 19600


def test_schedule_after_batch_m_then_every_batch():
    assert Compression(mode="during", n_batches=12, first_step=3).steps(60000) == list(range(15000, 60001, 5000))
    assert Compression(mode="end").steps(60000) == [60000]
    assert Compression(mode="baseline").steps(60000) == []
    assert Compression(mode="random", connectivity=0.2).steps(60000) == []
    with pytest.raises(ValueError, match="equal batches"):
        Compression(mode="during").steps(1001)


@pytest.mark.parametrize("field, value, message", [
    ("mode", "sometimes", "mode"), ("threshold", float("nan"), "threshold"), ("levels", 1, "levels"),
    ("first_step", 0, "first_step"), ("connectivity", 1.5, "connectivity")])
def test_bad_compression_settings_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        Compression(**{"mode": "during", field: value})
    with pytest.raises(ValueError, match="random.*connectivity"):
        Compression(mode="random")


# -- in a network (Brian2 runtime, numpy target) ---------------------------------------------------------
SIDE = 16


def simulation(model, connections=None, slots=2, n_exc=4):
    ensemble = UnimodalEnsemble(model, n_exc, n_input=SIDE * SIDE, slots_per_run=slots, connections=connections,
                                rng=np.random.default_rng(3))
    return EnsembleSimulation(ensemble, "runtime", seed=3)


def bright(n):
    return np.full((n, SIDE, SIDE), 255, dtype=np.uint8)


def test_a_pruned_synapse_stays_and_can_become_critical_again(numpy_runtime, model):
    sim = simulation(model)
    weights = sim.ensemble.layer.weights(sim.state)
    pruned = prune(weights, np.quantile(weights, 0.5))
    sim.state = sim.ensemble.layer.with_weights(sim.state, pruned)
    assert len(sim.state[("input_synapses", "w")]) == SIDE * SIDE * 4  # still connected
    sim.present(bright(2), learning=True)
    regrown = sim.ensemble.layer.weights(sim.state)[pruned == 0]
    assert (regrown > 0).any()


def test_a_neuron_with_every_weight_pruned_keeps_zero_weights(numpy_runtime, model):
    sim = simulation(model)
    weights = sim.ensemble.layer.weights(sim.state)
    weights[:, 0] = 0
    sim.state = sim.ensemble.layer.with_weights(sim.state, weights)
    sim.present(np.zeros((1, SIDE, SIDE), dtype=np.uint8), learning=True)  # normalizes, no input spikes
    assert not sim.ensemble.layer.weights(sim.state)[:, 0].any()
    np.testing.assert_allclose(sim.ensemble.layer.weights(sim.state)[:, 1:].sum(axis=0), model.protocol.weight_sum)


def test_removing_the_pruned_synapses_leaves_the_survivors_behaviour_unchanged(numpy_runtime, model):
    full = simulation(model)
    weights = full.ensemble.layer.weights(full.state)
    pruned = prune(weights, np.quantile(weights, 0.6))
    full.state = full.ensemble.layer.with_weights(full.state, pruned)
    survivors = pruned > 0
    sparse = simulation(model, connections=survivors)
    assert len(sparse.state[("input_synapses", "w")]) == survivors.sum() < weights.size
    sparse.state = full.ensemble.layer.restricted_state(full.state, survivors)
    np.testing.assert_array_equal(sparse.ensemble.layer.weights(sparse.state), pruned)

    images = bright(2) // 2
    shown_full, shown_sparse = full.present(images, learning=False), sparse.present(images, learning=False)
    assert shown_full.counts.sum() > 0
    np.testing.assert_array_equal(shown_full.counts, shown_sparse.counts)
    np.testing.assert_array_equal(shown_full.input_spikes, shown_sparse.input_spikes)


def test_input_spike_count_matches_the_poisson_rate(numpy_runtime, model):
    sim = simulation(model, slots=3)
    sim.state[("input_synapses", "w")][:] = 1.0  # every presentation is accepted at the first try
    shown = sim.present(bright(3), learning=False)
    p = model.protocol
    expected = float(255 * p.rate_per_pixel * p.intensity_start * p.t_present) * 3
    assert shown.input_spikes.shape == (SIDE * SIDE,)
    assert shown.input_spikes.mean() == pytest.approx(expected, rel=0.05)
    assert shown.exc_spikes == shown.counts.sum()


def test_the_schedule_file_holds_the_thesis_settings_and_names_bad_keys(tmp_path):
    shipped = Compression.load("rathi2021_compression")
    assert shipped == Compression(mode="during", threshold=0.15, levels=3, n_batches=12, first_step=3)
    assert Compression.load("rathi2021_compression", threshold=0.3, mode=None).threshold == 0.3
    bad = tmp_path / "bad.toml"
    bad.write_text('[compression]\nlevels = "continuous"\nbatches = 4\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['batches'\]"):
        Compression.load(bad)
    bad.write_text('[compression]\nlevels = 1\n')
    with pytest.raises(ConfigError, match="bad.toml.*levels"):
        Compression.load(bad)


def test_compress_run_rejects_bad_levels_and_reports_bad_settings(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["compress", "run", "--levels", "1", "--out", str(tmp_path / "a")])
    assert main(["compress", "run", "--mode", "random", "--out", str(tmp_path / "b")]) == 2
    assert "random" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_compress_run_overrides_the_schedule_file_option_by_option(tmp_path):
    def compression(*options):
        return compression_from(build_parser().parse_args(["compress", "run", *options, "--out", str(tmp_path)]))

    assert compression() == Compression.load("rathi2021_compression")
    assert compression("--levels", "continuous", "--threshold", "0.3", "--batches", "6", "--first-step", "2") == \
        Compression(mode="during", threshold=0.3, levels=None, n_batches=6, first_step=2)
    assert compression("--mode", "random", "--connectivity", "0.25", "--levels", "2") == \
        Compression(mode="random", threshold=0.15, levels=2, connectivity=0.25)
