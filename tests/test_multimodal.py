"""The multimodal network: model file, cross-modal wiring, streams with frames, joint judgement, noisy MNIST."""
from types import SimpleNamespace

import numpy as np
import pytest
from brian2 import SpikeMonitor, kHz, ms

from brainnets.config import ConfigError
from brainnets.datasets import degrade_images
from brainnets.resources import model_file
from brainnets.stdp.multimodal import MultimodalModel, MultimodalNetwork, Pairs
from brainnets.spoken_digits import load_shipped, split_by_utterance
from brainnets.stdp.multimodal_experiment import MultimodalExperiment, MultimodalSettings, pair_utterances
from brainnets.stdp.protocol import decode_presentations
from brainnets.stdp.readout import assign_labels
from brainnets.stdp.report import crossmodal_links
from brainnets.stdp.simulation import EnsembleSimulation

MODEL_FILE = "rathi2018_multimodal"


@pytest.fixture(scope="module")
def multimodal():
    return MultimodalModel.load(MODEL_FILE)


def test_model_file_gives_table_3_1(multimodal):
    image, audio = multimodal.ensembles["image"], multimodal.ensembles["audio"]
    assert (image.stdp.eta, audio.stdp.eta, multimodal.crossmodal_stdp.eta) == (0.0005, 0.00003, 0.001)
    assert (image.stdp.tau, audio.stdp.tau, multimodal.crossmodal_stdp.tau) == (20 * ms, 15 * ms, 30 * ms)
    assert image.protocol.t_present == audio.protocol.t_present == 750 * ms
    assert audio.protocol.weight_sum == pytest.approx(78 * 64 / 784, abs=1e-3)
    assert image.excitatory == audio.excitatory  # the rest is Diehl & Cook's, shared
    assert image.method == audio.method == "exponential_euler"  # stable under synchronous volleys
    audio_stream = multimodal.stream("audio")
    assert audio_stream.n_frames == 1500 and audio_stream.n_input == 64
    # at the starting intensity a channel at probability 1 fires once per 0.5 ms frame
    assert audio_stream.rate_per_unit * image.protocol.intensity_start == 2 * kHz


@pytest.mark.parametrize("edit, message", [
    (('t_present = "750 ms"           # [R] 3.5.3: 1500 steps of 0.5 ms', 't_present = "700 ms"'), "t_present must agree"),
    (('base = "diehl_cook_2015.toml"\n[image_ensemble.stdp]', 'base = "absent.toml"\n[image_ensemble.stdp]'),
     "model file not found"),
    (("sender_fraction = 0.5", "sender_fraction = 1.0"), "sender_fraction"),
])
def test_model_file_errors_say_what_is_wrong(tmp_path, edit, message):
    text = model_file(MODEL_FILE).read_text()
    assert edit[0] in text
    (tmp_path / "diehl_cook_2015.toml").write_text(model_file("diehl_cook_2015").read_text())
    (tmp_path / "multi.toml").write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError, match=message):
        MultimodalModel.load(tmp_path / "multi.toml")


def test_crossmodal_neurons_send_or_receive_never_both(multimodal, numpy_runtime):
    network = MultimodalNetwork(multimodal, {"image": 20, "audio": 30}, rng=np.random.default_rng(4))
    links = network.crossmodal_links
    pairs = links.pairs
    per_direction = round(0.18 * 20 * 30 / 2)
    assert len(pairs["image_to_audio"]) == len(pairs["audio_to_image"]) == per_direction
    sends = {"image": set(pairs["image_to_audio"][:, 0]), "audio": set(pairs["audio_to_image"][:, 0])}
    receives = {"image": set(pairs["audio_to_image"][:, 1]), "audio": set(pairs["image_to_audio"][:, 1])}
    for name in ("image", "audio"):
        assert not sends[name] & receives[name]
        assert sends[name] <= set(np.flatnonzero(links.senders[name]))
    assert len({tuple(p) for p in pairs["image_to_audio"]}) == per_direction  # no pair twice
    initial = network.initial_state()[("image_to_audio", "w")]
    assert 0.003 <= initial.min() and initial.max() <= 0.303


