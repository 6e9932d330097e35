"""The Brian2 re-simulation of time-stepped networks (brainnets.timestep.bridge) against PyTorch."""
import numpy as np
import pytest
import torch

from brainnets.timestep import bridge, encoding, surrogate
from brainnets.timestep.network import TimestepNet
from brainnets.timestep.neuron import LIF


def lif_layers(reset: str, leak: float):
    return lambda index: LIF(surrogate.ArcTan(3.0), threshold=0.6 + 0.1 * index, leak=leak, reset=reset,
                             dtype=torch.float64)


def random_net(arch, shape, reset, leak, seed=0):
    torch.manual_seed(seed)
    net = TimestepNet(arch, shape, lif_layers(reset, leak)).double()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter *= 3  # busy layers: many spikes to compare
    return net


@pytest.mark.parametrize("arch, shape, coding, reset, leak", [
    ("6C3-AP2-5C3-AP2-12-4", (1, 10, 10), "direct", "subtract", 1.0),
    ("6C3-AP2-5C3-12-4", (2, 9, 9), "poisson", "hard", 0.5),
    ("20-15-3", (30,), "direct", "hard", 0.8),
])
def test_brian2_gives_the_spikes_of_the_pytorch_forward_pass(arch, shape, coding, reset, leak, torch_one_thread):
    """Every spike of every layer, step and image, and the logits, as PyTorch (float64) has them."""
    net = random_net(arch, shape, reset, leak)
    x = torch.rand(6, *shape, dtype=torch.float64)
    coded = (encoding.direct(x, 4) if coding == "direct"
             else encoding.poisson(2 * x - 1, 4, torch.Generator().manual_seed(1)))
    result = bridge.compare(net, coded, coding)
    assert result["brian2_images"] == 6 and result["brian2_spikes"] > 100
    assert result["brian2_spike_mismatches"] == 0 and result["brian2_spikes"] == result["brian2_spikes_torch"]
    assert result["brian2_prediction_mismatches"] == 0 and result["brian2_max_abs_logit_diff"] < 1e-12
    assert all(layer["spikes_brian2"] > 0 for layer in result["brian2_layers"])


def test_a_different_threshold_in_brian2_is_caught(monkeypatch, torch_one_thread):
    """The check can fail: Brian2 given a 10 % higher first threshold than PyTorch reports mismatched spikes."""
    net = random_net("20-15-3", (30,), "subtract", 1.0)
    coded = encoding.direct(torch.rand(6, 30, dtype=torch.float64), 4)
    faithful = bridge.stages

    def altered(network):
        layers = faithful(network)
        layers[0].threshold *= 1.1
        return layers

    monkeypatch.setattr(bridge, "stages", altered)
    assert bridge.compare(net, coded, "direct")["brian2_spike_mismatches"] > 0


def dense(connection: bridge.Connection, n_pre: int, n_post: int) -> np.ndarray:
    matrix = np.zeros((n_post, n_pre))
    np.add.at(matrix, (connection.post, connection.pre), connection.weight)
    return matrix


def test_connections_are_pytorch_convolution_and_pooling(rng):
    """The synapse lists, as matrices, compute what torch's conv2d (padding k // 2) and avg_pool2d compute."""
    weight, x = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=(3, 7, 6))
    conv = dense(bridge.conv_connection(weight, 7, 6), x.size, 4 * 7 * 6) @ x.ravel()
    expected = torch.nn.functional.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight), padding=1)
    assert np.allclose(conv, expected.numpy().ravel(), atol=1e-12)
    pooled = dense(bridge.pool_connection(3, 7, 6, 2), x.size, 3 * 3 * 3) @ x.ravel() / 4
    assert np.allclose(pooled, torch.nn.functional.avg_pool2d(torch.from_numpy(x)[None], 2).numpy().ravel())
    fc = rng.normal(size=(5, 8))
    assert np.allclose(dense(bridge.fc_connection(fc), 8, 5), fc)


def noise_net(seed=3):
    from brainnets.config import read_toml
    from brainnets.timestep import noise
    return noise.noise_net(read_toml("jiang2024_noise"), "6C3-AP2-8C3-AP2-12-4", (1, 12, 12),
                           noise=noise.Noise(generator=torch.Generator().manual_seed(seed)), dtype=torch.float64)


@pytest.mark.parametrize("stage, alpha", [(2, None), (3, None), (3, 2.0), (3, float("inf"))])
def test_noise_networks_in_brian2_draw_what_pytorch_drew(stage, alpha, torch_one_thread):
    """Jiang's stages 2 and 3: Brian2 restores the memory from its own potentials (Eqs. 7-10) and, given the
    PyTorch pass's Gaussian draws, fires the same spikes, images in pieces."""
    from brainnets.timestep import noise
    net = noise_net()
    noise.set_stage(net, stage, alpha)
    coded = encoding.direct(torch.rand(5, 1, 12, 12, dtype=torch.float64), 5)
    result = bridge.compare(net, coded, "direct", "cpp", chunk=2)
    assert result["brian2_device"] == "runtime" and result["brian2_spikes"] > 1000
    assert result["brian2_spike_mismatches"] == 0 and result["brian2_prediction_mismatches"] == 0


def test_a_different_alpha_in_brian2_is_caught(monkeypatch, torch_one_thread):
    import copy

    from brainnets.timestep import noise
    net = noise_net()
    noise.set_stage(net, 3)
    coded = encoding.direct(torch.rand(3, 1, 12, 12, dtype=torch.float64), 5)
    faithful = bridge.stages

    def altered(network):
        layers = faithful(network)
        layers[0].noise = copy.copy(layers[0].noise)
        layers[0].noise.alpha = 8.0
        return layers

    monkeypatch.setattr(bridge, "stages", altered)
    assert bridge.compare(net, coded, "direct")["brian2_spike_mismatches"] > 0
