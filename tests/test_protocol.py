"""The in-simulation presentation protocol and weight normalization, on a small network."""
import dataclasses

import numpy as np
import pytest
from brian2 import ms

from brainnets.stdp.ensemble import UnimodalEnsemble
from brainnets.stdp.protocol import decode_presentations
from brainnets.stdp.simulation import EnsembleSimulation
from brainnets.synapses import DiehlCookTraceSTDP

SIDE = 16  # 16 x 16 images: input weights stay below w_max after normalization, and runs stay fast


def small_simulation(model, slots, n_exc=4, seed=3):
    ensemble = UnimodalEnsemble(model, n_exc, n_input=SIDE * SIDE, slots_per_run=slots,
                                rng=np.random.default_rng(seed))
    return EnsembleSimulation(ensemble, "runtime", seed=seed)


def bright(n):
    return np.full((n, SIDE, SIDE), 255, dtype=np.uint8)


def test_decode_counts_only_accepted_presentations_and_their_window(model):
    # slot 0: image 0 rejected (2 spikes); slot 1: image 0 accepted; slot 2: image 1 accepted;
    # slot 3: past the end of the stimulus
    steps = model.slot_steps
    spike_neuron = [0, 1, 1, 1, 0, 2, 2]
    spike_step = [5, 10, steps + 3, steps + 699, steps + 700, 2 * steps + 1, 3 * steps + 2]
    shown = decode_presentations(model, 3, 2, judged_image=[0, 0, 1, 2], judged_spikes=[2, 5, 9, 0],
                                 judged_retries=[0, 1, 0, 0], spike_neuron=spike_neuron, spike_step=spike_step,
                                 input_spikes=[7, 0])
    assert shown.n_done == 2
    assert shown.tries.tolist() == [2, 1]
    # the spike at step 700 of slot 1 falls in the rest, after the judgement
    assert shown.counts.tolist() == [[0, 2, 0], [0, 0, 1]]
    # all presentations count as activity, the rejected one too; slot 3 showed no image
    assert shown.exc_spikes == 5
    assert shown.input_spikes.tolist() == [7, 0]


def test_blank_images_are_repeated_with_rising_intensity_then_accepted(numpy_runtime, model):
    p = model.protocol
    sim = small_simulation(model, slots=2 * (int(p.max_retries) + 1) + 2)
    shown = sim.present(np.zeros((2, SIDE, SIDE), dtype=np.uint8), learning=True)
    assert shown.n_done == 2
    assert shown.tries.tolist() == [p.max_retries + 1] * 2
    assert not shown.counts.any()
    judged = sim.ensemble.protocol.judgements
    assert judged.retries[:int(p.max_retries) + 1].tolist() == list(range(int(p.max_retries) + 1))


def test_intensity_grows_by_the_step_on_every_repeat(numpy_runtime, model):
    p = model.protocol
    sim = small_simulation(model, slots=3)
    sim.present(np.zeros((1, SIDE, SIDE), dtype=np.uint8), learning=True)
    assert sim.state[("protocol", "intensity_exc")][0] == p.intensity_start + 3 * p.intensity_step
    assert sim.state[("protocol", "retries")][0] == 3


def test_strong_input_is_accepted_at_once_and_resets_intensity(numpy_runtime, model):
    sim = small_simulation(model, slots=3)
    sim.state[("input_synapses", "w")][:] = 1.0
    shown = sim.present(bright(3), learning=False)
    assert shown.n_done == 3 and shown.tries.tolist() == [1, 1, 1]
    assert (shown.counts.sum(axis=1) >= model.protocol.min_spikes).all()
    assert sim.state[("protocol", "intensity_exc")][0] == model.protocol.intensity_start