def test_no_crossmodal_links_without_both_ensembles_or_when_switched_off(multimodal, numpy_runtime):
    assert MultimodalNetwork(multimodal, {"image": 10}, rng=np.random.default_rng(0)).crossmodal_links is None
    both = MultimodalNetwork(multimodal, {"image": 10, "audio": 10}, crossmodal="none", rng=np.random.default_rng(0))
    assert both.crossmodal_links is None and both.n_exc == 20
    with pytest.raises(ValueError, match="image"):
        MultimodalNetwork(multimodal, {"video": 10}, rng=np.random.default_rng(0))


def test_hand_made_links_join_the_pairs_that_answer_the_same_digit(multimodal, numpy_runtime):
    shares = {name: np.eye(10)[:, np.arange(6) % 3] for name in ("image", "audio")}  # neuron k: digit k % 3
    shares["audio"][:, 5] = 0  # audio neuron 5 never fired
    shares["image"][:, 0] *= 0.5  # image neuron 0 answers its digit half the time (the rest: none shown here)
    for fraction, per_direction in ((0.5, 9), (2 / 36, 1)):
        network = MultimodalNetwork(multimodal, {"image": 6, "audio": 6}, crossmodal="manual", fraction=fraction,
                                    rng=np.random.default_rng(2))
        links = network.crossmodal_links
        assert links.per_direction == per_direction
        weights = links.hand_made_weights(shares)
        for name, pairs in links.pairs.items():  # every sender -> receiver pair, silent until made
            assert len(pairs) == 3 * 3 and not network.initial_state()[(name, "w")].any()
            image, audio = (pairs[:, 0], pairs[:, 1]) if name == "image_to_audio" else (pairs[:, 1], pairs[:, 0])
            score = np.where(image % 3 == audio % 3, np.where(image == 0, 0.5, 1.0), 0.0) * (audio != 5)
            made = weights[(name, "w")] > 0
            assert made.sum() == min(per_direction, (score > 0).sum()), name
            assert score[made].min(initial=1) >= score[~made].max(initial=0), name  # the best pairs first
            assert set(weights[(name, "w")]) <= {0.0, multimodal.crossmodal.manual_weight}


def test_audio_frames_reach_the_input_step_by_step(multimodal, numpy_runtime):
    """Channel 0 carries the first half of the utterance, channel 1 the second: the input spikes follow."""
    network = MultimodalNetwork(multimodal, {"audio": 4}, slots_per_run=1, rng=np.random.default_rng(1))
    monitor = SpikeMonitor(network.protocol.inputs["audio"], name="audio_input_spikes")
    network.network.add(monitor)
    sound = np.zeros((1, 1500, 64))
    sound[0, :750, 0] = 1.0
    sound[0, 750:, 1] = 1.0
    sim = EnsembleSimulation(network, "runtime", seed=2)
    sim.present(Pairs(None, sound), learning=False)
    step = np.round(np.asarray(monitor.t / multimodal.protocol_model.dt)).astype(int)
    channel = np.asarray(monitor.i)
    assert set(channel) == {0, 1}
    assert step[channel == 0].max() < 750 <= step[channel == 1].min()
    assert step.max() < 1500  # nothing during the rest
    # probability 1 per frame: one spike per step, the whole half
    assert np.sum(channel == 0) == np.sum(channel == 1) == 750


def test_judgement_can_exempt_a_layer_whose_input_is_missing(model):
    # two layers of 2 neurons; slot 0: the first layer fires 6, the second 1
    steps = [1, 2, 3, 4, 5, 6, 7]
    neurons = [0, 0, 1, 1, 0, 1, 2]
    kwargs = dict(judged_image=[0], judged_spikes=[[6, 1]], judged_retries=[0], spike_neuron=neurons,
                  spike_step=steps, input_spikes=[0])
    assert decode_presentations(model, 4, 1, **kwargs).n_done == 0
    shown = decode_presentations(model, 4, 1, judged_layers=[True, False], **kwargs)
    assert shown.n_done == 1 and shown.counts.tolist() == [[3, 3, 1, 0]]


