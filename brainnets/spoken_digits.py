"""Spoken digits "0"-"9": the TI46 digits, folders in the Free Spoken Digit layout, and the corpus shipped in ``data/``.

Rathi (2021), section 3.3, trains the audio ensemble on the digit utterances of TI46 (LDC93S9, 16 speakers,
12.5 kHz). TI46 is licensed, so three sources read into the same :class:`SpokenDigits`:

- :func:`load_ti46`: a TI46 copy the user holds (NIST SPHERE files, the word and speaker in the file name);
- :func:`load_fsdd_folder`: any folder of ``{digit}_{speaker}_{index}.wav`` files, the layout of the Free
  Spoken Digit Dataset (FSDD);
- :func:`load_shipped`: the synthetic corpus in ``data/spoken_digits/`` (``brainnets make-spoken-digits``),
  in the FSDD layout and checked against its ``SHA256SUMS``.

Splits: :func:`split_by_utterance` (like TI46's: every speaker in train and test, no utterance in both),
:func:`split_by_speaker` (no speaker in both; drawn, or the named test speakers) and
:func:`split_ti46_official` (TI46's own enrollment/test sessions); :func:`split_spoken_digits` picks one from
a description such as ``"utterance"`` or ``"speaker:theo,yweweler"``. Audio must be uncompressed 16-bit
mono PCM; anything else is an :class:`AudioDataError` naming the file and what was expected.
"""
from __future__ import annotations

import hashlib
import re
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .datasets import default_data_dir


class AudioDataError(ValueError):
    """An audio file or folder is missing, unreadable, in an unsupported format, or not named as expected."""


