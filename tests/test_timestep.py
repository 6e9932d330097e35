"""Discrete-time spiking layers (brainnets.timestep): neurons against numpy loops written from the papers'
equations, surrogates against their formulas, the encoders' statistics, the integrating output and the
network builder."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

from brainnets.config import read_toml  # noqa: E402
from brainnets.timestep import encoding, surrogate  # noqa: E402
from brainnets.timestep.network import FixedDropout, TimestepNet, parse_architecture  # noqa: E402
from brainnets.timestep.neuron import LIF, Integrator, LeakyLIF, lif_factory  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

MODELS = ("rathi2021_stdb", "rathi2021_diet", "jiang2024_noise")


def numpy_lif(current, threshold, leak, reset, v_reset=0.0):
    """Rathi Eq. 4.2 (soft) or Jiang Eqs. 1-3 (hard) step by step: spikes and potentials before the reset."""
    u = np.zeros(current.shape[1:])
    spiked = np.zeros_like(u)
    spikes, potentials = [], []
    for step_current in current:
        if reset == "subtract":
            u = leak * u + step_current - threshold * spiked          # u^t = λ u^{t-1} + I^t - v o^{t-1}
        else:
            v_after = u * (1 - spiked) + v_reset * spiked             # V = H (1 - S) + V_reset S
            u = leak * v_after + step_current                         # H = λ V(t-1) + I
        spiked = (u > threshold).astype(float)
        spikes.append(spiked)
        potentials.append(u)
    return np.array(spikes), np.array(potentials)


def last_spike_gaps(spikes, never=-1000.0):
    """Δt = t - t_s of Eq. 4.12 at every step, t_s the last spike strictly before t (steps from 1)."""
    last = np.full(spikes.shape[1:], never)
    gaps = []
    for step, spiked in enumerate(spikes, start=1):
        gaps.append(step - last)
        last = np.where(spiked > 0, step, last)
    return np.array(gaps)


# ---------------------------------------------------------------- neurons

@pytest.mark.parametrize("reset, leak, threshold, v_reset", [
    ("subtract", 1.0, 1.0, 0.0), ("subtract", 0.7, 0.6, 0.0), ("hard", 0.5, 1.0, 0.0), ("hard", 0.9, 0.8, 0.2)])
def test_lif_matches_numpy_loop(reset, leak, threshold, v_reset):
    rng = np.random.default_rng(3)
    current = rng.uniform(-0.3, 0.9, size=(12, 4, 7))
    layer = LIF(surrogate.Linear(0.3), threshold=threshold, leak=leak, reset=reset, v_reset=v_reset,
                dtype=torch.float64)
    spikes, potentials = layer(torch.tensor(current), return_potential=True)
    want_spikes, want_potentials = numpy_lif(current, threshold, leak, reset, v_reset)
    assert want_spikes.sum() > 20 and (want_spikes == 0).sum() > 20
    np.testing.assert_array_equal(spikes.numpy(), want_spikes)
    np.testing.assert_allclose(potentials.detach().numpy(), want_potentials, rtol=0, atol=1e-12)


def test_soft_reset_by_hand_and_strict_threshold():
    """IF, v = 1, input 0.25 per step: 0.25, 0.5, 0.75, 1.0 (= v: no spike, Eq. 4.3 is strict), 1.25 (spike),
    then 1.25 - 1 + 0.25 = 0.5: the excess carries over."""
    layer = LIF(surrogate.Linear(0.3), threshold=1.0, leak=1.0)
    spikes, u = layer(torch.full((7, 1), 0.25, dtype=torch.float64), return_potential=True)
    np.testing.assert_allclose(u[:, 0].numpy(), [0.25, 0.5, 0.75, 1.0, 1.25, 0.5, 0.75])
    np.testing.assert_array_equal(spikes[:, 0].numpy(), [0, 0, 0, 0, 1, 0, 0])


def test_hard_reset_by_hand():
    """Jiang's neuron (λ = 0.5, V_th = 1, V_reset = 0), input 0.8: H = 0.8, 1.2 (spike), then 0.5 * 0 + 0.8."""
    layer = LIF(surrogate.ArcTan(3.0), threshold=1.0, leak=0.5, reset="hard")
    spikes, h = layer(torch.full((4, 1), 0.8, dtype=torch.float64), return_potential=True)
    np.testing.assert_allclose(h[:, 0].numpy(), [0.8, 1.2, 0.8, 1.2])
    np.testing.assert_array_equal(spikes[:, 0].numpy(), [0, 1, 0, 1])


