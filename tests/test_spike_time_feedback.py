"""Spiking DFA and SFDFA (brainnets.spike_time.feedback; Bacho 2023, ch. 5) and the spike-time training command."""
import gc
import json
import weakref
from unittest import mock

import numpy as np
import pytest
import torch

from brainnets.cli import main
from brainnets.spike_time import experiment
from brainnets.spike_time.bats import backward
from brainnets.spike_time.feedback import Feedback, direct_feedback_gradients, grades, update_feedback
from brainnets.spike_time.forward import simulate_layer
from brainnets.spike_time.network import SpikingFC
from brainnets.spike_time.neuron import Neuron, time_partials

NEURON = Neuron(tau_s=0.1, threshold=0.05)


def random_inputs(rng, batch=4, n_in=12, k_in=2):
    times = rng.uniform(0, 0.1, size=(batch, n_in, k_in))
    times[rng.random(times.shape) < 0.3] = np.inf
    return torch.from_numpy(times)


def total_spike_time(in_times, weight):
    return float(torch.where(torch.isfinite(t := simulate_layer(in_times, weight, NEURON, 30).times), t, 0).sum())


def test_local_gradient_is_the_total_derivative_of_the_spike_times(rng):
    """Eqs. 155-157: sum_k ∇loc w_ij^k, resets included, is ∂(sum_k t_i^k)/∂w_ij: central differences agree where
    the spike pattern holds."""
    in_times = random_inputs(rng)
    weight = torch.from_numpy(rng.normal(0.15, 0.3, size=(6, 12)))
    run = simulate_layer(in_times, weight, NEURON, 30)
    assert run.counts.sum() > 20 and (run.counts > 1).any()
    local, _ = backward(run, torch.ones_like(run.times), weight, in_times.shape, NEURON, to_inputs=False)
    step = 1e-7
    for i, j in [(i, j) for i in range(6) for j in range(0, 12, 3)]:
        up, down = weight.clone(), weight.clone()
        up[i, j] += step
        down[i, j] -= step
        if not torch.equal(simulate_layer(in_times, up, NEURON, 30).events, simulate_layer(in_times, down, NEURON, 30).events):
            continue
        numeric = (total_spike_time(in_times, up) - total_spike_time(in_times, down)) / (2 * step)
        assert local[i, j].item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_bounded_local_gradient_is_bounded(rng):
    """Eq. 162 replaces the factor tau / (I - ϑ), unbounded at hair-trigger spikes, by tau / I <= tau / ϑ."""
    run = simulate_layer(random_inputs(rng, batch=8), torch.from_numpy(rng.normal(0.15, 0.3, size=(30, 12))), NEURON, 30)
    spiked = torch.isfinite(run.times)
    exact, _ = time_partials(run.a, run.x, run.exp_tau, NEURON)
    bounded, _ = time_partials(run.a, run.x, run.exp_tau, NEURON, bounded=True)
    # f1 = factor x e^{-t/tau_s}: the factor is tau / (I - ϑ) exactly, tau / I bounded, I = a e^{-t/tau_s}
    factor_exact, factor_bounded = exact * run.exp_tau ** 2, bounded * run.exp_tau ** 2
    assert (factor_bounded[spiked] <= NEURON.tau / NEURON.threshold * (1 + 1e-12)).all()
    assert (factor_exact[spiked] >= factor_bounded[spiked]).all()
    assert factor_exact[spiked].max() > 3 * factor_bounded[spiked].max()


