"""Rathi's hybrid training (brainnets.timestep.conversion, .energy): threshold balancing against a hand
computation, the converted IF network against its ANN at large T, STDB and DIET-SNN epochs on shipped MNIST
images, and the energy model on a two-layer example worked by hand."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

from brainnets.config import read_toml  # noqa: E402
from brainnets.timestep import conversion, encoding, energy  # noqa: E402
from brainnets.timestep.network import TimestepNet  # noqa: E402
from brainnets.timestep.neuron import lif_factory  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

STDB = read_toml("rathi2021_stdb")
DIET = read_toml("rathi2021_diet")


def _set_weights(net, *matrices):
    with torch.no_grad():
        linears = [synapse[-1] for synapse in net.synapses]
        for linear, matrix in zip(linears, matrices):
            linear.weight.copy_(torch.tensor(matrix, dtype=linear.weight.dtype))


# ---------------------------------------------------------------- threshold balancing

def test_balancing_by_hand():
    """Two images x = (1, 0.5) and (0.2, 0.4), direct input, T = 4, thresholds by the maximum (Algorithm 1).

    Layer 1, W1 x = (1, 1, -0.5) and (0.2, 0.5, 0.2) at every step: v1 = 1. With v1 = 1 and Eq. 4.3's strict
    comparison, image 1's first two neurons reach u = 1 at t = 1 (no spike) and 2 at t = 2 (spike), then stay
    at 2 - 1 + 1 = 2: spikes at t = 2, 3, 4. Image 2's second neuron has u = 0.5, 1.0 (no spike), 1.5 (spike)
    at t = 3, then 1.0. Layer 2 then receives W2 o1 = (0, 0), (2, 1), (2, 1), (2, 1) from image 1 and
    (1, -1) at t = 3 from image 2: v2 = 2."""
    ann = conversion.ann_twin("3-2-2", (2,))
    ann.double()
    _set_weights(ann, [[1, 0], [0.5, 1], [-1, 1]], [[1, 1, 1], [2, -1, 0.5]], [[1, 0], [0, 1]])
    images = torch.tensor([[1.0, 0.5], [0.2, 0.4]], dtype=torch.float64)
    document = {**STDB, "encoding": {"kind": "direct"}}
    snn, thresholds = conversion.convert(ann, document, images, steps=4)
    assert thresholds == [1.0, 2.0]
    assert [float(layer.threshold) for layer in snn.spiking_layers] == [1.0, 2.0]
    # the weights are the ANN's, the neurons the model file's IF with soft reset
    assert torch.equal(snn.synapses[1][1].weight, ann.synapses[1][1].weight)
    assert [(layer.reset, float(layer.leak)) for layer in snn.spiking_layers] == [("subtract", 1.0)] * 2
    # adjusted thresholds for a reduced T (Table 4.1, column 4): scaled, the balanced values returned unscaled
    scaled, again = conversion.convert(ann, document, images, steps=4,
                                       scale=STDB["conversion"]["threshold_scale"])
    assert again == [1.0, 2.0]
    assert [float(layer.threshold) for layer in scaled.spiking_layers] == pytest.approx([0.7, 1.4])


def test_balancing_with_a_percentile_is_the_largest_per_step_percentile():
    """Algorithm 4: v = max over t of the 95th percentile of A^t; with direct input the first layer's A^t is
    W x at every step, so v1 is the percentile of W x over the batch and neurons."""
    torch.manual_seed(0)
    ann = conversion.ann_twin("20-5-3", (6,)).double()
    images = torch.rand(30, 6, dtype=torch.float64)
    snn, thresholds = conversion.convert(ann, DIET, images, steps=3)
    first = (images @ ann.synapses[0][1].weight.T).detach().numpy()
    assert thresholds[0] == pytest.approx(np.percentile(first, 95.0), rel=1e-12)
    assert len(thresholds) == 2 and thresholds[1] > 0
    assert all(isinstance(layer.threshold, torch.nn.Parameter) for layer in snn.spiking_layers)
    # Sec 5.4: the leak is 1 while the thresholds are computed, whatever the neurons' leak afterwards
    leaky = {**DIET, "neuron": {**DIET["neuron"], "leak": 0.5}}
    snn, same = conversion.convert(ann, leaky, images, steps=3)
    assert same == pytest.approx(thresholds, rel=1e-12)
    assert [layer.leak.item() for layer in snn.spiking_layers] == [0.5, 0.5]


def test_balancing_in_pieces_equals_all_at_once():
    """A long T runs in pieces of steps (stream); the maxima are the same."""
    torch.manual_seed(1)
    ann = conversion.ann_twin("2C3-AP2-12-4", (1, 6, 6)).double()
    images = torch.rand(5, 1, 6, 6, dtype=torch.float64) * 2 - 1
    direct = {**STDB, "encoding": {"kind": "direct"}}
    assert conversion.convert(ann, direct, images, 40)[1] == pytest.approx(
        conversion.convert(ann, direct, images, 40, piece_steps=7)[1], rel=1e-12)


def test_pieces_of_a_wide_layer_stay_within_the_memory_budget():
    """The VGG5-like net's first convolution (16 x 28 x 28 float32 neurons) over 512 images: 10 steps a piece,
    not the 100 that took 21 GB; a small net keeps 100."""
    wide = conversion.ann_twin("16C3-AP2-32C3-32C3-AP2-256-256-10", (1, 28, 28))
    assert conversion.piece_steps_for(wide, 512) == 10
    assert 512 * 10 * 16 * 28 * 28 * 4 <= conversion.PIECE_BYTES
    assert conversion.piece_steps_for(conversion.ann_twin("2C3-AP2-12-4", (1, 6, 6)), 512) == 100


def test_unbalanceable_layer_is_an_error():
    ann = conversion.ann_twin("3-2", (2,)).double()
    _set_weights(ann, [[-1, 0], [0, -1], [-1, -1]], [[1, 1, 1], [1, 1, 1]])
    with pytest.raises(ValueError, match="no positive input current"):
        conversion.convert(ann, DIET, torch.rand(4, 2, dtype=torch.float64), steps=2)


# ---------------------------------------------------------------- conversion at large T

def test_converted_if_network_approaches_the_ann():
    """With threshold balancing the weights are the ANN's, so an IF neuron of layer l fires at the rate
    a_l / (v_1 ... v_l) (its ReLU activation over the product of the thresholds so far), and the output
    potential u^T / T is the ANN's logits over v_1 v_2 (direct input, T = 2000)."""
    torch.manual_seed(2)
    ann = conversion.ann_twin("16-12-4", (8,)).double()
    images = torch.rand(20, 8, dtype=torch.float64)
    snn, thresholds = conversion.convert(ann, {**STDB, "encoding": {"kind": "direct"}}, images, steps=50)
    steps = 2000
    with torch.no_grad():
        logits = ann(images[None])[-1]
        hidden_1 = torch.relu(ann.synapses[0](images))
        hidden_2 = torch.relu(ann.synapses[1](hidden_1))
        output = snn(encoding.direct(images, steps))[-1] / steps
    rates = [spikes.double() / steps for spikes in snn.layer_spikes]
    v1, v2 = thresholds
    assert float(hidden_1.amax()) <= v1 * (1 + 1e-12)                    # rates stay below one spike a step
    # per-neuron rates: the counts of the layers, summed over neurons, against the ANN's sums
    np.testing.assert_allclose(rates[0].numpy(), (hidden_1.sum(1) / v1).numpy(), atol=16 * 2 / steps)
    np.testing.assert_allclose(rates[1].numpy(), (hidden_2.sum(1) / (v1 * v2)).numpy(), atol=0.02)
    scale = float(logits.abs().max())
    np.testing.assert_allclose((output * v1 * v2).numpy(), logits.numpy(), atol=0.02 * scale)
    assert (output.argmax(1) == logits.argmax(1)).float().mean() >= 0.9
    # the same network through stream, in pieces: the same output and spike counts
    streamed = snn.stream(conversion.coded_pieces("direct", images, steps, 300))
    torch.testing.assert_close(streamed / steps, output)
    assert torch.equal(snn.layer_spikes[1].double(), rates[1] * steps)


