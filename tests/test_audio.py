import dataclasses

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, defaultclock, kHz, ms, second

from brainnets import audio
from brainnets.audio import (AudioFrontend, cache_key, cochleagram, cochleagrams, fill_cache, fit_frames,
                             lyon_passive_ear, poisson_rates, poisson_raster, resample)
from brainnets.config import ConfigError
from brainnets.plotting import plot_cochleagram
from brainnets.spoken_digits import load_shipped
from brainnets.stdp.multimodal import MultimodalModel
from brainnets.stdp.protocol import Protocol


@pytest.fixture(scope="module")
def frontend():
    return AudioFrontend.load()


@pytest.fixture(scope="module")
def zero():
    """The shipped corpus' first utterance of "0" by en-us-f1 (8 kHz)."""
    corpus = load_shipped()
    k = corpus.utterances.tolist().index("0_en-us-f1_0")
    return corpus.waveforms[k], int(corpus.sample_rates[k])


def sine(frequency: float, rate: int, seconds: float = 0.4) -> np.ndarray:
    return 0.1 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)


# -------------------------------------------------------------------------------------- the constants

def test_model_file_gives_the_thesis_front_end(frontend):
    assert frontend.rate_hz == 12500 and frontend.n_channels == 64 and frontend.decimation == 10
    assert frontend.n_frames == 1500 and frontend.presentation == 750 * ms
    assert frontend.frame_duration == 0.5 * ms
    assert len(frontend.center_frequencies()) == 64


@pytest.mark.parametrize("step_factor, channels", [(0.25, 78), (0.302, 64), (0.306, 64), (0.31, 63)])
def test_channel_count_of_lyon_filter_design(frontend, step_factor, channels):
    """rathi.md 3.3: Slaney's default step factor gives 78 channels at 12.5 kHz; 0.302-0.306 give 64."""
    if channels == 64:
        assert len(dataclasses.replace(frontend, step_factor=step_factor).center_frequencies()) == 64
    else:
        with pytest.raises(ValueError, match=f"give {channels} channels"):
            dataclasses.replace(frontend, step_factor=step_factor)


@pytest.mark.parametrize("line, message", [
    ("colour = 3", r"unknown key\(s\) \['colour'\]"),
    ("differ = 1", r"\[audio_frontend\].differ: expected true or false"),
    ("n_frames = 1.5", r"\[audio_frontend\]\.n_frames: expected a whole number"),
    ("step_factor = 0.25", r"model.toml \[audio_frontend\]: step_factor 0.25 and ear_q 8.0 give 78 channels"),
    ('presentation = "750 mV"', r"\[audio_frontend\].presentation: expected a quantity"),
    ('alignment = "end"', r"\[audio_frontend\].alignment: expected one of"),
])
def test_model_file_errors_name_the_key(tmp_path, line, message):
    text = audio.DEFAULT_MODEL_FILE.read_text()
    key = line.split(" = ")[0]
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
    header = next(k for k, ln in enumerate(lines) if ln.startswith("[audio_frontend]"))
    path = tmp_path / "model.toml"
    path.write_text("\n".join(lines[:header + 1] + [line] + lines[header + 1:]) + "\n")
    with pytest.raises(ConfigError, match=message):
        AudioFrontend.load(path)


# ------------------------------------------------------------------------------------- the cochleagram

