"""Feed-forward stacks of exact-time LIF layers (brainnets.exact.lif.simulate_stack): an independent
event-driven reference, NEST's precise models with a one-step delay between the layers, the one-layer case,
and NIR graphs with several neuron nodes."""
import numpy as np
import pytest

from brainnets.crosscheck.compare import agreement
from brainnets.exact import lif

DT = 0.1  # ms


def _reference_neuron(times, weights, p, t_end):
    """One 'delta' neuron, event by event: V relaxes to v_inf in closed form between inputs (a crossing when
    v_inf > V_th is solved for), an input adds its weight (inputs at equal times all of theirs), V >= V_th
    spikes; then V_reset and t_ref (any, 0 included), inputs during it are lost (one at exactly its end
    counts)."""
    tau, v_inf, v_th = p["tau_m"], p["E_L"] + p["tau_m"] / p["C_m"] * p["I_e"], p["V_th"]
    v, t0, spikes = p["V_m"], 0.0, []  # V is valid (and free) from t0 on
    for k, (t, w) in enumerate(list(zip(times, weights)) + [(t_end, None)]):
        if t < t0:
            continue
        while v_inf > v_th and v < v_th:  # (V stands above threshold only inside a group of equal times)
            crossing = t0 + tau * np.log((v_inf - v) / (v_inf - v_th))
            if crossing > t:
                break
            spikes.append(crossing)
            v, t0 = p["V_reset"], crossing + p["t_ref"]
            if t < t0:
                break
        if t < t0:
            continue
        v, t0 = v_inf + (v - v_inf) * np.exp(-(t - t0) / tau), t
        if w is not None:
            v += w
            if v >= v_th and not (k + 1 < len(times) and times[k + 1] == t):  # equal times add up first
                spikes.append(t)
                v, t0 = p["V_reset"], t + p["t_ref"]
    return np.array([s for s in spikes if s <= t_end])


def _reference_layer(sources, times, weights, p, t_end):
    order = np.argsort(times, kind="stable")
    sources, times = sources[order], times[order]
    out = []
    for j in range(weights.shape[1]):
        w = weights[sources, j]
        out.append(_reference_neuron(times[w != 0], w[w != 0], p, t_end))
    return out


def _flat(spikes):
    """``(sources, times)`` of a layer's spikes."""
    return (np.concatenate([np.full(len(t), j) for j, t in enumerate(spikes)]).astype(np.int64),
            np.concatenate([np.asarray(t, float) for t in spikes]))


def _network(seed=7, n_in=30, n1=20, n2=12, duration=200.0):
    rng = np.random.default_rng(seed)
    p1 = lif.model_params("delta", dict(I_e=300.0))                           # v_inf = -58 mV
    p2 = lif.model_params("delta", dict(I_e=400.0, tau_m=8.0, V_reset=-65.0))  # v_inf = -57.2 mV
    w1 = rng.uniform(-1.0, 3.0, (n_in, n1))  # mV
    w2 = rng.uniform(-1.5, 4.0, (n1, n2))
    inputs = lif.poisson_inputs(n_in, 40.0, duration, rng, t_min_ms=1.5 * DT)  # NEST: later than the delay
    return p1, p2, w1, w2, inputs, duration


@pytest.mark.parametrize("t_ref", [2.0, 0.0])
def test_two_layer_stack_is_the_event_driven_network(t_ref):
    p1, p2, w1, w2, inputs, duration = _network()
    p1, p2 = dict(p1, t_ref=t_ref), dict(p2, t_ref=t_ref)
    run = lif.simulate_stack("delta", [p1, p2], [w1, w2], inputs, duration, DT, details=True)
    assert run.n_slots[1] == w1.shape[1]  # the fan-in: one spike per presynaptic neuron and step at most
    ref1 = _reference_layer(inputs[:, 0].astype(np.int64), inputs[:, 1], w1, p1, duration)
    ref2 = _reference_layer(*_flat(ref1), w2, p2, duration)
    for ours, ref in ((run.times[0], ref1), (run.times[1], ref2)):
        c = agreement(ours, ref)
        assert c["count_mismatches"] == 0 and c["n_spikes_reference"] >= 300, c
        assert c["max_abs_dt"] <= 1e-9, c
    # layer 2 fires in the same steps as the layer-1 spikes that drive it: some of its spikes are jumps that
    # happen at exactly a layer-1 spike time, which a one-step delay would have moved
    l1 = np.concatenate(run.times[0])
    jumps = [t for t in np.concatenate(run.times[1]) if np.min(np.abs(l1 - t)) < 1e-12]
    assert len(jumps) > 20


