"""The exact-time LIF layers of brainnets.exact: closed forms, NEST's precise models, plain Brian2, C++ standalone."""
import json

import numpy as np
import pytest

from brainnets.cli import main
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


def test_exact_semantics_gives_nests_precise_spike_times(against_nest):
    model, *_, reference, exact = against_nest
    result = lif.compare(exact.times, reference)
    assert result["total_b"] >= 300, result  # several hundred output spikes
    assert result["same_counts"], result
    assert result["max_abs_diff"] <= 1e-6, result
    assert exact.n_slots >= 2  # some neuron got several inputs within one step


def test_plain_clock_driven_brian2_is_far_from_nest(against_nest):
    model, params, weights, inputs, duration, reference, _ = against_nest
    clock = lif.simulate(model, params, weights, inputs, duration, DT, semantics="clock")
    assert lif.fraction_matched(clock, reference, 1e-6) < 0.05  # on the grid, spikes miss NEST's times
    first_error = max(abs(ours[0] - theirs[0]) for ours, theirs in zip(clock, reference) if len(ours) and len(theirs))
    assert first_error > 0.01  # ms, already at the first spike
    result = lif.compare(clock, reference)
    assert not result["same_counts"] or result["max_abs_diff"] > 1.0, result


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
    result = lif.compare(cpp, runtime)
    assert result["same_counts"] and result["max_abs_diff"] <= 1e-12, result


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