@pytest.mark.parametrize("reset", ["subtract", "hard"])
def test_snntorch_leaky_equals_our_layer(reset):
    """Where snnTorch's Leaky is exact (soft reset, or hard reset to 0; a surrogate of u - v) the two layers give
    the same spikes, potentials and gradients."""
    from snntorch import surrogate as snn_surrogate

    rng = np.random.default_rng(5)
    current = rng.uniform(-0.2, 0.9, size=(10, 3, 6)).astype(np.float32)
    weights = torch.tensor(rng.normal(size=(10, 3, 6)).astype(np.float32))
    results = []
    for layer in (LIF(surrogate.ArcTan(3.0), threshold=0.9, leak=0.5, reset=reset, learn_threshold=True),
                  LeakyLIF(snn_surrogate.atan(alpha=3.0), threshold=0.9, leak=0.5, reset=reset, learn_threshold=True)):
        x = torch.tensor(current, requires_grad=True)
        spikes, potentials = layer(x, return_potential=True)
        (spikes * weights).sum().backward()
        results.append((spikes.detach(), potentials.detach(), x.grad, layer.threshold.grad))
    ours, theirs = results
    assert ours[0].sum() > 10
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    want, _ = numpy_lif(current.astype(np.float64), 0.9, 0.5, reset)
    np.testing.assert_array_equal(theirs[0].numpy(), want)


def test_diet_gradients_are_eqs_5_11_5_15_5_17():
    """With λ = 0 no gradient flows through time (the reset's spike is a constant), so autograd's gradients are
    the thesis' per-step sums: ∂L/∂I^t = ∂L/∂o^t g^t / v (Eq. 5.11), Eq. 5.15 for v and Eq. 5.17 for λ, with
    g = γ max(0, 1 - abs(z)) and z = u/v - 1."""
    rng = np.random.default_rng(7)
    gamma, v = 0.3, 0.8
    current = rng.uniform(0.2, 1.4, size=(6, 50))
    dl_do = rng.normal(size=(6, 50))
    layer = LIF(surrogate.Linear(gamma), threshold=v, leak=0.0, learn_threshold=True, learn_leak=True,
                dtype=torch.float64)
    x = torch.tensor(current, requires_grad=True)
    spikes, u = layer(x, return_potential=True)
    (spikes * torch.tensor(dl_do)).sum().backward()
    u = u.detach().numpy()
    o = spikes.detach().numpy()
    o_before = np.concatenate([np.zeros((1, 50)), o[:-1]])
    u_before = np.concatenate([np.zeros((1, 50)), u[:-1]])
    g = gamma * np.maximum(0, 1 - np.abs(u / v - 1))
    assert (g > 0).mean() > 0.5
    np.testing.assert_allclose(x.grad.numpy(), dl_do * g / v, rtol=1e-12)
    np.testing.assert_allclose(layer.threshold.grad.item(), np.sum(dl_do * g * (-v * o_before - u) / v**2), rtol=1e-10)
    np.testing.assert_allclose(layer.leak.grad.item(), np.sum(dl_do * g / v * u_before), rtol=1e-10)


def test_trainable_leak_and_threshold_learn_through_time():
    layer = LIF(surrogate.Linear(0.3), threshold=1.0, leak=0.9, learn_threshold=True, learn_leak=True,
                dtype=torch.float64)
    assert {name for name, _ in layer.named_parameters()} == {"threshold", "leak"}
    current = torch.rand((8, 4, 16), generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.6
    layer(current).sum().backward()
    for parameter in (layer.threshold, layer.leak):
        assert parameter.grad is not None and torch.isfinite(parameter.grad) and parameter.grad != 0
    fixed = LIF(surrogate.Linear(0.3), threshold=1.0, leak=0.9)
    assert list(fixed.parameters()) == [] and {"threshold", "leak"} <= set(dict(fixed.named_buffers()))


def test_stdb_gradient_is_alpha_exp_of_steps_since_last_spike():
    """λ = 0 again: ∂L/∂I^t = ∂L/∂o^t α exp(-β Δt), Δt from the last earlier spike or from -1000."""
    rng = np.random.default_rng(11)
    alpha, beta = 0.3, 0.01
    current = rng.uniform(0, 1.6, size=(15, 40))
    dl_do = rng.normal(size=(15, 40))
    layer = LIF(surrogate.SpikeTime(alpha, beta), threshold=1.0, leak=0.0)
    x = torch.tensor(current, requires_grad=True)
    spikes = layer(x)
    (spikes * torch.tensor(dl_do)).sum().backward()
    gaps = last_spike_gaps(spikes.detach().numpy())
    assert gaps.min() == 1 and gaps.max() > 1000
    np.testing.assert_allclose(x.grad.numpy(), dl_do * alpha * np.exp(-beta * gaps), rtol=1e-12)


# ---------------------------------------------------------------- surrogates

def test_spike_time_surrogate_backward():
    x = torch.tensor([-2.0, -0.1, 0.0, 0.1, 3.0], dtype=torch.float64, requires_grad=True)
    since = torch.tensor([1.0, 5.0, 1001.0, 2.0, 30.0], dtype=torch.float64)
    spikes = surrogate.SpikeTime(0.3, 0.01)(x, torch.tensor(0.0, dtype=torch.float64), since)
    np.testing.assert_array_equal(spikes.detach().numpy(), [0, 0, 0, 1, 1])
    spikes.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.3 * np.exp(-0.01 * since.numpy()), rtol=1e-15)
    with pytest.raises(ValueError, match="last spike"):
        surrogate.SpikeTime(0.3, 0.01)(x, torch.tensor(0.0), None)