def test_pairs_have_the_same_label(rng):
    class Corpus:
        labels = np.array([3, 1, 3, 0, 1, 2, 0, 2])
    labels = rng.integers(0, 4, 200)
    chosen = pair_utterances(labels, Corpus, rng)
    assert (Corpus.labels[chosen] == labels).all()
    assert len(set(chosen[labels == 3])) == 2  # both utterances of "3" are used
    with pytest.raises(ValueError, match="digit 7"):
        pair_utterances(np.array([7]), Corpus, rng)


@pytest.mark.parametrize("kind, snr_db, scale", [("awgn", 9.5, 1.0), ("awgn_contrast", 12.0, 0.5)])
def test_noisy_mnist_has_the_asked_signal_to_noise_ratio(mnist_train, kind, snr_db, scale):
    images = np.repeat(mnist_train.images[:1], 400, axis=0)  # one image: one noise level
    noisy = degrade_images(images, kind, np.random.default_rng(0)).astype(float) / 255
    clean = images.astype(float) / 255 * scale
    # clipping at 0 and 1 removes part of the noise, so measure where the signal is mid-range
    mid = (clean > 0.4) & (clean < 0.6)
    noise = noisy[mid] - clean[mid]
    signal_power = np.mean(clean ** 2)
    assert 10 * np.log10(signal_power / noise.var()) == pytest.approx(snr_db, abs=0.3)
    assert abs(noise.mean()) < 0.01
    again = degrade_images(images, kind, np.random.default_rng(0))
    np.testing.assert_array_equal(again, (noisy * 255).round())
    assert degrade_images(images, "none", np.random.default_rng(0)) is images
    with pytest.raises(ValueError, match="noise"):
        degrade_images(images, "blur", np.random.default_rng(0))


def test_missing_stream_is_silent(multimodal, numpy_runtime):
    network = MultimodalNetwork(multimodal, {"image": 3, "audio": 3}, slots_per_run=1, rng=np.random.default_rng(1))
    stimuli = network.stimuli(Pairs(np.full((1, 28, 28), 255, dtype=np.uint8), None))
    assert stimuli["audio"].shape == (1, 1500, 64) and not stimuli["audio"].any()
    assert stimuli["image"].max() == 255


def test_a_repeat_brightens_only_the_stream_whose_layer_fired_too_little(multimodal, numpy_runtime):
    network = MultimodalNetwork(multimodal, {"image": 3, "audio": 3}, crossmodal="none", slots_per_run=3,
                                rng=np.random.default_rng(1))
    sim = EnsembleSimulation(network, "runtime", seed=1)
    sim.state[("image_input_synapses", "w")][:] = 1.0  # a white image fires the image layer every time
    shown = sim.present(Pairs(np.full((1, 28, 28), 255, dtype=np.uint8), None), learning=False)
    assert shown.n_done == 0  # the silent audio layer is judged, so the pair is shown three times
    p = multimodal.protocol_model.protocol
    assert sim.state[("protocol", "intensity_image")][0] == p.intensity_start
    assert sim.state[("protocol", "intensity_audio")][0] == p.intensity_start + 3 * p.intensity_step


