"""BATS against snnTorch training speed, side by side (brainnets.spike_time.bench; issue 27)."""
import math

import numpy as np
import pytest
import torch

pytest.importorskip("snntorch")

from brainnets.spike_time.bench import SynapticNet, benchmark, count_loss, settings, spike_tensor  # noqa: E402
from brainnets.spike_time.encoding import encode_ttfs  # noqa: E402
from brainnets.spike_time.neuron import Neuron, crossing  # noqa: E402


def test_spike_tensor_puts_each_pixel_at_its_step():
    """A pixel p spikes at 0.1 (1 - p/255) s: on the 1 ms grid 255 -> step 0, 153 -> step 40, 0 -> never; a
    spike at or after the last step is dropped."""
    images = np.array([[255, 153, 0, 1]], dtype=np.uint8)
    spikes = spike_tensor(encode_ttfs(images, 0.1, torch.float32), 1e-3, 200)
    assert spikes.shape == (200, 1, 4) and spikes.dtype == torch.float32
    assert spikes[0, 0, 0] == 1 and spikes[40, 0, 1] == 1 and spikes[100, 0, 3] == 1
    assert spikes.sum() == 3
    assert spike_tensor(encode_ttfs(images, 0.1), 1e-3, 50).sum() == 2


@torch.no_grad()
def test_synaptic_net_matches_the_bats_neuron():
    """One input at step 0: the snnTorch potential follows the bats/Brian2 one, w tau tau_s / (tau - tau_s)
    (e^{-t/tau} - e^{-t/tau_s}), to O(dt), and with BATS's hidden threshold the first spike falls within a step
    of the exact one (Eqs. 68-69; weight 5: the kernel peaks at 0.065 w)."""
    section, _ = settings()
    tau, tau_s, dt = section["tau"], section["tau_s"], 1e-3
    spikes = torch.zeros(100, 1, 1)
    spikes[0] = 1
    silent = SynapticNet([1, 1], [1e9], tau_s, tau, dt, init=(1.0, 1.0))
    assert float(silent.lif[0].alpha) == pytest.approx(math.exp(-dt / tau_s))
    assert float(silent.lif[0].beta) == pytest.approx(math.exp(-dt / tau))
    assert silent(spikes).sum() == 0
    u = tau * tau_s / (tau - tau_s) * (math.exp(-0.1 / tau) - math.exp(-0.1 / tau_s))
    assert float(silent.lif[0].mem) == pytest.approx(u, rel=0.01)

    theta = section["thresholds"][0]
    out = SynapticNet([1, 1], [theta], tau_s, tau, dt, init=(5.0, 5.0))(spikes)
    t_exact, _, _ = crossing(torch.tensor(5.0), torch.tensor(5.0), Neuron.from_bats(tau_s, theta))
    assert out.sum() > 0 and 0 < float(t_exact) < 0.1
    assert abs(int(out[:, 0, 0].argmax()) - float(t_exact) / dt) <= 1


def test_count_loss_targets_are_bats():
    """mse_count_loss with our rates: zero at exactly 15 spikes for the label and 3 for the others."""
    section, _ = settings()
    out = torch.zeros(200, 2, 10)
    out[:3] = 1
    out[3:15, [0, 1], [4, 7]] = 1
    assert float(count_loss(section, 200)(out, torch.tensor([4, 7]))) == 0


def test_benchmark_runs_both_side_by_side(mnist_train):
    """100 images (a warm-up batch and one timed) through both trainings, on one thread and a 5 ms grid to keep
    it short: positive speeds, their ratio and the settings."""
    report = benchmark(mnist_train.images, mnist_train.labels, 50, threads=1, dt=5e-3)
    for key in ("bats_images_per_second", "snntorch_images_per_second", "ratio", "median_batch_ratio"):
        assert report[key] > 0
    assert report["ratio"] == pytest.approx(report["bats_images_per_second"] / report["snntorch_images_per_second"])
    assert report["bats"]["images"] == report["snntorch"]["images"] == 50
    assert 0 <= report["snntorch"]["training_accuracy"] <= 1
    settings_ = report["settings"]
    assert (settings_["dt"], settings_["steps"], settings_["batch_size"]) == (5e-3, 40, 50)
    assert settings_["threads"] == 1 and settings_["dtype"] == "float32"
    assert set(report["versions"]) == {"torch", "snntorch"}
