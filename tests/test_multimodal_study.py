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


def parse(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    multimodal.add_arguments(parser)
    return parser.parse_args(words)


def test_multimodal_study_runs_every_arm_and_tabulates_them(tmp_path, monkeypatch):
    planned, data_given = {}, {}

    def run_arm_process(kind, settings, data, out):
        assert kind == "multimodal"
        name = str(out.relative_to(tmp_path / "mm" / "arms"))
        planned[name], data_given[name] = settings, data
        accuracy = 0.9 if "multimodal" in out.name else 0.7
        if out.name != "multimodal":
            return {"accuracy": accuracy}
        return {"accuracy": accuracy, "accuracy_missing_audio": 0.75, "accuracy_missing_image": 0.8,
                "crossmodal": {"same_label_fraction": 0.6}}

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
    with pytest.raises(SystemExit):
        parse("--split", "by-colour", "--out", str(tmp_path / "other"))
    with pytest.raises(RunFolderError):  # finished: never overwritten
        multimodal.run(parse("--out", str(tmp_path / "mm")))


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

    def run_arm_here(command, check):
        parser = argparse.ArgumentParser()
        arms.add_arguments(parser)
        arms.run(parser.parse_args(command[command.index("run-arm") + 1:]))

    monkeypatch.setattr(multimodal, "MultimodalExperiment", Experiment)
    monkeypatch.setattr(arms.subprocess, "run", run_arm_here)
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