# ---------------------------------------------------------------- STDB and DIET-SNN epochs

@pytest.fixture(scope="module")
def digits(mnist_train):
    """300 shipped MNIST training images, pixels in [0, 1], flattened for a small fully connected net."""
    images = torch.tensor(mnist_train.images[:300].reshape(300, -1) / 255.0, dtype=torch.float32)
    labels = torch.tensor(mnist_train.labels[:300].astype(np.int64))
    return images, labels


@pytest.fixture(scope="module")
def trained_ann(digits):
    images, labels = digits
    torch.manual_seed(0)
    ann = conversion.ann_twin("64-10", (784,), dropout=DIET["ann"]["dropout"])
    optimizer = conversion.make_optimizer(ann, DIET["ann"])
    losses = [conversion.train_ann_epoch(ann, images, labels, optimizer, 32, torch.Generator().manual_seed(e))
              for e in range(4)]
    assert losses[-1] < losses[0]
    return ann


def test_ann_trains_and_evaluates(trained_ann, digits):
    images, labels = digits
    result = conversion.evaluate(trained_ann, images, labels, 1, "direct")
    assert result.accuracy > 0.8 and result.input_spike_rate is None


def test_stdb_epoch_lowers_the_loss(trained_ann, digits):
    """Conversion at a reduced T with the model file's scaled thresholds, then one STDB epoch (Poisson input,
    fixed thresholds, the spike-time surrogate): the loss on the same images falls."""
    images, labels = digits
    steps = 20
    torch.manual_seed(1)
    snn, _ = conversion.convert(trained_ann, STDB, images[:100], steps, scale=STDB["conversion"]["threshold_scale"],
                                dropout=STDB["train"]["dropout"], generator=torch.Generator().manual_seed(0))
    before = conversion.evaluate(snn, images, labels, steps, "poisson", generator=torch.Generator().manual_seed(5))
    thresholds = [float(layer.threshold) for layer in snn.spiking_layers]
    optimizer = conversion.make_optimizer(snn, STDB["train"])
    conversion.train_stdb_epoch(snn, STDB, images, labels, optimizer, steps, 16, torch.Generator().manual_seed(2))
    after = conversion.evaluate(snn, images, labels, steps, "poisson", generator=torch.Generator().manual_seed(5))
    assert after.loss < before.loss
    assert [float(layer.threshold) for layer in snn.spiking_layers] == thresholds
    assert 0 < before.input_spike_rate < steps and after.spikes_per_image > 0
    with pytest.raises(ValueError, match="SpikeTime"):
        conversion.train_stdb_epoch(conversion.spiking_twin(trained_ann, DIET), STDB, images, labels, optimizer,
                                    steps, 16)


