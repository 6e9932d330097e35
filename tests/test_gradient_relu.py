import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from brainnets.gradient.relu_nets import accuracy_torch, fc2, lenet5, to_relu_network, train_relu  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread(torch_one_thread):
    """Every test here runs with torch on one thread."""


def with_batch_statistics(model: nn.Module) -> nn.Module:
    """``model`` in eval mode, its batch normalizations given random gammas and betas and the running
    statistics of a few training-mode passes over random images."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.weight.uniform_(0.5, 2.0, generator=generator)
                module.bias.normal_(0.0, 0.5, generator=generator)
        model.train()
        for _ in range(5):
            model(2 * torch.rand(32, 1, 28, 28, generator=generator, dtype=model[-1].weight.dtype))
    return model.eval()


@pytest.mark.parametrize("build, hidden_sizes", [(fc2, [600]), (lenet5, [1176, 400, 120, 84])])
def test_export_computes_the_torch_logits(build, hidden_sizes):
    torch.manual_seed(1)
    model = with_batch_statistics(build().double())
    network = to_relu_network(model, build.__name__)
    x = np.random.default_rng(2).random((8, 1, 28, 28))
    activations, logits = network.forward(x)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    assert [a.shape for a in activations] == [(8, size) for size in hidden_sizes]
    assert network.name == build.__name__


def test_lenet5_batch_norms_are_exported_with_their_running_statistics():
    torch.manual_seed(1)
    model = with_batch_statistics(lenet5())
    network = to_relu_network(model)
    assert [layer.pool is not None for layer in network.hidden] == [True, True, False, False]
    np.testing.assert_array_equal(network.hidden[3].batch_norm.mean, model[14].running_mean.numpy())
    assert not np.allclose(network.hidden[3].batch_norm.var, 1)


@pytest.mark.parametrize("model, match", [
    (nn.Sequential(nn.Linear(784, 10), nn.Sigmoid()), r"layer 1 \(Sigmoid"),
    (nn.Sequential(nn.Linear(784, 20), nn.ReLU(), nn.BatchNorm1d(20), nn.Linear(20, 10)), r"layer 2 \(BatchNorm1d"),
    (nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(338, 10)), r"layer 0 \(Conv2d"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, stride=1), nn.Flatten(), nn.Linear(1352, 10)),
     r"layer 2 \(MaxPool2d"),
    (nn.Sequential(nn.Linear(784, 20), nn.Linear(20, 10)), r"layer 1 \(Linear"),
    (nn.Sequential(nn.Linear(784, 20), nn.ReLU()), "must end in a Linear readout"),
])
def test_unsupported_layers_are_named(model, match):
    with pytest.raises(ValueError, match=match):
        to_relu_network(model)


def test_a_short_training_learns_mnist(mnist_train):
    torch.manual_seed(3)
    model = fc2()
    global_rng = torch.get_rng_state()
    history = train_relu(model, mnist_train.images[:2000], mnist_train.labels[:2000], epochs=1, batch_size=20,
                         lr=1e-3, seed=4, progress=False)
    assert torch.equal(torch.get_rng_state(), global_rng)
    assert len(history["loss"]) == 1
    held_out = mnist_train[2000:2500]
    accuracy = accuracy_torch(model, held_out.images, held_out.labels)
    assert accuracy > 0.8
    exported = to_relu_network(model).logits(held_out.images.reshape(-1, 784) / 255).argmax(axis=1)
    assert np.mean(exported == held_out.labels) == pytest.approx(accuracy, abs=0.002)  # float32 near-ties aside


def test_a_resumed_run_equals_an_uninterrupted_one(mnist_train, tmp_path):
    data = mnist_train[:500]
    settings = dict(batch_size=50, lr=1e-3, seed=5, progress=False)

    torch.manual_seed(6)
    uninterrupted = lenet5()
    history = train_relu(uninterrupted, data.images, data.labels, epochs=2, **settings)

    checkpoint = tmp_path / "run.pt"
    torch.manual_seed(6)
    first = lenet5()
    train_relu(first, data.images, data.labels, epochs=1, checkpoint=checkpoint, **settings)
    torch.manual_seed(7)  # the resumed model starts elsewhere: the checkpoint must replace all of it
    resumed = lenet5()
    resumed_history = train_relu(resumed, data.images, data.labels, epochs=2, checkpoint=checkpoint, **settings)

    assert resumed_history == history
    expected = uninterrupted.state_dict()
    for name, value in resumed.state_dict().items():
        assert torch.equal(value, expected[name]), name
    with pytest.raises(ValueError, match="belongs to another run"):
        train_relu(lenet5(), data.images, data.labels, epochs=3, checkpoint=checkpoint, **{**settings, "lr": 2e-3})
