"""`brainnets compress study` puts the chapter-2 runs together correctly; the runs themselves are faked."""
import dataclasses
import json
import shlex

import pytest

from brainnets.cli import build_parser, main
from brainnets.stdp.experiment import Settings
from brainnets.studies import arms, compression_study, prune_quantize, unimodal
from brainnets.studies.arms import from_table


def fake_metrics(n_train, mode, levels=None, connectivity=1.0, accuracy=0.8, spikes=1000, threshold=0.15):
    steps = [] if mode in ("baseline", "random") else [{"after_images": n_train, "threshold": threshold,
                                                          "connectivity": connectivity, "shared_values": None}]
    return {"n_train": n_train, "n_test": 100, "accuracy": accuracy, "connectivity": connectivity,
            "nonzero_fraction": connectivity,
            "n_synapses": int(connectivity * 78400), "test_exc_spikes": spikes, "test_synaptic_ops": 10 * spikes,
            "compression": {"mode": mode, "levels": levels}, "compression_steps": steps}


@pytest.fixture
def fake_arms(monkeypatch):
    """run_arm_process answers from the arm's settings instead of training: connectivity falls with the
    threshold. Records every arm's settings."""
    calls = []

    def run_arm_process(kind, settings, data, out):
        assert kind == "unimodal" and data == {"data_dir": None}
        calls.append(settings)
        c = settings.compression
        connectivity = c.connectivity if c.connectivity is not None else 1 - 2 * c.threshold
        out.mkdir(parents=True)
        (out / "receptive_fields.png").write_bytes(b"png")
        return fake_metrics(settings.n_train, c.mode, c.levels, connectivity, accuracy=0.7 + connectivity / 10,
                            spikes=int(1000 * (0.5 + connectivity)), threshold=c.threshold)

    monkeypatch.setattr(compression_study, "run_arm_process", run_arm_process)
    monkeypatch.setitem(arms.LOCAL_CLUSTER, "processes", False)  # the study's workers are threads, beside the fake
    return calls


def test_compression_study_plans_every_run_and_summarizes_them(tmp_path, fake_arms):
    out = tmp_path / "out"
    options = ["--thresholds", "0.1", "0.2", "--order-thresholds", "0.2", "--sweep-train", "1200"]
    assert main(["compress", "study", "--work", str(tmp_path / "work"), "--out", str(out), *options,
                 "--jobs", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = {row["name"]: row for row in summary["runs"]}
    # full: baseline + 3 kinds; sweep: baseline + 2 thresholds x 3 kinds;
    # order: end + random at the connectivity of one sweep run and of the full run at 0.15
    assert len(rows) == 4 + 7 + 2 + 2
    assert len(fake_arms) == len(rows)  # the order stage's reference runs were already done by the others
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
    # the options given (not the defaults) are recorded, as the brainnets command
    assert summary["command"] == shlex.join(
        ["brainnets", "compress", "study", "--sweep-train", "1200", "--thresholds", "0.1", "0.2", "--order-thresholds",
         "0.2", "--jobs", "1", "--work", str(tmp_path / "work"), "--out", str(out)])
    assert {(s.n_exc, s.n_test, s.seed, s.compression.n_batches, s.compression.first_step) for s in fake_arms} == \
        {(100, 10000, 0, 12, 3)}

    # a second call finds every run in OUT/runs and trains nothing
    fake_arms.clear()
    assert main(["compress", "study", "--work", str(tmp_path / "work2"), "--out", str(out), *options]) == 0
    assert fake_arms == []


def test_study_arms_train_what_compress_run_trains_with_the_same_options(tmp_path):
    """Each arm is the settings of the `brainnets compress run` the study's options describe, and survives
    the trip through its settings file."""
    study = compression_study.Study(build_parser().parse_args(
        ["compress", "study", "--n-exc", "50", "--test", "500", "--seed", "4", "--batches", "6", "--first-step", "2",
         "--work", str(tmp_path / "w"), "--out", str(tmp_path / "o")]))
    arms = {
        ("--mode", "during", "--threshold", "0.25", "--levels", "2"):
            study.settings(n_train=1200, mode="during", threshold=0.25, levels="2"),
        ("--mode", "baseline", "--threshold", "0.0", "--levels", "continuous"):
            study.settings(n_train=1200, mode="baseline"),
        ("--mode", "end", "--threshold", "0.0", "--levels", "continuous", "--connectivity", "0.123457"):
            study.settings(n_train=1200, mode="end", connectivity=0.12345678),
    }
    for options, settings in arms.items():
        args = build_parser().parse_args(["compress", "run", "--n-exc", "50", "--train", "1200", "--test", "500",
                                          "--seed", "4", "--batches", "6", "--first-step", "2", *options,
                                          "--out", str(tmp_path / "run")])
        assert settings == unimodal.settings_from(args, compression=prune_quantize.compression_from(args))
        assert from_table(Settings, dataclasses.asdict(settings)) == settings
