"""Which utterance each image of a multimodal arm is shown with: training pairs drawn at random (the
thesis reuses utterances), test pairs drawn at random (the committed results) or each test utterance once
before any again (``test_pairing = "each_once"``)."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from brainnets.datasets import LabelledImages
from brainnets.spoken_digits import SpokenDigits
from brainnets.stdp import multimodal_experiment
from brainnets.stdp.multimodal_experiment import MultimodalExperiment, MultimodalSettings, pair_utterances


def corpus_of(labels, speakers=None) -> SpokenDigits:
    labels = np.asarray(labels)
    speakers = np.asarray(speakers if speakers is not None else ["s"] * len(labels))
    names = np.array([f"{label}_{speaker}_{k}" for k, (label, speaker) in enumerate(zip(labels, speakers))])
    return SpokenDigits(tuple(np.full(8, k, dtype=np.float32) for k in range(len(labels))), np.full(len(labels), 8000),
                        labels, speakers, names, tuple(Path(f"{name}.wav") for name in names))


def old_pair_utterances(labels, corpus, rng):
    """pair_utterances as it was before test_pairing existed (the committed results were paired by it)."""
    choices = {label: np.flatnonzero(corpus.labels == label) for label in np.unique(labels)}
    return np.array([rng.choice(choices[label]) for label in labels], dtype=np.int64)


def test_each_once_uses_every_utterance_of_a_digit_once_before_any_again():
    rng = np.random.default_rng(0)
    corpus = corpus_of(np.arange(30) % 3)  # ten utterances of each of 0, 1, 2
    labels = rng.permutation(np.repeat([0, 1, 2], [25, 10, 4]))
    chosen = pair_utterances(labels, corpus, np.random.default_rng(5), "each_once")
    assert (corpus.labels[chosen] == labels).all()
    for digit, shown in ((0, 25), (1, 10), (2, 4)):
        used = chosen[labels == digit]  # in the order the images come
        members = np.flatnonzero(corpus.labels == digit)
        for start in range(0, shown, 10):  # every round of ten: all ten utterances, none twice
            round_ = used[start:start + 10]
            assert len(set(round_)) == len(round_) and set(round_) <= set(members)
        uses = np.bincount(used, minlength=len(corpus))[members]
        assert uses.max() - uses.min() <= 1  # as even as it can be: 25 pairs -> each used 2 or 3 times
    assert len(set(chosen[labels == 2])) == 4  # fewer images than utterances: no utterance twice
    again = pair_utterances(labels, corpus, np.random.default_rng(5), "each_once")
    np.testing.assert_array_equal(again, chosen)  # seeded
    assert not np.array_equal(pair_utterances(labels, corpus, np.random.default_rng(6), "each_once"), chosen)


def test_random_pairing_is_the_one_the_committed_results_used():
    corpus = corpus_of(np.arange(50) % 10)
    labels = np.random.default_rng(1).integers(0, 10, 300)
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(2):  # the training draw, then the test draw, from one generator
        np.testing.assert_array_equal(pair_utterances(labels, corpus, ours),
                                      old_pair_utterances(labels, corpus, theirs))
    with pytest.raises(ValueError, match="pairing must be one of"):
        pair_utterances(labels, corpus, ours, "twice")
    with pytest.raises(ValueError, match="digit 9"):
        pair_utterances(np.array([9]), corpus_of([0, 1]), ours, "each_once")


def test_an_arm_scores_each_test_utterance_once_and_says_how_many_it_scored(tmp_path, monkeypatch):
    monkeypatch.setattr(multimodal_experiment, "cochleagrams",  # the utterance's index, as its "cochleagram"
                        lambda corpus, frontend, cache_dir, profile: np.array(corpus.waveforms)[:, :1, None])
    digits = np.arange(60) % 10
    images = tuple(LabelledImages(np.zeros((60, 28, 28), dtype=np.uint8), np.roll(digits, k)) for k in (0, 3))
    train_audio = corpus_of(np.arange(40) % 10, ["a", "b"] * 20)
    test_audio = corpus_of(np.arange(30) % 10, ["c"] * 30)  # three per digit, six test images per digit
    test_audio = dataclasses.replace(test_audio, waveforms=tuple(w + 100 for w in test_audio.waveforms))

    def arm(pairing: str, n_test: int, name: str):
        settings = MultimodalSettings(n_image=0, n_audio=4, n_train=40, n_test=n_test, test_pairing=pairing)
        return MultimodalExperiment(settings, images, (train_audio, test_audio), tmp_path / name, progress=False)

    def shown(experiment, split):
        return experiment.pairs[split].sounds[:, 0, 0].astype(int)

    once, drawn = arm("each_once", 60, "once"), arm("random", 60, "drawn")
    np.testing.assert_array_equal(shown(once, "train"), shown(drawn, "train"))  # training pairs as before
    scored = shown(once, "test") - 100
    assert (test_audio.labels[scored] == once.labels["test"]).all()
    assert np.bincount(scored, minlength=30).tolist() == [2] * 30  # each of the 30 twice, none three times
    assert once.test_utterances == {"pairing": "each_once", "available": 30, "scored": 30, "most_uses": 2,
                                    "speakers": ["c"]}
    assert drawn.test_utterances["pairing"] == "random" and drawn.test_utterances["most_uses"] > 2
    few = arm("each_once", 20, "few")  # two images per digit: 20 different utterances
    assert few.test_utterances["scored"] == 20 and few.test_utterances["most_uses"] == 1
    assert "test_pairing" not in drawn.settings.identity()  # checkpoints of earlier runs still resume
    assert once.settings.identity()["test_pairing"] == "each_once"
    with pytest.raises(ValueError, match="test_pairing must be one of"):
        MultimodalSettings(test_pairing="sometimes")


def test_the_experiment_counts_how_the_test_utterances_were_used(tmp_path, monkeypatch):
    monkeypatch.setattr(multimodal_experiment, "cochleagrams",
                        lambda corpus, frontend, cache_dir, profile: np.zeros((len(corpus), 1, 1)))
    images = LabelledImages(np.zeros((20, 28, 28), dtype=np.uint8), np.arange(20) % 10)
    settings = MultimodalSettings(n_image=0, n_audio=4, n_train=20, n_test=20, test_pairing="each_once")
    experiment = MultimodalExperiment(settings, (images, images), (corpus_of(np.arange(20) % 10),) * 2,
                                      tmp_path / "arm", progress=False)
    assert experiment.test_utterances["scored"] == 20  # the report copies it into metrics.json