def test_linear_surrogate_backward():
    """Eq. 5.12 in z; Eq. 5.13 (1/v) for u and -u/v^2 for v through z = u/v - 1."""
    u = torch.linspace(-0.5, 2.5, 31, dtype=torch.float64, requires_grad=True)
    v = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    spikes = surrogate.Linear(0.3)(u, v)
    spikes.sum().backward()
    z = u.detach().numpy() / 0.8 - 1
    g = 0.3 * np.maximum(0, 1 - np.abs(z))
    np.testing.assert_array_equal(spikes.detach().numpy(), (z > 0).astype(float))
    np.testing.assert_allclose(u.grad.numpy(), g / 0.8, rtol=1e-12)
    np.testing.assert_allclose(v.grad.item(), np.sum(g * -u.detach().numpy() / 0.8**2), rtol=1e-12)
    assert g.max() == pytest.approx(0.3)


def test_arctan_surrogate_backward_is_jiang_eq_4():
    u = torch.linspace(-1.0, 3.0, 41, dtype=torch.float64, requires_grad=True)
    spikes = surrogate.ArcTan(3.0)(u, torch.tensor(1.0, dtype=torch.float64))
    assert spikes.dtype == torch.float64
    np.testing.assert_array_equal(spikes.detach().numpy(), (u.detach().numpy() > 1).astype(float))  # 1 itself: 0
    spikes.sum().backward()
    want = 3 / (2 * (1 + (math.pi / 2 * 3 * (u.detach().numpy() - 1)) ** 2))
    np.testing.assert_allclose(u.grad.numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(surrogate.arctan_derivative(u.detach().numpy() - 1, 3.0), want)
    assert surrogate.arctan_derivative(0.0, 3.0) == 1.5  # the peak a/2 at threshold (jiang.md Sec 2)


def test_surrogates_from_model_files():
    made = [surrogate.make(**read_toml(name)["surrogate"]) for name in MODELS]
    assert [type(s) for s in made] == [surrogate.SpikeTime, surrogate.Linear, surrogate.ArcTan]
    assert (made[0].alpha, made[0].beta, made[1].gamma, made[2].a) == (0.3, 0.01, 0.3, 3.0)
    with pytest.raises(ValueError, match="unknown surrogate"):
        surrogate.make("sigmoid")


# ---------------------------------------------------------------- encoding

def test_signed_poisson_rates_and_signs():
    values = torch.tensor([-1.0, -0.6, -0.25, 0.0, 0.1, 0.3, 0.75, 1.0, 1.5], dtype=torch.float64)
    x = values.repeat(500, 1)                                   # 500 inputs of each value
    spikes = encoding.poisson(x, 400, torch.Generator().manual_seed(2024))
    assert spikes.shape == (400, 500, 9)
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}
    signs = torch.sign(values).expand_as(spikes)
    assert torch.all((spikes == 0) | (spikes == signs))       # a spike carries its input's sign
    rates = spikes.abs().mean((0, 1)).numpy()
    want = np.minimum(values.abs().numpy(), 1)
    n = 400 * 500
    assert np.all(np.abs(rates - want) <= 4 * np.sqrt(want * (1 - want) / n) + 1e-12)
    assert rates[3] == 0 and rates[0] == 1 and rates[-1] == 1
    again = encoding.poisson(x, 400, torch.Generator().manual_seed(2024))
    assert torch.equal(spikes, again)


def test_direct_coding_repeats_the_input():
    x = torch.rand(3, 1, 4, 4)
    coded = encoding.encode("direct", x, 5)
    assert coded.shape == (5, 3, 1, 4, 4) and all(torch.equal(step, x) for step in coded)
    with pytest.raises(ValueError, match="input coding"):
        encoding.encode("latency", x, 5)


