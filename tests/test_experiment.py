"""End to end: the unimodal experiment learns, checkpoints, resumes exactly, and protects results."""
import json
import shutil

import numpy as np
import pytest

from brainnets.resources import model_file
from brainnets.stdp.phases import model_digest
from brainnets.checkpoint import RunFolderError, load_arrays, save_arrays_atomic
from brainnets.datasets import LabelledImages
from brainnets.cli import main
from brainnets.stdp.compression import Compression
from brainnets.stdp.experiment import ExperimentError, Settings, UnimodalExperiment, training_order

MODEL = "diehl_cook_2015"


def test_training_order_is_the_file_order_or_a_fresh_permutation_per_epoch():
    assert training_order(4, 2, "dataset", seed=0).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    shuffled = training_order(100, 2, "shuffled", seed=0)
    first, second = shuffled[:100], shuffled[100:]
    assert sorted(first) == sorted(second) == list(range(100))
    assert first.tolist() != list(range(100)) and first.tolist() != second.tolist()
    assert shuffled.tolist() == training_order(100, 2, "shuffled", seed=0).tolist()
    assert shuffled.tolist() != training_order(100, 2, "shuffled", seed=1).tolist()


@pytest.mark.long_running
def test_small_training_run_beats_chance_by_a_wide_margin(mnist_train, mnist_test, tmp_path):
    settings = Settings(model=MODEL, n_exc=100, n_train=1000, n_test=500, seed=1, device="cpp")
    metrics = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "run", progress=False).run()
    assert metrics["accuracy"] > 0.35, metrics  # chance is 0.10
    for name in ("metrics.json", "receptive_fields.png", "confusion.png", "network.npz", "settings.json"):
        assert (tmp_path / "run" / name).exists(), name
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
    told = json.loads((tmp_path / "run" / "progress.json").read_text())  # what a study's progress bar reads
    assert told["total"] >= 1500 and told["done"] <= told["total"]
    stored = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("accuracy", "n_exc", "n_train", "n_test", "epochs", "train_seconds", "train_ms_per_image",
                "eval_seconds", "seed", "device", "brian2_version"):
        assert key in stored, key
    assert np.array(stored["confusion_matrix"]).sum() == 500
    assert stored["readout"]["vote"] == {"accuracy": stored["accuracy"]}
    assert stored["readout"]["linear"]["accuracy"] > 0.35
    assert np.load(tmp_path / "run" / "responses.npz")["test_predictions_linear"].shape == (500,)
    with pytest.raises(RunFolderError, match="finished run"):
        UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "run")


class Interrupted(Exception):
    pass


def interrupt(*args, **kwargs):
    raise Interrupted


@pytest.mark.long_running
def test_a_killed_run_resumes_to_the_same_result(mnist_train, mnist_test, tmp_path, monkeypatch):
    settings = Settings(model=MODEL, n_exc=20, n_train=120, n_test=60, n_assign=80, seed=5, device="cpp",
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
    with pytest.raises(RunFolderError, match="add --resume"):
        UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken")
    stale = tmp_path / "stale"  # a checkpoint of an older network, with a variable this one lacks
    shutil.copytree(tmp_path / "broken", stale)
    save_arrays_atomic(stale / "checkpoint.npz", {**load_arrays(stale / "checkpoint.npz"),
                                                  "state/protocol/intensity": np.zeros(1)})
    with pytest.raises(ExperimentError, match="protocol.intensity, which this version's network does not have"):
        UnimodalExperiment(settings, mnist_train, mnist_test, stale, resume=True, progress=False).run()
    resumed = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", resume=True,
                                 progress=False).run()
    for key in ("accuracy", "confusion_matrix", "neurons_assigned_per_class", "connectivity"):
        assert resumed[key] == whole[key], key
    assert whole["n_assign"] == 80 and whole["presentations_per_image"]["assign"] >= 1
    np.testing.assert_array_equal(np.load(tmp_path / "broken" / "network.npz")["weights"],
                                  np.load(tmp_path / "whole" / "network.npz")["weights"])


