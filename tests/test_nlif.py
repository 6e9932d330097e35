"""The n-LIF perceptron (Kotak ch. 5): the neuron in Brian2 against its closed form, Algorithm 1 against the
perceptron's bounds, margins against hand-made problems, and the experiment end to end (quick)."""
import numpy as np
import pytest

from brainnets.config import ConfigError
from brainnets.nlif import experiment, neuron, perceptron


def _random_problem(rng, n=30, d=3):
    return rng.uniform(0, 2, (n, d)), rng.normal(size=d)


def test_phi_is_table_5_1():
    times = np.array([[0.0, 1.0, 2.0, 3.0]])
    expected = 2.0 * (1 - np.exp(-(2.0 - np.array([0.0, 1.0, 0.0, 0.0])) / 0.5)) * np.array([1, 1, 0, 0])
    np.testing.assert_allclose(perceptron.features(times, 2.0, K=2.0, tau=0.5)[0], expected, rtol=1e-15)
    w = np.array([1.0, -2.0, 3.0, 4.0])
    assert neuron.potential(2.0, times, w, K=2.0, tau=0.5)[0] == pytest.approx(expected @ w, rel=1e-15)


def test_threshold_recipe_of_section_5_2():
    assert perceptron.threshold_recipe(0, 1, 1, 2, K=1, tau=1, T=2) == 1.0
    assert perceptron.threshold_recipe(0, 1, 1, 2, K=1, tau=20, T=2) == pytest.approx(0.05)


@pytest.mark.parametrize("T", [2.0, 1.3, None])   # on the grid, between grid points, per sample
@pytest.mark.parametrize("tau", [1.0, 20.0])
def test_brian2_v_at_T_is_the_closed_form(rng, T, tau):
    times, w = _random_problem(rng)
    run = neuron.simulate(times, w, T, K=1.7, tau=tau)
    truth = perceptron.features(times, run.T, K=1.7, tau=tau) @ w
    assert np.abs(run.v_at_T - truth).max() < 1e-9
    # and at any dt, however coarse
    coarse = neuron.simulate(times, w, T, K=1.7, tau=tau, dt=0.25)
    assert np.abs(coarse.v_at_T - truth).max() < 1e-9


def test_brian2_traces_follow_the_closed_form_on_the_grid(rng):
    times, w = _random_problem(rng, n=4)
    run = neuron.simulate(times, w, 2.0, record=[0, 3])
    truth = np.array([neuron.potential(np.full(2, t), times[[0, 3]], w) for t in run.trace_t]).T
    assert run.trace_v.shape == (2, 257)
    assert np.abs(run.trace_v - truth).max() < 1e-9


def test_clock_semantics_is_off_by_order_dt(rng):
    times, w = _random_problem(rng, n=200)
    truth = perceptron.features(times, 2.0) @ w
    errors = {}
    for k in (4, 6):
        dt = 2.0 ** -k
        errors[k] = np.abs(neuron.simulate(times, w, 2.0, dt=dt, semantics="clock").v_at_T - truth).max()
        assert 1e-6 < errors[k] <= np.abs(w).sum() * dt  # K ||w||_1 dt / tau
    assert errors[6] < errors[4] / 2.5  # first order: a quarter of the step, about a quarter of the error


def test_per_sample_readout_in_one_dimension_gives_phi_zero(rng):
    times = rng.uniform(0, 2, (10, 1))
    T = neuron.readout_times(times)
    assert np.all(perceptron.features(times, T) == 0)
    assert np.abs(neuron.simulate(times, [1.0], None).v_at_T).max() < 1e-12


def test_latency_code():
    np.testing.assert_allclose(neuron.spike_times([[0.0, 0.25, 1.0]], "latency", t_max=2.0), [[2.0, 1.5, 0.0]])
    with pytest.raises(ValueError, match="latency code takes values in"):
        neuron.spike_times([[1.5]], "latency")
    with pytest.raises(ValueError, match=">= 0"):
        neuron.spike_times([[-0.1]])


def test_predict_ties_go_to_plus_one():
    assert list(perceptron.predict([[1.0], [0.5]], [2.0], threshold=2.0)) == [1, -1]


def _separable(rng, n=40):
    """Two clouds in phi space with a gap, and their labels."""
    x = np.vstack([rng.uniform(0, 0.8, (n, 2)), rng.uniform(1.2, 2, (n, 2))])
    return perceptron.features(x, 2.0), np.repeat([1, -1], n)


def test_learned_threshold_converges_within_novikoffs_bound_whatever_the_step(rng):
    f, y = _separable(rng)
    bound = perceptron.mistake_bound(f, y)
    runs = [perceptron.train(f, y, eta=eta, learn_threshold=True, seed=3) for eta in (0.01, 1.0, 100.0)]
    for training in runs:
        assert training.converged
        assert np.all(perceptron.predict(f, training.w, training.threshold) == y)
        assert training.mistakes <= bound.bound
    assert len({training.mistakes for training in runs}) == 1  # homogeneous from 0: eta only scales w
    # R and gamma by hand: R from z = [phi, -c], gamma no larger than that of the best hyperplane found
    z = perceptron.augmented(f, perceptron.default_bias_input(f))
    assert bound.R == pytest.approx(np.linalg.norm(z, axis=1).max())
    u = np.append(runs[0].w, runs[0].threshold / perceptron.default_bias_input(f))
    assert np.min(y * (z @ u)) / np.linalg.norm(u) <= bound.gamma + 1e-9


