"""The neuron equations against a plain-numpy Euler oracle and against closed-form results."""
import numpy as np
import pytest
from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, ms

from brainnets.neurons import excitatory_group, inhibitory_group, membrane_trajectory


def _drive(target, times_ms, weight, variable="ge"):
    source = SpikeGeneratorGroup(1, np.zeros(len(times_ms), dtype=int), np.asarray(times_ms) * ms)
    synapses = Synapses(source, target, on_pre=f"{variable}_post += {weight}")
    synapses.connect()
    return [source, synapses]


@pytest.mark.parametrize("population", ["excitatory", "inhibitory"])
def test_subthreshold_trajectory_matches_the_numpy_oracle(numpy_runtime, model, population):
    defaultclock.dt = model.dt
    params = getattr(model, population)
    build = excitatory_group if population == "excitatory" else inhibitory_group
    neuron = build(1, params)
    monitor = StateMonitor(neuron, ["v", "ge", "gi"], record=0)
    net = Network(neuron, monitor, *_drive(neuron, [5, 12, 30], 0.05), *_drive(neuron, [20], 0.3, "gi"))
    net.run(60 * ms)
    v = np.asarray(monitor.v[0])
    expected = membrane_trajectory(params, np.asarray(monitor.ge[0]), np.asarray(monitor.gi[0]), model.dt)
    assert v.max() < float(params.v_thresh)  # no spike: the whole trajectory is subthreshold
    np.testing.assert_allclose(v, expected[:len(v)], rtol=1e-12)


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