@pytest.mark.long_running
def test_frozen_copies_label_and_test_and_a_run_killed_among_them_resumes_to_the_same_result(
        mnist_train, mnist_test, tmp_path, monkeypatch):
    settings = Settings(model=MODEL, n_exc=20, n_train=100, n_test=60, seed=5, device="cpp", slots_per_run=40,
                        eval_copies=3, checkpoint_seconds=0.0)
    whole = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "whole", progress=False).run()
    assert whole["eval_copies"] == 3 and whole["presentations_per_image"]["test"] >= 1

    broken = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", progress=False)
    build, calls = broken._build_evaluator, []

    def dies_in_its_third_call():
        build()
        present = broken.evaluator.present

        def counted(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:  # the first of the test phase: 100 labelling images are two calls of 3 x 32
                raise Interrupted
            return present(*args, **kwargs)
        monkeypatch.setattr(broken.evaluator, "present", counted)

    monkeypatch.setattr(broken, "_build_evaluator", dies_in_its_third_call)
    with pytest.raises(Interrupted):
        broken.run()
    resumed = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", resume=True,
                                 progress=False).run()
    for key in ("accuracy", "confusion_matrix", "neurons_assigned_per_class"):
        assert resumed[key] == whole[key], key
    assert not (tmp_path / "whole" / "standalone_eval").exists()


def test_resume_refuses_different_settings(mnist_train, mnist_test, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"")
    (out / "settings.json").write_text(json.dumps(Settings(model=MODEL, n_exc=20).identity()))
    with pytest.raises(ExperimentError, match=r"started with other settings: n_exc 20 \(now 30\)"):
        UnimodalExperiment(Settings(model=MODEL, n_exc=30), mnist_train, mnist_test, out, resume=True)
    with pytest.raises(RunFolderError, match="no checkpoint"):
        UnimodalExperiment(Settings(model=MODEL), mnist_train, mnist_test, tmp_path / "absent", resume=True)


def test_resume_refuses_an_edited_model_file(mnist_train, mnist_test, tmp_path):
    model = tmp_path / "model.toml"
    model.write_text(model_file(MODEL).read_text())
    settings = Settings(model=str(model), n_exc=20)
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"")
    (out / "settings.json").write_text(json.dumps({**settings.identity(), "model_sha256": model_digest(model)}))
    model.write_text(model.read_text().replace('tau_m = "100 ms"', 'tau_m = "90 ms"'))
    with pytest.raises(ExperimentError, match="another version of the model file"):
        UnimodalExperiment(settings, mnist_train, mnist_test, out, resume=True)


def test_a_run_killed_before_its_first_checkpoint_starts_again_in_the_same_folder(mnist_train, mnist_test,
                                                                                   tmp_path):
    out = tmp_path / "run"
    (out / "standalone").mkdir(parents=True)
    (out / "settings.json").write_text("{}")
    (out / "progress.json").write_text("{}")
    for resume in (False, True):
        UnimodalExperiment(Settings(model=MODEL, n_exc=20), mnist_train, mnist_test, out, resume=resume)
        assert not any(out.iterdir())  # what the killed run left is gone; nothing of value was in it
        (out / "settings.json").write_text("{}")
    (out / "notes.txt").write_text("mine")  # anything else: the folder is not a run killed early
    with pytest.raises(RunFolderError, match="not empty"):
        UnimodalExperiment(Settings(model=MODEL, n_exc=20), mnist_train, mnist_test, out)



@pytest.mark.parametrize("field, value", [("n_exc", 0), ("epochs", 0), ("device", "tpu"), ("n_assign", 0),
                                          ("n_assign", 60001)])
def test_settings_are_checked(field, value):
    with pytest.raises(ValueError, match=field):
        Settings(model=MODEL, **{field: value})


def test_the_command_reports_bad_input_in_one_line(tmp_path, capsys):
    status = main(["train", "--model", str(tmp_path / "absent.toml"), "--train", "10", "--test", "10",
                   "--out", str(tmp_path / "out")])
    assert status == 2
    assert "error: model file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.long_running
