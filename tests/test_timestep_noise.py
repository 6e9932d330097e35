"""Jiang & Zhang's noise-based training (brainnets.timestep.noise): the training noise's range and statistics,
Eqs. 7-10 against a numpy oracle and their limits, the silence of a neuron without input, the stages' agreement
at T = 1, and short trainings of the noise network and of the direct baseline on shipped MNIST images."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

from brainnets.config import read_toml  # noqa: E402
from brainnets.timestep import encoding, surrogate  # noqa: E402
from brainnets.timestep.neuron import LIF, LeakyLIF  # noqa: E402
from brainnets.timestep.noise import (Noise, NoisyNeuron, direct_net, evaluate, mean_output,  # noqa: E402
                                      noise_net, optimizer_for, set_stage, train_epoch)

pytestmark = pytest.mark.usefixtures("torch_one_thread")

DOCUMENT = read_toml("jiang2024_noise")


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def numpy_memory(v, alpha, beta, per_sample=True):
    """jiang.md Sec 4.1: Eqs. 8-10 with λ and σ cancelled, N = (V - mean V) / (α max abs(V - mean V)) + β."""
    axes = tuple(range(1, v.ndim)) if per_sample else None
    centred = v - v.mean(axis=axes, keepdims=True)
    return centred / (alpha * np.abs(centred).max(axis=axes, keepdims=True)) + beta


def numpy_fresh(z, per_sample=True):
    axes = tuple(range(1, z.ndim)) if per_sample else None
    return z / np.abs(z).max(axis=axes, keepdims=True)


# ---------------------------------------------------------------- the training noise

def test_model_file_noise():
    noise = Noise.from_document(DOCUMENT)
    assert (noise.low, noise.high, noise.alpha, noise.beta, noise.statistics) == (0.0, 1.0, 4.0, 0.5, "sample")
    assert (noise.center, noise.half_range) == (0.5, 0.5)
    assert DOCUMENT["noise"]["ablation_alphas"][-1] == math.inf
    with pytest.raises(ValueError, match="distribution"):
        Noise.from_document({"noise": dict(DOCUMENT["noise"], distribution="uniform")})
    with pytest.raises(ValueError, match="statistics"):
        Noise(statistics="layer")
    with pytest.raises(ValueError, match="centre"):
        Noise(beta=0.4)
    with pytest.raises(ValueError, match="alpha >= 2"):
        Noise().restored(torch.rand(2, 5), alpha=1.5)


def test_training_noise_range_and_per_sample_statistics():
    noise = Noise(generator=seeded(1))
    like = torch.zeros(200, 8, 5, 5, dtype=torch.float64)         # 200 samples of a 200-neuron layer
    n = noise.training(like)
    assert n.shape == like.shape and n.dtype == torch.float64
    assert n.min() >= 0 and n.max() <= 1
    # each sample's layer reaches one end of [0, 1] exactly: the max-abs rescaling is per sample
    assert torch.equal((n - 0.5).abs().amax((1, 2, 3)), torch.full((200,), 0.5, dtype=torch.float64))
    means = n.mean((1, 2, 3))
    assert (means - 0.5).abs().max() < 0.05 and abs(float(means.mean()) - 0.5) < 0.005
    # a Gaussian shape: about 68 % of the values within one standard deviation of the mean
    within = ((n - 0.5).abs() < n.std()).double().mean()
    assert abs(float(within) - 0.683) < 0.01
    # fresh at every draw
    assert not torch.equal(n, noise.training(like))


def test_training_noise_over_the_batch():
    n = Noise(statistics="batch", generator=seeded(2)).training(torch.zeros(50, 100))
    peaks = (n - 0.5).abs().amax(1)
    assert n.min() >= 0 and n.max() <= 1
    assert float(peaks.max()) == 0.5 and int((peaks == 0.5).sum()) == 1   # one extreme in the whole batch


# ---------------------------------------------------------------- Eqs. 7-10

@pytest.mark.parametrize("per_sample", [True, False])
def test_memory_term_matches_numpy_oracle_and_lambda_sigma_cancel(per_sample):
    rng = np.random.default_rng(5)
    v = rng.normal(0.3, 0.4, size=(4, 3, 5, 5)) * rng.uniform(0.5, 3, size=(4, 1, 1, 1))
    noise = Noise(statistics="sample" if per_sample else "batch")
    want = numpy_memory(v, 4.0, 0.5, per_sample)           # of V itself: no λ, no σ
    for leak in (0.5, 0.9, 2.0):
        got, flat = noise.memory_term(torch.tensor(leak * v), 4.0)
        assert not flat.any()
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    if per_sample:
        got = got.numpy()
        np.testing.assert_allclose(got.mean(axis=(1, 2, 3)), 0.5, atol=1e-12)            # mean β
        np.testing.assert_allclose(np.abs(got - 0.5).max(axis=(1, 2, 3)), 0.25, atol=1e-12)  # range β ± 1/α


def test_restored_potential_matches_numpy_oracle():
    rng = np.random.default_rng(6)
    v = rng.normal(0.2, 0.5, size=(6, 40))
    got = Noise(generator=seeded(7)).restored(torch.tensor(0.5 * v), alpha=4.0).numpy()
    z = torch.randn((6, 40), generator=seeded(7), dtype=torch.float64).numpy()
    want = numpy_memory(v, 4.0, 0.5) + (0.5 - 1 / 4.0) * numpy_fresh(z)                   # Eq. 7, N' of r' = R - 1/α
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.min() >= 0 and got.max() <= 1


def test_alpha_two_leaves_no_fresh_noise():
    v = torch.tensor(np.random.default_rng(8).normal(size=(5, 30)))
    first = Noise(generator=seeded(1)).restored(v, alpha=2.0)
    second = Noise(generator=seeded(2)).restored(v, alpha=2.0)
    torch.testing.assert_close(first, second, rtol=0, atol=1e-15)
    np.testing.assert_allclose(first.numpy(), numpy_memory(v.numpy(), 2.0, 0.5), atol=1e-12)
    assert torch.equal((first - 0.5).abs().amax(1), torch.full((5,), 0.5, dtype=torch.float64))  # all of [0, 1]


def test_alpha_infinity_draws_the_training_noise():
    """α = inf: no memory is left and N' = N_noise, the very values stage 2 draws from the same stream."""
    v = torch.tensor(np.random.default_rng(9).normal(size=(5, 30)))
    restored = Noise(generator=seeded(3)).restored(v, alpha=math.inf)
    assert torch.equal(restored, Noise(generator=seeded(3)).training(v))


