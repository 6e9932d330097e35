"""The study drivers (ablation, seeds, compression) put runs together correctly; the runs themselves are faked."""
import json

from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

from brainnets import sweeps
from brainnets.datasets import LabelledImages
from brainnets.spoken_digits import SpokenDigits
from brainnets.stdp.model import DiehlCookModel


def fake_metrics(n_train, mode, levels=None, connectivity=1.0, accuracy=0.8, spikes=1000, threshold=0.15):
    steps = [] if mode in ("baseline", "random") else [{"after_images": n_train, "threshold": threshold,
                                                          "connectivity": connectivity, "shared_values": None}]
    return {"n_train": n_train, "n_test": 100, "accuracy": accuracy, "connectivity": connectivity,
            "nonzero_fraction": connectivity,
            "n_synapses": int(connectivity * 78400), "test_exc_spikes": spikes, "test_synaptic_ops": 10 * spikes,
            "compression": {"mode": mode, "levels": levels}, "compression_steps": steps}


@pytest.fixture
def fake_runs(monkeypatch):
    """run_once answers from the command line instead of training: connectivity falls with the threshold."""
    calls = []

    def run_once(script, options, out):
        value = dict(zip(options[::2], options[1::2]))
        calls.append(value)
        mode, threshold = value["--mode"], float(value["--threshold"])
        levels = None if value["--levels"] == "continuous" else int(value["--levels"])
        connectivity = float(value.get("--connectivity", 1 - 2 * threshold))
        out.mkdir(parents=True)
        (out / "receptive_fields.png").write_bytes(b"png")
        return fake_metrics(int(value["--train"]), mode, levels, connectivity, accuracy=0.7 + connectivity / 10,
                            spikes=int(1000 * (0.5 + connectivity)), threshold=threshold)

    monkeypatch.setattr(sweeps, "run_once", run_once)
    return calls


