"""The cochlear front end: a spoken digit -> a cochleagram -> Poisson input rates (Rathi 2021, 3.5.3).

Rathi preprocesses TI46 with Lyon's passive cochlear model (R. F. Lyon, ICASSP 1982) as implemented in
Slaney's Auditory Toolbox (``LyonPassiveEar``): a cascade of second-order filters for the travelling wave,
half-wave rectifiers, four stages of automatic gain control, the difference of neighbouring channels and a
smoothing filter before decimation. brainnets runs the PyPI ``lyon`` package, a port of that code. The
steps, each constant named in :class:`AudioFrontend` (``models/rathi2018_multimodal.toml``):

1. resample to a common rate (12.5 kHz, TI46's);
2. Lyon's passive ear, 64 channels, decimated by 10; channel 0 is the cochlea's base (highest frequency);
3. optionally (``contrast = "on_off"``, not in the thesis) split each channel into an ON and an OFF input:
   how far the frame's spectrum lies above and below the corpus' mean spectral shape at the frame's level;
4. lay the frames over the presentation: in real time (``timing = "real_time"``, the thesis: pad with
   silence or crop to 1500 frames, one per 0.5 ms step); ``"stretched"``: the utterance, whatever its
   length, averaged over ``n_frames`` equal parts that share the presentation (1 part: held still); or
   ``"side_by_side"``: those parts' inputs next to each other, one still input of ``n_frames`` times as many
   neurons (the tuned model, ``rathi2018_multimodal_tuned.toml``);
5. normalize to "firing probabilities" in [0, 1];
6. turn them into Poisson rates: ``peak_rate`` times the probability.

The ear's response (steps 1-2, the slow part) is cached on disk under the SHA-256 of the waveform, its
sample rate and every parameter the response depends on, so a corpus goes through Lyon's model once per
filter bank; steps 3-6 take microseconds and are applied to the cached response.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from brian2 import Hz, Quantity, ms, second
from lyon.calc import LyonCalc
from lyon.utils import design_lyon_filters
from tqdm import tqdm

from .checkpoint import CorruptFileError, load_arrays, save_arrays_atomic
from .config import choice, load_section, quantity, read_toml, require_table
from .resources import cache_dir, models_dir
from .spoken_digits import SpokenDigits

DEFAULT_MODEL_FILE = models_dir() / "rathi2018_multimodal.toml"
#: The ear responses already computed (``brainnets cache`` shows and clears it; ``$BRAINNETS_CACHE`` moves it).
DEFAULT_CACHE_DIR = cache_dir() / "cochleagrams"
#: Bump when the cochleagram computation changes, so that old cache entries are no longer found.
CACHE_FORMAT = 1
_INTEGER_FIELDS = ("n_channels", "decimation", "n_frames")
#: The parameters of steps 1-2, whose result is cached: the cache key holds exactly these.
_EAR_FIELDS = ("sample_rate", "n_channels", "ear_q", "step_factor", "decimation", "tau_factor", "differ", "agc")


@dataclass(frozen=True)
class AudioFrontend:
    """Every constant of the front end; the model file gives each one's source."""

    sample_rate: Quantity = quantity(Hz, positive=True)
    n_channels: int = quantity(positive=True)
    ear_q: float = quantity(positive=True)
    step_factor: float = quantity(positive=True)
    decimation: int = quantity(positive=True)
    tau_factor: float = quantity(positive=True)
    n_frames: int = quantity(positive=True)
    fixed_reference: float = quantity(positive=True)
    presentation: Quantity = quantity(ms, positive=True)
    peak_rate: Quantity = quantity(Hz, positive=True)
    alignment: str = choice("start", "center")
    normalization: str = choice("utterance_max", "fixed")
    contrast: str = choice("level", "on_off")
    timing: str = choice("real_time", "stretched", "side_by_side")
    differ: bool = True
    agc: bool = True

    def __post_init__(self):
        for name in _INTEGER_FIELDS:
            value = getattr(self, name)
            if value != int(value) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value}")
            object.__setattr__(self, name, int(value))
        if self.rate_hz != int(self.rate_hz):
            raise ValueError(f"sample_rate must be a whole number of Hz, got {self.sample_rate}")
        designed = len(self.center_frequencies())
        if designed != self.n_channels:
            raise ValueError(f"step_factor {self.step_factor} and ear_q {self.ear_q} give {designed} channels at "
                             f"{self.sample_rate}, but n_channels is {self.n_channels}")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL_FILE) -> "AudioFrontend":
        """The ``[audio_frontend]`` table of a model file, every key checked."""
        return load_section(cls, require_table(read_toml(path), "audio_frontend", path), f"{path} [audio_frontend]")

    @property
    def rate_hz(self) -> float:
        return float(self.sample_rate / Hz)

    @property
    def frame_duration(self) -> Quantity:
        """Simulated time per input frame (0.5 ms in the thesis: the audio plays 2x faster)."""
        return self.presentation / self.n_frames

    @property
    def n_inputs(self) -> int:
        """Input neurons: one per channel, or an ON and an OFF one per channel; side by side, that many per part."""
        per_frame = self.n_channels * (2 if self.contrast == "on_off" else 1)
        return per_frame * (self.n_frames if self.timing == "side_by_side" else 1)

    @property
    def frames_shown(self) -> int:
        """Frames the presentation steps through (side by side: the parts are one still frame)."""
        return 1 if self.timing == "side_by_side" else self.n_frames

    @property
    def needs_profile(self) -> bool:
        """Whether the input depends on the corpus' mean spectral shape (:func:`spectral_profile`)."""
        return self.contrast == "on_off"

    def center_frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of each output channel, channel 0 highest (Slaney's DesignLyonFilters)."""
        _, frequencies = design_lyon_filters(self.rate_hz, self.ear_q, self.step_factor)
        return frequencies

    def ear_parameters(self) -> dict:
        """The parameters of the ear's response (resampling and Lyon's model), as plain JSON values."""
        values = {name: getattr(self, name) for name in _EAR_FIELDS}
        return {name: float(np.asarray(v)) if isinstance(v, Quantity) else v for name, v in values.items()}


# ---------------------------------------------------------------------------------------- cochleagram

def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy ``resample_poly``, with its anti-aliasing FIR filter) to ``to_rate``."""
    from scipy.signal import resample_poly  # here, not at the top: importing scipy.signal takes ~1 s of start-up

    samples = np.asarray(waveform, dtype=np.float64)
    if from_rate == to_rate:
        return samples
    return resample_poly(samples, int(to_rate), int(from_rate))


@functools.cache
def _lyon() -> LyonCalc:
    return LyonCalc()


def lyon_passive_ear(waveform: np.ndarray, frontend: AudioFrontend) -> np.ndarray:
    """Lyon's passive ear (Slaney's ``LyonPassiveEar``) on a waveform at ``frontend.sample_rate``:
    (frames, channels), one frame per ``decimation`` samples, channel 0 highest in frequency."""
    signal = np.ascontiguousarray(waveform, dtype=np.float64)
    return _lyon().lyon_passive_ear(signal, int(frontend.rate_hz), frontend.decimation, frontend.ear_q,
                                    frontend.step_factor, frontend.differ, frontend.agc, frontend.tau_factor)


def ear_response(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend) -> np.ndarray:
    """Steps 1-2 without the cache: Lyon's passive ear on the resampled waveform, (frames, channels) float32."""
    resampled = resample(waveform, sample_rate, int(frontend.rate_hz))
    return lyon_passive_ear(resampled, frontend).astype(np.float32)


