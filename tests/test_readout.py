"""The two readouts of spike counts: the thesis' vote and the linear readout (logistic regression)."""
import numpy as np
import pytest

from brainnets.stdp.readout import assign_labels, linear_readout, predict

# three classes on two neurons: the first alone, the second alone, both together; a third neuron never fires
PATTERNS = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])


def counts_of(labels, rng):
    return rng.poisson(6 * PATTERNS[labels])


def test_the_linear_readout_separates_classes_carried_by_combinations_of_neurons():
    rng = np.random.default_rng(0)
    train_labels, test_labels = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    train, test = counts_of(train_labels, rng), counts_of(test_labels, rng)
    # the vote labels each neuron with one class, so one of the three never wins
    vote = predict(test, assign_labels(train, train_labels))
    assert len(set(vote.tolist())) <= 2 and np.mean(vote == test_labels) < 0.7
    linear = linear_readout(train, train_labels, test)
    assert linear.shape == test_labels.shape and set(linear.tolist()) <= {0, 1, 2}
    assert np.mean(linear == test_labels) > 0.95


def test_the_linear_readout_is_deterministic_and_ignores_a_neuron_silent_in_training():
    rng = np.random.default_rng(1)
    train_labels, test_labels = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    train, test = counts_of(train_labels, rng), counts_of(test_labels, rng)
    assert not train[:, 2].any()
    first = linear_readout(train, train_labels, test)
    np.testing.assert_array_equal(first, linear_readout(train.copy(), train_labels.copy(), test.copy()))
    # the neuron silent in training gets no weight: firing at test time changes nothing
    loud = test.copy()
    loud[:, 2] = 50
    np.testing.assert_array_equal(linear_readout(train, train_labels, loud), first)
    everything_silent = linear_readout(np.zeros_like(train), train_labels, test)
    assert everything_silent.shape == (200,) and np.isin(everything_silent, [0, 1, 2]).all()


def test_the_linear_readout_with_one_class_or_mismatched_counts():
    assert linear_readout(np.ones((4, 3)), np.full(4, 7), np.zeros((2, 3))).tolist() == [7, 7]
    assert linear_readout(np.eye(4), np.array([0, 1, 0, 1]), np.zeros((0, 4))).shape == (0,)
    with pytest.raises(ValueError, match="do not match"):
        linear_readout(np.ones((4, 3)), np.zeros(5, dtype=int), np.ones((2, 3)))
    with pytest.raises(ValueError, match="3 neurons"):
        linear_readout(np.ones((4, 3)), np.array([0, 1, 0, 1]), np.ones((2, 2)))
