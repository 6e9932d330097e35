"""The multimodal study (``brainnets multimodal``) plans its arms, hands each its settings and data, and puts
their results together; the arms themselves are faked."""
import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from brainnets.checkpoint import RunFolderError
from brainnets.datasets import LabelledImages
from brainnets.spoken_digits import SpokenDigits
from brainnets.studies import arms, multimodal


@pytest.fixture(autouse=True)
def arms_in_this_process(monkeypatch):
    """The study's local cluster runs its arms in threads of this process, where their fakes are."""
    monkeypatch.setitem(arms.LOCAL_CLUSTER, "processes", False)


def parse(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    multimodal.add_arguments(parser)
    return parser.parse_args(words)


@pytest.mark.long_running
def test_multimodal_study_runs_every_arm_and_tabulates_them(tmp_path, monkeypatch):
    planned, data_given = {}, {}

    def run_arm_process(kind, settings, data, out):
        assert kind == "multimodal"
        name = "/".join(out.parts[out.parts.index("arms") + 1:])
        planned[name], data_given[name] = settings, data
        accuracy = 0.9 if "multimodal" in out.name else 0.7
        linear = {"accuracy": accuracy + 0.05}
        if out.name != "multimodal":
            return {"accuracy": accuracy, "readout": {"linear": linear}}
        return {"accuracy": accuracy, "accuracy_missing_audio": 0.75, "accuracy_missing_image": 0.8,
                "crossmodal": {"same_label_fraction": 0.6},
                "readout": {"linear": {**linear, "accuracy_missing_audio": 0.85, "accuracy_missing_image": 0.9}}}

    monkeypatch.setattr(multimodal, "run_arm_process", run_arm_process)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"sizes": [{"n_total": 100, "multimodal": 0.1}, {"n_total": 400}]}))
    options = ("--noise", "awgn", "--train", "50", "--out", str(tmp_path / "mm"), "--summary", str(summary))
    multimodal.run(parse(*options))
    assert sorted(planned) == ["audio_only", "image_only", "multimodal", "multimodal_no_crossmodal",
                               "noisy_awgn/image_only", "noisy_awgn/multimodal", "noisy_awgn/multimodal_no_crossmodal"]
    assert planned["multimodal_no_crossmodal"].crossmodal == "none" and planned["multimodal"].crossmodal == "stdp"
    assert (planned["image_only"].n_image, planned["image_only"].n_audio) == (100, 0)
    assert planned["noisy_awgn/multimodal"].image_noise == "awgn" and planned["multimodal"].image_noise == "none"
    assert {(arm.n_train, arm.n_test, arm.seed, arm.model) for arm in planned.values()} == {
        (50, 1000, 0, multimodal.DEFAULT_MODEL)}
    assert all(data == {"audio": "shipped", "split": "utterance", "validate": False} for data in data_given.values())
    document = json.loads((tmp_path / "mm" / "metrics.json").read_text())
    assert document["arms"]["multimodal"]["accuracy_missing_audio"] == 0.75
    assert document["command"] == ("brainnets multimodal --train 50 --noise awgn "
                                   f"--out {tmp_path / 'mm'} --summary {summary}")
    assert (tmp_path / "mm" / "accuracies.png").exists() and (tmp_path / "mm" / "cochleagram.png").exists()
    sizes = json.loads(summary.read_text())["sizes"]
    assert [entry["n_total"] for entry in sizes] == [100, 400]  # the earlier 100-neuron entry is replaced
    assert sizes[0]["multimodal"] == 0.9 and sizes[0]["missing_image"] == 0.8
    assert sizes[0]["noisy_awgn"] == {"image_only": 0.7, "multimodal_no_crossmodal": 0.9, "multimodal": 0.9}
    assert sizes[0]["crossmodal_same_label_fraction"] == 0.6 and sizes[0]["split"] == "utterance"
    vote, linear = sizes[0]["readout"]["vote"], sizes[0]["readout"]["linear"]
    assert vote["multimodal"] == 0.9 and vote["missing_image"] == 0.8 and vote["noisy_awgn"] == sizes[0]["noisy_awgn"]
    assert linear["image_only"] == pytest.approx(0.75) and linear["missing_audio"] == 0.85
    assert linear["noisy_awgn"] == pytest.approx({"image_only": 0.75, "multimodal_no_crossmodal": 0.95,
                                                  "multimodal": 0.95})
    assert "| multimodal | 90.0 % | 95.0 % | 75.0 % | 80.0 % |" in multimodal.table(document["arms"])
    assert "| audio_only | 70.0 % | 75.0 % |  |  |" in multimodal.table(document["arms"])
    with pytest.raises(SystemExit):
        parse("--split", "by-colour", "--out", str(tmp_path / "other"))
    with pytest.raises(RunFolderError):  # finished: never overwritten
        multimodal.run(parse("--out", str(tmp_path / "mm")))
    planned.clear()
    multimodal.run(parse("--arms", "audio_only", "multimodal", "--out", str(tmp_path / "two")))
    assert sorted(planned) == ["audio_only", "multimodal"]
    with pytest.raises(ValueError, match="--arms: no arm 'sound_only'"):
        multimodal.run(parse("--arms", "sound_only", "--out", str(tmp_path / "three")))