def test_weights_are_normalized_before_each_presentation_while_learning(numpy_runtime, model):
    frozen_stdp = dataclasses.replace(model, stdp=dataclasses.replace(model.stdp, eta=0.0))
    sim = small_simulation(frozen_stdp, slots=2)
    sim.present(bright(2), learning=True)
    sums = sim.ensemble.layer.weights(sim.state).sum(axis=0)
    np.testing.assert_allclose(sums, model.protocol.weight_sum, rtol=1e-12)


def test_no_normalization_and_no_learning_at_test_time(numpy_runtime, model):
    sim = small_simulation(model, slots=2)
    before = sim.state[("input_synapses", "w")].copy()
    shown = sim.present(bright(2), learning=False)
    assert shown.counts.sum() > 0
    np.testing.assert_array_equal(sim.state[("input_synapses", "w")], before)
    assert np.all(sim.state[("exc", "theta")] == float(model.excitatory.theta_init))


@pytest.mark.parametrize("rule", ["power_law", "diehl_cook_trace"])
def test_learning_changes_weights_and_thresholds(numpy_runtime, model, rule):
    if rule == "diehl_cook_trace":
        trace = DiehlCookTraceSTDP(nu_pre=1e-4, nu_post=1e-2, tau_pre=20 * ms, tau_post1=20 * ms,
                                   tau_post2=40 * ms, w_max=1.0)
        model = dataclasses.replace(model, stdp=trace)
    sim = small_simulation(model, slots=2)
    shown = sim.present(bright(2), learning=True)
    assert shown.counts.sum() > 0
    fired = shown.counts.sum(axis=0) > 0
    assert np.all(sim.state[("exc", "theta")][fired] > float(model.excitatory.theta_init))
    sums = sim.ensemble.layer.weights(sim.state).sum(axis=0)
    assert not np.allclose(sums[fired], model.protocol.weight_sum)  # STDP moved them after normalizing


def test_too_many_images_for_one_run(numpy_runtime, model):
    sim = small_simulation(model, slots=2)
    with pytest.raises(ValueError, match="at most 2 images"):
        sim.present(bright(3), learning=False)


def test_input_neurons_fire_as_a_poisson_process_sampled_every_step(numpy_runtime, model):
    """Each input neuron fires in each step of a presentation with probability rate * dt (drawn as geometric gaps,
    protocol.STEPS_TO_NEXT_SPIKE): the right count on average, the count spread of Bernoulli steps, nothing in
    the rests nor from black pixels."""
    from brian2 import Network, SpikeMonitor, defaultclock, seed
    from brainnets.stdp.protocol import Protocol, Stream

    p, slots = model.protocol, 40
    defaultclock.dt = model.dt
    seed(11)
    stream = Stream("", 200, p.rate_per_pixel)
    protocol = Protocol(model, [stream], ["exc"], slots_per_run=slots)
    pixels = np.repeat([0.0, 1.0, 4.0, 16.0], 50)  # rate = pixel * rate_per_pixel * intensity_start
    protocol.stimuli[""].values[:] = protocol.stimulus("", np.tile(pixels, (slots, 1)))
    protocol.group.n_images = slots
    protocol.group.judge_exc = False  # no layer watches: every presentation passes, at the starting intensity
    spikes = SpikeMonitor(protocol.inputs[""])
    Network(protocol.group, protocol.inputs[""], spikes).run(protocol.duration)
    step = np.round(np.asarray(spikes.t / model.dt)).astype(int)
    assert (step % model.slot_steps < model.present_steps).all()           # silent in every rest
    counts = np.zeros((slots, len(pixels)))
    np.add.at(counts, (step // model.slot_steps, np.asarray(spikes.i)), 1)
    chance = pixels * float(p.rate_per_pixel * p.intensity_start * model.dt)
    assert not counts[:, chance == 0].any()
    for level in chance[chance > 0]:
        observed = counts[:, chance == level]
        mean, variance = model.present_steps * level, model.present_steps * level * (1 - level)
        assert abs(observed.mean() - mean) < 5 * np.sqrt(variance / observed.size)
        assert observed.var() == pytest.approx(variance, rel=0.2)
