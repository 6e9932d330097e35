"""The exact-time LIF layers of brainnets.exact: closed forms, NEST's precise models, plain Brian2, C++ standalone."""
import json

import numpy as np
import pytest

from brainnets.cli import main
from brainnets.crosscheck.compare import agreement, fraction_matched
from brainnets.exact import lif

DT = 0.1  # ms
NO_INPUTS = np.zeros((0, 2))


def test_step_code_is_brian2_abstract_code_for_any_buffer():
    for model in lif.MODELS:
        code = lif.step_code(model, 3)
        assert "e3 = BIG" in code and "{k}" not in code
    assert lif.insertion_code(2).count("e2_post") > 0


@pytest.mark.parametrize("model", lif.MODELS)
def test_constant_drive_gives_the_analytic_isi_exactly_and_the_clock_does_not(model):
    params = dict(I_e=500.0, V_reset=-65.0, t_ref=2.0)  # v_inf = -70 + 10/250 * 500 = -50 mV > V_th = -55 mV
    v_inf, v_th = -50.0, -55.0
    first = 10.0 * np.log((v_inf + 70.0) / (v_inf - v_th))
    isi = 2.0 + 10.0 * np.log((v_inf + 65.0) / (v_inf - v_th))
    duration = 100.0
    exact = lif.simulate(model, params, np.zeros((1, 1)), NO_INPUTS, duration, DT)[0]
    expected = first + isi * np.arange(int((duration - first) // isi) + 1)
    assert len(exact) == len(expected) >= 6
    np.testing.assert_allclose(exact, expected, rtol=0, atol=1e-9)
    clock = lif.simulate(model, params, np.zeros((1, 1)), NO_INPUTS, duration, DT, semantics="clock")[0]
    assert np.abs(np.diff(clock) - isi).max() > 1e-2  # ISIs are whole steps on the grid


def test_inputs_act_at_their_times_in_any_order_and_are_lost_while_refractory():
    # source 1 at 5.02 ms, then source 0 at 5.07 ms in the same step: the second input lifts V over threshold
    # at its own time; 5.09 and 6.5 ms fall in the refractory period (until 7.07 ms) and are lost; 7.5 + 7.55
    # fire again; source 0 twice within one step (10.01, 10.04) fires at 10.04.
    events = np.array([[1, 5.02], [0, 5.07], [2, 5.09], [2, 6.5], [0, 7.5], [1, 7.55], [0, 10.01], [0, 10.04]])
    weights = np.full((3, 1), 8.0)  # mV: one input from rest reaches -62 mV, two close ones about -54 mV
    exact = lif.simulate("delta", None, weights, events, 12.0, DT)[0]
    np.testing.assert_allclose(exact, [5.07, 7.55, 10.04], rtol=0, atol=1e-12)
    # a single input never fires, so the spike at 5.07 really came from the pair
    assert len(lif.simulate("delta", None, weights, events[1:2], 12.0, DT)[0]) == 0


@pytest.mark.parametrize("t_ref", [0.0, 0.05, 0.25])
def test_refractory_periods_shorter_than_a_step_end_inside_it(t_ref):
    # v_inf = -50 mV: from V_reset = -65 mV the next crossing is tau ln(15 / 5) after the refractory period,
    # which ends inside the step of the spike: V relaxes from V_reset for the rest of that step
    params = dict(I_e=500.0, V_reset=-65.0, t_ref=t_ref)
    exact = lif.simulate("delta", params, np.zeros((1, 1)), NO_INPUTS, 100.0, DT)[0]
    assert len(exact) >= 8
    assert exact[0] == pytest.approx(10.0 * np.log(20.0 / 5.0), abs=1e-9)
    np.testing.assert_allclose(np.diff(exact), t_ref + 10.0 * np.log(15.0 / 5.0), rtol=0, atol=1e-9)
    assert len(lif.simulate("delta", params, np.zeros((1, 1)), NO_INPUTS, 100.0, DT, semantics="clock")[0]) >= 8


def _random_delta_layer(seed: int):
    """A 40 -> 12 'delta' layer above threshold on its own (v_inf = -52 mV): spikes by relaxation and by inputs,
    excitatory and inhibitory."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-3.0, 4.0, (40, 12))  # mV
    inputs = lif.poisson_inputs(40, 60.0, 200.0, rng)
    return dict(I_e=450.0), weights, inputs, 200.0


@pytest.mark.parametrize("t_ref", [0.0, 0.03])
def test_short_refractory_periods_give_the_event_driven_spike_times(t_ref):
    from test_exact_multilayer import _reference_layer

    params, weights, inputs, duration = _random_delta_layer(8)
    params["t_ref"] = t_ref
    exact = lif.simulate("delta", params, weights, inputs, duration, DT)
    reference = _reference_layer(inputs[:, 0].astype(np.int64), inputs[:, 1], weights,
                                 lif.model_params("delta", params), duration)
    result = agreement(exact, reference)
    assert result["count_mismatches"] == 0 and result["n_spikes_reference"] >= 300 and result["max_abs_dt"] <= 1e-9, result
    longer = lif.simulate("delta", dict(params, t_ref=DT), weights, inputs, duration, DT)
    assert agreement(exact, longer)["count_mismatches"] > 0  # inputs within a step of a spike count


@pytest.mark.uses_nest
def test_a_refractory_period_shorter_than_a_step_against_nest():
    """NEST needs t_ref >= its resolution: 0.05 ms at 0.01 ms, against the exact layer at 0.1 ms."""
    nest_peer = pytest.importorskip("brainnets.exact.nest_peer")
    pytest.importorskip("nest")
    params, weights, inputs, duration = _random_delta_layer(9)
    params["t_ref"] = 0.05
    reference = nest_peer.simulate_nest("delta", params, weights, inputs, duration, 0.01)
    result = agreement(lif.simulate("delta", params, weights, inputs, duration, DT), reference)
    assert result["count_mismatches"] == 0 and result["n_spikes_reference"] >= 300 and result["max_abs_dt"] <= 1e-6, result


@pytest.mark.parametrize("params, events", [
    (dict(I_e=1e5), NO_INPUTS),                          # a period of 0.04 ms: twice within one segment
    (dict(), np.array([[0, 3.05], [0, 3.09]])),         # two input spikes
    (dict(I_e=500.0), np.array([[0, 13.88]])),          # a crossing at 13.863 ms, then an input spike
])
def test_a_second_spike_within_one_step_is_an_error(params, events):
    weights = np.array([[20.0]])
    with pytest.raises(lif.StepTooLong, match="layer 0: .* more than once within one step .* use a smaller dt"):
        lif.simulate("delta", dict(params, t_ref=0.0), weights, events, 20.0, DT)
    # with a refractory period of a step the layer runs; with a smaller step too
    assert len(lif.simulate("delta", dict(params, t_ref=DT), weights, events, 20.0, DT)[0]) >= 1
    assert len(lif.simulate("delta", dict(params, t_ref=0.0), weights, events, 20.0, 0.01)[0]) >= 2


def test_exp_needs_a_refractory_period_of_a_step():
    with pytest.raises(ValueError, match="model 'exp': t_ref must be at least one time step"):
        lif.simulate("exp", dict(t_ref=0.05), np.zeros((1, 1)), NO_INPUTS, 10.0, DT)
    with pytest.raises(ValueError, match="model 'delta': t_ref must be >= 0"):
        lif.simulate("delta", dict(t_ref=-0.01), np.zeros((1, 1)), NO_INPUTS, 10.0, DT)


def test_inputs_at_time_zero_act_in_the_first_step():
    step, offset = lif.grid(np.array([0.0, 1e-12, 0.1, 0.15, 0.2]), DT)
    np.testing.assert_array_equal(step, [0, 0, 0, 1, 1])
    np.testing.assert_allclose(offset, [0.0, 1e-12, 0.1, 0.05, 0.1], rtol=0, atol=1e-15)
    # -60 mV at 0 ms, then v_inf = -50 mV: the crossing at tau ln(10 / 5); 20 mV at 0 ms fires at once
    params = dict(I_e=500.0, t_ref=0.0)
    weights = np.array([[10.0, 20.0]])
    for model, p in (("delta", params), ("delta", dict(params, t_ref=2.0))):
        at_zero = lif.simulate(model, p, weights, np.array([[0, 0.0]]), 10.0, DT)
        np.testing.assert_allclose(at_zero[0][:1], [10.0 * np.log(10.0 / 5.0)], rtol=0, atol=1e-9)
        np.testing.assert_allclose(at_zero[1][:1], [0.0], rtol=0, atol=0)
        just_after = lif.simulate(model, p, weights, np.array([[0, 1e-12]]), 10.0, DT)
        for a, b in zip(at_zero, just_after):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    exp = [lif.simulate("exp", None, np.array([[3000.0]]), np.array([[0, t]]), 10.0, DT)[0] for t in (0.0, 1e-12)]
    assert len(exp[0]) == 1 and exp[0][0] == pytest.approx(exp[1][0], abs=1e-9)
    with pytest.raises(ValueError, match=">= 0 ms"):
        lif.simulate("delta", None, weights, np.array([[0, -0.01]]), 5.0, DT)


def _layer(model: str):
    """A 50 -> 20 layer driven by off-grid Poisson inputs (40 Hz), excitatory and inhibitory weights."""
    rng = np.random.default_rng(2024)
    n_in, n_out, duration = 50, 20, 300.0
    if model == "delta":
        params = dict(I_e=300.0)  # v_inf = -58 mV: the inputs make the spikes, the drive helps
        weights = rng.uniform(-1.0, 3.0, (n_in, n_out))  # mV
    else:
        params = dict(I_e=300.0, tau_syn_ex=2.0, tau_syn_in=5.0)
        weights = rng.uniform(-300.0, 900.0, (n_in, n_out))  # pA
    inputs = lif.poisson_inputs(n_in, 40.0, duration, rng, t_min_ms=1.5 * DT)  # NEST: later than the delay
    return params, weights, inputs, duration


@pytest.fixture(scope="module", params=lif.MODELS)
def against_nest(request):
    nest_peer = pytest.importorskip("brainnets.exact.nest_peer")
    pytest.importorskip("nest")
    model = request.param
    params, weights, inputs, duration = _layer(model)
    reference = nest_peer.simulate_nest(model, params, weights, inputs, duration, DT)
    exact = lif.simulate(model, params, weights, inputs, duration, DT, details=True)
    return model, params, weights, inputs, duration, reference, exact


@pytest.mark.uses_nest
def test_exact_semantics_gives_nests_precise_spike_times(against_nest):
    model, *_, reference, exact = against_nest
    result = agreement(exact.times, reference)
    assert result["n_spikes_other"] >= 300, result  # several hundred output spikes
    assert result["count_mismatches"] == 0, result
    assert result["max_abs_dt"] <= 1e-6, result
    assert exact.n_slots >= 2  # some neuron got several inputs within one step


@pytest.mark.uses_nest
def test_plain_clock_driven_brian2_is_far_from_nest(against_nest):
    model, params, weights, inputs, duration, reference, _ = against_nest
    clock = lif.simulate(model, params, weights, inputs, duration, DT, semantics="clock")
    assert fraction_matched(clock, reference, 1e-6) < 0.05  # on the grid, spikes miss NEST's times
    first_error = max(abs(ours[0] - theirs[0]) for ours, theirs in zip(clock, reference) if len(ours) and len(theirs))
    assert first_error > 0.01  # ms, already at the first spike
    result = agreement(clock, reference)
    assert result["count_mismatches"] > 0 or result["max_abs_dt"] > 1.0, result


@pytest.mark.uses_nest
def test_small_layer_matches_nest_with_the_input_pair_in_one_step():
    nest_peer = pytest.importorskip("brainnets.exact.nest_peer")
    pytest.importorskip("nest")
    events = np.array([[1, 5.02], [0, 5.07], [2, 5.09], [2, 6.5], [0, 7.5], [1, 7.55], [0, 10.01], [0, 10.04]])
    weights = np.full((3, 1), 8.0)
    reference = nest_peer.simulate_nest("delta", None, weights, events, 12.0, DT)[0]
    np.testing.assert_allclose(reference, [5.07, 7.55, 10.04], rtol=0, atol=1e-12)


def test_cpp_standalone_gives_the_runtimes_spike_times(tmp_path):
    rng = np.random.default_rng(3)
    weights = rng.uniform(-300.0, 1200.0, (20, 5))
    inputs = lif.poisson_inputs(20, 50.0, 100.0, rng, t_min_ms=1.5 * DT)
    params = dict(I_e=100.0)
    runtime = lif.simulate("exp", params, weights, inputs, 100.0, DT)
    cpp = lif.simulate("exp", params, weights, inputs, 100.0, DT, device="cpp", directory=tmp_path / "cpp")
    assert sum(map(len, runtime)) >= 30
    result = agreement(cpp, runtime)
    assert result["count_mismatches"] == 0 and result["max_abs_dt"] <= 1e-12, result


@pytest.mark.uses_nest
def test_the_nest_precise_study_writes_a_row_per_model_and_the_error_figure(tmp_path):
    pytest.importorskip("nest")
    out = tmp_path / "nest_precise"
    assert main(["study", "nest-precise", "--duration", "40", "--dts", "0.2", "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())
    assert [row["model"] for row in rows] == list(lif.MODELS)
    for row in rows:
        assert row["count_mismatches"] == 0 and row["max_abs_dt_ms"] <= 1e-6 and row["n_spikes"] > 0
        assert [entry["dt_ms"] for entry in row["dt_sweep"]] == [0.2, 0.1]
        assert row["plain"]["count_mismatches"] > 0 or row["plain"]["max_abs_dt_ms"] > 1e-3
        assert row["command"].startswith("brainnets study nest-precise")
    assert out.with_suffix(".png").stat().st_size > 0