def cache_key(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend) -> str:
    """SHA-256 of the waveform (dtype and bytes), its sample rate, :meth:`AudioFrontend.ear_parameters`,
    the ``lyon`` version and :data:`CACHE_FORMAT`."""
    samples = np.ascontiguousarray(waveform)
    header = {"format": CACHE_FORMAT, "lyon": importlib.metadata.version("lyon"), "sample_rate": int(sample_rate),
              "dtype": samples.dtype.str, "ear": frontend.ear_parameters()}
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    digest.update(samples.tobytes())
    return digest.hexdigest()


def cache_path(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend, cache_dir: str | Path) -> Path:
    """Where :func:`cached_ear_response` keeps this waveform's ear response."""
    return Path(cache_dir) / f"{cache_key(waveform, sample_rate, frontend)}.npz"


def cached_ear_response(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend,
                        cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> np.ndarray:
    """:func:`ear_response`, read from ``cache_dir`` when it was computed before (None: no cache).

    An entry is written atomically; one that cannot be read back is computed and written again.
    """
    if cache_dir is None:
        return ear_response(waveform, sample_rate, frontend)
    path = cache_path(waveform, sample_rate, frontend, cache_dir)
    if path.is_file():
        try:
            cached = load_arrays(path)["response"]
            if cached.ndim == 2 and cached.shape[1] == frontend.n_channels:
                return cached
        except (OSError, KeyError, CorruptFileError):
            pass  # unreadable entry: fall through and replace it
    response = ear_response(waveform, sample_rate, frontend)
    save_arrays_atomic(path, {"response": response})
    return response


def _cache_one(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend, cache_dir: str | Path) -> None:
    """A worker of :func:`fill_cache`: returns nothing, so that no response is sent back between processes."""
    cached_ear_response(waveform, sample_rate, frontend, cache_dir)


def fill_cache(corpus: SpokenDigits, frontend: AudioFrontend, cache_dir: str | Path = DEFAULT_CACHE_DIR,
               workers: int = 1, progress: bool = True) -> int:
    """Compute the ear responses of ``corpus`` missing from ``cache_dir``, ``workers`` processes at once, so
    that later :func:`cochleagrams` calls (in any process) only read them. Returns how many were computed."""
    missing = [(waveform, int(rate)) for waveform, rate in zip(corpus.waveforms, corpus.sample_rates)
               if not cache_path(waveform, int(rate), frontend, cache_dir).is_file()]
    if missing:
        waveforms, rates = zip(*missing)
        with ProcessPoolExecutor(max(1, min(workers, len(missing)))) as pool:
            done = pool.map(partial(_cache_one, frontend=frontend, cache_dir=cache_dir), waveforms, rates, chunksize=8)
            for _ in tqdm(done, total=len(missing), desc="cochleagrams", unit="utterance", disable=not progress):
                pass
    return len(missing)


def fit_frames(response: np.ndarray, n_frames: int, alignment: str) -> np.ndarray:
    """Step 4 in real time: crop or pad with zeros (silence) to ``n_frames``, keeping the start or centred."""
    extra = len(response) - n_frames
    if extra >= 0:
        first = extra // 2 if alignment == "center" else 0
        return response[first: first + n_frames]
    before = -extra // 2 if alignment == "center" else 0
    return np.pad(response, ((before, -extra - before), (0, 0)))


def stretch_frames(response: np.ndarray, n_frames: int) -> np.ndarray:
    """Step 4 stretched: the mean of each of ``n_frames`` equal parts of the utterance (frames weighted by
    how much of them falls in the part, so that any length maps onto any number of parts)."""
    length = len(response)
    edges = np.linspace(0, length, n_frames + 1)
    cumulative = np.concatenate([np.zeros((1, response.shape[1])), np.cumsum(response, axis=0, dtype=np.float64)])
    positions = np.arange(length + 1)
    at_edges = np.stack([np.interp(edges, positions, column) for column in cumulative.T], axis=1)
    return np.diff(at_edges, axis=0) / np.diff(edges)[:, None]


def on_off(response: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Step 3: (frames, 2 * channels), ON channels first: the positive and negative parts of each frame's
    deviation from ``profile`` (a spectral shape summing to 1) scaled to the frame's summed level. Silence
    stays silent, and an utterance whose spectrum has the corpus' mean shape drives neither."""
    expected = profile[None, :] * response.sum(axis=1, keepdims=True)
    return np.concatenate([np.maximum(response - expected, 0), np.maximum(expected - response, 0)], axis=1)


def normalize(response: np.ndarray, frontend: AudioFrontend) -> np.ndarray:
    """Step 5: firing probabilities in [0, 1], divided by the utterance's maximum or by a fixed reference."""
    if frontend.normalization == "fixed":
        return np.clip(response / frontend.fixed_reference, 0, 1)
    peak = response.max()
    return response / peak if peak > 0 else response


def input_frames(response: np.ndarray, frontend: AudioFrontend, profile: np.ndarray | None = None) -> np.ndarray:
    """Steps 3-5 on an ear response: (frames_shown, n_inputs) float32 firing probabilities in [0, 1]."""
    if frontend.needs_profile:
        if profile is None:
            raise ValueError(f"contrast = {frontend.contrast!r} needs the corpus' spectral profile")
        response = on_off(response, profile)
    if frontend.timing == "stretched":
        response = stretch_frames(response, frontend.n_frames)
    elif frontend.timing == "side_by_side":
        response = stretch_frames(response, frontend.n_frames).reshape(1, -1)
    else:
        response = fit_frames(response, frontend.n_frames, frontend.alignment)
    return normalize(response, frontend).astype(np.float32)


def cochleagram(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend,
                cache_dir: str | Path | None = DEFAULT_CACHE_DIR, profile: np.ndarray | None = None) -> np.ndarray:
    """Steps 1-5: (frames_shown, n_inputs) float32 firing probabilities in [0, 1], channel 0 the base;
    ``profile`` is the training corpus' :func:`spectral_profile`, which ON/OFF contrast needs."""
    return input_frames(cached_ear_response(waveform, sample_rate, frontend, cache_dir), frontend, profile)


def cochleagrams(corpus: SpokenDigits, frontend: AudioFrontend,
                 cache_dir: str | Path | None = DEFAULT_CACHE_DIR, profile: np.ndarray | None = None) -> np.ndarray:
    """Every utterance of ``corpus``: (n, frames_shown, n_inputs) float32 firing probabilities."""
    result = np.empty((len(corpus), frontend.frames_shown, frontend.n_inputs), dtype=np.float32)
    for k, (waveform, rate) in enumerate(zip(corpus.waveforms, corpus.sample_rates)):
        result[k] = cochleagram(waveform, int(rate), frontend, cache_dir, profile)
    return result


def spectral_profile(corpus: SpokenDigits, frontend: AudioFrontend,
                     cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> np.ndarray:
    """The corpus' mean spectral shape: the ear's response summed over every frame of every utterance,
    divided by its sum (so that it weighs loud frames more, as the ON/OFF split at a frame's level does)."""
    total = np.zeros(frontend.n_channels)
    for waveform, rate in zip(corpus.waveforms, corpus.sample_rates):
        total += cached_ear_response(waveform, int(rate), frontend, cache_dir).sum(axis=0)
    if not total.sum() > 0:
        raise ValueError("the corpus is silent: no spectral profile")
    return total / total.sum()


# --------------------------------------------------------------------------------------- spike input

def poisson_rates(probabilities: np.ndarray, frontend: AudioFrontend) -> np.ndarray:
    """Input rates in Hz, same shape: ``peak_rate`` times the firing probability (0-2 kHz in the thesis,
    a spike probability of up to 1 per 0.5 ms frame)."""
    return np.asarray(probabilities, dtype=np.float64) * float(frontend.peak_rate / Hz)


def poisson_raster(rates: np.ndarray, dt: Quantity, rng: np.random.Generator) -> np.ndarray:
    """Boolean (steps, inputs) spikes: input c fires in step t with probability ``rates[t, c] * dt``,
    independently: a Poisson process sampled once per time step (one row of ``rates`` per step).

    Numpy twin of the audio stream's Brian2 input neurons (:data:`~brainnets.stdp.protocol.INPUT_EQS`)
    at the starting intensity, given the rates of :func:`poisson_rates`."""
    probability = np.asarray(rates) * float(dt / second)
    return rng.random(probability.shape) < probability