@dataclass(frozen=True)
class SpokenDigits:
    """Utterances of the digits 0-9, one entry per file, in a fixed order."""

    waveforms: tuple[np.ndarray, ...]  # float32 samples in [-1, 1), one array per utterance
    sample_rates: np.ndarray            # (n,) int, Hz
    labels: np.ndarray                  # (n,) int64, the digit spoken
    speakers: np.ndarray                # (n,) str, speaker id
    utterances: np.ndarray              # (n,) str, the file name without its suffix: unique in a corpus
    paths: tuple[Path, ...]

    def __post_init__(self):
        lengths = {len(self.waveforms), len(self.sample_rates), len(self.labels), len(self.speakers),
                   len(self.utterances), len(self.paths)}
        if len(lengths) != 1:
            raise ValueError(f"SpokenDigits fields have different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: Iterable[int]) -> "SpokenDigits":
        indices = np.asarray(list(indices), dtype=np.int64)
        return SpokenDigits(tuple(self.waveforms[i] for i in indices), self.sample_rates[indices],
                            self.labels[indices], self.speakers[indices], self.utterances[indices],
                            tuple(self.paths[i] for i in indices))


def _corpus(records: list[tuple[np.ndarray, int, int, str, Path]]) -> SpokenDigits:
    """From (waveform, sample rate, label, speaker, path) records."""
    waveforms, rates, labels, speakers, paths = zip(*records)
    return SpokenDigits(tuple(waveforms), np.array(rates, dtype=np.int64), np.array(labels, dtype=np.int64),
                        np.array(speakers, dtype=str), np.array([p.stem for p in paths], dtype=str), tuple(paths))


def _pcm16(raw: bytes, byte_order: str) -> np.ndarray:
    return (np.frombuffer(raw, dtype=f"{byte_order}i2").astype(np.float32) / np.float32(32768.0))


def _require_16_bit_mono(path: Path, n_bytes: int, n_channels: int) -> None:
    if n_bytes != 2 or n_channels != 1:
        raise AudioDataError(f"{path}: expected 16-bit mono PCM, got {8 * n_bytes}-bit samples in "
                             f"{n_channels} channel(s); convert it first (e.g. sox IN -b 16 -c 1 OUT)")


# ----------------------------------------------------------------------------------------------- WAV

def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples (float32 in [-1, 1)) and sample rate of a 16-bit mono PCM WAV file."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as handle:
            n_channels, n_bytes = handle.getnchannels(), handle.getsampwidth()
            rate, n_frames = handle.getframerate(), handle.getnframes()
            raw = handle.readframes(n_frames)
    except (wave.Error, EOFError, OSError) as error:
        raise AudioDataError(f"{path}: cannot read it as a PCM WAV file ({error})") from None
    _require_16_bit_mono(path, n_bytes, n_channels)
    if n_frames == 0:
        raise AudioDataError(f"{path}: holds no samples")
    if len(raw) != 2 * n_frames:
        raise AudioDataError(f"{path}: truncated: the header announces {n_frames} samples, the file holds "
                             f"{len(raw) // 2}")
    return _pcm16(raw, "<"), rate


_FSDD_NAME = re.compile(r"^(?P<label>[^_]+)_(?P<speaker>.+)_(?P<index>\d+)$")


def parse_fsdd_name(path: Path) -> tuple[int, str]:
    """``{digit}_{speaker}_{index}.wav`` -> (digit, speaker). The speaker may itself contain underscores."""
    match = _FSDD_NAME.match(path.stem)
    if match is None:
        raise AudioDataError(f"{path}: expected a name {{digit}}_{{speaker}}_{{index}}.wav such as "
                             "'3_jackson_12.wav'")
    label = match["label"]
    if label not in "0123456789" or len(label) != 1:
        raise AudioDataError(f"{path}: label {label!r} from the file name is not a digit 0-9")
    return int(label), match["speaker"]


def _audio_files(folder: Path, suffixes: set[str], recursive: bool) -> list[Path]:
    if not folder.is_dir():
        raise AudioDataError(f"{folder}: folder not found")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in candidates if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        where = "anywhere under" if recursive else "in"
        raise AudioDataError(f"{folder}: no {' or '.join(sorted(suffixes))} files {where} this folder")
    return files


def load_fsdd_folder(folder: str | Path) -> SpokenDigits:
    """Every ``{digit}_{speaker}_{index}.wav`` in ``folder`` (not its subfolders), in name order.

    The layout of the Free Spoken Digit Dataset (Jackson et al., github.com/Jakobovski/free-spoken-digit-dataset,
    8 kHz) and of the shipped synthetic corpus. Files other than ``.wav`` are ignored.
    """
    records = []
    for path in _audio_files(Path(folder), {".wav"}, recursive=False):
        label, speaker = parse_fsdd_name(path)
        samples, rate = read_wav(path)
        records.append((samples, rate, label, speaker, path))
    return _corpus(records)


# ----------------------------------------------------------------------------------------- shipped

def shipped_folder(data_dir: str | Path | None = None) -> Path:
    return (Path(data_dir) if data_dir is not None else default_data_dir()) / "spoken_digits"


def verify_checksums(folder: Path) -> None:
    """Every ``.wav`` in ``folder`` is listed in its ``SHA256SUMS`` with a matching digest, and vice versa."""
    listing = folder / "SHA256SUMS"
    if not listing.is_file():
        raise AudioDataError(f"{listing}: file not found (see data/spoken_digits/README.md)")
    expected = {}
    for number, line in enumerate(listing.read_text().splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise AudioDataError(f"{listing}, line {number}: expected '<sha256>  <file name>', got {line!r}")
        expected[name] = digest
    present = {p.name for p in folder.glob("*.wav")}
    unlisted, missing = sorted(present - set(expected)), sorted(set(expected) - present)
    if unlisted:
        raise AudioDataError(f"{folder / unlisted[0]}: not listed in {listing}")
    if missing:
        raise AudioDataError(f"{folder / missing[0]}: listed in {listing} but missing")
    for name, digest in sorted(expected.items()):
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
            raise AudioDataError(f"{folder / name}: SHA-256 does not match {listing}; the file is corrupt or "
                                 "was changed")


def load_shipped(data_dir: str | Path | None = None, verify: bool = True) -> SpokenDigits:
    """The synthetic spoken digits shipped in ``data/spoken_digits/`` (12 espeak-ng voices, 8 kHz).

    Not TI46: see ``data/spoken_digits/README.md``. ``verify`` checks every file against ``SHA256SUMS``.
    """
    folder = shipped_folder(data_dir)
    if verify:
        verify_checksums(folder)
    return load_fsdd_folder(folder)


# ------------------------------------------------------------------------------------ TI46 / SPHERE

def _sphere_header(path: Path, data: bytes) -> tuple[dict[str, object], int]:
    """The ``key -type value`` fields of a NIST SPHERE header, and the header's size in bytes."""
    if not data.startswith(b"NIST_1A"):
        raise AudioDataError(f"{path}: not a NIST SPHERE file (expected the header to start with 'NIST_1A')")
    lines = data[:4096].split(b"\n")
    try:
        size = int(lines[1])
    except (IndexError, ValueError):
        raise AudioDataError(f"{path}: the second header line must be the header size in bytes") from None
    fields: dict[str, object] = {}
    for raw in data[:size].decode("ascii", errors="replace").split("\n")[2:]:
        line = raw.strip()
        if line == "end_head":
            return fields, size
        if not line or line.startswith(";"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3 or not parts[1].startswith("-"):
            raise AudioDataError(f"{path}: header line {line!r} is not 'key -type value'")
        key, kind, value = parts
        try:
            fields[key] = int(value) if kind == "-i" else float(value) if kind == "-r" else value
        except ValueError:
            raise AudioDataError(f"{path}: header field {key} of type {kind} has value {value!r}") from None
    raise AudioDataError(f"{path}: no 'end_head' within the {size}-byte header")


def read_sphere(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples (float32 in [-1, 1)) and sample rate of an uncompressed 16-bit mono NIST SPHERE file.

    Header: ``NIST_1A``, the header size on line 2, then ``key -type value`` lines (``-i`` integer,
    ``-r`` real, ``-sN`` string) up to ``end_head``. Shorten-compressed files (``sample_coding`` naming
    ``shorten``) must be decompressed first, e.g. with NIST's ``w_decode`` or LDC's ``sph2pipe``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AudioDataError(f"{path}: cannot read the file ({error})") from None
    fields, size = _sphere_header(path, data)
    coding = str(fields.get("sample_coding", "pcm"))
    if "shorten" in coding:
        raise AudioDataError(f"{path}: shorten-compressed (sample_coding {coding!r}); decompress it first, "
                             "e.g. 'sph2pipe -f sph IN OUT' or NIST's 'w_decode'")
    if coding != "pcm":
        raise AudioDataError(f"{path}: expected sample_coding 'pcm', got {coding!r}")
    missing = [key for key in ("sample_rate", "sample_count", "sample_n_bytes")
               if not isinstance(fields.get(key), (int, float)) or fields[key] != int(fields[key])]
    if missing:
        raise AudioDataError(f"{path}: the header must give {', '.join(missing)} as whole numbers")
    _require_16_bit_mono(path, int(fields["sample_n_bytes"]), int(fields.get("channel_count", 1)))
    order = {"01": "<", "10": ">"}.get(str(fields.get("sample_byte_format", "01")))
    if order is None:
        raise AudioDataError(f"{path}: sample_byte_format must be '01' (little-endian) or '10' (big-endian), "
                             f"got {fields['sample_byte_format']!r}")
    n_samples = int(fields["sample_count"])
    body = data[size: size + 2 * n_samples]
    if len(body) != 2 * n_samples or n_samples == 0:
        raise AudioDataError(f"{path}: the header announces {n_samples} samples, the file holds {len(body) // 2}")
    return _pcm16(body, order), int(fields["sample_rate"])


#: TI46 file names (LDC93S9 readme, section 3): word code, speaker, session, token, e.g. ``00f1set0``
#: (word "zero", female speaker 1, enrollment session, token 0) or ``09m8s3t1`` (word "nine", male speaker
#: 8, test session 3, token 1). Word codes ``00``-``09`` are the digits; the other 36 words are skipped.
TI46_NAME = re.compile(r"^(?P<word>[0-9a-z]{2})(?P<speaker>[fm][1-8])(?P<session>se|s[1-8])(?P<token>t\d)$",
                       re.IGNORECASE)


def parse_ti46_name(path: Path) -> tuple[str, str, str]:
    """(word code, speaker, session) of a TI46 file; the session is ``se`` (enrollment) or ``s1``-``s8``."""
    match = TI46_NAME.match(path.stem)
    if match is None:
        raise AudioDataError(f"{path}: not a TI46 file name <word><speaker><session><token> such as "
                             "'00f1set0.wav' (word 00-09 for the digits, speaker f1-f8/m1-m8, session se or "
                             "s1-s8, token t0-t9)")
    return match["word"].lower(), match["speaker"].lower(), match["session"].lower()


def load_ti46(folder: str | Path) -> SpokenDigits:
    """The digit utterances of every TI46 SPHERE file (``.wav`` or ``.sph``) under ``folder``.

    Point it at the corpus root or at ``ti20/`` (the ten digits and ten command words). Files of the other
    TI46 words (codes ``0A``-``0Z``, ``EN``, ``ER``, ...) are skipped; a file whose name does not follow the
    TI46 pattern (see :data:`TI46_NAME`) is an error. Utterance ids keep the session code, which
    :func:`split_ti46_official` uses.
    """
    folder = Path(folder)
    records = []
    for path in _audio_files(folder, {".wav", ".sph"}, recursive=True):
        word, speaker, _ = parse_ti46_name(path)
        if word.isdigit() and word[0] == "0":
            samples, rate = read_sphere(path)
            records.append((samples, rate, int(word[1]), speaker, path))
    if not records:
        raise AudioDataError(f"{folder}: TI46 files found, but none of a digit (word codes 00-09)")
    return _corpus(records)


# ---------------------------------------------------------------------------------------------- splits

def _check_fraction(test_fraction: float) -> None:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")


def _share(n: int, fraction: float) -> int:
    """How many of ``n`` go to test: the rounded fraction, but at least one and never all."""
    return min(n - 1, max(1, round(fraction * n)))


def _by_mask(corpus: SpokenDigits, test: np.ndarray) -> tuple[SpokenDigits, SpokenDigits]:
    return corpus.subset(np.flatnonzero(~test)), corpus.subset(np.flatnonzero(test))


def split_by_utterance(corpus: SpokenDigits, test_fraction: float = 0.3,
                       seed: int = 0) -> tuple[SpokenDigits, SpokenDigits]:
    """(train, test) like TI46's: every speaker in both, no utterance in both.

    Within each (speaker, digit) group, ``test_fraction`` of the utterances (rounded; at least one, never
    all) go to test, chosen at random from ``seed``. A group of one utterance stays in train. TI46 itself
    holds 16 test utterances for every 10 training ones (Rathi 3.3: ~1600 train, ~2500 test); the default
    0.3 is our choice, so that a corpus of 10 utterances per group keeps 7 of them to learn from.
    """
    _check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(corpus), dtype=bool)
    groups = sorted(set(zip(corpus.speakers.tolist(), corpus.labels.tolist())))
    for speaker, label in groups:
        members = np.flatnonzero((corpus.speakers == speaker) & (corpus.labels == label))
        if len(members) > 1:
            test[rng.permutation(members)[:_share(len(members), test_fraction)]] = True
    missing = sorted(set(corpus.speakers) - set(corpus.speakers[test]))  # train always keeps every speaker
    if missing:
        raise ValueError(f"speaker(s) {missing} have no digit with two or more utterances, so they cannot be "
                         "in both train and test; use split_by_speaker")
    return _by_mask(corpus, test)


def split_by_speaker(corpus: SpokenDigits, test_speakers: Sequence[str] | None = None,
                     test_fraction: float = 0.25, seed: int = 0) -> tuple[SpokenDigits, SpokenDigits]:
    """(train, test) with no speaker in both: ``test_speakers``, or ``test_fraction`` of the speakers
    (rounded; at least one, never all) drawn from ``seed``. The default 0.25 is our choice."""
    speakers = sorted(set(corpus.speakers.tolist()))
    if len(speakers) < 2:
        raise ValueError(f"a speaker-disjoint split needs two or more speakers, the corpus has {speakers}")
    if test_speakers is None:
        _check_fraction(test_fraction)
        order = np.random.default_rng(seed).permutation(len(speakers))
        test_speakers = [speakers[k] for k in order[:_share(len(speakers), test_fraction)]]
    unknown = sorted(set(test_speakers) - set(speakers))
    if unknown:
        raise ValueError(f"unknown test speaker(s) {unknown}; the corpus has {speakers}")
    if not test_speakers or set(test_speakers) == set(speakers):
        raise ValueError("test_speakers must name some of the speakers, not none and not all")
    return _by_mask(corpus, np.isin(corpus.speakers, list(test_speakers)))


def split_ti46_official(corpus: SpokenDigits) -> tuple[SpokenDigits, SpokenDigits]:
    """TI46's own (train, test): the enrollment session ``se`` (10 tokens per word and speaker) for training,
    the test sessions ``s1``-``s8`` (16 tokens) for testing. Needs a corpus from :func:`load_ti46`."""
    sessions = np.array([parse_ti46_name(Path(name))[2] for name in corpus.utterances])
    return _by_mask(corpus, sessions != "se")


# ----------------------------------------------------------------------------------- by description

SPLITS = ("utterance", "speaker", "ti46")

#: ``speaker:NAME[,NAME...]``: the named speakers are the test speakers, the others train.
NAMED_SPEAKERS = "speaker:"


def load_spoken_digits(source: str) -> SpokenDigits:
    """``"shipped"``, ``"fsdd:FOLDER"`` or ``"ti46:FOLDER"``: the corpus such a description names."""
    kind, _, folder = source.partition(":")
    if kind == "shipped" and not folder:
        return load_shipped()
    if kind in ("fsdd", "ti46") and folder:
        return load_fsdd_folder(folder) if kind == "fsdd" else load_ti46(folder)
    raise ValueError(f"audio source must be 'shipped', 'fsdd:FOLDER' or 'ti46:FOLDER', got {source!r}")


def named_test_speakers(split: str) -> list[str] | None:
    """The test speakers a split ``speaker:NAME[,NAME...]`` names (in its order, each once), None for the
    splits of :data:`SPLITS`; a malformed split is a ValueError. The names are checked against a corpus only
    when it is split."""
    if split in SPLITS:
        return None
    if not split.startswith(NAMED_SPEAKERS):
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or speaker:NAME[,NAME...], got {split!r}")
    names = [name.strip() for name in split[len(NAMED_SPEAKERS):].split(",")]
    if not all(names):
        raise ValueError(f"split {split!r}: expected speaker:NAME[,NAME...], test speakers separated by commas, "
                         "none empty")
    return list(dict.fromkeys(names))


def split_spoken_digits(corpus: SpokenDigits, split: str, seed: int = 0) -> tuple[SpokenDigits, SpokenDigits]:
    """(train, test) by ``split``: "utterance" (TI46-like, :func:`split_by_utterance`), "speaker"
    (:func:`split_by_speaker`, test speakers drawn from ``seed``), "speaker:NAME[,NAME...]" (those speakers
    test, the others train) or "ti46" (the corpus's own sessions, :func:`split_ti46_official`)."""
    named = named_test_speakers(split)
    if named is not None:
        return split_by_speaker(corpus, test_speakers=named)
    if split == "utterance":
        return split_by_utterance(corpus, seed=seed)
    if split == "speaker":
        return split_by_speaker(corpus, seed=seed)
    return split_ti46_official(corpus)


def shared_recordings(train: SpokenDigits, test: SpokenDigits) -> list[Path]:
    """The files of ``test`` whose samples (and sample rate) equal those of a file in ``train``: the same
    recording in both, whatever the files are called."""
    def key(waveform: np.ndarray, rate: int) -> str:
        return hashlib.sha256(np.int64(rate).tobytes() + np.ascontiguousarray(waveform).tobytes()).hexdigest()

    seen = {key(w, int(r)) for w, r in zip(train.waveforms, train.sample_rates)}
    return [path for w, r, path in zip(test.waveforms, test.sample_rates, test.paths) if key(w, int(r)) in seen]