def test_compression_study_plans_every_run_and_summarizes_them(script, tmp_path, fake_runs, monkeypatch):
    study = script("compression_study")
    monkeypatch.setattr(study, "run_once", sweeps.run_once)
    out = tmp_path / "out"
    assert study.main(["--work", str(tmp_path / "work"), "--out", str(out), "--thresholds", "0.1", "0.2",
                       "--order-thresholds", "0.2", "--sweep-train", "1200", "--jobs", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = {row["name"]: row for row in summary["runs"]}
    # full: baseline + 3 kinds; sweep: baseline + 2 thresholds x 3 kinds;
    # order: end + random at the connectivity of one sweep run and of the full run at 0.15
    assert len(rows) == 4 + 7 + 2 + 2
    assert len(fake_runs) == len(rows)  # the order stage's reference runs were already done by the others
    assert rows["n60000_end_c0.7000"]["connectivity"] == rows["n60000_during_t0.15_continuous"]["connectivity"]
    during = rows["n60000_during_t0.15_3"]
    assert (during["mode"], during["levels"], during["threshold"], during["n_train"]) == ("during", 3, 0.15, 60000)
    assert during["energy_ratio"] == pytest.approx(1500 / 1200)
    assert rows["n1200_baseline"]["threshold"] == 0.0 and rows["n1200_baseline"]["energy_ratio"] == 1.0
    assert rows["n1200_random_c0.6000"]["threshold"] is None
    assert {"name", "threshold", "levels", "mode", "n_train", "connectivity", "accuracy",
            "energy_ratio"} <= set(during)
    for figure in ("fig2_6a_connectivity", "fig2_6c_accuracy", "fig2_7_order", "fig2_7_order_full", "fig2_8_energy"):
        assert (out / f"{figure}.png").exists(), figure
    assert (out / "runs" / "n60000_baseline_fields.png").exists()

    # a second call finds every run in OUT/runs and trains nothing
    fake_runs.clear()
    study.main(["--work", str(tmp_path / "work2"), "--out", str(out), "--thresholds", "0.1", "0.2",
                "--order-thresholds", "0.2", "--sweep-train", "1200"])
    assert fake_runs == []


def test_ablation_collects_the_three_variants(script, tmp_path, monkeypatch):
    ablation = script("ablation")
    flags = {}

    def run_once(name, options, out):
        flags[out.name] = options
        return {"accuracy": {"inhibition_and_homeostasis": 0.8, "homeostasis_only": 0.7, "neither": 0.6}[out.name]}

    monkeypatch.setattr(ablation, "run_once", run_once)
    assert ablation.main(["--train", "100", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "ab")]) == 0
    document = json.loads((tmp_path / "ab.json").read_text())
    assert document["homeostasis_only"] == 0.7 and document["n_train"] == 100
    assert "--no-inhibition" in flags["neither"] and "--no-homeostasis" in flags["neither"]
    assert "--no-inhibition" not in flags["inhibition_and_homeostasis"]
    assert (tmp_path / "ab.png").exists()


def test_seed_spread_trains_each_seed_in_its_own_folder_and_reports_all(script, tmp_path, monkeypatch):
    spread = script("seed_spread")
    seeds_asked = {}

    def run_once(name, options, out):
        seeds_asked[out.name] = options[options.index("--seed") + 1]
        return {"accuracy": {"seed_0": 0.79, "seed_1": 0.81, "seed_2": 0.83}[out.name]}

    monkeypatch.setattr(spread, "run_once", run_once)
    out = tmp_path / "spread"
    assert spread.main(["--seeds", "0", "1", "2", "--work", str(tmp_path / "w"), "--out", str(out)]) == 0
    assert seeds_asked == {"seed_0": "0", "seed_1": "1", "seed_2": "2"}
    document = json.loads(out.with_suffix(".json").read_text())
    assert document["accuracy"] == {"0": 0.79, "1": 0.81, "2": 0.83}
    assert document["mean"] == pytest.approx(0.81) and document["std"] == pytest.approx(0.02)
    assert out.with_suffix(".png").exists()
    assert spread.main(["--seeds", "0", "1", "2", "--work", str(tmp_path / "w"), "--out", str(out)]) == 2


def test_scan_changes_exactly_one_constant_of_the_model_file(script, tmp_path):
    scan = script("scan_constants")
    text = Path("models/diehl_cook_2015.toml").read_text()
    changed = scan.with_constant(text, "stdp", "tau", "30 ms")
    assert [line for line in changed.splitlines() if line not in text.splitlines()] == [
        'tau = "30 ms"  # set by scripts/scan_constants.py']
    (tmp_path / "variant.toml").write_text(changed)
    assert DiehlCookModel.load(tmp_path / "variant.toml").stdp.tau == 30 * ms
    assert 'tau = "20 ms"' in scan.with_constant(text, "stdp_trace", "tau_pre", "5 ms")  # [stdp] untouched
    with pytest.raises(ValueError, match=r"no constant 'eta' in section \[protocol\]"):
        scan.with_constant(text, "protocol", "eta", "0.1")


def test_train_multimodal_runs_every_arm_and_tabulates_them(script, tmp_path, monkeypatch):
    study = script("train_multimodal")
    options = {}

    def run_once(name, arm_options, out):
        options[str(out.relative_to(tmp_path / "mm" / "arms"))] = arm_options
        accuracy = 0.9 if "multimodal" in out.name else 0.7
        if out.name != "multimodal":
            return {"accuracy": accuracy}
        return {"accuracy": accuracy, "accuracy_missing_audio": 0.75, "accuracy_missing_image": 0.8,
                "crossmodal": {"same_label_fraction": 0.6}}

    monkeypatch.setattr(study, "run_once", run_once)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"sizes": [{"n_total": 100, "multimodal": 0.1}, {"n_total": 400}]}))
    assert study.main(["--noise", "awgn", "--train", "50", "--out", str(tmp_path / "mm"),
                       "--summary", str(summary)]) == 0
    assert sorted(options) == ["audio_only", "image_only", "multimodal", "multimodal_no_crossmodal",
                               "noisy_awgn/image_only", "noisy_awgn/multimodal", "noisy_awgn/multimodal_no_crossmodal"]
    def crossmodal(arm):
        return options[arm][options[arm].index("--crossmodal") + 1]
    assert crossmodal("multimodal_no_crossmodal") == "none" and crossmodal("multimodal") == "stdp"
    image_only = options["image_only"]
    assert image_only[image_only.index("--n-image") + 1] == "100" and image_only[image_only.index("--n-audio") + 1] == "0"
    assert options["noisy_awgn/multimodal"][-2:] == ["--noise", "awgn"]
    document = json.loads((tmp_path / "mm" / "metrics.json").read_text())
    assert document["arms"]["multimodal"]["accuracy_missing_audio"] == 0.75
    assert (tmp_path / "mm" / "accuracies.png").exists() and (tmp_path / "mm" / "cochleagram.png").exists()
    sizes = json.loads(summary.read_text())["sizes"]
    assert [entry["n_total"] for entry in sizes] == [100, 400]  # the earlier 100-neuron entry is replaced
    assert sizes[0]["multimodal"] == 0.9 and sizes[0]["missing_image"] == 0.8
    assert sizes[0]["noisy_awgn"] == {"image_only": 0.7, "multimodal_no_crossmodal": 0.9, "multimodal": 0.9}
    assert sizes[0]["crossmodal_same_label_fraction"] == 0.6 and sizes[0]["split"] == "utterance"
    with pytest.raises(SystemExit):
        study.main(["--split", "by-colour", "--out", str(tmp_path / "other")])
    assert study.main(["--out", str(tmp_path / "mm")]) == 2  # finished: never overwritten


