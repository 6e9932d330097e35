"""Learning rules and the input weights' normalization: hand-computed values, the numpy twins, and the Brian2
code against both."""
import numpy as np
import pytest
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, Quantity, SpikeGeneratorGroup, Synapses, TimedArray,
                    defaultclock, ms)

from brainnets.stdp.ensemble import DiehlCookLayer, normalize_columns
from brainnets.stdp.model import DiehlCookModel
from brainnets.synapses import DiehlCookTraceSTDP, PowerLawSTDP

FIG_2_3 = PowerLawSTDP(eta=0.002, tau=20 * ms, offset=0.4, w_max=1.0, mu=0.9)  # Rathi Fig. 2.3, nearest
ALL_TO_ALL = PowerLawSTDP(eta=0.002, tau=20 * ms, offset=0.4, w_max=1.0, mu=0.9, pairing="all_to_all")


def test_power_law_hand_computed_values():
    assert FIG_2_3.delta_w(0.0, 0.5) == pytest.approx(6.43e-4, rel=1e-3)
    assert FIG_2_3.delta_w(np.inf, 0.5) == pytest.approx(-4.29e-4, rel=1e-3)
    crossing = 0.020 * np.log(2.5)  # exp(-dt/tau) = offset
    assert FIG_2_3.delta_w(crossing, 0.5) == pytest.approx(0.0, abs=1e-15)
    assert FIG_2_3.delta_w(crossing - 1e-4, 0.5) > 0 > FIG_2_3.delta_w(crossing + 1e-4, 0.5)


def test_power_law_weight_dependence():
    assert FIG_2_3.delta_w(0.0, 1.0) == 0.0  # saturated weights do not move
    ratio = FIG_2_3.delta_w(0.0, 0.2) / FIG_2_3.delta_w(0.0, 0.6)
    assert ratio == pytest.approx((0.8 / 0.4) ** 0.9)


def _one_synapse(rule, pre_ms, post_ms, w0, learning=1.0, duration=120 * ms):
    """One Brian2 synapse of ``rule`` between a spike generator and a neuron that fires on command."""
    defaultclock.dt = 0.5 * ms
    steps = int(duration / defaultclock.dt) + 1
    command = np.zeros(steps)
    command[np.round(np.asarray(post_ms) / 0.5).astype(int)] = 1
    fire = TimedArray(command, dt=defaultclock.dt)
    pre = SpikeGeneratorGroup(1, np.zeros(len(pre_ms), dtype=int), np.asarray(pre_ms) * ms)
    post = NeuronGroup(1, "ge : 1\nlearning : 1 (shared, constant)", threshold="fire(t) > 0",
                       namespace={"fire": fire})
    post.learning = learning
    synapse = Synapses(pre, post, rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
                       namespace=rule.namespace(defaultclock.dt))
    synapse.connect()
    synapse.w = w0
    for name, values in rule.initial_state(1).items():  # SI values, as the simulation carries them
        view = getattr(synapse, name)
        view[:] = Quantity(values, dim=view.dim)
    Network(pre, post, synapse).run(duration)
    return float(synapse.w[0]), float(post.ge[0])


@pytest.mark.parametrize("pre_ms, post_ms", [([10.0], [15.0]), ([10.0, 30.0], [15.0, 50.0, 52.0]),
                                             ([], [20.0, 40.0]), ([5.0], [4.0, 60.0])])
@pytest.mark.parametrize("rule", [FIG_2_3, ALL_TO_ALL], ids=["nearest", "all_to_all"])
def test_power_law_synapse_follows_its_numpy_twin(numpy_runtime, pre_ms, post_ms, rule):
    w, _ = _one_synapse(rule, pre_ms, post_ms, w0=0.5)
    expected = rule.replay(np.asarray(pre_ms) / 1e3, np.asarray(post_ms) / 1e3, 0.5)
    assert w == pytest.approx(expected, rel=1e-12)
    assert w != 0.5


@pytest.mark.parametrize("pre_ms, post_ms, w0", [([10.0], [15.0], 0.5), ([10.0], [40.0], 0.2), ([], [15.0], 0.7),
                                                 ([10.0], [10.0], 0.95)])
def test_delta_w_is_the_change_of_one_brian2_pairing(numpy_runtime, pre_ms, post_ms, w0):
    w, _ = _one_synapse(FIG_2_3, pre_ms, post_ms, w0=w0)
    delta_t = (post_ms[0] - pre_ms[0]) / 1e3 if pre_ms else np.inf
    assert w == pytest.approx(w0 + FIG_2_3.delta_w(delta_t, w0), rel=1e-12)