def test_the_main_jobs_table_shows_the_literal_models_committed_numbers_beside_the_tuned_ones():
    """Read from the package's reference/multimodal_literal.json for the main job's own configuration only."""
    literal = multimodal.literal_results(parse())
    assert literal is not None and set(literal) == {"image_only", "audio_only", "multimodal",
                                                     "multimodal_no_crossmodal"}
    assert multimodal.literal_results(parse("--model", multimodal.LITERAL_MODEL)) is None  # it is the literal model
    assert multimodal.literal_results(parse("--train", "77")) is None  # nothing committed for that configuration
    assert multimodal.literal_results(parse("--validate")) is None
    fsdd = multimodal.literal_results(parse("--audio", "fsdd:../shared/data/fsdd/recordings", "--train", "10000",
                                            "--test", "2000"))
    assert fsdd["audio_only"]["accuracy"] == 0.6095
    results = {"audio_only": {"accuracy": 0.9, "readout": {"linear": {"accuracy": 0.95}}}}
    row = next(line for line in multimodal.table(results, literal).splitlines() if line.startswith("| audio_only"))
    assert row == f"| audio_only | 90.0 % | 95.0 % |  |  | {100 * literal['audio_only']['accuracy']:.1f} % |  | 96.0 % |"


def test_multimodal_sweep_trains_each_arm_once_and_draws_figs_3_11_and_3_12(tmp_path, monkeypatch):
    planned = {}

    def run_arm_process(kind, settings, data, out):
        planned[out.name] = settings
        fraction = settings.crossmodal_fraction
        links = {"n_links": 90, "n_kept": 40, "same_label_fraction": 0.75, "same_label_weight_share": 0.8}
        return {"accuracy": 0.8 + (fraction or 0), "seed": settings.seed, "crossmodal_fraction": fraction,
                **({"crossmodal": links} if settings.crossmodal != "none" else {})}

    monkeypatch.setattr(multimodal, "run_arm_process", run_arm_process)
    multimodal.run(parse("--sweep", "--fractions", "0.1", "0.18", "--seeds", "0", "1", "--out", str(tmp_path / "sw")))
    assert set(planned) == {"manual_0.1_seed0", "manual_0.18_seed0", "no_crossmodal", "stdp_0.18_seed0",
                            "stdp_0.18_seed1", "stdp_0.1_seed0"}  # the model's 0.18, seed 0: trained once
    assert (planned["manual_0.1_seed0"].crossmodal, planned["manual_0.1_seed0"].crossmodal_fraction) == ("manual", 0.1)
    assert planned["no_crossmodal"].crossmodal_fraction is None  # the model's own
    assert planned["stdp_0.18_seed1"].seed == 1
    document = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert [point["accuracy"] for point in document["fractions"]["manual"]] == pytest.approx([0.9, 0.98])
    assert [(run["seed"], run["correct"], run["incorrect"]) for run in document["seeds"]] == [(0, 30, 10), (1, 30, 10)]
    assert document["no_crossmodal"] == 0.8
    assert (tmp_path / "sw" / "fig3_11_fractions.png").exists() and (tmp_path / "sw" / "fig3_12_links.png").exists()
    with pytest.raises(RunFolderError):  # finished: never overwritten
        multimodal.run(parse("--sweep", "--out", str(tmp_path / "sw"), "--resume"))


