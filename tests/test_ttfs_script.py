"""`brainnets ttfs` end to end on a small budget: every number and figure it promises, resumable,
never overwriting a finished run."""
import json
import shlex

import pytest

from brainnets.cli import main
from brainnets.resources import model_file

pytest.importorskip("torch")

MODEL = model_file("stanojevic2023_ttfs")


@pytest.fixture
def quick_model(tmp_path):
    """The model file with three time steps in the naive study instead of eleven."""
    text = MODEL.read_text().replace("naive_coarsest = 2", "naive_coarsest = 4").replace("naive_finest = 12",
                                                                                           "naive_finest = 6")
    path = tmp_path / "quick.toml"
    path.write_text(text)
    return path


@pytest.mark.long_running
def test_fc2_run_reports_agreement_and_resumes(quick_model, tmp_path, capsys):
    out = tmp_path / "fc2"
    options = ["--model", str(quick_model), "--net", "fc2", "--train", "600", "--test", "100", "--epochs", "1",
               "--brian2-images", "4", "--naive-images", "1", "--device", "runtime", "--out", str(out), "--quiet"]
    assert main(["ttfs", *options]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["agreement"] == 1.0 and metrics["brian2_agreement"] == 1.0
    assert metrics["relu_accuracy"] == metrics["snn_accuracy"] > 0.5
    assert metrics["max_dt_rel"] < 1e-9 and metrics["status_mismatches"] == 0
    assert 0.7 < metrics["naive_dt_slope"] < 1.3
    assert metrics["n_test"] == 100 and metrics["brian2_n_images"] == 4
    assert metrics["command"] == shlex.join(["brainnets", "ttfs", *options[:2], *options[4:]])  # fc2: the default
    for figure in ("raster.png", "dt_histogram.png", "error_vs_dt.png"):
        assert (out / figure).stat().st_size > 0
    assert main(["ttfs", *options]) == 2
    assert "finished run" in capsys.readouterr().err
    # a run killed after training resumes from its checkpoint instead of training again
    (out / "metrics.json").unlink()
    epochs_before = (out / "training.pt").stat().st_mtime
    assert main(["ttfs", *options, "--resume"]) == 0
    assert (out / "training.pt").stat().st_mtime == epochs_before
    assert json.loads((out / "metrics.json").read_text())["relu_accuracy"] == metrics["relu_accuracy"]


def test_bad_input_is_reported_in_one_line(tmp_path, capsys):
    status = main(["ttfs", "--net", "fc2", "--model", str(tmp_path / "absent.toml"), "--out", str(tmp_path / "out")])
    assert status == 2
    assert "error: model file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
