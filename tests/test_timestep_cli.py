"""The ``brainnets timestep`` command (brainnets.studies.timestep, brainnets.timestep.experiment): every method end
to end on a tiny net, a killed run resumed to the same result, validation choosing the epoch, bad options."""
import json
from unittest import mock

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

from brainnets.cli import main  # noqa: E402
from brainnets.timestep import bridge, experiment  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

TINY = ["timestep", "--arch", "8C3-AP2-16-10", "--train", "200", "--test", "100", "--timesteps", "3",
        "--device", "runtime", "--quiet"]
#: per method: what a one-epoch run needs beside TINY (small conversions, a learning rate that moves in one epoch)
EXTRA = {"noise": ["--epochs", "1", "--lr", "3e-3"], "direct": ["--epochs", "1", "--lr", "3e-3"],
         "conversion": ["--ann-epochs", "1", "--balance-images", "50", "--balance-timesteps", "10",
                        "--long-timesteps", "20"],
         "stdb": ["--ann-epochs", "1", "--epochs", "1", "--balance-images", "50", "--balance-timesteps", "10"],
         "diet": ["--ann-epochs", "1", "--epochs", "1", "--balance-images", "50"]}
REQUIRED = ("method", "dataset", "arch", "timesteps", "test_accuracy", "paper_accuracy", "spikes_per_image",
            "energy_ratio_vs_ann", "train_seconds", "brian2_images", "brian2_spike_mismatches", "history", "command",
            "git_commit", "layer_spike_rates", "accuracy_vs_timesteps")


def command(method, out, *more):
    return TINY + ["--method", method, *EXTRA[method], *more, "--out", str(out)]


def untimed(history):
    return [{key: value for key, value in record.items() if key != "train_seconds"} for record in history]


