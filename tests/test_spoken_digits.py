import hashlib
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from brainnets.cli import build_parser, main
from brainnets.spoken_digits import (AudioDataError, load_fsdd_folder, load_shipped, load_ti46, read_sphere,
                                     shared_recordings, shipped_folder, split_by_speaker, split_by_utterance,
                                     split_spoken_digits, split_ti46_official)
from brainnets.studies import make_spoken_digits

FSDD_RECORDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd" / "recordings"


@pytest.fixture(scope="module")
def shipped():
    return load_shipped()


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, width: int = 2, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    return path


def write_sphere(path: Path, samples: np.ndarray, rate: int = 12500, *, coding: str = "pcm", n_bytes: int = 2,
                 byte_format: str = "01", channels: int = 1) -> Path:
    fields = [f"sample_count -i {len(samples) // channels}", f"sample_rate -i {rate}",
              f"channel_count -i {channels}", f"sample_n_bytes -i {n_bytes}",
              f"sample_byte_format -s{len(byte_format)} {byte_format}", f"sample_coding -s{len(coding)} {coding}",
              "end_head"]
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode().ljust(1024, b" ")
    order = "<" if byte_format == "01" else ">"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + samples.astype(f"{order}i2").tobytes())
    return path


def tone(n: int = 800) -> np.ndarray:
    return (8000 * np.sin(np.arange(n) / 5)).astype(np.int16)


# --------------------------------------------------------------------------------------------- SPHERE

@pytest.mark.parametrize("byte_format", ["01", "10"])
def test_sphere_reader_reads_16_bit_pcm_in_either_byte_order(tmp_path, byte_format):
    samples = tone()
    read, rate = read_sphere(write_sphere(tmp_path / "x.sph", samples, byte_format=byte_format))
    assert rate == 12500 and read.dtype == np.float32
    np.testing.assert_array_equal(read, samples / 32768.0)


@pytest.mark.parametrize("options, message", [
    ({"coding": "pcm,embedded-shorten-v2.00"}, "shorten-compressed"),
    ({"n_bytes": 1}, "expected 16-bit mono PCM, got 8-bit"),
    ({"channels": 2}, "in 2 channel"),
    ({"coding": "ulaw"}, "expected sample_coding 'pcm'"),
])
def test_sphere_reader_names_the_file_and_the_unsupported_format(tmp_path, options, message):
    path = write_sphere(tmp_path / "00f1set0.wav", tone(), **options)
    with pytest.raises(AudioDataError, match=message) as error:
        read_sphere(path)
    assert "00f1set0.wav" in str(error.value)


def test_sphere_reader_rejects_other_files_and_truncation(tmp_path):
    riff = write_wav(tmp_path / "riff.wav", tone())
    with pytest.raises(AudioDataError, match="not a NIST SPHERE file"):
        read_sphere(riff)
    path = write_sphere(tmp_path / "cut.sph", tone())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(AudioDataError, match="announces 800 samples, the file holds 750"):
        read_sphere(path)


def test_ti46_loader_keeps_the_digits_and_the_official_sessions(tmp_path):
    root = tmp_path / "ti46" / "ti20"
    for speaker in ("f1", "m3"):
        for word in ("00", "07", "EN"):  # EN ("enter") is a command word: skipped
            for name in (f"{word}{speaker}set0", f"{word}{speaker}set1", f"{word}{speaker}s1t0"):
                folder = "train" if "se" in name else "test"
                write_sphere(root / folder / speaker / f"{name}.wav", tone())
    corpus = load_ti46(tmp_path / "ti46")
    assert len(corpus) == 12 and sorted(set(corpus.labels.tolist())) == [0, 7]
    assert set(corpus.speakers) == {"f1", "m3"} and set(corpus.sample_rates) == {12500}
    train, test = split_ti46_official(corpus)
    assert len(train) == 8 and len(test) == 4
    assert all("set" in u for u in train.utterances) and all("s1t0" in u for u in test.utterances)