def test_the_stack_is_its_layers_run_one_after_the_other():
    p1, p2, w1, w2, inputs, duration = _network(seed=11)
    stack = lif.simulate_stack("delta", [p1, p2], [w1, w2], inputs, duration, DT)
    first = lif.simulate("delta", p1, w1, inputs, duration, DT)
    second = lif.simulate("delta", p2, w2, _flat(first), duration, DT)
    for a, b in zip(stack, [first, second]):
        c = agreement(a, b)
        assert c["count_mismatches"] == 0 and c["max_abs_dt"] == 0.0, c


def test_exp_layers_and_per_neuron_parameters_chain():
    rng = np.random.default_rng(5)
    pe = dict(I_e=200.0, tau_syn_ex=2.0, tau_syn_in=4.0)
    p2 = [dict(I_e=float(i), tau_m=float(m)) for i, m in zip(rng.uniform(250, 350, 6), rng.uniform(8, 12, 6))]
    w1 = rng.uniform(-300.0, 900.0, (20, 10))
    w2 = rng.uniform(-1.0, 4.0, (10, 6))
    inputs = lif.poisson_inputs(20, 40.0, 150.0, rng)
    stack = lif.simulate_stack(["exp", "delta"], [pe, p2], [w1, w2], inputs, 150.0, DT)
    first = lif.simulate("exp", pe, w1, inputs, 150.0, DT)
    assert agreement(stack[0], first)["max_abs_dt"] == 0.0
    events = _flat(first)
    for j in range(6):  # one neuron at a time with its own parameters
        alone = lif.simulate("delta", p2[j], w2[:, j:j + 1], events, 150.0, DT)[0]
        np.testing.assert_allclose(stack[1][j], alone, rtol=0, atol=1e-12)
    assert sum(len(t) for t in stack[1]) > 20


@pytest.mark.parametrize("t_ref", [2.0, 0.0])
def test_inputs_at_the_same_time_add_up_before_the_threshold(t_ref):
    # 20 mV would fire alone; with -10 mV at the same time (in either order) the neuron does not; 20 + 20 at
    # one time fires once (also without a refractory period: the second input does not follow the reset), and
    # 5 + 5 + 5 at one time fires from -70 + 15 = -55 mV
    weights = np.array([[20.0], [-10.0], [20.0], [5.0], [5.0], [5.0]])
    params = dict(t_ref=t_ref)
    for order in ([0, 1], [1, 0]):
        events = np.array([[order[0], 3.05], [order[1], 3.05]])
        assert len(lif.simulate("delta", params, weights, events, 10.0, DT)[0]) == 0
    events = np.array([[0, 3.05], [2, 3.05], [3, 7.07], [4, 7.07], [5, 7.07]])
    np.testing.assert_allclose(lif.simulate("delta", params, weights, events, 10.0, DT)[0], [3.05, 7.07],
                               atol=1e-12)


def test_a_small_buffer_that_overflows_is_an_error():
    p1, p2, w1, w2, inputs, duration = _network(duration=60.0)
    with pytest.raises(RuntimeError, match="layer 1: .* did not fit the 1-slot buffer"):
        lif.simulate_stack("delta", [p1, p2], [w1, w2], inputs, duration, DT, n_slots=[None, 1])


def test_one_layer_stack_is_simulate():
    p1, _, w1, _, inputs, duration = _network(seed=3)
    one = lif.simulate("delta", p1, w1, inputs, duration, DT)
    stack = lif.simulate_stack("delta", [p1], [w1], inputs, duration, DT)[0]
    assert agreement(one, stack)["max_abs_dt"] == 0.0
    ref = _reference_layer(inputs[:, 0].astype(np.int64), inputs[:, 1], w1, p1, duration)
    c = agreement(one, ref)
    assert c["count_mismatches"] == 0 and c["max_abs_dt"] <= 1e-9