def test_grades_sum_to_the_directional_derivative(rng):
    """Eqs. 144-146: the grades an output neuron emits add up to sum_i w_oi p_i over the hidden neurons whose first
    spike came before the output's last."""
    net = SpikingFC([12, 15, 4], [NEURON, NEURON], [30, 30], duration=0.3, init=(-0.2, 0.8),
                    generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    in_times = random_inputs(rng, batch=6)
    hidden, output = net.simulate(in_times)
    p = torch.from_numpy(rng.normal(size=hidden.counts.shape))
    hidden_grades = grades(hidden, net.weights[0].detach(), None, p, 2)
    assert torch.equal(hidden_grades[..., 0], torch.where(hidden.counts > 0, p, 0))
    assert (hidden_grades[..., 1:] == 0).all()
    out_grades = grades(output, net.weights[1].detach(), hidden_grades.flatten(1), None, 30)
    last = torch.where(torch.isfinite(output.times), output.times, -np.inf).max(-1).values
    first = hidden.times[..., 0]
    causal = (first[:, None, :] < last[..., None]).double()
    expected = (net.weights[1].detach()[None] * causal * torch.where(hidden.counts > 0, p, 0)[:, None, :]).sum(-1)
    assert output.counts.sum() > 10
    torch.testing.assert_close(out_grades.sum(-1), expected, rtol=1e-12, atol=1e-12)


def test_feedback_update_is_eq_148_over_the_samples_that_fired():
    matrix = torch.ones(2, 3, dtype=torch.float64)
    direction = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    p = torch.tensor([[1.0, 0.5, 2.0], [-1.0, 1.0, 2.0]], dtype=torch.float64)
    fired = torch.tensor([[True, True, False], [True, False, False]])
    update_feedback(matrix, direction, p, fired, alpha=0.5)
    estimate = torch.tensor([[(1 - 3) / 2, 0.5, 1.0], [(2 - 4) / 2, 1.0, 1.0]], dtype=torch.float64)
    expected = torch.ones(2, 3, dtype=torch.float64)
    expected[:, :2] = 0.5 * expected[:, :2] + 0.5 * estimate[:, :2]
    torch.testing.assert_close(matrix, expected)


def test_sfdfa_feedback_learns_the_output_weights(rng):
    """With hidden spikes all before the outputs' last ones, E[d_o p_i] = w_oi (Eq. 147): B, averaged over
    many batches, aligns with the output weights."""
    net = SpikingFC([12, 20, 3], [NEURON, NEURON], [30, 30], duration=0.5, init=(0.1, 1.0),
                    generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    section = dict(target_true=15, target_false=3, alpha=0.05, reg=0.0, n_hat=0.0)
    generator = torch.Generator().manual_seed(0)
    feedback = Feedback(net, "sfdfa", generator)
    step = direct_feedback_gradients(section, feedback)
    in_times = random_inputs(rng, batch=50)
    for _ in range(100):
        step(net, in_times, torch.zeros(50, dtype=torch.long), generator)
    cosine = torch.nn.functional.cosine_similarity(feedback[0].flatten(), net.weights[1].detach().flatten(), dim=0)
    assert cosine > 0.95


def test_dfa_hidden_update_uses_the_fixed_feedback(rng):
    """Spiking DFA: the hidden layer's update is the local gradient times sum_o B_oi δ_o (Eq. 139)."""
    net = SpikingFC([12, 10, 3], [NEURON, NEURON], [30, 30], duration=0.3, init=(-0.2, 0.8),
                    generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    section = dict(target_true=15, target_false=3, alpha=0.0, reg=0.0, n_hat=0.0)
    feedback = Feedback(net, "dfa", torch.Generator().manual_seed(0))
    in_times, labels = random_inputs(rng, batch=5), torch.tensor([0, 1, 2, 0, 1])
    runs, _ = direct_feedback_gradients(section, feedback)(net, in_times, labels, None)
    counts = runs[1].counts.double()
    targets = torch.full_like(counts, 3.0)
    targets[torch.arange(5), labels] = 15
    error = (targets - counts) @ feedback[0] / 5
    expected, _ = backward(runs[0], error[..., None].expand_as(runs[0].times), net.weights[0].detach(),
                           in_times.shape, NEURON, to_inputs=False)
    torch.testing.assert_close(net.weights[0].grad, expected)


def stop_after_first(save):
    """A checkpoint writer that writes the first checkpoint, then stops the run as a kill would."""
    def first_then_stop(*args):
        save(*args)
        raise KeyboardInterrupt
    return first_then_stop


def test_spike_time_command_trains_resumes_and_refuses_a_finished_run(tmp_path, torch_one_thread):
    """Two epochs on 200 images, killed after the first (its checkpoint kept) and resumed: the same weights as
    two epochs in one go; the result file names the method, the thesis' accuracy and the training speed; a
    finished run is never overwritten."""
    common = ["spike-time", "--method", "sfdfa", "--arch", "40-10", "--train", "200", "--test", "100",
              "--brian2-images", "0", "--quiet", "--epochs", "2"]
    whole, out = tmp_path / "whole", tmp_path / "run"
    assert main(common + ["--out", str(whole)]) == 0
    with mock.patch.object(experiment, "save_checkpoint", side_effect=stop_after_first(experiment.save_checkpoint)):
        with pytest.raises(KeyboardInterrupt):
            main(common + ["--out", str(out)])
    assert main(common + ["--out", str(out)]) == 2      # not empty: only --resume continues it
    assert main(common + ["--out", str(out), "--resume"]) == 0
    first = json.loads((out / "metrics.json").read_text())
    assert first["epochs"] == 2 and first["arch"] == "40-10" and first["thesis_accuracy"] == 0.9856
    untimed = lambda history: [{k: v for k, v in record.items() if k != "train_seconds"} for record in history]
    assert untimed(first["history"]) == untimed(json.loads((whole / "metrics.json").read_text())["history"])
    assert torch.equal(torch.load(out / "network.pt")["weights"][0], torch.load(whole / "network.pt")["weights"][0])
    assert first["images_per_second"] > 0 and 0 <= first["active_hidden_fraction"] <= 1
    assert main(common + ["--out", str(out), "--resume"]) == 2        # finished: refused
    assert (out / "training.png").exists() and (out / "raster.png").exists()
    assert main(["study", "spike-time-summary", str(out), "--out", str(tmp_path / "results")]) == 0
    row, = json.loads((tmp_path / "results" / "summary.json").read_text())["rows"]
    assert row["method"] == "sfdfa" and row["test_accuracy"] == first["test_accuracy"]
    assert main(["study", "spike-time-summary", str(tmp_path), "--out", str(tmp_path / "results")]) == 2


def test_gradcheck_study_writes_its_file(tmp_path):
    out = tmp_path / "gradcheck.json"
    assert main(["study", "spike-time-gradcheck", "--seeds", "0", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["bats"]["max_relative_error"] < 1e-6 and result["fast_deep"]["max_relative_error"] < 1e-6
    assert result["bats"]["entries_checked"] > 50


def test_no_graph_reaches_the_feedback_and_no_cycle_holds_a_batch(rng):
    """Memory stays flat over a long training: SFDFA's feedback never joins an autograd graph (each batch's
    would chain onto the last), and a BATS layer's output is freed as soon as it is dropped, without waiting
    for the garbage collector (its autograd context holds the times through save_for_backward, not a cycle)."""
    net = SpikingFC([12, 15, 4], [NEURON, NEURON], [30, 30], duration=0.3, init=(-0.2, 0.8),
                    generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    section = dict(target_true=15, target_false=3, alpha=0.1, reg=0.1, n_hat=0.2)
    feedback = Feedback(net, "sfdfa", torch.Generator().manual_seed(0))
    direct_feedback_gradients(section, feedback)(net, random_inputs(rng), torch.tensor([0, 1, 2, 3]), None)
    assert not feedback[0].requires_grad and feedback[0].grad_fn is None
    gc.disable()
    try:
        layers = net(random_inputs(rng))
        times = weakref.ref(layers[0].times)
        torch.where(torch.isfinite(layers[-1].times), layers[-1].times, 0).sum().backward()
        del layers
        assert times() is None
    finally:
        gc.enable()


def test_validation_images_choose_the_epoch_kept(tmp_path, torch_one_thread):
    """With --validation the epoch that scores best on held-out training images is the one tested and saved."""
    out = tmp_path / "run"
    assert main(["spike-time", "--method", "bats", "--arch", "30-10", "--train", "300", "--validation", "100",
                 "--test", "100", "--epochs", "3", "--brian2-images", "0", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    scores = [record["validation_accuracy"] for record in metrics["history"]]
    assert metrics["selected_epoch"] == 1 + scores.index(max(scores)) and metrics["n_validation"] == 100
    assert metrics["test_accuracy"] == metrics["history"][metrics["selected_epoch"] - 1]["test_accuracy"]
    assert metrics["n_train"] == 200
    assert main(["spike-time", "--method", "bats", "--validation", "300", "--train", "300", "--out",
                 str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()


def test_thresholds_and_output_init_override_the_model_file(tmp_path, torch_one_thread):
    """--thresholds sets each layer's threshold and --output-init the output layer's initial weights (both recorded
    in metrics.json); a wrong count of thresholds is one clear error."""
    out = tmp_path / "run"
    assert main(["spike-time", "--method", "fast_deep", "--arch", "20-10", "--init", "-1", "1", "--output-init", "0",
                 "1", "--thresholds", "0.3", "1.1", "--train", "100", "--test", "50", "--epochs", "1", "--brian2-images", "0", "--quiet",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["thresholds"] == [0.3, 1.1] and metrics["init"] == [-1.0, 1.0] and metrics["output_init"] == [0, 1]
    net = SpikingFC([784, 20, 10], [NEURON, NEURON], [1, 1], init=(-1.0, 1.0), output_init=(0.0, 1.0))
    assert net.weights[0].min() < -0.9 and net.weights[1].min() >= 0.0
    assert main(["spike-time", "--method", "fast_deep", "--thresholds", "0.3", "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()