def test_fixed_threshold_converges_at_a_safe_step_within_the_bound(rng):
    f, y = _separable(rng)
    v_th = 1.0
    safe = perceptron.fixed_threshold_bound(f, y, v_th, eta=1.0)
    eta = safe.eta_max / 2
    bound = perceptron.fixed_threshold_bound(f, y, v_th, eta)
    training = perceptron.train(f, y, eta=eta, threshold=v_th, max_epochs=5000)
    assert training.converged and training.mistakes <= bound.bound
    assert safe.bound is None  # eta = 1 is beyond 2 gamma_v / R^2 here: no guarantee
    assert perceptron.fixed_threshold_bound(f, y, -1.0, eta) is None  # no v rescales to a negative threshold


def test_large_step_with_a_fixed_threshold_cycles_for_ever():
    """The summary's 1-D toy (§8.3): phi+ = 1.0, phi- = 0.9, V_th = 1."""
    f, y = np.array([[1.0], [0.9]]), np.array([1, -1])
    for eta in (3.0, 7.0):
        training = perceptron.train(f, y, eta=eta, threshold=1.0, max_epochs=2000)
        assert not training.converged and training.epochs == 2000 and min(training.mistakes_per_epoch) > 0
    assert perceptron.train(f, y, eta=0.1, threshold=1.0).converged
    assert perceptron.train(f, y, eta=3.0, learn_threshold=True).converged


def test_margins_of_a_two_point_problem():
    x, y = np.array([[2.0, 1.0], [0.0, 1.0]]), np.array([1, -1])
    w, threshold = perceptron.svm(x, y)
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-6)
    assert threshold == pytest.approx(1.0, abs=1e-6)
    assert perceptron.margins(x, y, w, threshold).geometric == pytest.approx(1.0, abs=1e-6)
    hand = perceptron.margins(x, y, [2.0, 0.0], 1.0)
    assert (hand.functional, hand.geometric) == (1.0, 0.5)
    # phi space: the spikes at 0 and 2 read at T = 2 lie at 1 - e^-2 and 0
    f = perceptron.features([[0.0], [2.0]], 2.0)
    w, threshold = perceptron.svm(f, y)
    assert perceptron.margins(f, y, w, threshold).geometric == pytest.approx((1 - np.exp(-2)) / 2, rel=1e-9)
    # through the origin: y z = (1, 1) and (1, -1), best u = (1, 0)
    assert perceptron.homogeneous_margin(np.array([[1.0, 1.0], [-1.0, 1.0]]), y) == pytest.approx(1.0, rel=1e-6)


def test_svm_margin_in_one_dimension_is_half_the_gap(rng):
    x = np.vstack([rng.uniform(0, 1, (200, 1)), rng.uniform(1, 2, (200, 1))])
    y = np.repeat([1, -1], 200)
    for f in (x, perceptron.features(x, 2.0, tau=20.0)):
        plus, minus = f[y == 1, 0], f[y == -1, 0]
        half_gap = max(plus.min() - minus.max(), minus.min() - plus.max()) / 2
        w, threshold = perceptron.svm(f, y)
        margins = perceptron.margins(f, y, w, threshold)
        assert margins.geometric == pytest.approx(half_gap, rel=1e-9)
        assert margins.functional == pytest.approx(1.0, rel=1e-9)


def test_model_file():
    model = experiment.NLIFModel.load()
    assert (model.neuron.K, model.taus(), model.T, model.threshold(1.0)) == (1.0, (1.0, 20.0), 2.0, 1.0)
    assert model.sweeps.sizes == (20, 200) and model.sweeps.dims == (1, 2)
    x, y = model.two_classes(5, 2, seed=0)
    assert x.shape == (10, 2) and list(y) == [1] * 5 + [-1] * 5
    assert x[y == 1].max() <= 1 <= x[y == -1].min()


def test_model_file_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "kotak_nlif"\n[sweeps]\netas = [0.1, -1]\n')
    with pytest.raises(ConfigError, match=r"bad.toml \[sweeps\].etas: expected a list of positive numbers"):
        experiment.NLIFModel.load(bad)
    bad.write_text('base = "kotak_nlif"\n[neuron]\ntau = "1 mV"\n')
    with pytest.raises(ConfigError, match=r"\[neuron\].tau: expected a quantity"):
        experiment.NLIFModel.load(bad)


def test_train_and_plot_in_one_dimension():
    demo = experiment.train_and_plot(n=10, d=1, n_traces=2)
    assert set(demo.figures) == {"boundary", "mistakes", "membrane"}
    assert demo.training.converged and demo.brian2.trace_v.shape[0] == 2


def test_quick_run(tmp_path):
    result = experiment.run(tmp_path, quick=True)["nlif"]
    assert set(result) >= {"table_5_2", "mistakes", "convergence", "brian2"}
    table = result["table_5_2"]
    assert table["thesis"]["svm"] == {"original": 0.412, "transformed": 0.047}
    for row in table["configs"].values():
        for method, space in (("svm", "original"), ("svm", "transformed"), ("perceptron", "original"),
                              ("perceptron", "transformed"), ("lif_learned_threshold", "transformed")):
            assert set(row[method][space]) >= {"functional", "geometric"}
        assert row["svm"]["transformed"]["geometric"] < row["svm"]["original"]["geometric"]
    for bounds in result["mistakes"].values():
        for kind in ("plain_learned_bias", "lif_learned_threshold"):
            assert bounds[kind]["M"] <= bounds[kind]["bound"]
    assert result["convergence"]["epochs_toy"]["3"] is None
    assert result["brian2"]["agreement"] == 1.0 and result["brian2"]["max_abs_v_difference"] < 1e-9
    assert result["brian2"]["clock_max_abs_v_difference"] <= result["brian2"]["clock_error_bound"]
    assert {path.name for path in tmp_path.glob("*.png")} >= {"nlif_table_5_2.png", "nlif_margin_shrink.png",
                                                              "nlif_convergence.png", "nlif_demo_membrane.png"}
