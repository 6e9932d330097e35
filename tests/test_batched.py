"""Batched evaluation (brainnets.stdp.simulation.BatchedSimulation): copies of a frozen network, each showing its
own share of the items, against the plastic network evaluated one item at a time."""
import json

import numpy as np
import pytest

from brainnets.cli import main
from brainnets.stdp.ensemble import UnimodalEnsemble
from brainnets.stdp.simulation import BatchedSimulation, EnsembleSimulation

SIDE, N_EXC = 16, 10


@pytest.fixture(scope="module")
def images(mnist_test):
    """The middle 16 x 16 of MNIST test digits, brightened so that the small network answers them."""
    crops = mnist_test.images[:12, 6:6 + SIDE, 6:6 + SIDE].astype(float)
    return np.clip(crops * 3, 0, 255).astype(np.uint8)


def network(model, copies, plastic, slots):
    return UnimodalEnsemble(model, N_EXC, n_input=SIDE * SIDE, slots_per_run=slots, copies=copies,
                            plastic=plastic, rng=np.random.default_rng(4))


def one_at_a_time(model, images, slots, seed=5):
    """Every image shown by the plastic network in one run, learning off; and the state it started from."""
    simulation = EnsembleSimulation(network(model, 1, True, slots), "runtime", seed=seed)
    trained = dict(simulation.state)
    shown = simulation.present(images, learning=False)
    assert shown.n_done == len(images)
    return shown, trained


def test_one_frozen_copy_fires_as_the_plastic_network_at_test_spike_for_spike(numpy_runtime, model, images):
    shown, trained = one_at_a_time(model, images[:4], slots=8)
    batched = BatchedSimulation(network(model, 1, False, 8), "runtime", seed=5)
    batched.load(trained)
    frozen = batched.present(images[:4])
    assert shown.counts.sum() > 0
    np.testing.assert_array_equal(frozen.counts, shown.counts)
    np.testing.assert_array_equal(frozen.tries, shown.tries)
    np.testing.assert_array_equal(frozen.input_spikes, shown.input_spikes)


def test_copies_share_the_items_and_answer_as_one_network_does(numpy_runtime, model, images):
    shown, trained = one_at_a_time(model, images, slots=20)
    batched = BatchedSimulation(network(model, 4, False, 4), "runtime", seed=6)
    batched.load(trained)
    copies = batched.present(images)
    assert copies.counts.shape == shown.counts.shape and (copies.tries >= 1).all()
    # other random draws, the same network: as many spikes, from the same neurons, image by image
    assert copies.counts.sum() == pytest.approx(shown.counts.sum(), rel=0.25)
    assert np.corrcoef(copies.counts.ravel(), shown.counts.ravel())[0, 1] > 0.6
    assert copies.input_spikes.sum() == pytest.approx(shown.input_spikes.sum(), rel=0.1)


def test_a_copy_that_repeats_items_finishes_its_share_in_a_further_run(numpy_runtime, model):
    blank = np.zeros((3, SIDE, SIDE), dtype=np.uint8)  # never enough spikes: each shown max_retries + 1 times
    batched = BatchedSimulation(network(model, 2, False, 4), "runtime", seed=7)
    shown = batched.present(blank)
    assert shown.tries.tolist() == [model.protocol.max_retries + 1] * 3
    assert batched.runs_done > 1


def test_a_plastic_network_is_refused(numpy_runtime, model):
    with pytest.raises(ValueError, match="frozen network"):
        BatchedSimulation(network(model, 2, True, 2), "runtime")


@pytest.mark.long_running
def test_the_evaluation_benchmark_writes_both_speeds_and_accuracies(tmp_path):
    out = tmp_path / "bench_eval"
    assert main(["study", "bench-eval", "--n-exc", "10", "--train", "20", "--assign", "30", "--test", "30",
                 "--copies", "3", "--slots-per-run", "20", "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["one_at_a_time_ms_per_image"] > 0 and result["batched_ms_per_image"] > 0
    assert 0 <= result["batched_accuracy"] <= 1 and 0 <= result["same_prediction"] <= 1
    assert out.with_suffix(".png").exists()