def test_power_law_single_pairing_by_hand(numpy_runtime):
    w, ge = _one_synapse(FIG_2_3, [10.0], [15.0], w0=0.5)
    by_hand = 0.5 + 0.002 * (np.exp(-5 / 20) - 0.4) * 0.5 ** 0.9
    assert w == pytest.approx(by_hand, rel=1e-12)
    assert ge == 0.5  # the pre spike delivered the weight it had then


def test_all_to_all_pairing_by_hand(numpy_runtime):
    """Two pre spikes 5 ms apart, then a post spike: the trace holds both, the nearest pairing one."""
    by_hand = 0.5 + 0.002 * (np.exp(-5 / 20) + np.exp(-10 / 20) - 0.4) * 0.5 ** 0.9
    assert _one_synapse(ALL_TO_ALL, [10.0, 15.0], [20.0], w0=0.5)[0] == pytest.approx(by_hand, rel=1e-12)
    nearest = 0.5 + 0.002 * (np.exp(-5 / 20) - 0.4) * 0.5 ** 0.9
    assert _one_synapse(FIG_2_3, [10.0, 15.0], [20.0], w0=0.5)[0] == pytest.approx(nearest, rel=1e-12)


def test_weights_are_clipped(numpy_runtime):
    big = PowerLawSTDP(eta=10.0, tau=20 * ms, offset=0.4, w_max=1.0, mu=0.9)
    assert _one_synapse(big, [10.0], [10.5], w0=0.5)[0] == 1.0
    assert _one_synapse(big, [], [10.5], w0=0.5)[0] == 0.0


def test_no_learning_when_switched_off(numpy_runtime):
    assert _one_synapse(FIG_2_3, [10.0], [15.0], w0=0.5, learning=0.0)[0] == 0.5


def test_trace_rule_synapse_follows_its_numpy_twin(numpy_runtime, model):
    rule = DiehlCookTraceSTDP(nu_pre=0.0001, nu_post=0.01, tau_pre=20 * ms, tau_post1=20 * ms,
                              tau_post2=40 * ms, w_max=1.0)
    pre_ms, post_ms = [10.0, 30.0, 31.0, 70.0], [12.0, 32.0, 60.0, 75.0]
    w, _ = _one_synapse(rule, pre_ms, post_ms, w0=0.3)
    expected = rule.replay(np.asarray(pre_ms) / 1e3, np.asarray(post_ms) / 1e3, 0.3)
    assert w == pytest.approx(expected, rel=1e-12)
    # by hand, first pairing: post at 12 ms, pre trace exp(-2/20), no earlier post spike (post2 = 0)
    assert rule.replay([0.010], [0.012], 0.3) == 0.3
    assert rule.replay([0.010], [0.012, 0.020], 0.3) == pytest.approx(
        0.3 + 0.01 * np.exp(-10 / 20) * np.exp(-8 / 40))


def test_weights_above_w_max_saturate_instead_of_becoming_nan(numpy_runtime):
    assert FIG_2_3.delta_w(0.0, 1.3) == 0.0
    assert _one_synapse(FIG_2_3, [10.0], [15.0], w0=1.3)[0] == 1.0
    assert _one_synapse(FIG_2_3, [], [15.0], w0=1.3)[0] == 1.0


@pytest.mark.parametrize("learning", [1.0, 0.0])
def test_input_weight_normalization_matches_its_numpy_twin(numpy_runtime, model, rng, learning):
    """NORMALIZE_INPUT_WEIGHTS, run by a layer at the start of a slot, against normalize_columns; a neuron
    whose every weight was pruned keeps them at 0. At test time (learning 0) nothing changes."""
    n_input, n_exc = 6, 4
    model = DiehlCookModel.load(model.source, overrides={"protocol": {"weight_sum": 0.6}})  # 0.1 per input, as D&C
    layer = DiehlCookLayer(model, n_exc, PoissonGroup(n_input, 0 * Hz), inhibition=False, rng=rng)
    weights = rng.uniform(0, 0.3, (n_input, n_exc))
    weights[:, 2] = 0.0
    weights[[1, 4], 3] = 0.0
    layer.input_synapses.w = weights.ravel()  # input-major, the order of the synapses
    layer.exc.learning = learning
    layer.normalize_every(model.slot_steps * model.dt)
    Network(*layer.objects, layer.input_synapses.source).run(model.dt)
    normalized = np.asarray(layer.input_synapses.w[:]).reshape(n_input, n_exc)
    expected = normalize_columns(weights, model.protocol.weight_sum)[0] if learning else weights
    np.testing.assert_allclose(normalized, expected, rtol=1e-12)
    assert learning == 0 or not normalized[:, 2].any()