def test_flat_potential_falls_back_to_the_training_noise():
    """t = 1 (V(0) = 0 everywhere) and a sample whose neurons all carry the same potential: that sample's layer
    gets N_noise; the others keep Eqs. 7-10."""
    v = torch.tensor(np.random.default_rng(10).normal(size=(3, 20)))
    v[1] = 0.37
    restored = Noise(generator=seeded(4)).restored(v)
    training = Noise(generator=seeded(4)).training(v)
    assert torch.equal(restored[1], training[1])
    assert not torch.allclose(restored[0], training[0])
    zeros = torch.zeros(3, 20)
    assert torch.equal(Noise(generator=seeded(4)).restored(zeros), Noise(generator=seeded(4)).training(zeros))


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.0, 8.0, math.inf])
def test_no_spikes_without_input(alpha):
    """Fig. 8a: under stage 3 a neuron without input stays between reset and threshold and never fires."""
    layer = NoisyNeuron(LIF(surrogate.ArcTan(3.0), threshold=1.0, leak=0.5, reset="hard"),
                        Noise(generator=seeded(11)))
    layer.stage, layer.alpha = 3, alpha
    spikes, potential = layer(torch.zeros(60, 8, 50), return_potential=True)
    assert spikes.sum() == 0 and potential.max() <= 1 and potential.min() >= 0
    if alpha > 2:
        assert potential[1:].std(0).min() > 0                    # the fresh noise keeps it moving
    else:
        # no fresh noise: N(λV) of a potential already centred on β and spanning [0, 1] is that potential
        torch.testing.assert_close(potential[2:], potential[1].expand_as(potential[2:]), rtol=0, atol=1e-6)


