"""The studies of ``brainnets study`` put runs together correctly; the runs themselves are faked."""
import json
import shlex
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

from brainnets.cli import main
from brainnets.resources import model_file
from brainnets.stdp.experiment import Settings
from brainnets.stdp.model import DiehlCookModel
from brainnets.studies import arms, ensemble_statistics, scan, validate
from brainnets.studies.study import STUDIES


class FakeArms(dict):
    """The settings of every run a study hands to :func:`arms.run_arm_process`, by the name of its folder."""

    def __init__(self, metrics):
        super().__init__()
        self.metrics = metrics  # (out, settings) -> the run's metrics

    def __call__(self, kind, settings, data, out):
        assert kind == "unimodal" and isinstance(settings, Settings) and data == {"data_dir": None}
        self[out.name] = settings
        return self.metrics(out, settings)


@pytest.fixture
def fake_arms(monkeypatch, arms_in_this_process):
    arms_given = FakeArms(metrics=None)
    monkeypatch.setattr(arms, "run_arm_process", arms_given)
    return arms_given


@pytest.fixture
def arms_in_this_process(monkeypatch):
    """The study's local cluster runs its arms in threads of this process: where the fakes are, and quick to start."""
    monkeypatch.setitem(arms.LOCAL_CLUSTER, "processes", False)