@pytest.mark.long_running
def test_a_small_multimodal_arm_learns_and_reports_every_test(mnist_train, mnist_test, tmp_path):
    """Labelled and tested by 4 frozen copies of the trained network (its cross-modal links included)."""
    settings = MultimodalSettings(n_image=20, n_audio=20, n_train=300, n_test=200, seed=1, eval_copies=4)
    audio = split_by_utterance(load_shipped(), seed=1)
    metrics = MultimodalExperiment(settings, (mnist_train, mnist_test), audio, tmp_path / "arm",
                                   progress=False).run()  # ear responses from the suite's cache
    assert metrics["eval_copies"] == 4
    assert metrics["accuracy"] > 0.35, metrics  # chance is 0.10
    assert metrics["accuracy_missing_audio"] > 0.2 and metrics["accuracy_missing_image"] > 0.2
    assert set(metrics["accuracy_per_ensemble"]) == {"image", "audio"}
    assert metrics["crossmodal"]["n_links"] == 2 * round(0.18 * 20 * 20 / 2)
    assert np.array(metrics["confusion_matrix"]).sum() == 200
    tests = {"accuracy", "accuracy_missing_audio", "accuracy_missing_image"}
    assert metrics["readout"]["vote"] == {key: metrics[key] for key in tests}
    assert set(metrics["readout"]["linear"]) == tests and metrics["readout"]["linear"]["accuracy"] > 0.35
    assert metrics["test_utterances"]["pairing"] == "random"
    saved = np.load(tmp_path / "arm" / "network.npz")
    assert saved["audio_weights"].shape == (64, 20) and saved["image_weights"].shape == (784, 20)
    assert not (tmp_path / "arm" / "checkpoint.npz").exists()


@pytest.mark.long_running
def test_a_small_arm_with_hand_made_links_joins_same_label_neurons(mnist_train, mnist_test, tmp_path):
    """Shorter than manual_after, so the links are made when training ends, from its second half."""
    settings = MultimodalSettings(n_image=20, n_audio=20, crossmodal="manual", crossmodal_fraction=0.04, n_train=150,
                                  n_test=50, seed=1)
    audio = split_by_utterance(load_shipped(), seed=1)
    metrics = MultimodalExperiment(settings, (mnist_train, mnist_test), audio, tmp_path / "arm",
                                   progress=False).run()  # ear responses from the suite's cache
    assert metrics["crossmodal"]["n_kept"] == 2 * round(0.04 * 20 * 20 / 2)  # made by hand; the others stay at 0
    responses, network = np.load(tmp_path / "arm" / "responses.npz"), np.load(tmp_path / "arm" / "network.npz")
    assert responses["train_counts"].shape == (150, 40)
    labels_then = assign_labels(responses["train_counts"][75:], responses["train_labels"][75:])
    offsets = {"image": 0, "audio": 20}
    for name in ("image_to_audio", "audio_to_image"):
        pre, post = name.split("_to_")
        made = network[f"{name}_pairs"][network[f"{name}_w"] > 0]
        np.testing.assert_array_equal(labels_then[offsets[pre] + made[:, 0]], labels_then[offsets[post] + made[:, 1]])


def test_crossmodal_link_census_against_hand_counts():
    # image neurons 0-2 labelled 1, 2, 3; audio neurons 0-1 labelled 1, 3
    assignments = np.array([1, 2, 3, 1, 3])
    slices = {"image": slice(0, 3), "audio": slice(3, 5)}
    synapses = [SimpleNamespace(name="image_to_audio"), SimpleNamespace(name="audio_to_image")]
    links = SimpleNamespace(synapses=synapses, pairs={"image_to_audio": np.array([[0, 0], [1, 1], [2, 1]]),
                                                      "audio_to_image": np.array([[0, 1]])})
    network = SimpleNamespace(crossmodal_links=links,
                              multimodal_model=SimpleNamespace(crossmodal=SimpleNamespace(w_init_low=0.003)))
    state = {("image_to_audio", "w"): np.array([0.8, 0.0, 0.2]), ("audio_to_image", "w"): np.array([0.001])}
    summary = crossmodal_links(network, state, assignments, slices)["summary"]
    # same label: image 0 -> audio 0 (1, 1) and image 2 -> audio 1 (3, 3); kept: 0.8 and 0.2, both same label
    assert summary["n_links"] == 4 and summary["n_kept"] == 2
    assert summary["same_label_fraction"] == 1.0 and summary["same_label_fraction_all"] == 0.5
    assert summary["same_label_weight_share"] == pytest.approx(1.0 / 1.001)