# ---------------------------------------------------------------- output layer

def test_integrator_accumulates_and_its_weight_gradient_is_eq_4_9():
    """u^T = Σ_t W o^t (Eq. 4.4), so for cross-entropy on u^T: ΔW = (p - y) Σ_t o^t (Eqs. 4.7, 4.9, 5.7)."""
    rng = np.random.default_rng(13)
    spikes = torch.tensor((rng.random((9, 2, 12)) < 0.3).astype(float))
    linear = torch.nn.Linear(12, 4, bias=False).double()
    potentials = Integrator()(linear(spikes))
    want = np.cumsum(linear(spikes).detach().numpy(), axis=0)
    np.testing.assert_allclose(potentials.detach().numpy(), want, rtol=1e-12)
    labels = torch.tensor([1, 3])
    torch.nn.functional.cross_entropy(potentials[-1], labels, reduction="sum").backward()
    p = torch.softmax(potentials[-1], -1).detach().numpy()
    y = np.eye(4)[labels.numpy()]
    np.testing.assert_allclose(linear.weight.grad.numpy(), (p - y).T @ spikes.sum(0).numpy(), rtol=1e-10)


def test_leaky_integrator():
    current = torch.tensor([[1.0], [2.0], [0.0], [-1.0]], dtype=torch.float64)
    np.testing.assert_allclose(Integrator(leak=0.5)(current)[:, 0].numpy(), [1.0, 2.5, 1.25, -0.375])


# ---------------------------------------------------------------- networks

def test_architecture_parser():
    specs = parse_architecture("64C3-AP2-128C3-AP2-128C3-AP2-512FC-10")
    assert [(s.kind, s.size) for s in specs] == [("conv", 64), ("pool", 2), ("conv", 128), ("pool", 2),
                                                 ("conv", 128), ("pool", 2), ("fc", 512), ("fc", 10)]
    assert specs[0].kernel == 3
    for bad, message in [("64C3-AP2", "last layer"), ("64X3-10", "cannot read"), ("10-64C3-10", "before the fully"),
                         ("64C2-10", "odd kernel")]:
        with pytest.raises(ValueError, match=message):
            parse_architecture(bad)


def test_jiang_network_shapes_and_sizes():
    """jiang.md Sec 5: 28 -> 14 -> 7 -> 3, so the flattened size is 128 * 3 * 3 = 1152."""
    document = read_toml("jiang2024_noise")
    net = TimestepNet(document["mnist"]["arch"], (1, 28, 28), lif_factory(document))
    assert net.synapses[6][1].in_features == 1152
    assert net.layer_neurons == [64 * 28 * 28, 128 * 14 * 14, 128 * 7 * 7, 512]
    assert all(not name.endswith("bias") for name, _ in net.named_parameters())
    x = encoding.direct(torch.rand(3, 1, 28, 28), 2)
    with torch.no_grad():
        out = net(x)
    assert out.shape == (2, 3, 10) and len(net.layer_spikes) == 4 and net.layer_spikes[0].shape == (3,)
    first = net.layers[0][0]
    assert (first.reset, float(first.leak), float(first.threshold)) == ("hard", 0.5, 1.0)
    with pytest.raises(ValueError, match="expected input"):
        net(torch.rand(2, 3, 1, 14, 14))


def test_ann_twin_shares_the_state_dict():
    """The ReLU network is the SNN's ANN: conversion copies its weights by name."""
    document = read_toml("rathi2021_stdb")
    snn = TimestepNet("4C3-AP2-8C3-AP2-16-3", (1, 8, 8), lif_factory(document, thresholds=[1.5, 2.0, 2.5]))
    ann = TimestepNet("4C3-AP2-8C3-AP2-16-3", (1, 8, 8), lambda index: torch.nn.ReLU())
    weights = {k: v for k, v in snn.state_dict().items() if k.startswith("synapses")}
    assert set(weights) == set(ann.state_dict())
    ann.load_state_dict(weights)
    assert [float(snn.layers[i][0].threshold) for i in (0, 2, 4)] == [1.5, 2.0, 2.5]
    assert ann(torch.rand(1, 2, 1, 8, 8)).shape == (1, 2, 3)