def test_naive_memory_plus_noise_fires_without_input():
    """jiang.md Sec 4.1, why Eqs. 8-10 exist: V = 0.5 V + N_noise has a stationary mean of 1 = V_th."""
    noise = Noise(generator=seeded(12))
    layer = LIF(surrogate.ArcTan(3.0), threshold=1.0, leak=0.5, reset="hard")
    spikes = layer(torch.zeros(60, 8, 50), memory=lambda carried, step: carried + noise.training(carried))
    assert spikes.sum() > 100


# ---------------------------------------------------------------- the network's stages

def tiny_net(seed, arch="4C3-AP2-16-10", shape=(1, 8, 8)):
    torch.manual_seed(seed)
    return noise_net(DOCUMENT, arch, shape, noise=Noise(generator=seeded(seed)), dtype=torch.float64).double()


def test_stage_two_at_one_step_is_the_trained_network():
    net = tiny_net(13)
    images = torch.rand(6, 1, 8, 8, dtype=torch.float64) * 2
    set_stage(net, 1)
    net.train()
    trained = mean_output(net, images, 1)
    assert net.layer_spikes[0].sum() > 0
    outputs = []
    for stage in (2, 3):
        net.layers[0][0].noise.generator.manual_seed(13)
        set_stage(net, stage)
        net.eval()
        with torch.no_grad():
            outputs.append(mean_output(net, images, 1))
    # stage 3 at T = 1 starts from V(0) = 0, which falls back to the training noise
    for output in outputs:
        torch.testing.assert_close(output, trained.detach(), rtol=0, atol=0)


def test_stage_three_at_infinite_alpha_is_stage_two():
    net = tiny_net(14)
    images = torch.rand(6, 1, 8, 8, dtype=torch.float64) * 2
    outputs = []
    for stage, alpha in ((2, None), (3, math.inf), (3, 4.0)):
        net.layers[0][0].noise.generator.manual_seed(14)
        set_stage(net, stage, alpha)
        with torch.no_grad():
            outputs.append(mean_output(net, images, 5))
    assert torch.equal(outputs[0], outputs[1]) and not torch.equal(outputs[0], outputs[2])


def test_stage_two_has_no_memory_and_fresh_noise_per_step():
    layer = NoisyNeuron(LIF(surrogate.ArcTan(3.0), threshold=1.0, leak=0.5, reset="hard"), Noise(generator=seeded(15)))
    layer.stage = 2
    current = torch.full((4, 3, 30), 0.4)
    spikes, potential = layer(current, return_potential=True)
    noise = potential - current                                  # H = N_noise + input, nothing carried
    assert noise.min() >= 0 and noise.max() <= 1
    assert not torch.equal(noise[0], noise[1])
    with pytest.raises(ValueError, match="stage"):
        set_stage(torch.nn.Sequential(layer), 4)


# ---------------------------------------------------------------- training on MNIST

def mnist_batches(data, count, size):
    images = torch.tensor(data.images[:count], dtype=torch.float32).unsqueeze(1) / 255
    labels = torch.tensor(data.labels[:count]).long()
    return [(images[i:i + size], labels[i:i + size]) for i in range(0, count, size)]


def full_loss(net, batches, timesteps, seed):
    if isinstance(net.layers[0][0], NoisyNeuron):
        net.layers[0][0].noise.generator.manual_seed(seed)
        set_stage(net, 1)
    with torch.no_grad():
        losses = [torch.nn.functional.mse_loss(mean_output(net, images, timesteps),
                                               torch.nn.functional.one_hot(labels, 10).float()) for images, labels in
                  batches]
    return float(torch.stack(losses).mean())