def test_ti46_loader_errors(tmp_path):
    write_sphere(tmp_path / "ENf1set0.wav", tone())
    with pytest.raises(AudioDataError, match="none of a digit"):
        load_ti46(tmp_path)
    write_sphere(tmp_path / "zero_f1.wav", tone())
    with pytest.raises(AudioDataError, match="zero_f1.wav: not a TI46 file name"):
        load_ti46(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioDataError, match="no .sph or .wav files anywhere under"):
        load_ti46(tmp_path / "empty")


# ----------------------------------------------------------------------------------------------- FSDD

def test_shipped_corpus_is_complete_and_balanced(shipped):
    assert len(shipped) == 1200
    assert len(set(shipped.speakers)) == 12
    assert np.bincount(shipped.labels).tolist() == [120] * 10
    assert set(shipped.sample_rates.tolist()) == {8000}
    assert len(set(shipped.utterances)) == 1200
    assert all(w.dtype == np.float32 and 0 < np.abs(w).max() <= 1 for w in shipped.waveforms)


def test_shipped_corpus_checksums_catch_a_changed_file(tmp_path):
    source = shipped_folder()
    names = ["0_en-us-f1_0.wav", "1_en-us-f1_0.wav", "2_en-gb-m3_3.wav"]
    target = tmp_path / "spoken_digits"
    target.mkdir()
    listing = {line.split("  ")[1]: line for line in (source / "SHA256SUMS").read_text().splitlines()}
    (target / "SHA256SUMS").write_text("".join(listing[name] + "\n" for name in names))
    for name in names:
        shutil.copy(source / name, target / name)
    assert len(load_shipped(tmp_path)) == 3
    damaged = bytearray((target / names[1]).read_bytes())
    damaged[500] ^= 0xFF
    (target / names[1]).write_bytes(bytes(damaged))
    with pytest.raises(AudioDataError, match="1_en-us-f1_0.wav: SHA-256 does not match"):
        load_shipped(tmp_path)
    (target / names[1]).unlink()
    with pytest.raises(AudioDataError, match="1_en-us-f1_0.wav: listed in .* but missing"):
        load_shipped(tmp_path)


def test_free_spoken_digit_dataset_loads():
    if not FSDD_RECORDINGS.is_dir():
        print(f"FSDD not found at {FSDD_RECORDINGS}; skipping")
        pytest.skip(f"FSDD recordings not found at {FSDD_RECORDINGS}")
    corpus = load_fsdd_folder(FSDD_RECORDINGS)
    assert len(corpus) == 2000
    assert set(corpus.speakers) == {"jackson", "nicolas", "theo", "yweweler"}
    assert np.bincount(corpus.labels).tolist() == [200] * 10
    assert set(corpus.sample_rates.tolist()) == {8000}


def test_fsdd_loader_reads_names_with_underscored_speakers(tmp_path):
    write_wav(tmp_path / "4_mary_ann_7.wav", tone())
    (tmp_path / "README.md").write_text("ignored")
    corpus = load_fsdd_folder(tmp_path)
    assert corpus.labels.tolist() == [4] and corpus.speakers.tolist() == ["mary_ann"]
    assert corpus.utterances.tolist() == ["4_mary_ann_7"]


@pytest.mark.parametrize("name, message", [
    ("x_jackson_0.wav", "label 'x' from the file name is not a digit 0-9"),
    ("12_jackson_0.wav", "label '12' from the file name is not a digit 0-9"),
    ("jackson.wav", r"expected a name \{digit\}_\{speaker\}_\{index\}.wav"),
])
def test_fsdd_loader_rejects_names_without_a_digit_label(tmp_path, name, message):
    write_wav(tmp_path / name, tone())
    with pytest.raises(AudioDataError, match=message):
        load_fsdd_folder(tmp_path)


def test_fsdd_loader_rejects_empty_and_missing_folders(tmp_path):
    with pytest.raises(AudioDataError, match="no .wav files in this folder"):
        load_fsdd_folder(tmp_path)
    with pytest.raises(AudioDataError, match="folder not found"):
        load_fsdd_folder(tmp_path / "absent")