def test_stdb_network_trains_end_to_end():
    """Poisson input, STDB surrogate, dropout fixed over T: a backward pass reaches the first layer's weights."""
    torch.manual_seed(0)
    document = read_toml("rathi2021_stdb")
    net = TimestepNet("4C3-AP2-16-3", (1, 8, 8), lif_factory(document, thresholds=[0.3, 0.3]), dropout=0.2).double()
    x = encoding.poisson(torch.rand(5, 1, 8, 8, dtype=torch.float64) * 2 - 1, 20, torch.Generator().manual_seed(1))
    out = net(x)
    torch.nn.functional.cross_entropy(out[-1], torch.tensor([0, 1, 2, 0, 1])).backward()
    assert out.shape == (20, 5, 3) and net.layer_spikes[0].sum() > 0
    grad = net.synapses[0].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_dropout_mask_is_fixed_over_steps():
    dropout = FixedDropout(0.5)
    out = dropout(torch.ones(6, 4, 10))
    assert all(torch.equal(step, out[0]) for step in out)
    assert set(out.unique().tolist()) == {0.0, 2.0}
    dropout.eval()
    assert torch.equal(dropout(torch.ones(6, 4, 10)), torch.ones(6, 4, 10))


def test_memory_hook_replaces_the_carried_potential():
    """Jiang's stages 1-2 keep no memory: H = input (+ noise) at every step."""
    layer = LIF(surrogate.ArcTan(3.0), threshold=1.0, leak=0.5, reset="hard")
    current = torch.full((5, 2), 0.7, dtype=torch.float64)
    seen = []
    spikes, h = layer(current, memory=lambda carried, step: seen.append(step) or torch.zeros_like(carried),
                      return_potential=True)
    assert seen == [1, 2, 3, 4, 5] and torch.equal(h, current) and spikes.sum() == 0


def test_jiang_network_on_snntorch_neurons_equals_ours():
    """Jiang's neuron is one snnTorch's Leaky expresses exactly: the same net on either gives the same output and
    the same weight gradients."""
    document = read_toml("jiang2024_noise")
    torch.manual_seed(3)
    ours = TimestepNet("4C3-AP2-12-3", (1, 6, 6), lif_factory(document), bias=True)
    theirs = TimestepNet("4C3-AP2-12-3", (1, 6, 6), lif_factory(document, snntorch=True), bias=True)
    assert isinstance(theirs.layers[0][0], LeakyLIF)
    theirs.load_state_dict(ours.state_dict(), strict=False)
    x = encoding.direct(torch.rand(4, 1, 6, 6) * 3, 5)
    outputs = []
    for net in (ours, theirs):
        out = net(x)
        out[-1].square().sum().backward()
        outputs.append((out.detach(), net.synapses[0].weight.grad))
    assert ours.layer_spikes[0].sum() > 0
    for a, b in zip(*outputs):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="snnTorch"):
        lif_factory(read_toml("rathi2021_stdb"), snntorch=True)


@pytest.mark.parametrize("model", ["rathi2021_diet", "jiang2024_noise"])
def test_stream_in_pieces_equals_one_forward_pass(model):
    """A simulation delivered in pieces (soft or hard reset, leaky neurons, a leaky output) gives the potentials
    and spike counts of one forward pass over all steps."""
    document = read_toml(model)
    document = {**document, "neuron": {**document["neuron"], "leak": 0.8}}
    torch.manual_seed(4)
    net = TimestepNet("3C3-AP2-10-4", (1, 6, 6), lif_factory(document, dtype=torch.float64), bias=True,
                      output_leak=0.9).double()
    x = torch.rand(13, 5, 1, 6, 6, dtype=torch.float64) * 2
    with torch.no_grad():
        whole = net(x)[-1]
    counts = [c.clone() for c in net.layer_spikes]
    assert counts[0].sum() > 0 and counts[1].sum() > 0
    out = net.stream([x[:4], x[4:5], x[5:13]])
    torch.testing.assert_close(out, whole, rtol=1e-12, atol=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(net.layer_spikes, counts))
    seen = []

    def probe(index, current):
        seen.append((index, len(current)))
        return index == 1

    assert net.stream([x[:4], x[4:]], probe=probe) is None
    assert seen == [(0, 4), (1, 4), (0, 9), (1, 9)]


def test_stream_runs_the_ann_and_refuses_to_resume_snntorch_layers():
    ann = TimestepNet("4-3", (5,), lambda index: torch.nn.ReLU())
    x = torch.rand(1, 2, 5)
    torch.testing.assert_close(ann.stream([x]), ann(x)[-1])
    jiang = read_toml("jiang2024_noise")
    theirs = TimestepNet("4-3", (5,), lif_factory(jiang, snntorch=True))
    with pytest.raises(ValueError, match="one piece"):
        theirs.stream([x, x])
