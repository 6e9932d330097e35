"""The neuron equations against their numpy twin, for each integrator, and against closed-form results."""
import numpy as np
import pytest
from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, ms, mV, volt

from brainnets.neurons import INTEGRATION_METHODS, excitatory_group, inhibitory_group, membrane_trajectory


def _drive(target, times_ms, weight, variable="ge"):
    source = SpikeGeneratorGroup(1, np.zeros(len(times_ms), dtype=int), np.asarray(times_ms) * ms)
    synapses = Synapses(source, target, on_pre=f"{variable}_post += {weight}")
    synapses.connect()
    return [source, synapses]


@pytest.mark.parametrize("method", INTEGRATION_METHODS)
@pytest.mark.parametrize("population", ["excitatory", "inhibitory"])
def test_subthreshold_trajectory_matches_its_numpy_twin(numpy_runtime, model, population, method):
    defaultclock.dt = model.dt
    params = getattr(model, population)
    build = excitatory_group if population == "excitatory" else inhibitory_group
    neuron = build(1, params, method=method)
    monitor = StateMonitor(neuron, ["v", "ge", "gi"], record=0)
    net = Network(neuron, monitor, *_drive(neuron, [5, 12, 30], 0.05), *_drive(neuron, [20], 0.3, "gi"))
    net.run(60 * ms)
    v = np.asarray(monitor.v[0])
    expected = membrane_trajectory(params, np.asarray(monitor.ge[0]), np.asarray(monitor.gi[0]), model.dt,
                                   method=method)
    assert v.max() < float(params.v_thresh)  # no spike: the whole trajectory is subthreshold
    np.testing.assert_allclose(v, expected[:len(v)], rtol=1e-12)


def test_exponential_euler_is_exact_for_constant_conductances(model):
    """With ge and gi held, every step lands on the exact exponential relaxation towards the reversal mix."""
    p = model.excitatory
    ge, gi, v0 = 0.4, 2.0, -0.07
    leak = 1 + ge + gi
    v_inf = (float(p.v_rest) + ge * float(p.E_exc) + gi * float(p.E_inh)) / leak
    steps = 40
    v = membrane_trajectory(p, np.full(steps, ge), np.full(steps, gi), model.dt, v0=v0 * volt,
                            method="exponential_euler")
    t = np.arange(steps + 1) * float(model.dt)
    np.testing.assert_allclose(v, v_inf + (v0 - v_inf) * np.exp(-t * leak / float(p.tau_m)), rtol=1e-12)


@pytest.mark.parametrize("n_inhibitory_spikes, overshoots, passes_E_exc", [
    (5, False, False), (24, True, False), (50, True, True), (336, True, True)])
def test_a_synchronous_inhibitory_volley(model, n_inhibitory_spikes, overshoots, passes_E_exc):
    """gi = n * 17 arriving in one step, decaying as Euler decays it. Euler's v stays between the reversal
    potentials only while gi * dt / tau_m <= 1 (n <= 11); from n = 50 on it swings above E_exc, where a
    neuron fires at any threshold. Exponential Euler never leaves them."""
    p, dt = model.excitatory, model.dt
    gi = n_inhibitory_spikes * model.connectivity.w_inh_to_exc * (1 - float(dt / p.tau_gi)) ** np.arange(30)
    ge = np.zeros_like(gi)
    exponential = membrane_trajectory(p, ge, gi, dt, v0=-60 * mV, method="exponential_euler")
    assert float(p.E_inh) <= exponential.min() and exponential.max() <= float(p.E_exc)
    euler = membrane_trajectory(p, ge, gi, dt, v0=-60 * mV, method="euler")
    assert (euler.min() < float(p.E_inh)) == overshoots
    assert (euler.max() > float(p.E_exc)) == passes_E_exc