def test_fsdd_loader_rejects_corrupt_and_unsupported_wavs(tmp_path):
    (tmp_path / "1_a_0.wav").write_bytes(b"RIFF\x00\x01garbage that is not a wave file")
    with pytest.raises(AudioDataError, match="1_a_0.wav: cannot read it as a PCM WAV file"):
        load_fsdd_folder(tmp_path)
    (tmp_path / "1_a_0.wav").unlink()
    write_wav(tmp_path / "2_a_0.wav", (tone() // 256 + 128).astype(np.uint8), width=1)
    with pytest.raises(AudioDataError, match="2_a_0.wav: expected 16-bit mono PCM, got 8-bit"):
        load_fsdd_folder(tmp_path)
    (tmp_path / "2_a_0.wav").unlink()
    write_wav(tmp_path / "3_a_0.wav", tone(), channels=2)
    with pytest.raises(AudioDataError, match="3_a_0.wav: expected 16-bit mono PCM, got 16-bit samples in 2"):
        load_fsdd_folder(tmp_path)
    (tmp_path / "3_a_0.wav").unlink()
    path = write_wav(tmp_path / "4_a_0.wav", tone())
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(AudioDataError, match="4_a_0.wav: truncated"):
        load_fsdd_folder(tmp_path)


# --------------------------------------------------------------------------------------------- splits

def test_utterance_split_is_ti46_like(shipped):
    train, test = split_by_utterance(shipped, test_fraction=0.3, seed=1)
    assert set(train.speakers) == set(test.speakers) == set(shipped.speakers)
    assert not set(train.utterances) & set(test.utterances)
    assert len(train) + len(test) == len(shipped) and len(test) == 12 * 10 * 3
    for label in range(10):
        assert (train.labels == label).any() and (test.labels == label).any()
    again, _ = split_by_utterance(shipped, test_fraction=0.3, seed=1)
    other, _ = split_by_utterance(shipped, test_fraction=0.3, seed=2)
    assert again.utterances.tolist() == train.utterances.tolist()
    assert other.utterances.tolist() != train.utterances.tolist()


def test_utterance_split_needs_repeated_utterances(shipped):
    singles = shipped.subset([k for k, u in enumerate(shipped.utterances) if u.endswith("_0")])
    with pytest.raises(ValueError, match="no digit with two or more utterances"):
        split_by_utterance(singles)
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_utterance(shipped, test_fraction=1.0)


def test_speaker_split_is_speaker_disjoint(shipped):
    train, test = split_by_speaker(shipped, test_fraction=0.25, seed=3)
    assert not set(train.speakers) & set(test.speakers)
    assert len(set(test.speakers)) == 3 and len(train) + len(test) == len(shipped)
    chosen_train, chosen_test = split_by_speaker(shipped, test_speakers=["en-us-f1", "en-gb-m3"])
    assert set(chosen_test.speakers) == {"en-us-f1", "en-gb-m3"} and len(chosen_test) == 200
    with pytest.raises(ValueError, match="unknown test speaker"):
        split_by_speaker(shipped, test_speakers=["nobody"])


def test_named_speaker_split_tests_those_speakers_and_trains_on_the_others(shipped):
    train, test = split_spoken_digits(shipped, "speaker:en-us-f1, en-gb-m3,en-us-f1", seed=7)
    assert set(test.speakers) == {"en-us-f1", "en-gb-m3"} and len(test) == 200
    assert set(train.speakers) == set(shipped.speakers) - {"en-us-f1", "en-gb-m3"} and len(train) == 1000
    assert split_spoken_digits(shipped, "speaker:en-us-f1", seed=1)[1].utterances.tolist() == \
        split_spoken_digits(shipped, "speaker:en-us-f1", seed=2)[1].utterances.tolist()  # named: no draw
    drawn = split_spoken_digits(shipped, "speaker", seed=3)[1]  # "utterance" and "speaker" as before
    assert drawn.utterances.tolist() == split_by_speaker(shipped, seed=3)[1].utterances.tolist()
    assert split_spoken_digits(shipped, "utterance", seed=1)[1].utterances.tolist() == \
        split_by_utterance(shipped, seed=1)[1].utterances.tolist()


@pytest.mark.parametrize("split, message", [
    ("speaker:nobody", r"unknown test speaker\(s\) \['nobody'\]; the corpus has \['en-029-m4', 'en-gb-f2'"),
    ("speaker:en-us-f1,", "speaker:NAME"),
    ("speaker:", "speaker:NAME"),
    ("speakers:en-us-f1", "split must be one of utterance, speaker, ti46 or speaker:NAME"),
    ("by-colour", "split must be one of"),
])
def test_a_bad_split_is_one_line_naming_what_is_wrong(shipped, split, message):
    with pytest.raises(ValueError, match=message) as error:
        split_spoken_digits(shipped, split)
    assert "\n" not in str(error.value)


def test_every_speaker_named_leaves_none_to_train(shipped):
    every = ",".join(sorted(set(shipped.speakers)))
    with pytest.raises(ValueError, match="not none and not all"):
        split_spoken_digits(shipped, f"speaker:{every}")


def test_shared_recordings_are_found_by_their_samples_whatever_their_names(tmp_path, shipped):
    write_wav(tmp_path / "0_copy_0.wav", (shipped.waveforms[5] * 32768).astype(np.int16))
    write_wav(tmp_path / "1_copy_0.wav", tone())
    other = load_fsdd_folder(tmp_path)
    assert shared_recordings(shipped, other) == [tmp_path / "0_copy_0.wav"]
    assert shared_recordings(shipped.subset(range(5)), other) == []


def test_loaded_waveforms_match_the_file_bytes(shipped):
    k = 0
    raw = shipped.paths[k].read_bytes()
    assert hashlib.sha256(raw).hexdigest() in (shipped_folder() / "SHA256SUMS").read_text()
    pcm = np.frombuffer(raw[44:], dtype="<i2")
    np.testing.assert_array_equal(shipped.waveforms[k], pcm / 32768.0)


# ---------------------------------------------------------------------------- brainnets make-spoken-digits

def test_make_spoken_digits_writes_to_the_package_and_never_over_the_shipped_corpus(capsys):
    assert Path(build_parser().parse_args(["make-spoken-digits"]).out) == shipped_folder()
    assert main(["make-spoken-digits"]) == 2
    assert f"{shipped_folder()} already holds 1200 WAV files; pass --overwrite" in capsys.readouterr().err
    assert len(load_shipped()) == 1200


def test_make_spoken_digits_says_when_espeak_ng_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(make_spoken_digits.shutil, "which", lambda name: None)
    assert main(["make-spoken-digits", "--out", str(tmp_path / "corpus")]) == 2
    assert "error: espeak-ng is not installed" in capsys.readouterr().err
    assert not (tmp_path / "corpus").exists()


def test_make_spoken_digits_writes_a_checked_fsdd_folder(tmp_path, monkeypatch):
    """The whole corpus with espeak-ng faked by a tone between two silences: names, checksums, README."""
    words = []

    def synthesize(binary, word, voice, pitch, speed, amplitude):
        words.append((word, voice))
        return np.concatenate([np.zeros(2000), tone(4000) / 32768.0 * amplitude / 100, np.zeros(2000)]), 22050

    monkeypatch.setattr(make_spoken_digits, "espeak_binary", lambda: "espeak-ng")
    monkeypatch.setattr(make_spoken_digits, "espeak_version", lambda binary: "1.51")
    monkeypatch.setattr(make_spoken_digits, "synthesize", synthesize)
    out = tmp_path / "spoken_digits"
    assert main(["make-spoken-digits", "--out", str(out), "--per-digit", "1", "--seed", "5"]) == 0
    assert len(words) == 120 and ("seven", "en-gb+klatt4") in words
    assert len(load_shipped(tmp_path)) == 120  # every file listed in SHA256SUMS, with its digest
    corpus = load_fsdd_folder(out)
    assert np.bincount(corpus.labels).tolist() == [12] * 10 and set(corpus.sample_rates.tolist()) == {8000}
    readme = (out / "README.md").read_text()
    assert "brainnets make-spoken-digits --per-digit 1 --seed 5" in readme and "1.51" in readme
    assert main(["make-spoken-digits", "--out", str(out), "--per-digit", "1"]) == 2  # not over it
