"""End to end: the unimodal experiment learns, checkpoints, resumes exactly, and protects results."""
import json

import numpy as np
import pytest

from brainnets.stdp.experiment import ExperimentError, Settings, UnimodalExperiment

MODEL = "models/diehl_cook_2015.toml"


def test_small_training_run_beats_chance_by_a_wide_margin(mnist_train, mnist_test, tmp_path):
    settings = Settings(model=MODEL, n_exc=100, n_train=1000, n_test=500, seed=1, device="cpp")
    metrics = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "run", progress=False).run()
    assert metrics["accuracy"] > 0.35, metrics  # chance is 0.10
    for name in ("metrics.json", "receptive_fields.png", "confusion.png", "network.npz", "settings.json"):
        assert (tmp_path / "run" / name).exists(), name
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
    stored = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("accuracy", "n_exc", "n_train", "n_test", "epochs", "train_seconds", "train_ms_per_image",
                "eval_seconds", "seed", "device", "brian2_version"):
        assert key in stored, key
    assert np.array(stored["confusion_matrix"]).sum() == 500
    with pytest.raises(ExperimentError, match="finished run"):
        UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "run")


class Interrupted(Exception):
    pass


def test_a_killed_run_resumes_to_the_same_result(mnist_train, mnist_test, tmp_path, monkeypatch):
    settings = Settings(model=MODEL, n_exc=20, n_train=120, n_test=60, seed=5, device="cpp",
                        slots_per_run=40, checkpoint_seconds=0.0)
    whole = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "whole", progress=False).run()

    broken = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", progress=False)
    broken.build()
    present, calls = broken.sim.present, []

    def dies_on_the_fifth_run(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # inside the assignment phase
            raise Interrupted
        return present(*args, **kwargs)

    monkeypatch.setattr(broken.sim, "present", dies_on_the_fifth_run)
    with pytest.raises(Interrupted):
        broken.run()
    assert (tmp_path / "broken" / "checkpoint.npz").exists()
    with pytest.raises(ExperimentError, match="add --resume"):
        UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken")
    resumed = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", resume=True,
                                 progress=False).run()
    for key in ("accuracy", "confusion_matrix", "neurons_assigned_per_class", "connectivity"):
        assert resumed[key] == whole[key], key
    np.testing.assert_array_equal(np.load(tmp_path / "broken" / "network.npz")["weights"],
                                  np.load(tmp_path / "whole" / "network.npz")["weights"])


def test_resume_refuses_different_settings(mnist_train, mnist_test, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"")
    (out / "settings.json").write_text(json.dumps(Settings(model=MODEL, n_exc=20).identity()))
    with pytest.raises(ExperimentError, match="different settings"):
        UnimodalExperiment(Settings(model=MODEL, n_exc=30), mnist_train, mnist_test, out, resume=True)
    with pytest.raises(ExperimentError, match="no checkpoint"):
        UnimodalExperiment(Settings(model=MODEL), mnist_train, mnist_test, tmp_path / "absent", resume=True)


@pytest.mark.parametrize("field, value", [("n_exc", 0), ("epochs", 0), ("device", "tpu")])
def test_settings_are_checked(field, value):
    with pytest.raises(ValueError, match=field if field != "device" else "device"):
        Settings(model=MODEL, **{field: value})


def test_script_reports_bad_input_in_one_line(tmp_path, capsys, script):
    status = script("train_unimodal").main(["--model", str(tmp_path / "absent.toml"), "--train", "10", "--test", "10",
                                  "--out", str(tmp_path / "out")])
    assert status == 2
    assert "error: model file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
