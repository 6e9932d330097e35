"""TTFS training (Stanojevic ch. 3): the linearly mappable network and its ReLU twin move together, and the
trained network leaves as a spec whose closed-form spike times give the same decisions."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brainnets.datasets import load_mnist  # noqa: E402
from brainnets.gradient.ttfs_training import LinearTTFSNet, _linear_init, train_twins  # noqa: E402
from brainnets.ttfs import exact, mapping  # noqa: E402

SETTINGS = dict(batch_size=8, lr=5e-4, lr_decay=0.9, decay_steps=5000, zeta=0.5, gamma=10.0, seed=3, progress=False)


@pytest.fixture(scope="module")
def mnist():
    data = load_mnist("train")
    return data[:400], data[50000:50200]


def pixels(images):
    return torch.from_numpy(images.reshape(len(images), -1) / 255.0)


def test_spike_times_are_the_window_end_minus_the_relu_activations():
    """Eq. 3.10: t = t_max - [W x - D]_+ per hidden layer, for windows wide enough not to clip."""
    torch.manual_seed(0)
    parameters = _linear_init([784, 30, 20, 10], torch.Generator().manual_seed(1))
    net = LinearTTFSNet(parameters, [50.0, 60.0])
    x = torch.rand(16, 784, dtype=torch.float64)
    h = x
    for (t_min, t_max), t, (w, b) in zip(net.windows(), net.spike_times(x), parameters):
        h = torch.relu(h @ w.T + b)
        torch.testing.assert_close(t, t_max - h, rtol=0, atol=1e-12)
    torch.testing.assert_close(net(x), h @ parameters[-1][0].T + parameters[-1][1], rtol=0, atol=1e-12)


def test_windows_only_grow_to_gamma_times_the_largest_activation():
    parameters = _linear_init([784, 30, 10], torch.Generator().manual_seed(2))
    net = LinearTTFSNet(parameters, [0.1])
    x = torch.rand(8, 784, dtype=torch.float64)
    largest = float(torch.relu(x @ parameters[0][0].T + parameters[0][1]).max())
    net.widen_windows(x, gamma=10.0)
    assert float(net.lengths[0]) == pytest.approx(10 * largest)
    net.widen_windows(x * 0, gamma=10.0)
    assert float(net.lengths[0]) == pytest.approx(10 * largest)


def test_the_twins_follow_one_trajectory_and_the_export_keeps_every_decision(mnist, tmp_path):
    (train, held_out) = mnist
    snn, twin, history = train_twins([784, 40, 10], train.images, train.labels, epochs=2, **SETTINGS)
    assert history[-1]["weight_cosine_similarity"] == pytest.approx(1.0, abs=1e-12)
    assert history[-1]["max_weight_difference"] < 1e-10
    assert history[-1]["loss_snn"] < history[0]["loss_snn"]  # it learns
    x = pixels(held_out.images)
    with torch.no_grad():
        snn_logits, twin_logits = snn(x).numpy(), twin(x).numpy()
    np.testing.assert_allclose(snn_logits, twin_logits, atol=1e-9)
    lengths = [mapping.round_up(float(length), 0.25) for length in snn.lengths]
    spec = mapping.convert(snn.relu_network(), lengths, mapping="linear")
    np.testing.assert_allclose(exact.simulate(spec, x.numpy()).logits, snn_logits, atol=1e-9)


def test_training_resumes_exactly(mnist, tmp_path):
    train = mnist[0][:160]
    straight = train_twins([784, 20, 10], train.images, train.labels, epochs=2, **SETTINGS)
    checkpoint = tmp_path / "twins.pt"
    train_twins([784, 20, 10], train.images, train.labels, epochs=1, checkpoint=checkpoint, **SETTINGS)
    resumed = train_twins([784, 20, 10], train.images, train.labels, epochs=2, checkpoint=checkpoint, **SETTINGS)
    for a, b in zip(straight[0].parameters(), resumed[0].parameters()):
        assert torch.equal(a, b)
    assert torch.equal(straight[0].lengths, resumed[0].lengths)
    assert straight[2] == resumed[2]