def test_lyon_gives_64_channels_and_one_frame_per_decimation(frontend, zero):
    waveform, rate = zero
    resampled = resample(waveform, rate, 12500)
    assert abs(len(resampled) - len(waveform) * 12500 / rate) <= 1
    raw = lyon_passive_ear(resampled, frontend)
    assert raw.shape == (len(resampled) // 10, 64)


def test_cochleagram_is_padded_to_1500_frames_of_probabilities(frontend, zero):
    waveform, rate = zero
    probabilities = cochleagram(waveform, rate, frontend, cache_dir=None)
    assert probabilities.shape == (1500, 64) and probabilities.dtype == np.float32
    assert probabilities.min() >= 0 and probabilities.max() == 1
    frames_of_audio = int(len(waveform) * 12500 / rate) // 10
    assert frames_of_audio < 1500 and not probabilities[frames_of_audio + 1:].any()


def test_fit_frames_crops_and_pads():
    frames = np.arange(1, 11, dtype=float)[:, None]
    np.testing.assert_array_equal(fit_frames(frames, 4, "start")[:, 0], [1, 2, 3, 4])
    np.testing.assert_array_equal(fit_frames(frames, 4, "center")[:, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(fit_frames(frames[:3], 6, "start")[:, 0], [1, 2, 3, 0, 0, 0])
    np.testing.assert_array_equal(fit_frames(frames[:3], 6, "center")[:, 0], [0, 1, 2, 3, 0, 0])


@pytest.mark.parametrize("frequency", [500, 1000, 2000])
@pytest.mark.parametrize("rate", [8000, 12500])
def test_pure_tone_excites_the_channels_tuned_near_it(frontend, frequency, rate):
    probabilities = cochleagram(sine(frequency, rate), rate, frontend, cache_dir=None)
    profile = probabilities[100:400].mean(axis=0)  # past the AGC's onset transient
    centres = frontend.center_frequencies()
    distance = np.abs(np.log(centres / frequency))
    assert distance[profile.argmax()] < 0.15
    assert profile[distance < 0.15].mean() > 20 * profile[distance > 1].mean()


def test_channels_run_from_high_to_low_frequency(frontend):
    assert np.all(np.diff(frontend.center_frequencies()) < 0)
    peaks = [cochleagram(sine(f, 12500), 12500, frontend, cache_dir=None)[100:400].mean(axis=0).argmax()
             for f in (300, 1200, 4000)]
    assert peaks[0] > peaks[1] > peaks[2]


# ------------------------------------------------------------------------------------------- the cache

def test_cache_returns_identical_arrays_and_misses_on_a_changed_parameter(frontend, zero, tmp_path, monkeypatch):
    waveform, rate = zero
    first = cochleagram(waveform, rate, frontend, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, cochleagram(waveform, rate, frontend, cache_dir=None))
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_computing(*args):
        raise AssertionError("computed although cached")

    # parameters of the steps after the ear (framing, normalization, rates) reuse the cached response
    centred = dataclasses.replace(frontend, alignment="center", n_frames=1000, normalization="fixed")
    centred_uncached = cochleagram(waveform, rate, centred, cache_dir=None)
    with monkeypatch.context() as patch:
        patch.setattr(audio, "ear_response", no_computing)
        np.testing.assert_array_equal(cochleagram(waveform, rate, frontend, cache_dir=tmp_path), first)
        np.testing.assert_array_equal(cochleagram(waveform, rate, centred, cache_dir=tmp_path), centred_uncached)
    coarser = dataclasses.replace(frontend, decimation=20)
    assert cache_key(waveform, rate, coarser) != cache_key(waveform, rate, frontend)
    halved = cochleagram(waveform, rate, coarser, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2 and not np.array_equal(halved, first)
    for changed in (dataclasses.replace(frontend, ear_q=8.01, step_factor=0.305 * 8.01 / 8),
                    dataclasses.replace(frontend, agc=False), dataclasses.replace(frontend, tau_factor=2)):
        assert cache_key(waveform, rate, changed) != cache_key(waveform, rate, frontend)
    assert cache_key(waveform * 0.5, rate, frontend) != cache_key(waveform, rate, frontend)
    assert cache_key(waveform, 16000, frontend) != cache_key(waveform, rate, frontend)


def test_a_damaged_cache_entry_is_computed_again(frontend, zero, tmp_path):
    waveform, rate = zero
    first = cochleagram(waveform, rate, frontend, cache_dir=tmp_path)
    entry = next(tmp_path.glob("*.npz"))
    entry.write_bytes(b"not an npz archive")
    np.testing.assert_array_equal(cochleagram(waveform, rate, frontend, cache_dir=tmp_path), first)
    assert entry.stat().st_size > 1000


def test_fill_cache_computes_only_the_missing_responses_in_parallel(frontend, tmp_path, monkeypatch):
    six = load_shipped().subset(range(0, 60, 10))
    computed_here = cochleagrams(six, frontend, cache_dir=None)
    cochleagram(six.waveforms[0], int(six.sample_rates[0]), frontend, cache_dir=tmp_path)
    assert fill_cache(six, frontend, tmp_path, workers=2, progress=False) == 5
    assert len(list(tmp_path.glob("*.npz"))) == 6
    monkeypatch.setattr(audio, "ear_response", lambda *args: pytest.fail("computed although cached"))
    assert fill_cache(six, frontend, tmp_path, workers=2, progress=False) == 0
    np.testing.assert_array_equal(cochleagrams(six, frontend, cache_dir=tmp_path), computed_here)


# -------------------------------------------------------------------------------------- the spike input

def test_rates_are_bounded_and_the_raster_follows_them(frontend, zero):
    probabilities = cochleagram(*zero, frontend, cache_dir=None)
    rates = poisson_rates(probabilities, frontend)
    assert rates.shape == (1500, 64) and rates.min() >= 0 and rates.max() == pytest.approx(2000)
    np.testing.assert_allclose(rates, probabilities * 2000, rtol=1e-6)
    doubled = poisson_rates(probabilities, dataclasses.replace(frontend, peak_rate=4 * kHz))
    np.testing.assert_allclose(doubled, 2 * rates)
    raster = poisson_raster(rates, frontend.frame_duration, np.random.default_rng(7))
    assert raster.shape == (1500, 64) and raster.dtype == bool
    expected = rates.sum() * 0.5e-3
    assert abs(raster.sum() - expected) < 5 * np.sqrt(expected)
    assert not raster[rates == 0].any()


def test_the_audio_streams_brian2_input_fires_as_its_numpy_twin(numpy_runtime, frontend, zero):
    """The audio stream's input neurons (protocol.POISSON_SPIKE) at the starting intensity against
    poisson_raster: silent wherever the rate is 0, and as many spikes, channel by channel, within Poisson noise."""
    model = MultimodalModel.load("rathi2018_multimodal")
    assert model.frontend == frontend and model.protocol_model.dt == frontend.frame_duration
    probabilities = cochleagram(*zero, frontend, cache_dir=None)
    defaultclock.dt = model.protocol_model.dt
    protocol = Protocol(model.protocol_model, [model.stream("audio")], ["audio"], slots_per_run=1)
    protocol.stimuli["audio"].values[:] = protocol.stimulus("audio", probabilities[None])
    protocol.group.n_images = 1
    inputs = protocol.inputs["audio"]
    spikes = SpikeMonitor(inputs)
    Network(protocol.group, inputs, spikes).run(frontend.presentation)
    brian2_raster = np.zeros(probabilities.shape, dtype=bool)
    brian2_raster[np.round(np.asarray(spikes.t / frontend.frame_duration)).astype(int), np.asarray(spikes.i)] = True
    assert spikes.num_spikes == brian2_raster.sum()  # at most one spike per step and channel
    rates = poisson_rates(probabilities, frontend)
    numpy_raster = poisson_raster(rates, frontend.frame_duration, np.random.default_rng(3))
    expected = rates.sum(axis=0) * float(frontend.frame_duration / second)
    for raster in (brian2_raster, numpy_raster):
        assert not raster[rates == 0].any()
        counts = raster.sum(axis=0)
        assert abs(counts.sum() - expected.sum()) < 5 * np.sqrt(expected.sum())
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 2)


def test_fixed_normalization_divides_by_the_reference(frontend):
    fixed = dataclasses.replace(frontend, normalization="fixed")
    raw = lyon_passive_ear(sine(1000, 12500), fixed)
    expected = np.clip(fit_frames(raw, 1500, "start") / 0.0004, 0, 1)
    np.testing.assert_allclose(cochleagram(sine(1000, 12500), 12500, fixed, cache_dir=None), expected, rtol=1e-6)


def test_plot_cochleagram_writes_a_png(frontend, zero, tmp_path):
    probabilities = cochleagram(*zero, frontend, cache_dir=None)
    path = tmp_path / "fig_3_4.png"
    plot_cochleagram(probabilities[:600], path, frame_rate=1250, center_frequencies=frontend.center_frequencies(),
                     title='"0"')
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------- contrast and timing (the tuned model)

def test_stretch_frames_averages_equal_parts_of_any_length():
    frames = np.arange(1.0, 7.0)[:, None] * [1.0, 10.0]  # 6 frames, 2 channels
    np.testing.assert_allclose(audio.stretch_frames(frames, 3), [[1.5, 15], [3.5, 35], [5.5, 55]])
    np.testing.assert_allclose(audio.stretch_frames(frames, 1), [frames.mean(axis=0)])
    # 6 frames into 4 parts of 1.5 frames: each part weighs the frames it covers by how much of them it holds
    np.testing.assert_allclose(audio.stretch_frames(frames, 4)[:, 0], [(1 + 0.5 * 2) / 1.5, (0.5 * 2 + 3) / 1.5,
                                                                      (4 + 0.5 * 5) / 1.5, (0.5 * 5 + 6) / 1.5])
    assert audio.stretch_frames(frames[:2], 8).shape == (8, 2)  # more parts than frames: each frame repeated


def test_on_off_channels_carry_the_deviation_from_the_mean_shape_at_the_frames_level():
    profile = np.array([0.5, 0.25, 0.25])
    frames = np.array([[2.0, 1.0, 1.0],   # the mean shape: neither ON nor OFF
                       [0.0, 0.0, 0.0],   # silence stays silent
                       [1.0, 2.0, 1.0]])  # more of channel 1 and less of channel 0 than the shape at level 4
    np.testing.assert_allclose(audio.on_off(frames, profile), [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0],
                                                               [0, 1, 0, 1, 0, 0]])


@pytest.mark.long_running
def test_the_tuned_front_end_lays_five_parts_of_on_off_inputs_side_by_side(zero):
    tuned = MultimodalModel.load("rathi2018_multimodal_tuned").frontend
    assert (tuned.contrast, tuned.timing, tuned.n_inputs, tuned.frames_shown) == ("on_off", "side_by_side", 640, 1)
    corpus = load_shipped()
    profile = audio.spectral_profile(corpus, tuned)  # the corpus' ear responses from the suite's cache
    assert profile.shape == (64,) and profile.min() >= 0 and profile.sum() == pytest.approx(1)
    still = cochleagram(*zero, tuned, cache_dir=None, profile=profile)
    assert still.shape == (1, 640) and still.max() == 1 and still.min() >= 0
    parts = audio.stretch_frames(audio.on_off(audio.ear_response(*zero, tuned), profile), 5)  # (5, 128)
    np.testing.assert_allclose(still[0], (parts / parts.max()).ravel(), rtol=1e-5)
    with pytest.raises(ValueError, match="needs the corpus' spectral profile"):
        cochleagram(*zero, tuned, cache_dir=None)
    in_time = dataclasses.replace(tuned, timing="stretched")
    np.testing.assert_allclose(cochleagram(*zero, in_time, cache_dir=None, profile=profile), parts / parts.max(),
                               rtol=1e-5)
