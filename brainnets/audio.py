"""The cochlear front end: a spoken digit -> a cochleagram -> Poisson input rates (Rathi 2021, 3.5.3).

Rathi preprocesses TI46 with Lyon's passive cochlear model (R. F. Lyon, ICASSP 1982) as implemented in
Slaney's Auditory Toolbox (``LyonPassiveEar``): a cascade of second-order filters for the travelling wave,
half-wave rectifiers, four stages of automatic gain control, the difference of neighbouring channels and a
smoothing filter before decimation. brainnets runs the PyPI ``lyon`` package, a port of that code. The
steps, each constant named in :class:`AudioFrontend` (``models/rathi2018_multimodal.toml``):

1. resample to a common rate (12.5 kHz, TI46's);
2. Lyon's passive ear, 64 channels, decimated by 10; channel 0 is the cochlea's base (highest frequency);
3. pad with silence or crop to a fixed number of frames (1500, one per 0.5 ms simulation step);
4. normalize to "firing probabilities" in [0, 1];
5. turn them into Poisson rates for the 64 input neurons: a spike probability per step, capped at 1.

The ear's response (steps 1-2, the slow part) is cached on disk under the SHA-256 of the waveform, its
sample rate and every parameter the response depends on, so a corpus goes through Lyon's model once per
filter bank; steps 3-5 take microseconds and are applied to the cached response.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from brian2 import Hz, Quantity, ms, second
from lyon.calc import LyonCalc
from lyon.utils import design_lyon_filters
from scipy.signal import resample_poly
from tqdm import tqdm

from .checkpoint import load_arrays, save_arrays_atomic
from .config import choice, load_section, quantity, read_toml, require_table
from .resources import models_dir
from .spoken_digits import SpokenDigits

DEFAULT_MODEL_FILE = models_dir() / "rathi2018_multimodal.toml"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "brainnets" / "cochleagrams"
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
    spike_probability_scale: float = quantity(nonnegative=True)
    alignment: str = choice("start", "center")
    normalization: str = choice("utterance_max", "fixed")
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
        """Simulated time per cochleagram frame (0.5 ms in the thesis: the audio plays 2x faster)."""
        return self.presentation / self.n_frames

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
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
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
    """Step 3: crop or pad with zeros (silence) to ``n_frames``, keeping the start or centred."""
    extra = len(response) - n_frames
    if extra >= 0:
        first = extra // 2 if alignment == "center" else 0
        return response[first: first + n_frames]
    before = -extra // 2 if alignment == "center" else 0
    return np.pad(response, ((before, -extra - before), (0, 0)))


def normalize(response: np.ndarray, frontend: AudioFrontend) -> np.ndarray:
    """Step 4: firing probabilities in [0, 1], divided by the utterance's maximum or by a fixed reference."""
    if frontend.normalization == "fixed":
        return np.clip(response / frontend.fixed_reference, 0, 1)
    peak = response.max()
    return response / peak if peak > 0 else response


def cochleagram(waveform: np.ndarray, sample_rate: int, frontend: AudioFrontend,
                cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> np.ndarray:
    """Steps 1-4: (n_frames, n_channels) float32 firing probabilities in [0, 1], channel 0 the base."""
    response = cached_ear_response(waveform, sample_rate, frontend, cache_dir)
    return normalize(fit_frames(response, frontend.n_frames, frontend.alignment), frontend).astype(np.float32)


def cochleagrams(corpus: SpokenDigits, frontend: AudioFrontend,
                 cache_dir: str | Path | None = DEFAULT_CACHE_DIR) -> np.ndarray:
    """Every utterance of ``corpus``: (n, n_frames, n_channels) float32 firing probabilities."""
    result = np.empty((len(corpus), frontend.n_frames, frontend.n_channels), dtype=np.float32)
    for k, (waveform, rate) in enumerate(zip(corpus.waveforms, corpus.sample_rates)):
        result[k] = cochleagram(waveform, int(rate), frontend, cache_dir)
    return result


# --------------------------------------------------------------------------------------- spike input

def poisson_rates(probabilities: np.ndarray, frontend: AudioFrontend) -> np.ndarray:
    """Input rates in Hz, same shape: spike probability per frame ``min(1, scale * p)`` over the frame's
    duration, so the rates lie in [0, 1 / frame_duration] (0-2 kHz with the thesis' 0.5 ms frames)."""
    per_frame = np.clip(frontend.spike_probability_scale * np.asarray(probabilities, dtype=np.float64), 0, 1)
    return per_frame / float(frontend.frame_duration / second)


def poisson_raster(rates: np.ndarray, frontend: AudioFrontend, rng: np.random.Generator) -> np.ndarray:
    """Boolean (n_frames, n_channels) spikes: channel c fires in frame t with probability
    ``rates[t, c] * frame_duration``, independently: a Poisson process sampled once per frame.

    Numpy twin of the audio stream's Brian2 input neurons (:data:`~brainnets.stdp.protocol.POISSON_SPIKE`,
    one frame per time step) at the starting intensity, given the rates of :func:`poisson_rates`."""
    probability = np.asarray(rates) * float(frontend.frame_duration / second)
    return rng.random(probability.shape) < probability