def test_diet_keeps_every_leak_at_most_the_model_files_maximum(trained_ann, digits):
    """DIET-SNN's code clamps each leak to at most 1 after every optimizer step: a leak above it comes back."""
    images, labels = digits
    snn, _ = conversion.convert(trained_ann, DIET, images[:100], 3)
    with torch.no_grad():
        for layer in snn.spiking_layers:
            layer.leak.fill_(1.5)
    optimizer = conversion.make_optimizer(snn, DIET["train"])
    conversion.train_diet_epoch(snn, DIET, images[:32], labels[:32], optimizer, 3, 16)
    assert [layer.leak.item() for layer in snn.spiking_layers] == [DIET["neuron"]["max_leak"]] * len(
        snn.spiking_layers)


def test_diet_epoch_lowers_the_loss_and_trains_leak_and_threshold(trained_ann, digits):
    images, labels = digits
    steps = DIET["train"]["timesteps"]
    torch.manual_seed(2)
    snn, thresholds = conversion.convert(trained_ann, DIET, images[:100], steps, dropout=DIET["train"]["dropout"])
    before = conversion.evaluate(snn, images, labels, steps, "direct")
    optimizer = conversion.make_optimizer(snn, DIET["train"])
    conversion.train_diet_epoch(snn, DIET, images, labels, optimizer, steps, 16, torch.Generator().manual_seed(3))
    after = conversion.evaluate(snn, images, labels, steps, "direct")
    assert after.loss < before.loss
    layer = snn.spiking_layers[0]
    assert layer.threshold.item() != pytest.approx(thresholds[0], abs=1e-4)
    # the leak is trained (it has a gradient), and where that pushed it above 1 the clamp brought it back
    assert layer.leak.grad is not None and layer.leak.grad.abs().item() > 0
    assert layer.leak.item() <= DIET["neuron"]["max_leak"]
    assert len(after.layer_spike_rates) == 1 and after.layer_spike_rates[0] == pytest.approx(
        after.spikes_per_image / 64)
    assert energy.energy_ratio_vs_ann(snn, after.layer_spike_rates, DIET) > 1
    frozen = conversion.make_optimizer(torch.nn.Linear(1, 1), DIET["train"])
    with pytest.raises(ValueError, match="not in the optimizer"):
        conversion.train_diet_epoch(snn, DIET, images, labels, frozen, steps, 16)


