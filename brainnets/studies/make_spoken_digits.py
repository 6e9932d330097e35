"""Synthesize the spoken-digit corpus shipped in ``brainnets/data/spoken_digits/`` with espeak-ng.

Each synthetic speaker is one espeak-ng English voice with one voice variant (``en-us+f2``), given its
own base pitch and speed; every utterance jitters pitch, speed and loudness around that speaker's base,
drawn from a seeded generator, so the corpus is the same on every run with the same espeak-ng version.
The words are "zero" to "nine". Each utterance is resampled to 8 kHz, trimmed of leading and trailing
silence and written as 16-bit mono PCM in the Free Spoken Digit layout ``{digit}_{speaker}_{index}.wav``,
so ``brainnets.spoken_digits.load_fsdd_folder`` reads it. The folder also gets ``SHA256SUMS`` and a
``README.md`` naming the exact command and espeak-ng version.

    apt-get install espeak-ng          # Debian/Ubuntu
    brainnets make-spoken-digits --out /tmp/spoken_digits      # compare with the shipped checksums
    brainnets make-spoken-digits --overwrite                   # regenerate the shipped corpus in place
"""
from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import resample
from ..checkpoint import write_bytes_atomic
from ..provenance import command_line_of
from ..resources import data_dir

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

#: (espeak-ng voice, variant): six male and six female variants over eight English accents.
SPEAKERS = (
    ("en-us", "m1"), ("en-us", "f1"), ("en-gb", "m3"), ("en-gb", "f2"),
    ("en-gb-scotland", "m2"), ("en-gb-x-rp", "f3"), ("en-029", "m4"), ("en-us-nyc", "f4"),
    ("en-gb-x-gbclan", "m6"), ("en-gb-x-gbcwmd", "f5"), ("en-us", "m7"), ("en-gb", "klatt4"),
)
OUTPUT_RATE = 8000          # Hz, the Free Spoken Digit Dataset's rate; keeps the corpus small
MAX_TOTAL_BYTES = 15 * 2**20
BASE_PITCH = (35, 65)       # espeak-ng -p (0-99, default 50): a speaker's base pitch is drawn from this range
BASE_SPEED = (140, 190)     # espeak-ng -s, words per minute (default 175)
PITCH_JITTER = 8            # per utterance, uniform +- this many -p steps
SPEED_JITTER = 0.12         # per utterance, uniform +- this fraction of the base speed
AMPLITUDE = (50, 100)       # espeak-ng -a (0-200, default 100), per utterance
SILENCE_LEVEL = 0.02        # trim samples quieter than this fraction of the utterance's peak ...
SILENCE_MARGIN = 0.02       # ... keeping this many seconds of them at either end


@dataclass(frozen=True)
class Speaker:
    voice: str
    variant: str
    pitch: int
    speed: int

    @property
    def name(self) -> str:
        """The speaker id in file names: no underscore, so the FSDD layout stays unambiguous."""
        return f"{self.voice}-{self.variant}"

    @property
    def espeak_voice(self) -> str:
        return f"{self.voice}+{self.variant}"


class CorpusError(ValueError):
    """The corpus cannot be made as asked: no espeak-ng, a folder that holds one already, over the budget."""


def espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise CorpusError("espeak-ng is not installed (not found on PATH). Install it, e.g. on Debian/Ubuntu "
                          "'apt-get install espeak-ng', then run this command again.")
    return binary


def espeak_version(binary: str) -> str:
    text = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return text.split("Data at")[0].replace("eSpeak NG text-to-speech:", "").strip()


def synthesize(binary: str, word: str, voice: str, pitch: int, speed: int, amplitude: int) -> tuple[np.ndarray, int]:
    """One word as float samples in [-1, 1] and espeak-ng's sample rate (22,050 Hz)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "word.wav"
        subprocess.run([binary, "-z", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude),
                        "-w", str(path), word], check=True, capture_output=True)
        with wave.open(str(path), "rb") as handle:
            rate = handle.getframerate()
            samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return samples.astype(np.float64) / 32768.0, rate


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) >= SILENCE_LEVEL * np.abs(samples).max())
    margin = int(SILENCE_MARGIN * rate)
    return samples[max(loud[0] - margin, 0): loud[-1] + margin + 1]


def to_wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return buffer.getvalue()


def draw_speakers(rng: np.random.Generator) -> list[Speaker]:
    return [Speaker(voice, variant, int(rng.integers(*BASE_PITCH, endpoint=True)),
                    int(rng.integers(*BASE_SPEED, endpoint=True))) for voice, variant in SPEAKERS]


def utterance(binary: str, speaker: Speaker, digit: int, rng: np.random.Generator) -> bytes:
    """One jittered utterance of ``digit`` by ``speaker`` as an 8 kHz 16-bit mono WAV file."""
    pitch = int(np.clip(speaker.pitch + rng.integers(-PITCH_JITTER, PITCH_JITTER, endpoint=True), 0, 99))
    speed = int(round(speaker.speed * (1 + rng.uniform(-SPEED_JITTER, SPEED_JITTER))))
    amplitude = int(rng.integers(*AMPLITUDE, endpoint=True))
    samples, rate = synthesize(binary, DIGIT_WORDS[digit], speaker.espeak_voice, pitch, speed, amplitude)
    resampled = resample(samples, rate, OUTPUT_RATE)
    return to_wav_bytes(trim_silence(resampled, OUTPUT_RATE), OUTPUT_RATE)


def readme(command: str, version: str, speakers: list[Speaker], per_digit: int, n_files: int,
           n_bytes: int) -> str:
    rows = "\n".join(f"| {s.name} | `{s.espeak_voice}` | {s.pitch} | {s.speed} |" for s in speakers)
    return f"""# Synthetic spoken digits (shipped with brainnets)