def test_study_lists_every_study(capsys):
    with pytest.raises(SystemExit):
        main(["study", "--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in STUDIES)
    assert set(STUDIES) == {"seeds", "scan", "ablation", "validate", "ensemble-stats", "bench", "bench-eval",
                            "dask-bench", "kill-resume", "nest-precise", "revote", "crosscheck-example", "peers",
                            "spike-time-gradcheck",
                            "spike-time-bench", "spike-time-summary", "timestep-choice", "timestep-summary"}


def test_ablation_collects_the_three_variants(tmp_path, fake_arms):
    fake_arms.metrics = lambda out, settings: {
        "accuracy": {"inhibition_and_homeostasis": 0.8, "homeostasis_only": 0.7, "neither": 0.6}[out.name]}
    words = ["study", "ablation", "--train", "100", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "ab")]
    assert main(words) == 0
    document = json.loads((tmp_path / "ab.json").read_text())
    assert document["homeostasis_only"] == 0.7 and document["n_train"] == 100
    assert not fake_arms["neither"].inhibition and not fake_arms["neither"].homeostasis
    assert not fake_arms["homeostasis_only"].inhibition and fake_arms["homeostasis_only"].homeostasis
    full = fake_arms["inhibition_and_homeostasis"]
    assert full.inhibition and full.homeostasis and (full.n_train, full.n_test, full.seed) == (100, 10000, 0)
    assert document["command"] == shlex.join(["brainnets", *words])
    assert (tmp_path / "ab.png").exists()
    assert main(words) == 2  # finished: never overwritten


def test_seed_spread_trains_each_seed_in_its_own_folder_and_reports_all(tmp_path, fake_arms):
    fake_arms.metrics = lambda out, settings: {"accuracy": {"seed_0": 0.79, "seed_1": 0.81, "seed_2": 0.83}[out.name]}
    out = tmp_path / "spread"
    words = ["study", "seeds", "--dataset", "fashion_mnist", "--n-exc", "50", "--work", str(tmp_path / "w"),
             "--out", str(out), "--seeds", "0", "1", "2"]
    assert main(words) == 0
    assert {name: settings.seed for name, settings in fake_arms.items()} == {"seed_0": 0, "seed_1": 1, "seed_2": 2}
    assert {(settings.n_exc, settings.dataset) for settings in fake_arms.values()} == {(50, "fashion_mnist")}
    document = json.loads(out.with_suffix(".json").read_text())
    assert document["accuracy"] == {"0": 0.79, "1": 0.81, "2": 0.83}
    assert document["mean"] == pytest.approx(0.81) and document["std"] == pytest.approx(0.02)
    assert document["command"] == shlex.join(["brainnets", *words])  # the options given, in the parser's order
    assert out.with_suffix(".png").exists()
    assert main(words) == 2  # finished: never overwritten
    assert main(["study", "seeds", "--seeds", "0", "0", "--work", "w", "--out", str(tmp_path / "other")]) == 2


def test_scan_changes_exactly_one_constant_of_the_model_file(tmp_path):
    text = model_file("diehl_cook_2015").read_text()
    changed = scan.with_constant(text, "stdp", "tau", "30 ms")
    assert [line for line in changed.splitlines() if line not in text.splitlines()] == [
        'tau = "30 ms"  # set by brainnets study scan']
    (tmp_path / "variant.toml").write_text(changed)
    assert DiehlCookModel.load(tmp_path / "variant.toml").stdp.tau == 30 * ms
    assert 'tau = "20 ms"' in scan.with_constant(text, "stdp_trace", "tau_pre", "5 ms")  # [stdp] untouched
    with pytest.raises(ValueError, match=r"no constant 'eta' in section \[protocol\]"):
        scan.with_constant(text, "protocol", "eta", "0.1")


def test_scan_trains_one_variant_per_value_and_scores_them_on_held_out_images(tmp_path, fake_arms, monkeypatch):
    def train(out, settings):
        out.mkdir(parents=True)
        np.savez(out / "network.npz", weights=np.zeros((784, 2)), theta=np.zeros(2))
        (out / "settings.json").write_text(json.dumps({"n_train": settings.n_train, "model": settings.model}))
        return {"accuracy": 0.5}

    def score_network(path, network, train_images, assign, validate_images, threshold):
        assert (assign, validate_images, threshold) == (range(1000, 1100), range(1100, 1200), None)
        return {"scores": {"as_trained": {"accuracy": 0.9 if "eta_0.002" in path else 0.8}}}

    fake_arms.metrics = train
    monkeypatch.setattr(validate, "score_network", score_network)
    work, out = tmp_path / "w", tmp_path / "scan"
    monkeypatch.chdir(tmp_path)
    held_out = ["--assign", "1000:1100", "--validate", "1100:1200"]
    assert main(["study", "scan", "--set", "stdp.eta", "0.001", "0.002", "--train", "1000", *held_out,
                 "--work", "w", "--out", "scan"]) == 0
    assert sorted(fake_arms) == ["eta_0.001", "eta_0.002"]
    settings = fake_arms["eta_0.002"]
    assert settings.model == "w/models/eta_0.002.toml" and (settings.n_assign, settings.n_test) == (100, 100)
    assert "eta = 0.002  # set by brainnets study scan" in (work / "models" / "eta_0.002.toml").read_text()
    document = json.loads(out.with_suffix(".json").read_text())
    assert document["validation_accuracy"] == {"0.001": 0.8, "0.002": 0.9}
    assert document["validation"]["command"].startswith("brainnets study validate --network w/eta_0.001/network.npz")
    assert out.with_suffix(".png").exists()
    # held-out images inside the training images are refused before anything trains
    fake_arms.clear()
    assert main(["study", "scan", "--set", "stdp.eta", "0.001", "--train", "1050", *held_out, "--work", "w2",
                 "--out", "scan2"]) == 2
    assert fake_arms == {}


def test_ensemble_statistics_tell_alike_neurons_from_specialists(tmp_path):
    finished, training = tmp_path / "finished", tmp_path / "training"
    finished.mkdir(), training.mkdir()
    alike = np.ones((4, 3))  # three neurons, one receptive field
    specialists = np.eye(2)  # two neurons, orthogonal receptive fields
    np.savez(finished / "network.npz", assignments=np.zeros(5), image_weights=alike, image_theta=[0.01, 0.02, 0.03],
             audio_weights=specialists, audio_theta=[0.05, 0.05])
    # two test pairs; image neurons fire 3, 1, 0 and nothing; audio neuron 0 fires 2, neuron 1 fires 2
    np.savez(finished / "responses.npz", test_counts=np.array([[3, 1, 0, 2, 0], [0, 0, 0, 0, 2]]))
    found = ensemble_statistics.arm_statistics(finished)["ensembles"]
    assert found["image"]["weight_vectors_mean_cosine"] == pytest.approx(1.0)
    assert found["audio"]["weight_vectors_mean_cosine"] == pytest.approx(0.0)
    assert found["image"]["theta_mv"] == pytest.approx({"mean": 20.0, "min": 10.0, "max": 30.0})
    assert found["image"]["spikes_per_pair"] == 2.0 and found["image"]["neurons_firing_per_pair"] == 1.0
    assert found["image"]["top_neuron_share"] == 0.75 and found["image"]["silent_pairs"] == 0.5
    assert found["audio"]["top_neuron_share"] == 1.0 and found["audio"]["silent_pairs"] == 0.0
    progress = json.dumps({"position": 7})
    np.savez(training / "checkpoint.npz", progress=np.array(progress),
             **{"state/audio_input_synapses/w": specialists.ravel(), "state/audio_exc/theta": np.zeros(2),
                "state/audio_exc/lastspike": np.array([1.5, 1.5])})
    assert ensemble_statistics.arm_statistics(training) == {
        "state": "training", "pairs_done": 7,
        "ensembles": {"audio": {"n_neurons": 2, "weight_vectors_mean_cosine": 0.0,
                                "theta_mv": {"mean": 0.0, "min": 0.0, "max": 0.0}, "last_spike_together": 1.0}}}
    words = ["study", "ensemble-stats", str(finished), "--json", str(tmp_path / "stats.json")]
    assert main(words) == 0
    assert json.loads((tmp_path / "stats.json").read_text())["command"] == shlex.join(["brainnets", *words])
    assert main(["study", "ensemble-stats", str(tmp_path / "absent")]) == 2


def shown_so_far(folder: Path, done: int) -> dict:
    """An arm that has shown ``done`` of its 10 items."""
    folder.mkdir()
    (folder / "progress.json").write_text(json.dumps({"done": done, "total": 10}))
    return {"name": folder.name}


def test_run_arms_follows_the_items_each_arm_has_shown(tmp_path, arms_in_this_process):
    """The study's progress bar adds up the arms' progress files; an arm not yet started counts as 0 of 0."""
    from brainnets.studies.arms import _progress_of, run_arms

    results = run_arms({"a": partial(shown_so_far, tmp_path / "a", 10), "b": partial(shown_so_far, tmp_path / "b", 4)},
                       jobs=2, progress=False, folders={"a": tmp_path / "a", "b": tmp_path / "b"})
    assert results == {"a": {"name": "a"}, "b": {"name": "b"}}
    assert _progress_of(tmp_path / "b") == (4, 10) and _progress_of(tmp_path / "never") == (0, 0)