def test_pruning_during_training_tests_a_sparse_quantized_network_and_resumes_exactly(
        mnist_train, mnist_test, tmp_path, monkeypatch):
    compression = Compression(mode="during", threshold=0.15, levels=3, n_batches=4, first_step=2)
    settings = Settings(model=MODEL, n_exc=20, n_train=120, n_test=60, seed=2, device="cpp", slots_per_run=40,
                        compression=compression, checkpoint_seconds=0.0)
    whole = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "whole", progress=False).run()
    assert [step["after_images"] for step in whole["compression_steps"]] == [60, 90, 120]
    assert all(len(step["shared_values"]) == 2 for step in whole["compression_steps"])
    weights = np.load(tmp_path / "whole" / "network.npz")["weights"]
    # the tested network holds only the critical synapses, at the two shared values of the last step,
    # each neuron's column scaled by the gain that makes its weights sum to 78
    last = whole["compression_steps"][-1]
    assert whole["n_synapses"] == np.count_nonzero(weights) < 784 * 20
    assert whole["connectivity"] == whole["nonzero_fraction"] == last["connectivity"] < 0.5
    assert all(step["column_gains"] is None for step in whole["compression_steps"][:-1])
    shared_levels = weights / np.array(last["column_gains"])
    np.testing.assert_allclose(np.unique(shared_levels[weights > 0].round(12)), last["shared_values"])
    np.testing.assert_allclose(weights.sum(axis=0)[weights.any(axis=0)], 78.0)
    assert whole["test_exc_spikes"] >= np.load(tmp_path / "whole" / "responses.npz")["test_counts"].sum() > 0
    assert whole["test_synaptic_ops"] > 0

    finalize = UnimodalExperiment.finalize

    def killed_after_finalizing(experiment):
        finalize(experiment)
        experiment.sim.present = interrupt

    with monkeypatch.context() as patched:
        patched.setattr(UnimodalExperiment, "finalize", killed_after_finalizing)
        broken = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", progress=False)
        with pytest.raises(Interrupted):
            broken.run()
    resumed = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "broken", resume=True,
                                 progress=False).run()
    for key in ("accuracy", "confusion_matrix", "n_synapses", "compression_steps", "activity"):
        assert resumed[key] == whole[key], key


@pytest.mark.long_running
def test_a_random_sparse_network_starts_at_the_asked_connectivity(mnist_train, mnist_test, tmp_path):
    settings = Settings(model=MODEL, n_exc=10, n_train=40, n_test=20, seed=4, device="cpp", slots_per_run=40,
                        compression=Compression(mode="random", connectivity=0.25))
    metrics = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "run", progress=False).run()
    assert metrics["compression_steps"] == []
    assert metrics["n_synapses"] <= 0.25 * 784 * 10
    assert metrics["connectivity"] == pytest.approx(metrics["n_synapses"] / (784 * 10))


def test_settings_added_later_keep_old_checkpoints_resumable():
    assert {"dataset", "test_repeats"}.isdisjoint(Settings(model=MODEL).identity())
    changed = Settings(model=MODEL, dataset="fashion_mnist", test_repeats=False).identity()
    assert changed["dataset"] == "fashion_mnist" and changed["test_repeats"] is False


def test_without_test_repeats_every_test_image_is_shown_once(mnist_train, tmp_path):
    blank = LabelledImages(np.zeros((12, 28, 28), dtype=np.uint8), np.arange(12) % 10)  # never fires enough
    settings = Settings(model=MODEL, n_exc=10, n_train=20, n_test=12, device="cpp", slots_per_run=40,
                        test_repeats=False)
    metrics = UnimodalExperiment(settings, mnist_train, blank, tmp_path / "once", progress=False).run()
    assert metrics["test_repeats"] is False
    assert metrics["presentations_per_image"]["test"] == 1.0
    assert metrics["presentations_per_image"]["assign"] >= 1.0  # the training images are still judged
