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


def test_the_pooled_vote_lets_the_louder_ensemble_decide_and_the_per_sense_vote_gives_each_one_say():
    # neurons 0-1 (image) fire a lot, neurons 2-3 (audio) little: image says class 0 weakly, audio class 1 clearly
    assignments = np.array([0, 1, 0, 1])
    counts = np.array([[12.0, 10.0, 0.0, 3.0]])
    senses = (slice(0, 2), slice(2, 4))
    # pooled (Rathi 3.6): class 0 has neurons 0 and 2, (12 + 0) / 2 = 6; class 1: (10 + 3) / 2 = 6.5
    assert predict(counts, assignments, vote="pooled", senses=senses).tolist() == [1]
    # per sense: image 12/22 vs 10/22, audio 0 vs 1: class 1 gets 10/22 + 1 > 12/22
    assert predict(counts, assignments, vote="per_sense", senses=senses).tolist() == [1]
    louder = np.array([[30.0, 10.0, 0.0, 3.0]])
    assert predict(louder, assignments, vote="pooled", senses=senses).tolist() == [0]  # (30 + 0) / 2 > 6.5
    assert predict(louder, assignments, vote="per_sense", senses=senses).tolist() == [1]  # 30/40 < 10/40 + 1


def test_the_per_sense_vote_with_one_sense_or_a_silent_sense_is_the_pooled_vote():
    rng = np.random.default_rng(2)
    assignments = rng.integers(-1, 10, 40)
    counts = rng.poisson(2.0, (50, 40)).astype(float)
    np.testing.assert_array_equal(predict(counts, assignments, vote="per_sense", senses=(slice(0, 40),)),
                                  predict(counts, assignments))
    # the second sense never fires: the first alone decides, by its own pooled vote
    silent = counts.copy()
    silent[:, 25:] = 0
    np.testing.assert_array_equal(predict(silent, assignments, vote="per_sense", senses=(slice(0, 25), slice(25, 40))),
                                  predict(silent[:, :25], assignments[:25]))
    with pytest.raises(ValueError, match="the votes are pooled, per_sense"):
        predict(counts, assignments, vote="loudest")