@pytest.mark.parametrize("method, spurious", [("euler", True), ("exponential_euler", False)])
def test_only_euler_fires_on_a_large_inhibitory_volley(numpy_runtime, model, method, spurious):
    """Brian2 itself: 50 inhibitory spikes in one step make an Euler neuron fire, although its threshold is
    far out of reach (theta 100 mV puts it at -72 + 100 = 28 mV, above E_exc); the volley of a
    synchronous layer of 200-400 neurons does this to every neuron it reaches."""
    defaultclock.dt = model.dt
    neuron = excitatory_group(1, model.excitatory, method=method)
    neuron.theta = 100 * mV
    neuron.v = -60 * mV
    spikes = SpikeMonitor(neuron)
    source = SpikeGeneratorGroup(50, np.arange(50), np.full(50, 10.0) * ms)  # 50 inhibitory neurons at once
    volley = Synapses(source, neuron, on_pre=f"gi_post += {model.connectivity.w_inh_to_exc}")
    volley.connect()
    Network(neuron, spikes, source, volley).run(30 * ms)
    assert (spikes.num_spikes > 0) == spurious


def test_relaxation_to_rest_is_euler_exact_and_close_to_the_exponential(numpy_runtime, model):
    defaultclock.dt = model.dt
    p = model.excitatory
    neuron = excitatory_group(1, p)
    monitor = StateMonitor(neuron, "v", record=0)
    Network(neuron, monitor).run(200 * ms)
    steps = np.arange(len(monitor.t))
    gap = float(p.v_init_below_rest)
    euler = float(p.v_rest) - gap * (1 - float(model.dt / p.tau_m)) ** steps
    exact = float(p.v_rest) - gap * np.exp(-np.asarray(monitor.t) / float(p.tau_m))
    np.testing.assert_allclose(np.asarray(monitor.v[0]), euler, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(monitor.v[0]), exact, atol=0.2e-3)  # Euler error at dt = tau_m / 200


def test_conductance_decays_geometrically(numpy_runtime, model):
    defaultclock.dt = model.dt
    neuron = inhibitory_group(1, model.inhibitory)
    neuron.ge = 1.0
    monitor = StateMonitor(neuron, "ge", record=0)
    Network(neuron, monitor).run(5 * ms)
    factor = 1 - float(model.dt / model.inhibitory.tau_ge)
    np.testing.assert_allclose(monitor.ge[0], factor ** np.arange(len(monitor.t)), rtol=1e-12)


@pytest.mark.parametrize("learning_on", [1.0, 0.0])
def test_spikes_reset_raise_theta_and_respect_refractoriness(numpy_runtime, model, learning_on):
    defaultclock.dt = model.dt
    p = model.excitatory
    neuron = excitatory_group(1, p)
    neuron.v = p.v_rest
    neuron.learning = learning_on
    spikes = SpikeMonitor(neuron)
    theta = StateMonitor(neuron, "theta", record=0)
    net = Network(neuron, spikes, theta, *_drive(neuron, np.arange(1, 100, 0.5), 2.0))
    net.run(100 * ms)
    assert spikes.num_spikes >= 5
    assert np.min(np.diff(spikes.t)) >= p.refractory - 1e-12 * ms
    decay = np.exp(-100 * ms / p.tau_theta) if learning_on else 1.0
    expected = p.theta_init + learning_on * spikes.num_spikes * p.theta_plus
    assert abs(float(neuron.theta[0] - expected)) <= float(expected) * (1 - decay) + 1e-12


def test_without_homeostasis_theta_stays(numpy_runtime, model):
    defaultclock.dt = model.dt
    neuron = excitatory_group(1, model.excitatory, homeostasis=False)
    neuron.learning = 1.0
    spikes = SpikeMonitor(neuron)
    Network(neuron, spikes, *_drive(neuron, np.arange(1, 50, 0.5), 2.0)).run(50 * ms)
    assert spikes.num_spikes >= 3
    assert neuron.theta[0] == pytest.approx(float(model.excitatory.theta_init), rel=1e-6)