def test_optimizers_from_model_files():
    stdb = conversion.make_optimizer(torch.nn.Linear(2, 2), STDB["train"])
    assert isinstance(stdb, torch.optim.Adam)
    assert (stdb.defaults["lr"], stdb.defaults["weight_decay"], stdb.defaults["amsgrad"]) == (1e-4, 5e-4, True)
    with pytest.raises(ValueError, match="unknown optimizer"):
        conversion.make_optimizer(torch.nn.Linear(2, 2), {"optimizer": "lbfgs", "lr": 1.0})


def test_learning_rate_schedule():
    table = STDB["train"]
    assert [conversion.learning_rate(table, epoch, 20) for epoch in (1, 7, 8, 13, 17, 20)] == pytest.approx(
        [1e-4, 1e-4, 1e-5, 1e-6, 1e-7, 1e-7])
    assert conversion.learning_rate(DIET["train"], 300, 300) == 1e-4


# ---------------------------------------------------------------- energy

def test_energy_by_hand():
    """Input 1x4x4, ``2C3-AP2-6-3``: the convolution does 3*3*1 * 4*4 * 2 = 288 MACs (Eq. 5.18), the pooled
    2x2x2 = 8 features feed 8*6 = 48 (Eq. 5.19), and the output 6*3 = 18. ANN: 354 MACs * 4.6 pJ = 1628.4 pJ.

    SNN, direct input: the convolution still multiplies (288 * 4.6 = 1324.8 pJ); the first fully connected
    layer adds at the convolution's rate 0.5 (pooling keeps it): 0.5 * 48 * 0.9 = 21.6 pJ; the output at the
    hidden layer's rate 2: 2 * 18 * 0.9 = 32.4 pJ. E_ANN / E_SNN = 1628.4 / 1378.8."""
    net = TimestepNet("2C3-AP2-6-3", (1, 4, 4), lif_factory(DIET))
    report = energy.compute_energy(net, [0.5, 2.0], e_mac=4.6, e_add=0.9)
    assert [cost.ann_operations for cost in report.layers] == [288, 48, 18]
    assert [cost.input_rate for cost in report.layers] == [None, 0.5, 2.0]
    assert report.ann == pytest.approx(1628.4) and report.snn == pytest.approx(1378.8)
    assert energy.energy_ratio_vs_ann(net, [0.5, 2.0], DIET) == pytest.approx(1628.4 / 1378.8)
    assert report.first_layer_share == pytest.approx(288 / 354)
    # Poisson input: the convolution adds too, at the input's rate 0.25: 0.25 * 288 * 0.9 = 64.8 pJ
    poisson = energy.compute_energy(net, [0.5, 2.0], e_mac=4.6, e_add=0.9, input_rate=0.25)
    assert poisson.snn == pytest.approx(64.8 + 21.6 + 32.4)


def test_energy_reproduces_table_5_3_formula():
    """Table 5.3's VGG6 row: ANN/SNN = 4.6 / (c 4.6 + (1 - c) b 0.9) with c = 0.029, b = 0.14 gives 18: a
    fully connected chain whose first layer holds 2.9 % of the operations and the rest run at rate 0.14."""
    net = TimestepNet("971-1000-10", (30,), lif_factory(DIET))
    costs = energy.layer_costs(net, [0.14, 0.14])
    share = costs[0].ann_operations / sum(cost.ann_operations for cost in costs)
    ratio = energy.energy_ratio_vs_ann(net, [0.14, 0.14], DIET)
    assert ratio == pytest.approx(4.6 / (share * 4.6 + (1 - share) * 0.14 * 0.9))
    assert share == pytest.approx(0.029, abs=0.001) and round(ratio) == 18
    with pytest.raises(ValueError, match="spike rates"):
        energy.layer_costs(net, [0.1])