@pytest.mark.uses_nest
def test_two_layers_against_nest_with_its_one_step_delay():
    """NEST's precise network needs a delay >= dt between the layers: its layer 2 sees layer 1's spikes one
    delay late. Layer 1 is compared as is; layer 2 against the exact layer fed with our layer-1 spikes shifted by
    the delay (the zero-delay stack is its layers run one after the other, checked above)."""
    pytest.importorskip("nest")
    from brainnets.exact.nest_peer import _nest

    p1, p2, w1, w2, inputs, duration = _network(seed=13)
    delay = DT
    nest = _nest()
    nest.ResetKernel()
    nest.resolution = DT
    layer1 = nest.Create("iaf_psc_delta_ps", w1.shape[1], params=p1)
    layer2 = nest.Create("iaf_psc_delta_ps", w2.shape[1], params=p2)
    generators = nest.Create("spike_generator", w1.shape[0], params={"precise_times": True})
    for i in range(w1.shape[0]):
        own = np.sort(inputs[inputs[:, 0] == i, 1]) - delay  # emitted one delay early: arrives at its time
        generators[i].spike_times = own.tolist()
        nest.Connect(generators[i], layer1, "all_to_all", syn_spec={"weight": w1[i].reshape(-1, 1), "delay": delay})
    for i in range(w2.shape[0]):
        nest.Connect(layer1[i], layer2, "all_to_all", syn_spec={"weight": w2[i].reshape(-1, 1), "delay": delay})
    recorders = [nest.Create("spike_recorder") for _ in range(2)]
    nest.Connect(layer1, recorders[0])
    nest.Connect(layer2, recorders[1])
    nest.Simulate(duration)
    theirs = []
    for layer, recorder in zip((layer1, layer2), recorders):
        ev = recorder.get("events")
        senders, t = np.asarray(ev["senders"]), np.asarray(ev["times"], float)
        theirs.append([np.sort(t[senders == layer[0].global_id + j]) for j in range(len(layer))])

    ours1 = lif.simulate("delta", p1, w1, inputs, duration, DT)
    c1 = agreement(ours1, theirs[0])
    assert c1["count_mismatches"] == 0 and c1["n_spikes_reference"] >= 200 and c1["max_abs_dt"] <= 1e-9, c1
    sources, times = _flat(ours1)
    ours2 = lif.simulate("delta", p2, w2, (sources, times + delay), duration, DT)
    c2 = agreement(ours2, theirs[1])
    assert c2["count_mismatches"] == 0 and c2["n_spikes_reference"] >= 100 and c2["max_abs_dt"] <= 1e-9, c2


# ---------------------------------------------------------------------------------------------------------
# NIR graphs

nir = pytest.importorskip("nir")


def _lif(n, tau_s, r):
    return nir.LIF(tau=np.full(n, tau_s), r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.ones(n))


def test_two_layer_nir_graph_is_the_stack():
    from brainnets.crosscheck.nir_graph import simulate_graph

    rng = np.random.default_rng(21)
    n_in, n1, n2, dt, duration = 25, 15, 8, 0.1, 150.0
    w1 = rng.uniform(-0.2, 0.8, (n1, n_in))  # NIR: out x in
    w2 = rng.uniform(-0.2, 1.0, (n2, n1))
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([n_in])), "fc1": nir.Linear(w1), "lif1": _lif(n1, 0.01, 20.0),
               "fc2": nir.Linear(w2), "lif2": _lif(n2, 0.005, 10.0), "output": nir.Output(np.array([n2]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")])
    events = (rng.integers(0, n_in, 900), rng.uniform(0.05, duration, 900))
    out = simulate_graph(graph, {"input": events}, duration, dt, "exact")
    assert out["output"] is out["lif2"]
    # the mapping written out by hand: weights r w dt / tau mV, tau_m = 1000 tau ms, C_m = tau_m, t_ref = 0
    p1 = dict(E_L=0.0, V_m=0.0, V_th=1.0, V_reset=0.0, tau_m=10.0, C_m=10.0, I_e=0.0, t_ref=0.0)
    p2 = dict(p1, tau_m=5.0, C_m=5.0)
    direct = lif.simulate_stack("delta", [p1, p2], [w1.T * 20.0 * dt / 10.0, w2.T * 10.0 * dt / 5.0],
                                events, duration, dt)
    for name, theirs in zip(("lif1", "lif2"), direct):
        c = agreement(out[name], theirs)
        assert c["count_mismatches"] == 0 and c["max_abs_dt"] == 0.0, (name, c)
    assert sum(len(t) for t in out["lif1"]) > 100 and sum(len(t) for t in out["lif2"]) > 30


def test_nir_exact_refuses_what_is_not_a_feed_forward_chain():
    from brainnets.crosscheck.nir_graph import simulate_graph

    def graph(edges, extra=None):
        nodes = {"input": nir.Input(np.array([2])), "a": nir.Linear(np.eye(2)), "lif1": _lif(2, 0.01, 1.0),
                 "b": nir.Linear(np.eye(2)), "lif2": _lif(2, 0.01, 1.0)}
        nodes.update(extra or {})
        return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)

    chain = [("input", "a"), ("a", "lif1"), ("lif1", "b"), ("b", "lif2")]
    recurrent = graph(chain + [("lif2", "c"), ("c", "lif1")], {"c": nir.Linear(np.eye(2))})
    with pytest.raises(ValueError, match="recurrent"):
        simulate_graph(recurrent, {}, 10.0, 1.0, "exact")
    skip = graph(chain + [("input", "c"), ("c", "lif2")], {"c": nir.Linear(np.eye(2))})
    with pytest.raises(ValueError, match="feed-forward chain"):
        simulate_graph(skip, {}, 10.0, 1.0, "exact")
    leaky = graph(chain[:-1] + [("b", "li")], {"li": nir.LI(np.ones(2), np.ones(2), np.zeros(2))})
    with pytest.raises(ValueError, match="LIF, CubaLIF and IF nodes only"):
        simulate_graph(leaky, {}, 10.0, 1.0, "exact")