def test_an_arm_runs_from_its_settings_file_with_the_settings_and_data_the_study_planned(tmp_path, monkeypatch):
    """The arm's process (``brainnets run-arm``, here in this one) gets back the study's settings, and with
    --validate never the test set."""
    experiments = []

    class Experiment:
        def __init__(self, settings, images, audio, out, resume, progress):
            experiments.append(dict(settings=settings, images=images, audio=audio, out=out, resume=resume))
            self.out = out

        def run(self):
            (self.out / "metrics.json").parent.mkdir(parents=True)
            (self.out / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
            return {"accuracy": 0.5}

    class ArmHere:
        """Stands in for the arm's process: runs its ``brainnets run-arm ...`` in this one."""

        def __init__(self, command):
            self.command = command

        def __enter__(self):
            return self

        def __exit__(self, *exception):
            return False

        def wait(self):
            parser = argparse.ArgumentParser()
            arms.add_arguments(parser)
            return arms.run(parser.parse_args(self.command[self.command.index("run-arm") + 1:]))

    monkeypatch.setattr(multimodal, "MultimodalExperiment", Experiment)
    monkeypatch.setattr(arms.subprocess, "Popen", ArmHere)
    args = parse("--validate", "--split", "speaker", "--seed", "3", "--train", "40", "--test", "20", "--assign", "30")
    settings = multimodal.arm_settings(args, {"n_image": 10, "n_audio": 6, "crossmodal": "manual",
                                              "crossmodal_fraction": 0.25})
    data = {"audio": args.audio, "split": args.split, "validate": args.validate}
    out = tmp_path / "arms" / "multimodal"
    assert arms.run_arm_process("multimodal", settings, data, out) == {"accuracy": 0.5}
    (arm,) = experiments
    assert arm["settings"] == settings and arm["out"] == out and not arm["resume"]
    assert settings.audio == "shipped (speaker split, held-out validation)" and settings.n_assign == 30
    fit_images, scored_images = arm["images"]
    assert (len(fit_images), len(scored_images)) == (multimodal.FIRST_HELD_OUT, 60000 - multimodal.FIRST_HELD_OUT)
    fit_audio, scored_audio = arm["audio"]
    assert set(fit_audio.speakers).isdisjoint(scored_audio.speakers)
    assert json.loads(arms.arm_file(out).read_text())["settings"] == dataclasses.asdict(settings)


def test_multimodal_validation_never_trains_or_scores_on_what_it_should_not():
    images = LabelledImages(np.arange(60000 * 4, dtype=np.uint8).reshape(60000, 2, 2), np.arange(60000) % 10)
    n = 120
    utterances = np.array([f"{k % 10}_s{k % 3}_{k}" for k in range(n)])
    corpus = SpokenDigits(tuple(np.zeros(8, dtype=np.float32) for _ in range(n)), np.full(n, 8000),
                          np.arange(n) % 10, np.array([f"s{k % 3}" for k in range(n)]), utterances,
                          tuple(Path(f"{u}.wav") for u in utterances))
    (fit_images, scored_images), (fit_audio, scored_audio) = multimodal.held_out(images, corpus, "ti46", seed=0)
    assert len(fit_images) == 50000 and len(scored_images) == 10000
    assert scored_images.labels[0] == images.labels[50000]
    assert set(fit_audio.utterances).isdisjoint(scored_audio.utterances)
    assert set(fit_audio.utterances) | set(scored_audio.utterances) == set(utterances)


def fsdd_folder(folder: Path, speakers: list[str], per_digit: int = 2, offset: int = 0) -> Path:
    """A corpus in the FSDD layout: a different tone for every file (no recording twice)."""
    import wave
    folder.mkdir(parents=True)
    for s, speaker in enumerate(speakers):
        for digit in range(10):
            for index in range(per_digit):
                pitch = 1 + offset + s * 100 + digit * 10 + index
                with wave.open(str(folder / f"{digit}_{speaker}_{index}.wav"), "wb") as handle:
                    handle.setnchannels(1), handle.setsampwidth(2), handle.setframerate(8000)
                    handle.writeframes((3000 * np.sin(np.arange(400) * pitch / 500)).astype(np.int16).tobytes())
    return folder


def test_speakers_study_holds_out_each_speaker_in_turn_beside_the_utterance_split(tmp_path, monkeypatch):
    corpus = fsdd_folder(tmp_path / "corpus", ["ann", "bob", "cy"])
    planned, data_given, failing = {}, {}, {"cy/multimodal"}

    def run_arm_process(kind, settings, data, out):
        name = str(out.relative_to(tmp_path / "loso" / "arms"))
        if name in failing:
            raise RuntimeError("killed")  # the study stops here; --resume continues it
        planned[name], data_given[name] = settings, data
        accuracy = {"ann": 0.5, "bob": 0.6, "cy": 0.7, "utterance_split": 0.9}[out.parent.name]
        accuracy += 0.1 if out.name == "multimodal" else 0.0
        used = {"pairing": settings.test_pairing, "available": 20, "scored": 20, "most_uses": 2, "speakers": []}
        extra = ({"accuracy_missing_audio": 0.4, "accuracy_missing_image": accuracy - 0.2}
                 if out.name == "multimodal" else {})
        return {"accuracy": accuracy, "test_pairing": settings.test_pairing, "test_utterances": used, **extra}

    monkeypatch.setattr(multimodal, "run_arm_process", run_arm_process)
    filled = []
    monkeypatch.setattr(multimodal, "fill_cache", lambda audio, *args, **kwargs: filled.append(len(audio)))
    options = ("--speakers", "--audio", f"fsdd:{corpus}", "--train", "50", "--jobs", "1",
               "--out", str(tmp_path / "loso"))
    with pytest.raises(RuntimeError, match="killed"):
        multimodal.run(parse(*options))
    failing.clear()
    with pytest.raises(RunFolderError, match="add --resume"):
        multimodal.run(parse(*options))
    document = multimodal.run(parse(*options, "--resume"))
    folds = ["ann", "bob", "cy", "utterance_split"]
    assert sorted(planned) == [f"{fold}/{arm}" for fold in folds for arm in ("audio_only", "multimodal")]
    assert {name: data["split"] for name, data in data_given.items() if name.endswith("audio_only")} == {
        "ann/audio_only": "speaker:ann", "bob/audio_only": "speaker:bob", "cy/audio_only": "speaker:cy",
        "utterance_split/audio_only": "utterance"}
    assert all(set(data) == {"audio", "split", "validate"} for data in data_given.values())
    assert (planned["bob/multimodal"].n_image, planned["bob/multimodal"].n_audio) == (50, 50)
    assert (planned["bob/audio_only"].n_image, planned["bob/audio_only"].n_audio) == (0, 100)
    assert {arm.test_pairing for arm in planned.values()} == {"each_once"}
    assert planned["cy/audio_only"].audio == f"fsdd:{corpus} (speaker:cy split)"
    assert planned["cy/audio_only"].n_train == 50
    assert filled == [60, 60]  # the corpus' cochleagrams computed once per call of the study, not per arm
    saved = json.loads((tmp_path / "loso" / "speakers.json").read_text())
    assert saved == json.loads(json.dumps(document))
    assert list(saved["held_out_speakers"]) == ["ann", "bob", "cy"]
    assert saved["held_out_speakers"]["bob"]["multimodal"]["accuracy"] == pytest.approx(0.7)
    assert saved["held_out_speakers"]["bob"]["audio_only"]["test_utterances"]["scored"] == 20
    assert saved["over_speakers"]["audio_only"]["accuracy"] == pytest.approx({"mean": 0.6, "min": 0.5, "max": 0.7})
    assert saved["over_speakers"]["multimodal"]["accuracy_missing_image"]["mean"] == pytest.approx(0.5)
    assert "accuracy_missing_audio" not in saved["over_speakers"]["audio_only"]
    assert saved["reference_split"] == "utterance" and saved["reference"]["multimodal"]["accuracy"] == 1.0
    assert saved["test_pairing"] == "each_once" and saved["n_train"] == 50
    assert saved["command"] == (f"brainnets multimodal --audio fsdd:{corpus} --train 50 --jobs 1 "
                                f"--out {tmp_path / 'loso'} --resume --speakers")
    with pytest.raises(RunFolderError, match="speakers.json"):  # finished: never overwritten
        multimodal.run(parse(*options, "--resume"))
    for wrong, message in ((("--noise", "awgn"), "leave out --sweep, --noise"),
                           (("--split", "speaker:ann"), "holds out each speaker in turn")):
        with pytest.raises(ValueError, match=message):
            multimodal.run(parse(*options[:-1], str(tmp_path / "other"), *wrong))


def test_named_test_speakers_and_another_corpus_to_score_on(tmp_path, monkeypatch):
    corpus = fsdd_folder(tmp_path / "corpus", ["ann", "bob", "cy"])
    elsewhere = fsdd_folder(tmp_path / "elsewhere", ["dee"], offset=7)
    given = {}

    def run_arm_process(kind, settings, data, out):
        given[out.name] = (settings, data)
        return {"accuracy": 0.5, "accuracy_missing_audio": 0.5, "accuracy_missing_image": 0.5,
                "crossmodal": {"same_label_fraction": 0.5}}

    monkeypatch.setattr(multimodal, "run_arm_process", run_arm_process)
    filled = []
    monkeypatch.setattr(multimodal, "fill_cache", lambda audio, *args, **kwargs: filled.append(set(audio.speakers)))
    with pytest.raises(ValueError, match=r"unknown test speaker\(s\) \['eve'\]; the corpus has \['ann', 'bob', 'cy'\]"):
        multimodal.run(parse("--audio", f"fsdd:{corpus}", "--split", "speaker:eve", "--out", str(tmp_path / "a")))
    assert not given and not (tmp_path / "a").exists()  # before any arm, before the folder
    with pytest.raises(SystemExit):
        parse("--split", "speaker:,ann")
    with pytest.raises(ValueError, match="of its recordings are also training utterances"):
        multimodal.run(parse("--audio", f"fsdd:{corpus}", "--test-audio", f"fsdd:{corpus}",
                             "--out", str(tmp_path / "b")))
    multimodal.run(parse("--audio", f"fsdd:{corpus}", "--split", "speaker:ann,cy", "--test-audio", f"fsdd:{elsewhere}",
                         "--out", str(tmp_path / "c")))
    settings, data = given["audio_only"]
    assert data == {"audio": f"fsdd:{corpus}", "split": "speaker:ann,cy", "validate": False,
                    "test_audio": f"fsdd:{elsewhere}"}
    assert settings.test_pairing == "each_once"
    assert settings.audio == f"fsdd:{corpus} (speaker:ann,cy split); test utterances from fsdd:{elsewhere}"
    assert filled == [{"ann", "bob", "cy"}, {"dee"}]
    assert multimodal.arm_settings(parse("--split", "speaker:ann"), {}).test_pairing == "each_once"
    assert multimodal.arm_settings(parse("--split", "speaker"), {}).test_pairing == "random"
    chosen = parse("--split", "speaker:ann", "--test-pairing", "random")
    assert multimodal.arm_settings(chosen, {}).test_pairing == "random"

    experiments = []  # the arm's own process: trained on bob's utterances, tested on all of dee's

    class Experiment:
        def __init__(self, settings, images, audio, out, resume, progress):
            experiments.append(audio)

        def run(self):
            return {"accuracy": 0.5}

    monkeypatch.setattr(multimodal, "MultimodalExperiment", Experiment)
    multimodal.run_arm(dataclasses.asdict(settings), data, tmp_path / "arm", resume=False, progress=False)
    multimodal.run_arm(dataclasses.asdict(settings), {**data, "validate": True}, tmp_path / "arm", resume=False,
                       progress=False)
    multimodal.run_arm(dataclasses.asdict(settings), {**data, "split": "speaker:ann", "validate": True},
                       tmp_path / "arm", resume=False, progress=False)
    (train, test), (fit, scored), (fit_two, scored_two) = experiments
    assert set(train.speakers) == {"bob"} and set(test.speakers) == {"dee"} and len(test) == 20
    # validation never sees the test speakers: a training speaker held out, or with one left its utterances
    assert set(fit.speakers) | set(scored.speakers) == {"bob"} and not set(fit.utterances) & set(scored.utterances)
    assert set(fit_two.speakers) | set(scored_two.speakers) == {"bob", "cy"}
    assert not set(fit_two.speakers) & set(scored_two.speakers)