def test_train_multimodal_sweep_trains_each_arm_once_and_draws_figs_3_11_and_3_12(script, tmp_path, monkeypatch):
    study = script("train_multimodal")
    options = {}

    def run_once(name, arm_options, out):
        options[out.name] = arm_options
        value = {key: arm_options[arm_options.index(key) + 1] for key in ("--crossmodal", "--seed")}
        fraction = float(arm_options[arm_options.index("--fraction") + 1]) if "--fraction" in arm_options else None
        links = {"n_links": 90, "n_kept": 40, "same_label_fraction": 0.75, "same_label_weight_share": 0.8}
        return {"accuracy": 0.8 + (fraction or 0), "seed": int(value["--seed"]), "crossmodal_fraction": fraction,
                **({"crossmodal": links} if value["--crossmodal"] != "none" else {})}

    monkeypatch.setattr(study, "run_once", run_once)
    assert study.main(["--sweep", "--fractions", "0.1", "0.18", "--seeds", "0", "1", "--out", str(tmp_path / "sw")]) == 0
    assert set(options) == {"manual_0.1_seed0", "manual_0.18_seed0", "no_crossmodal", "stdp_0.18_seed0",
                            "stdp_0.18_seed1", "stdp_0.1_seed0"}  # the model's 0.18, seed 0: trained once
    assert options["manual_0.1_seed0"][-4:] == ["--crossmodal", "manual", "--fraction", "0.1"]
    document = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert [point["accuracy"] for point in document["fractions"]["manual"]] == pytest.approx([0.9, 0.98])
    assert [(run["seed"], run["correct"], run["incorrect"]) for run in document["seeds"]] == [(0, 30, 10), (1, 30, 10)]
    assert document["no_crossmodal"] == 0.8
    assert (tmp_path / "sw" / "fig3_11_fractions.png").exists() and (tmp_path / "sw" / "fig3_12_links.png").exists()
    assert study.main(["--sweep", "--out", str(tmp_path / "sw"), "--resume"]) == 2  # finished: never overwritten


def test_train_multimodal_validation_never_trains_or_scores_on_what_it_should_not(script):
    study = script("train_multimodal")
    images = LabelledImages(np.arange(60000 * 4, dtype=np.uint8).reshape(60000, 2, 2), np.arange(60000) % 10)
    n = 120
    utterances = np.array([f"{k % 10}_s{k % 3}_{k}" for k in range(n)])
    corpus = SpokenDigits(tuple(np.zeros(8, dtype=np.float32) for _ in range(n)), np.full(n, 8000),
                          np.arange(n) % 10, np.array([f"s{k % 3}" for k in range(n)]), utterances,
                          tuple(Path(f"{u}.wav") for u in utterances))
    (fit_images, scored_images), (fit_audio, scored_audio) = study.held_out(images, corpus, "ti46", seed=0)
    assert len(fit_images) == 50000 and len(scored_images) == 10000
    assert scored_images.labels[0] == images.labels[50000]
    assert set(fit_audio.utterances).isdisjoint(scored_audio.utterances)
    assert set(fit_audio.utterances) | set(scored_audio.utterances) == set(utterances)


def test_ensemble_statistics_tell_alike_neurons_from_specialists(script, tmp_path):
    statistics = script("ensemble_statistics")
    finished, training = tmp_path / "finished", tmp_path / "training"
    finished.mkdir(), training.mkdir()
    alike = np.ones((4, 3))  # three neurons, one receptive field
    specialists = np.eye(2)  # two neurons, orthogonal receptive fields
    np.savez(finished / "network.npz", assignments=np.zeros(5), image_weights=alike, image_theta=[0.01, 0.02, 0.03],
             audio_weights=specialists, audio_theta=[0.05, 0.05])
    # two test pairs; image neurons fire 3, 1, 0 and nothing; audio neuron 0 fires 2, neuron 1 fires 2
    np.savez(finished / "responses.npz", test_counts=np.array([[3, 1, 0, 2, 0], [0, 0, 0, 0, 2]]))
    found = statistics.arm_statistics(finished)["ensembles"]
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
    assert statistics.arm_statistics(training) == {
        "state": "training", "pairs_done": 7,
        "ensembles": {"audio": {"n_neurons": 2, "weight_vectors_mean_cosine": 0.0,
                                "theta_mv": {"mean": 0.0, "min": 0.0, "max": 0.0}, "last_spike_together": 1.0}}}
    assert statistics.main([str(tmp_path / "absent")]) == 2