def test_stage_one_training_lowers_the_loss(mnist_train):
    batches = mnist_batches(mnist_train, 300, 50)
    torch.manual_seed(16)
    net = noise_net(DOCUMENT, "8C3-AP2-16C3-AP2-64-10", (1, 28, 28), noise=Noise(generator=seeded(16)))
    optimizer, scheduler = optimizer_for(net, DOCUMENT, lr=3e-3)   # 1e-4 is the paper's, for 100 epochs
    before = full_loss(net, batches, 1, 0)
    losses = [train_epoch(net, batches, optimizer, 1, scheduler) for _ in range(6)]
    after = full_loss(net, batches, 1, 0)
    assert after < 0.5 * before and losses[-1] < 0.5 * losses[0]
    # stepped once per epoch along a cosine of period restart_period epochs
    period = DOCUMENT["train"]["restart_period"]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(3e-3 * (1 + math.cos(math.pi * 6 / period)) / 2)
    single = evaluate(net, batches, 1, stage=2)
    result = evaluate(net, batches, 5, stage=3)
    assert single.images == result.images == 300 and single.accuracy > 0.7 and result.accuracy > 0.7
    assert len(result.layer_spikes_per_image) == 3 and result.spikes_per_image == pytest.approx(
        sum(result.layer_spikes_per_image)) and result.spikes_per_image > 0
    assert net.layers[0][0].stage == 3 and net.layers[0][0].alpha == 4.0
    assert evaluate(net, batches[:1], 2, stage=3, alpha=2.0).images == 50 and net.layers[0][0].alpha == 2.0
    with pytest.raises(ValueError, match="give stage"):
        evaluate(net, batches, 1)


def test_direct_baseline_trains_the_same_network(mnist_train):
    batches = mnist_batches(mnist_train, 100, 25)
    torch.manual_seed(17)
    net = direct_net(DOCUMENT, "4C3-AP2-32-10", (1, 28, 28))
    assert isinstance(net.layers[0][0], LeakyLIF) and float(net.layers[0][0].leak) == 0.5
    twin = noise_net(DOCUMENT, "4C3-AP2-32-10", (1, 28, 28))
    assert {k for k in twin.state_dict() if k.startswith("synapses")} == {
        k for k in net.state_dict() if k.startswith("synapses")}
    timesteps = DOCUMENT["train"]["direct_timesteps"]
    optimizer, _ = optimizer_for(net, DOCUMENT, lr=3e-3)
    before = full_loss(net, batches, timesteps, 0)
    for _ in range(4):
        train_epoch(net, batches, optimizer, timesteps)
    assert full_loss(net, batches, timesteps, 0) < 0.9 * before
    result = evaluate(net, batches, timesteps)
    assert result.images == 100 and result.spikes_per_image > 0
    with pytest.raises(ValueError, match="noise network"):
        evaluate(net, batches, timesteps, stage=2)
    x = encoding.direct(torch.rand(2, 1, 28, 28), 3)
    assert net(x).shape == (3, 2, 10)


def test_initial_gain_scales_the_spiking_layers_weights_only():
    from brainnets.timestep.network import TimestepNet
    from brainnets.timestep.neuron import lif_factory

    gain = DOCUMENT["train"]["init_gain"]
    torch.manual_seed(18)
    plain = TimestepNet("4C3-AP2-8-3", (1, 6, 6), lif_factory(DOCUMENT))
    for build in (noise_net, direct_net):
        torch.manual_seed(18)
        net = build(DOCUMENT, "4C3-AP2-8-3", (1, 6, 6))
        torch.testing.assert_close(net.synapses[0].weight, gain * plain.synapses[0].weight)
        torch.testing.assert_close(net.synapses[2][1].weight, gain * plain.synapses[2][1].weight)
        torch.testing.assert_close(net.synapses[3][1].weight, plain.synapses[3][1].weight)
