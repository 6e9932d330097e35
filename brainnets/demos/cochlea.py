"""Demo ``cochlea``: a spoken digit through Lyon's cochlear model to a cochleagram and Poisson spikes (Rathi 3.5.3).

Lyon's passive ear is a cascade of filters, one section per place along the basilar membrane: high frequencies
are taken out near its base (channel 0), low ones near its apex. Each channel's output is half-wave rectified
(the hair cells), its gain adapted over four stages (loud sounds compressed, quiet ones lifted) and smoothed;
the result, decimated, is the cochleagram: how strongly each of 64 channels responds over time. Normalized
to "firing probabilities" in [0, 1], it sets the rates of 64 Poisson input neurons, up to ``peak_rate`` (2 kHz:
a channel at its peak fires at every 0.5 ms step). Everything is :mod:`brainnets.audio` with the thesis-literal
front end of ``models/rathi2018_multimodal.toml``; the utterances are the shipped synthetic corpus
(:func:`brainnets.spoken_digits.load_shipped`), which stands in for TI46.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, ms, second

from ..audio import DEFAULT_MODEL_FILE, AudioFrontend, cochleagram, poisson_raster, poisson_rates
from ..spoken_digits import SpokenDigits, load_shipped
from .figures import new_figure

SPEAKER = "en-us-f1"
OTHER_SPEAKER = "en-gb-m3"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def utterance(corpus: SpokenDigits, digit: int, speaker: str, index: int = 0) -> int:
    """The position in ``corpus`` of ``speaker``'s ``index``-th recording of ``digit``."""
    return int(np.flatnonzero((corpus.labels == digit) & (corpus.speakers == speaker))[index])


def draw_cochleagram(axes, probabilities: np.ndarray, frontend: AudioFrontend, label_channels: bool = True):
    """Channels (top: the base, high frequencies) over the presentation's frames, in ms of simulated time."""
    duration_ms = float(frontend.presentation / ms)
    image = axes.imshow(probabilities.T, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1,
                        extent=(0, duration_ms, frontend.n_channels - 0.5, -0.5))
    if label_channels:
        frequencies = frontend.center_frequencies()
        ticks = np.arange(0, frontend.n_channels, 9)
        axes.set_yticks(ticks, [f"{frequencies[k] / 1000:.2g}" for k in ticks])
        axes.set_ylabel("channel centre\nfrequency (kHz)")
    return image


def plot_sound_to_cochleagram(waveform: np.ndarray, rate: int, probabilities: np.ndarray, frontend: AudioFrontend,
                              title: str):
    figure, (sound, ear) = new_figure(2, 1, size=(8, 6), height_ratios=[1, 2])
    audio_ms = 1000 * np.arange(len(waveform)) / rate
    sound.plot(audio_ms, waveform, color="k", lw=0.4)
    sound.set_xlim(0, 1000 * frontend.n_frames * frontend.decimation / frontend.rate_hz)
    sound.set_xlabel("time (ms of audio)")
    sound.set_ylabel("amplitude")
    sound.set_title(title, fontsize=10)
    image = draw_cochleagram(ear, probabilities, frontend)
    ear.set_xlabel(f"time (ms of simulation: one frame = {frontend.decimation} samples = one "
                   f"{float(frontend.frame_duration / ms):g} ms step)")
    figure.colorbar(image, ax=ear, label="firing probability")
    return figure


def plot_spikes(probabilities: np.ndarray, frontend: AudioFrontend, rng: np.random.Generator):
    """The 64 input neurons' Poisson spikes during the presentation, one frame per simulation step, and per
    channel the spike count against its expected value (the summed rates times the step)."""
    dt = frontend.frame_duration
    rates = poisson_rates(probabilities, frontend)
    spikes = poisson_raster(rates, dt, rng)
    figure, (raster, totals) = new_figure(1, 2, size=(10, 4.5), width_ratios=[3, 1], sharey=True)
    step, channel = np.nonzero(spikes)
    raster.plot(step * float(dt / ms), channel, ",", color="k")
    raster.set_xlim(0, float(frontend.presentation / ms))
    raster.set_ylim(frontend.n_channels - 0.5, -0.5)
    raster.set_xlabel("time (ms of simulation)")
    raster.set_ylabel("input neuron = channel (0: base, highest frequency)")
    raster.set_title(f"{spikes.sum()} input spikes, rates up to {frontend.peak_rate / Hz:g} Hz", fontsize=10)
    expected = rates.sum(axis=0) * float(dt / second)
    totals.barh(np.arange(frontend.n_channels), spikes.sum(axis=0), color="0.6", label="spikes")
    totals.plot(expected, np.arange(frontend.n_channels), color="C3", lw=1, label="expected")
    totals.set_xlabel("spikes per channel")
    totals.legend(fontsize=8)
    return figure


def plot_digits(corpus: SpokenDigits, frontend: AudioFrontend, shown: list[tuple[int, str]]):
    figure, axes = new_figure(1, len(shown), size=(3 * len(shown) + 0.8, 3.4), sharey=True)
    for k, (panel, (digit, speaker)) in enumerate(zip(axes, shown)):
        index = utterance(corpus, digit, speaker)
        image = draw_cochleagram(panel, cochleagram(corpus.waveforms[index], int(corpus.sample_rates[index]),
                                                    frontend), frontend, label_channels=k == 0)
        panel.set_title(f'"{DIGIT_NAMES[digit]}", {speaker}', fontsize=9)
        panel.set_xlabel("time (ms)")
    figure.colorbar(image, ax=axes, fraction=0.02, pad=0.01, label="firing probability")
    return figure


def cochlea(digit: int = 0, seed: int = 0) -> dict:
    """Figures ``cochleagram`` (sound and cochleagram of ``digit``), ``spikes`` (its Poisson input) and
    ``digits`` (other digits and another speaker)."""
    corpus, frontend = load_shipped(), AudioFrontend.load(DEFAULT_MODEL_FILE)
    index = utterance(corpus, digit, SPEAKER)
    waveform, rate = corpus.waveforms[index], int(corpus.sample_rates[index])
    probabilities = cochleagram(waveform, rate, frontend)
    return {"cochleagram": plot_sound_to_cochleagram(waveform, rate, probabilities, frontend,
                                                     f'"{DIGIT_NAMES[digit]}" spoken by {SPEAKER} '
                                                     f"({corpus.utterances[index]}.wav, {rate} Hz)"),
            "spikes": plot_spikes(probabilities, frontend, np.random.default_rng(seed)),
            "digits": plot_digits(corpus, frontend, [(digit, OTHER_SPEAKER), (1, SPEAKER), (7, SPEAKER)])}
