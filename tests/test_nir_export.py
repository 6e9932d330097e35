"""brainnets networks as NIR graphs: an exact-time LIF layer read back with exact semantics gives its own spike
times; networks without a NIR node are refused by name."""
import numpy as np
import pytest

nir = pytest.importorskip("nir")

from brainnets.crosscheck.compare import agreement  # noqa: E402
from brainnets.crosscheck.nir_export import exact_layer_to_nir, to_nir  # noqa: E402
from brainnets.crosscheck.nir_graph import simulate_graph  # noqa: E402
from brainnets.exact import lif  # noqa: E402

DT = 0.1


@pytest.mark.parametrize("model, params, low, high", [
    ("delta", dict(I_e=300.0, t_ref=0.0), -1.0, 3.0),
    ("exp", dict(tau_syn_ex=3.0, tau_syn_in=3.0, t_ref=DT), -300.0, 1500.0),
])
def test_an_exact_layer_exported_and_read_back_gives_its_own_spike_times(model, params, low, high, tmp_path):
    rng = np.random.default_rng(5)
    weights = rng.uniform(low, high, (30, 8))
    inputs = lif.poisson_inputs(30, 60.0, 150.0, rng, t_min_ms=1.5 * DT)
    direct = lif.simulate(model, params, weights, inputs, 150.0, DT)
    nir.write(tmp_path / "layer.nir", exact_layer_to_nir(model, params, weights, DT))
    graph = nir.read(tmp_path / "layer.nir")
    back = simulate_graph(graph, {"input": (inputs[:, 0].astype(int), inputs[:, 1])}, 150.0, DT, "exact")["neurons"]
    result = agreement(back, direct)
    assert result["n_spikes_other"] >= 20 and result["count_mismatches"] == 0 and result["max_abs_dt"] <= 1e-9, result


def test_layers_and_networks_without_a_nir_form_are_refused_by_name():
    with pytest.raises(ValueError, match="one synaptic time constant"):
        exact_layer_to_nir("exp", dict(tau_syn_ex=2.0, tau_syn_in=5.0), np.ones((2, 2)), DT)
    with pytest.raises(ValueError, match="constant I_e has no NIR form"):
        exact_layer_to_nir("exp", dict(I_e=10.0), np.ones((2, 2)), DT)
    from brainnets.stdp.ensemble import UnimodalEnsemble
    from brainnets.ttfs.spec import SNNSpec

    for network, neurons in ((object.__new__(UnimodalEnsemble), "Diehl & Cook"), (object.__new__(SNNSpec), "TTFS")):
        with pytest.raises(ValueError, match=f"{type(network).__name__} has no NIR form: NIR has no node for .*{neurons}"):
            to_nir(network, DT)
    with pytest.raises(ValueError, match="dict has no NIR form"):
        to_nir({}, DT)
    assert isinstance(to_nir(("delta", None, np.ones((2, 3))), DT), nir.NIRGraph)