{n_files} utterances of the words "zero" to "nine": {len(speakers)} synthetic speakers x 10 digits x {per_digit}
utterances, 8 kHz, 16-bit mono PCM WAV, {n_bytes / 2**20:.1f} MiB in all. The file names follow the Free Spoken
Digit Dataset layout `{{digit}}_{{speaker}}_{{index}}.wav`; `brainnets.spoken_digits.load_shipped()` reads them
and checks every file against `SHA256SUMS`.

This is a stand-in for the TI46 digits of Rathi (2021), section 3.5.3, which are licensed by the LDC: results
on it are **not TI46 results**. Synthetic voices are far more regular than people; use it for development,
tests and demonstrations, and the FSDD or TI46 loaders for claims about speech.

## How it was made
Made by `brainnets make-spoken-digits` (brainnets/studies/make_spoken_digits.py) with

    {command}

(with `--overwrite` to regenerate in place, or `--out DIR` to compare: the checksums must match),
using eSpeak NG {version} (Debian package `espeak-ng`). Each speaker is one English espeak-ng voice
with one voice variant, a base pitch (`-p`, drawn from {BASE_PITCH[0]}-{BASE_PITCH[1]}) and a base speed
(`-s`, words per minute, drawn from {BASE_SPEED[0]}-{BASE_SPEED[1]}). Every utterance jitters the pitch by up
to +-{PITCH_JITTER} and the speed by up to +-{SPEED_JITTER:.0%}, and sets the amplitude (`-a`) in
{AMPLITUDE[0]}-{AMPLITUDE[1]}, all from a generator seeded by `--seed`. espeak-ng's 22,050 Hz output is
resampled to 8 kHz (scipy `resample_poly`) and trimmed to {SILENCE_MARGIN * 1000:.0f} ms before the first and
after the last sample louder than {SILENCE_LEVEL:.0%} of the utterance's peak. Another espeak-ng version
may pronounce the words slightly differently; the checksums then differ.

| speaker id | espeak-ng voice | base pitch | base speed (wpm) |
|---|---|---|---|
{rows}

## License
The recordings are the output of the espeak-ng program (GPL-3.0-or-later); the GPL covers the program,
not what it outputs. brainnets releases these recordings with the package under its own MIT license.

## Checksums
`SHA256SUMS` holds the SHA-256 of every WAV file, in the format of `sha256sum` (check with
`sha256sum -c SHA256SUMS` in this folder).
"""


def default_out() -> Path:
    """Where the package's corpus is: ``spoken_digits/`` in its data folder (:func:`.resources.data_dir`)."""
    return data_dir() / "spoken_digits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=str(default_out()),
                        help="output folder (default: the package's corpus, %(default)s)")
    parser.add_argument("--per-digit", type=int, default=10, help="utterances per speaker and digit")
    parser.add_argument("--seed", type=int, default=2021, help="seed of the pitch, speed and loudness draws")
    parser.add_argument("--overwrite", action="store_true", help="replace the WAV files already in --out")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    old = sorted(out.glob("*.wav"))
    if old and not args.overwrite:
        raise CorpusError(f"{out} already holds {len(old)} WAV files; pass --overwrite to replace them")
    binary = espeak_binary()
    for path in old:
        path.unlink()

    rng = np.random.default_rng(args.seed)
    speakers = draw_speakers(rng)
    checksums, n_bytes = {}, 0
    for speaker in speakers:
        for digit in range(10):
            for index in range(args.per_digit):
                data = utterance(binary, speaker, digit, rng)
                name = f"{digit}_{speaker.name}_{index}.wav"
                write_bytes_atomic(out / name, data)
                checksums[name] = hashlib.sha256(data).hexdigest()
                n_bytes += len(data)
        print(f"{speaker.name}: done ({n_bytes / 2**20:.1f} MiB so far)", flush=True)
    if n_bytes > MAX_TOTAL_BYTES:
        raise CorpusError(f"the corpus takes {n_bytes / 2**20:.1f} MiB, over the {MAX_TOTAL_BYTES / 2**20:.0f} MiB "
                          "budget; use fewer --per-digit")

    command = command_line_of(["make-spoken-digits"], ["--per-digit", str(args.per_digit), "--seed", str(args.seed)])
    lines = [f"{checksums[name]}  {name}\n" for name in sorted(checksums)]
    write_bytes_atomic(out / "SHA256SUMS", "".join(lines).encode())
    write_bytes_atomic(out / "README.md", readme(command, espeak_version(binary), speakers, args.per_digit,
                                                 len(checksums), n_bytes).encode())
    print(f"{len(checksums)} files, {n_bytes / 2**20:.1f} MiB in {out}")
    return 0