@pytest.mark.parametrize("method", ["noise", "direct", "conversion", "stdb", "diet"])
def test_each_method_runs_end_to_end_and_is_checked_in_brian2(method, tmp_path):
    out = tmp_path / method
    assert main(command(method, out, "--brian2-images", "5")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(REQUIRED) <= set(metrics)
    assert metrics["method"] == method and metrics["arch"] == "8C3-AP2-16-10" and metrics["timesteps"] == 3
    assert metrics["brian2_images"] == 5 and metrics["brian2_spike_mismatches"] == 0
    assert 0 <= metrics["test_accuracy"] <= 1 and metrics["spikes_per_image"] > 0 and metrics["energy_ratio_vs_ann"] > 0
    assert len(metrics["layer_spike_rates"]) == 2
    assert [row["timesteps"] for row in metrics["accuracy_vs_timesteps"]] == [1, 2, 3, 5, 10]
    for figure in ("accuracy_vs_timesteps.png", "spikes_per_layer.png", "network.pt"):
        assert (out / figure).exists()
    assert not (out / "checkpoint.pt").exists()
    if method in ("noise", "direct"):
        record = metrics["history"][0]
        assert {"test_accuracy", "test_accuracy_t1", "train_seconds"} <= set(record)
        assert "seconds_to_accuracy" in metrics and metrics["settings"]["target_accuracy"] == 0.99
    if method == "noise":
        assert metrics["paper_accuracy"] == pytest.approx(0.9961)
        ablation = metrics["alpha_ablation"]
        assert [(row["alpha"], row["timesteps"]) for row in ablation] == [
            (alpha, steps) for alpha in (2.0, 4.0, 8.0, "inf") for steps in (1, 5, 10)]
        assert 0 <= metrics["stage2_accuracy"] <= 1
        # T = 1 is the trained network whatever alpha is
        assert len({row["accuracy"] for row in ablation if row["timesteps"] == 1}) == 1
    if method == "direct":
        assert metrics["settings"]["train_timesteps"] == 3
    if method in ("conversion", "stdb", "diet"):
        assert {"ann_accuracy", "converted_accuracy", "converted_spikes_per_image",
                "balanced_thresholds"} <= set(metrics)
        assert metrics["paper_accuracy"] is None and metrics["paper_reference"]
    if method == "conversion":
        assert [r["phase"] for r in metrics["history"]] == ["ann"]
        assert metrics["test_accuracy"] == metrics["converted_accuracy"]
        assert 0 <= metrics["converted_long_accuracy"] <= 1
        # the run's T has the balanced thresholds scaled by the model file's factor (0.7)
        assert metrics["thresholds"] == pytest.approx([0.7 * v for v in metrics["balanced_thresholds"]], rel=1e-6)
    if method in ("stdb", "diet"):
        assert [r["phase"] for r in metrics["history"]] == ["ann", "snn"]
        assert metrics["spike_reduction_vs_converted"] > 0 and metrics["converted_energy_ratio_vs_ann"] > 0
    if method == "diet":  # thresholds and leaks trained
        assert metrics["thresholds"] != pytest.approx(metrics["balanced_thresholds"], rel=1e-9)


def stop_after(save, count):
    """A checkpoint writer that writes ``count`` checkpoints, then stops the run as a kill would."""
    written = []

    def write_then_stop(*args):
        save(*args)
        written.append(True)
        if len(written) == count:
            raise KeyboardInterrupt
    return write_then_stop


@pytest.mark.parametrize("method, epochs, kill_after", [("noise", ["--epochs", "2"], 1), ("stdb", [], 1),
                                                        ("diet", [], 2)])
def test_a_killed_run_resumes_to_the_result_of_an_unbroken_one(method, epochs, kill_after, tmp_path):
    """Killed after a checkpoint (noise: epoch 1 of 2; stdb: the ANN's epoch, before the conversion and STDB;
    diet: the conversion, before DIET-SNN) and resumed: the same history, test accuracy and weights as a run in
    one go; a folder with a checkpoint takes only --resume, a resumption with other options or constants is
    refused, a finished run is never overwritten."""
    whole, out = tmp_path / "whole", tmp_path / "run"
    args = lambda folder, *more: command(method, folder, "--brian2-images", "0", *epochs, *more)  # noqa: E731
    assert main(args(whole)) == 0
    with mock.patch.object(experiment, "save_checkpoint", side_effect=stop_after(experiment.save_checkpoint,
                                                                                 kill_after)):
        with pytest.raises(KeyboardInterrupt):
            main(args(out))
    assert (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()
    assert main(args(out)) == 2                                  # not empty: only --resume continues it
    assert main(args(out, "--seed", "1", "--resume")) == 2       # other settings than the checkpoint's
    with mock.patch.object(experiment, "model_digest", return_value="another model file"):
        assert main(args(out, "--resume")) == 2                  # other constants than the checkpoint's
    assert main(args(out, "--resume")) == 0
    resumed, unbroken = (json.loads((folder / "metrics.json").read_text()) for folder in (out, whole))
    assert untimed(resumed["history"]) == untimed(unbroken["history"])
    assert resumed["test_accuracy"] == unbroken["test_accuracy"]
    assert resumed["spikes_per_image"] == unbroken["spikes_per_image"]
    mine, theirs = (torch.load(folder / "network.pt")["snn"] for folder in (out, whole))
    assert all(torch.equal(mine[key], theirs[key]) for key in theirs)
    assert main(args(out, "--resume")) == 2                      # finished: refused


def test_a_run_killed_in_its_brian2_check_resumes_without_scoring_again(tmp_path):
    """The scores (a noise run's ablation: many passes over the test set) are in the checkpoint before the
    Brian2 check begins."""
    out = tmp_path / "run"
    args = command("noise", out, "--brian2-images", "2", "--epochs", "1")
    with mock.patch.object(experiment, "brian2_check", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            main(args)
    with mock.patch.object(experiment.Run, "_finish", side_effect=AssertionError("scored again")):
        assert main(args + ["--resume"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["alpha_ablation"] and metrics["brian2_images"] == 2 and metrics["brian2_spike_mismatches"] == 0


def test_fashion_mnist_takes_its_own_target_and_paper_numbers(tmp_path):
    from brainnets.datasets import FASHION_MNIST_DIR
    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip(f"Fashion-MNIST not installed in {FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)")
    out = tmp_path / "run"
    assert main(command("direct", out, "--dataset", "fashion_mnist", "--brian2-images", "0")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "fashion_mnist" and metrics["settings"]["target_accuracy"] == 0.9
    assert metrics["paper_seconds"] == 528 and metrics["paper_accuracy"] is None


def test_validation_images_choose_the_epoch_kept(tmp_path):
    out = tmp_path / "run"
    assert main(TINY + ["--method", "direct", "--lr", "3e-3", "--epochs", "3", "--train", "250", "--validation", "50",
                        "--brian2-images", "0", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    scores = [record["validation_accuracy"] for record in metrics["history"]]
    assert metrics["selected_epoch"] == 1 + scores.index(max(scores))
    assert metrics["test_accuracy"] == metrics["history"][metrics["selected_epoch"] - 1]["test_accuracy"]
    assert metrics["n_train"] == 200 and metrics["n_validation"] == 50


def test_stop_at_target_ends_the_training_at_the_first_epoch_that_reaches_it(tmp_path):
    out = tmp_path / "run"
    assert main(TINY + ["--method", "direct", "--lr", "3e-3", "--epochs", "4", "--target-accuracy", "0.01",
                        "--stop-at-target", "--brian2-images", "0", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [record["epoch"] for record in metrics["history"]] == [1]
    assert metrics["epochs_to_accuracy"] == 1 and metrics["seconds_to_accuracy"] == metrics["train_seconds"]


def test_a_network_the_bridge_cannot_simulate_is_recorded_not_fatal(tmp_path):
    def refuse(*args, **named):
        raise NotImplementedError("not this one")

    out = tmp_path / "run"
    with mock.patch.object(bridge, "compare", side_effect=refuse):
        assert main(command("direct", out, "--brian2-images", "3")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["brian2_images"] == 0 and metrics["brian2_spike_mismatches"] is None
    assert "not this one" in metrics["brian2_not_checked"]


@pytest.mark.parametrize("change", [
    ["--method", "backprop"],
    ["--method", "noise", "--arch", "8X3-10"],
    ["--method", "noise", "--arch", "8C3-AP64-10"],
    ["--method", "noise", "--arch", "8C3-AP2-16-3"],
    ["--method", "noise", "--timesteps", "0"],
    ["--method", "stdb", "--epochs", "0"],
    ["--method", "conversion", "--epochs", "2"],
    ["--method", "noise", "--validation", "200"],
    ["--method", "noise", "--data", "/nonexistent/folder"],
    ["--method", "noise", "--dataset", "cifar"],
    ["--method", "noise", "--device", "cuda"],
    ["--method", "noise", "--target-accuracy", "90"],
    ["--method", "noise", "--ann-epochs", "3"],
    ["--method", "stdb", "--long-timesteps", "100"],
    ["--method", "diet", "--target-accuracy", "0.9"],
    ["--method", "stdb", "--stop-at-target"],
])
def test_bad_options_stop_with_one_line_and_leave_no_folder(change, tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(TINY + change + ["--out", str(out)]) == 2
    assert not out.exists()
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error


def test_summary_takes_the_time_ratio_and_the_alpha_gains(tmp_path):
    """timestep-summary: one row per run, the noise row's time ratio against the direct run of the same data set
    and architecture, the ablation's gain per alpha; finished results are not overwritten."""
    base = {"dataset": "fashion_mnist", "arch": "8C3-10", "timesteps": 5, "test_accuracy": 0.9,
            "paper_accuracy": 93.89, "command": "brainnets timestep ..."}
    runs = {"noise": {**base, "method": "noise", "seconds_to_accuracy": 100.0,
                      "alpha_ablation": [{"alpha": a, "timesteps": t, "accuracy": acc}
                                         for a, accs in ((2.0, (0.80, 0.81, 0.81)), ("inf", (0.80, 0.85, 0.86)))
                                         for t, acc in zip((1, 5, 10), accs)]},
            "direct": {**base, "method": "direct", "timesteps": 10, "seconds_to_accuracy": 390.0}}
    for name, metrics in runs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "results"
    assert main(["study", "timestep-summary", str(tmp_path / "noise"), str(tmp_path / "direct"), "--out",
                 str(out)]) == 0
    noise, direct = json.loads((out / "summary.json").read_text())["rows"]
    assert noise["time_ratio_vs_direct"] == pytest.approx(3.9) and "time_ratio_vs_direct" not in direct
    ablation, = json.loads((out / "alpha_ablation.json").read_text())["runs"]
    assert ablation["gain_over_timesteps"] == pytest.approx({"2.0": 0.01, "inf": 0.06})
    assert main(["study", "timestep-summary", str(tmp_path / "noise"), "--out", str(out)]) == 2
    assert main(["study", "timestep-summary", str(tmp_path), "--out", str(tmp_path / "other")]) == 2


def test_timestep_choice_scores_the_converted_network_on_validation_images(tmp_path):
    """timestep-choice reopens a stdb run stopped after its conversion: the network it rebuilds is the one the
    run converted, its ANN scores what the run's validation scored, and the T named is the largest that loses
    the points asked for; runs without validation images or without a checkpoint are refused."""
    out, choice = tmp_path / "run", tmp_path / "choice.json"
    args = command("stdb", out, "--brian2-images", "0", "--train", "250", "--validation", "50")
    with mock.patch.object(experiment, "save_checkpoint", side_effect=stop_after(experiment.save_checkpoint, 2)):
        with pytest.raises(KeyboardInterrupt):
            main(args)
    state = experiment.load_checkpoint(out / "checkpoint.pt")
    assert state["progress"]["phase"] == "snn" and state["progress"]["epochs"] == 0
    rebuilt = experiment.reopen(out / "checkpoint.pt").converted_network().state_dict()
    assert all(torch.equal(rebuilt[key], state["snn"][key]) for key in state["snn"])

    assert main(["study", "timestep-choice", str(out), "--timesteps", "1", "3", "5", "--min-loss", "0",
                 "--out", str(choice)]) == 0
    result = json.loads(choice.read_text())
    assert [row["timesteps"] for row in result["rows"]] == [1, 3, 5] and result["validation_images"] == 50
    assert result["ann_validation_accuracy"] == state["progress"]["best"]["ann"]["validation_accuracy"]
    losing = [row["timesteps"] for row in result["rows"] if row["loss_points"] >= 0]
    assert result["chosen_timesteps"] == (max(losing) if losing else None)
    assert main(["study", "timestep-choice", str(out), "--timesteps", "3", "--out", str(choice)]) == 2  # not new

    no_validation = tmp_path / "no_validation"
    with mock.patch.object(experiment, "save_checkpoint", side_effect=stop_after(experiment.save_checkpoint, 2)):
        with pytest.raises(KeyboardInterrupt):
            main(command("stdb", no_validation, "--brian2-images", "0"))
    assert main(["study", "timestep-choice", str(no_validation), "--timesteps", "3", "--out",
                 str(tmp_path / "other.json")]) == 2
    assert main(["study", "timestep-choice", str(tmp_path), "--timesteps", "3", "--out",
                 str(tmp_path / "other.json")]) == 2
    assert not (tmp_path / "other.json").exists()


def test_cifar10_runs_from_its_python_batches_colour_channels_and_all(cifar10_folder, tmp_path, capsys):
    """CIFAR-10 is read from a user's python batches (here a small random stand-in): three input channels
    through conversion and STDB, and the Brian2 re-simulation agrees spike for spike. Jiang's model file has no
    CIFAR-10 network (the paper's VGG-16 and ResNet-18 are not spelled out): refused with the reason."""
    out, folder = tmp_path / "run", cifar10_folder(40)
    assert main(command("stdb", out, "--dataset", "cifar10", "--data", str(folder), "--brian2-images", "3")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "cifar10" and metrics["n_train"] == 200 and metrics["n_test"] == 40
    assert metrics["brian2_images"] == 3 and metrics["brian2_spike_mismatches"] == 0
    assert metrics["paper_accuracy"] is None  # the paper's 86.91 % is VGG5's, not this tiny net's
    capsys.readouterr()
    assert main(command("noise", tmp_path / "noise", "--dataset", "cifar10", "--data", str(folder))) == 2
    assert "no section [cifar10]" in capsys.readouterr().err


def test_stdb_on_cifar10_with_the_thesis_vgg5_takes_table_4_1():
    from brainnets.config import read_toml
    from brainnets.studies.timestep import paper_numbers
    document = read_toml("rathi2021_stdb")
    literal = experiment.resolve("stdb", "cifar10", document)
    assert literal.arch == document["vgg5"]["arch"] and literal.timesteps == 75
    assert paper_numbers(literal, document)["paper_accuracy"] == pytest.approx(0.8691)
    narrow = experiment.resolve("stdb", "cifar10", document, arch="16C3-AP2-32-10")
    assert paper_numbers(narrow, document)["paper_accuracy"] is None
